package app

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/google/uuid"
	"github.com/slack-go/slack"

	"github.com/charlize-app/charlize/blocks"
	"github.com/charlize-app/charlize/ec2ops"
	"github.com/charlize-app/charlize/ec2ops/action"
	"github.com/charlize-app/charlize/handlers/policy"
	"github.com/charlize-app/charlize/handlers/reqctx"
	"github.com/charlize-app/charlize/store"
)

// The act flow: a button press (or a terminate modal, or an approval)
// becomes an action record, claimed once; the action then goes through its
// steps, claim → decide → describe → act → wait → report, and every way
// it can end goes through settle.

// click handles an instance button: status shows, terminate asks through a
// modal, the others act (Slack has already shown their confirm dialog).
// Its action_id is "act:<kind>:<n>", its value names the rendered item.
func (d *Dispatcher) click(ctx context.Context, cb slack.InteractionCallback, p pressed) error {
	kind, _, _ := strings.Cut(p.sub, ":")
	a, ok := action.ParseInstance(kind)
	if !ok {
		return errBadValue
	}
	_, id, n, inst, err := d.loadItem(ctx, cb.Team.ID, p.value, a, kindList, kindCard)
	if err != nil {
		return err
	}
	org := origin{ChannelID: channelOf(cb), TS: cb.Container.MessageTs, Ephemeral: cb.Container.IsEphemeral, ResponseURL: cb.ResponseURL}
	// Decided for whoever clicked, not whoever ran the command.
	v := d.viewerOfCallback(ctx, cb)
	rec := d.newRecord(a, inst, v, org, store.ClickKey(id, n, a))
	if dec := d.decide(v, a, inst); !dec.Allowed {
		r := d.newRun(rec, d.replyToClick(cb))
		r.inRequest = true
		r.settle(ctx, outcome{result: store.ResultRefused, err: &deniedError{action: a, target: displayName(inst), reason: dec.Reason}})
		return nil
	}
	switch a {
	case action.Status:
		return d.showCard(ctx, cb, inst, "")
	case action.Terminate:
		return d.openTerminate(ctx, cb, rec)
	}
	return d.startAction(ctx, rec, d.replyToClick(cb))
}

// newRecord starts the record of action a on inst, asked by v from the
// message org, claimed under clickKey.
func (d *Dispatcher) newRecord(a action.Action, inst ec2ops.Instance, v viewer, org origin, clickKey string) *actionRecord {
	return &actionRecord{
		ID: uuid.NewString(), State: stateQueued, Action: a, Instance: inst,
		TeamID: v.team.ID, Enterprise: v.team.EnterpriseID, Requester: v.user, RequesterTeam: v.homeTeam(), Channel: v.channel,
		Origin: org, ClickKey: clickKey, RequestedAt: d.now(),
	}
}

// startAction claims the click, so that double clicks, two people and
// Slack's redeliveries run it once, takes the action's lease, records it,
// and queues the work: the action itself, or the request for a second
// person's approval. All of that happens before the click is acknowledged,
// so an accepted action survives this process.
func (d *Dispatcher) startAction(ctx context.Context, rec *actionRecord, via *reply) error {
	won, holder, err := d.store.Claim(ctx, rec.ClickKey, rec.holder(), d.sessionTTL)
	var held *actionRecord // the record of the claim's holder, when it has one
	if err == nil && !won {
		held = d.holderRecord(ctx, holder)
		if held != nil && held.State == stateSettled && (held.Result == store.ResultRefused || held.Result == store.ResultFailed) {
			// Its claim outlived an action that did nothing (the store
			// would not free it then): the button may be pressed again.
			d.releaseClaim(ctx, rec.ClickKey, holder)
			if won, holder, err = d.store.Claim(ctx, rec.ClickKey, rec.holder(), d.sessionTTL); err == nil && !won {
				held = d.holderRecord(ctx, holder) // another press took it in between
			}
		}
	}
	if err != nil {
		return fmt.Errorf("claim click: %w", err)
	}
	if !won {
		via.refuseSoon(ctx, "act "+string(rec.Action), claimedBy(rec, holder, held))
		return nil
	}
	r := d.newRun(rec, via)
	r.claimed = true
	// The replica that accepts an action holds its lease from now on, so
	// no other replica takes over an action that only waits for a worker.
	if err := r.takeLease(ctx); err != nil {
		d.releaseClaim(ctx, rec.ClickKey, rec.holder())
		return err
	}
	job := r.execute
	if approval, needed := d.policy.Approval(rec.Action, rec.Instance.Account); needed && rec.Approver == "" {
		rec.Approval = &approval
		job = r.requestApproval
	}
	if err := d.saveRecord(ctx, rec); err != nil {
		// The save may have landed though its answer did not come. The
		// click's claim goes first, so that whoever finds the record sees
		// it was never accepted (stillAsked); if the store will not free
		// it either, the record is marked ended, if that lands.
		if rerr := d.store.ReleaseClaim(context.WithoutCancel(ctx), rec.ClickKey, rec.holder()); rerr != nil {
			rec.State, rec.Result, rec.SettledAt = stateSettled, store.ResultRefused, d.now()
			if serr := d.saveRecord(context.WithoutCancel(ctx), rec); serr != nil {
				d.log.WarnContext(ctx, "could not end an action not accepted", "request_id", reqctx.ID(ctx), "action_id", rec.ID, "err", serr)
			}
		}
		r.dropLease(ctx)
		return err
	}
	r.saved = true
	if err := d.actions.Go(ctx, job); err != nil {
		// The queue is full: the action ends here, and whoever clicked is
		// told at once (through the answer path, which does not queue here).
		r.inRequest = true
		r.settle(ctx, outcome{result: store.ResultRefused, err: err})
	}
	return nil
}

