package app

import (
	"context"
	"errors"
	"slices"
	"time"

	"github.com/slack-go/slack"

	"github.com/charlize-app/charlize/blocks"
	"github.com/charlize-app/charlize/handlers/reqctx"
	"github.com/charlize-app/charlize/handlers/slackclient"
)

// reporter shows an action's progress and result where the channel sees
// it: the in-channel message that held the button (or the approval request)
// is edited with chat.update; a button on an ephemeral message gets a new
// channel message, and its own message replaced through the response_url.
// When the bot cannot post in the channel, everything goes through the
// response_url, keeping one of its 5 posts for the result, with a note
// saying how to fix it.
type reporter struct {
	d       *Dispatcher
	api     slackclient.API
	origin  origin // the message whose button asked
	channel string // where a new message goes when the origin cannot be edited
	via     *reply // the response_url of the click; nil when there is none

	at        origin // the channel message being edited; TS "" when none
	viaURL    bool   // also show through the response_url
	note      string
	last      time.Time
	lastState string
}

func (d *Dispatcher) newReporter(api slackclient.API, rec *actionRecord, via *reply) *reporter {
	if via == nil {
		via = &reply{d: d}
	}
	// Through the response_url, progress replaces the clicked message for
	// the clicker alone; the channel sees its own message.
	via.fromChannel = false
	return &reporter{d: d, api: api, origin: rec.Origin, channel: rec.Channel, via: via}
}

// start shows the first progress and returns the channel message that
// will carry the rest ("" TS when there is none).
func (r *reporter) start(ctx context.Context, v blocks.ProgressView) origin {
	o := r.origin
	if !o.Ephemeral && o.TS != "" && o.ChannelID != "" {
		if err := slackclient.UpdateMessage(ctx, r.api, o.ChannelID, o.TS, blocks.Progress(v)); err == nil {
			r.at = origin{ChannelID: o.ChannelID, TS: o.TS}
			r.mark(v)
			return r.at
		}
	}
	channel := o.ChannelID
	if channel == "" {
		channel = r.channel
	}
	r.viaURL = true
	ts, err := slackclient.PostMessage(ctx, r.api, channel, blocks.Progress(v))
	switch {
	case err == nil:
		r.at = origin{ChannelID: channel, TS: ts}
	case slackclient.CannotPost(err):
		// The note is escaped when rendered, so it names no channel link.
		r.note = "I can't post in this channel, so only you see this. Invite me (`/invite @Charlize`) so the channel sees who did what."
		r.d.log.InfoContext(ctx, "cannot post in channel; progress through response_url", "request_id", reqctx.ID(ctx), "channel", channel, "slack_error", slackclient.ErrorCode(err))
	default:
		r.note = "I couldn't post in the channel, so only you see this."
		r.d.log.WarnContext(ctx, "post progress failed", "request_id", reqctx.ID(ctx), "err", err)
	}
	v.FallbackNote = r.note
	r.via.replace(ctx, blocks.Progress(v))
	r.mark(v)
	return r.at
}

// resume carries on a reporter of an action taken over from another
// replica: it edits the channel message that replica posted, or keeps the
// last response_url post for the result when there was none. It reports
// whether there was anything to carry on.
func (r *reporter) resume(rec *actionRecord) bool {
	if rec.Progress.TS != "" {
		r.at = rec.Progress
		return true
	}
	if rec.Origin.ResponseURL != "" {
		r.via = &reply{d: r.d, team: rec.team(), channel: rec.Channel, responseURL: rec.Origin.ResponseURL,
			posts: responseURLPosts - 1}
		r.viaURL = true
		return true
	}
	return false
}

// progress updates on a change of state, at most once per interval.
func (r *reporter) progress(ctx context.Context, v blocks.ProgressView) {
	if v.State == r.lastState || r.d.now().Sub(r.last) < r.d.progressInterval {
		return
	}
	if v.FallbackNote == "" {
		v.FallbackNote = r.note
	}
	switch {
	case r.at.TS != "":
		if err := slackclient.UpdateMessage(ctx, r.api, r.at.ChannelID, r.at.TS, blocks.Progress(v)); err != nil {
			r.d.log.WarnContext(ctx, "progress update failed", "request_id", reqctx.ID(ctx), "err", err)
		}
	case r.viaURL && r.via.left() > 1: // keep one post for the result
		r.via.replace(ctx, blocks.Progress(v))
	}
	r.mark(v)
}

// show puts v up now, whatever was shown last and when.
func (r *reporter) show(ctx context.Context, v blocks.ProgressView) {
	r.lastState = ""
	r.last = time.Time{}
	r.progress(ctx, v)
}

// finish shows how the action ended, where its progress was. The edit of
// the channel message is retried, honouring Slack's Retry-After, until it
// lands or the report deadline passes; it reports whether the result
// reached the channel (or the user) at all.
func (r *reporter) finish(ctx context.Context, msg slack.WebhookMessage) bool {
	landed := true
	if r.at.TS != "" {
		landed = r.edit(ctx, msg)
	}
	if r.viaURL {
		r.via.replace(ctx, withNote(msg, r.note))
		landed = true
	}
	return landed
}

// edit replaces the channel message with msg, retrying until the report
// deadline; a Slack error such as message_not_found is final.
func (r *reporter) edit(ctx context.Context, msg slack.WebhookMessage) bool {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), r.d.reportDeadline)
	defer cancel()
	for {
		err := slackclient.UpdateMessage(ctx, r.api, r.at.ChannelID, r.at.TS, msg)
		if err == nil {
			return true
		}
		wait := time.Second
		if limited, ok := errors.AsType[*slack.RateLimitedError](err); ok {
			wait = limited.RetryAfter
		} else if slackclient.ErrorCode(err) != "" {
			r.d.log.WarnContext(ctx, "result update refused", "request_id", reqctx.ID(ctx), "slack_error", slackclient.ErrorCode(err))
			return false
		}
		if deadline, _ := ctx.Deadline(); time.Now().Add(wait).After(deadline) {
			r.d.log.WarnContext(ctx, "result update gave up at the report deadline", "request_id", reqctx.ID(ctx), "err", err)
			return false
		}
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return false
		case <-t.C:
		}
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
