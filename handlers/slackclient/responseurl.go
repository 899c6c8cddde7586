package slackclient

import (
	"context"
	"errors"
	"fmt"
	"net/http"

	"github.com/slack-go/slack"
)

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
