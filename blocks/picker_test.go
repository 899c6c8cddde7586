package blocks_test

import (
	"strconv"
	"strings"
	"testing"

	"github.com/slack-go/slack"

	"github.com/charlize-app/charlize/blocks"
)

func TestPickerGolden(t *testing.T) {
	loading := blocks.Picker(blocks.PickerView{Loading: true, PrivateMetadata: "meta-1"})
	mustPassModal(t, "Picker(loading)", loading)
	mustMatchGolden(t, "picker_loading", loading)
	if loading.Submit != nil {
		t.Errorf("Picker(loading) has a submit button, want Close only")
	}

	failed := blocks.Picker(blocks.PickerView{Error: "Could not assume <role> in acme-prod", PrivateMetadata: "meta-1"})
	mustPassModal(t, "Picker(error)", failed)
	mustMatchGolden(t, "picker_error", failed)
	if failed.Submit != nil {
		t.Errorf("Picker(error) has a submit button, want Close only")
	}

	filled := blocks.Picker(blocks.PickerView{
		Accounts: []blocks.PickerAccount{
			{Name: "acme-prod", Regions: []string{"eu-west-1", "us-east-1"}},
			{Name: "acme-dev", Regions: []string{"us-east-1", "ap-south-1"}},
		},
		PrivateMetadata: "meta-1",
	})
	mustPassModal(t, "Picker(filled)", filled)
	mustMatchGolden(t, "picker_filled", filled)
}

func TestPickerInputs(t *testing.T) {
	var accounts []blocks.PickerAccount
	for i := range 150 {
		accounts = append(accounts, blocks.PickerAccount{Name: "account-" + strings.Repeat("x", i%3) + string(rune('a'+i%26)) + "-" + itoa(i), Regions: []string{"r-" + itoa(i)}})
	}
	accounts = append(accounts, blocks.PickerAccount{Name: strings.Repeat("n", 200)})
	m := blocks.Picker(blocks.PickerView{Accounts: accounts})
	mustPassModal(t, "Picker(150 accounts)", m)
	inputs := map[string]*slack.InputBlock{}
	for _, b := range m.Blocks.BlockSet {
		if in, ok := b.(*slack.InputBlock); ok {
			inputs[in.BlockID] = in
			if !in.Optional {
				t.Errorf("input %s is required, want optional", in.BlockID)
			}
		}
	}
	for _, tt := range []struct{ block, action string }{
		{blocks.PickerAccountBlock, blocks.PickerAccountAction},
		{blocks.PickerRegionBlock, blocks.PickerRegionAction},
		{blocks.PickerStateBlock, blocks.PickerStateAction},
		{blocks.PickerSearchBlock, blocks.PickerSearchAction},
	} {
		in := inputs[tt.block]
		if in == nil {
			t.Errorf("Picker has no input %s", tt.block)
			continue
		}
		sel := in.Element.(*slack.SelectBlockElement)
		if sel.ActionID != tt.action {
			t.Errorf("input %s action_id = %q, want %q", tt.block, sel.ActionID, tt.action)
		}
	}
	// More accounts than a static select holds: Slack asks for them.
	acc := inputs[blocks.PickerAccountBlock].Element.(*slack.SelectBlockElement)
	if acc.Type != slack.OptTypeExternal || len(acc.Options) != 0 || acc.MinQueryLength == nil || *acc.MinQueryLength != 0 {
		t.Errorf("account select over 151 accounts = %+v, want an external_select loading from nothing typed", acc)
	}
	few := blocks.Picker(blocks.PickerView{Accounts: accounts[:blocks.MaxOptions]})
	for _, b := range few.Blocks.BlockSet {
		if in, ok := b.(*slack.InputBlock); ok && in.BlockID == blocks.PickerAccountBlock {
			if sel := in.Element.(*slack.SelectBlockElement); sel.Type != slack.OptTypeStatic || len(sel.Options) != blocks.MaxOptions {
				t.Errorf("account select over %d accounts = %s with %d options, want all in a static_select", blocks.MaxOptions, sel.Type, len(sel.Options))
			}
		}
	}
	var names []string
	for _, a := range accounts {
		names = append(names, a.Name)
	}
	opts := blocks.AccountOptions(append([]string{""}, names...))
	if len(opts) != blocks.MaxOptions || opts[0].Value != accounts[0].Name {
		t.Errorf("AccountOptions(151 names) = %d options starting %q, want the first %d", len(opts), opts[0].Value, blocks.MaxOptions)
	}
	if opts := blocks.AccountOptions([]string{strings.Repeat("n", 200)}); len(opts) != 0 {
		t.Errorf("AccountOptions(a name too long for a value) = %d options, want none", len(opts))
	}
	reg := inputs[blocks.PickerRegionBlock].Element.(*slack.SelectBlockElement)
	if len(reg.Options) != blocks.MaxOptions || reg.Options[0].Value != "r-0" || reg.Options[1].Value != "r-1" || reg.Options[2].Value != "r-10" {
		t.Errorf("region select options start %q %q %q, want sorted r-0 r-1 r-10", reg.Options[0].Value, reg.Options[1].Value, reg.Options[2].Value)
	}
	search := inputs[blocks.PickerSearchBlock].Element.(*slack.SelectBlockElement)
	if search.Type != slack.OptTypeExternal || search.MinQueryLength == nil || *search.MinQueryLength != 1 || search.Placeholder.Text != "Type a name or id" {
		t.Errorf("search = %+v, want an external_select, min_query_length 1, placeholder \"Type a name or id\"", search)
	}

	none := blocks.Picker(blocks.PickerView{})
	mustPassModal(t, "Picker(no accounts)", none)
	for _, b := range none.Blocks.BlockSet {
		if b.ID() == blocks.PickerAccountBlock || b.ID() == blocks.PickerRegionBlock {
			t.Errorf("Picker(no accounts) has %s, want it left out (a static_select needs options)", b.ID())
		}
	}
}

func TestOptionsGolden(t *testing.T) {
	long := web1
	long.Name = strings.Repeat("very-long-name-", 10)
	resp := blocks.Options([]blocks.InstanceView{web1, db1, batch, long}, []string{"o1", "o2", "o3", "o4"})
	if err := blocks.CheckOptions(resp); err != nil {
		t.Errorf("Options breaks limits: %v", err)
	}
	mustMatchGolden(t, "options", resp)
}

func TestOptionsBounds(t *testing.T) {
	insts := make([]blocks.InstanceView, 150)
	values := make([]string, 150)
	for i := range insts {
		insts[i] = web1
		values[i] = "v" + itoa(i)
	}
	values[0] = strings.Repeat("x", blocks.MaxOptionValue+1)
	values[1] = ""
	resp := blocks.Options(insts, values[:149])
	if err := blocks.CheckOptions(resp); err != nil {
		t.Errorf("Options breaks limits: %v", err)
	}
	if n := len(resp.Options); n != blocks.MaxOptions {
		t.Errorf("Options(150) has %d options, want %d", n, blocks.MaxOptions)
	}
	if v := resp.Options[0].Value; v != "v2" {
		t.Errorf("first option value = %q, want v2 (oversized and empty values left out)", v)
	}
}

func itoa(i int) string { return strconv.Itoa(i) }
