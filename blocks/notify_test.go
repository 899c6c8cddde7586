package blocks_test

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/slack-go/slack"

	"github.com/charlize-app/charlize/blocks"
	"github.com/charlize-app/charlize/ec2ops/action"
)

func TestStateChangeGolden(t *testing.T) {
	stopped := db1
	msg := blocks.StateChange(blocks.StateChangeView{Instance: stopped, State: "stopped", At: now})
	mustPassMessage(t, "StateChange", msg)
	mustMatchGolden(t, "notify_state_change", msg)
	if want := "db-1 (acme-prod, eu-west-1) is now stopped"; msg.Text != want {
		t.Errorf("StateChange.Text = %q, want %q", msg.Text, want)
	}
	if got := len(buttonsOf(msg)); got != len(db1.Buttons) {
		t.Errorf("StateChange has %d buttons, want the instance's %d", got, len(db1.Buttons))
	}
}

func TestChangeSummaryGolden(t *testing.T) {
	var changes []blocks.ChangeLine
	for i := range 6 {
		changes = append(changes, blocks.ChangeLine{ID: fmt.Sprintf("i-00000000000000%03d", i), Name: fmt.Sprintf("asg-%d", i), Region: "eu-west-1", State: "stopping"})
	}
	// Later changes of the same instances replace their earlier state.
	for i := range 4 {
		changes = append(changes, blocks.ChangeLine{ID: fmt.Sprintf("i-00000000000000%03d", i), Name: fmt.Sprintf("asg-%d", i), Region: "eu-west-1", State: "stopped"})
	}
	msg := blocks.ChangeSummary(blocks.ChangeSummaryView{Account: "acme-prod", Changes: changes, Since: now, ListCommand: "/charlize list account:acme-prod"})
	mustPassMessage(t, "ChangeSummary", msg)
	mustMatchGolden(t, "notify_summary", msg)
	if want := "⚡ 6 instances in acme-prod changed state"; msg.Text != want {
		t.Errorf("ChangeSummary.Text = %q, want %q", msg.Text, want)
	}
	if raw := messageJSON(t, msg); !strings.Contains(raw, "🔴 4 stopped") || !strings.Contains(raw, "🟡 2 stopping") {
		t.Errorf("ChangeSummary counts the latest states wrong: %s", raw)
	}
}

// However many changes, the summary stays within Block Kit's limits and
// says how many it could not list.
func TestChangeSummaryWithinLimits(t *testing.T) {
	for _, n := range []int{1, 200, 5000} {
		var changes []blocks.ChangeLine
		for i := range n {
			changes = append(changes, blocks.ChangeLine{ID: fmt.Sprintf("i-%017d", i), Name: strings.Repeat("n", 250) + fmt.Sprint(i), Region: "ap-southeast-2", State: "terminated"})
		}
		msg := blocks.ChangeSummary(blocks.ChangeSummaryView{Account: strings.Repeat("a", 64), Changes: changes, Since: now, ListCommand: "/charlize list"})
		mustPassMessage(t, fmt.Sprintf("ChangeSummary(%d)", n), msg)
		raw := messageJSON(t, msg)
		listed := strings.Count(raw, "⚫ *")
		if listed < n && !strings.Contains(raw, fmt.Sprintf("and %d more", n-listed)) {
			t.Errorf("ChangeSummary(%d) lists %d and does not say how many more", n, listed)
		}
	}
}