// holderRecord is the action record a claim's holder names, or nil (no
// record named, or none written yet).
func (d *Dispatcher) holderRecord(ctx context.Context, holder string) *actionRecord {
	id, _ := parseHolder(holder)
	if id == "" {
		return nil
	}
	held, err := d.loadRecord(ctx, id, "")
	if err != nil {
		return nil
	}
	return held
}

// claimedBy explains a lost click claim: the action the holder's record
// (held, nil when not written yet: it has just started) describes is still
// running, or it has ended (when, and how).
func claimedBy(rec *actionRecord, holder string, held *actionRecord) error {
	_, user := parseHolder(holder)
	c := &claimedError{action: rec.Action, name: displayName(rec.Instance), requester: user}
	if held != nil && held.State == stateSettled {
		c.done, c.at, c.result = true, held.SettledAt, held.Result
	}
	return c
}

// claimWaiting claims key for holder, asking again every `every`, up to
// `tries` more times, while another holds it and retry (nil: always) says
// that holder lets go soon: for short locks a person's request may wait
// on. Not won, current is who held it last.
func (d *Dispatcher) claimWaiting(ctx context.Context, key, holder string, ttl time.Duration, tries int, every time.Duration, retry func(current string) bool) (won bool, current string, err error) {
	for attempt := 0; ; attempt++ {
		won, current, err = d.store.Claim(ctx, key, holder, ttl)
		if err != nil || won || (retry != nil && !retry(current)) {
			return won, current, err
		}
		if attempt == tries || !sleepCtx(ctx, every) {
			return false, current, nil
		}
	}
}

// releaseClaim frees key if holder still holds it; "" is no claim.
func (d *Dispatcher) releaseClaim(ctx context.Context, key, holder string) {
	if key == "" {
		return
	}
	if err := d.store.ReleaseClaim(context.WithoutCancel(ctx), key, holder); err != nil {
		d.log.WarnContext(ctx, "could not release claim", "request_id", reqctx.ID(ctx), "err", err)
	}
}

// run is one action's life in this process.
type run struct {
	d   *Dispatcher
	rec *actionRecord
	// via answers the person whose click drives this step (the requester,
	// or the approver once approved); it has no response_url after an
	// expiry, which nobody clicked.
	via *reply
	// inRequest: settle runs before the ack, so its answers are posted
	// after it.
	inRequest bool

	saved   bool // the record is in the store
	claimed bool // this run holds rec.ClickKey
	leased  bool // this replica holds the action's lease
	locked  bool // this run holds the instance lock
	rep     *reporter
	start   time.Time

	mu     sync.Mutex
	lost   bool               // another replica took the action over
	cancel context.CancelFunc // ends the run's work when the lease is lost
}

