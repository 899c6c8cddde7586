package app

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/slack-go/slack"

	"github.com/charlize-app/charlize/blocks"
	"github.com/charlize-app/charlize/ec2ops"
	"github.com/charlize-app/charlize/ec2ops/action"
	"github.com/charlize-app/charlize/ec2ops/awsevents"
	"github.com/charlize-app/charlize/handlers/policy"
	"github.com/charlize-app/charlize/handlers/reqctx"
	"github.com/charlize-app/charlize/handlers/slackclient"
	"github.com/charlize-app/charlize/store"
)

// The notify flow: Charlize speaks first. Each event from an SQS queue
// (awsevents hands them over) is posted once to its account's channel, as
// a card whose buttons are the act flow's. An event is claimed by its
// EventBridge id before anything is posted and remembered once posted, so
// a redelivery, or another replica receiving the same event, posts
// nothing. State changes that an action of Charlize caused are not posted
// (the action's own message reports them); many changes of one account at
// once become one summary; an alarm's message is edited as the alarm
// changes and resolved in place; a scheduled maintenance offers to stop
// and start the instance now.

// Outcomes of an event, as counted by the poller.
const (
	outcomePosted    = "posted"
	outcomeEdited    = "edited"
	outcomeGrouped   = "grouped"
	outcomeDuplicate = "duplicate"
	outcomeOwn       = "own_change"
	outcomeIgnored   = "ignored"
	outcomeFiltered  = "filtered"
	outcomeNoChannel = "no_channel"
	// outcomeNoWorkspace: strict tenancy, and the account names no
	// workspace to post in.
	outcomeNoWorkspace = "no_workspace"
	outcomeStale       = "stale"
)

// Defaults of the notify Options.
const (
	defaultNotifyPace   = time.Second
	defaultBurstWindow  = time.Minute
	defaultBurstSize    = 3
	defaultSummaryEvery = 2 * time.Second
)

const (
	// notifyLease bounds how long one replica may take to post an event
	// before another may; it is renewed by nobody, so it covers a post.
	notifyLease = 2 * time.Minute
	// eventMemory is how long a posted event is remembered, covering
	// EventBridge's and SQS's duplicates (which come within minutes).
	eventMemory = 48 * time.Hour
	// noticeMemory is how long an alarm's or a maintenance's message can
	// be found to edit (an alarm may stay in ALARM for days).
	noticeMemory = 14 * 24 * time.Hour
	// noticeLockTTL bounds one replica's edit of a notice.
	noticeLockTTL = 30 * time.Second
	// ownChangeGrace is how long after an action settles its instance's
	// state changes are still taken for its own (events arrive late).
	ownChangeGrace = 5 * time.Minute
)

// ownStates are the states an action passes through, whose events its
// own message already reports.
var ownStates = map[action.Action][]string{
	action.Start:     {"pending", "running"},
	action.Stop:      {"stopping", "stopped"},
	action.Restart:   {"stopping", "stopped", "pending", "running"},
	action.Terminate: {"shutting-down", "terminated"},
}

// Notify handles one event from an events queue; it is the poller's
// Handler. It returns nil once the event has been posted (or need not
// be), so the message is deleted.
func (d *Dispatcher) Notify(ctx context.Context, m awsevents.Message) (string, error) {
	ev := m.Event
	ctx = reqctx.WithID(ctx, "event:"+ev.ID)
	if ev.Kind == "" {
		return outcomeIgnored, nil
	}
	acct, ok := d.accountByID(ev.AccountID)
	if !ok {
		d.log.InfoContext(ctx, "event for an account that is not configured", "event_id", ev.ID, "account_id", ev.AccountID, "queue", m.Queue)
		return outcomeIgnored, nil
	}
	if !acct.Notifies(string(ev.Kind)) {
		return outcomeFiltered, nil
	}
	if ev.Region != "" && !slices.Contains(acct.Regions, ev.Region) {
		// Configuration, not a passing failure: Charlize does not look at
		// that region of the account, so it cannot show the instance.
		d.log.InfoContext(ctx, "event from a region the account is not configured for", "event_id", ev.ID, "account", acct.Name, "region", ev.Region)
		return outcomeIgnored, nil
	}
	channel := cmp.Or(acct.Channel, d.eventsChannel)
	if channel == "" {
		d.log.WarnContext(ctx, "no channel for the account's events: set its channel in the accounts file or CHARLIZE_EVENTS_CHANNEL",
			"event_id", ev.ID, "account", acct.Name)
		return outcomeNoChannel, nil
	}
	if d.strictTenancy && len(acct.Workspaces) == 0 {
		// Configuration, not a passing failure: retrying cannot help.
		d.log.WarnContext(ctx, "the account names no workspace to post its events in (strict tenancy): set its workspaces in the accounts file",
			"event_id", ev.ID, "account", acct.Name)
		return outcomeNoWorkspace, nil
	}
	switch _, err := d.store.Notice(ctx, store.EventNoticeKey(ev.ID)); {
	case err == nil:
		return outcomeDuplicate, nil
	case !errors.Is(err, store.ErrNotFound):
		return "", fmt.Errorf("look up event %s: %w", ev.ID, err)
	}
	// The claim makes one replica post it; if that replica dies the claim
	// lapses and the queue's redelivery finds the event unposted.
	// Each delivery claims under a name of its own: a claim of its that
	// landed though the store's answer timed out can then be freed, and
	// SQS handing the message out again while it is still being handled
	// is not taken for the same delivery.
	holder := fmt.Sprintf("%s/%s/%d", d.replica, m.MessageID, m.Receives)
	won, _, err := d.store.Claim(ctx, store.NotifyKey(ev.ID), holder, notifyLease)
	if err != nil {
		d.releaseClaim(ctx, store.NotifyKey(ev.ID), holder)
		return "", fmt.Errorf("claim event %s: %w", ev.ID, err)
	}
	if !won {
		// Another delivery of the event is being posted right now, or its
		// replica died holding the claim; this one looks again later.
		return "", &awsevents.LaterError{After: putBack(m.Receives, 10*time.Second, notifyLease)}
	}
	team, err := d.notifyTeam(ctx, acct)
	if err != nil {
		d.releaseClaim(ctx, store.NotifyKey(ev.ID), holder)
		return "", err
	}
	n := &notification{d: d, ev: ev, receives: m.Receives, acct: acct, channel: channel, team: team}
	var outcome string
	switch ev.Kind {
	case awsevents.KindStateChange:
		outcome, err = n.stateChange(ctx)
	case awsevents.KindAlarm:
		outcome, err = n.alarm(ctx)
	case awsevents.KindHealth:
		outcome, err = n.health(ctx)
	}
	if err != nil {
		d.releaseClaim(ctx, store.NotifyKey(ev.ID), holder)
		return "", err
	}
	// Remembered, so that a redelivery only deletes the message; if this
	// fails the claim still holds it for notifyLease.
	if err := d.store.SaveNotice(context.WithoutCancel(ctx), store.Notice{Key: store.EventNoticeKey(ev.ID), Data: []byte(outcome)}, eventMemory); err != nil {
		d.log.WarnContext(ctx, "could not remember a posted event", "event_id", ev.ID, "err", err)
	}
	d.log.InfoContext(ctx, "event", "event_id", ev.ID, "kind", ev.Kind, "account", acct.Name, "region", ev.Region, "outcome", outcome)
	return outcome, nil
}

