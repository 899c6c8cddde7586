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
	trigger, _ := json.Marshal(triggerID) // a string always encodes
	body := make([]byte, 0, len(`{"trigger_id":,"view":}`)+len(trigger)+len(view))
	body = append(body, `{"trigger_id":`...)
	body = append(body, trigger...)
	body = append(body, `,"view":`...)
	body = append(body, view...)
	body = append(body, '}')
	return Call(ctx, func() error { return c.openView(ctx, body) })
}

// openView makes one views.open call. A rate limit comes back as
// slack-go's RateLimitedError, which Call waits out; one without a
// Retry-After Call could read is not retried, as rateLimitRetry does not.
func (c *Client) openView(ctx context.Context, body []byte) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.apiURL+"views.open", bytes.NewReader(body))
	if err != nil {
		return fmt.Errorf("views.open: %w", err)
	}
	req.Header.Set("Content-Type", "application/json; charset=utf-8")
	req.Header.Set("Authorization", "Bearer "+c.token)
	resp, err := c.hc.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		_, _ = io.Copy(io.Discard, resp.Body)
		secs, err := strconv.Atoi(strings.TrimSpace(resp.Header.Get("Retry-After")))
		if resp.StatusCode == http.StatusTooManyRequests && err == nil {
			return &slack.RateLimitedError{RetryAfter: max(time.Duration(secs)*time.Second, time.Second)}
		}
		return slack.StatusCodeError{Code: resp.StatusCode, Status: resp.Status}
	}
	// Only the verdict is read: Charlize never needs the view Slack echoes.
	var answer slack.SlackResponse
	if err := json.NewDecoder(resp.Body).Decode(&answer); err != nil {
		return fmt.Errorf("views.open: %w", err)
	}
	if !answer.Ok && answer.Error == "" {
		answer.Error = "not_ok" // slack-go would take this for success
	}
	return answer.Err()
}