// takeLease makes this replica the one that runs the action, and keeps the
// lease alive until the run settles or hands off.
func (r *run) takeLease(ctx context.Context) error {
	key := store.LeaseKey(r.rec.ID)
	won, holder, err := r.d.store.Claim(ctx, key, r.d.replica, r.d.leaseTTL)
	if err != nil {
		return fmt.Errorf("lease action %s: %w", r.rec.ID, err)
	}
	if !won && holder != r.d.replica {
		return fmt.Errorf("lease action %s: %w", r.rec.ID, errLeaseHeld)
	}
	r.leased = true
	r.d.leases.hold(key, r.d.replica, r.lostLease)
	return nil
}

// dropLease stops running the action here and frees its lease.
func (r *run) dropLease(ctx context.Context) {
	if r.leased {
		r.d.leases.drop(ctx, store.LeaseKey(r.rec.ID))
		r.leased = false
	}
}

// lostLease is called when a renewal finds the lease gone: another replica
// runs the action now, so this run stops without reporting anything.
func (r *run) lostLease() {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.lost = true
	if r.cancel != nil {
		r.cancel()
	}
}

// leaseGone reports whether the store says another replica holds the
// action's lease now. When the store cannot say, the run reports: a
// duplicate edit is better than a message that never ends.
func (r *run) leaseGone(ctx context.Context) bool {
	if r.isLost() {
		return true
	}
	if !r.leased {
		return false
	}
	key := store.LeaseKey(r.rec.ID)
	ok, err := r.d.store.RenewClaim(ctx, key, r.d.replica, r.d.leaseTTL)
	if err == nil && !ok {
		// Lapsed (slow renewals) rather than taken: if nobody has claimed
		// it meanwhile, it is still this run's, and this run reports.
		var current string
		ok, current, err = r.d.store.Claim(ctx, key, r.d.replica, r.d.leaseTTL)
		ok = ok || current == r.d.replica
	}
	return err == nil && !ok
}

func (r *run) isLost() bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.lost
}

func (d *Dispatcher) newRun(rec *actionRecord, via *reply) *run {
	if via == nil {
		via = &reply{d: d}
	}
	return &run{d: d, rec: rec, via: via}
}

// outcome is how one step of an action ended.
type outcome struct {
	result   store.Result
	decision store.Decision // "" = as the record says (allowed, or approved)
	err      error          // why it was not done
	inst     ec2ops.Instance
	elapsed  time.Duration
}

