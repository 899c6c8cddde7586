package app

import (
	"context"
	"fmt"
	"time"

	"github.com/slack-go/slack"
	"github.com/slack-go/slack/slackevents"

	"github.com/charlize-app/charlize/blocks"
	"github.com/charlize-app/charlize/handlers/reqctx"
	"github.com/charlize-app/charlize/handlers/slackclient"
)

// eventDedupeTTL covers Slack's retries of one event (minutes apart).
const eventDedupeTTL = 24 * time.Hour

// callbackEvent handles an Events API event_callback once: retries
// (X-Slack-Retry-Num) of an event already taken are acknowledged only.
func (d *Dispatcher) callbackEvent(ctx context.Context, ev slackevents.EventsAPIEvent, retry int) error {
	outer, ok := ev.Data.(*slackevents.EventsAPICallbackEvent)
	if !ok {
		return nil
	}
	if outer.EventID != "" {
		won, _, err := d.store.Claim(ctx, "event:"+outer.EventID, "charlize", eventDedupeTTL)
		if err != nil {
			return fmt.Errorf("dedupe event: %w", err)
		}
		if !won {
			d.log.InfoContext(ctx, "duplicate event ignored", "request_id", reqctx.ID(ctx), "event_id", outer.EventID, "retry", retry)
			return nil
		}
	}
	switch inner := ev.InnerEvent.Data.(type) {
	case *slackevents.AppMentionEvent:
		team := slackclient.Team{ID: ev.TeamID, EnterpriseID: ev.EnterpriseID}
		return d.workers.Go(ctx, func(ctx context.Context) { d.replyToMention(ctx, team, inner) })
	case *slackevents.AppUninstalledEvent:
		return d.uninstalled(ctx, ev)
	case *slackevents.TokensRevokedEvent:
		return d.tokensRevoked(ctx, ev, inner)
	}
	return nil
}

// replyToMention guides people who talk to the bot toward the picker, in
// the thread of their message.
func (d *Dispatcher) replyToMention(ctx context.Context, team slackclient.Team, ev *slackevents.AppMentionEvent) {
	api, err := d.clients.Client(ctx, team)
	if err != nil {
		d.log.WarnContext(ctx, "mention from a workspace without a client", "request_id", reqctx.ID(ctx), "team", team.ID, "err", err)
		return
	}
	thread := ev.ThreadTimeStamp
	if thread == "" {
		thread = ev.TimeStamp
	}
	_, err = slackclient.PostMessage(ctx, api, ev.Channel, blocks.MentionReply(d.slashCommand, "picker"), slack.MsgOptionTS(thread))
	if err != nil {
		d.log.WarnContext(ctx, "could not reply to mention", "request_id", reqctx.ID(ctx), "slack_error", slackclient.ErrorCode(err), "err", err)
	}
}
