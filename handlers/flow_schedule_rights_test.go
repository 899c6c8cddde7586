package handlers_test

import (
	"strings"
	"testing"
	"time"

	"github.com/jonboulle/clockwork"
	"github.com/slack-go/slack"

	"github.com/charlize-app/charlize/ec2ops"
	"github.com/charlize-app/charlize/ec2ops/action"
	"github.com/charlize-app/charlize/store"
)

// officeHoursOnWeb1 creates office-hours and attaches web-1 (acme-prod) to
// it, as alice, and returns once the warning before the stop is posted.
func officeHoursOnWeb1(t *testing.T, w *world, clock *clockwork.FakeClock) (ts string, warning []button) {
	t.Helper()
	w.mustCommandSays(alice, officeHours, "Schedule *office-hours* created")
	w.mustCommandSays(alice, "schedule web-1 office-hours", "web-1 now follows *office-hours*")
	advanceTo(t, clock, 1, stopUTC.Add(-15*time.Minute))
	ts, bs := w.occurrenceMessage("acme-prod")
	return ts, []button{snoozeButton(t, bs, "web-1", "Snooze 1h")}
}

// snoozedUntilItsWarning has bob snooze web-1's office-hours stop for an
// hour and returns the snooze's own warning, posted 15 minutes before it
// ends.
func snoozedUntilItsWarning(t *testing.T, w *world, clock *clockwork.FakeClock) (ts string, warning []slack.Block) {
	t.Helper()
	first, buttons := officeHoursOnWeb1(t, w, clock)
	w.clickFrom(bob, buttons[0], "snooze-web-1", clickFrom{messageTS: first})
	w.waitForEdit(first, "snoozed by <@U0BOB>")
	advanceTo(t, clock, 1, stopUTC)
	w.waitForEdit(first, "stopped 0 of 1 instance")
	advanceTo(t, clock, 1, stopUTC.Add(45*time.Minute))
	return w.occurrenceMessage("The snooze of *web-1* ends")
}

// Defect: a snooze outlived its schedule's deletion and, when it ended,
// warned and stopped the instance, which the deletion had said would be
// left alone.
func TestSnoozeOfADeletedScheduleStopsNothing(t *testing.T) {
	clock := clockwork.NewFakeClockAt(scheduleStart)
	w := newWorld(t, worldOptions{clock: clock, scheduleChannel: channel})
	ts, warning := officeHoursOnWeb1(t, w, clock)
	w.clickFrom(bob, warning[0], "snooze-web-1", clickFrom{messageTS: ts})
	w.waitForEdit(ts, "snoozed by <@U0BOB>")
	w.mustCommandSays(alice, "schedule delete office-hours", "Schedule *office-hours* deleted")
	advanceTo(t, clock, 1, stopUTC)
	advanceTo(t, clock, 1, stopUTC.Add(45*time.Minute)) // the snooze's warning would be posted now
	advanceTo(t, clock, 1, stopUTC.Add(time.Hour))      // and its stop made
	for _, c := range w.slack.Calls("chat.postMessage") {
		if strings.Contains(c.Form.Get("text"), "The snooze of") {
			t.Errorf("a snooze of the deleted schedule warned: %s", c.Form.Get("text"))
		}
	}
	if got := stops(w.sim, "StopInstances"); len(got) != 0 {
		t.Errorf("StopInstances = %v after the schedule was deleted, want none", got)
	}
	if got := w.state("acme-prod", "eu-west-1", "i-0000000000000a001"); got != ec2ops.StateRunning {
		t.Errorf("web-1 is %s, want running (left alone)", got)
	}
}

// Defect: when an account is shared with another workspace than the one
// that created the schedule, its warning goes there, and every Snooze
// pressed there was refused as another workspace's button.
func TestSnoozeInTheWorkspaceTheWarningWentTo(t *testing.T) {
	const t2 = "T0002"
	clock := clockwork.NewFakeClockAt(scheduleStart)
	w := newWorld(t, worldOptions{clock: clock, scheduleChannel: channel, workspaces: map[string][]string{"acme-prod": {t2}}})
	w.mustCommandSays(alice, officeHours, "Schedule *office-hours* created")
	w.commandIn(t2, alice, channel, "schedule web-1 office-hours", "tag-t2")
	w.waitForURLText("tag-t2", "web-1 now follows *office-hours*", waitResult)
	advanceTo(t, clock, 1, stopUTC.Add(-15*time.Minute))
	ts, bs := w.occurrenceMessage("acme-prod")
	w.clickFrom(bob, snoozeButton(t, bs, "web-1", "Snooze 1h"), "snooze-t2", clickFrom{team: t2, messageTS: ts})
	w.waitForEdit(ts, "snoozed by <@U0BOB>")
	if !auditHas(mustAudit(t, w.store), func(e store.AuditEntry) bool {
		return e.Action == action.Snooze && e.UserID == bob && e.Result == store.ResultDone
	}) {
		t.Errorf("bob's snooze in %s, where the warning was posted, was not audited as done", t2)
	}
	// A workspace the account is not shared with may not.
	w.clickFrom(bob, snoozeButton(t, bs, "web-1", "Snooze 1h"), "snooze-t1", clickFrom{messageTS: ts})
	w.waitForURLText("snooze-t1", "another workspace", waitResult)
}

