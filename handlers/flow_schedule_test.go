package handlers_test

import (
	"context"
	"encoding/json"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/jonboulle/clockwork"
	"github.com/slack-go/slack"

	"github.com/charlize-app/charlize/ec2ops"
	"github.com/charlize-app/charlize/ec2ops/action"
	"github.com/charlize-app/charlize/ec2ops/ec2sim"
	"github.com/charlize-app/charlize/handlers/slacktest"
	"github.com/charlize-app/charlize/store"
)

// The schedule tests run the scheduler on a fake clock: Monday 1 June
// 2026, 18:30 in Warsaw (16:30 UTC). office-hours stops at 19:00 Warsaw
// (17:00 UTC) and warns 15 minutes before.
var (
	scheduleStart = time.Date(2026, 6, 1, 16, 30, 0, 0, time.UTC)
	stopUTC       = time.Date(2026, 6, 1, 17, 0, 0, 0, time.UTC)
)

const officeHours = "schedule new office-hours mon-fri 08:00-19:00 Europe/Warsaw"

// advanceTo moves the scheduler's clock to at and returns once each of the
// n schedulers sharing it has ticked there and sleeps again.
func advanceTo(t *testing.T, clock *clockwork.FakeClock, n int, at time.Time) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := clock.BlockUntilContext(ctx, n); err != nil {
		t.Fatalf("schedulers not waiting before %s: %v", at, err)
	}
	clock.Advance(at.Sub(clock.Now()))
	if err := clock.BlockUntilContext(ctx, n); err != nil {
		t.Fatalf("schedulers did not tick at %s: %v", at, err)
	}
}

// mustCommandSays runs a command and waits for its answer to contain want
// (in the ack or through the response_url).
func (w *world) mustCommandSays(user, text, want string) {
	w.t.Helper()
	id := "cmd-" + strings.ReplaceAll(text, " ", "_")
	_, ack := w.command(user, text, id)
	if strings.Contains(messageText(ack), want) {
		return
	}
	if !strings.Contains(messageText(ack), "Looking up") {
		w.t.Fatalf("%s: ack %s, want %q", text, messageText(ack), want)
	}
	w.waitForText(slacktest.MethodResponseURL, want, 10*time.Second)
}

// occurrenceMessage is the latest content of the channel message whose
// first post contained want: its ts and blocks after every edit so far.
func (w *world) occurrenceMessage(want string) (string, []slack.Block) {
	w.t.Helper()
	post := w.waitForText("chat.postMessage", want, 10*time.Second)
	blocks := post.Blocks
	for _, c := range w.slack.Calls("chat.update") {
		if c.Form.Get("ts") == post.TS {
			blocks = c.Blocks
		}
	}
	return post.TS, blocks
}

