package blocks_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/slack-go/slack"

	"github.com/charlize-app/charlize/blocks"
	"github.com/charlize-app/charlize/ec2ops/action"
)

// hostile is text a tag, an account name or an error message could carry.
const hostile = "<!channel> <!here> <@UEVIL> & <https://evil.example|click>"

// liveMentions are what must never reach a mrkdwn text or a message's text.
var liveMentions = []string{"<!channel>", "<!here>", "<@UEVIL>", "<https://evil"}

func long(n int) string { return strings.Repeat(hostile+" ", n/len(hostile)+1)[:n] }

// fleet is n instances in every state, some with absurd names.
func fleet(n int) []blocks.InstanceView {
	states := []string{"running", "stopped", "pending", "stopping", "shutting-down", "terminated", "", "rebooting-ish"}
	insts := make([]blocks.InstanceView, n)
	for i := range insts {
		inst := blocks.InstanceView{
			ID:         fmt.Sprintf("i-%017x", i),
			Name:       fmt.Sprintf("web-%d", i),
			State:      states[i%len(states)],
			Type:       "t3.micro",
			Account:    []string{"acme-prod", "acme-dev", long(300)}[i%3],
			Region:     "eu-west-1",
			AZ:         "eu-west-1a",
			PrivateIP:  "10.0.0.1",
			PublicIP:   "34.1.2.3",
			LaunchTime: now.Add(-time.Duration(i) * 37 * time.Hour),
		}
		switch i % 5 {
		case 1:
			inst.Name = long(200)
		case 2:
			inst.Name = ""
		case 3:
			inst.Name = strings.Repeat("&", 200)
		}
		if i%4 == 0 {
			inst.TerminationProtected = ptr(i%8 == 0)
		}
		inst.Buttons = buttonsFor(inst.State, fmt.Sprintf("nonce-%d", i))
		if i%7 == 0 {
			// Every kind, in reverse.
			for k, kind := range []action.Action{action.Terminate, action.Restart, action.Reboot, action.Stop, action.Start, action.Status} {
				inst.Buttons = append(inst.Buttons, blocks.Button{Kind: kind, Value: fmt.Sprintf("%d-%d-", i, k) + strings.Repeat("v", 1990)})
			}
		}
		insts[i] = inst
	}
	return insts
}

func TestLimitsFleet(t *testing.T) {
	insts := fleet(120)
	counts := map[string]int{}
	for _, in := range insts {
		counts[in.State]++
	}
	for i := range 40 {
		counts[fmt.Sprintf("state-%d-%s", i, long(100))] = i
	}
	failures := make([]string, 200)
	for i := range failures {
		failures[i] = fmt.Sprintf("acct-%d/eu-west-1: %s", i, long(5000))
	}
	pages := (len(insts) + blocks.ListPageSize - 1) / blocks.ListPageSize
	for p := range pages {
		page := insts[p*blocks.ListPageSize : min(len(insts), (p+1)*blocks.ListPageSize)]
		v := blocks.ListView{
			Query: long(5000), Now: now, Instances: page, Page: p + 1, Pages: pages, Total: len(insts),
			StateCounts: counts, Failures: failures, RefreshValue: fmt.Sprintf("refresh-%d", p), Requester: "U012AB3CD",
		}
		if p > 0 {
			v.PrevValue = fmt.Sprintf("prev-%d", p)
		}
		if p < pages-1 {
			v.NextValue = fmt.Sprintf("next-%d", p)
		}
		want := map[string]string{"refresh": v.RefreshValue}
		if v.PrevValue != "" {
			want["page:prev"] = v.PrevValue
		}
		if v.NextValue != "" {
			want["page:next"] = v.NextValue
		}
		for n, inst := range page {
			for _, b := range inst.Buttons {
				id := fmt.Sprintf("act:%s:%d", b.Kind, n)
				if _, dup := want[id]; !dup { // the first button of a kind wins
					want[id] = b.Value
				}
			}
		}
		name := fmt.Sprintf("List(page %d/%d)", p+1, pages)
		msg := blocks.List(v)
		mustBeSafe(t, name, msg)
		shown := 0
		for _, b := range msg.Blocks.BlockSet {
			if strings.HasPrefix(b.ID(), "inst:") {
				shown++
			}
		}
		if shown != len(page) {
			t.Errorf("%s shows %d instances, want %d", name, shown, len(page))
		}
		if got := buttonValues(t, name, msg); !equalMaps(got, want) {
			t.Errorf("%s buttons = %v, want %v", name, keys(got), keys(want))
		}
	}
}

