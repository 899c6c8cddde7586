package app

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/google/uuid"
	"github.com/slack-go/slack"

	"github.com/charlize-app/charlize/blocks"
	"github.com/charlize-app/charlize/ec2ops"
	"github.com/charlize-app/charlize/handlers/reqctx"
	"github.com/charlize-app/charlize/handlers/slackclient"
	"github.com/charlize-app/charlize/store"
)

// The approval flow: a two-person rule turns an action into a request
// posted in the channel. The request is the action's record waiting for a
// decision; Approve runs it (the request message then shows its progress),
// Deny and expiry end it through settle like every other exit.

// requestApproval posts an Approve / Deny request in the channel instead of
// acting. What would be refused when approved (the instance's state, its
// termination protection) is refused now, as it would be without approval.
func (r *run) requestApproval(ctx context.Context) {
	d, rec := r.d, r.rec
	api, err := d.clients.Client(ctx, rec.team())
	if err != nil {
		r.settle(ctx, outcome{result: store.ResultRefused, err: err})
		return
	}
	// Until the request is posted and its record says where, nobody
	// decides on it or expires it: they would not find the message to
	// edit, and this flow's last save would undo what they did. A posting
	// claim already there is another run's: one that is still posting
	// (whose record save did not land, so the action looked abandoned),
	// or a dead replica's, which lapses within postingTTL. Either way the
	// takeover loop looks again later.
	decisionKey := store.ApprovalDecisionKey(rec.ID)
	won, _, err := d.store.Claim(ctx, decisionKey, postingHolder, postingTTL)
	if err != nil {
		r.settle(ctx, outcome{result: store.ResultRefused, err: err})
		return
	}
	if !won {
		r.dropLease(ctx)
		return
	}
	// Renewed while it posts, however long AWS and Slack take.
	d.leases.holdFor(decisionKey, postingHolder, postingTTL, nil)
	defer func() {
		d.leases.drop(ctx, decisionKey)
		if rec.State == stateAwaitingApproval {
			d.trackApproval(ctx, rec.ID, rec.ExpiresAt)
		}
	}()
	detail, err := d.fleet.Check(ctx, ec2ops.ActionRequest{Action: rec.Action, Account: rec.Instance.Account,
		Region: rec.Instance.Region, InstanceID: rec.Instance.ID, Actor: rec.Requester})
	if err != nil {
		r.settle(ctx, outcome{result: store.ResultRefused, err: err})
		return
	}
	// Asked for on the tags the button showed: the requester must be
	// allowed on the instance as it is, or approval would let through
	// what acting alone would refuse.
	requester := d.viewerAs(ctx, rec.team(), rec.Requester, rec.Channel, rec.RequesterTeam)
	if _, err := d.require(requester, rec.Action, detail.Instance); err != nil {
		r.settle(ctx, outcome{result: store.ResultRefused, err: err})
		return
	}
	rec.Instance = detail.Instance
	rec.State, rec.ExpiresAt = stateAwaitingApproval, d.now().Add(d.approvalTTL)
	r.save(ctx)
	// Nobody runs an action while it waits for approval, and an approval
	// may come as soon as the request is posted: free the lease now, or
	// this run's settle would free the approved run's (same replica, same
	// lease) and another look would take that run over.
	r.dropLease(ctx)
	view := approvalView(rec)
	ts, err := slackclient.PostMessage(ctx, api, rec.Channel, blocks.ApprovalRequest(view))
	if err != nil {
		d.log.InfoContext(ctx, "approval request not posted", "request_id", reqctx.ID(ctx), "slack_error", slackclient.ErrorCode(err))
		r.settle(ctx, outcome{result: store.ResultRefused, err: &approvalNotPostedError{cannotPost: slackclient.CannotPost(err), err: err}})
		return
	}
	rec.Request = origin{ChannelID: rec.Channel, TS: ts}
	if rec.Origin.Ephemeral {
		r.via.replace(ctx, blocks.ApprovalPending(view))
	} else {
		r.via.private(ctx, blocks.ApprovalPending(view))
	}
	r.settle(ctx, outcome{result: store.ResultPending, decision: store.DecisionApprovalRequested})
}