// execute performs the action: the instance lock, the policy on fresh
// tags, the state and protection checks, the AWS call, progress while it
// waits, and the result. Whatever happens, it ends in settle, or, when
// this replica shuts down mid-wait, hands the action to the next one. An
// action taken over from a replica that died resumes where the record
// says it got to.
func (r *run) execute(ctx context.Context) {
	d, rec := r.d, r.rec
	ctx, cancel := context.WithTimeout(ctx, d.actionTimeout)
	defer cancel()
	r.mu.Lock()
	r.cancel = cancel
	lost := r.lost
	r.mu.Unlock()
	if lost {
		return
	}
	r.start = d.now()
	resumed := rec.State == stateActing || rec.State == stateWaiting

	api, err := d.clients.Client(ctx, rec.team())
	if err != nil {
		r.settle(ctx, outcome{result: store.ResultRefused, err: err})
		return
	}
	if resumed {
		// Whatever happens next is reported where the action's progress
		// already shows, even a refusal.
		r.rep = d.newReporter(api, rec, r.via)
		if !r.rep.resume(rec) {
			r.rep = nil
		}
	}
	lockKey := store.InstanceLockKey(rec.Instance.Account, rec.Instance.Region, rec.Instance.ID)
	lockTTL := 2 * d.leaseTTL
	won, holder, err := d.store.Claim(ctx, lockKey, rec.holder(), lockTTL)
	// A lock that names this record is this action's own, left by the
	// replica it is taken over from.
	if resumed && (err != nil || (!won && holder != rec.holder())) {
		// Its AWS call may be out, so it is not refused: the next look
		// carries it on once the store answers and the lock is free.
		r.rep = nil
		r.dropLease(ctx)
		return
	}
	if err != nil {
		r.settle(ctx, outcome{result: store.ResultRefused, err: err})
		return
	}
	if !won && holder != rec.holder() {
		_, user := parseHolder(holder)
		r.settle(ctx, outcome{result: store.ResultRefused, err: &busyInstanceError{name: displayName(rec.Instance), holder: user}})
		return
	}
	r.locked = true
	d.leases.holdFor(lockKey, rec.holder(), lockTTL, nil)
	// Both people an approved action needs, as they were when they
	// clicked (a Slack Connect user stays external).
	deciders := []viewer{d.viewerAs(ctx, rec.team(), rec.Requester, rec.Channel, rec.RequesterTeam)}
	if rec.Approver != "" {
		deciders = append(deciders, d.viewerAs(ctx, rec.team(), rec.Approver, rec.Channel, rec.ApproverTeam))
	}
	progress := blocks.ProgressView{Action: rec.Action, Instance: instanceView(rec.Instance, ""),
		Requester: rec.Requester, Approver: rec.Approver, State: rec.Instance.State}
	req := ec2ops.ActionRequest{Action: rec.Action, Account: rec.Instance.Account, Region: rec.Instance.Region,
		InstanceID: rec.Instance.ID, Actor: rec.Requester, Session: rec.Scheduled.roleSession(), Resume: resumed, ResumeAt: rec.Phase,
		// Decided again right before the AWS call, on the tags AWS has just
		// described, for the requester and for the approver; the same
		// describe serves ec2ops' state and protection checks.
		Authorize: func(detail ec2ops.Detail) error {
			if rec.Scheduled != nil {
				// The schedule was allowed when it was attached, and acts
				// while the instance still follows it; its occurrence's
				// message, not one of its own, shows how it goes.
				if err := rec.Scheduled.follows(detail.Instance); err != nil {
					return err
				}
				rec.Instance = detail.Instance
				r.rep = &reporter{d: d, api: api, via: r.via}
				return nil
			}
			var dec policy.Decision
			for _, who := range deciders {
				var err error
				if dec, err = d.require(who, rec.Action, detail.Instance); err != nil {
					return err
				}
			}
			// Once approved, the approver's rule is the one that acts.
			rec.Instance, rec.Rule = detail.Instance, dec.Rule
			progress.Instance, progress.State = instanceView(rec.Instance, ""), rec.Instance.State
			if r.rep != nil { // taken over: its message is already up
				r.rep.progress(ctx, progress)
				return nil
			}
			r.rep = d.newReporter(api, rec, r.via)
			rec.Progress = r.rep.start(ctx, progress)
			return nil
		},
		// Written before each AWS call goes out, so that whoever takes the
		// action over knows it may have been sent.
		Sending: func(call action.Action) {
			rec.State, rec.Phase = stateActing, call
			r.save(ctx)
			// The state changes this call causes are reported here, not
			// again by the notify flow (notify.go).
			r.markOwnChange(ctx)
		},
	}
	res, err := d.fleet.Do(ctx, req, func(p ec2ops.Progress) {
		if rec.State != stateWaiting {
			rec.State = stateWaiting
			r.save(ctx)
		}
		progress.State, progress.Elapsed = p.State, p.Elapsed
		r.rep.progress(ctx, progress)
	})
	canceled := err != nil && ctx.Err() != nil && errors.Is(err, ec2ops.KindCanceled)
	switch {
	case r.isLost():
		// Another replica took the action over and will report it.
		r.forgetLock()
	case canceled && d.closing() && r.handOff(ctx, progress):
		// This replica is shutting down; the next one carries on.
	case err != nil && r.rep == nil:
		// Refused before anything was shown or done: state, protection,
		// policy, or AWS could not describe the instance.
		r.settle(ctx, outcome{result: store.ResultRefused, err: err})
	case canceled:
		// The wait was cut short and could not be handed on: say so rather
		// than leave "Stopping…" in the channel forever.
		r.settle(ctx, outcome{result: store.ResultInterrupted, err: &interruptedError{name: displayName(rec.Instance), state: progress.State}})
	case err != nil:
		r.settle(ctx, outcome{result: store.ResultFailed, err: err})
	default:
		r.settle(ctx, outcome{result: store.ResultDone, inst: res.Instance, elapsed: res.Elapsed})
	}
}

// handOff leaves an action that this replica cannot finish (it is shutting
// down) open for the next one: the record keeps how far it got, the lease
// is freed so that another replica, or this one restarted, takes it over at
// once, and the progress message says what happens. It reports false when
// the record could not be kept, so the caller settles instead.
func (r *run) handOff(ctx context.Context, progress blocks.ProgressView) bool {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), reportTimeout)
	defer cancel()
	if !r.saved || r.d.saveRecord(ctx, r.rec) != nil {
		return false
	}
	r.forgetLock()
	r.dropLease(ctx)
	progress.FallbackNote = "Charlize is restarting; it will carry on with this and post the result here."
	if r.rep != nil {
		r.rep.show(ctx, progress)
	}
	r.d.log.InfoContext(ctx, "action handed off at shutdown", "request_id", reqctx.ID(ctx), "action_id", r.rec.ID, "state", r.rec.State)
	return true
}