// notification is one event on its way to a channel.
type notification struct {
	d        *Dispatcher
	ev       awsevents.Event
	receives int // how often the queue has handed this message out
	acct     ec2ops.Account
	channel  string
	team     slackclient.Team
}

// putBack is how long a message waits when a claim held elsewhere stands
// in its way: first after a moment (a live replica is about to finish),
// then doubling, so that the four put-backs the queue allows before its
// redrive policy (five receives) outlast a claim whose replica died
// holding it for hold. A fixed short wait would spend them all first and
// send the event to the dead-letter queue.
func putBack(receives int, first, hold time.Duration) time.Duration {
	return min(first<<max(receives-1, 0), hold)
}

func (d *Dispatcher) accountByID(id string) (ec2ops.Account, bool) {
	if d.fleet == nil {
		return ec2ops.Account{}, false
	}
	for _, a := range d.fleet.Accounts() {
		if a.ID == id {
			return a, true
		}
	}
	return ec2ops.Account{}, false
}

// notifyTeam is the workspace an account's notifications are posted in:
// the first of its workspaces, or the one workspace of the bot token
// (asked of Slack once), so that their buttons work there.
func (d *Dispatcher) notifyTeam(ctx context.Context, acct ec2ops.Account) (slackclient.Team, error) {
	if len(acct.Workspaces) > 0 {
		return slackclient.Team{ID: acct.Workspaces[0]}, nil
	}
	return d.botTeam.get(ctx, d.clients)
}

// botTeam remembers which workspace the single bot token belongs to.
type botTeam struct {
	mu   sync.Mutex
	team slackclient.Team
}

func (b *botTeam) get(ctx context.Context, clients slackclient.Clients) (slackclient.Team, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.team.ID != "" {
		return b.team, nil
	}
	api, err := clients.Client(ctx, slackclient.Team{})
	if err != nil {
		return slackclient.Team{}, err
	}
	resp, err := api.AuthTestContext(ctx)
	if err != nil {
		return slackclient.Team{}, fmt.Errorf("auth.test: %w", err)
	}
	b.team = slackclient.Team{ID: resp.TeamID, EnterpriseID: resp.EnterpriseID}
	return b.team, nil
}

// reserveSlot gives event a posting slot of channel, one per NotifyPace
// across replicas (Slack takes about one message per second per channel),
// and returns when it is: the first free slot from now, or the slot it was
// given on an earlier delivery. The channel's counter in the store hands
// out the slots, so that a storm of events is posted in the order it
// came, each in its own slot, and a reservation remembers each event's
// slot, so that an event that comes back for it does not queue up again
// (each delivery spends one of the receives its queue allows before
// dead-lettering it).
//
// kept says whether event may hold a slot already (a redelivery, a
// summary that several events post); a first delivery cannot, and skips
// the read.
//
// Slots are told by the store's clock, which every replica reads alike: a
// replica whose own clock ran minutes ahead, pacing by it, pushed the
// counter that far, and every replica's posts in the channel then waited
// out its skew. It returns how long until the slot.
func (d *Dispatcher) reserveSlot(ctx context.Context, channel, event string, kept bool) (time.Duration, error) {
	reservation := store.PaceReservationKey(channel, event)
	now, err := d.store.Clock(ctx)
	if err != nil {
		return 0, fmt.Errorf("pace %s: %w", channel, err)
	}
	// The wait is measured when the reservation is made, not when the
	// clock was read: the store calls between take time (a slow write up
	// to the store's bound), and a post late by them lands out of order.
	read := time.Now()
	until := func(at time.Time) time.Duration { return at.Sub(now) - time.Since(read) }
	if kept {
		if slot, ok, err := d.slotNotice(ctx, reservation); err != nil {
			return 0, err
		} else if at := d.slotAt(slot); ok && now.Sub(at) < slotGrace {
			return until(at), nil
		}
	}
	from := now.UnixNano() / int64(d.notifyPace)
	for {
		slot, err := d.store.TakeNumber(ctx, store.PaceCounterKey(channel), from, time.Hour)
		if err != nil {
			return 0, fmt.Errorf("pace %s: %w", channel, err)
		}
		at := d.slotAt(slot)
		// The slot's claim too: replicas of an earlier version, during a
		// rolling upgrade, find slots by claiming them one after another.
		won, holder, err := d.store.Claim(ctx, store.PaceKey(channel, slot), event, at.Sub(now)+2*d.notifyPace)
		if err != nil {
			return 0, fmt.Errorf("pace %s: %w", channel, err)
		}
		if !won && holder != event {
			from = slot + 1
			continue
		}
		// Should this note be lost, the cost is order, never a post: a
		// redelivery takes a later slot.
		notice := store.Notice{Key: reservation, Data: strconv.AppendInt(nil, slot, 10)}
		if err := d.store.SaveNotice(ctx, notice, at.Sub(now)+time.Hour); err != nil {
			d.log.WarnContext(ctx, "could not keep a posting slot", "notice", reservation, "err", err)
		}
		return until(at), nil
	}
}

// paceNow is the time by the store's clock, which replicas pace shared
// work by; this replica's own when the store cannot say (what follows
// fails then anyway).
func (d *Dispatcher) paceNow(ctx context.Context) time.Time {
	if now, err := d.store.Clock(ctx); err == nil {
		return now
	}
	return d.now()
}

// slotAt is when posting slot number slot begins.
func (d *Dispatcher) slotAt(slot int64) time.Time { return time.Unix(0, slot*int64(d.notifyPace)) }

