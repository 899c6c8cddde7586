package app

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/slack-go/slack"

	"github.com/charlize-app/charlize/blocks"
	"github.com/charlize-app/charlize/ec2ops"
	"github.com/charlize-app/charlize/ec2ops/action"
	"github.com/charlize-app/charlize/handlers/reqctx"
	"github.com/charlize-app/charlize/handlers/slackclient"
	"github.com/charlize-app/charlize/schedule"
	"github.com/charlize-app/charlize/store"
)

// This file is the one place where an error becomes what a Slack user
// reads. Flows return typed errors (the sentinels and types below, policy
// refusals, ec2ops errors); userText words each kind once, and failure logs
// the rest for the operator and shows the user a reference. No user text
// is ever built from err.Error().

// Errors a click can meet before any AWS call.
var (
	errExpired        = errors.New("session expired or unknown")
	errForeignTeam    = errors.New("session belongs to another workspace")
	errBadValue       = errors.New("malformed button value")
	errTriggerExpired = errors.New("trigger_id expired")
	errNoFleet        = errors.New("no AWS accounts configured")
	errNoAccountsHere = errors.New("no AWS account visible to this workspace")
	errApprovalGone   = errors.New("approval request expired")
	errLeaseHeld      = errors.New("another replica runs this action")
	// errNoScheduleChannel: neither the account nor CHARLIZE_SCHEDULE_CHANNEL
	// names where the scheduler speaks (logged, not shown).
	errNoScheduleChannel = errors.New("no channel for schedule messages")
)

// scheduleExistsError refuses a second schedule of one name, or a change
// to a schedule that comes from the schedules file.
type scheduleExistsError struct {
	name     string
	readOnly bool
}

func (e *scheduleExistsError) Error() string { return "schedule " + e.name + " exists" }

// noScheduleError names a schedule that does not exist.
type noScheduleError struct{ name string }

func (e *noScheduleError) Error() string { return "no schedule " + e.name }

// ambiguousInstanceError refuses to tag when a query names several instances.
type ambiguousInstanceError struct {
	query string
	n     int
}

func (e *ambiguousInstanceError) Error() string {
	return fmt.Sprintf("%q matches %d instances", e.query, e.n)
}

// unfollowedError refuses a scheduled action on an instance whose
// schedule tag was removed or changed since its warning.
type unfollowedError struct{ name, schedule string }

func (e *unfollowedError) Error() string { return e.name + " no longer follows " + e.schedule }

// tooLateError refuses a snooze of a stop that has already been carried out.
type tooLateError struct{ name string }

func (e *tooLateError) Error() string { return "too late to snooze " + e.name }

// ErrBusy means the background queue is full; the user is asked to retry
// rather than left waiting on work that may never start.
var ErrBusy = errors.New("charlize is busy")

// deniedError is a policy refusal; its reason is what the user reads.
type deniedError struct {
	action action.Action
	target string // the instance's name or id; "" when not about one
	what   string // what was refused, when it is not an action ("decide on this request")
	reason string
}

func (e *deniedError) Error() string { return "policy refused " + string(e.action) + ": " + e.reason }

// busyInstanceError refuses an action while another runs on the instance.
type busyInstanceError struct {
	name   string
	holder string // the Slack user whose action runs
}

func (e *busyInstanceError) Error() string {
	return "an action on " + e.name + " is already in progress (by " + e.holder + ")"
}

// claimedError answers a click whose action another click already took:
// it is still running, or it is done.
type claimedError struct {
	action    action.Action
	name      string
	requester string
	done      bool      // the action has settled
	at        time.Time // when it settled
	result    store.Result
}

func (e *claimedError) Error() string {
	return fmt.Sprintf("%s %s already claimed by %s (done %v)", e.action, e.name, e.requester, e.done)
}

// selfApprovalError refuses a requester's approval of their own request.
type selfApprovalError struct{ action action.Action }

func (e *selfApprovalError) Error() string { return "self-approval of " + string(e.action) }

// decidedError answers a second decision on an approval request.
type decidedError struct{ by string }

func (e *decidedError) Error() string { return "approval request already decided by " + e.by }

// approvalNotPostedError means the approval request could not be posted in
// the channel; cannotPost says the bot is not allowed to.
type approvalNotPostedError struct {
	cannotPost bool
	err        error
}

func (e *approvalNotPostedError) Error() string {
	return "approval request not posted: " + e.err.Error()
}
func (e *approvalNotPostedError) Unwrap() error { return e.err }

// interruptedError reports an action whose wait was cut short by a
// shutdown: AWS has the request, Charlize did not see the end.
type interruptedError struct {
	name, state string
}

func (e *interruptedError) Error() string { return "interrupted while " + e.name + " was " + e.state }