func TestLimitsAbsurd(t *testing.T) {
	insts := fleet(40)
	absurd := insts[1] // a 200-character hostile name
	absurd.Type, absurd.Region, absurd.AZ, absurd.PrivateIP, absurd.PublicIP, absurd.Platform, absurd.State =
		long(300), long(300), long(300), long(300), long(300), long(300), long(300)
	var values []string
	for i := range insts {
		values = append(values, fmt.Sprintf("pick-%d", i))
	}
	regions := make([]string, 100)
	for i := range regions {
		regions[i] = fmt.Sprintf("%s-%d", long(20), i)
	}
	var accounts []blocks.AccountView
	var pickerAccounts []blocks.PickerAccount
	for i := range 150 {
		name := fmt.Sprintf("%s-%d", long(200), i)
		accounts = append(accounts, blocks.AccountView{Name: name, ID: long(50), Regions: regions, Role: long(500)})
		pickerAccounts = append(pickerAccounts, blocks.PickerAccount{Name: name[150:], Regions: regions})
	}
	messages := map[string]slack.WebhookMessage{
		"Card": blocks.Card(absurd, now, long(5000)),
		"InstanceCard": blocks.InstanceCard(blocks.CardView{Instance: absurdCard(absurd), Now: now, Note: long(5000), Schedule: long(5000),
			ConsoleValue: strings.Repeat("v", blocks.MaxButtonValue), Notices: []string{long(5000), long(5000), hostile},
			Graph: blocks.GraphView{FileID: "F0123456789", Title: long(5000), AltText: long(5000)}}),
		"InstanceCard(missing graph)": blocks.InstanceCard(blocks.CardView{Instance: absurdCard(absurd), Now: now, Graph: blocks.GraphView{Missing: long(5000)}}),
		"Matches":                     blocks.Matches(long(5000), insts, values),
		"NoMatch":                     blocks.NoMatch(long(5000), []string{long(200), long(200), long(200), long(200), long(200), long(200), long(200), long(200), long(200), long(200), long(200), long(200)}),
		"Progress":                    blocks.Progress(blocks.ProgressView{Action: action.Action(long(100)), Verb: long(100), Instance: absurd, Requester: hostile, State: long(300), Elapsed: 1000 * time.Hour, FallbackNote: long(5000)}),
		"Result(ok)":                  blocks.Result(blocks.ResultView{Action: action.Terminate, Instance: absurd, Requester: "U1", OK: true, Elapsed: time.Hour, Buttons: insts[0].Buttons}),
		"Result(unknown)":             blocks.Result(blocks.ResultView{Action: action.Action(long(300)), Instance: absurd, OK: true}),
		"Result(failed)":              blocks.Result(blocks.ResultView{Action: action.Stop, Instance: absurd, Requester: "UEVIL> <!channel", Message: blocks.Say("%s", long(5000)), Buttons: insts[7].Buttons}),
		"Result(status)":              blocks.Result(blocks.ResultView{Action: action.Status, Instance: absurd, OK: true}),
		"Accounts":                    blocks.Accounts(blocks.AccountsView{Accounts: accounts, Total: 150, Page: 2, Pages: 3, Filter: hostile, PrevValue: long(blocks.MaxButtonValue), NextValue: long(blocks.MaxButtonValue)}),
		"MentionReply":                blocks.MentionReply(long(500), strings.Repeat("v", blocks.MaxButtonValue)),
		"List(too many)":              blocks.List(blocks.ListView{Query: hostile, Now: now, Instances: fleet(60), Page: 1, Pages: 1, Total: 60}),
	}
	for name, msg := range messages {
		mustBeSafe(t, name, msg)
		buttonValues(t, name, msg)
	}
	modals := map[string]slack.ModalViewRequest{
		"Picker(filled)":          blocks.Picker(blocks.PickerView{Accounts: pickerAccounts, PrivateMetadata: strings.Repeat("m", blocks.MaxPrivateMetadata)}),
		"Picker(error)":           blocks.Picker(blocks.PickerView{Error: long(5000)}),
		"Picker(loading)":         blocks.Picker(blocks.PickerView{Loading: true}),
		"ConsoleModal":            blocks.ConsoleModal(blocks.ConsoleView{Instance: absurd, Lines: []string{long(5000), hostile, long(2999), long(3001)}, Captured: now}),
		"ConsoleModal(error)":     blocks.ConsoleModal(blocks.ConsoleView{Instance: absurd, ErrorText: blocks.Say("%s", long(5000))}),
		"TerminateModal":          blocks.TerminateModal(blocks.TerminateView{Instance: absurd, Now: now, ErrorText: blocks.Say("%s", long(5000))}),
		"TerminateModal(unnamed)": blocks.TerminateModal(blocks.TerminateView{Instance: insts[2], Now: now}),
	}
	for name, m := range modals {
		mustPassModal(t, name, m)
		mustHaveNoLiveMentions(t, name, m)
	}
	opts := blocks.Options(fleet(150), func() []string {
		vs := make([]string, 150)
		for i := range vs {
			vs[i] = fmt.Sprintf("%d-%s", i, strings.Repeat("v", 140))
		}
		return vs
	}())
	if err := blocks.CheckOptions(opts); err != nil {
		t.Errorf("Options breaks limits: %v", err)
	}
}