// slotNotice reads a slot number kept by reserveSlot.
func (d *Dispatcher) slotNotice(ctx context.Context, key string) (int64, bool, error) {
	n, err := d.store.Notice(ctx, key)
	switch {
	case errors.Is(err, store.ErrNotFound):
		return 0, false, nil
	case err != nil:
		return 0, false, fmt.Errorf("pace: %w", err)
	}
	slot, err := strconv.ParseInt(string(n.Data), 10, 64)
	return slot, err == nil, nil
}

// slotGrace is how long after its slot an event that comes back for it
// still posts at once (its queue shows it again to the second, a little
// early or late); one later than that, its post having failed, say, is
// given a new slot, so that events retried together after an outage are
// posted at the channel's pace, not all at once.
const slotGrace = 10 * time.Second

// postAllowance is the time a post needs after its slot, within the
// handling of its event.
const postAllowance = 500 * time.Millisecond

func sleepCtx(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}

// post posts msg to the notification's channel within its pace, in the
// posting slot of the notification's event.
func (n *notification) post(ctx context.Context, msg slack.WebhookMessage) (string, error) {
	return n.postIn(ctx, n.ev.ID, n.receives > 1, msg)
}

// postIn posts msg in the posting slot reserved for what: an event's own
// message, or a summary, which whichever event of its burst gets to post
// it posts in the one slot reserved for the summary.
// kept is reserveSlot's: whether what may hold a slot already.
func (n *notification) postIn(ctx context.Context, what string, kept bool, msg slack.WebhookMessage) (string, error) {
	api, err := n.d.clients.Client(ctx, n.team)
	if err != nil {
		return "", err
	}
	wait, err := n.d.reserveSlot(ctx, n.channel, what, kept)
	if err != nil {
		return "", err
	}
	if wait > 0 {
		if deadline, ok := ctx.Deadline(); ok && time.Until(deadline) < wait+postAllowance {
			// Its slot is past this handling: the event comes back for it,
			// its queue's message hidden until then, not failed.
			return "", &awsevents.LaterError{After: wait}
		}
		started := time.Now()
		if !sleepCtx(ctx, wait) {
			// Cut short (a shutdown's drain): the slot is still this
			// event's, so it comes back for it rather than failing.
			return "", &awsevents.LaterError{After: max(wait-time.Since(started), 0)}
		}
	}
	ts, err := slackclient.PostMessage(ctx, api, n.channel, msg)
	if err != nil {
		return "", fmt.Errorf("post to %s (slack error %q): %w", n.channel, slackclient.ErrorCode(err), err)
	}
	return ts, nil
}

func (n *notification) edit(ctx context.Context, ts string, msg slack.WebhookMessage) error {
	api, err := n.d.clients.Client(ctx, n.team)
	if err == nil {
		err = slackclient.UpdateMessage(ctx, api, n.channel, ts, msg)
	}
	if err != nil {
		return fmt.Errorf("edit %s/%s (slack error %q): %w", n.channel, ts, slackclient.ErrorCode(err), err)
	}
	return nil
}

// instance describes an instance of the event's account and region; ok is
// false when AWS does not show it (gone, or outside the account's managed
// tag), and inst then holds what the event says. When AWS cannot be asked
// and the account has a managed tag, whether the instance may be shown at
// all is unknown: that is an error, and the event comes back later rather
// than being dropped as not ours.
func (n *notification) instance(ctx context.Context, id, state string) (inst ec2ops.Instance, ok bool, err error) {
	inst = ec2ops.Instance{ID: id, State: state, Account: n.acct.Name, Region: n.ev.Region}
	if n.d.fleet == nil {
		return inst, false, nil
	}
	detail, err := n.d.fleet.Describe(ctx, n.acct.Name, n.ev.Region, id)
	switch {
	case err == nil:
		return detail.Instance, true, nil
	case errors.Is(err, ec2ops.KindNotFound):
		return inst, false, nil
	case n.acct.ManagedTag != nil:
		return inst, false, fmt.Errorf("describe the event's instance %s: %w", id, err)
	}
	n.d.log.InfoContext(ctx, "could not describe an event's instance", "event_id", n.ev.ID, "instance", id, "err", err)
	return inst, false, nil
}

// session saves a shared card session for insts: their buttons carry
// itemValue(id, i), and the policy decides when someone clicks.
func (n *notification) session(ctx context.Context, insts []ec2ops.Instance) (string, error) {
	return n.d.saveFlow(ctx, flowState{Kind: "card", TeamID: n.team.ID, ChannelID: n.channel, Items: insts, Shared: true})
}

// buttons saves a session for insts and returns their views with the
// buttons of kinds (none given: all their states allow).
func (n *notification) buttons(ctx context.Context, insts []ec2ops.Instance, kinds ...action.Action) ([]blocks.InstanceView, error) {
	id, err := n.session(ctx, insts)
	if err != nil {
		return nil, err
	}
	views := make([]blocks.InstanceView, len(insts))
	for i, inst := range insts {
		views[i] = viewWith(inst, itemValue(id, i), kinds...)
	}
	return views, nil
}

// viewWith is instanceView keeping only the buttons of kinds (all when
// none are given).
func viewWith(inst ec2ops.Instance, value string, kinds ...action.Action) blocks.InstanceView {
	v := instanceView(inst, value)
	if len(kinds) > 0 {
		v.Buttons = slices.DeleteFunc(v.Buttons, func(b blocks.Button) bool { return !slices.Contains(kinds, b.Kind) })
	}
	return v
}

// markOwnChange records, before an action's AWS call goes out, that the
// instance's coming state changes are the action's own, so that the
// events they cause are not posted besides its message. A failure costs at
// most a duplicate post, so it is only logged.
func (r *run) markOwnChange(ctx context.Context) {
	rec := r.rec
	// A list, not one id: a later action on the instance must not hide
	// that a late event of an earlier one is Charlize's own too.
	key := store.OwnChangeKey(rec.Instance.Account, rec.Instance.Region, rec.Instance.ID)
	if _, err := r.d.store.AppendGroup(context.WithoutCancel(ctx), key, []byte(rec.ID), r.d.actionTimeout+ownChangeGrace); err != nil {
		r.d.log.WarnContext(ctx, "could not record an action's coming state changes", "request_id", reqctx.ID(ctx), "action_id", rec.ID, "err", err)
	}
}

