package app

import (
	"context"
	"errors"
	"fmt"

	"github.com/slack-go/slack"

	"github.com/charlize-app/charlize/blocks"
	"github.com/charlize-app/charlize/ec2ops"
	"github.com/charlize-app/charlize/handlers/reqctx"
	"github.com/charlize-app/charlize/handlers/slackclient"
)

// userText words the errors a user can act on; ok is false for anything
// unexpected.
func (d *Dispatcher) userText(err error) (string, bool) {
	var (
		ec2Err *ec2ops.Error
		busy   *busyInstanceError
		denied *deniedError
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
	case errors.As(err, &denied):
		// The policy's reason is meant for the user: it says what is missing.
		what := denied.action
		if denied.target != "" {
			what += " " + denied.target
		}
		return fmt.Sprintf("You can't %s: %s.", blocks.Escape(what), blocks.Escape(denied.reason)), true
	case errors.As(err, &busy):
		return fmt.Sprintf("An action on %s is already in progress (by <@%s>).", blocks.Escape(busy.name), busy.holder), true
	case errors.As(err, &ec2Err) && ec2Err.Kind != ec2ops.KindUnknown:
		return ec2Err.UserMessage(), true
	}
	return "", false
}

// failure is the one place an error becomes what a Slack user reads.
// Unexpected errors are logged in full for the operator; the user gets a
// reference to find that log line and nothing internal.
func (d *Dispatcher) failure(ctx context.Context, op string, err error) slack.WebhookMessage {
	if text, ok := d.userText(err); ok {
		d.log.InfoContext(ctx, "refused", "request_id", reqctx.ID(ctx), "op", op, "reason", err)
		return ephemeral(text)
	}
	id := reqctx.ID(ctx)
	d.log.ErrorContext(ctx, "flow failed", "request_id", id, "op", op, "err", err)
	return ephemeral(fmt.Sprintf("Something went wrong (ref `%s`).", id))
}

var (
	errNoFleet        = errors.New("no AWS accounts configured")
	errNoAccountsHere = errors.New("no AWS account visible to this workspace")
)