// waitForEdit waits until the message ts is edited to contain all of want.
func (w *world) waitForEdit(ts string, want ...string) string {
	w.t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		var last string
		for _, c := range w.slack.Calls("chat.update") {
			if c.Form.Get("ts") != ts {
				continue
			}
			last = blocksText(c.Blocks)
		}
		ok := last != ""
		for _, s := range want {
			ok = ok && strings.Contains(last, s)
		}
		if ok {
			return last
		}
		if time.Now().After(deadline) {
			w.t.Fatalf("message %s never said %q; last edit:\n%s", ts, want, last)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func blocksText(bs []slack.Block) string {
	raw, _ := json.Marshal(bs)
	return strings.NewReplacer(`\u003c`, "<", `\u003e`, ">", `\u0026`, "&").Replace(string(raw))
}

// snoozeButton finds the button with text on the line of instance name.
func snoozeButton(t *testing.T, bs []slack.Block, name, text string) button {
	t.Helper()
	for i, b := range bs {
		sec, ok := b.(*slack.SectionBlock)
		if !ok || sec.Text == nil || !strings.Contains(sec.Text.Text, "*"+name+"*") || i+1 >= len(bs) {
			continue
		}
		for _, btn := range buttons(bs[i+1 : i+2]) {
			if btn.text == text {
				return btn
			}
		}
	}
	t.Fatalf("no %q button for %s in %s", text, name, blocksText(bs))
	return button{}
}

func (w *world) state(account, region, id string) string {
	w.t.Helper()
	d, err := w.fleet.Describe(context.Background(), account, region, id)
	if err != nil {
		w.t.Fatal(err)
	}
	return d.State
}

// stops lists the instances StopInstances was sent for, with the session.
func stops(sim *ec2sim.Sim, call string) []string {
	var out []string
	for _, c := range sim.CallLog() {
		if c.Action == call {
			out = append(out, strings.Join(c.InstanceIDs, ",")+"@"+c.SessionName)
		}
	}
	return out
}

func mustAudit(t *testing.T, st store.Store) []store.AuditEntry {
	t.Helper()
	es, err := st.RecentAudit(context.Background(), 100)
	if err != nil {
		t.Fatal(err)
	}
	return es
}

// auditHas reports whether some entry matches all of the given fields.
func auditHas(es []store.AuditEntry, match func(store.AuditEntry) bool) bool {
	return slices.ContainsFunc(es, match)
}

// A mon-fri schedule warns before its stop in each account's channel; a
// Snooze 1h keeps one instance up, a Skip another; the rest stop at the
// minute, under the schedule's own role session; the snoozed one gets its
// own warning and stop when the snooze ends; every step is audited.
func TestScheduleWarnSnoozeSkipStop(t *testing.T) {
	clock := clockwork.NewFakeClockAt(scheduleStart)
	w := newWorld(t, worldOptions{clock: clock, scheduleChannel: channel})
	w.mustCommandSays(alice, officeHours, "Schedule *office-hours* created")
	for _, name := range []string{"web-1", "web-2", "old-1", "dev-1"} {
		w.mustCommandSays(alice, "schedule "+name+" office-hours", name+" now follows *office-hours*")
	}

	advanceTo(t, clock, 1, stopUTC.Add(-15*time.Minute))
	prodTS, prod := w.occurrenceMessage("acme-prod")
	devTS, dev := w.occurrenceMessage("acme-dev")
	if text := blocksText(prod); !strings.Contains(text, "will stop 2 instances in acme-prod") || strings.Contains(text, "old-1") {
		t.Errorf("acme-prod warning = %s, want web-1 and web-2 (old-1 is stopped)", text)
	}
	if n := len(w.slack.Calls("chat.postMessage")); n != 2 {
		t.Errorf("%d messages posted at the warning, want one per account (2)", n)
	}
	if got := w.clickFrom(bob, snoozeButton(t, prod, "web-2", "Snooze 1h"), "snooze-web-2", clickFrom{messageTS: prodTS}); got.status != 200 {
		t.Fatalf("Snooze = %d", got.status)
	}
	w.waitForEdit(prodTS, "snoozed by <@U0BOB> until <!date^"+itoa(stopUTC.Add(time.Hour).Unix()))
	w.clickFrom(alice, snoozeButton(t, dev, "dev-1", "Skip tonight"), "skip-dev-1", clickFrom{messageTS: devTS})
	w.waitForEdit(devTS, "skipped this time by <@U0ALICE>")

	advanceTo(t, clock, 1, stopUTC)
	text := w.waitForEdit(prodTS, "Schedule *office-hours* stopped 1 of 2 instances in acme-prod", "web-1", "✅ stopped", "snoozed by <@U0BOB>")
	if strings.Contains(text, "snooze:") {
		t.Errorf("result kept snooze buttons: %s", text)
	}
	w.waitForEdit(devTS, "stopped 0 of 1 instance", "skipped this time by <@U0ALICE>")
	if got := w.state("acme-prod", "eu-west-1", "i-0000000000000a001"); got != ec2ops.StateStopped {
		t.Errorf("web-1 is %s after the stop, want stopped", got)
	}
	for name, id := range map[string]string{"web-2": "i-0000000000000a002", "dev-1": "i-0000000000000c001"} {
		region := "eu-west-1"
		acct := "acme-prod"
		if name == "dev-1" {
			region, acct = "us-east-1", "acme-dev"
		}
		if got := w.state(acct, region, id); got != ec2ops.StateRunning {
			t.Errorf("%s is %s after the stop, want running (snoozed or skipped)", name, got)
		}
	}
	if got, want := stops(w.sim, "StopInstances"), []string{"i-0000000000000a001@charlize-schedule-office-hours"}; !slices.Equal(got, want) {
		t.Errorf("StopInstances = %v, want %v", got, want)
	}

	// The snooze ends at 18:00 UTC: its own warning 15 minutes before, then the stop.
	advanceTo(t, clock, 1, stopUTC.Add(45*time.Minute))
	snoozeTS, _ := w.occurrenceMessage("The snooze of *web-2* ends")
	advanceTo(t, clock, 1, stopUTC.Add(time.Hour))
	w.waitForEdit(snoozeTS, "stopped 1 of 1 instance", "web-2")
	if got := w.state("acme-prod", "eu-west-1", "i-0000000000000a002"); got != ec2ops.StateStopped {
		t.Errorf("web-2 is %s after its snooze ended, want stopped", got)
	}

	es := mustAudit(t, w.store)
	for what, match := range map[string]func(store.AuditEntry) bool{
		"web-1 stopped by the scheduler": func(e store.AuditEntry) bool {
			return e.InstanceName == "web-1" && e.Action == action.Stop && e.UserID == "charlize scheduler" &&
				e.Rule == "schedule office-hours" && e.Result == store.ResultDone
		},
		"web-2 skipped, snoozed by bob": func(e store.AuditEntry) bool {
			return e.InstanceName == "web-2" && e.Result == store.ResultSkipped && strings.Contains(e.Detail, "snoozed by "+bob)
		},
		"bob's snooze": func(e store.AuditEntry) bool {
			return e.InstanceName == "web-2" && e.Action == action.Snooze && e.UserID == bob && strings.Contains(e.Detail, "until 2026-06-01T18:00:00Z")
		},
		"alice's skip": func(e store.AuditEntry) bool {
			return e.InstanceName == "dev-1" && e.Action == action.Snooze && e.UserID == alice && strings.HasPrefix(e.Detail, "skip")
		},
		"web-2 stopped when the snooze ended": func(e store.AuditEntry) bool {
			return e.InstanceName == "web-2" && e.Action == action.Stop && e.UserID == "charlize scheduler" && e.Result == store.ResultDone
		},
		"the schedule attached": func(e store.AuditEntry) bool {
			return e.InstanceName == "old-1" && e.Action == action.Schedule && e.Detail == "attached office-hours"
		},
	} {
		if !auditHas(es, match) {
			t.Errorf("no audit entry for %s", what)
		}
	}
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }
