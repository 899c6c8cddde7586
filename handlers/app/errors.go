package app

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/slack-go/slack"

	"github.com/charlize-app/charlize/blocks"
	"github.com/charlize-app/charlize/ec2ops"
	"github.com/charlize-app/charlize/ec2ops/action"
	"github.com/charlize-app/charlize/handlers/reqctx"
	"github.com/charlize-app/charlize/handlers/schedule"
	"github.com/charlize-app/charlize/handlers/slackclient"
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
	// errApprovalPosting: a decision came while its request was still
	// being posted, and the posting outlasted the wait.
	errApprovalPosting = errors.New("approval request still being posted")
	errLeaseHeld       = errors.New("another replica runs this action")
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

// warningBusyError refuses a snooze (or skip) pressed while its warning's
// message is being changed (the stop starting, another press): nothing
// was snoozed, and pressing again in a moment works.
type warningBusyError struct{ name string }

func (e *warningBusyError) Error() string { return "the warning of " + e.name + " is being updated" }

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

// notStartedError ends an action found queued whose click no longer
// stands behind it, so it was never started.
type notStartedError struct {
	action    action.Action
	name      string
	scheduled bool          // a schedule's step, whose message names the instance
	grace     time.Duration // a schedule's step found past its grace
}

func (e *notStartedError) Error() string { return string(e.action) + " " + e.name + " was not started" }

// userText words the errors a user can act on; ok is false for anything
// unexpected. Names, tags, AWS's messages and what users typed go in as
// values, which blocks escapes when it renders the text.
func (d *Dispatcher) userText(err error) (blocks.Text, bool) {
	var (
		ec2Err      *ec2ops.Error
		busy        *busyInstanceError
		denied      *deniedError
		claimed     *claimedError
		self        *selfApprovalError
		decided     *decidedError
		notPosted   *approvalNotPostedError
		interrupted *interruptedError
		notStarted  *notStartedError
		upload      *uploadError
		notRead     *lookupFailedError
		schedErr    *schedule.Error
		exists      *scheduleExistsError
		noSchedule  *noScheduleError
		ambiguous   *ambiguousInstanceError
		tooLate     *tooLateError
		warningBusy *warningBusyError
		unfollowed  *unfollowedError
	)
	slash := blocks.Inline(d.slashCommand)
	switch {
	case errors.Is(err, errExpired):
		return blocks.Say("This message has expired — run %s again.", slash), true
	case errors.Is(err, errForeignTeam):
		return blocks.Say("That button belongs to another workspace."), true
	case errors.Is(err, errBadValue):
		return blocks.Say("I couldn't read that button — run %s again.", slash), true
	case errors.Is(err, slackclient.ErrNotInstalled):
		return blocks.Say("Charlize is not installed in this workspace — ask an admin to install it."), true
	case errors.Is(err, errTriggerExpired):
		return blocks.Say("Slack gave me only 3 seconds to open that window and they ran out. Please try again."), true
	case errors.Is(err, ErrBusy):
		return blocks.Say("Charlize is busy right now — try again in a minute."), true
	case errors.Is(err, errNoFleet):
		return blocks.Say("No AWS accounts are configured for Charlize yet."), true
	case errors.Is(err, errNoAccountsHere):
		return blocks.Say("No AWS account is shared with this workspace. An admin can add its team id to an account's `workspaces` list."), true
	case errors.Is(err, store.ErrUnavailable):
		return blocks.Say("Charlize can't reach its state store right now; nothing was done — try again in a minute."), true
	case errors.Is(err, errApprovalPosting):
		return blocks.Say("That request is still being posted — try again in a moment."), true
	case errors.Is(err, errApprovalGone):
		return blocks.Say("This approval request has expired; ask again if it is still needed."), true
	case errors.As(err, &denied):
		// The policy's reason is meant for the user: it says what is missing.
		what := string(denied.action)
		if denied.target != "" {
			what += " " + denied.target
		}
		if denied.what != "" {
			what = denied.what
		}
		return blocks.Say("You can't %s: %s.", what, denied.reason), true
	case errors.As(err, &busy):
		return blocks.Say("An action on %s is already in progress (by %s).", busy.name, blocks.User(busy.holder)), true
	case errors.As(err, &claimed):
		if claimed.done {
			return blocks.Say("%s was already %s by %s %s.", claimed.name, doneWord(claimed),
				blocks.User(claimed.requester), blocks.At(claimed.at)), true
		}
		return blocks.Say("%s %s is already in progress (by %s).", claimed.action.Label(), claimed.name, blocks.User(claimed.requester)), true
	case errors.As(err, &self):
		return blocks.Say("You can't approve your own request: another person allowed to %s must.", string(self.action)), true
	case errors.As(err, &decided):
		return blocks.Say("This request was already decided (by %s).", blocks.User(decided.by)), true
	case errors.As(err, &notPosted):
		if notPosted.cannotPost {
			return blocks.Say("This action needs a second person's approval, and I can't post the request in this channel. Invite me (`/invite @Charlize`) and try again."), true
		}
		return blocks.Say("I couldn't post the approval request in the channel."), true
	case errors.As(err, &interrupted):
		return blocks.Say("Charlize was interrupted (it is restarting) while %s was %s. Run %s to see where it got to.",
			interrupted.name, interrupted.state, blocks.Inline(d.slashCommand+" status "+interrupted.name)), true
	case errors.As(err, &notStarted):
		if notStarted.grace > 0 {
			return blocks.Say("Charlize stopped running before it could carry this step out, and came back more than %s after it was due, so it was not carried out.", blocks.Duration(notStarted.grace)), true
		}
		if notStarted.scheduled {
			return blocks.Say("Charlize could not record this step when it was due, so it was not carried out."), true
		}
		return blocks.Say("%s %s was not done: Charlize could not start it when it was asked for. Ask again if it is still needed.",
			notStarted.action.Label(), notStarted.name), true
	case errors.As(err, &notRead):
		return d.lookupFailedText(notRead), true
	case errors.As(err, &upload):
		if upload.missingScope() {
			return blocks.Say("Charlize needs the %s scope to show it — an admin can add it and reinstall the app.", blocks.Inline("files:write")), true
		}
		return blocks.Say("Slack did not take the picture; open the card again in a minute."), true
	case errors.As(err, &schedErr):
		return blocks.Say("%s", schedErr.UserMessage()), true
	case errors.As(err, &exists):
		if exists.readOnly {
			return blocks.Say("Schedule *%s* comes from the schedules file; change it there.", exists.name), true
		}
		return blocks.Say("A schedule named *%s* already exists; %s lists them.", exists.name, blocks.Inline(d.slashCommand+" schedules")), true
	case errors.As(err, &noSchedule):
		return blocks.Say("There is no schedule named *%s*; %s lists them.", noSchedule.name, blocks.Inline(d.slashCommand+" schedules")), true
	case errors.As(err, &ambiguous):
		return blocks.Say("%s matches %d instances; name one by its id (%s).", blocks.Inline(ambiguous.query), ambiguous.n, blocks.Inline("i-…")), true
	case errors.As(err, &unfollowed):
		return blocks.Say("%s no longer follows schedule *%s*, so it was left alone.", unfollowed.name, unfollowed.schedule), true
	case errors.As(err, &warningBusy):
		return blocks.Say("The warning for %s is being updated right now, so nothing was snoozed. Press the button again in a few seconds.", warningBusy.name), true
	case errors.As(err, &tooLate):
		return blocks.Say("Too late to snooze %s: its scheduled stop has already been carried out.", tooLate.name), true
	case errors.As(err, &ec2Err) && ec2Err.Kind != ec2ops.KindUnknown:
		return blocks.Say("%s", ec2Err.UserMessage()), true
	}
	return blocks.Text{}, false
}

