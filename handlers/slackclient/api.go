// Package slackclient is Charlize's side of Slack's Web API: the interface
// the flows call, the clients that act for a workspace (one bot token, or
// each workspace's stored installation with token rotation), calls that
// wait out rate limits, response_url posts and the user-group cache. It
// holds no flow logic and renders nothing.
package slackclient

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/slack-go/slack"
)

// API is the part of Slack's Web API the flows call; slack-go's
// *slack.Client satisfies it.
type API interface {
	OpenViewContext(ctx context.Context, triggerID string, view slack.ModalViewRequest) (*slack.ViewResponse, error)
	UpdateViewContext(ctx context.Context, view slack.ModalViewRequest, externalID, hash, viewID string) (*slack.ViewResponse, error)
	PostMessageContext(ctx context.Context, channelID string, options ...slack.MsgOption) (string, string, error)
	UpdateMessageContext(ctx context.Context, channelID, timestamp string, options ...slack.MsgOption) (string, string, string, error)
	// GetUserGroupMembersContext lists a user group's members (scope
	// usergroups:read), for policies that name groups.
	GetUserGroupMembersContext(ctx context.Context, group string, options ...slack.GetUserGroupMembersOption) ([]string, error)
}

var _ API = (*slack.Client)(nil)

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
	Client(ctx context.Context, team Team) (API, error)
	// Installed returns ErrNotInstalled when team has not installed
	// Charlize, so that every request from it is told so, even one that
	// needs no Slack call.
	Installed(ctx context.Context, team Team) error
}

// SingleWorkspace serves every request with one bot token.
type SingleWorkspace struct{ API API }

var _ Clients = SingleWorkspace{}

// Client returns the one client.
func (s SingleWorkspace) Client(context.Context, Team) (API, error) {
	if s.API == nil {
		return nil, ErrNotInstalled
	}
	return s.API, nil
}

// Installed is always true: the one token is the installation, and a
// missing token is reported when a flow asks for the client.
func (s SingleWorkspace) Installed(context.Context, Team) error { return nil }

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

// ResponseURLs posts to response_urls. Slack accepts 5 posts per URL in 30
// minutes; callers keep to that.
type ResponseURLs struct {
	HTTP *http.Client
}

// Post sends msg to url, waiting out rate limits.
func (r ResponseURLs) Post(ctx context.Context, url string, msg slack.WebhookMessage) error {
	if url == "" {
		return errors.New("no response_url")
	}
	err := Call(ctx, func() error {
		return slack.PostWebhookCustomHTTPContext(ctx, url, r.HTTP, &msg)
	})
	if err != nil {
		return fmt.Errorf("post to response_url: %w", err)
	}
	return nil
}

// PostMessage posts msg in channel (extra options such as a thread
// timestamp appended), waiting out rate limits; it returns the message ts.
func PostMessage(ctx context.Context, api API, channel string, msg slack.WebhookMessage, extra ...slack.MsgOption) (string, error) {
	var ts string
	err := Call(ctx, func() (err error) {
		_, ts, err = api.PostMessageContext(ctx, channel, append(msgOptions(msg), extra...)...)
		return err
	})
	return ts, err
}

// UpdateMessage replaces the message at channel/ts with msg, waiting out
// rate limits.
func UpdateMessage(ctx context.Context, api API, channel, ts string, msg slack.WebhookMessage) error {
	return Call(ctx, func() error {
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
