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
	MaxModalButtonText   = 24 // a modal's submit and close
	MaxCallbackID        = 255
	MaxExternalID        = 255
	MaxInputLabel        = 2000
	MaxInputHint         = 2000
	MaxPlaceholder       = 150
	MaxOptionDescription = 75
	MaxOptionGroups      = 100
	MaxOptionGroupLabel  = 75
	MaxButtonURL         = 3000
	MaxPlainTextInput    = 3000 // plain_text_input's initial_value, min_length and max_length
	MaxImageAltText      = 2000
	MaxImageTitle        = 2000
	MaxImageURL          = 3000
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
	if v.Type != slack.VTModal {
		errs = append(errs, fmt.Errorf("%w: view type %q, want %q", ErrLimit, v.Type, slack.VTModal))
	}
	errs = append(errs, checkPlainText("modal title", v.Title, MaxModalTitle, true))
	errs = append(errs, checkPlainText("modal submit", v.Submit, MaxModalButtonText, false))
	errs = append(errs, checkPlainText("modal close", v.Close, MaxModalButtonText, false))
	if v.Submit == nil {
		for _, b := range v.Blocks.BlockSet {
			if _, ok := b.(*slack.InputBlock); ok {
				errs = append(errs, fmt.Errorf("%w: a modal with input blocks needs a submit button", ErrLimit))
				break
			}
		}
	}
	errs = append(errs, checkLen("private_metadata", v.PrivateMetadata, MaxPrivateMetadata))
	errs = append(errs, checkLen("callback_id", v.CallbackID, MaxCallbackID))
	errs = append(errs, checkLen("external_id", v.ExternalID, MaxExternalID))
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
			if b.Text == nil && len(b.Fields) == 0 {
				errs = append(errs, fmt.Errorf("%w: block %d section has neither text nor fields", ErrLimit, i))
			}
			errs = append(errs, checkText(fmt.Sprintf("block %d section text", i), b.Text, MaxSectionText, false))
			if len(b.Fields) > MaxSectionFields {
				errs = append(errs, fmt.Errorf("%w: block %d has %d fields, max %d", ErrLimit, i, len(b.Fields), MaxSectionFields))
			}
			for _, f := range b.Fields {
				errs = append(errs, checkText(fmt.Sprintf("block %d field", i), f, MaxFieldText, true))
			}
			if b.Accessory != nil {
				errs = append(errs, checkElement(i, accessoryElement(b.Accessory), useActionID))
			}
		case *slack.HeaderBlock:
			errs = append(errs, checkPlainText(fmt.Sprintf("block %d header", i), b.Text, MaxHeaderText, true))
		case *slack.ContextBlock:
			if n := len(b.ContextElements.Elements); n > MaxContextElements || n < 1 {
				errs = append(errs, fmt.Errorf("%w: block %d context has %d elements, want 1..%d", ErrLimit, i, n, MaxContextElements))
			}
			for _, el := range b.ContextElements.Elements {
				if t, ok := el.(*slack.TextBlockObject); ok {
					errs = append(errs, checkText(fmt.Sprintf("block %d context text", i), t, MaxSectionText, true))
				}
			}
		case *slack.ActionBlock:
			n := 0
			if b.Elements != nil {
				n = len(b.Elements.ElementSet)
			}
			if n > MaxActionsElements || n < 1 {
				errs = append(errs, fmt.Errorf("%w: block %d actions has %d elements, want 1..%d", ErrLimit, i, n, MaxActionsElements))
			}
			if b.Elements == nil {
				continue
			}
			for _, el := range b.Elements.ElementSet {
				errs = append(errs, checkElement(i, el, useActionID))
			}
		case *slack.ImageBlock:
			errs = append(errs, checkLen(fmt.Sprintf("block %d image alt_text", i), b.AltText, MaxImageAltText))
			if b.AltText == "" {
				errs = append(errs, fmt.Errorf("%w: block %d image has no alt_text", ErrLimit, i))
			}
			errs = append(errs, checkPlainText(fmt.Sprintf("block %d image title", i), b.Title, MaxImageTitle, false))
			errs = append(errs, checkLen(fmt.Sprintf("block %d image_url", i), b.ImageURL, MaxImageURL))
			hasFile := b.SlackFile != nil && (b.SlackFile.ID != "" || b.SlackFile.URL != "")
			if (b.ImageURL == "") == !hasFile {
				errs = append(errs, fmt.Errorf("%w: block %d image needs exactly one of image_url and slack_file", ErrLimit, i))
			}
		case *slack.InputBlock:
			errs = append(errs, checkPlainText(fmt.Sprintf("block %d input label", i), b.Label, MaxInputLabel, true))
			errs = append(errs, checkPlainText(fmt.Sprintf("block %d input hint", i), b.Hint, MaxInputHint, false))
			if b.Element == nil {
				errs = append(errs, fmt.Errorf("%w: block %d input has no element", ErrLimit, i))
				continue
			}
			errs = append(errs, checkElement(i, b.Element, useActionID))
		case *slack.UnknownBlock:
			// slack-go decodes a type it does not know into this; Slack refuses it.
			errs = append(errs, fmt.Errorf("%w: block %d has an unknown type %q", ErrLimit, i, b.BlockType()))
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
	case *slack.ImageBlock:
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
		errs = append(errs, checkPlainText(where("button text"), el.Text, MaxButtonText, true))
		errs = append(errs, checkLen(where("button value"), el.Value, MaxButtonValue))
		errs = append(errs, checkLen(where("button url"), el.URL, MaxButtonURL))
		errs = append(errs, checkStyle(where("button style"), el.Style))
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
		errs = append(errs, checkPlainText(where(el.Type+" placeholder"), el.Placeholder, MaxPlaceholder, false))
		switch el.Type {
		case slack.OptTypeStatic:
			if (len(el.Options) == 0) == (len(el.OptionGroups) == 0) {
				errs = append(errs, fmt.Errorf("%w: %s needs options or option_groups, not both or neither", ErrLimit, where("static_select")))
			}
		case slack.OptTypeExternal:
			if len(el.Options) > 0 || len(el.OptionGroups) > 0 {
				errs = append(errs, fmt.Errorf("%w: %s cannot list options (they come from the options load URL)", ErrLimit, where("external_select")))
			}
			if el.MinQueryLength != nil && *el.MinQueryLength < 0 {
				errs = append(errs, fmt.Errorf("%w: %s min_query_length %d", ErrLimit, where("external_select"), *el.MinQueryLength))
			}
		}
		if n := len(el.Options); n > MaxOptions {
			errs = append(errs, fmt.Errorf("%w: %s has %d options, max %d", ErrLimit, where("select"), n, MaxOptions))
		}
		for _, o := range el.Options {
			errs = append(errs, checkOption(where("select option"), o))
		}
		if n := len(el.OptionGroups); n > MaxOptionGroups {
			errs = append(errs, fmt.Errorf("%w: %s has %d option groups, max %d", ErrLimit, where("select"), n, MaxOptionGroups))
		}
		for _, g := range el.OptionGroups {
			errs = append(errs, checkPlainText(where("option group label"), g.Label, MaxOptionGroupLabel, true))
			if n := len(g.Options); n > MaxOptions || n < 1 {
				errs = append(errs, fmt.Errorf("%w: %s has %d options, want 1..%d", ErrLimit, where("option group"), n, MaxOptions))
			}
			for _, o := range g.Options {
				errs = append(errs, checkOption(where("option group option"), o))
			}
		}
		errs = append(errs, checkOption(where("select initial_option"), el.InitialOption))
		errs = append(errs, checkConfirm(where("select confirm"), el.Confirm))
	case *slack.PlainTextInputBlockElement:
		useActionID(el.ActionID)
		errs = append(errs, checkPlainText(where("plain_text_input placeholder"), el.Placeholder, MaxPlaceholder, false))
		errs = append(errs, checkLen(where("plain_text_input initial_value"), el.InitialValue, MaxPlainTextInput))
		if el.MinLength < 0 || el.MinLength > MaxPlainTextInput || el.MaxLength < 0 || el.MaxLength > MaxPlainTextInput ||
			el.MaxLength > 0 && el.MinLength > el.MaxLength {
			errs = append(errs, fmt.Errorf("%w: %s min_length %d, max_length %d", ErrLimit, where("plain_text_input"), el.MinLength, el.MaxLength))
		}
	}
	return errors.Join(errs...)
}

