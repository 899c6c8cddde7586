package handlers_test

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jonboulle/clockwork"

	"github.com/charlize-app/charlize/ec2ops"
	"github.com/charlize-app/charlize/ec2ops/action"
	"github.com/charlize-app/charlize/handlers/schedule"
	"github.com/charlize-app/charlize/store"
)

// faultStore fails chosen calls of the store the app uses: a fault that
// lands lets the call reach the store and then answers as a timeout does
// (the write happened, its answer did not come back in time); one that
// does not land fails before the call. Everything else is the real store.
type faultStore struct {
	store.Store
	mu     sync.Mutex
	faults []*fault
}

type fault struct {
	op    string // "Claim", "ReleaseClaim", "RenewClaim", "SaveAction" or "SaveSnooze"
	match func(key, holder string, ttl time.Duration) bool
	land  bool
	skip  int // matching calls let through first
	left  int // then this many fail
	fired int
}

// arm fails the n matching calls of op after the first skip; for
// SaveAction, key is the record's id and holder "open" or "closed".
func (s *faultStore) arm(op string, land bool, skip, n int, match func(key, holder string, ttl time.Duration) bool) *fault {
	s.mu.Lock()
	defer s.mu.Unlock()
	f := &fault{op: op, match: match, land: land, skip: skip, left: n}
	s.faults = append(s.faults, f)
	return f
}

// firedTimes is how many calls f failed.
func (s *faultStore) firedTimes(f *fault) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return f.fired
}

// hit says whether this call fails, and whether it lands first.
func (s *faultStore) hit(op, key, holder string, ttl time.Duration) (fail, land bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, f := range s.faults {
		if f.op != op || f.left == 0 || !f.match(key, holder, ttl) {
			continue
		}
		if f.skip > 0 {
			f.skip--
			return false, false
		}
		f.left--
		f.fired++
		return true, f.land
	}
	return false, false
}

func unavailable(op, key string) error { return fmt.Errorf("%s %s: %w", op, key, store.ErrUnavailable) }

func (s *faultStore) Claim(ctx context.Context, key, holder string, ttl time.Duration) (bool, string, error) {
	if fail, land := s.hit("Claim", key, holder, ttl); fail {
		if land {
			_, _, _ = s.Store.Claim(ctx, key, holder, ttl)
		}
		return false, "", unavailable("claim", key)
	}
	return s.Store.Claim(ctx, key, holder, ttl)
}

func (s *faultStore) ReleaseClaim(ctx context.Context, key, holder string) error {
	if fail, land := s.hit("ReleaseClaim", key, holder, 0); fail {
		if land {
			_ = s.Store.ReleaseClaim(ctx, key, holder)
		}
		return unavailable("release", key)
	}
	return s.Store.ReleaseClaim(ctx, key, holder)
}

func (s *faultStore) RenewClaim(ctx context.Context, key, holder string, ttl time.Duration) (bool, error) {
	if fail, land := s.hit("RenewClaim", key, holder, ttl); fail {
		if land {
			_, _ = s.Store.RenewClaim(ctx, key, holder, ttl)
		}
		return false, unavailable("renew", key)
	}
	return s.Store.RenewClaim(ctx, key, holder, ttl)
}

func (s *faultStore) SaveAction(ctx context.Context, a store.ActionRecord, ttl time.Duration) error {
	open := "closed"
	if a.Open {
		open = "open"
	}
	if fail, land := s.hit("SaveAction", a.ID, open, ttl); fail {
		if land {
			_ = s.Store.SaveAction(ctx, a, ttl)
		}
		return unavailable("save", a.ID)
	}
	return s.Store.SaveAction(ctx, a, ttl)
}

func (s *faultStore) SaveSnooze(ctx context.Context, sn store.Snooze, ttl time.Duration) error {
	if fail, land := s.hit("SaveSnooze", sn.Instance, "", ttl); fail {
		if land {
			_ = s.Store.SaveSnooze(ctx, sn, ttl)
		}
		return unavailable("save snooze", sn.Instance)
	}
	return s.Store.SaveSnooze(ctx, sn, ttl)
}

// keyPrefix matches the calls on keys beginning with p.
func keyPrefix(p string) func(key, holder string, ttl time.Duration) bool {
	return func(key, _ string, _ time.Duration) bool { return strings.HasPrefix(key, p) }
}

// openSave matches the saves of open action records.
func openSave(_, holder string, _ time.Duration) bool { return holder == "open" }

