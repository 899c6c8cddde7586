package slackclient

import (
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/slack-go/slack"
)

// Slack's documented rate-limit answer is 429 with Retry-After; waits
// longer than this, or more than maxRateLimitRetries of them, give up.
const (
	maxRateLimitWait    = 30 * time.Second
	maxRateLimitRetries = 3
)

// Client is slack-go's client with one call of Charlize's own beside it:
// views.open with a view already encoded.
type Client struct {
	*slack.Client
	token, apiURL string
	hc            *http.Client
	userAgent     string // the observed transport's, set on the requests made here
}

var _ API = (*Client)(nil)

// NewClient is a Web API client acting with token. slack-go's retry
// configuration waits out rate limits (429) after Slack's Retry-After, up
// to maxRateLimitRetries times, and gives up at once on a wait longer than
// maxRateLimitWait: a person is waiting for the answer.
func NewClient(token, apiURL string, hc *http.Client) *Client {
	if hc == nil {
		hc = NewHTTPClient()
	}
	c := slack.New(token, slack.OptionAPIURL(apiURL), slack.OptionHTTPClient(hc),
		slack.OptionRetryConfig(slack.RetryConfig{
			MaxRetries: maxRateLimitRetries,
			Handlers:   []slack.RetryHandler{rateLimitRetry{}},
		}))
	client := &Client{Client: c, token: token, apiURL: apiURL, hc: hc}
	if t, ok := hc.Transport.(*observedTransport); ok {
		client.userAgent = t.o.UserAgent
	}
	return client
}

// rateLimitRetry is slack-go's rate-limit handler with a ceiling on the
// wait (slack-go's own waits whatever Slack asks).
type rateLimitRetry struct{}

func (rateLimitRetry) ShouldRetry(state *slack.RetryState, _ *http.Request, resp *http.Response, _ error) (bool, time.Duration) {
	if resp == nil || resp.StatusCode != http.StatusTooManyRequests || state.Attempt >= state.MaxRetries {
		return false, 0
	}
	secs, err := strconv.Atoi(strings.TrimSpace(resp.Header.Get("Retry-After")))
	wait := time.Duration(secs) * time.Second
	if err != nil || wait > maxRateLimitWait {
		return false, 0
	}
	return true, max(wait, time.Second)
}
