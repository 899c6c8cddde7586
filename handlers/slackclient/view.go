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
//
// The view may come in pieces (the picker's frozen parts around its
// metadata): they are copied once, into the request's body. (Sent as they
// are, through net.Buffers, they cost more: net/http then flushes the
// headers on their own, one more write to the socket, and copies the body
// through a buffer of its own.)
func (c *Client) OpenViewJSON(ctx context.Context, triggerID string, view ...[]byte) error {
	if triggerID == "" {
		return slack.ErrParametersMissing
	}
	trigger, _ := json.Marshal(triggerID) // a string always encodes
	size := len(`{"trigger_id":,"view":}`) + len(trigger)
	for _, piece := range view {
		size += len(piece)
	}
	body := make([]byte, 0, size)
	body = append(append(append(body, `{"trigger_id":`...), trigger...), `,"view":`...)
	for _, piece := range view {
		body = append(body, piece...)
	}
	body = append(body, '}')
	return Call(ctx, func() error { return c.openView(ctx, body) })
}

// openView makes one views.open call. A rate limit comes back as
// slack-go's RateLimitedError, which Call waits out; one without a
// Retry-After Call could read is not retried, as rateLimitRetry does not.
func (c *Client) openView(ctx context.Context, body []byte) error {
	// A bytes.Reader: net/http sends it with the headers in one write, and
	// can send it again on a kept-alive connection Slack closed.
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.apiURL+"views.open", bytes.NewReader(body))
	if err != nil {
		return fmt.Errorf("views.open: %w", err)
	}
	req.Header.Set("Content-Type", "application/json; charset=utf-8")
	req.Header.Set("Authorization", "Bearer "+c.token)
	if c.userAgent != "" {
		req.Header.Set("User-Agent", c.userAgent) // so the transport need not copy the request to name it
	}
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
	// Only the verdict is read: Charlize never needs the view Slack echoes,
	// so an answer that begins "ok":true is not decoded at all.
	raw, err := readAnswer(resp.Body, resp.ContentLength, 0)
	if err != nil {
		return fmt.Errorf("views.open: %w", err)
	}
	if ok, found := leadingOK(raw); found && ok {
		return nil
	}
	var answer slack.SlackResponse
	if err := json.Unmarshal(raw, &answer); err != nil {
		return fmt.Errorf("views.open: %w", err)
	}
	if !answer.Ok && answer.Error == "" {
		answer.Error = "not_ok" // slack-go would take this for success
	}
	return answer.Err()
}
