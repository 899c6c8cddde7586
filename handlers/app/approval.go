package app

import (
	"context"
	"encoding/json"
	"errors"
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

// requestApproval posts an Approve / Deny request in the channel instead of
// acting: the policy's two-person rule asks for a second person.
func (d *Dispatcher) requestApproval(ctx context.Context, job actionJob, rule string) {
	v := viewer{team: job.team, user: job.user, channel: job.channel}
	entry := auditEntry(ctx, d.now(), v, job.inst, string(job.action), "approval_requested", "pending", "")
	entry.Rule = rule
	fail := func(text string) {
		d.releaseClaim(ctx, job.clickKey, job.user) // nothing happened; the button may be pressed again
		d.tellNow(ctx, job.origin.ResponseURL, blocks.Refusal(text))
		entry.Result, entry.Error = "refused", text
		d.audit(ctx, entry)
	}
	api, err := d.clients.Client(ctx, job.team)
	if err != nil {
		fail(d.failure(ctx, "approval", err).Text)
		return
	}
	expires := d.now().Add(d.approvalTTL)
	st := flowState{Kind: "approval", TeamID: job.team.ID, ChannelID: job.channel, UserID: job.user,
		Action: job.action, Items: []ec2ops.Instance{job.inst}, Origin: job.origin, Rule: rule, ExpiresAt: expires,
		ClickKey: job.clickKey}
	id, err := d.saveFlow(ctx, st)
	if err != nil {
		fail(d.failure(ctx, "approval", err).Text)
		return
	}
	view := approvalView(st, id)
	ts, err := slackclient.PostMessage(ctx, api, job.channel, blocks.ApprovalRequest(view))
	if err != nil {
		text := "I couldn't post the approval request in the channel."
		if slackclient.CannotPost(err) {
			text = "This action needs a second person's approval, and I can't post the request in this channel. Invite me (`/invite @Charlize`) and try again."
		}
		d.log.InfoContext(ctx, "approval request not posted", "request_id", reqctx.ID(ctx), "slack_error", slackclient.ErrorCode(err))
		fail(text)
		return
	}
	st.Posted = origin{ChannelID: job.channel, TS: ts}
	if err := d.putFlow(ctx, id, st); err != nil {
		d.log.ErrorContext(ctx, "could not record where the approval request is", "request_id", reqctx.ID(ctx), "err", err)
	}
	pending := blocks.ApprovalPending(view)
	if job.origin.Ephemeral {
		pending = replacing(pending)
	}
	d.tellNow(ctx, job.origin.ResponseURL, pending)
	d.audit(ctx, entry)
	d.trackApproval(ctx, id, expires)
}

func approvalView(st flowState, id string) blocks.ApprovalView {
	var inst ec2ops.Instance
	if len(st.Items) > 0 {
		inst = st.Items[0]
	}
	return blocks.ApprovalView{Action: string(st.Action), Instance: instanceView(inst, ""), Requester: st.UserID,
		Rule: st.Rule, ExpiresAt: st.ExpiresAt, Value: id}
}

// decideApproval handles Approve and Deny. Only a different person whom
// the policy allows to perform the action may approve; the requester may
// withdraw with Deny. The first decision wins, once.
func (d *Dispatcher) decideApproval(ctx context.Context, cb slack.InteractionCallback, verb, value string) error {
	if _, err := uuid.Parse(value); err != nil {
		return errBadValue
	}
	st, err := d.loadFlow(ctx, value, cb.Team.ID)
	if err != nil {
		return err
	}
	inst, err := st.item(0)
	if err != nil {
		return err
	}
	action := st.Action
	if !action.Mutates() {
		return errBadValue
	}
	v := d.viewerOfCallback(ctx, cb)
	refuse := func(text string) error {
		d.tell(ctx, cb.ResponseURL, blocks.Refusal(text))
		e := auditEntry(ctx, d.now(), v, inst, string(action), "refused", "refused", text)
		e.Rule = st.Rule
		d.audit(ctx, e)
		return nil
	}
	if !d.now().Before(st.ExpiresAt) {
		d.expireApproval(ctx, value)
		d.tell(ctx, cb.ResponseURL, blocks.Refusal("This approval request has expired; ask again if it is still needed."))
		return nil
	}
	approve := verb == "approve"
	withdraw := !approve && cb.User.ID == st.UserID
	if approve && cb.User.ID == st.UserID {
		return refuse(fmt.Sprintf("You can't approve your own request: another person allowed to %s must.", action))
	}
	dec := d.decide(v, string(action), inst)
	if !dec.Allowed && !withdraw {
		return refuse(fmt.Sprintf("You can't decide on this request: %s.", blocks.Escape(dec.Reason)))
	}
	won, holder, err := d.store.Claim(ctx, "approval:"+value, cb.User.ID, d.approvalTTL+time.Hour)
	if err != nil {
		return fmt.Errorf("claim approval: %w", err)
	}
	if !won {
		if holder == expiredHolder {
			d.tell(ctx, cb.ResponseURL, blocks.Refusal("This approval request has expired; ask again if it is still needed."))
			return nil
		}
		d.tell(ctx, cb.ResponseURL, blocks.Refusal(fmt.Sprintf("This request was already decided (by <@%s>).", holder)))
		return nil
	}
	d.untrackApproval(ctx, value)
	view := approvalView(st, value)
	posted := st.Posted
	if posted.TS == "" {
		posted = origin{ChannelID: channelOf(cb), TS: cb.Container.MessageTs}
	}
	posted.ResponseURL = cb.ResponseURL
	entry := auditEntry(ctx, d.now(), v, inst, string(action), "denied", "refused", "")
	entry.Rule = st.Rule
	if !approve {
		d.updatePosted(ctx, slackclient.Team{ID: st.TeamID, EnterpriseID: cb.Enterprise.ID}, posted, blocks.ApprovalDecided(view, cb.User.ID, false))
		d.releaseClaim(ctx, st.ClickKey, st.UserID) // nothing was done: the button may ask again
		d.audit(ctx, entry)
		return nil
	}
	// Like the action's own entry: the requester's action, approved by
	// the second person, so filtering on either finds it.
	entry.UserID, entry.ApprovedBy = st.UserID, cb.User.ID
	entry.Decision, entry.Result, entry.Rule = "approved", "pending", strings.TrimPrefix(dec.Rule+", "+st.Rule, ", ")
	d.audit(ctx, entry)
	// The approval message itself shows the progress and the result.
	return d.startAction(ctx, actionJob{
		action: action, inst: inst, team: slackclient.Team{ID: st.TeamID, EnterpriseID: cb.Enterprise.ID},
		user: st.UserID, approver: cb.User.ID, channel: st.ChannelID, request: st.ClickKey,
		origin:   origin{ChannelID: posted.ChannelID, TS: posted.TS, ResponseURL: cb.ResponseURL},
		clickKey: "approved:" + value,
	})
}

// expiredHolder marks an approval claim taken by its expiry.
const expiredHolder = "expired"

// expireApproval closes an undecided request and says so, once.
func (d *Dispatcher) expireApproval(ctx context.Context, id string) {
	won, _, err := d.store.Claim(ctx, "approval:"+id, expiredHolder, d.approvalTTL+time.Hour)
	if err != nil || !won {
		return
	}
	d.untrackApproval(ctx, id)
	s, err := d.store.Session(ctx, id)
	if err != nil {
		return
	}
	st, err := decodeFlow(s.Data)
	if err != nil || len(st.Items) == 0 {
		return
	}
	d.updatePosted(ctx, slackclient.Team{ID: st.TeamID}, st.Posted, blocks.ApprovalExpired(approvalView(st, id)))
	d.releaseClaim(ctx, st.ClickKey, st.UserID) // nothing was done: the button may ask again
	v := viewer{team: slackclient.Team{ID: st.TeamID}, user: st.UserID, channel: st.ChannelID}
	e := auditEntry(ctx, d.now(), v, st.Items[0], string(st.Action), "expired", "refused", "")
	e.Rule = st.Rule
	d.audit(ctx, e)
}

// updatePosted edits a message Charlize posted in a channel, or replaces it
// through the response_url when it cannot.
func (d *Dispatcher) updatePosted(ctx context.Context, team slackclient.Team, at origin, msg slack.WebhookMessage) {
	if at.TS != "" {
		api, err := d.clients.Client(ctx, team)
		if err == nil {
			err = slackclient.UpdateMessage(ctx, api, at.ChannelID, at.TS, msg)
		}
		if err == nil {
			return
		}
		d.log.WarnContext(ctx, "could not edit posted message", "request_id", reqctx.ID(ctx), "slack_error", slackclient.ErrorCode(err))
	}
	if at.ResponseURL != "" {
		msg.ReplaceOriginal, msg.ResponseType = true, slack.ResponseTypeInChannel
		d.tellNow(ctx, at.ResponseURL, msg)
	}
}

// expiryTimers closes approval requests when their time is up; a click
// after a restart (which loses the timers) finds them expired all the same.
type expiryTimers struct {
	mu     sync.Mutex
	timers map[string]*time.Timer
	closed bool
}

func (t *expiryTimers) schedule(id string, after time.Duration, f func()) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.closed {
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

// Open approval requests are listed in one store session, so that a
// replica that starts (or restarts) can close the ones whose time runs out
// while nobody clicks; the expiry claim keeps that to once across replicas.
const (
	pendingApprovalsID = "charlize:pending-approvals"
	pendingLockKey     = "lock:pending-approvals"
	pendingLockTTL     = 5 * time.Second
	pendingLockWait    = 3 * time.Second
)

// pendingApprovals maps approval session ids to when they expire.
type pendingApprovals map[string]time.Time

// updatePending changes the list under a short store lock, as replicas
// may change it at once.
func (d *Dispatcher) updatePending(ctx context.Context, change func(pendingApprovals)) error {
	holder := uuid.NewString()
	deadline := time.Now().Add(pendingLockWait)
	for {
		won, _, err := d.store.Claim(ctx, pendingLockKey, holder, pendingLockTTL)
		if err != nil {
			return fmt.Errorf("lock pending approvals: %w", err)
		}
		if won {
			break
		}
		if time.Now().After(deadline) {
			return errors.New("lock pending approvals: still held by another replica")
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(20 * time.Millisecond):
		}
	}
	defer d.releaseClaim(ctx, pendingLockKey, holder)

	pending, err := d.loadPending(ctx)
	if err != nil {
		return err
	}
	change(pending)
	data, err := json.Marshal(pending)
	if err != nil {
		return fmt.Errorf("encode pending approvals: %w", err)
	}
	// Outlives every request it lists (each lasts approvalTTL).
	ttl := d.approvalTTL + 24*time.Hour
	if err := d.store.PutSession(ctx, store.Session{ID: pendingApprovalsID, Data: data}, ttl); err != nil {
		return fmt.Errorf("save pending approvals: %w", err)
	}
	return nil
}

func (d *Dispatcher) loadPending(ctx context.Context) (pendingApprovals, error) {
	pending := pendingApprovals{}
	s, err := d.store.Session(ctx, pendingApprovalsID)
	if errors.Is(err, store.ErrNotFound) {
		return pending, nil
	}
	if err != nil {
		return nil, fmt.Errorf("load pending approvals: %w", err)
	}
	if err := json.Unmarshal(s.Data, &pending); err != nil {
		return nil, fmt.Errorf("decode pending approvals: %w", err)
	}
	return pending, nil
}

// trackApproval lists an open request and arms its expiry.
func (d *Dispatcher) trackApproval(ctx context.Context, id string, expires time.Time) {
	if err := d.updatePending(ctx, func(p pendingApprovals) { p[id] = expires }); err != nil {
		// The request still expires here, and on any late click.
		d.log.WarnContext(ctx, "could not list the approval request", "request_id", reqctx.ID(ctx), "err", err)
	}
	d.armExpiry(ctx, id, expires)
}

// untrackApproval drops a decided or expired request from the list.
func (d *Dispatcher) untrackApproval(ctx context.Context, id string) {
	d.approvals.stop(id)
	if err := d.updatePending(context.WithoutCancel(ctx), func(p pendingApprovals) { delete(p, id) }); err != nil {
		d.log.WarnContext(ctx, "could not unlist the approval request", "request_id", reqctx.ID(ctx), "err", err)
	}
}

func (d *Dispatcher) armExpiry(ctx context.Context, id string, expires time.Time) {
	d.approvals.schedule(id, max(0, expires.Sub(d.now())), func() {
		_ = d.workers.Go(context.WithoutCancel(ctx), func(ctx context.Context) { d.expireApproval(ctx, id) })
	})
}

// ResumeApprovals arms the expiry of every open approval request, so that
// requests opened before a restart (or by another replica that stopped)
// still close and say so on time. run calls it once at start.
func (d *Dispatcher) ResumeApprovals(ctx context.Context) error {
	pending, err := d.loadPending(ctx)
	if err != nil {
		return err
	}
	for id, expires := range pending {
		d.armExpiry(ctx, id, expires)
	}
	return nil
}
