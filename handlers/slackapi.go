package handlers

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/slack-go/slack"
)

// SlackAPI is the part of Slack's Web API the flows call; slack-go's
// *slack.Client satisfies it.
type SlackAPI interface {
	OpenViewContext(ctx context.Context, triggerID string, view slack.ModalViewRequest) (*slack.ViewResponse, error)
	UpdateViewContext(ctx context.Context, view slack.ModalViewRequest, externalID, hash, viewID string) (*slack.ViewResponse, error)
	PostMessageContext(ctx context.Context, channelID string, options ...slack.MsgOption) (string, string, error)
	UpdateMessageContext(ctx context.Context, channelID, timestamp string, options ...slack.MsgOption) (string, string, string, error)
}

// ErrNotInstalled means the request's workspace has no installation.
var ErrNotInstalled = errors.New("charlize is not installed in this workspace")

// Team identifies the Slack workspace (and Enterprise Grid org) a request
// comes from.
type Team struct {
	ID, EnterpriseID string
}

// Clients resolves the Slack client that acts for a workspace: one bot
// token in single-workspace mode, the installation's in multi-workspace mode.
type Clients interface {
	Client(ctx context.Context, team Team) (SlackAPI, error)
}

// SingleWorkspace serves every request with one bot token.
type SingleWorkspace struct{ API SlackAPI }

// Client returns the one client.
func (s SingleWorkspace) Client(context.Context, Team) (SlackAPI, error) {
	if s.API == nil {
		return nil, ErrNotInstalled
	}
	return s.API, nil
}

// Slack's documented rate-limit answer is 429 with Retry-After; waits
// longer than this, or more than maxRateLimitRetries of them, give up.
const (
	maxRateLimitWait    = 30 * time.Second
	maxRateLimitRetries = 3
)

// callSlack runs call, waiting out Slack's rate limits.
func callSlack(ctx context.Context, call func() error) error {
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

// slackError returns Slack's error code ("not_in_channel") or "".
func slackError(err error) string {
	var resp slack.SlackErrorResponse
	if errors.As(err, &resp) {
		return resp.Err
	}
	return ""
}

// cannotPost reports whether err means the bot may not post in a channel.
func cannotPost(err error) bool {
	switch slackError(err) {
	case "not_in_channel", "channel_not_found", "is_archived", "restricted_action", "missing_scope":
		return true
	}
	return false
}

// responder posts to response_urls. Slack accepts 5 posts per URL in 30
// minutes; callers keep to that.
type responder struct {
	client *http.Client
}

func (r responder) post(ctx context.Context, url string, msg slack.WebhookMessage) error {
	if url == "" {
		return errors.New("no response_url")
	}
	err := callSlack(ctx, func() error {
		return slack.PostWebhookCustomHTTPContext(ctx, url, r.client, &msg)
	})
	if err != nil {
		return fmt.Errorf("post to response_url: %w", err)
	}
	return nil
}

// postMessage posts msg in channel (extra options such as a thread
// timestamp appended), waiting out rate limits; it returns the message ts.
func postMessage(ctx context.Context, api SlackAPI, channel string, msg slack.WebhookMessage, extra ...slack.MsgOption) (string, error) {
	var ts string
	err := callSlack(ctx, func() (err error) {
		_, ts, err = api.PostMessageContext(ctx, channel, append(msgOptions(msg), extra...)...)
		return err
	})
	return ts, err
}

// updateMessage replaces the message at channel/ts with msg, waiting out
// rate limits.
func updateMessage(ctx context.Context, api SlackAPI, channel, ts string, msg slack.WebhookMessage) error {
	return callSlack(ctx, func() error {
		_, _, _, err := api.UpdateMessageContext(ctx, channel, ts, msgOptions(msg)...)
		return err
	})
}

func msgOptions(msg slack.WebhookMessage) []slack.MsgOption {
	opts := []slack.MsgOption{slack.MsgOptionText(msg.Text, false)}
	if msg.Blocks != nil {
		opts = append(opts, slack.MsgOptionBlocks(msg.Blocks.BlockSet...))
	}
	return opts
}
