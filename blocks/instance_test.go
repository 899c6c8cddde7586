package blocks_test

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/slack-go/slack"

	"github.com/charlize-app/charlize/blocks"
	"github.com/charlize-app/charlize/ec2ops/action"
)

var now = time.Date(2025, 3, 14, 12, 0, 0, 0, time.UTC)

func ptr[T any](v T) *T { return &v }

// buttonsFor are the buttons a flow offers in each state.
func buttonsFor(state, nonce string) []blocks.Button {
	b := func(kind action.Action) blocks.Button {
		return blocks.Button{Kind: kind, Value: nonce + "-" + string(kind)}
	}
	switch state {
	case "running":
		return []blocks.Button{b(action.Status), b(action.Stop), b(action.Reboot), b(action.Restart), b(action.Terminate)}
	case "stopped":
		return []blocks.Button{b(action.Status), b(action.Start), b(action.Terminate)}
	case "pending", "stopping":
		return []blocks.Button{b(action.Status)}
	}
	return nil
}

var (
	web1 = blocks.InstanceView{
		ID: "i-0abc1234def567890", Name: "web-1", State: "running", Type: "t3.micro",
		Account: "acme-prod", Region: "eu-west-1", AZ: "eu-west-1a",
		PrivateIP: "10.0.1.12", PublicIP: "34.240.1.2", Platform: "Linux/UNIX",
		LaunchTime:           now.Add(-(3*24 + 5) * time.Hour),
		TerminationProtected: ptr(false),
		Buttons:              buttonsFor("running", "n1"),
	}
	db1 = blocks.InstanceView{
		ID: "i-0def5678abc123456", Name: "db-1", State: "stopped", Type: "r6g.large",
		Account: "acme-prod", Region: "eu-west-1", AZ: "eu-west-1b", PrivateIP: "10.0.2.7",
		LaunchTime:           now.Add(-5 * time.Hour),
		TerminationProtected: ptr(true),
		Buttons:              buttonsFor("stopped", "n2"),
	}
	batch = blocks.InstanceView{
		ID: "i-0123456789abcdef0", State: "pending", Type: "c7g.xlarge",
		Account: "acme-dev", Region: "us-east-1", LaunchTime: now.Add(-12 * time.Minute),
		Buttons: buttonsFor("pending", "n3"),
	}
	gone = blocks.InstanceView{
		ID: "i-0fedcba9876543210", Name: "<!channel> & friends", State: "terminated", Type: "t3.nano",
		Account: "acme-dev", Region: "us-east-1", LaunchTime: now.Add(-40 * 24 * time.Hour),
	}
)

func TestListGolden(t *testing.T) {
	msg := blocks.List(blocks.ListView{
		Query:       "acme web*",
		Now:         now,
		Instances:   []blocks.InstanceView{web1, db1, batch, gone},
		Page:        2,
		Pages:       3,
		Total:       42,
		StateCounts: map[string]int{"running": 30, "stopped": 9, "pending": 1, "terminated": 1, "weird": 1},
		Failures:    []string{"acme-prod/ap-south-1: access denied", "acme-dev/eu-central-1: <timeout>"},
		PrevValue:   "nonce-prev", NextValue: "nonce-next", RefreshValue: "nonce-refresh",
		Requester: "U012AB3CD",
	})
	mustPassMessage(t, "List", msg)
	mustMatchGolden(t, "list", msg)
}

func TestListEmptyGolden(t *testing.T) {
	msg := blocks.List(blocks.ListView{Query: "nothing*", Now: now, Page: 1, Pages: 1, RefreshValue: "nonce-refresh"})
	mustPassMessage(t, "List", msg)
	mustMatchGolden(t, "list_empty", msg)
}

func TestList(t *testing.T) {
	msg := blocks.List(blocks.ListView{
		Now:       now,
		Instances: []blocks.InstanceView{web1, gone, db1},
		Page:      1, Pages: 1, Total: 3,
		StateCounts: map[string]int{"zeta": 1, "running": 1, "alpha": 2, "stopped": 1, "terminated": 1},
		NextValue:   "next",
	})
	mustPassMessage(t, "List", msg)
	set := msg.Blocks.BlockSet
	var ids []string
	for _, b := range set {
		ids = append(ids, b.ID())
	}
	// gone has no buttons, so no acts:1; only Next in the navigation.
	want := []string{"list_header", "list_counts", "inst:0", "acts:0", "inst:1", "inst:2", "acts:2", "list_nav"}
	if strings.Join(ids, ",") != strings.Join(want, ",") {
		t.Errorf("List block ids = %v, want %v", ids, want)
	}
	if got := set[0].(*slack.HeaderBlock).Text.Text; got != "Instances" {
		t.Errorf("List header = %q, want %q", got, "Instances")
	}
	counts := set[1].(*slack.ContextBlock).ContextElements.Elements[0].(*slack.TextBlockObject).Text
	if want := "3 instances · 🟢 1 running · 🔴 1 stopped · ⚫ 1 terminated · ❔ 2 alpha · ❔ 1 zeta"; counts != want {
		t.Errorf("List counts = %q, want %q", counts, want)
	}
	acts := set[3].(*slack.ActionBlock).Elements.ElementSet
	var kinds []string
	for _, el := range acts {
		btn := el.(*slack.ButtonBlockElement)
		kinds = append(kinds, btn.ActionID+"="+btn.Text.Text)
		switch btn.ActionID {
		case "act:stop:0", "act:reboot:0", "act:restart:0":
			if btn.Confirm == nil || btn.Confirm.Style != slack.StyleDanger || btn.Confirm.Deny.Text != "Cancel" {
				t.Errorf("%s confirm = %+v, want a danger confirm with Cancel", btn.ActionID, btn.Confirm)
			}
		default:
			if btn.Confirm != nil {
				t.Errorf("%s has a confirm, want none", btn.ActionID)
			}
		}
	}
	wantKinds := "act:status:0=Status,act:stop:0=Stop,act:reboot:0=Reboot,act:restart:0=Restart,act:terminate:0=Terminate"
	if strings.Join(kinds, ",") != wantKinds {
		t.Errorf("List buttons = %v, want %v", kinds, wantKinds)
	}
	stop := acts[1].(*slack.ButtonBlockElement).Confirm.Text.Text
	if want := "Stop web-1 (i-0abc1234def567890) in acme-prod, eu-west-1?"; stop != want {
		t.Errorf("stop confirm text = %q, want %q", stop, want)
	}
	if acts[4].(*slack.ButtonBlockElement).Style != slack.StyleDanger {
		t.Errorf("Terminate button style = %q, want danger", acts[4].(*slack.ButtonBlockElement).Style)
	}
}

