package slackclient

import (
	"context"
	"errors"
	"time"

	"github.com/slack-go/slack"
)

// Slack's documented rate-limit answer is 429 with Retry-After; waits
// longer than this, or more than maxRateLimitRetries of them, give up.
const (
	maxRateLimitWait    = 30 * time.Second
	maxRateLimitRetries = 3
)

// Call runs call, waiting out Slack's rate limits.
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
// timestamp appended), waiting out rate limits; it returns the message ts.
func PostMessage(ctx context.Context, api API, channel string, msg slack.WebhookMessage, extra ...slack.MsgOption) (string, error) {
	var ts string
	err := Call(ctx, func() (err error) {
		_, ts, err = api.PostMessageContext(ctx, channel, append(MsgOptions(msg), extra...)...)
		return err
	})
	return ts, err
}

// UpdateMessage replaces the message at channel/ts with msg, waiting out
// rate limits.
func UpdateMessage(ctx context.Context, api API, channel, ts string, msg slack.WebhookMessage) error {
	return Call(ctx, func() error {
		_, _, _, err := api.UpdateMessageContext(ctx, channel, ts, MsgOptions(msg)...)
		return err
	})
}

// MsgOptions turns a rendered message into chat.* options.
func MsgOptions(msg slack.WebhookMessage) []slack.MsgOption {
	opts := []slack.MsgOption{slack.MsgOptionText(msg.Text, false)}
	if msg.Blocks != nil {
		opts = append(opts, slack.MsgOptionBlocks(msg.Blocks.BlockSet...))
	}
	return opts
}
