package blocks_test

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/charlize-app/charlize/blocks"
	"github.com/charlize-app/charlize/ec2ops/action"
)

var stopAt = time.Date(2026, 6, 1, 17, 0, 0, 0, time.UTC) // 19:00 in Warsaw

func occurrenceInst(n int, name string) blocks.InstanceView {
	return blocks.InstanceView{ID: fmt.Sprintf("i-0000000000000a%03d", n), Name: name, State: "running", Account: "acme-dev", Region: "eu-west-1"}
}

func TestSchedulesGolden(t *testing.T) {
	msg := blocks.Schedules(blocks.SchedulesView{Command: "/charlize", NewValue: "new", Schedules: []blocks.ScheduleLine{
		{Name: "office-hours", Periods: "mon-fri 08:00-19:00", Zone: "Europe/Warsaw", Instances: 3, Next: stopAt, NextDoes: action.Stop},
		{Name: "nightly", Periods: "daily -22:00", Zone: "UTC", Instances: 1, Next: stopAt.Add(3 * time.Hour), NextDoes: action.Stop, ReadOnly: true},
		{Name: "mornings", Periods: "mon-fri 07:00-", Zone: "America/New_York", Instances: -1},
	}})
	mustPassMessage(t, "schedules", msg)
	mustMatchGolden(t, "schedules", msg)
	text := messageJSON(t, msg)
	for _, want := range []string{"<!date^1780333200^", "3 instances", "from the schedules file", `"action_id":"schedule_new"`} {
		if !strings.Contains(text, want) {
			t.Errorf("schedules list lacks %q:\n%s", want, text)
		}
	}
	empty := blocks.Schedules(blocks.SchedulesView{Command: "/charlize"})
	mustPassMessage(t, "schedules_empty", empty)
	mustMatchGolden(t, "schedules_empty", empty)
}

func TestScheduleWarningGolden(t *testing.T) {
	v := blocks.OccurrenceView{Schedule: "office-hours", Action: action.Stop, At: stopAt, Account: "acme-dev", Warning: true, Items: []blocks.OccurrenceItem{
		{Instance: occurrenceInst(1, "web-1"), Outcome: blocks.OutcomeDue, Value: "8b1c0f4e-0000-5000-8000-000000000001.0"},
		{Instance: occurrenceInst(2, "web-2"), Outcome: blocks.OutcomeSnoozed, By: "U0ALICE", Until: stopAt.Add(time.Hour), Value: "8b1c0f4e-0000-5000-8000-000000000001.1"},
		{Instance: occurrenceInst(3, ""), Outcome: blocks.OutcomeSkipped, By: "U0BOB"},
	}}
	msg := blocks.Occurrence(v)
	mustPassMessage(t, "schedule_warning", msg)
	mustMatchGolden(t, "schedule_warning", msg)
	text := messageJSON(t, msg)
	for _, want := range []string{"snooze:1h:0", "snooze:4h:1", "snooze:skip:0", "Skip tonight", "snoozed by <@U0ALICE> until <!date^1780336800^", "skipped this time by <@U0BOB>"} {
		if !strings.Contains(text, want) {
			t.Errorf("warning lacks %q:\n%s", want, text)
		}
	}
	if strings.Contains(text, "snooze:1h:2") {
		t.Errorf("a skipped instance kept its buttons:\n%s", text)
	}
}

