package app

import (
	"context"
	"slices"
	"time"

	"github.com/slack-go/slack"

	"github.com/charlize-app/charlize/blocks"
	"github.com/charlize-app/charlize/ec2ops"
	"github.com/charlize-app/charlize/handlers/reqctx"
	"github.com/charlize-app/charlize/handlers/slackclient"
)

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
