package blocks_test

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/slack-go/slack"

	"github.com/charlize-app/charlize/blocks"
	"github.com/charlize-app/charlize/ec2ops/action"
)

// guard is a running instance with stop protection: the flow offers no
// Stop or Restart, and a dry run refused Reboot.
var guard = blocks.InstanceView{
	ID: "i-0aaa1111bbb222333", Name: "guard-1", State: "running", Type: "m6i.large",
	Account: "acme-prod", Region: "eu-west-1", AZ: "eu-west-1c",
	PrivateIP: "10.0.3.4", PublicIP: "34.240.9.9", PublicDNS: "ec2-34-240-9-9.eu-west-1.compute.amazonaws.com",
	LaunchTime:           now.Add(-26 * time.Hour),
	TerminationProtected: ptr(true), StopProtected: ptr(true),
	Tags:    []blocks.Tag{{Key: "env", Value: "prod"}, {Key: "owner", Value: "<@U0ALICE>"}, {Key: "team", Value: "payments & risk"}},
	Buttons: []blocks.Button{{Kind: action.Status, Value: "n9.0"}, {Kind: action.Terminate, Value: "n9.0"}},
}

func TestInstanceCardGolden(t *testing.T) {
	base := blocks.CardView{
		Instance: guard, Now: now, ConsoleValue: "n9.0",
		Notices: []string{"Reboot is not offered: the role arn:aws:iam::111111111111:role/charlize lacks ec2:RebootInstances in acme-prod (eu-west-1)"},
	}
	for _, tt := range []struct {
		name  string
		graph blocks.GraphView
	}{
		{"card_graph_pending", blocks.GraphView{Pending: true}},
		{"card_graph", blocks.GraphView{FileID: "F0123456789", Title: "CPU, last 3 h (UTC)", AltText: "CPU utilisation of guard-1 over the last 3 hours: average 41%, peak 78%"}},
		{"card_graph_missing", blocks.GraphView{Missing: "No CPU graph: CloudWatch has no data for guard-1 in the last 3 h."}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			c := base
			c.Graph = tt.graph
			msg := blocks.InstanceCard(c)
			mustPassMessage(t, tt.name, msg)
			mustMatchGolden(t, tt.name, msg)
		})
	}
}

func TestInstanceCardParts(t *testing.T) {
	msg := blocks.InstanceCard(blocks.CardView{
		Instance: guard, Now: now, ConsoleValue: "n9.0", Schedule: "stops weekdays at 19:00 Europe/Paris",
		Graph: blocks.GraphView{FileID: "F0123456789", AltText: "CPU of guard-1"},
	})
	mustPassMessage(t, "InstanceCard", msg)
	raw, _ := json.Marshal(msg)
	text := string(raw)
	for _, want := range []string{
		`"text":"*Stop protection*\non"`, `"text":"*Termination protection*\non"`,
		`34.240.9.9\nec2-34-240-9-9.eu-west-1.compute.amazonaws.com`,
		"owner `\\u0026lt;@U0ALICE\\u0026gt;`", `payments \u0026amp; risk`, // escaped: no mention, no markup
		`"block_id":"card_schedule"`, "stops weekdays at 19:00 Europe/Paris",
		`"slack_file":{"id":"F0123456789"}`, `"action_id":"console:0"`, `"text":"Console output"`,
	} {
		if !strings.Contains(text, want) {
			t.Errorf("card lacks %s:\n%s", want, text)
		}
	}
	for _, absent := range []string{`act:stop`, `act:restart`} {
		if strings.Contains(text, absent) {
			t.Errorf("card offers %s, which its buttons did not ask for", absent)
		}
	}
	// The graph sits above the buttons, the schedule above the graph.
	var order []string
	for _, b := range msg.Blocks.BlockSet {
		switch b := b.(type) {
		case *slack.ImageBlock:
			order = append(order, b.BlockID)
		case *slack.ContextBlock:
			order = append(order, b.BlockID)
		case *slack.ActionBlock:
			order = append(order, b.BlockID)
		}
	}
	if got := strings.Join(order, ","); got != "card_tags,card_schedule,card_graph,acts:0" {
		t.Errorf("card parts in order %s", got)
	}

	// Without a graph, schedule, tags or console button there is nothing
	// but the instance and its buttons.
	bare := blocks.InstanceCard(blocks.CardView{Instance: web1, Now: now})
	if n := len(bare.Blocks.BlockSet); n != 2 {
		t.Errorf("bare card has %d blocks, want 2", n)
	}
}