func TestScheduleResultGolden(t *testing.T) {
	v := blocks.OccurrenceView{Schedule: "office-hours", Action: action.Stop, At: stopAt, Account: "acme-dev", Late: 12 * time.Minute, Items: []blocks.OccurrenceItem{
		{Instance: occurrenceInst(1, "web-1"), Outcome: blocks.OutcomeDone},
		{Instance: occurrenceInst(2, "web-2"), Outcome: blocks.OutcomeSnoozed, By: "U0ALICE", Until: stopAt.Add(time.Hour)},
		{Instance: occurrenceInst(3, "db-<1>"), Outcome: blocks.OutcomeFailed, Message: "the role lacks ec2:StopInstances in acme-dev"},
		{Instance: occurrenceInst(4, "web-4"), Outcome: blocks.OutcomeActing},
	}}
	msg := blocks.Occurrence(v)
	mustPassMessage(t, "schedule_result", msg)
	mustMatchGolden(t, "schedule_result", msg)
	text := messageJSON(t, msg)
	for _, want := range []string{"✅ stopped", "❌ not stopped: the role lacks ec2:StopInstances", "db-&lt;1&gt;", "Late by 12 min", "stopping…"} {
		if !strings.Contains(text, want) {
			t.Errorf("result lacks %q:\n%s", want, text)
		}
	}
	if strings.Contains(text, "snooze:") {
		t.Errorf("a result kept snooze buttons:\n%s", text)
	}
	missed := blocks.Occurrence(blocks.OccurrenceView{Schedule: "office-hours", Action: action.Stop, At: stopAt, Account: "acme-dev",
		Grace: 30 * time.Minute, Items: []blocks.OccurrenceItem{{Instance: occurrenceInst(1, "web-1"), Outcome: blocks.OutcomeMissed}}})
	mustPassMessage(t, "schedule_missed", missed)
	mustMatchGolden(t, "schedule_missed", missed)
	deleted := blocks.Occurrence(blocks.OccurrenceView{Schedule: "office-hours", Action: action.Stop, At: stopAt, Account: "acme-dev", DeletedBy: "U0ALICE",
		Items: []blocks.OccurrenceItem{{Instance: occurrenceInst(1, "web-1"), Outcome: blocks.OutcomeSkipped, By: "U0ALICE"}}})
	mustPassMessage(t, "schedule_deleted", deleted)
	mustMatchGolden(t, "schedule_deleted", deleted)
	if text := messageJSON(t, deleted); !strings.Contains(text, "was deleted by <@U0ALICE> before its time") || strings.Contains(text, "snooze:") {
		t.Errorf("a deleted schedule's warning = %s", text)
	}
	started := blocks.Occurrence(blocks.OccurrenceView{Schedule: "office-hours", Action: action.Start, At: stopAt, Account: "acme-dev",
		Items: []blocks.OccurrenceItem{{Instance: occurrenceInst(1, "web-1"), Outcome: blocks.OutcomeDone}}})
	if text := messageJSON(t, started); !strings.Contains(text, "started 1 of 1 instance") {
		t.Errorf("start result = %s", text)
	}
}

// A warning about many instances stays within Block Kit's limits: buttons
// on the first ScheduleWarnButtons, the others listed.
func TestScheduleWarningManyInstancesWithinLimits(t *testing.T) {
	for _, n := range []int{0, 1, 21, 60, 500} {
		v := blocks.OccurrenceView{Schedule: strings.Repeat("s", 40), Action: action.Stop, At: stopAt, Account: strings.Repeat("a", 64), Warning: true,
			Failures: []string{strings.Repeat("x", 5000)}}
		for i := range n {
			inst := occurrenceInst(i, strings.Repeat("n", 256))
			v.Items = append(v.Items, blocks.OccurrenceItem{Instance: inst, Outcome: blocks.OutcomeDue, Value: fmt.Sprintf("8b1c0f4e-0000-5000-8000-000000000001.%d", i)})
		}
		msg := blocks.Occurrence(v)
		mustPassMessage(t, fmt.Sprintf("warning of %d", n), msg)
		v.Warning = false
		for i := range v.Items {
			v.Items[i].Outcome, v.Items[i].Message = blocks.OutcomeFailed, strings.Repeat("m", 3000)
		}
		mustPassMessage(t, fmt.Sprintf("result of %d", n), blocks.Occurrence(v))
	}
	var many []blocks.ScheduleLine
	for i := range 300 {
		many = append(many, blocks.ScheduleLine{Name: fmt.Sprintf("schedule-%d", i), Periods: "mon-fri 08:00-19:00", Zone: "Europe/Warsaw", Instances: i})
	}
	mustPassMessage(t, "300 schedules", blocks.Schedules(blocks.SchedulesView{Command: "/charlize", Schedules: many, NewValue: "new"}))
}

func TestScheduleModalGolden(t *testing.T) {
	m := blocks.ScheduleModal(blocks.ScheduleModalView{Zone: "Europe/Warsaw"})
	mustPassModal(t, "schedule_modal", m)
	mustMatchGolden(t, "schedule_modal", m)
}

func messageJSON(t *testing.T, v any) string {
	t.Helper()
	var b strings.Builder
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		t.Fatal(err)
	}
	// slack-go's own marshalers escape <, > and & whatever the encoder says.
	return strings.NewReplacer(`\u003c`, "<", `\u003e`, ">", `\u0026`, "&").Replace(b.String())
}
