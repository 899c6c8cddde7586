package app

import (
	"context"
	"fmt"

	"github.com/slack-go/slack"

	"github.com/charlize-app/charlize/blocks"
	"github.com/charlize-app/charlize/handlers/reqctx"
	"github.com/charlize-app/charlize/handlers/slackclient"
)

// postInChannel posts msg for everyone in channel; when the bot may not
// post there, the user who asked gets it through the response_url with a
// note on how to fix that.
func (d *Dispatcher) postInChannel(ctx context.Context, team slackclient.Team, channel, responseURL string, msg slack.WebhookMessage) {
	api, err := d.clients.Client(ctx, team)
	if err == nil {
		if _, err = slackclient.PostMessage(ctx, api, channel, msg); err == nil {
			return
		}
	}
	note := "I couldn't post in the channel, so only you see this."
	if slackclient.CannotPost(err) {
		note = fmt.Sprintf("I can't post in <#%s>, so only you see this. Invite me (`/invite @Charlize`) to share lists there.", channel)
	}
	d.log.InfoContext(ctx, "posting in channel failed; answering the user", "request_id", reqctx.ID(ctx), "slack_error", slackclient.ErrorCode(err))
	if msg.Blocks != nil {
		msg.Blocks.BlockSet = append([]slack.Block{slack.NewContextBlock("fallback_note",
			slack.NewTextBlockObject(slack.MarkdownType, note, false, false))}, msg.Blocks.BlockSet...)
		if len(msg.Blocks.BlockSet) > blocks.MaxMessageBlocks {
			msg.Blocks.BlockSet = msg.Blocks.BlockSet[:blocks.MaxMessageBlocks]
		}
	}
	msg.Text = note + " " + msg.Text
	d.tellNow(ctx, responseURL, msg)
}

// tellNow posts to a response_url from a background job.
func (d *Dispatcher) tellNow(ctx context.Context, responseURL string, msg slack.WebhookMessage) {
	if responseURL == "" {
		return
	}
	if msg.ResponseType == "" {
		msg.ResponseType = slack.ResponseTypeEphemeral
	}
	if err := d.respond.Post(ctx, responseURL, msg); err != nil {
		d.log.WarnContext(ctx, "could not answer through response_url", "request_id", reqctx.ID(ctx), "err", err)
	}
}

// tell posts msg to the user through a response_url, after the ack.
func (d *Dispatcher) tell(ctx context.Context, responseURL string, msg slack.WebhookMessage) {
	if responseURL == "" {
		return
	}
	err := d.workers.Go(ctx, func(ctx context.Context) { d.tellNow(ctx, responseURL, msg) })
	if err != nil {
		d.log.WarnContext(ctx, "could not queue an answer", "request_id", reqctx.ID(ctx), "err", err)
	}
}

func ephemeral(text string) slack.WebhookMessage {
	return slack.WebhookMessage{ResponseType: slack.ResponseTypeEphemeral, Text: text}
}

// replacing marks msg as the new content of the message it answers.
func replacing(msg slack.WebhookMessage) slack.WebhookMessage {
	msg.ReplaceOriginal = true
	if msg.ResponseType == "" {
		msg.ResponseType = slack.ResponseTypeEphemeral
	}
	return msg
}

// inPlace makes msg replace the message that held the clicked button,
// keeping it in the channel when it was posted there.
func (d *Dispatcher) inPlace(cb slack.InteractionCallback, msg slack.WebhookMessage) slack.WebhookMessage {
	msg.ReplaceOriginal = true
	msg.ResponseType = slack.ResponseTypeEphemeral
	if !cb.Container.IsEphemeral && cb.Container.MessageTs != "" {
		msg.ResponseType = slack.ResponseTypeInChannel
	}
	return msg
}