// mustBeSafe checks a message's limits, JSON round trip and mentions.
func mustBeSafe(t *testing.T, name string, msg slack.WebhookMessage) {
	t.Helper()
	mustPassMessage(t, name, msg)
	mustHaveNoLiveMentions(t, name, msg)
}

// mustHaveNoLiveMentions walks v's JSON: no mrkdwn text, and no message
// text, may carry a mention or link that came from user or AWS input.
func mustHaveNoLiveMentions(t *testing.T, name string, v any) {
	t.Helper()
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		t.Fatal(err)
	}
	var tree any
	if err := json.Unmarshal(buf.Bytes(), &tree); err != nil {
		t.Fatal(err)
	}
	check := func(where, s string) {
		for _, m := range liveMentions {
			if strings.Contains(s, m) {
				t.Errorf("%s: %s contains live %q: %.120q", name, where, m, s)
			}
		}
	}
	var walk func(any, bool)
	walk = func(n any, top bool) {
		switch n := n.(type) {
		case map[string]any:
			if s, ok := n["text"].(string); ok && (top || n["type"] == "mrkdwn") {
				check(fmt.Sprintf("%v text", n["type"]), s)
			}
			for _, c := range n {
				walk(c, false)
			}
		case []any:
			for _, c := range n {
				walk(c, false)
			}
		}
	}
	walk(tree, true)
}

// buttonValues checks that a message's action_ids are unique and that every
// button value survives JSON unchanged; it returns action_id → value.
func buttonValues(t *testing.T, name string, msg slack.WebhookMessage) map[string]string {
	t.Helper()
	before := collectButtons(t, name, msg.Blocks.BlockSet)
	raw, err := json.Marshal(msg)
	if err != nil {
		t.Fatal(err)
	}
	var back slack.WebhookMessage
	if err := json.Unmarshal(raw, &back); err != nil {
		t.Fatal(err)
	}
	after := collectButtons(t, name, back.Blocks.BlockSet)
	if !equalMaps(before, after) {
		t.Errorf("%s: button values changed through JSON", name)
	}
	return before
}

func collectButtons(t *testing.T, name string, set []slack.Block) map[string]string {
	t.Helper()
	got := map[string]string{}
	add := func(b *slack.ButtonBlockElement) {
		if _, dup := got[b.ActionID]; dup {
			t.Errorf("%s: duplicate action_id %q", name, b.ActionID)
		}
		got[b.ActionID] = b.Value
	}
	for _, b := range set {
		switch b := b.(type) {
		case *slack.ActionBlock:
			for _, el := range b.Elements.ElementSet {
				if btn, ok := el.(*slack.ButtonBlockElement); ok {
					add(btn)
				}
			}
		case *slack.SectionBlock:
			if b.Accessory != nil && b.Accessory.ButtonElement != nil {
				add(b.Accessory.ButtonElement)
			}
		}
	}
	return got
}

func equalMaps(a, b map[string]string) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if w, ok := b[k]; !ok || w != v {
			return false
		}
	}
	return true
}

func keys(m map[string]string) []string {
	var ks []string
	for k := range m {
		ks = append(ks, k)
	}
	return ks
}