// ownChange reports whether an action of Charlize's caused instance id to
// reach state at: the action record the instance's own-change notice names
// passes through that state, and was under way or had just settled. A
// store that cannot say is an error, for the event to come back, rather
// than a post besides the action's own message.
func (d *Dispatcher) ownChange(ctx context.Context, account, region, id, state string, at time.Time) (bool, error) {
	ids, err := d.store.Group(ctx, store.OwnChangeKey(account, region, id))
	if err != nil && !errors.Is(err, store.ErrNotFound) {
		return false, fmt.Errorf("look up own change: %w", err)
	}
	seen := map[string]bool{}
	for _, raw := range ids {
		recID := string(raw)
		if seen[recID] {
			continue
		}
		seen[recID] = true
		rec, err := d.loadRecord(ctx, recID, "")
		if errors.Is(err, errExpired) {
			continue
		}
		if err != nil {
			return false, fmt.Errorf("look up own change: %w", err)
		}
		if causes(rec, state, at) {
			return true, nil
		}
	}
	return false, nil
}

// causes reports whether rec's action passes through state, and was under
// way or had just settled at at.
func causes(rec *actionRecord, state string, at time.Time) bool {
	if !slices.Contains(ownStates[rec.Action], state) || at.Before(rec.RequestedAt.Add(-time.Minute)) {
		return false
	}
	return rec.State != stateSettled || !at.After(rec.SettledAt.Add(ownChangeGrace))
}

// stateChange posts "web-3 is now stopped", or counts the change into the
// account's summary when many come at once.
func (n *notification) stateChange(ctx context.Context) (outcome string, err error) {
	d, sc := n.d, n.ev.StateChange
	if own, err := d.ownChange(ctx, n.acct.Name, n.ev.Region, sc.InstanceID, sc.State, n.ev.Time); err != nil || own {
		return outcomeOwn, err
	}
	if stale, err := n.olderThanSeen(ctx, sc.InstanceID); err != nil || stale {
		return outcomeStale, err
	}
	// Whether a managed-tag account's instance may be shown is decided
	// before the change counts into a summary, which would show it: from
	// the cached inventory (listed within the tag), so that a burst costs
	// no describe per change, else from AWS.
	var inst ec2ops.Instance
	described, found := false, false
	if n.acct.ManagedTag != nil && !n.listed(ctx, sc.InstanceID) {
		var err error
		if inst, found, err = n.instance(ctx, sc.InstanceID, sc.State); err != nil {
			return "", err
		}
		if !found {
			return outcomeIgnored, nil // not one of the instances Charlize may show
		}
		described = true
	}
	now := d.now()
	window, err := n.burstWindow(ctx, now)
	if err != nil {
		return "", err
	}
	defer func() {
		if err != nil {
			// Put back (for its posting slot, or after a failure): it
			// comes back to this window, however long it waits.
			if serr := d.saveNotice(ctx, store.BurstJoinedKey(n.ev.ID), window, 2*d.burstWindow+time.Hour); serr != nil {
				d.log.WarnContext(ctx, "could not keep an event's burst window", "event_id", n.ev.ID, "err", serr)
			}
		}
	}()
	key := store.BurstKey(n.channel, n.acct.Name, window)
	item, _ := json.Marshal(burstItem{Event: n.ev.ID, ID: sc.InstanceID, Region: n.ev.Region, State: sc.State})
	// The group outlives its window, so that its summary can still be
	// posted and edited with what came at its end, behind a long line of
	// posts.
	pos, err := d.store.AppendGroup(ctx, key, item, 2*d.burstWindow+time.Hour)
	if err != nil {
		return "", fmt.Errorf("count state change: %w", err)
	}
	if pos > d.burstSize {
		// Events put back (for their posting slot, or after a failure) are
		// appended again at each delivery: the burst counts distinct
		// events, so that a change among the window's first burstSize is
		// a card of its own, whatever was delivered again before it.
		distinct, err := distinctPosition(ctx, d.store, key, n.ev.ID)
		if err != nil {
			return "", err
		}
		if distinct <= d.burstSize {
			pos = distinct
		}
	}
	if pos > d.burstSize {
		return n.summarize(ctx, key, pos, windowStart(window, now))
	}
	if !described {
		if inst, found, err = n.instance(ctx, sc.InstanceID, sc.State); err != nil {
			return "", err
		}
	}
	view := instanceView(inst, "")
	if found {
		views, err := n.buttons(ctx, []ec2ops.Instance{inst})
		if err != nil {
			return "", err
		}
		view = views[0]
	}
	if _, err := n.post(ctx, blocks.StateChange(blocks.StateChangeView{Instance: view, State: sc.State, At: n.ev.Time})); err != nil {
		return "", err
	}
	return outcomePosted, nil
}

// burstWindow names the window of state changes the event counts in. A
// window opens with the first change after the last one closed, and lasts
// BurstWindow. An event put back counts in the window it counted in
// before: behind more than a window's worth of posts, its window closed
// while it waited for the summary's slot, and opening another split the
// burst into extra cards and a summary of part of it. Every delivery
// looks, a first receive too: EventBridge may deliver an event twice, as
// two messages.
func (n *notification) burstWindow(ctx context.Context, now time.Time) (string, error) {
	d := n.d
	var window string
	if ok, err := d.loadNotice(ctx, store.BurstJoinedKey(n.ev.ID), &window); err != nil {
		return "", err
	} else if ok {
		return window, nil
	}
	_, window, err := d.store.Claim(ctx, store.BurstWindowKey(n.channel, n.acct.Name),
		strconv.FormatInt(now.UnixMilli(), 10)+"-"+n.ev.ID, d.burstWindow)
	if err != nil {
		return "", fmt.Errorf("open burst window: %w", err)
	}
	return window, nil
}

// listed reports whether instance id of the event's account and region is
// in the cached inventory.
func (n *notification) listed(ctx context.Context, id string) bool {
	if n.d.inventory == nil {
		return false
	}
	for _, i := range n.d.inventory.get(ctx, []string{n.acct.Name}, 0) {
		if i.ID == id && i.Region == n.ev.Region {
			return true
		}
	}
	return false
}

// olderThanSeen reports whether a newer change of instance id has been
// handled already (SQS keeps no order: "running" may come after the
// "stopped" that followed it), and otherwise remembers this one's time.
func (n *notification) olderThanSeen(ctx context.Context, id string) (bool, error) {
	d, key := n.d, store.StateSeenKey(n.acct.Name, n.ev.Region, id)
	var seen time.Time
	if _, err := d.loadNotice(ctx, key, &seen); err != nil {
		return false, err
	}
	if n.ev.Time.Before(seen) {
		return true, nil
	}
	return false, d.saveNotice(ctx, key, n.ev.Time, 2*d.burstWindow+time.Hour)
}