// postingHolder holds a request's decision claim while it is posted, for
// at most postingTTL (a replica that dies meanwhile lets it go then).
// A decision or the expiry holds it for decisionTTL: only while it writes
// the decision into the record, which from then on refuses any other
// (undecidable). A decider that dies, or a claim that landed though its
// answer timed out, so blocks the request for moments, not for good.
const (
	postingHolder = "posting"
	postingTTL    = 30 * time.Second
	decisionTTL   = 15 * time.Second
	// A decision waits for the posting (a Slack post or two) up to 1.5 s,
	// which still leaves the click time to be acknowledged.
	postingTries, postingPoll = 30, 50 * time.Millisecond
)

// undecidable says why rec can no longer be decided on, or nil.
func undecidable(rec *actionRecord) error {
	switch {
	case rec.Decision == store.DecisionExpired:
		return errApprovalGone
	case rec.State != stateAwaitingApproval:
		return &decidedError{by: rec.DecidedBy}
	}
	return nil
}

func approvalView(rec *actionRecord) blocks.ApprovalView {
	v := blocks.ApprovalView{Action: rec.Action, Instance: instanceView(rec.Instance, ""), Requester: rec.Requester,
		ExpiresAt: rec.ExpiresAt, Value: rec.ID}
	if rec.Approval != nil {
		v.Rule = rec.Approval.Says
	}
	return v
}

// decideApproval handles Approve and Deny. Only a different person whom
// the policy allows to perform the action may approve; the requester may
// withdraw with Deny. The first decision wins, once.
// Its action_id is "approval:approve" or "approval:deny", its value the
// request's record id.
func (d *Dispatcher) decideApproval(ctx context.Context, cb slack.InteractionCallback, p pressed) error {
	verb, value := p.sub, p.value
	if _, err := uuid.Parse(value); err != nil {
		return errBadValue
	}
	rec, err := d.loadRecord(ctx, value, cb.Team.ID)
	if err != nil {
		return err
	}
	if !rec.Action.Mutates() || rec.Approval == nil {
		return errBadValue
	}
	v := d.viewerOfCallback(ctx, cb)
	refuse := func(err error) error {
		e := auditEntry(ctx, d.now(), v, rec.Instance, rec.Action, store.DecisionRefused, store.ResultRefused, d.failureText(ctx, "approval", err).String())
		e.Rule = rec.Approval.ID
		d.audit(ctx, e)
		return err
	}
	if err := undecidable(rec); err != nil {
		return err
	}
	if !d.now().Before(rec.ExpiresAt) {
		d.expireApproval(ctx, value)
		return errApprovalGone
	}
	approve := verb == "approve"
	withdraw := !approve && cb.User.ID == rec.Requester
	if approve && cb.User.ID == rec.Requester {
		return refuse(&selfApprovalError{action: rec.Action})
	}
	dec := d.decide(v, rec.Action, rec.Instance)
	if !dec.Allowed && !withdraw {
		return refuse(&deniedError{what: "decide on this request", reason: dec.Reason})
	}
	decisionKey := store.ApprovalDecisionKey(value)
	won, holder, err := d.claimWaiting(ctx, decisionKey, cb.User.ID, decisionTTL, postingTries, postingPoll,
		func(current string) bool { return current == postingHolder })
	if err != nil {
		return fmt.Errorf("claim approval: %w", err)
	}
	if !won {
		switch {
		case strings.HasPrefix(holder, expiredHolder):
			return errApprovalGone
		case holder == postingHolder:
			return fmt.Errorf("decide on %s: %w", value, errApprovalPosting)
		}
		return &decidedError{by: holder}
	}
	// The record as the posting left it, which may have ended after the
	// first look: where the request is and what it says.
	if rec, err = d.loadRecord(ctx, value, cb.Team.ID); err == nil {
		err = undecidable(rec)
	}
	if err != nil {
		d.releaseClaim(ctx, decisionKey, cb.User.ID)
		return err
	}
	d.untrackApproval(ctx, value)
	if rec.Request.TS == "" {
		rec.Request = origin{ChannelID: channelOf(cb), TS: cb.Container.MessageTs}
	}
	r := d.newRun(rec, d.replyToClick(cb))
	r.saved, r.claimed = true, true
	rec.DecidedBy = cb.User.ID
	if !approve {
		err := d.workers.Go(ctx, func(ctx context.Context) {
			r.settle(ctx, outcome{result: store.ResultRefused, decision: store.DecisionDenied})
		})
		if err != nil {
			// Nothing was denied: the request stays open to be decided.
			d.releaseClaim(ctx, decisionKey, cb.User.ID)
			d.trackApproval(ctx, rec.ID, rec.ExpiresAt)
		}
		return err
	}
	// Like the action's own entry: the requester's action, approved by the
	// second person, so filtering on either finds it. The request message
	// itself then shows the progress and the result.
	undecide := func(err error) error {
		// Nobody acts: let the request be decided again.
		rec.Approver, rec.ApproverTeam, rec.DecidedBy, rec.State = "", "", "", stateAwaitingApproval
		r.save(ctx)
		r.dropLease(ctx)
		d.releaseClaim(ctx, store.ApprovalDecisionKey(value), cb.User.ID)
		d.trackApproval(ctx, rec.ID, rec.ExpiresAt)
		return err
	}
	if err := r.takeLease(ctx); err != nil {
		return undecide(err)
	}
	rec.Approver, rec.ApproverTeam, rec.Rule, rec.State = cb.User.ID, v.homeTeam(), dec.Rule, stateQueued
	rec.Origin = origin{ChannelID: rec.Request.ChannelID, TS: rec.Request.TS, ResponseURL: cb.ResponseURL}
	r.settle(ctx, outcome{result: store.ResultPending, decision: store.DecisionApproved})
	if err := d.actions.Go(ctx, r.execute); err != nil {
		return undecide(err)
	}
	return nil
}