// forgetLock stops renewing the instance lock without releasing it: it
// names the record, so whoever runs the action next holds it already.
func (r *run) forgetLock() {
	if r.locked {
		r.d.leases.forget(store.InstanceLockKey(r.rec.Instance.Account, r.rec.Instance.Region, r.rec.Instance.ID))
		r.locked = false
	}
}

// save writes the record, when it is kept at all; a failure is logged, as
// the action goes on regardless.
func (r *run) save(ctx context.Context) {
	if !r.saved {
		return
	}
	if err := r.d.saveRecord(context.WithoutCancel(ctx), r.rec); err != nil {
		r.d.log.WarnContext(ctx, "could not save action record", "request_id", reqctx.ID(ctx), "action_id", r.rec.ID, "err", err)
	}
}

// reportTimeout bounds reporting an outcome after the action's own context
// ended.
const reportTimeout = 10 * time.Second

// settle is where every step of an action ends: it frees what the action
// holds (the instance lock, and the click's claim when nothing was done, so
// the button may be pressed again), records the outcome, audits it, counts
// it, and edits every message that speaks of the action. A pending outcome
// (approval requested, or approved and about to run) releases nothing.
func (r *run) settle(ctx context.Context, o outcome) {
	d, rec := r.d, r.rec
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), reportTimeout)
	defer cancel()

	if r.leaseGone(ctx) {
		// This replica stalled past its lease and another one took the
		// action over: that one reports it.
		r.forgetLock()
		d.leases.forget(store.LeaseKey(rec.ID))
		return
	}
	var text blocks.Text
	if o.err != nil {
		text = d.failureText(ctx, "act "+string(rec.Action), o.err)
	}
	decision := o.decision
	var denied *deniedError
	switch {
	case decision != "":
	case o.result == store.ResultRefused && errors.As(o.err, &denied):
		decision = store.DecisionRefused
	case rec.Approver != "":
		decision = store.DecisionApproved
	default:
		decision = store.DecisionAllowed
	}
	// The record first: once the lease is free, another replica must find
	// the action ended (or waiting for approval), not open to take over.
	rec.Decision, rec.Result, rec.Outcome = decision, o.result, text.String()
	if o.result != store.ResultPending {
		rec.State, rec.SettledAt = stateSettled, d.now()
	}
	r.save(ctx)

	if r.locked {
		d.leases.drop(ctx, store.InstanceLockKey(rec.Instance.Account, rec.Instance.Region, rec.Instance.ID))
		r.locked = false
	}
	// Nobody runs an action while it waits for approval.
	if o.result != store.ResultPending || decision == store.DecisionApprovalRequested {
		r.dropLease(ctx)
	}
	if (o.result == store.ResultRefused || o.result == store.ResultFailed) && r.claimed {
		// Nothing was done: the same button may be pressed again.
		d.releaseClaim(ctx, rec.ClickKey, rec.holder())
		r.claimed = false
	}

	d.audit(ctx, r.auditEntry(ctx, o, decision, text))
	metric := string(o.result)
	if o.result == store.ResultPending || decision == store.DecisionDenied || decision == store.DecisionExpired {
		metric = string(decision)
	}
	d.observeAction(rec.Action, metric)

	if o.result != store.ResultPending {
		r.report(ctx, o, decision, text)
	}
}