// distinctPosition is the place of event among the distinct events of the
// group key, counting from 1.
func distinctPosition(ctx context.Context, st store.Store, key, event string) (int, error) {
	raw, err := st.Group(ctx, key)
	if err != nil {
		return 0, fmt.Errorf("count state change: %w", err)
	}
	seen := map[string]bool{}
	for _, r := range raw {
		var it burstItem
		if json.Unmarshal(r, &it) != nil || seen[it.Event] {
			continue
		}
		seen[it.Event] = true
		if it.Event == event {
			return len(seen), nil
		}
	}
	return len(seen) + 1, nil
}

// windowStart reads when a window opened from its name.
func windowStart(window string, fallback time.Time) time.Time {
	ms, _, _ := strings.Cut(window, "-")
	if n, err := strconv.ParseInt(ms, 10, 64); err == nil {
		return time.UnixMilli(n)
	}
	return fallback
}

// burstItem is one state change in a window's group.
type burstItem struct {
	Event  string `json:"event"`
	ID     string `json:"id"`
	Region string `json:"region"`
	State  string `json:"state"`
}

// summaryNotice is the summary message of a window's changes.
type summaryNotice struct {
	TS       string `json:"ts"`
	Rendered int    `json:"rendered"` // how many items of the group it shows
}

// summarize makes sure the window's summary shows item pos: it waits for
// an edit that covers it, editing itself when this replica may (one edit
// per SummaryEvery across replicas, the first being the post).
func (n *notification) summarize(ctx context.Context, key string, pos int, window time.Time) (string, error) {
	d := n.d
	lock := d.summaryLock(key)
	// Slots are told by the store's clock, read once for the whole wait
	// (its offset from this one's), not on every turn of the loop.
	var offset *time.Duration
	storeNow := func() time.Time {
		if offset == nil {
			o := d.paceNow(ctx).Sub(time.Now())
			offset = &o
		}
		return time.Now().Add(*offset)
	}
	for {
		var s summaryNotice
		if ok, err := d.loadNotice(ctx, key, &s); err != nil {
			return "", err
		} else if ok && s.Rendered >= pos {
			return outcomeGrouped, nil
		}
		if lock.TryLock() {
			covered, err := n.editSummary(ctx, key, window)
			lock.Unlock()
			if err != nil {
				return "", err
			}
			if covered >= pos {
				return outcomeGrouped, nil
			}
		}
		if s.TS == "" {
			// The summary waits for its posting slot: when that lies past
			// this handling, the event comes back after it instead of
			// running out its time here.
			if slot, ok, err := d.slotNotice(ctx, store.PaceReservationKey(n.channel, key)); err == nil && ok {
				wait := d.slotAt(slot).Sub(storeNow()) + d.summaryEvery
				if deadline, has := ctx.Deadline(); has && time.Until(deadline) < wait {
					return "", &awsevents.LaterError{After: wait}
				}
			}
		}
		if !sleepCtx(ctx, d.summaryEvery/4) {
			return "", ctx.Err()
		}
	}
}

// editSummary posts or edits the window's summary with every change so far,
// when this edit slot is free; it returns how many changes the summary
// shows now (0 when it did not edit).
func (n *notification) editSummary(ctx context.Context, key string, window time.Time) (int, error) {
	d := n.d
	slot := d.paceNow(ctx).UnixNano() / int64(d.summaryEvery) // edit slots, like posting slots, by the store's clock
	won, _, err := d.store.Claim(ctx, store.SummaryEditKey(key, slot), d.replica, 2*d.summaryEvery)
	if err != nil || !won {
		return 0, err
	}
	holder := d.replica + "/summary"
	won, _, err = d.store.Claim(ctx, store.NoticeLockKey(key), holder, noticeLockTTL)
	if err != nil || !won {
		return 0, err
	}
	defer d.releaseClaim(ctx, store.NoticeLockKey(key), holder)
	var s summaryNotice
	if _, err := d.loadNotice(ctx, key, &s); err != nil {
		return 0, err
	}
	raw, err := d.store.Group(ctx, key)
	if err != nil {
		return 0, err
	}
	if len(raw) <= s.Rendered {
		return s.Rendered, nil
	}
	names := map[string]string{}
	if d.inventory != nil {
		// Names from the cached inventory; no describe per change.
		for _, i := range d.inventory.get(ctx, []string{n.acct.Name}, 0) {
			names[i.Region+"/"+i.ID] = i.Name
		}
	}
	seen := map[string]bool{}
	var lines []blocks.ChangeLine
	for _, r := range raw {
		var it burstItem
		if json.Unmarshal(r, &it) != nil || seen[it.Event] {
			continue // a redelivered event counts once
		}
		seen[it.Event] = true
		// The last of an instance's lines is its latest change: an older
		// one delivered late is stale before it reaches the group.
		lines = append(lines, blocks.ChangeLine{ID: it.ID, Name: names[it.Region+"/"+it.ID], Region: it.Region, State: it.State})
	}
	msg := blocks.ChangeSummary(blocks.ChangeSummaryView{Account: n.acct.Name, Changes: lines, Since: window,
		ListCommand: d.slashCommand + " list account:" + n.acct.Name})
	ttl := 2*d.burstWindow + time.Hour
	if s.TS == "" {
		if s.TS, err = n.postIn(ctx, key, true, msg); err != nil {
			return 0, err
		}
		s.Rendered = len(raw)
		d.savePosted(ctx, key, s, ttl)
		return s.Rendered, nil
	}
	if err := n.edit(ctx, s.TS, msg); err != nil {
		return 0, err
	}
	s.Rendered = len(raw)
	if err := d.saveNotice(ctx, key, s, ttl); err != nil {
		return 0, err
	}
	return s.Rendered, nil
}

// summaryLock lets one goroutine per replica edit a summary at a time;
// the others wait for its edit.
func (d *Dispatcher) summaryLock(key string) *sync.Mutex {
	d.summaries.mu.Lock()
	defer d.summaries.mu.Unlock()
	if d.summaries.locks == nil {
		d.summaries.locks = map[string]*sync.Mutex{}
	}
	for k := range d.summaries.locks {
		// Windows end; their locks go with them.
		if k != key && len(d.summaries.locks) > 64 {
			delete(d.summaries.locks, k)
		}
	}
	l, ok := d.summaries.locks[key]
	if !ok {
		l = &sync.Mutex{}
		d.summaries.locks[key] = l
	}
	return l
}

