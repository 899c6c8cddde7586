package app

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/slack-go/slack"

	"github.com/charlize-app/charlize/blocks"
	"github.com/charlize-app/charlize/ec2ops"
	"github.com/charlize-app/charlize/handlers/reqctx"
	"github.com/charlize-app/charlize/handlers/slackclient"
	"github.com/charlize-app/charlize/store"
)

// blockActions routes a button click by its action_id.
func (d *Dispatcher) blockActions(ctx context.Context, cb slack.InteractionCallback) (Ack, error) {
	if len(cb.ActionCallback.BlockActions) == 0 {
		return Ack{}, errBadValue
	}
	a := cb.ActionCallback.BlockActions[0]
	value := a.Value
	if value == "" {
		value = a.SelectedOption.Value // overflow menus carry the value in the option
	}
	prefix, rest, _ := strings.Cut(a.ActionID, ":")
	var err error
	switch prefix {
	case blocks.ActionIDPrefixAct:
		kind, _, _ := strings.Cut(rest, ":")
		err = d.click(ctx, cb, kind, value)
	case blocks.ActionIDPage:
		err = d.turnPage(ctx, cb, value)
	case blocks.ActionIDRefresh:
		err = d.refresh(ctx, cb, value)
	case blocks.ActionIDPickInstance:
		err = d.pick(ctx, cb, value)
	case blocks.ActionIDApproval:
		err = d.decideApproval(ctx, cb, rest, value)
	case blocks.ActionIDOpenPicker:
		err = d.openPicker(ctx, cb.TriggerID, pickerTarget{
			team: slackclient.Team{ID: cb.Team.ID, EnterpriseID: cb.Enterprise.ID}, channel: channelOf(cb), user: cb.User.ID, responseURL: cb.ResponseURL,
		})
	default:
		err = errBadValue
	}
	return Ack{}, err
}

func channelOf(cb slack.InteractionCallback) string {
	if cb.Container.ChannelID != "" {
		return cb.Container.ChannelID
	}
	return cb.Channel.ID
}

// actionJob is one requested action on one instance.
type actionJob struct {
	action   ec2ops.Action
	inst     ec2ops.Instance
	team     slackclient.Team
	user     string
	channel  string
	origin   origin
	clickKey string // the claim that makes this click act at most once
	approver string // the second person, when a two-person rule applied
	// request is the claim of the click that asked for approval (held by
	// user): an approved action that does nothing frees that button too.
	request string
}

// click handles an instance button: status shows, terminate asks through a
// modal, the others act (Slack has already shown their confirm dialog).
func (d *Dispatcher) click(ctx context.Context, cb slack.InteractionCallback, kind, value string) error {
	action, err := ec2ops.ParseAction(kind)
	if err != nil {
		return errBadValue
	}
	_, id, n, inst, err := d.loadItem(ctx, cb.Team.ID, value)
	if err != nil {
		return err
	}
	org := origin{ChannelID: channelOf(cb), TS: cb.Container.MessageTs, Ephemeral: cb.Container.IsEphemeral, ResponseURL: cb.ResponseURL}
	team := slackclient.Team{ID: cb.Team.ID, EnterpriseID: cb.Enterprise.ID}
	// Decided for whoever clicked, not whoever ran the command.
	v := d.viewerOfCallback(ctx, cb)
	if dec := d.decide(v, string(action), inst); !dec.Allowed {
		d.tell(ctx, cb.ResponseURL, blocks.Refusal(fmt.Sprintf("You can't %s %s: %s.", action, blocks.Escape(displayName(inst)), blocks.Escape(dec.Reason))))
		d.audit(ctx, auditEntry(ctx, d.now(), v, inst, string(action), "refused", "refused", dec.Reason))
		d.observeAction(action, "refused")
		return nil
	}
	switch action {
	case ec2ops.ActionStatus:
		return d.showCard(ctx, cb, inst, "")
	case ec2ops.ActionTerminate:
		return d.openTerminate(ctx, cb, team, inst, org)
	}
	return d.startAction(ctx, actionJob{
		action: action, inst: inst, team: team, user: cb.User.ID, channel: org.ChannelID, origin: org,
		clickKey: "click:" + id + ":" + strconv.Itoa(n) + ":" + string(action),
	})
}

