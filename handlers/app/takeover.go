package app

import (
	"context"
	"time"

	"github.com/charlize-app/charlize/blocks"
	"github.com/charlize-app/charlize/handlers/reqctx"
	"github.com/charlize-app/charlize/store"
)

// Run carries on, until ctx ends, the actions that no live replica is
// carrying: it looks at the open actions at once and then every third of
// a lease TTL, takes over each one whose lease has run out (its replica
// died; on a single-process store, any left by the previous run) and
// resumes it from its record, and arms the expiry of every open approval
// request; beside it, the scheduler carries out schedules. run starts it
// beside the server.
func (d *Dispatcher) Run(ctx context.Context) error {
	// The scheduler runs beside the takeover loop, under the same context.
	scheduled := make(chan struct{})
	go func() {
		defer close(scheduled)
		d.runScheduler(ctx)
	}()
	defer func() { <-scheduled }()
	d.takeOver(ctx, true)
	t := time.NewTicker(d.leases.interval())
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
			d.takeOver(ctx, false)
		}
	}
}

func (d *Dispatcher) takeOver(ctx context.Context, atStart bool) {
	if d.closing() {
		return // what this replica hands off is for the next one
	}
	ctx = reqctx.WithID(ctx, "takeover")
	open, err := d.store.OpenActions(ctx)
	if err != nil {
		d.log.WarnContext(ctx, "could not list open actions", "err", err)
		return
	}
	for _, a := range open {
		rec, err := decodeRecord(a)
		if err != nil {
			d.log.WarnContext(ctx, "unreadable action record", "action_id", a.ID, "err", err)
			continue
		}
		switch {
		case rec.State == stateAwaitingApproval && !rec.unposted():
			d.trackApproval(ctx, rec.ID, rec.ExpiresAt)
		case rec.State == stateAwaitingApproval, rec.State == stateQueued, rec.State == stateActing, rec.State == stateWaiting:
			d.resume(ctx, rec, atStart)
		}
	}
}

// resume takes rec over when its lease is free and runs it here.
func (d *Dispatcher) resume(ctx context.Context, rec *actionRecord, atStart bool) {
	key := store.LeaseKey(rec.ID)
	if d.leases.holds(key) {
		return // this replica runs it, even if a slow renewal let the lease lapse
	}
	won, holder, err := d.store.Claim(ctx, key, d.replica, d.leaseTTL)
	if err != nil {
		d.log.WarnContext(ctx, "could not claim an action's lease", "action_id", rec.ID, "err", err)
		return
	}
	if !won && atStart && d.singleProcess && holder != d.replica {
		// Nobody else can share this store: the holder was this process's
		// previous run, which died.
		d.releaseClaim(ctx, key, holder)
		won, _, err = d.store.Claim(ctx, key, d.replica, d.leaseTTL)
	}
	if err != nil || !won {
		return // running here or on a live replica
	}
	// The list of open actions may be older than the lease just won: the
	// replica that ran the action may have settled it and freed its lease
	// in between. Carry on only what the store still says is open.
	fresh, err := d.loadRecord(ctx, rec.ID, "")
	if err != nil || fresh.State == stateSettled || (fresh.State == stateAwaitingApproval && !fresh.unposted()) {
		d.releaseClaim(ctx, key, d.replica)
		return
	}
	rec = fresh
	r := d.newRun(rec, nil)
	if rec.State == stateQueued || rec.unposted() {
		// Nothing has answered its click yet: the requester (or the
		// approver) hears how it goes where that click would have.
		r.via = d.replyToOrigin(rec)
	}
	r.saved, r.leased = true, true
	d.leases.hold(key, d.replica, r.lostLease)
	accepted, heldAs, err := d.stillAsked(ctx, r)
	if err != nil {
		d.log.WarnContext(ctx, "could not read an action's click", "action_id", rec.ID, "err", err)
		r.dropLease(ctx)
		return
	}
	notStarted := &notStartedError{action: rec.Action, name: displayName(rec.Instance), scheduled: rec.Scheduled != nil}
	if !accepted {
		d.endUnstarted(ctx, r, notStarted, heldAs)
		return
	}
	if rec.Scheduled != nil && rec.State == stateQueued && d.now().Sub(rec.RequestedAt) > d.sched.grace {
		// Its replica died before starting it, and it is now later than a
		// missed occurrence may run (an instance stopped hours late would
		// surprise whoever uses it): ended, as the schedule's own missed
		// occurrences are.
		notStarted.grace = d.sched.grace
		d.endUnstarted(ctx, r, notStarted, "")
		return
	}
	d.log.InfoContext(ctx, "taking over an action", "action_id", rec.ID, "action", rec.Action,
		"instance", rec.Instance.ID, "state", rec.State, "phase", rec.Phase)
	job := r.execute
	if rec.Approval != nil && rec.Approver == "" {
		// Accepted, but its replica died before asking for the second
		// person's approval, or before posting the request it had
		// recorded: ask now, never act without it.
		job = r.requestApproval
	}
	if err := d.actions.Go(ctx, job); err != nil {
		// Busy: give the lease back, the next look tries again.
		r.dropLease(ctx)
	}
}

// endUnstarted ends r's action as never started, why says why: audited,
// its messages final, the click's claim (held as heldAs by this look, ""
// none) freed, and the person who asked told once; a schedule's own
// message says it for a scheduled one. When no worker is free, the lease goes
// back and the next look tries again.
func (d *Dispatcher) endUnstarted(ctx context.Context, r *run, why *notStartedError, heldAs string) {
	rec := r.rec
	d.log.InfoContext(ctx, "ending an action never started", "action_id", rec.ID, "action", rec.Action, "instance", rec.Instance.ID, "err", why)
	err := d.workers.Go(ctx, func(ctx context.Context) {
		// The button is free again before the person is told to ask again.
		if heldAs != "" {
			d.releaseClaim(ctx, rec.ClickKey, heldAs)
		}
		o := outcome{result: store.ResultRefused, err: why}
		r.settle(ctx, o)
		if rec.Scheduled == nil && r.via.responseURL == "" {
			// settle has answered through the click's response_url when
			// the record kept one.
			d.tellPrivately(ctx, rec.team(), rec.Channel, rec.Requester, blocks.Refusal(d.failureText(ctx, "act "+string(rec.Action), o.err)))
		}
	})
	if err != nil {
		r.dropLease(ctx)
	}
}

// stillAsked says whether the click that asked for r's action still
// stands behind it, and marks r as holding that click when it does. An
// action queued from a click or a schedule (and not approved since) holds
// the claim of its click or schedule step from before its record is
// saved; a claim that is not its own means it was never accepted: it was
// told nothing was done (its save seemed to fail but landed), the claim
// lapsed before anyone started it, or the same button or step has started
// another action since. A free claim is taken, as heldAs, until the
// action is ended: under a name of the look's own, so that a claim of
// this look's that lands after its answer timed out is not taken for the
// click's at the next look, and for a lease TTL, so that one never freed
// does not hold the button for long.
func (d *Dispatcher) stillAsked(ctx context.Context, r *run) (accepted bool, heldAs string, err error) {
	rec := r.rec
	if rec.State != stateQueued || rec.Approver != "" {
		r.claimed = true
		return true, "", nil
	}
	ending := "ending/" + rec.holder()
	won, holder, err := d.store.Claim(ctx, rec.ClickKey, ending, d.leaseTTL)
	switch {
	case err != nil:
		return false, "", err
	case holder == rec.holder():
		r.claimed = true
		return true, "", nil
	case won || holder == ending:
		return false, ending, nil
	}
	return false, "", nil
}