type summaryLocks struct {
	mu    sync.Mutex
	locks map[string]*sync.Mutex
}

func (d *Dispatcher) loadNotice(ctx context.Context, key string, v any) (bool, error) {
	n, err := d.store.Notice(ctx, key)
	if errors.Is(err, store.ErrNotFound) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("load notice %s: %w", key, err)
	}
	if err := json.Unmarshal(n.Data, v); err != nil {
		return false, fmt.Errorf("decode notice %s: %w", key, err)
	}
	return true, nil
}

// savePosted saves the notice of a message just posted. Once Slack has
// the message, failing to remember it must not fail the event: its
// redelivery would find no notice and post a second message. What is lost
// is only that later events post anew instead of editing this one.
func (d *Dispatcher) savePosted(ctx context.Context, key string, v any, ttl time.Duration) {
	if err := d.saveNotice(ctx, key, v, ttl); err != nil {
		d.log.WarnContext(ctx, "could not remember a posted message; later events about it post anew", "notice", key, "err", err)
	}
}

func (d *Dispatcher) saveNotice(ctx context.Context, key string, v any, ttl time.Duration) error {
	data, err := json.Marshal(v)
	if err != nil {
		return fmt.Errorf("encode notice %s: %w", key, err)
	}
	if err := d.store.SaveNotice(context.WithoutCancel(ctx), store.Notice{Key: key, Data: data}, ttl); err != nil {
		return fmt.Errorf("save notice %s: %w", key, err)
	}
	return nil
}

// lockNotice applies one event to notice key at a time across replicas;
// when another replica holds it, the event comes back a little later.
func (n *notification) lockNotice(ctx context.Context, key string) (unlock func(), err error) {
	holder := n.d.replica + "/" + n.ev.ID
	won, _, err := n.d.store.Claim(ctx, store.NoticeLockKey(key), holder, noticeLockTTL)
	if err != nil {
		return nil, fmt.Errorf("lock notice %s: %w", key, err)
	}
	if !won {
		return nil, &awsevents.LaterError{After: putBack(n.receives, 5*time.Second, noticeLockTTL)}
	}
	return func() { n.d.releaseClaim(ctx, store.NoticeLockKey(key), holder) }, nil
}

// alarmNotice is an alarm's message and what it says.
type alarmNotice struct {
	TeamID  string `json:"team_id"`
	Channel string `json:"channel"`
	TS      string `json:"ts"`
	// Since is when the alarm went into ALARM; LastAt is the state time of
	// the last event applied, so that a late event cannot undo a newer one.
	Since    time.Time `json:"since"`
	LastAt   time.Time `json:"last_at"`
	Resolved bool      `json:"resolved,omitempty"`
	AckedBy  string    `json:"acked_by,omitempty"`
	AckedAt  time.Time `json:"acked_at,omitzero"`
	// What the message shows.
	Alarm    awsevents.Alarm  `json:"alarm"`
	Account  string           `json:"account"`
	Region   string           `json:"region"`
	Instance *ec2ops.Instance `json:"instance,omitempty"`
	Session  string           `json:"session,omitempty"` // of the instance's buttons
	// Pending is the event whose firing waits for its posting slot, until
	// PendingUntil (TS is empty meanwhile): the alarm's other events update
	// the notice, and that event posts it as it then stands, resolved if
	// its OK came first.
	Pending      string    `json:"pending,omitempty"`
	PendingUntil time.Time `json:"pending_until,omitzero"`
}

// pendingFor reports whether the notice waits for another delivery of an
// event to post it; one whose wait ran out (the event dead-lettered, say)
// counts as never posted.
func (an alarmNotice) pendingFor(now func() time.Time) bool {
	return an.TS == "" && an.Pending != "" && now().Before(an.PendingUntil)
}

// alarm posts an alarm that fires, edits its message while it stays in
// ALARM, and resolves the message when it returns to OK.
func (n *notification) alarm(ctx context.Context) (string, error) {
	d, a := n.d, n.ev.Alarm
	key := store.AlarmNoticeKey(n.acct.Name, n.ev.Region, a.Name)
	unlock, err := n.lockNotice(ctx, key)
	if err != nil {
		return "", err
	}
	defer unlock()
	var an alarmNotice
	exists, err := d.loadNotice(ctx, key, &an)
	if err != nil {
		return "", err
	}
	at := a.StateTime
	if at.IsZero() {
		at = n.ev.Time
	}
	if exists && an.TS == "" && an.Pending == n.ev.ID {
		// Back for its slot: the alarm as it stands now.
		n.channel, n.team = an.Channel, slackclient.Team{ID: an.TeamID}
		return n.postAlarm(ctx, key, key, &an)
	}
	// Pending until a time by the store's clock, as slots are: replicas
	// whose clocks differ agree on it. Read only for a pending alarm.
	now := func() time.Time { return d.paceNow(ctx) }
	open := exists && !an.Resolved && (an.TS != "" || an.pendingFor(now))
	if exists && !at.After(an.LastAt) {
		// A firing whose episode resolved, then was set aside by a newer
		// firing, while it waited for its slot: it posts that episode.
		var ep alarmNotice
		epKey := store.AlarmEpisodeKey(key, n.ev.ID)
		set, err := d.loadNotice(ctx, epKey, &ep)
		if err != nil {
			return "", err
		}
		if !set || ep.TS != "" {
			return outcomeStale, nil // delivered late; a newer state is shown
		}
		n.channel, n.team = ep.Channel, slackclient.Team{ID: ep.TeamID}
		return n.postAlarm(ctx, key, epKey, &ep)
	}
	switch {
	case a.State == awsevents.AlarmStateAlarm && !open:
		if exists && an.TS == "" && an.Resolved && an.pendingFor(now) {
			// The last episode fired and resolved while its firing waited
			// for its slot: kept for that event to post, as it stands.
			if err := d.saveNotice(ctx, store.AlarmEpisodeKey(key, an.Pending), an, noticeMemory); err != nil {
				return "", err
			}
		}
		an = alarmNotice{TeamID: n.team.ID, Channel: n.channel, Since: at, LastAt: at, Alarm: *a, Account: n.acct.Name, Region: n.ev.Region}
		if a.InstanceID != "" {
			inst, found, err := n.instance(ctx, a.InstanceID, "")
			if err != nil {
				return "", err
			}
			if found {
				an.Instance = &inst
			}
		}
		return n.postAlarm(ctx, key, key, &an)
	case !open:
		// An OK with nothing to resolve: remembered, so that an older
		// ALARM delivered after it (SQS keeps no order) is stale, not
		// posted as firing for good.
		if !exists {
			an = alarmNotice{TeamID: n.team.ID, Channel: n.channel, Since: at, Alarm: *a, Account: n.acct.Name, Region: n.ev.Region, Resolved: true}
		}
		// (A firing whose pending post ran out of time ends here too.)
		an.LastAt, an.Resolved = at, true
		if err := d.saveNotice(ctx, key, an, noticeMemory); err != nil {
			return "", err
		}
		return outcomeIgnored, nil
	}
	an.LastAt, an.Alarm.State, an.Alarm.Reason = at, a.State, a.Reason
	if a.State == awsevents.AlarmStateOK {
		an.Resolved = true
	}
	// The message stays where it was posted, whatever the account says now.
	eventsChannel := n.channel // where the account's events go now
	n.channel, n.team = an.Channel, slackclient.Team{ID: an.TeamID}
	if an.TS == "" {
		// Not posted yet: its pending event posts what the notice says.
		return outcomeEdited, d.saveNotice(ctx, key, an, noticeMemory)
	}
	msg, err := n.alarmMessage(ctx, key, &an)
	if err != nil {
		return "", err
	}
	if err := n.edit(ctx, an.TS, msg); err != nil {
		if !messageGone(err) {
			return "", err
		}
		// Deleted in Slack, or its channel archived: retrying cannot help.
		// A resolution is only remembered; a firing is posted anew, where
		// the account's events go now.
		if an.Resolved {
			return outcomeEdited, d.saveNotice(ctx, key, an, noticeMemory)
		}
		n.channel = eventsChannel
		n.team, err = d.notifyTeam(ctx, n.acct)
		if err != nil {
			return "", err
		}
		an.Channel, an.TeamID = n.channel, n.team.ID
		if an.TS, err = n.post(ctx, msg); err != nil {
			return "", err
		}
		d.savePosted(ctx, key, an, noticeMemory)
		return outcomePosted, nil
	}
	return outcomeEdited, d.saveNotice(ctx, key, an, noticeMemory)
}

