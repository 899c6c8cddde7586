package blocks

import (
	"errors"
	"fmt"
	"unicode/utf8"

	"github.com/slack-go/slack"
)

// Block Kit limits, as documented by Slack. Payloads beyond them are
// rejected by Slack with invalid_blocks, so every rendering is checked.
const (
	MaxMessageBlocks     = 50
	MaxModalBlocks       = 100
	MaxSectionText       = 3000
	MaxSectionFields     = 10
	MaxFieldText         = 2000
	MaxHeaderText        = 150
	MaxContextElements   = 10
	MaxActionsElements   = 25
	MaxButtonText        = 75
	MaxButtonValue       = 2000
	MaxActionID          = 255
	MaxBlockID           = 255
	MaxOptions           = 100
	MaxOptionText        = 75
	MaxOptionValue       = 150
	MaxOverflowOptions   = 5
	MaxModalTitle        = 24
	MaxPrivateMetadata   = 3000
	MaxConfirmTitle      = 100
	MaxConfirmText       = 300
	MaxConfirmButtonText = 30
)

// ErrLimit marks a rendering that breaks a Block Kit limit.
var ErrLimit = errors.New("block kit limit exceeded")

// CheckMessage reports every Block Kit limit a message's blocks break.
func CheckMessage(bs []slack.Block) error {
	if len(bs) > MaxMessageBlocks {
		return fmt.Errorf("%w: %d blocks in a message, max %d", ErrLimit, len(bs), MaxMessageBlocks)
	}
	return checkBlocks(bs)
}

// CheckModal reports every Block Kit limit a modal breaks.
func CheckModal(v slack.ModalViewRequest) error {
	var errs []error
	if len(v.Blocks.BlockSet) > MaxModalBlocks {
		errs = append(errs, fmt.Errorf("%w: %d blocks in a modal, max %d", ErrLimit, len(v.Blocks.BlockSet), MaxModalBlocks))
	}
	if v.Title != nil {
		errs = append(errs, checkLen("modal title", v.Title.Text, MaxModalTitle))
	}
	errs = append(errs, checkLen("private_metadata", v.PrivateMetadata, MaxPrivateMetadata))
	errs = append(errs, checkBlocks(v.Blocks.BlockSet))
	return errors.Join(errs...)
}

func checkBlocks(bs []slack.Block) error {
	var errs []error
	actionIDs := map[string]bool{}
	blockIDs := map[string]bool{}
	useActionID := func(id string) {
		errs = append(errs, checkLen("action_id", id, MaxActionID))
		if id != "" && actionIDs[id] {
			errs = append(errs, fmt.Errorf("%w: duplicate action_id %q", ErrLimit, id))
		}
		actionIDs[id] = true
	}
	for i, b := range bs {
		if id := blockID(b); id != "" {
			if blockIDs[id] {
				errs = append(errs, fmt.Errorf("%w: duplicate block_id %q", ErrLimit, id))
			}
			blockIDs[id] = true
			errs = append(errs, checkLen("block_id", id, MaxBlockID))
		}
		switch b := b.(type) {
		case *slack.SectionBlock:
			if b.Text != nil {
				errs = append(errs, checkLen(fmt.Sprintf("block %d section text", i), b.Text.Text, MaxSectionText))
			}
			if len(b.Fields) > MaxSectionFields {
				errs = append(errs, fmt.Errorf("%w: block %d has %d fields, max %d", ErrLimit, i, len(b.Fields), MaxSectionFields))
			}
			for _, f := range b.Fields {
				errs = append(errs, checkLen(fmt.Sprintf("block %d field", i), f.Text, MaxFieldText))
			}
			if b.Accessory != nil {
				errs = append(errs, checkElement(i, accessoryElement(b.Accessory), useActionID))
			}
		case *slack.HeaderBlock:
			if b.Text != nil {
				errs = append(errs, checkLen(fmt.Sprintf("block %d header", i), b.Text.Text, MaxHeaderText))
			}
		case *slack.ContextBlock:
			if n := len(b.ContextElements.Elements); n > MaxContextElements {
				errs = append(errs, fmt.Errorf("%w: block %d context has %d elements, max %d", ErrLimit, i, n, MaxContextElements))
			}
			for _, el := range b.ContextElements.Elements {
				if t, ok := el.(*slack.TextBlockObject); ok {
					errs = append(errs, checkLen(fmt.Sprintf("block %d context text", i), t.Text, MaxSectionText))
				}
			}
		case *slack.ActionBlock:
			if b.Elements == nil {
				continue
			}
			if n := len(b.Elements.ElementSet); n > MaxActionsElements {
				errs = append(errs, fmt.Errorf("%w: block %d actions has %d elements, max %d", ErrLimit, i, n, MaxActionsElements))
			}
			for _, el := range b.Elements.ElementSet {
				errs = append(errs, checkElement(i, el, useActionID))
			}
		case *slack.InputBlock:
			if b.Element != nil {
				errs = append(errs, checkElement(i, b.Element, useActionID))
			}
		}
	}
	return errors.Join(errs...)
}