// userText words the errors a user can act on; ok is false for anything
// unexpected.
func (d *Dispatcher) userText(err error) (string, bool) {
	var (
		ec2Err      *ec2ops.Error
		busy        *busyInstanceError
		denied      *deniedError
		claimed     *claimedError
		self        *selfApprovalError
		decided     *decidedError
		notPosted   *approvalNotPostedError
		interrupted *interruptedError
		schedErr    *schedule.Error
		exists      *scheduleExistsError
		noSchedule  *noScheduleError
		ambiguous   *ambiguousInstanceError
		tooLate     *tooLateError
		unfollowed  *unfollowedError
	)
	switch {
	case errors.Is(err, errExpired):
		return "This message has expired — run `" + d.slashCommand + "` again.", true
	case errors.Is(err, errForeignTeam):
		return "That button belongs to another workspace.", true
	case errors.Is(err, errBadValue):
		return "I couldn't read that button — run `" + d.slashCommand + "` again.", true
	case errors.Is(err, slackclient.ErrNotInstalled):
		return "Charlize is not installed in this workspace — ask an admin to install it.", true
	case errors.Is(err, errTriggerExpired):
		return "Slack gave me only 3 seconds to open that window and they ran out. Please try again.", true
	case errors.Is(err, ErrBusy):
		return "Charlize is busy right now — try again in a minute.", true
	case errors.Is(err, errNoFleet):
		return "No AWS accounts are configured for Charlize yet.", true
	case errors.Is(err, errNoAccountsHere):
		return "No AWS account is shared with this workspace. An admin can add its team id to an account's `workspaces` list.", true
	case errors.Is(err, store.ErrUnavailable):
		return "Charlize can't reach its state store right now; nothing was done — try again in a minute.", true
	case errors.Is(err, errApprovalGone):
		return "This approval request has expired; ask again if it is still needed.", true
	case errors.As(err, &denied):
		// The policy's reason is meant for the user: it says what is missing.
		what := string(denied.action)
		if denied.target != "" {
			what += " " + denied.target
		}
		if denied.what != "" {
			what = denied.what
		}
		return fmt.Sprintf("You can't %s: %s.", blocks.Escape(what), blocks.Escape(denied.reason)), true
	case errors.As(err, &busy):
		return fmt.Sprintf("An action on %s is already in progress (by %s).", blocks.Escape(busy.name), requester(busy.holder)), true
	case errors.As(err, &claimed):
		if claimed.done {
			return fmt.Sprintf("%s was already %s by %s %s.", blocks.Escape(claimed.name), doneWord(claimed),
				requester(claimed.requester), blocks.Date(claimed.at)), true
		}
		return fmt.Sprintf("%s %s is already in progress (by %s).", claimed.action.Label(), blocks.Escape(claimed.name), requester(claimed.requester)), true
	case errors.As(err, &self):
		return fmt.Sprintf("You can't approve your own request: another person allowed to %s must.", self.action), true
	case errors.As(err, &decided):
		return fmt.Sprintf("This request was already decided (by %s).", requester(decided.by)), true
	case errors.As(err, &notPosted):
		if notPosted.cannotPost {
			return "This action needs a second person's approval, and I can't post the request in this channel. Invite me (`/invite @Charlize`) and try again.", true
		}
		return "I couldn't post the approval request in the channel.", true
	case errors.As(err, &interrupted):
		return fmt.Sprintf("Charlize was interrupted (it is restarting) while %s was %s. Run `%s status %s` to see where it got to.",
			blocks.Escape(interrupted.name), blocks.Escape(interrupted.state), d.slashCommand, blocks.Escape(interrupted.name)), true
	case errors.As(err, &schedErr):
		return blocks.Escape(schedErr.UserMessage()), true
	case errors.As(err, &exists):
		if exists.readOnly {
			return fmt.Sprintf("Schedule *%s* comes from the schedules file; change it there.", blocks.Escape(exists.name)), true
		}
		return fmt.Sprintf("A schedule named *%s* already exists; `%s schedules` lists them.", blocks.Escape(exists.name), d.slashCommand), true
	case errors.As(err, &noSchedule):
		return fmt.Sprintf("There is no schedule named *%s*; `%s schedules` lists them.", blocks.Escape(noSchedule.name), d.slashCommand), true
	case errors.As(err, &ambiguous):
		return fmt.Sprintf("%s matches %d instances; name one by its id (`i-…`).", blocks.Code(ambiguous.query, 100), ambiguous.n), true
	case errors.As(err, &unfollowed):
		return fmt.Sprintf("%s no longer follows schedule *%s*, so it was left alone.", blocks.Escape(unfollowed.name), blocks.Escape(unfollowed.schedule)), true
	case errors.As(err, &tooLate):
		return fmt.Sprintf("Too late to snooze %s: its scheduled stop has already been carried out.", blocks.Escape(tooLate.name)), true
	case errors.As(err, &ec2Err) && ec2Err.Kind != ec2ops.KindUnknown:
		return ec2Err.UserMessage(), true
	}
	return "", false
}

// doneWord is how a settled action reads after "web-1 was already".
func doneWord(c *claimedError) string {
	switch c.result {
	case store.ResultDone, "":
		if w := c.action.Done(); w != "" {
			return w
		}
		return "handled"
	case store.ResultInterrupted:
		return "asked to " + string(c.action)
	}
	return "tried (" + string(c.result) + ")"
}

// failure is the one place an error becomes what a Slack user reads.
// Unexpected errors are logged in full for the operator; the user gets a
// reference to find that log line and nothing internal.
func (d *Dispatcher) failure(ctx context.Context, op string, err error) slack.WebhookMessage {
	return ephemeral(d.failureText(ctx, op, err))
}

// failureText is failure's text alone, for messages that carry it inside
// their own rendering (a result, a modal's inline error).
func (d *Dispatcher) failureText(ctx context.Context, op string, err error) string {
	if text, ok := d.userText(err); ok {
		d.log.InfoContext(ctx, "refused", "request_id", reqctx.ID(ctx), "op", op, "reason", err)
		return text
	}
	id := reqctx.ID(ctx)
	d.log.ErrorContext(ctx, "flow failed", "request_id", id, "op", op, "err", err)
	return fmt.Sprintf("Something went wrong (ref `%s`).", id)
}

// requester is a user as a mention, "someone" when unknown.
func requester(user string) string {
	if m := blocks.Mention(user); m != "" {
		return m
	}
	return "someone"
}
