package slackclient

import (
	"context"
	"errors"
	"time"

	"github.com/slack-go/slack"
)

// Call runs call, waiting out Slack's rate limits as NewClient's clients
// do. Web API calls need no Call (their client retries); response_url
// posts do, since slack-go posts them with a plain HTTP client.
func Call(ctx context.Context, call func() error) error {
	for attempt := 0; ; attempt++ {
		err := call()
		var limited *slack.RateLimitedError
		if !errors.As(err, &limited) || attempt >= maxRateLimitRetries || limited.RetryAfter > maxRateLimitWait {
			return err
		}
		t := time.NewTimer(limited.RetryAfter)
		select {
		case <-ctx.Done():
			t.Stop()
			return err
		case <-t.C:
		}
	}
}

// ErrorCode returns Slack's error code ("not_in_channel") or "".
func ErrorCode(err error) string {
	var resp slack.SlackErrorResponse
	if errors.As(err, &resp) {
		return resp.Err
	}
	return ""
}

// CannotPost reports whether err means the bot may not post in a channel.
func CannotPost(err error) bool {
	switch ErrorCode(err) {
	case "not_in_channel", "channel_not_found", "is_archived", "restricted_action", "missing_scope":
		return true
	}
	return false
}

// PostMessage posts msg in channel (extra options such as a thread
// timestamp appended); it returns the message ts.
func PostMessage(ctx context.Context, api API, channel string, msg slack.WebhookMessage, extra ...slack.MsgOption) (string, error) {
	_, ts, err := api.PostMessageContext(ctx, channel, append(MsgOptions(msg), extra...)...)
	return ts, err
}

// UpdateMessage replaces the message at channel/ts with msg.
func UpdateMessage(ctx context.Context, api API, channel, ts string, msg slack.WebhookMessage) error {
	_, _, _, err := api.UpdateMessageContext(ctx, channel, ts, MsgOptions(msg)...)
	return err
}

// MsgOptions turns a rendered message into chat.* options.
func MsgOptions(msg slack.WebhookMessage) []slack.MsgOption {
	opts := []slack.MsgOption{slack.MsgOptionText(msg.Text, false)}
	if msg.Blocks != nil {
		opts = append(opts, slack.MsgOptionBlocks(msg.Blocks.BlockSet...))
	}
	return opts
}