// auditEntry is the audit log's line for an outcome.
func (r *run) auditEntry(ctx context.Context, o outcome, decision store.Decision, text blocks.Text) store.AuditEntry {
	rec, now := r.rec, r.d.now()
	e := store.AuditEntry{
		Time: now, RequestID: reqctx.ID(ctx), TeamID: rec.TeamID, ChannelID: rec.Channel, UserID: rec.Requester,
		Account: rec.Instance.Account, Region: rec.Instance.Region, InstanceID: rec.Instance.ID, InstanceName: rec.Instance.Name,
		Action: rec.Action, Decision: decision, Rule: rec.Rule, ApprovedBy: rec.Approver, Result: o.result, Error: text.String(),
		Detail: rec.Scheduled.detail(),
	}
	if !r.start.IsZero() {
		e.Time = r.start
		if o.result != store.ResultRefused {
			e.Duration = now.Sub(r.start)
		}
	}
	switch decision {
	case store.DecisionApprovalRequested, store.DecisionExpired:
		e.Rule = rec.Approval.ID
	case store.DecisionApproved:
		if o.result == store.ResultPending {
			e.Rule = strings.TrimPrefix(rec.Rule+", "+rec.Approval.ID, ", ")
		}
	case store.DecisionDenied:
		e.UserID, e.ApprovedBy, e.Rule = rec.DecidedBy, "", rec.Approval.ID
	}
	return e
}

// report edits every message that speaks of a settled action and tells the
// people it concerns: the progress message (the approval request, once
// approved) shows the result; an approval request that ends without
// running says why, without buttons; whoever clicked hears privately of a
// refusal, and a requester who did not click hears of it too.
func (r *run) report(ctx context.Context, o outcome, decision store.Decision, text blocks.Text) {
	d, rec := r.d, r.rec
	if rec.Scheduled != nil {
		d.scheduledSettled(ctx, rec)
		return
	}
	if r.rep != nil {
		msg := r.resultMessage(ctx, o, text)
		if !r.rep.finish(ctx, msg) {
			// The channel never got it: the requester does.
			d.tellPrivately(ctx, rec.team(), rec.Channel, rec.Requester, msg)
		}
		return
	}
	if rec.Request.TS != "" {
		view := approvalView(rec)
		var msg slack.WebhookMessage
		switch decision {
		case store.DecisionDenied:
			msg = blocks.ApprovalDecided(view, rec.DecidedBy, false)
		case store.DecisionExpired:
			msg = blocks.ApprovalExpired(view)
		default: // approved, then refused when it was to run
			msg = blocks.ApprovalNotDone(view, rec.Approver, text)
		}
		d.editPosted(ctx, rec.team(), rec.Request, msg, r.via)
	}
	if !text.IsZero() && r.via.responseURL != "" {
		refusal := blocks.Refusal(text)
		if r.inRequest {
			r.via.soon(ctx, func(ctx context.Context, v *reply) { v.refuse(ctx, refusal) })
		} else {
			r.via.refuse(ctx, refusal)
		}
	}
	switch {
	case decision == store.DecisionExpired:
		d.tellPrivately(ctx, rec.team(), rec.Channel, rec.Requester, blocks.ApprovalExpired(approvalView(rec)))
	case decision == store.DecisionDenied && rec.DecidedBy != rec.Requester:
		// Someone else said no; a requester who withdrew knows.
		d.tellPrivately(ctx, rec.team(), rec.Channel, rec.Requester, blocks.ApprovalDecided(approvalView(rec), rec.DecidedBy, false))
	case rec.Approver != "" && !text.IsZero():
		d.tellPrivately(ctx, rec.team(), rec.Channel, rec.Requester, blocks.Refusal(blocks.Say(
			"%s approved your request to %s %s, but it was not done: %s", blocks.User(rec.Approver), string(rec.Action),
			displayName(rec.Instance), text)))
	}
}

// resultMessage renders how a started action ended, with the buttons of
// the instance's new state on a fresh card session.
func (r *run) resultMessage(ctx context.Context, o outcome, text blocks.Text) slack.WebhookMessage {
	d, rec := r.d, r.rec
	result := blocks.ResultView{Action: rec.Action, Instance: instanceView(rec.Instance, ""), Requester: rec.Requester, Approver: rec.Approver}
	if o.result != store.ResultDone {
		result.Message = text
		return blocks.Result(result)
	}
	result.OK, result.Elapsed = true, o.elapsed
	st := flowState{Kind: kindCard, TeamID: rec.TeamID, ChannelID: rec.Channel, UserID: rec.Requester, Items: []ec2ops.Instance{o.inst}}
	if id, err := d.saveFlow(ctx, st); err == nil {
		result.Instance = instanceView(o.inst, itemValue(id, 0))
		result.Buttons = result.Instance.Buttons
	} else {
		result.Instance = instanceView(o.inst, "")
	}
	return blocks.Result(result)
}

func (d *Dispatcher) observeAction(a action.Action, result string) {
	if d.metrics != nil {
		d.metrics.ObserveAction(string(a), result)
	}
}
