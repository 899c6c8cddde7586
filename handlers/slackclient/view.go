package slackclient

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/slack-go/slack"
)

// Client is slack-go's client with one call of Charlize's own beside it:
// views.open with a view already encoded.
type Client struct {
	*slack.Client
	token, apiURL string
	hc            *http.Client
}

var _ API = (*Client)(nil)

// OpenViewJSON opens a modal whose view is already JSON, as views.open
// with trigger_id. slack-go's OpenViewContext encodes the view on every
// call, and encoding/json compacts what each block's MarshalJSON returns,
// twice over: for the picker, opened by every bare /charlize and the same
// for everyone who sees the same accounts, that was a tenth of the server's
// CPU under load. Errors are slack-go's: Slack's error codes come back as
// slack.SlackErrorResponse, a status other than 200 as slack.StatusCodeError,
// and rate limits are waited out as NewClient's client waits them out.
func (c *Client) OpenViewJSON(ctx context.Context, triggerID string, view json.RawMessage) error {
	if triggerID == "" {
		return slack.ErrParametersMissing
	}
	trigger, err := json.Marshal(triggerID)
	if err != nil {
		return fmt.Errorf("views.open: %w", err)
	}
	body := make([]byte, 0, len(`{"trigger_id":,"view":}`)+len(trigger)+len(view))
	body = append(body, `{"trigger_id":`...)
	body = append(body, trigger...)
	body = append(body, `,"view":`...)
	body = append(body, view...)
	body = append(body, '}')
	for attempt := 0; ; attempt++ {
		wait, err := c.openView(ctx, body)
		if wait == 0 {
			return err
		}
		if attempt >= maxRateLimitRetries || wait > maxRateLimitWait {
			return &slack.RateLimitedError{RetryAfter: wait}
		}
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return ctx.Err()
		case <-t.C:
		}
	}
}

// openView makes one views.open call; a rate-limited call returns how long
// Slack asks to wait.
func (c *Client) openView(ctx context.Context, body []byte) (time.Duration, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.apiURL+"views.open", bytes.NewReader(body))
	if err != nil {
		return 0, fmt.Errorf("views.open: %w", err)
	}
	req.Header.Set("Content-Type", "application/json; charset=utf-8")
	req.Header.Set("Authorization", "Bearer "+c.token)
	resp, err := c.hc.Do(req)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	switch resp.StatusCode {
	case http.StatusOK:
	case http.StatusTooManyRequests:
		_, _ = io.Copy(io.Discard, resp.Body)
		secs, err := strconv.Atoi(strings.TrimSpace(resp.Header.Get("Retry-After")))
		if err != nil {
			return 0, &slack.RateLimitedError{}
		}
		return max(time.Duration(secs)*time.Second, time.Second), nil
	default:
		_, _ = io.Copy(io.Discard, resp.Body)
		return 0, slack.StatusCodeError{Code: resp.StatusCode, Status: resp.Status}
	}
	// Only the verdict is read: Charlize never needs the view Slack echoes.
	var answer slack.SlackResponse
	if err := json.NewDecoder(resp.Body).Decode(&answer); err != nil {
		return 0, fmt.Errorf("views.open: %w", err)
	}
	if !answer.Ok && answer.Error == "" {
		answer.Error = "not_ok" // slack-go would take this for success
	}
	return 0, answer.Err()
}