// faultyWorld is a world whose store fails as fs is armed to.
func faultyWorld(t *testing.T, o worldOptions) (*world, *faultStore) {
	fs := &faultStore{}
	o.wrapStore = func(s store.Store) store.Store { fs.Store = s; return fs }
	return newWorld(t, o), fs
}

// Defect: a click whose action record was written though the store's
// answer timed out was told nothing was done, and a few seconds later
// another look at the open actions found the record and stopped the
// instance. What a person is told was not done is not done: the record
// is ended, audited as refused, and the requester told so again.
func TestActionToldNotDoneIsNotDoneLater(t *testing.T) {
	t.Parallel()
	eachStore(t, func(t *testing.T, redis bool) {
		w, fs := faultyWorld(t, worldOptions{redis: redis})
		card := w.cardFor(principal{alice, channel}, "web-1", "card1")
		fs.arm("SaveAction", true, 0, 1, openSave)
		w.clickAs(principal{alice, channel}, mustButton(t, card, "act:stop", ""), "req1")
		w.waitForURLText("req1", "nothing was done", waitResult)

		// The takeover loop (a look every second) finds the record.
		e := w.waitAudit("the stop ended unstarted", entry(alice, "stop", "allowed", "refused"))
		if !strings.Contains(e.Error, "was not done") {
			t.Errorf("audited as %+v, want it says the stop was not done", e)
		}
		w.waitForURLText("req1", "Stop web-1 was not done", waitResult)
		told := 0
		for _, m := range w.urlPosts("req1") {
			if strings.Contains(messageText(m), "was not done") {
				told++
			}
		}
		for _, c := range w.slack.Calls("chat.postEphemeral") {
			if strings.Contains(c.Form.Get("text"), "was not done") {
				told++
			}
		}
		if told != 1 {
			t.Errorf("alice was told %d times that the stop was not done, want once", told)
		}
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

// A schedule's step whose record was written though the store's answer
// timed out is carried out once: nobody was told it failed (the step is
// taken again later and finds the record), and the takeover loop runs
// the record it finds, which still holds the step's claim.
func TestScheduledStepWhoseSaveTimedOutIsCarriedOutOnce(t *testing.T) {
	w, fs, clock := nightlyWorld(t)
	fs.arm("SaveAction", true, 0, 1, openSave)
	advanceTo(t, clock, 1, nightlyStop)
	ts, _ := w.occurrenceMessage("nightly")
	w.waitForEdit(ts, "stopped 1 of 1 instance", "build-1")
	// The step, taken again at the next tick, starts nothing more.
	advanceTo(t, clock, 1, nightlyStop.Add(time.Minute))
	if n := w.sim.Calls("StopInstances"); n != 1 {
		t.Errorf("StopInstances = %d, want 1", n)
	}
	if n := w.auditCount(func(e store.AuditEntry) bool { return e.InstanceName == "build-1" }); n != 1 {
		t.Errorf("%d audit entries of build-1, want its one stop:\n%s", n, auditDump(w.audits()))
	}
	if got := w.state("acme-prod", "eu-west-1", "i-0000000000000e001"); got != ec2ops.StateStopped {
		t.Errorf("build-1 is %s, want stopped", got)
	}
}

// nightlyStop is when schedule nightly stops build-1.
var nightlyStop = time.Date(2026, 6, 1, 19, 0, 0, 0, time.UTC)

// nightlyWorld runs schedule nightly (a stop at nightlyStop) over build-1
// on a fake clock ten minutes before it, on a store that fails as armed.
func nightlyWorld(t *testing.T) (*world, *faultStore, *clockwork.FakeClock) {
	clock := clockwork.NewFakeClockAt(nightlyStop.Add(-10 * time.Minute))
	w, fs := faultyWorld(t, worldOptions{clock: clock, scheduleChannel: channel, scheduleWarning: -1,
		schedules: []schedule.Schedule{mustSchedule(t, "nightly", "daily -19:00 UTC")},
		fixture:   scheduleFixture(tagged("i-0000000000000e001", "build-1", "running", "nightly"))})
	return w, fs, clock
}

// waitNoOpenAction waits until the store holds no open action.
func (w *world) waitNoOpenAction() {
	w.t.Helper()
	deadline := time.Now().Add(waitResult)
	for {
		open, err := w.store.OpenActions(context.Background())
		if err == nil && len(open) == 0 {
			return
		}
		if time.Now().After(deadline) {
			w.t.Fatalf("actions still open: %d, %v", len(open), err)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// Defect: when the click's claim could not be freed either (the store
// slow just then), the record that landed still named the click as its
// own, and the takeover loop stopped the instance the click was told was
// not stopped. The record is marked ended; the button works again.
func TestToldNotDoneEvenWhenItsClaimCannotBeFreed(t *testing.T) {
	t.Parallel()
	w, fs := faultyWorld(t, worldOptions{})
	card := w.cardFor(principal{alice, channel}, "web-1", "card1")
	fs.arm("SaveAction", true, 0, 1, openSave)
	fs.arm("ReleaseClaim", false, 0, 1, keyPrefix("click:"))
	w.clickAs(principal{alice, channel}, mustButton(t, card, "act:stop", ""), "req1")
	w.waitForURLText("req1", "nothing was done", waitResult)
	w.waitNoOpenAction()
	if n := w.sim.Calls("StopInstances"); n != 0 {
		t.Errorf("StopInstances = %d after alice was told nothing was done; audit:\n%s", n, auditDump(w.audits()))
	}
	w.clickAs(principal{alice, channel}, mustButton(t, card, "act:stop", ""), "req2")
	w.waitAudit("the stop asked again", entry(alice, "stop", "allowed", "done"))
}

// Defect: the takeover's look at such a record claims the click; when that
// claim landed though its answer timed out, the next look took the claim
// for the click's own and stopped the instance. The look claims under a
// name of its own.
func TestToldNotDoneEvenWhenTheLooksClaimLands(t *testing.T) {
	t.Parallel()
	w, fs := faultyWorld(t, worldOptions{})
	card := w.cardFor(principal{alice, channel}, "web-1", "card1")
	fs.arm("SaveAction", true, 0, 1, openSave)
	look := fs.arm("Claim", true, 1, 1, keyPrefix("click:")) // the click's own claim goes through
	w.clickAs(principal{alice, channel}, mustButton(t, card, "act:stop", ""), "req1")
	w.waitForURLText("req1", "nothing was done", waitResult)
	w.waitAudit("the stop ended unstarted", entry(alice, "stop", "allowed", "refused"))
	if n := fs.firedTimes(look); n != 1 {
		t.Errorf("the look's claim failed %d times, want 1", n)
	}
	if n := w.sim.Calls("StopInstances"); n != 0 {
		t.Errorf("StopInstances = %d after alice was told nothing was done; audit:\n%s", n, auditDump(w.audits()))
	}
}

// Defect: a schedule's claim of an instance that the store did not answer
// (landed or not) lost the stop: the step counted as done, nothing was
// recorded or audited, and the message said "stopping" for ever. The step
// is taken again at the next tick and the stop carried out, once.
func TestScheduledClaimErrorIsTakenAgain(t *testing.T) {
	for _, land := range []bool{false, true} {
		t.Run(fmt.Sprintf("landed=%t", land), func(t *testing.T) {
			w, fs, clock := nightlyWorld(t)
			fs.arm("Claim", land, 0, 1, func(key, holder string, _ time.Duration) bool {
				return strings.HasPrefix(key, "schedule:act:") && strings.HasSuffix(holder, "/charlize scheduler")
			})
			advanceTo(t, clock, 1, nightlyStop)
			advanceTo(t, clock, 1, nightlyStop.Add(time.Minute))
			ts, _ := w.occurrenceMessage("nightly")
			w.waitForEdit(ts, "stopped 1 of 1 instance", "build-1")
			if n := w.sim.Calls("StopInstances"); n != 1 {
				t.Errorf("StopInstances = %d, want 1", n)
			}
		})
	}
}

// Defect: a schedule's step whose record save failed outright was audited
// as failed with no record, so its message said "stopping" for ever. The
// step is taken again at the next tick and the stop carried out, once.
func TestScheduledSaveFailureIsTakenAgain(t *testing.T) {
	w, fs, clock := nightlyWorld(t)
	fs.arm("SaveAction", false, 0, 1, openSave)
	advanceTo(t, clock, 1, nightlyStop)
	advanceTo(t, clock, 1, nightlyStop.Add(time.Minute))
	ts, _ := w.occurrenceMessage("nightly")
	w.waitForEdit(ts, "stopped 1 of 1 instance", "build-1")
	if n := w.auditCount(func(e store.AuditEntry) bool { return e.InstanceName == "build-1" }); n != 1 {
		t.Errorf("%d audit entries of build-1, want its one stop:\n%s", n, auditDump(w.audits()))
	}
}

// Defect: a scheduled stop that failed (AWS refused it, and the message
// said so) was started again when its step was taken again (the step's
// "done" mark had not reached the store): the instance the channel was
// told was not stopped was stopped. A record that ended stays ended.
func TestScheduledStepTakenAgainDoesNotRedoAnEndedStop(t *testing.T) {
	w, fs, clock := nightlyWorld(t)
	lift := w.sim.Deny(acctProd, "StopInstances")
	fs.arm("RenewClaim", false, 0, 1, func(key, _ string, ttl time.Duration) bool {
		return strings.HasPrefix(key, "schedule:act:") && ttl > time.Hour
	})
	advanceTo(t, clock, 1, nightlyStop)
	ts, _ := w.occurrenceMessage("nightly")
	w.waitForEdit(ts, "not stopped")
	lift()
	// Another replica, once the step's claim (a lease TTL) has lapsed.
	time.Sleep(4 * time.Second)
	w.restartDispatcher()
	advanceTo(t, clock, 1, nightlyStop.Add(time.Minute))
	w.waitNoOpenAction()
	if got := w.state("acme-prod", "eu-west-1", "i-0000000000000e001"); got != ec2ops.StateRunning {
		t.Errorf("build-1 is %s after the channel was told it was not stopped; audit:\n%s", got, auditDump(w.audits()))
	}
}

// Defect: an Approve whose decision claim landed though the store's answer
// timed out kept the request from being decided or expiring, for good. The
// claim lapses within moments, and the request expires.
func TestApprovalStrandedByALandedClaimExpires(t *testing.T) {
	t.Parallel()
	for _, who := range []string{bob, "expired"} {
		t.Run(who, func(t *testing.T) {
			t.Parallel()
			w, fs := faultyWorld(t, worldOptions{policy: approvalPolicy, approvalTTL: 2 * time.Second})
			fs.arm("Claim", true, 0, 1, func(key, holder string, _ time.Duration) bool {
				return strings.HasPrefix(key, "approval:") && strings.HasPrefix(holder, who)
			})
			card := w.cardFor(principal{alice, channel}, "web-1", "card1")
			w.clickAs(principal{alice, channel}, mustButton(t, card, "act:stop", ""), "req1")
			req := w.waitApprovalRequest(1)
			if who == bob {
				w.clickFrom(bob, req.approve, "bob1", clickFrom{messageTS: req.call.TS})
				w.waitForURLText("bob1", "nothing was done", waitResult)
			}
			w.waitUpdateWithin(req.call.TS, "expired without approval", 30*time.Second)
			w.waitExpiredOnce(req)
			if n := w.sim.Calls("StopInstances"); n != 0 {
				t.Errorf("StopInstances = %d, want 0", n)
			}
		})
	}
}

// Defect: a Snooze whose save landed though the store's answer timed out
// was answered "nothing was done" and never audited, yet the stop honoured
// it. It is done, said and audited as done.
func TestSnoozeWhoseSaveTimedOutIsDone(t *testing.T) {
	clock := clockwork.NewFakeClockAt(scheduleStart)
	w, fs := faultyWorld(t, worldOptions{clock: clock, scheduleChannel: channel})
	ts, warning := officeHoursOnWeb1(t, w, clock)
	fs.arm("SaveSnooze", true, 0, 1, func(string, string, time.Duration) bool { return true })
	w.clickFrom(bob, warning[0], "snooze-web-1", clickFrom{messageTS: ts})
	w.waitForEdit(ts, "snoozed by <@U0BOB>")
	w.waitAudit("bob's snooze", func(e store.AuditEntry) bool {
		return e.Action == action.Snooze && e.UserID == bob && e.Result == store.ResultDone
	})
	for _, m := range w.urlPosts("snooze-web-1") {
		if strings.Contains(messageText(m), "nothing was done") {
			t.Errorf("bob was told %s", messageText(m))
		}
	}
	advanceTo(t, clock, 1, stopUTC)
	w.waitForEdit(ts, "stopped 0 of 1")
	if got := w.state("acme-prod", "eu-west-1", "i-0000000000000a001"); got != ec2ops.StateRunning {
		t.Errorf("web-1 is %s, want running (snoozed)", got)
	}
}

// snoozeHold is a store whose next SaveSnooze waits until released, as a
// slow store's does.
type snoozeHold struct {
	store.Store
	mu      sync.Mutex
	entered chan struct{} // closed when the held save begins
	release chan struct{}
}

func (s *snoozeHold) SaveSnooze(ctx context.Context, sn store.Snooze, ttl time.Duration) error {
	s.mu.Lock()
	entered, release := s.entered, s.release
	s.entered = nil
	s.mu.Unlock()
	if entered != nil {
		close(entered)
		<-release
	}
	return s.Store.SaveSnooze(ctx, sn, ttl)
}

// Defect: a Snooze whose save was still on its way when the stop read the
// snoozes was accepted and audited as done, yet the instance was stopped
// (and its snooze's warning posted later for an instance already
// stopped). The stop waits for the snooze being saved, and honours it.
func TestSnoozeRacingTheStopIsHonoured(t *testing.T) {
	clock := clockwork.NewFakeClockAt(scheduleStart)
	hold := &snoozeHold{entered: make(chan struct{}), release: make(chan struct{})}
	w := newWorld(t, worldOptions{clock: clock, scheduleChannel: channel,
		wrapStore: func(s store.Store) store.Store { hold.Store = s; return hold }})
	ts, warning := officeHoursOnWeb1(t, w, clock)
	entered := hold.entered
	done := make(chan struct{})
	go func() {
		defer close(done)
		w.clickFrom(bob, warning[0], "snooze-web-1", clickFrom{messageTS: ts})
	}()
	<-entered
	// The save lands half a second into the stop, which has begun.
	time.AfterFunc(500*time.Millisecond, func() { close(hold.release) })
	advanceTo(t, clock, 1, stopUTC)
	<-done
	w.waitForEdit(ts, "stopped 0 of 1 instance", "snoozed by <@U0BOB>")
	if got := w.state("acme-prod", "eu-west-1", "i-0000000000000a001"); got != ec2ops.StateRunning {
		t.Errorf("web-1 is %s after bob's snooze was accepted, want running", got)
	}
	if !auditHas(mustAudit(t, w.store), func(e store.AuditEntry) bool { return e.Action == action.Snooze && e.Result == store.ResultDone }) {
		t.Errorf("bob's snooze was not audited as done")
	}
}

// A Snooze pressed while the warning's message is held (the stop starting,
// another press) is told why nothing was snoozed and to press again, not
// that Charlize is busy; pressed again once the message is free, it snoozes.
func TestSnoozeWhileTheWarningIsBusySaysSo(t *testing.T) {
	clock := clockwork.NewFakeClockAt(scheduleStart)
	w := newWorld(t, worldOptions{clock: clock, scheduleChannel: channel})
	ts, warning := officeHoursOnWeb1(t, w, clock)
	occurrence := warning[0].value[:strings.LastIndexByte(warning[0].value, '.')]
	lock := store.ScheduleMessageLockKey(occurrence)
	if won, _, err := w.store.Claim(context.Background(), lock, "someone-else", time.Minute); err != nil || !won {
		t.Fatalf("hold the warning's message: %v, %v", won, err)
	}
	w.clickFrom(bob, warning[0], "snooze-busy", clickFrom{messageTS: ts})
	got := messageText(w.urlPost("snooze-busy", 5*time.Second))
	if !strings.Contains(got, "The warning for web-1 is being updated right now, so nothing was snoozed") {
		t.Errorf("bob was told %q, want why nothing was snoozed", got)
	}
	if err := w.store.ReleaseClaim(context.Background(), lock, "someone-else"); err != nil {
		t.Fatal(err)
	}
	w.clickFrom(bob, warning[0], "snooze-again", clickFrom{messageTS: ts})
	w.waitForEdit(ts, "snoozed by <@U0BOB>")
}

// Found by review: a Snooze whose store did not answer for the warning's
// lock was told someone was updating the warning and to press again; it
// is told what went wrong, and the operator gets the log line.
func TestSnoozeWithTheStoreDownIsNotABusyWarning(t *testing.T) {
	clock := clockwork.NewFakeClockAt(scheduleStart)
	w, fs := faultyWorld(t, worldOptions{clock: clock, scheduleChannel: channel})
	ts, warning := officeHoursOnWeb1(t, w, clock)
	occurrence := warning[0].value[:strings.LastIndexByte(warning[0].value, '.')]
	lock := store.ScheduleMessageLockKey(occurrence)
	fs.arm("Claim", false, 0, 1000, func(key, _ string, _ time.Duration) bool { return key == lock })
	w.clickFrom(bob, warning[0], "snooze-store-down", clickFrom{messageTS: ts})
	if got := messageText(w.urlPost("snooze-store-down", 5*time.Second)); strings.Contains(got, "is being updated right now") {
		t.Errorf("with the store failing, bob was told %q, that someone holds the warning", got)
	}
}
