package app

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/slack-go/slack"

	"github.com/charlize-app/charlize/ec2ops/ec2sim"
	"github.com/charlize-app/charlize/handlers/policy"
	"github.com/charlize-app/charlize/handlers/slackclient"
	"github.com/charlize-app/charlize/handlers/slacktest"
	"github.com/charlize-app/charlize/store"
)

const operatorsWithApproval = `rules:
  - name: operators
    who: {users: [U0ALICE, U0BOB]}
    actions: [list, status, stop]
approval:
  - actions: [stop]
    accounts: ["*-prod"]
`

// waitSettled waits for env's action to end, and returns its record.
func (e *takeoverEnv) waitSettled(t *testing.T, within time.Duration) store.ActionRecord {
	t.Helper()
	ctx := context.Background()
	deadline := time.Now().Add(within)
	for {
		a, err := e.store.Action(ctx, e.rec.ID)
		if err == nil && !a.Open {
			return a
		}
		if time.Now().After(deadline) {
			t.Fatalf("the action is still open after %s: %s, %v", within, a.Data, err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// awaitingWithFullPool is e's action awaiting bob's decision on a
// dispatcher whose pool (d.workers or d.actions, as full picks) has one
// worker and one queue place, both taken; press presses as bob, and
// free empties the pool and waits until it has room.
func awaitingWithFullPool(t *testing.T, e *takeoverEnv, full func(*Dispatcher) *workers, tune func(*Options)) (press func(sub, responseID string) error, free func()) {
	t.Helper()
	ctx := context.Background()
	e.asksForApproval(t)
	pol, err := policy.Parse([]byte(operatorsWithApproval))
	if err != nil {
		t.Fatal(err)
	}
	o := Options{Log: testLog(), Store: e.store, Fleet: e.fleet, Replica: "r1", LeaseTTL: 300 * time.Millisecond,
		Policy: pol, ProgressInterval: time.Millisecond,
		Clients: slackclient.SingleWorkspace{API: slackclient.NewClient(slacktest.BotToken, e.slack.APIURL(), nil)}}
	tune(&o)
	d, err := New(o)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = d.Close(ctx) })
	rec := *e.rec
	rec.State, rec.ExpiresAt = stateAwaitingApproval, time.Now().Add(time.Hour)
	rec.Request = origin{ChannelID: testChannel, TS: e.ts}
	if err := d.saveRecord(ctx, &rec); err != nil {
		t.Fatal(err)
	}
	pool, release := full(d), make(chan struct{})
	for range 2 { // the worker and the queue place
		if err := pool.Go(ctx, func(context.Context) { <-release }); err != nil {
			t.Fatal(err)
		}
	}
	press = func(sub, responseID string) error {
		cb := slack.InteractionCallback{User: slack.User{ID: "U0BOB"}, ResponseURL: e.slack.ResponseURL(responseID)}
		cb.Team.ID = slacktest.TeamID
		cb.Container.ChannelID, cb.Container.MessageTs = testChannel, e.ts
		return d.decideApproval(ctx, cb, pressed{sub: sub, value: rec.ID})
	}
	free = func() {
		close(release)
		for deadline := time.Now().Add(5 * time.Second); len(pool.waiting) > 0; time.Sleep(time.Millisecond) {
			if time.Now().After(deadline) {
				t.Fatal("the blocking jobs did not end")
			}
		}
	}
	return press, free
}

// Defect: a Deny that found the job queue full was answered "busy, try
// again" but kept the decision claim, so the request could be neither
// decided again nor expire. Nothing was denied: the request stays open,
// and the Deny pressed again ends it.
func TestDenyWhenBusyLeavesTheRequestOpen(t *testing.T) {
	e := newTakeoverEnv(t, false, time.Millisecond)
	press, free := awaitingWithFullPool(t, e, func(d *Dispatcher) *workers { return d.workers }, func(o *Options) { o.Workers, o.Queue = 1, 1 })
	if err := press("deny", "bob1"); !errors.Is(err, ErrBusy) {
		t.Fatalf("Deny with a full queue = %v, want ErrBusy (bob is told to try again)", err)
	}
	free()
	if err := press("deny", "bob2"); err != nil {
		t.Fatalf("Deny pressed again = %v, want it denied", err)
	}
	a := e.waitSettled(t, 10*time.Second)
	if got, err := decodeRecord(a); err != nil || got.Decision != store.DecisionDenied {
		t.Errorf("the request ended as %s, %v, want denied", a.Data, err)
	}
}

// Defect: a request recorded as waiting for approval whose replica died
// before posting it was only given its expiry: nobody could approve it,
// and the requester heard nothing for half an hour. The takeover posts it.
func TestTakeoverPostsARequestRecordedButNotPosted(t *testing.T) {
	ctx := context.Background()
	e := newTakeoverEnv(t, false, 500*time.Millisecond)
	e.asksForApproval(t)
	e.rec.State, e.rec.ExpiresAt = stateAwaitingApproval, time.Now().Add(30*time.Minute)
	d := e.survivor(t, false)
	if err := d.saveRecord(ctx, e.rec); err != nil {
		t.Fatal(err)
	}
	e.expire(600 * time.Millisecond)
	d.takeOver(ctx, false)
	e.slack.WaitFor(t, "chat.postMessage", 2, 10*time.Second) // the fixture's progress message, then the request
	closeCtx, stop := context.WithTimeout(ctx, 10*time.Second)
	defer stop()
	if err := d.Close(closeCtx); err != nil {
		t.Fatal(err)
	}
	if n := e.approvalRequests(); n != 1 {
		t.Errorf("approval requests posted = %d, want 1", n)
	}
	a, err := e.store.Action(ctx, e.rec.ID)
	if got, derr := decodeRecord(a); err != nil || derr != nil || got.Request.TS == "" || got.State != stateAwaitingApproval {
		t.Errorf("the request after the takeover = %s, %v, want awaiting approval, its message recorded", a.Data, err)
	}
}

// Defect: when another action took the instance lock of a replica that
// died mid-wait (the lock lapsed with the lease), the takeover refused the
// stop AWS was carrying out, and its message said "Stopping…" for ever.
// It is carried on once the lock is free again, and finishes its message.
// (A lock now lives twice a lease, so this takes a replica dead for long.)
func TestTakeoverWaitsForALockAnotherActionTook(t *testing.T) {
	ctx := context.Background()
	e := newTakeoverEnv(t, false, 500*time.Millisecond)
	e.expire(600 * time.Millisecond)
	lock := store.InstanceLockKey("acme-prod", "eu-west-1", web1)
	if won, _, err := e.store.Claim(ctx, lock, "0b0b0b0b-0000-4000-8000-000000000002/U0BOB", time.Second); err != nil || !won {
		t.Fatalf("another action's lock claim = %v, %v", won, err)
	}
	e.start(t, false)
	e.waitFinished(t)
	entries, _ := e.store.RecentAudit(ctx, 5)
	if len(entries) == 0 || entries[0].Result != store.ResultDone {
		t.Errorf("audit = %+v, want alice's stop done", entries)
	}
	if inst, _ := e.sim.Get(prodAccount, "eu-west-1", web1); inst.State != ec2sim.StateStopped {
		t.Errorf("web-1 is %s, want stopped", inst.State)
	}
}

// Defect: a scheduled stop whose replica died before starting it was run
// by whichever replica came back, however late: hours after its time, as
// a missed occurrence never is. Past the grace, it is ended, not run.
func TestTakeoverEndsAScheduledStepPastItsGrace(t *testing.T) {
	ctx := context.Background()
	e := newTakeoverEnv(t, false, 500*time.Millisecond)
	inst, _ := e.sim.Get(prodAccount, "eu-west-1", web1)
	inst.State = ec2sim.StateRunning
	e.sim.Put(prodAccount, "eu-west-1", inst)
	rec := *e.rec
	rec.State, rec.Phase, rec.Progress = stateQueued, "", origin{}
	rec.Instance.State, rec.Requester = "running", schedulerActor
	rec.RequestedAt = time.Now().Add(-3 * time.Hour)
	rec.ClickKey = store.ScheduleKey("act", "nightly/stop/2026-12-03T19:00", "acme-prod/eu-west-1/"+web1)
	rec.Scheduled = &scheduledAction{Schedule: "nightly", Occurrence: "nightly/stop/2026-12-03T19:00", Message: "5c1e0b9e-0000-5000-8000-000000000001"}
	if won, _, err := e.store.Claim(ctx, rec.ClickKey, rec.holder(), time.Hour); err != nil || !won {
		t.Fatalf("Claim(step) = %v, %v", won, err)
	}
	e.rec = &rec
	d := e.survivor(t, false)
	if err := d.saveRecord(ctx, &rec); err != nil {
		t.Fatal(err)
	}
	e.expire(600 * time.Millisecond)
	d.takeOver(ctx, false)
	a := e.waitSettled(t, 10*time.Second)
	if got, err := decodeRecord(a); err != nil || got.Result != store.ResultRefused || !strings.Contains(got.Outcome, "more than") {
		t.Errorf("the late step ended as %s, %v, want refused as past its grace", a.Data, err)
	}
	if n := e.sim.Calls("StopInstances"); n != 0 {
		t.Errorf("StopInstances = %d for a step three hours late, want 0", n)
	}
}

// An Approve that finds every action worker and queue place taken is told
// to try again and nothing is approved: the request stays open, and the
// Approve pressed again, once room frees, carries the stop out.
func TestApproveWhenTheActionsAreFullLeavesTheRequestOpen(t *testing.T) {
	e := newTakeoverEnv(t, false, time.Millisecond)
	press, free := awaitingWithFullPool(t, e, func(d *Dispatcher) *workers { return d.actions }, func(o *Options) { o.ActionWorkers, o.ActionQueue = 1, 1 })
	if err := press("approve", "bob1"); !errors.Is(err, ErrBusy) {
		t.Fatalf("Approve with the actions full = %v, want ErrBusy (bob is told to try again)", err)
	}
	if n := e.sim.Calls("StopInstances"); n != 0 {
		t.Fatalf("StopInstances = %d after a busy Approve, want none", n)
	}
	free()
	if err := press("approve", "bob2"); err != nil {
		t.Fatalf("Approve pressed again, room freed = %v, want it approved", err)
	}
	a := e.waitSettled(t, 10*time.Second)
	if got, err := decodeRecord(a); err != nil || got.Decision != store.DecisionApproved || got.Approver != "U0BOB" {
		t.Errorf("the request ended as %s, %v, want approved by bob", a.Data, err)
	}
	if n := e.sim.Calls("StopInstances"); n != 1 {
		t.Errorf("StopInstances = %d, want 1", n)
	}
}