func TestConsoleModalGolden(t *testing.T) {
	captured := now.Add(-3 * time.Minute)
	boot := []string{
		"[    0.000000] Linux version 6.1.102-111.182.amzn2023.x86_64",
		"[    1.204511] EXT4-fs (nvme0n1p1): mounted filesystem <with> ordered data & journal",
		"",
		"Amazon Linux 2023",
		"guard-1 login: ```rm -rf```",
	}
	for _, tt := range []struct {
		name string
		v    blocks.ConsoleView
	}{
		{"console_loading", blocks.ConsoleView{Instance: guard, Loading: true}},
		{"console", blocks.ConsoleView{Instance: guard, Lines: boot, Captured: captured}},
		{"console_empty", blocks.ConsoleView{Instance: guard, Captured: captured}},
		{"console_error", blocks.ConsoleView{Instance: guard, ErrorText: blocks.Say("the role %s lacks ec2:GetConsoleOutput in %s (%s)", "arn:aws:iam::111111111111:role/charlize", "acme-prod", "eu-west-1")}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			m := blocks.ConsoleModal(tt.v)
			mustPassModal(t, tt.name, m)
			mustMatchGolden(t, tt.name, m)
		})
	}
}

func TestConsoleModalLong(t *testing.T) {
	var lines []string
	for i := range 5000 {
		lines = append(lines, fmt.Sprintf("[%8d.000000] line %d %s", i, i, strings.Repeat("x", i%400)))
	}
	m := blocks.ConsoleModal(blocks.ConsoleView{Instance: guard, Lines: lines, Captured: now})
	mustPassModal(t, "ConsoleModal(long)", m)
	raw, _ := json.Marshal(m)
	text := string(raw)
	if !strings.Contains(text, "line 4999 ") {
		t.Error("the newest line is not shown")
	}
	if strings.Contains(text, "line 0 ") {
		t.Error("the oldest line is shown though 5000 lines cannot fit")
	}
	if !strings.Contains(text, " of 5000 lines") {
		t.Error("the modal does not say it shows only the last lines")
	}
	// Newest at the bottom: the last output block ends with the last line.
	set := m.Blocks.BlockSet
	last := set[len(set)-1].(*slack.SectionBlock).Text.Text
	if i := strings.LastIndex(last, "\n"); !strings.Contains(last[i+1:], "line 4999 ") {
		t.Errorf("the last block does not end with the newest line: …%s", last[max(0, len(last)-200):])
	}
	sections := 0
	for _, b := range set {
		if s, ok := b.(*slack.SectionBlock); ok && strings.HasPrefix(s.BlockID, "console_output_") {
			sections++
		}
	}
	if sections < 1 || sections > 4 {
		t.Errorf("%d output sections, want 1 to 4", sections)
	}
}

func TestConsoleModalHostile(t *testing.T) {
	m := blocks.ConsoleModal(blocks.ConsoleView{Instance: guard, Lines: []string{"<!channel> <@U1> &amp; ``` `", strings.Repeat("&", 3000)}})
	mustPassModal(t, "ConsoleModal(hostile)", m)
	raw, _ := json.Marshal(m)
	text := string(raw)
	if strings.Contains(text, "<!channel>") || strings.Contains(text, "<@U1>") {
		t.Errorf("console output is not escaped: %s", text)
	}
	if strings.Count(text, "```") != 2 { // one fenced block, nothing else
		t.Errorf("console output breaks its code fences: %s", text)
	}
}