func TestListButtonOrder(t *testing.T) {
	inst := web1
	inst.Buttons = []blocks.Button{
		{Kind: action.Terminate, Value: "t"}, {Kind: "explode", Value: "x"}, {Kind: action.Start, Value: "s1"},
		{Kind: action.Start, Value: "s2"}, {Kind: action.Status, Value: "st"},
		{Kind: action.Stop, Value: strings.Repeat("v", blocks.MaxButtonValue+1)},
	}
	msg := blocks.Card(inst, now, "")
	mustPassMessage(t, "Card", msg)
	var got []string
	for _, el := range msg.Blocks.BlockSet[1].(*slack.ActionBlock).Elements.ElementSet {
		b := el.(*slack.ButtonBlockElement)
		got = append(got, b.ActionID+"="+b.Value)
	}
	want := "act:status:0=st,act:start:0=s1,act:terminate:0=t"
	if strings.Join(got, ",") != want {
		t.Errorf("Card buttons = %v, want %v (canonical order, unknown, repeated and oversized left out)", got, want)
	}
}

func TestCardGolden(t *testing.T) {
	running := blocks.Card(web1, now, "Showing the instance you picked. Buttons act right away; Stop, Reboot and Restart ask first.")
	mustPassMessage(t, "Card(running)", running)
	mustMatchGolden(t, "card_running", running)

	stopped := blocks.Card(db1, now, "")
	mustPassMessage(t, "Card(stopped)", stopped)
	mustMatchGolden(t, "card_stopped", stopped)
}

func TestMatchesGolden(t *testing.T) {
	msg := blocks.Matches("web", []blocks.InstanceView{web1, db1, batch}, []string{"pick-a", "pick-b", "pick-c"})
	mustPassMessage(t, "Matches", msg)
	mustMatchGolden(t, "matches", msg)
}

func TestMatchesMany(t *testing.T) {
	choices := make([]blocks.InstanceView, 25)
	values := make([]string, 25)
	for i := range choices {
		choices[i] = web1
		values[i] = "v" + string(rune('a'+i))
	}
	msg := blocks.Matches("web", choices, values)
	mustPassMessage(t, "Matches", msg)
	set := msg.Blocks.BlockSet
	if n := len(set); n != 12 {
		t.Fatalf("Matches(25 choices) has %d blocks, want 12 (intro, 10 choices, more)", n)
	}
	more := set[11].(*slack.ContextBlock).ContextElements.Elements[0].(*slack.TextBlockObject).Text
	if want := "and 15 more — narrow the query"; more != want {
		t.Errorf("Matches more = %q, want %q", more, want)
	}
	btn := set[10].(*slack.SectionBlock).Accessory.ButtonElement
	if btn.ActionID != "pick:9" || btn.Value != "vj" || btn.Text.Text != "Choose" {
		t.Errorf("choice 9 button = %s %s %q, want pick:9 vj \"Choose\"", btn.ActionID, btn.Value, btn.Text.Text)
	}
}

func TestNoMatchGolden(t *testing.T) {
	msg := blocks.NoMatch("wbe-1", []string{"web-1", "web-2", "<!here>"})
	mustPassMessage(t, "NoMatch", msg)
	mustMatchGolden(t, "no_match", msg)

	bare := blocks.NoMatch("x", nil)
	mustPassMessage(t, "NoMatch", bare)
	if got := bare.Blocks.BlockSet[0].(*slack.SectionBlock).Text.Text; got != "No instance matches `x`." {
		t.Errorf("NoMatch(x, nil) = %q, want %q", got, "No instance matches `x`.")
	}
}

// An instance launched seconds ago reads "just now", not "0m ago".
func TestLaunchedAgo(t *testing.T) {
	for _, tt := range []struct {
		age  time.Duration
		want string
	}{
		{20 * time.Second, "launched just now"},
		{3 * time.Minute, "launched 3m ago"},
		{5 * time.Hour, "launched 5h ago"},
		{50 * time.Hour, "launched 2d ago"},
	} {
		inst := blocks.InstanceView{ID: "i-1", Name: "web-1", State: "running", LaunchTime: now.Add(-tt.age)}
		msg := blocks.List(blocks.ListView{Now: now, Instances: []blocks.InstanceView{inst}, Page: 1, Pages: 1, Total: 1})
		raw, _ := json.Marshal(msg)
		if !strings.Contains(string(raw), tt.want) || strings.Contains(string(raw), "0m ago") {
			t.Errorf("launched %s before: %s, want %q", tt.age, raw, tt.want)
		}
	}
}