// Defect: anyone allowed to schedule in one account could delete any
// schedule, ending its stops in accounts they may not schedule.
func TestDeletingAScheduleNeedsScheduleEverywhere(t *testing.T) {
	clock := clockwork.NewFakeClockAt(scheduleStart)
	w := newWorld(t, worldOptions{clock: clock, scheduleChannel: channel, policy: `rules:
  - name: alice-all
    who: {users: [U0ALICE]}
    actions: [list, status, start, stop, schedule]
  - name: bob-dev
    who: {users: [U0BOB]}
    accounts: [acme-dev]
    actions: [list, status, schedule]
`})
	w.mustCommandSays(alice, officeHours, "Schedule *office-hours* created")
	_, ack := w.command(bob, "schedule delete office-hours", "bob-delete")
	if got := messageText(ack); !strings.Contains(got, "You can't delete schedule office-hours") || !strings.Contains(got, "no rule grants schedule on acme-prod to you") {
		t.Errorf("bob, who may schedule only in acme-dev, deleting office-hours was told %s", got)
	}
	w.waitAudit("the refused delete", entry(bob, "schedule", "refused", "refused"))
	w.mustCommandSays(alice, "schedules", "office-hours")
	w.mustCommandSays(alice, "schedule delete office-hours", "Schedule *office-hours* deleted")
}

// Defect: a schedule deleted between its warning and its stop left the
// warning up for good, saying it would stop the instance, with live Snooze
// buttons. The warning says the instance is left alone, without buttons.
func TestDeletedSchedulesWarningEnds(t *testing.T) {
	clock := clockwork.NewFakeClockAt(scheduleStart)
	w := newWorld(t, worldOptions{clock: clock, scheduleChannel: channel})
	ts, _ := officeHoursOnWeb1(t, w, clock)
	w.mustCommandSays(alice, "schedule delete office-hours", "Schedule *office-hours* deleted")
	last := w.waitForEdit(ts, "was deleted by <@U0ALICE> before its time", "it will not stop 1 instance", "skipped this time by <@U0ALICE>")
	if strings.Contains(last, "will stop") || strings.Contains(last, "snooze:") {
		t.Errorf("the deleted schedule's warning still says it will stop, or has buttons:\n%s", last)
	}
	advanceTo(t, clock, 1, stopUTC)
	if got := stops(w.sim, "StopInstances"); len(got) != 0 {
		t.Errorf("StopInstances = %v after the schedule was deleted, want none", got)
	}
}

// Defect: Skip pressed on a snooze's own warning replaced the snooze, so
// the stop that warning announced was never carried out as skipped: the
// warning stayed up saying it would stop, and the skip was not audited.
func TestSkipOnASnoozesWarningSettlesIt(t *testing.T) {
	clock := clockwork.NewFakeClockAt(scheduleStart)
	w := newWorld(t, worldOptions{clock: clock, scheduleChannel: channel})
	snTS, snBS := snoozedUntilItsWarning(t, w, clock)
	w.clickFrom(bob, snoozeButton(t, snBS, "web-1", "Skip tonight"), "skip-web-1", clickFrom{messageTS: snTS})
	w.waitForEdit(snTS, "skipped this time by <@U0BOB>")
	advanceTo(t, clock, 1, stopUTC.Add(time.Hour))
	last := w.waitForEdit(snTS, "stopped 0 of 1 instance", "skipped this time by <@U0BOB>")
	if strings.Contains(last, "The snooze of") || strings.Contains(last, "snooze:") {
		t.Errorf("an hour after the snooze's stop time its warning is still live:\n%s", last)
	}
	if got := w.state("acme-prod", "eu-west-1", "i-0000000000000a001"); got != ec2ops.StateRunning {
		t.Errorf("web-1 is %s, want running (skipped)", got)
	}
	n := w.auditCount(func(e store.AuditEntry) bool {
		return e.InstanceName == "web-1" && e.Action == action.Stop && e.UserID == "charlize scheduler" && e.Result == store.ResultSkipped
	})
	if n != 2 {
		t.Errorf("%d audited skipped scheduled stops of web-1, want 2 (the snoozed one, the skipped snooze stop)", n)
	}
}

// A schedule deleted after a snooze's own warning was posted ends that
// warning too: the snoozed instance is left alone, and its message says
// so, without buttons.
func TestDeletedSchedulesSnoozeWarningEnds(t *testing.T) {
	clock := clockwork.NewFakeClockAt(scheduleStart)
	w := newWorld(t, worldOptions{clock: clock, scheduleChannel: channel})
	snTS, _ := snoozedUntilItsWarning(t, w, clock)
	w.mustCommandSays(alice, "schedule delete office-hours", "Schedule *office-hours* deleted")
	last := w.waitForEdit(snTS, "was deleted by <@U0ALICE> before its time")
	if strings.Contains(last, "snooze:") {
		t.Errorf("the snooze's warning kept its buttons:\n%s", last)
	}
	advanceTo(t, clock, 1, stopUTC.Add(time.Hour))
	if got := stops(w.sim, "StopInstances"); len(got) != 0 {
		t.Errorf("StopInstances = %v after the schedule was deleted, want none", got)
	}
}