// expiredHolder begins the holder of an approval claim taken by its
// expiry; the replica's name follows, so that a replica whose claim landed
// though its answer timed out carries on, and no other expires it twice.
const expiredHolder = "expired"

// expireApproval closes an undecided request and says so, once. When the
// store cannot answer, the takeover loop's next look arms it again.
func (d *Dispatcher) expireApproval(ctx context.Context, id string) {
	key, holder := store.ApprovalDecisionKey(id), expiredHolder+"/"+d.replica
	won, current, err := d.store.Claim(ctx, key, holder, decisionTTL)
	if err != nil || (!won && current != holder) {
		return
	}
	d.untrackApproval(ctx, id)
	rec, err := d.loadRecord(ctx, id, "")
	if err != nil {
		d.log.WarnContext(ctx, "expired approval request has no record", "request_id", reqctx.ID(ctx), "action_id", id, "err", err)
		return
	}
	if undecidable(rec) != nil {
		// Decided (or expired) by whoever held the claim before.
		d.releaseClaim(ctx, key, holder)
		return
	}
	r := d.newRun(rec, nil)
	r.saved, r.claimed = true, true
	r.settle(ctx, outcome{result: store.ResultRefused, decision: store.DecisionExpired})
}

// expiryTimers closes approval requests when their time is up; a click
// after a restart (which loses the timers) finds them expired all the same.
type expiryTimers struct {
	mu     sync.Mutex
	timers map[string]*time.Timer
	closed bool
}

// schedule arms f for id once; a timer already armed for id stays.
func (t *expiryTimers) schedule(id string, after time.Duration, f func()) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if _, armed := t.timers[id]; t.closed || armed {
		return
	}
	t.timers[id] = time.AfterFunc(after, func() {
		t.mu.Lock()
		delete(t.timers, id)
		t.mu.Unlock()
		f()
	})
}

func (t *expiryTimers) stop(id string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if tm, ok := t.timers[id]; ok {
		tm.Stop()
		delete(t.timers, id)
	}
}

func (t *expiryTimers) stopAll() {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.closed = true
	for id, tm := range t.timers {
		tm.Stop()
		delete(t.timers, id)
	}
}

// trackApproval arms the expiry of an open request in this replica; the
// takeover loop arms it in every other replica (and after a restart), and
// the decision claim makes the expiry happen once.
func (d *Dispatcher) trackApproval(ctx context.Context, id string, expires time.Time) {
	d.approvals.schedule(id, max(0, expires.Sub(d.now())), func() {
		_ = d.workers.Go(context.WithoutCancel(ctx), func(ctx context.Context) { d.expireApproval(ctx, id) })
	})
}

// untrackApproval forgets a decided or expired request's timer.
func (d *Dispatcher) untrackApproval(_ context.Context, id string) {
	d.approvals.stop(id)
}