// postAlarm posts an, the notice of alarm key (saveAs is key, or the
// key of an episode set aside), as it stands. The alarm's own notice put
// back for its posting slot is saved as pending, so that an OK coming
// before the slot resolves it instead of finding nothing to resolve.
func (n *notification) postAlarm(ctx context.Context, key, saveAs string, an *alarmNotice) (string, error) {
	d := n.d
	msg, err := n.alarmMessage(ctx, key, an)
	if err != nil {
		return "", err
	}
	ts, err := n.post(ctx, msg)
	if later := (*awsevents.LaterError)(nil); saveAs == key && errors.As(err, &later) {
		an.Pending, an.PendingUntil = n.ev.ID, d.paceNow(ctx).Add(later.After+slotGrace+time.Minute)
		if serr := d.saveNotice(ctx, key, *an, noticeMemory); serr != nil {
			return "", serr
		}
	}
	if err != nil {
		return "", err
	}
	an.TS, an.Pending, an.PendingUntil = ts, "", time.Time{}
	d.savePosted(ctx, saveAs, *an, noticeMemory)
	return outcomePosted, nil
}

// messageGone reports whether an edit failed because its message can no
// longer be edited: deleted, or its channel gone or archived.
func messageGone(err error) bool {
	switch slackclient.ErrorCode(err) {
	case "message_not_found", "cant_update_message", "channel_not_found", "is_archived":
		return true
	}
	return false
}

// alarmMessage renders an alarm's notice, with a fresh session for its
// instance's Status and Reboot buttons when it has none yet.
func (n *notification) alarmMessage(ctx context.Context, key string, an *alarmNotice) (slack.WebhookMessage, error) {
	v := alarmView(key, *an)
	if an.Instance != nil && !an.Resolved {
		if an.Session == "" {
			id, err := n.session(ctx, []ec2ops.Instance{*an.Instance})
			if err != nil {
				return slack.WebhookMessage{}, err
			}
			an.Session = id
		}
		iv := viewWith(*an.Instance, itemValue(an.Session, 0), action.Status, action.Reboot)
		v.Instance = &iv
	}
	return blocks.Alarm(v), nil
}

// alarmView is what an alarm's message shows; key is its notice, which
// the Acknowledge button carries.
func alarmView(key string, an alarmNotice) blocks.AlarmView {
	a := an.Alarm
	v := blocks.AlarmView{
		Name: a.Name, Description: a.Description, Account: an.Account, Region: an.Region, State: a.State,
		Reason: a.Reason, Since: an.Since, AckValue: key, AckedBy: an.AckedBy, AckedAt: an.AckedAt,
		Resolved: an.Resolved, ResolvedAfter: an.LastAt.Sub(an.Since),
	}
	if a.Metric != "" {
		v.Metric = strings.TrimSpace(a.Namespace + " " + a.Metric)
		if a.Statistic != "" {
			v.Metric += " (" + a.Statistic + ")"
		}
	}
	if a.Threshold != nil {
		v.Threshold = strconv.FormatFloat(*a.Threshold, 'g', -1, 64)
	}
	if an.Instance != nil {
		iv := instanceView(*an.Instance, "")
		v.Instance = &iv
	}
	return v
}