// CheckOptions reports every Block Kit limit an options response (the
// answer to an external_select's block_suggestion) breaks.
func CheckOptions(r *slack.OptionsResponse) error {
	if r == nil {
		return nil
	}
	var errs []error
	if n := len(r.Options); n > MaxOptions {
		errs = append(errs, fmt.Errorf("%w: %d options, max %d", ErrLimit, n, MaxOptions))
	}
	for i, o := range r.Options {
		errs = append(errs, checkOption(fmt.Sprintf("option %d", i), o))
	}
	return errors.Join(errs...)
}

func checkOption(what string, o *slack.OptionBlockObject) error {
	if o == nil {
		return nil
	}
	var errs []error
	errs = append(errs, checkPlainText(what+" text", o.Text, MaxOptionText, true))
	errs = append(errs, checkText(what+" description", o.Description, MaxOptionDescription, false))
	errs = append(errs, checkLen(what+" value", o.Value, MaxOptionValue))
	if o.Value == "" {
		errs = append(errs, fmt.Errorf("%w: %s has no value", ErrLimit, what))
	}
	return errors.Join(errs...)
}

func checkConfirm(what string, c *slack.ConfirmationBlockObject) error {
	if c == nil {
		return nil
	}
	return errors.Join(
		checkPlainText(what+" title", c.Title, MaxConfirmTitle, true),
		checkText(what+" text", c.Text, MaxConfirmText, true),
		checkPlainText(what+" confirm", c.Confirm, MaxConfirmButtonText, true),
		checkPlainText(what+" deny", c.Deny, MaxConfirmButtonText, false),
		checkStyle(what+" style", c.Style),
	)
}

func checkStyle(what string, s slack.Style) error {
	switch s {
	case "", slack.StylePrimary, slack.StyleDanger:
		return nil
	}
	return fmt.Errorf("%w: %s %q, want primary or danger", ErrLimit, what, s)
}

// checkPlainText is checkText for the places that take plain_text only.
func checkPlainText(what string, t *slack.TextBlockObject, limit int, required bool) error {
	if t != nil && t.Type != slack.PlainTextType {
		return fmt.Errorf("%w: %s is %s, want plain_text", ErrLimit, what, t.Type)
	}
	return checkText(what, t, limit, required)
}

// checkText checks a text object's length and, when required, that it is
// present and not empty (Slack rejects empty texts).
func checkText(what string, t *slack.TextBlockObject, limit int, required bool) error {
	if t == nil {
		if required {
			return fmt.Errorf("%w: %s is missing", ErrLimit, what)
		}
		return nil
	}
	if t.Text == "" {
		return fmt.Errorf("%w: %s is empty", ErrLimit, what)
	}
	return checkLen(what, t.Text, limit)
}

func checkLen(what, s string, limit int) error {
	if n := utf8.RuneCountInString(s); n > limit {
		return fmt.Errorf("%w: %s is %d characters, max %d", ErrLimit, what, n, limit)
	}
	return nil
}