// startAction claims the click, so that double clicks, two people and
// Slack's redeliveries run it once, and queues the AWS work.
func (d *Dispatcher) startAction(ctx context.Context, job actionJob) error {
	won, holder, err := d.store.Claim(ctx, job.clickKey, job.user, d.sessionTTL)
	if err != nil {
		return fmt.Errorf("claim click: %w", err)
	}
	if !won {
		d.tell(ctx, job.origin.ResponseURL, blocks.Refusal(fmt.Sprintf(
			"%s %s is already in progress (by <@%s>).", actionLabel(job.action), blocks.Escape(displayName(job.inst)), holder)))
		return nil
	}
	run := func(ctx context.Context) { d.act(ctx, job) }
	if rule, needed := d.policy.Approval(string(job.action), job.inst.Account); needed && job.approver == "" {
		run = func(ctx context.Context) { d.requestApproval(ctx, job, rule) }
	}
	if err := d.workers.Go(ctx, run); err != nil {
		d.releaseClaim(ctx, job.clickKey, job.user)
		return err
	}
	return nil
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

// act runs one action after the ack: at most one action per instance at a
// time, the state and protection checks, the AWS call, progress while it
// waits, the result, and an audit entry.
func (d *Dispatcher) act(ctx context.Context, job actionJob) {
	ctx, cancel := context.WithTimeout(ctx, d.actionTimeout)
	defer cancel()
	start := d.now()
	entry := store.AuditEntry{
		Time: start, RequestID: reqctx.ID(ctx), TeamID: job.team.ID, ChannelID: job.channel, UserID: job.user,
		Account: job.inst.Account, Region: job.inst.Region, InstanceID: job.inst.ID, InstanceName: job.inst.Name,
		Action: string(job.action), Decision: "allowed", ApprovedBy: job.approver,
	}
	if job.approver != "" {
		entry.Decision = "approved"
	}
	refuse := func(err error) {
		var denied *deniedError
		if errors.As(err, &denied) {
			entry.Decision = "refused"
		}
		// Nothing was done: the same button may be pressed again.
		d.releaseClaim(ctx, job.clickKey, job.user)
		d.releaseClaim(ctx, job.request, job.user)
		msg := d.failure(ctx, "act "+string(job.action), err)
		d.tell(ctx, job.origin.ResponseURL, blocks.Refusal(msg.Text))
		entry.Result, entry.Error = "refused", msg.Text
		d.audit(ctx, entry)
		d.observeAction(job.action, "refused")
	}

	api, err := d.clients.Client(ctx, job.team)
	if err != nil {
		refuse(err)
		return
	}
	lockKey := "inflight:" + instanceKey(job.inst)
	won, holder, err := d.store.Claim(ctx, lockKey, job.user, d.actionTimeout)
	if err != nil {
		refuse(err)
		return
	}
	if !won {
		refuse(fmt.Errorf("%w", &busyInstanceError{name: displayName(job.inst), holder: holder}))
		return
	}
	defer d.releaseClaim(ctx, lockKey, job.user)

	decider := job.user
	if job.approver != "" {
		decider = job.approver
	}
	who := d.viewerOf(ctx, job.team, decider, job.channel)
	inst := job.inst
	rep := &reporter{d: d, api: api, job: job}
	var progress blocks.ProgressView
	started := false
	req := ec2ops.ActionRequest{Action: job.action, Account: job.inst.Account, Region: job.inst.Region, InstanceID: job.inst.ID, Actor: job.user,
		// Decided again right before the AWS call, on the tags AWS has just
		// described, for the person whose click makes it happen; the same
		// describe serves ec2ops' state and protection checks.
		Authorize: func(detail ec2ops.Detail) error {
			dec, err := d.require(who, string(job.action), detail.Instance)
			if err != nil {
				return err
			}
			inst, entry.Rule = detail.Instance, dec.Rule
			progress = blocks.ProgressView{Action: string(job.action), Verb: progressVerb(job.action), Instance: instanceView(inst, ""),
				Requester: job.user, State: inst.State}
			rep.start(ctx, progress)
			started = true
			return nil
		},
	}
	res, err := d.fleet.Do(ctx, req, func(p ec2ops.Progress) {
		progress.State, progress.Elapsed = p.State, p.Elapsed
		rep.progress(ctx, progress)
	})
	if err != nil && !started {
		// Refused before anything was shown or done: state, protection,
		// policy, or AWS could not describe the instance.
		refuse(err)
		return
	}
	entry.Duration = d.now().Sub(start)
	// The outcome is reported even when the wait was cut short (shutdown):
	// otherwise the channel would show "Stopping…" forever.
	interrupted := ctx.Err() != nil
	ctx, cancelReport := context.WithTimeout(context.WithoutCancel(ctx), reportTimeout)
	defer cancelReport()
	result := blocks.ResultView{Action: string(job.action), Instance: instanceView(inst, ""), Requester: job.user}
	switch {
	case err != nil && interrupted && errors.Is(err, ec2ops.KindCanceled):
		name := displayName(inst)
		result.Message = fmt.Sprintf("Charlize was interrupted (it is restarting) while %s was %s. Run `%s status %s` to see where it got to.",
			name, progress.State, d.slashCommand, name)
		entry.Result, entry.Error = "interrupted", result.Message
		d.observeAction(job.action, "interrupted")
	case err != nil:
		// The attempt is over: pressing the button again tries again
		// rather than hearing that this one is still in progress.
		d.releaseClaim(ctx, job.clickKey, job.user)
		d.releaseClaim(ctx, job.request, job.user)
		msg := d.failure(ctx, "act "+string(job.action), err)
		result.Message = msg.Text
		entry.Result, entry.Error = "failed", msg.Text
		d.observeAction(job.action, "failed")
	default:
		result.OK, result.Elapsed = true, res.Elapsed
		st := flowState{Kind: "card", TeamID: job.team.ID, ChannelID: job.channel, UserID: job.user, Items: []ec2ops.Instance{res.Instance}}
		if id, err := d.saveFlow(ctx, st); err == nil {
			result.Instance = instanceView(res.Instance, itemValue(id, 0))
			result.Buttons = result.Instance.Buttons
		} else {
			result.Instance = instanceView(res.Instance, "")
		}
		entry.Result = "done"
		d.observeAction(job.action, "done")
	}
	rep.finish(ctx, blocks.Result(result))
	d.audit(ctx, entry)
}

// reportTimeout bounds posting an action's outcome after its own context
// ended.
const reportTimeout = 10 * time.Second

// busyInstanceError refuses an action while another runs on the instance.
type busyInstanceError struct{ name, holder string }

func (e *busyInstanceError) Error() string {
	return fmt.Sprintf("An action on %s is already in progress (by <@%s>).", e.name, e.holder)
}

func (d *Dispatcher) observeAction(a ec2ops.Action, result string) {
	if d.metrics != nil {
		d.metrics.ObserveAction(string(a), result)
	}
}

func progressVerb(a ec2ops.Action) string {
	switch a {
	case ec2ops.ActionStart:
		return "Starting"
	case ec2ops.ActionStop:
		return "Stopping"
	case ec2ops.ActionReboot:
		return "Rebooting"
	case ec2ops.ActionRestart:
		return "Restarting"
	case ec2ops.ActionTerminate:
		return "Terminating"
	}
	return "Checking"
}

// responseURLPosts is Slack's limit of posts to one response_url.
const responseURLPosts = 5

// reporter shows an action's progress and result where the channel sees
// it: the in-channel message that held the button is edited with
// chat.update; a button on an ephemeral message gets a new channel message
// (and its own message replaced through the response_url). When the bot
// cannot post in the channel, everything goes through the response_url,
// within its 5 posts, with a note saying how to fix it.
type reporter struct {
	d   *Dispatcher
	api slackclient.API
	job actionJob

	channel, ts string // the channel message being edited; "" when none
	viaURL      bool   // also show through the origin's response_url
	urlPosts    int
	note        string
	last        time.Time
	lastState   string
}

func (r *reporter) start(ctx context.Context, v blocks.ProgressView) {
	o := r.job.origin
	if !o.Ephemeral && o.TS != "" && o.ChannelID != "" {
		if err := r.update(ctx, o.ChannelID, o.TS, blocks.Progress(v)); err == nil {
			r.channel, r.ts = o.ChannelID, o.TS
			r.mark(v)
			return
		}
	}
	channel := o.ChannelID
	if channel == "" {
		channel = r.job.channel
	}
	r.viaURL = true
	ts, err := slackclient.PostMessage(ctx, r.api, channel, blocks.Progress(v))
	switch {
	case err == nil:
		r.channel, r.ts = channel, ts
	case slackclient.CannotPost(err):
		// The note is escaped when rendered, so it names no channel link.
		r.note = "I can't post in this channel, so only you see this. Invite me (`/invite @Charlize`) so the channel sees who did what."
		r.d.log.InfoContext(ctx, "cannot post in channel; progress through response_url", "request_id", reqctx.ID(ctx), "channel", channel, "slack_error", slackclient.ErrorCode(err))
	default:
		r.note = "I couldn't post in the channel, so only you see this."
		r.d.log.WarnContext(ctx, "post progress failed", "request_id", reqctx.ID(ctx), "err", err)
	}
	v.FallbackNote = r.note
	r.postURL(ctx, blocks.Progress(v))
	r.mark(v)
}

// progress updates on a change of state, at most once per interval.
func (r *reporter) progress(ctx context.Context, v blocks.ProgressView) {
	if v.State == r.lastState || r.d.now().Sub(r.last) < r.d.progressInterval {
		return
	}
	v.FallbackNote = r.note
	switch {
	case r.ts != "":
		if err := r.update(ctx, r.channel, r.ts, blocks.Progress(v)); err != nil {
			r.d.log.WarnContext(ctx, "progress update failed", "request_id", reqctx.ID(ctx), "err", err)
		}
	case r.viaURL && r.urlPosts < responseURLPosts-1: // keep one post for the result
		r.postURL(ctx, blocks.Progress(v))
	}
	r.mark(v)
}

func (r *reporter) finish(ctx context.Context, msg slack.WebhookMessage) {
	if r.ts != "" {
		if err := r.update(ctx, r.channel, r.ts, msg); err != nil {
			r.d.log.WarnContext(ctx, "result update failed", "request_id", reqctx.ID(ctx), "err", err)
		}
	}
	if r.viaURL {
		r.postURL(ctx, withNote(msg, r.note))
	}
}

// withNote adds the reporter's fallback note to a result that only the
// user sees, so the reason stays once the progress message is replaced.
func withNote(msg slack.WebhookMessage, note string) slack.WebhookMessage {
	if note == "" || msg.Blocks == nil || len(msg.Blocks.BlockSet) >= blocks.MaxMessageBlocks {
		return msg
	}
	set := append(slices.Clip(msg.Blocks.BlockSet), slack.NewContextBlock("result_note",
		slack.NewTextBlockObject(slack.MarkdownType, "ℹ️ "+blocks.Escape(note), false, false)))
	msg.Blocks = &slack.Blocks{BlockSet: set}
	return msg
}

func (r *reporter) mark(v blocks.ProgressView) {
	r.last, r.lastState = r.d.now(), v.State
}

func (r *reporter) update(ctx context.Context, channel, ts string, msg slack.WebhookMessage) error {
	return slackclient.UpdateMessage(ctx, r.api, channel, ts, msg)
}

func (r *reporter) postURL(ctx context.Context, msg slack.WebhookMessage) {
	if r.job.origin.ResponseURL == "" || r.urlPosts >= responseURLPosts {
		return
	}
	r.urlPosts++
	if err := r.d.respond.Post(ctx, r.job.origin.ResponseURL, replacing(msg)); err != nil {
		r.d.log.WarnContext(ctx, "response_url post failed", "request_id", reqctx.ID(ctx), "err", err)
	}
}