// acknowledge handles an alarm's Acknowledge button: once per time the
// alarm fired, by someone who may see the instance's status, audited; the
// message then says who.
func (d *Dispatcher) acknowledge(ctx context.Context, cb slack.InteractionCallback, p pressed) error {
	key := p.value
	if !strings.HasPrefix(key, "alarm:") || len(key) > blocks.MaxButtonValue {
		return errBadValue
	}
	var an alarmNotice
	ok, err := d.loadNotice(ctx, key, &an)
	if err != nil {
		return err
	}
	if !ok {
		return errExpired
	}
	if an.TeamID != cb.Team.ID {
		return errForeignTeam
	}
	v := d.viewerOfCallback(ctx, cb)
	inst := ec2ops.Instance{Account: an.Account, Region: an.Region}
	if an.Instance != nil {
		inst = *an.Instance
	}
	entry := auditEntry(ctx, d.now(), v, inst, action.Acknowledge, store.DecisionAllowed, store.ResultDone, "")
	entry.Alarm = an.Alarm.Name
	dec := d.policy.Decide(v.who, action.Status, policy.Target{Account: inst.Account, Tags: inst.Tags, AnyInstance: an.Instance == nil})
	if !dec.Allowed {
		err := &deniedError{action: action.Acknowledge, target: an.Alarm.Name, reason: dec.Reason}
		entry.Decision, entry.Result, entry.Error = store.DecisionRefused, store.ResultRefused, d.failureText(ctx, "acknowledge", err).String()
		d.audit(ctx, entry)
		return err
	}
	entry.Rule = dec.Rule
	ackKey := store.AckKey(key, an.Since.Unix())
	won, holder, err := d.store.Claim(ctx, ackKey, v.user, noticeMemory)
	if err != nil {
		return fmt.Errorf("claim acknowledgement: %w", err)
	}
	if !won {
		return &claimedError{action: action.Acknowledge, name: an.Alarm.Name, requester: holder, done: true, at: an.AckedAt, result: store.ResultDone}
	}
	via := d.replyToClick(cb)
	err = d.workers.Go(ctx, func(ctx context.Context) {
		if err := d.markAcknowledged(ctx, key, v.user, via); err != nil {
			// Not acknowledged after all: the claim goes, so that a press
			// again (this person's or another's) can acknowledge it.
			d.releaseClaim(ctx, ackKey, v.user)
			text := d.failureText(ctx, "acknowledge", err)
			entry.Result, entry.Error = store.ResultFailed, text.String()
			d.audit(ctx, entry)
			via.refuse(ctx, ephemeral(text.Mrkdwn()))
			return
		}
		d.audit(ctx, entry)
	})
	if err != nil {
		d.releaseClaim(ctx, ackKey, v.user)
	}
	return err
}

// markAcknowledged edits the alarm's message to say who acknowledged it.
func (d *Dispatcher) markAcknowledged(ctx context.Context, key, user string, via *reply) error {
	holder := d.replica + "/ack/" + user
	won, _, err := d.claimWaiting(ctx, store.NoticeLockKey(key), holder, noticeLockTTL, 20, 250*time.Millisecond, nil)
	if err != nil {
		return err
	}
	if !won {
		return fmt.Errorf("acknowledge %s: its message is being edited: %w", key, ErrBusy)
	}
	defer d.releaseClaim(ctx, store.NoticeLockKey(key), holder)
	var an alarmNotice
	if ok, err := d.loadNotice(ctx, key, &an); err != nil || !ok {
		return cmp.Or(err, errExpired)
	}
	an.AckedBy, an.AckedAt = user, d.now()
	n := &notification{d: d, channel: an.Channel, team: slackclient.Team{ID: an.TeamID}}
	msg, err := n.alarmMessage(ctx, key, &an)
	if err != nil {
		return err
	}
	if err := d.saveNotice(ctx, key, an, noticeMemory); err != nil {
		return err
	}
	d.editPosted(ctx, n.team, origin{ChannelID: an.Channel, TS: an.TS}, msg, via)
	return nil
}

// healthNotice is a scheduled maintenance's message. AWS updates it days
// or weeks later, when the account's channel may have changed: the message
// is edited where it was posted. (Notices saved before Channel was kept
// have none and are edited in the account's channel.)
type healthNotice struct {
	TeamID  string `json:"team_id,omitempty"`
	Channel string `json:"channel,omitempty"`
	TS      string `json:"ts"`
	Status  string `json:"status"`
	// What the message shows: AWS may name more instances of the same
	// maintenance in later events, or move its window.
	Instances []ec2ops.Instance `json:"instances,omitempty"`
	Start     time.Time         `json:"start,omitzero"`
	End       time.Time         `json:"end,omitzero"`
}

// health posts an EC2 scheduled maintenance with its deadline and a Stop &
// start now button per instance, and edits it when AWS closes the event.
func (n *notification) health(ctx context.Context) (string, error) {
	d, h := n.d, n.ev.Health
	if len(h.Instances) == 0 || h.Category != "scheduledChange" {
		return outcomeIgnored, nil
	}
	key := store.HealthNoticeKey(n.acct.Name, h.ARN)
	unlock, err := n.lockNotice(ctx, key)
	if err != nil {
		return "", err
	}
	defer unlock()
	var hn healthNotice
	exists, err := d.loadNotice(ctx, key, &hn)
	if err != nil {
		return "", err
	}
	shown := map[string]int{}
	for i, inst := range hn.Instances {
		shown[inst.ID] = i
	}
	ids := make([]string, 0, len(hn.Instances)+len(h.Instances))
	for _, inst := range hn.Instances {
		ids = append(ids, inst.ID)
	}
	for _, id := range h.Instances {
		if _, ok := shown[id]; !ok && !slices.Contains(ids, id) {
			ids = append(ids, id)
		}
	}
	if exists && hn.Status == h.Status && len(ids) == len(hn.Instances) && hn.Start.Equal(h.Start) && hn.End.Equal(h.End) {
		return outcomeDuplicate, nil // an update that changes nothing shown
	}
	insts := make([]ec2ops.Instance, 0, len(ids))
	for _, id := range ids {
		i, known := shown[id]
		if known && h.Status == "closed" {
			// Over: what the message showed is what it says is over, even
			// of an instance since gone.
			insts = append(insts, hn.Instances[i])
			continue
		}
		inst, found, err := n.instance(ctx, id, "")
		if err != nil {
			return "", err
		}
		switch {
		case !found && known:
			inst = hn.Instances[i] // gone since, but shown
		case !found && n.acct.ManagedTag != nil:
			continue
		}
		insts = append(insts, inst)
	}
	if len(insts) == 0 {
		return outcomeIgnored, nil
	}
	hn.Instances, hn.Start, hn.End = insts, h.Start, h.End
	views, err := n.buttons(ctx, insts, action.Status, action.Restart)
	if err != nil {
		return "", err
	}
	msg := blocks.Maintenance(blocks.MaintenanceView{TypeCode: h.TypeCode, Account: n.acct.Name, Region: n.ev.Region,
		Status: h.Status, Start: h.Start, End: h.End, Description: h.Description, Instances: views})
	if exists {
		if hn.Channel != "" {
			n.channel, n.team = hn.Channel, slackclient.Team{ID: hn.TeamID}
		}
		if err := n.edit(ctx, hn.TS, msg); err != nil {
			return "", err
		}
		hn.Status = h.Status
		return outcomeEdited, d.saveNotice(ctx, key, hn, noticeMemory)
	}
	if hn.TS, err = n.post(ctx, msg); err != nil {
		return "", err
	}
	hn.Status, hn.Channel, hn.TeamID = h.Status, n.channel, n.team.ID
	d.savePosted(ctx, key, hn, noticeMemory)
	return outcomePosted, nil
}
