package handlers_test

import (
	"context"
	"fmt"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jonboulle/clockwork"

	"github.com/charlize-app/charlize/ec2ops"
	"github.com/charlize-app/charlize/handlers/schedule"
	"github.com/charlize-app/charlize/store"
)

// lostAnswer is a store whose next save of an open action lands but
// answers as a timeout does: the write reached the store, its answer did
// not come back in time.
type lostAnswer struct {
	store.Store
	armed atomic.Bool
}

func (s *lostAnswer) SaveAction(ctx context.Context, a store.ActionRecord, ttl time.Duration) error {
	err := s.Store.SaveAction(ctx, a, ttl)
	if err == nil && a.Open && s.armed.CompareAndSwap(true, false) {
		return fmt.Errorf("save action %s: %w", a.ID, store.ErrUnavailable)
	}
	return err
}

// Defect: a click whose action record was written though the store's
// answer timed out was told nothing was done, and a few seconds later
// another look at the open actions found the record and stopped the
// instance. What a person is told was not done is not done: the record
// is ended, audited as refused, and the requester told so again.
func TestActionToldNotDoneIsNotDoneLater(t *testing.T) {
	t.Parallel()
	eachStore(t, func(t *testing.T, redis bool) {
		lost := &lostAnswer{}
		w := newWorld(t, worldOptions{redis: redis, wrapStore: func(s store.Store) store.Store { lost.Store = s; return lost }})
		card := w.cardFor(principal{alice, channel}, "web-1", "card1")
		lost.armed.Store(true)
		w.clickAs(principal{alice, channel}, mustButton(t, card, "act:stop", ""), "req1")
		w.waitForURLText("req1", "nothing was done", waitResult)

		// The takeover loop (a look every second) finds the record.
		e := w.waitAudit("the stop ended unstarted", entry(alice, "stop", "allowed", "refused"))
		if !strings.Contains(e.Error, "was not done") {
			t.Errorf("audited as %+v, want it says the stop was not done", e)
		}
		w.waitForText("chat.postEphemeral", "Stop web-1 was not done", waitResult)
		if n := w.sim.Calls("StopInstances"); n != 0 {
			t.Errorf("StopInstances = %d after the click was told nothing was done, want 0", n)
		}
		open, err := w.store.OpenActions(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		if len(open) != 0 {
			t.Errorf("%d actions still open: %s", len(open), open[0].Data)
		}
		// The button still works.
		w.clickAs(principal{alice, channel}, mustButton(t, card, "act:stop", ""), "req2")
		w.waitAudit("the stop asked again", entry(alice, "stop", "allowed", "done"))
	})
}

// The same for a schedule's step: its occurrence's message says the stop
// failed, so the record that landed anyway is ended, not carried out.
func TestScheduledStepToldFailedIsNotDoneLater(t *testing.T) {
	lost := &lostAnswer{}
	clock := clockwork.NewFakeClockAt(time.Date(2026, 6, 1, 18, 50, 0, 0, time.UTC))
	w := newWorld(t, worldOptions{clock: clock, scheduleChannel: channel, scheduleWarning: -1,
		schedules: []schedule.Schedule{mustSchedule(t, "nightly", "daily -19:00 UTC")},
		fixture:   scheduleFixture(tagged("i-0000000000000e001", "build-1", "running", "nightly")),
		wrapStore: func(s store.Store) store.Store { lost.Store = s; return lost }})
	lost.armed.Store(true)
	advanceTo(t, clock, 1, time.Date(2026, 6, 1, 19, 0, 0, 0, time.UTC))
	w.waitAudit("the step failed", func(e store.AuditEntry) bool {
		return e.InstanceName == "build-1" && e.Result == store.ResultFailed
	})
	e := w.waitAudit("the step ended unstarted", func(e store.AuditEntry) bool {
		return e.InstanceName == "build-1" && e.Result == store.ResultRefused
	})
	if !strings.Contains(e.Error, "not carried out") {
		t.Errorf("audited as %+v, want it says the step was not carried out", e)
	}
	ts, _ := w.occurrenceMessage("nightly")
	w.waitForEdit(ts, "stopped 0 of 1", "build-1* (`i-0000000000000e001`, eu-west-1) — ❌ not stopped: Charlize could not record this step when it was due")
	if n := w.sim.Calls("StopInstances"); n != 0 {
		t.Errorf("StopInstances = %d after the step was told it failed, want 0", n)
	}
	if got := w.state("acme-prod", "eu-west-1", "i-0000000000000e001"); got != ec2ops.StateRunning {
		t.Errorf("build-1 is %s, want running", got)
	}
}