// lookupFailedError answers a lookup that found nothing while some
// account-regions could not be read: the instance may be in one of them,
// so "no match" would not be true.
type lookupFailedError struct {
	query    string
	failures []ec2ops.Failure
}

func (e *lookupFailedError) Error() string {
	var where []string
	for _, f := range e.failures {
		where = append(where, f.Account+"/"+f.Region+": "+f.Err.Error())
	}
	return fmt.Sprintf("no match for %q, and %d account-regions could not be read: %s", e.query, len(e.failures), strings.Join(where, "; "))
}

// lookupFailedText says what could not be read and why, each failure in
// the words of its own kind.
func (d *Dispatcher) lookupFailedText(e *lookupFailedError) blocks.Text {
	var places []string
	for _, f := range e.failures {
		places = append(places, f.Account+" ("+f.Region+")")
	}
	why := blocks.Say("")
	if len(e.failures) > 0 {
		if text, ok := d.userText(e.failures[0].Err); ok {
			why = blocks.Say(" %s", text)
		}
	}
	return blocks.Say("I found no instance matching %s, but I couldn't read %s, where it may be.%s",
		blocks.Inline(e.query), strings.Join(places, ", "), why)
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
	return ephemeral(d.failureText(ctx, op, err).Mrkdwn())
}

// failureText is failure's text alone, for messages that carry it inside
// their own rendering (a result, a modal's inline error, the audit log).
func (d *Dispatcher) failureText(ctx context.Context, op string, err error) blocks.Text {
	if text, ok := d.userText(err); ok {
		d.log.InfoContext(ctx, "refused", "request_id", reqctx.ID(ctx), "op", op, "reason", err)
		return text
	}
	id := reqctx.ID(ctx)
	d.log.ErrorContext(ctx, "flow failed", "request_id", id, "op", op, "err", err)
	if e, ok := errors.AsType[*ec2ops.Error](err); ok && e.Account != "" {
		// Where it happened helps the user as much as the reference.
		where := e.Account
		if e.Region != "" {
			where += " (" + e.Region + ")"
		}
		return blocks.Say("Something went wrong talking to AWS for %s (ref %s).", where, blocks.Inline(id))
	}
	return blocks.Say("Something went wrong (ref %s).", blocks.Inline(id))
}
