package slackclient

import (
	"log/slog"
	"net/http"
	"time"
)

// requestTimeout bounds one call to Slack (Web API, response_url, OAuth);
// rate-limit waits happen between calls, not inside one.
const requestTimeout = 15 * time.Second

// NewHTTPClient is the client for Slack's Web API, response_urls and
// OAuth: bounded in time, with enough idle connections per host that
// concurrent calls reuse connections instead of opening one each (Go's
// default keeps two): a burst of actions (a schedule's, say) posts their
// progress at once, beside the workers' calls, and a connection closed
// for want of room in the pool is a new TLS handshake for the next call.
func NewHTTPClient() *http.Client {
	t := http.DefaultTransport.(*http.Transport).Clone()
	t.MaxIdleConns = 512 // Slack's API and its response_urls are two hosts
	t.MaxIdleConnsPerHost = 256
	return &http.Client{Timeout: requestTimeout, Transport: t}
}

// Defaults fills in what a Slack-side component's options leave unset: a
// client from NewHTTPClient, a logger that discards, the real clock.
func Defaults(c *http.Client, log *slog.Logger, now func() time.Time) (*http.Client, *slog.Logger, func() time.Time) {
	if c == nil {
		c = NewHTTPClient()
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	if now == nil {
		now = time.Now
	}
	return c, log, now
}
