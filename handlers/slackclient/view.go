package slackclient

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"slices"
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
//
// The view may come in pieces (the picker's frozen parts around its
// metadata): they are sent as they are, one after the other, without being
// copied into one.
func (c *Client) OpenViewJSON(ctx context.Context, triggerID string, view ...[]byte) error {
	if triggerID == "" {
		return slack.ErrParametersMissing
	}
	trigger, _ := json.Marshal(triggerID) // a string always encodes
	body := make([][]byte, 0, len(view)+4)
	body = append(body, []byte(`{"trigger_id":`), trigger, []byte(`,"view":`))
	body = append(append(body, view...), []byte("}"))
	return Call(ctx, func() error { return c.openView(ctx, body) })
}

// openView makes one views.open call. A rate limit comes back as
// slack-go's RateLimitedError, which Call waits out; one without a
// Retry-After Call could read is not retried, as rateLimitRetry does not.
func (c *Client) openView(ctx context.Context, body [][]byte) error {
	// Reading net.Buffers consumes it: a fresh one for each send, and for
	// the transport's own resend on a kept-alive connection Slack closed.
	pieces := func() (io.ReadCloser, error) {
		r := net.Buffers(slices.Clone(body))
		return io.NopCloser(&r), nil
	}
	first, _ := pieces()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.apiURL+"views.open", first)
	if err != nil {
		return fmt.Errorf("views.open: %w", err)
	}
	req.GetBody = pieces
	for _, b := range body {
		req.ContentLength += int64(len(b)) // sent with its length, not chunked
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