func blockID(b slack.Block) string {
	switch b := b.(type) {
	case *slack.SectionBlock:
		return b.BlockID
	case *slack.ActionBlock:
		return b.BlockID
	case *slack.ContextBlock:
		return b.BlockID
	case *slack.HeaderBlock:
		return b.BlockID
	case *slack.InputBlock:
		return b.BlockID
	case *slack.DividerBlock:
		return b.BlockID
	}
	return ""
}

func accessoryElement(a *slack.Accessory) slack.BlockElement {
	switch {
	case a.ButtonElement != nil:
		return a.ButtonElement
	case a.OverflowElement != nil:
		return a.OverflowElement
	case a.SelectElement != nil:
		return a.SelectElement
	}
	return nil
}

func checkElement(i int, el slack.BlockElement, useActionID func(string)) error {
	var errs []error
	where := func(what string) string { return fmt.Sprintf("block %d %s", i, what) }
	switch el := el.(type) {
	case *slack.ButtonBlockElement:
		useActionID(el.ActionID)
		if el.Text != nil {
			errs = append(errs, checkLen(where("button text"), el.Text.Text, MaxButtonText))
		}
		errs = append(errs, checkLen(where("button value"), el.Value, MaxButtonValue))
		errs = append(errs, checkConfirm(where("button confirm"), el.Confirm))
	case *slack.OverflowBlockElement:
		useActionID(el.ActionID)
		if n := len(el.Options); n > MaxOverflowOptions || n < 1 {
			errs = append(errs, fmt.Errorf("%w: %s has %d options, want 1..%d", ErrLimit, where("overflow"), n, MaxOverflowOptions))
		}
		for _, o := range el.Options {
			errs = append(errs, checkOption(where("overflow option"), o))
		}
		errs = append(errs, checkConfirm(where("overflow confirm"), el.Confirm))
	case *slack.SelectBlockElement:
		useActionID(el.ActionID)
		if n := len(el.Options); n > MaxOptions {
			errs = append(errs, fmt.Errorf("%w: %s has %d options, max %d", ErrLimit, where("select"), n, MaxOptions))
		}
		for _, o := range el.Options {
			errs = append(errs, checkOption(where("select option"), o))
		}
	case *slack.PlainTextInputBlockElement:
		useActionID(el.ActionID)
	}
	return errors.Join(errs...)
}

func checkOption(what string, o *slack.OptionBlockObject) error {
	if o == nil {
		return nil
	}
	var errs []error
	if o.Text != nil {
		errs = append(errs, checkLen(what+" text", o.Text.Text, MaxOptionText))
	}
	errs = append(errs, checkLen(what+" value", o.Value, MaxOptionValue))
	return errors.Join(errs...)
}

func checkConfirm(what string, c *slack.ConfirmationBlockObject) error {
	if c == nil {
		return nil
	}
	var errs []error
	if c.Title != nil {
		errs = append(errs, checkLen(what+" title", c.Title.Text, MaxConfirmTitle))
	}
	if c.Text != nil {
		errs = append(errs, checkLen(what+" text", c.Text.Text, MaxConfirmText))
	}
	if c.Confirm != nil {
		errs = append(errs, checkLen(what+" confirm", c.Confirm.Text, MaxConfirmButtonText))
	}
	if c.Deny != nil {
		errs = append(errs, checkLen(what+" deny", c.Deny.Text, MaxConfirmButtonText))
	}
	return errors.Join(errs...)
}

func checkLen(what, s string, limit int) error {
	if n := utf8.RuneCountInString(s); n > limit {
		return fmt.Errorf("%w: %s is %d characters, max %d", ErrLimit, what, n, limit)
	}
	return nil
}
