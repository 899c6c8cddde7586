package blocks

import (
	"slices"
	"strings"

	"github.com/slack-go/slack"
)

// PickerAccount is an account the user may pick, with its regions.
type PickerAccount struct {
	Name    string
	Regions []string
}

// PickerView is the instance picker modal: loading, failed (Error) or filled.
type PickerView struct {
	Accounts        []PickerAccount
	Loading         bool
	Error           string // shown instead of the form when not ""
	PrivateMetadata string // at most MaxPrivateMetadata; passed through untouched
}

// PickerCallbackID is the callback_id of the picker modal.
const PickerCallbackID = "picker"

// Block ids and action ids of the picker's inputs, read back on submit.
const (
	PickerAccountBlock  = "picker_account"
	PickerAccountAction = "account"
	PickerRegionBlock   = "picker_region"
	PickerRegionAction  = "region"
	PickerStateBlock    = "picker_state"
	PickerStateAction   = "state"
	PickerSearchBlock   = "picker_search"
	PickerSearchAction  = "instance_search"
)

// pickerStates are the states the picker filters on.
var pickerStates = []string{"running", "stopped", "pending", "stopping", "terminated"}

// Picker renders the instance picker. While Loading it shows a spinner line
// and, on Error, the error; both offer Close only. Filled, it has optional
// account, region and state selects and a type-ahead instance search.
// With more than MaxOptions accounts the account select is filled as the
// user types (AccountOptions); regions beyond MaxOptions are left out, as
// are names longer than MaxOptionValue (an option's value is the name
// itself).
func Picker(v PickerView) slack.ModalViewRequest {
	m := slack.ModalViewRequest{
		Type:            slack.VTModal,
		CallbackID:      PickerCallbackID,
		PrivateMetadata: v.PrivateMetadata,
	}
	switch {
	case v.Loading:
		m.Title = plain("Charlize")
		m.Close = plain("Close")
		m.Blocks.BlockSet = []slack.Block{slack.NewSectionBlock(mrkdwn("⏳ Loading your accounts…"), nil, nil, slack.SectionBlockOptionBlockID("picker_loading"))}
		return m
	case v.Error != "":
		m.Title = plain("Charlize")
		m.Close = plain("Close")
		m.Blocks.BlockSet = []slack.Block{slack.NewSectionBlock(mrkdwn("❌ "+esc(v.Error, maxMessage)), nil, nil, slack.SectionBlockOptionBlockID("picker_error"))}
		return m
	}
	m.Title = plain("Find instances")
	m.Submit = plain("Show")
	m.Close = plain("Cancel")

	var accounts, regions []string
	for _, a := range v.Accounts {
		accounts = append(accounts, a.Name)
		regions = append(regions, a.Regions...)
	}
	slices.Sort(regions)
	regions = slices.Compact(regions)

	set := []slack.Block{slack.NewSectionBlock(mrkdwn("Narrow down by account, region and state, or search for one instance. Leave everything empty to list all your instances."),
		nil, nil, slack.SectionBlockOptionBlockID("picker_intro"))}
	if len(accounts) > MaxOptions {
		// More accounts than a static select holds (an organization's):
		// Slack asks for them as the user types, AccountOptions answers.
		sel := slack.NewOptionsSelectBlockElement(slack.OptTypeExternal, plain("Any account: type to search"), PickerAccountAction)
		zero := 0
		sel.MinQueryLength = &zero
		set = append(set, optionalInput(PickerAccountBlock, "Account", sel))
	} else if sel := staticSelect(PickerAccountAction, "Any account", accounts, nil); sel != nil {
		set = append(set, optionalInput(PickerAccountBlock, "Account", sel))
	}
	if sel := staticSelect(PickerRegionAction, "Any region", regions, nil); sel != nil {
		set = append(set, optionalInput(PickerRegionBlock, "Region", sel))
	}
	set = append(set, optionalInput(PickerStateBlock, "State", staticSelect(PickerStateAction, "Any state", pickerStates, stateEmoji)))

	search := slack.NewOptionsSelectBlockElement(slack.OptTypeExternal, plain("Type a name or id"), PickerSearchAction)
	one := 1
	search.MinQueryLength = &one
	in := optionalInput(PickerSearchBlock, "Instance", search)
	in.Hint = plain("Pick one instance to list just it, or leave empty to list everything that matches the filters above.")
	set = append(set, in)
	m.Blocks.BlockSet = set
	return m
}

// staticSelect offers values (deduplicated, at most MaxOptions, each shown
// as itself with an optional emoji), or nil when there is none to offer.
func staticSelect(actionID, placeholder string, values []string, emoji func(string) string) *slack.SelectBlockElement {
	var opts []*slack.OptionBlockObject
	seen := map[string]bool{}
	for _, v := range values {
		if v == "" || seen[v] || len(v) > MaxOptionValue {
			continue
		}
		seen[v] = true
		text := v
		if emoji != nil {
			text = emoji(v) + " " + v
		}
		opts = append(opts, slack.NewOptionBlockObject(v, plainText(text, MaxOptionText), nil))
		if len(opts) == MaxOptions {
			break
		}
	}
	if len(opts) == 0 {
		return nil
	}
	return slack.NewOptionsSelectBlockElement(slack.OptTypeStatic, plain(placeholder), actionID, opts...)
}

func optionalInput(blockID, label string, el slack.BlockElement) *slack.InputBlock {
	in := slack.NewInputBlock(blockID, plain(label), nil, el)
	in.Optional = true
	return in
}

// AccountOptions answers a block_suggestion for the picker's account
// select: the names given, at most MaxOptions, those too long for an
// option's value left out.
func AccountOptions(names []string) []*slack.OptionBlockObject {
	opts := []*slack.OptionBlockObject{}
	for _, n := range names {
		if len(opts) == MaxOptions {
			break
		}
		if n != "" && len(n) <= MaxOptionValue {
			opts = append(opts, slack.NewOptionBlockObject(n, plainText(n, MaxOptionText), nil))
		}
	}
	return opts
}

// Options answers a block_suggestion for the picker's instance search:
// instance i is offered as "name (id) · state · account/region" with value
// values[i]. At most MaxOptions are returned; instances without a value, or
// with one longer than MaxOptionValue, are left out.
func Options(instances []InstanceView, values []string) *slack.OptionsResponse {
	resp := &slack.OptionsResponse{}
	for i, inst := range instances {
		if len(resp.Options) == MaxOptions {
			break
		}
		if i >= len(values) || values[i] == "" || len(values[i]) > MaxOptionValue {
			continue
		}
		text := inst.ID
		if inst.Name != "" {
			text = Truncate(clean(inst.Name), 40) + " (" + inst.ID + ")"
		}
		if inst.State != "" {
			// A terminated instance looks like any other without it.
			text += " · " + stateEmoji(inst.State) + " " + clean(inst.State)
		}
		loc := inst.Account
		if inst.Region != "" {
			loc = strings.TrimPrefix(loc+"/"+inst.Region, "/")
		}
		if loc != "" {
			text += " · " + loc
		}
		resp.Options = append(resp.Options, slack.NewOptionBlockObject(values[i], plainText(text, MaxOptionText), nil))
	}
	return resp
}
