package app

import (
	"context"
	"errors"
	"fmt"
	"slices"

	"github.com/slack-go/slack"
	"github.com/slack-go/slack/slackevents"

	"github.com/charlize-app/charlize/blocks"
	"github.com/charlize-app/charlize/handlers/reqctx"
	"github.com/charlize-app/charlize/handlers/slackclient"
	"github.com/charlize-app/charlize/store"
)

// mentioned answers an app_mention, after the ack.
func (d *Dispatcher) mentioned(ctx context.Context, ev slackevents.EventsAPIEvent) error {
	inner, ok := ev.InnerEvent.Data.(*slackevents.AppMentionEvent)
	if !ok {
		return nil
	}
	team := slackclient.Team{ID: ev.TeamID, EnterpriseID: ev.EnterpriseID}
	return d.workers.Go(ctx, func(ctx context.Context) { d.replyToMention(ctx, team, inner) })
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

// installed returns slackclient.ErrNotInstalled when team's workspace has
// no installation, so that every request from it, even one that needs no
// Slack call, is told so.
func (d *Dispatcher) installed(ctx context.Context, team slackclient.Team) error {
	return d.clients.Installed(ctx, team)
}

// uninstalled handles app_uninstalled: the installation and the team's
// sessions go.
func (d *Dispatcher) uninstalled(ctx context.Context, ev slackevents.EventsAPIEvent) error {
	return d.removeInstallation(ctx, ev, "app_uninstalled")
}

// tokensRevoked handles tokens_revoked: when our bot's token is among
// those revoked the installation is useless, so it goes like an uninstall.
// Revoked user tokens are none of ours (Charlize keeps none).
func (d *Dispatcher) tokensRevoked(ctx context.Context, ev slackevents.EventsAPIEvent) error {
	inner, ok := ev.InnerEvent.Data.(*slackevents.TokensRevokedEvent)
	if !ok || len(inner.Tokens.Bot) == 0 {
		return nil
	}
	for _, key := range installationKeys(ev) {
		inst, err := d.store.Installation(ctx, key)
		if errors.Is(err, store.ErrNotFound) {
			continue
		}
		if err != nil {
			return fmt.Errorf("tokens_revoked: %w", err)
		}
		if inst.BotUserID == "" || slices.Contains(inner.Tokens.Bot, inst.BotUserID) {
			return d.removeInstallation(ctx, ev, "tokens_revoked")
		}
	}
	return nil
}

func (d *Dispatcher) removeInstallation(ctx context.Context, ev slackevents.EventsAPIEvent, why string) error {
	keys := installationKeys(ev)
	for _, key := range keys {
		if err := d.store.DeleteInstallation(ctx, key); err != nil {
			return fmt.Errorf("%s: delete installation %s: %w", why, key, err)
		}
	}
	if ev.TeamID != "" {
		if err := d.store.DeleteTeamSessions(ctx, ev.TeamID); err != nil {
			return fmt.Errorf("%s: delete sessions of %s: %w", why, ev.TeamID, err)
		}
	}
	d.log.InfoContext(ctx, "installation removed", "request_id", reqctx.ID(ctx), "reason", why,
		"team", ev.TeamID, "enterprise", ev.EnterpriseID, "keys", keys)
	return nil
}

// installationKeys are the installations an uninstall event is about: the
// workspace's, and the org's when Slack says the install was org-wide.
func installationKeys(ev slackevents.EventsAPIEvent) []string {
	var keys []string
	if ev.TeamID != "" {
		keys = append(keys, store.TeamKey(ev.TeamID))
	}
	if outer, ok := ev.Data.(*slackevents.EventsAPICallbackEvent); ok {
		for _, a := range outer.Authorizations {
			if a.IsEnterpriseInstall && a.EnterpriseID != "" {
				if k := store.EnterpriseKey(a.EnterpriseID); !slices.Contains(keys, k) {
					keys = append(keys, k)
				}
			}
		}
	}
	return keys
}