func TestAlarmGolden(t *testing.T) {
	inst := web1
	inst.Buttons = []blocks.Button{{Kind: action.Status, Value: "n5.0"}, {Kind: action.Reboot, Value: "n5.0"}}
	firing := blocks.AlarmView{
		Name: "web-1-cpu-high", Description: "CPU above 80% for 5 minutes", Account: "acme-prod", Region: "eu-west-1",
		State: "ALARM", Reason: "Threshold Crossed: 1 out of the last 1 datapoints [93.2] was greater than the threshold (80.0).",
		Metric: "AWS/EC2 CPUUtilization (Average)", Threshold: "80", Since: now, Instance: &inst, AckValue: "alarm-ref",
	}
	msg := blocks.Alarm(firing)
	mustPassMessage(t, "Alarm", msg)
	mustMatchGolden(t, "notify_alarm", msg)
	if got := buttonTexts(msg); strings.Join(got, ",") != "Status,Reboot,Acknowledge" {
		t.Errorf("Alarm buttons = %v, want Status, Reboot, Acknowledge", got)
	}

	acked := firing
	acked.AckedBy, acked.AckedAt = "U0BOB", now.Add(2*time.Minute)
	msg = blocks.Alarm(acked)
	mustPassMessage(t, "Alarm(acked)", msg)
	mustMatchGolden(t, "notify_alarm_acked", msg)
	if raw := messageJSON(t, msg); !strings.Contains(raw, "acknowledged by <@U0BOB>") {
		t.Errorf("acknowledged alarm does not say by whom: %s", raw)
	}
	if got := buttonTexts(msg); strings.Join(got, ",") != "Status,Reboot" {
		t.Errorf("acknowledged alarm buttons = %v, want Status, Reboot", got)
	}

	resolved := acked
	resolved.Resolved, resolved.ResolvedAfter, resolved.State = true, 12*time.Minute, "OK"
	msg = blocks.Alarm(resolved)
	mustPassMessage(t, "Alarm(resolved)", msg)
	mustMatchGolden(t, "notify_alarm_resolved", msg)
	if want := "web-1-cpu-high resolved after 12 min (acme-prod, eu-west-1)"; msg.Text != want {
		t.Errorf("resolved Alarm.Text = %q, want %q", msg.Text, want)
	}
	if got := buttonTexts(msg); len(got) != 0 {
		t.Errorf("resolved alarm buttons = %v, want none", got)
	}
}

func TestMaintenanceGolden(t *testing.T) {
	inst := db1
	inst.State = "running"
	inst.Buttons = buttonsFor("running", "n7")
	v := blocks.MaintenanceView{
		TypeCode: "AWS_EC2_INSTANCE_RETIREMENT_SCHEDULED", Account: "acme-prod", Region: "eu-west-1", Status: "upcoming",
		Start: now.Add(72 * time.Hour), End: now.Add(74 * time.Hour),
		Description: "EC2 has detected degradation of the underlying hardware hosting your Amazon EC2 instance.",
		Instances:   []blocks.InstanceView{inst},
	}
	msg := blocks.Maintenance(v)
	mustPassMessage(t, "Maintenance", msg)
	mustMatchGolden(t, "notify_maintenance", msg)
	if got := buttonTexts(msg); strings.Join(got, ",") != "Status,Stop & start now" {
		t.Errorf("Maintenance buttons = %v, want Status, Stop & start now", got)
	}
	if raw := messageJSON(t, msg); !strings.Contains(raw, fmt.Sprintf("<!date^%d^", v.Start.Unix())) {
		t.Errorf("Maintenance does not format the deadline with Slack's date: %s", raw)
	}
	for _, b := range buttonsOf(msg) {
		if b.Text.Text == "Stop & start now" && (b.ActionID != "act:restart:0" || b.Confirm == nil) {
			t.Errorf("Stop & start now = %+v, want the restart action with a confirmation", b)
		}
	}

	closed := v
	closed.Status = "closed"
	msg = blocks.Maintenance(closed)
	mustPassMessage(t, "Maintenance(closed)", msg)
	if len(buttonsOf(msg)) != 0 || !strings.Contains(msg.Blocks.BlockSet[0].(*slack.SectionBlock).Text.Text, "is over") {
		t.Errorf("closed Maintenance = %s, want it over, without buttons", messageJSON(t, msg))
	}

	many := v
	many.Instances = nil
	for i := range 30 {
		in := inst
		in.ID, in.Name = fmt.Sprintf("i-%017d", i), fmt.Sprintf("db-%d", i)
		many.Instances = append(many.Instances, in)
	}
	mustPassMessage(t, "Maintenance(30 instances)", blocks.Maintenance(many))
}

func buttonsOf(msg slack.WebhookMessage) []*slack.ButtonBlockElement {
	var out []*slack.ButtonBlockElement
	for _, b := range msg.Blocks.BlockSet {
		if ab, ok := b.(*slack.ActionBlock); ok {
			for _, el := range ab.Elements.ElementSet {
				if btn, ok := el.(*slack.ButtonBlockElement); ok {
					out = append(out, btn)
				}
			}
		}
	}
	return out
}

func buttonTexts(msg slack.WebhookMessage) []string {
	var out []string
	for _, b := range buttonsOf(msg) {
		out = append(out, b.Text.Text)
	}
	return out
}