// TestCheckCatches makes sure the checker itself finds what Slack rejects.
func TestCheckCatches(t *testing.T) {
	btn := func(text, value string) *slack.ButtonBlockElement {
		return slack.NewButtonBlockElement("a", value, slack.NewTextBlockObject(slack.PlainTextType, text, false, false))
	}
	plainT := func(s string) *slack.TextBlockObject {
		return slack.NewTextBlockObject(slack.PlainTextType, s, false, false)
	}
	mrk := func(s string) *slack.TextBlockObject {
		return slack.NewTextBlockObject(slack.MarkdownType, s, false, false)
	}
	opt := func(v string) *slack.OptionBlockObject { return slack.NewOptionBlockObject(v, plainT(v), nil) }
	confirmed := btn("Stop", "v")
	confirmed.Confirm = slack.NewConfirmationBlockObject(plainT("t"), plainT(strings.Repeat("x", 301)), plainT("ok"), nil)
	external := slack.NewOptionsSelectBlockElement(slack.OptTypeExternal, plainT("p"), "x", opt("a"))
	input := func(el slack.BlockElement, label string) *slack.InputBlock {
		return slack.NewInputBlock("in", plainT(label), nil, el)
	}
	many := make([]*slack.OptionBlockObject, 101)
	for i := range many {
		many[i] = opt(fmt.Sprint(i))
	}
	messages := []struct {
		name string
		set  []slack.Block
	}{
		{"empty section text", []slack.Block{slack.NewSectionBlock(mrk(""), nil, nil)}},
		{"unknown block type", unknownBlocks(t, `[{"type":"sectoin"}]`)},
		{"section without text or fields", []slack.Block{slack.NewSectionBlock(nil, nil, nil)}},
		{"mrkdwn header", []slack.Block{slack.NewHeaderBlock(mrk("h"))}},
		{"empty actions", []slack.Block{slack.NewActionBlock("acts")}},
		{"empty context", []slack.Block{slack.NewContextBlock("ctx")}},
		{"long confirm text", []slack.Block{slack.NewActionBlock("acts", confirmed)}},
		{"button style", []slack.Block{slack.NewActionBlock("acts", func() *slack.ButtonBlockElement { b := btn("x", "v"); b.Style = "loud"; return b }())}},
		{"empty button text", []slack.Block{slack.NewActionBlock("acts", btn("", "v"))}},
		{"static select without options", []slack.Block{input(slack.NewOptionsSelectBlockElement(slack.OptTypeStatic, plainT("p"), "x"), "l")}},
		{"static select with 101 options", []slack.Block{input(slack.NewOptionsSelectBlockElement(slack.OptTypeStatic, plainT("p"), "x", many...), "l")}},
		{"external select with options", []slack.Block{input(external, "l")}},
		{"long placeholder", []slack.Block{input(slack.NewPlainTextInputBlockElement(plainT(strings.Repeat("p", 151)), "x"), "l")}},
		{"long label", []slack.Block{input(slack.NewPlainTextInputBlockElement(nil, "x"), strings.Repeat("l", 2001))}},
		{"long option value", []slack.Block{input(slack.NewOptionsSelectBlockElement(slack.OptTypeStatic, plainT("p"), "x", opt(strings.Repeat("v", 151))), "l")}},
	}
	for _, tt := range messages {
		if err := blocks.CheckMessage(tt.set); !errors.Is(err, blocks.ErrLimit) {
			t.Errorf("CheckMessage(%s) = %v, want ErrLimit", tt.name, err)
		}
	}
	modals := []struct {
		name string
		m    slack.ModalViewRequest
	}{
		{"input without submit", slack.ModalViewRequest{Type: slack.VTModal, Title: plainT("t"),
			Blocks: slack.Blocks{BlockSet: []slack.Block{input(slack.NewPlainTextInputBlockElement(nil, "x"), "l")}}}},
		{"long submit", slack.ModalViewRequest{Type: slack.VTModal, Title: plainT("t"), Submit: plainT(strings.Repeat("s", 25)),
			Blocks: slack.Blocks{BlockSet: []slack.Block{slack.NewSectionBlock(mrk("x"), nil, nil)}}}},
		{"no title", slack.ModalViewRequest{Type: slack.VTModal, Blocks: slack.Blocks{BlockSet: []slack.Block{slack.NewSectionBlock(mrk("x"), nil, nil)}}}},
	}
	for _, tt := range modals {
		if err := blocks.CheckModal(tt.m); !errors.Is(err, blocks.ErrLimit) {
			t.Errorf("CheckModal(%s) = %v, want ErrLimit", tt.name, err)
		}
	}
	if err := blocks.CheckOptions(&slack.OptionsResponse{Options: many}); !errors.Is(err, blocks.ErrLimit) {
		t.Errorf("CheckOptions(101 options) = %v, want ErrLimit", err)
	}
}

// absurdCard gives an absurd instance absurd card-only parts too.
func absurdCard(v blocks.InstanceView) blocks.InstanceView {
	v.PublicDNS = long(5000)
	v.StopProtected = ptr(true)
	for i := range 40 {
		v.Tags = append(v.Tags, blocks.Tag{Key: long(300) + fmt.Sprint(i), Value: long(300)})
	}
	return v
}

// unknownBlocks decodes raw as slack-go does what Slack is sent.
func unknownBlocks(t *testing.T, raw string) []slack.Block {
	t.Helper()
	var bs slack.Blocks
	if err := json.Unmarshal([]byte(raw), &bs); err != nil {
		t.Fatal(err)
	}
	return bs.BlockSet
}
