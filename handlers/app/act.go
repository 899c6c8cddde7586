package app

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/slack-go/slack"

	"github.com/charlize-app/charlize/blocks"
	"github.com/charlize-app/charlize/ec2ops"
	"github.com/charlize-app/charlize/handlers/reqctx"
	"github.com/charlize-app/charlize/handlers/slackclient"
	"github.com/charlize-app/charlize/store"
)

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
