package slackclient_test

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/slack-go/slack"

	"github.com/charlize-app/charlize/handlers/slackclient"
	"github.com/charlize-app/charlize/handlers/slacktest"
)

// observed records what a CallObserver heard.
type observed struct {
	mu    sync.Mutex
	calls []string
	waits []time.Duration
}

func (o *observed) observe(method, outcome string, _, retryAfter time.Duration) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.calls = append(o.calls, method+" "+outcome)
	if retryAfter > 0 {
		o.waits = append(o.waits, retryAfter)
	}
}

func newObservedClient(t *testing.T) (*slacktest.API, *slackclient.Client, *observed) {
	t.Helper()
	api := slacktest.NewAPI(t)
	o := &observed{}
	hc := slackclient.NewHTTPClientWith(slackclient.HTTPOptions{UserAgent: "charlize/1.2.3", Observe: o.observe})
	return api, slackclient.NewClient(slacktest.BotToken, api.APIURL(), hc), o
}

func TestCallsAreNamedAndCounted(t *testing.T) {
	api, client, o := newObservedClient(t)
	ctx := context.Background()
	if _, err := slackclient.PostMessage(ctx, client, "C1", slack.WebhookMessage{Text: "hi"}); err != nil {
		t.Fatal(err)
	}
	api.Fail("chat.update", "message_not_found", 1)
	if err := slackclient.UpdateMessage(ctx, client, "C1", "1.2", slack.WebhookMessage{Text: "hi"}); slackclient.ErrorCode(err) != "message_not_found" {
		t.Fatalf("UpdateMessage = %v, want message_not_found", err)
	}
	hc := slackclient.NewHTTPClientWith(slackclient.HTTPOptions{UserAgent: "charlize/1.2.3", Observe: o.observe})
	if err := (slackclient.ResponseURLs{HTTP: hc}).Post(ctx, api.ResponseURL("r1"), slack.WebhookMessage{Text: "hi"}); err != nil {
		t.Fatal(err)
	}
	if err := client.OpenViewJSON(ctx, "trigger-1", []byte(`{"type":"modal"}`)); err != nil {
		t.Fatal(err)
	}
	want := []string{"chat.postMessage ok", "chat.update slack_error", "response_url ok", "views.open ok"}
	if diff := cmp.Diff(want, o.calls); diff != "" {
		t.Errorf("observed calls (-want +got):\n%s", diff)
	}
	for _, m := range []string{"chat.postMessage", slacktest.MethodResponseURL, "views.open"} {
		if ua := api.Calls(m)[0].UserAgent; ua != "charlize/1.2.3" {
			t.Errorf("%s User-Agent = %q, want charlize/1.2.3", m, ua)
		}
	}
}

// slack-go's retry configuration waits out a rate limit as Slack asks.
func TestRateLimitIsWaitedOut(t *testing.T) {
	api, client, o := newObservedClient(t)
	api.RateLimit("chat.postMessage", time.Second, 1)
	if _, err := slackclient.PostMessage(context.Background(), client, "C1", slack.WebhookMessage{Text: "hi"}); err != nil {
		t.Fatalf("PostMessage after one 429 = %v, want it retried", err)
	}
	if diff := cmp.Diff([]string{"chat.postMessage rate_limited", "chat.postMessage ok"}, o.calls); diff != "" {
		t.Errorf("observed calls (-want +got):\n%s", diff)
	}
	if len(o.waits) != 1 || o.waits[0] != time.Second {
		t.Errorf("Retry-After observed = %v, want [1s]", o.waits)
	}
	calls := api.Calls("chat.postMessage")
	if len(calls) != 2 || calls[1].Time.Sub(calls[0].Time) < time.Second {
		t.Errorf("%d calls; the retry came %v after the 429, want after Retry-After (1s)", len(calls), calls[len(calls)-1].Time.Sub(calls[0].Time))
	}
}

// A wait longer than 30 s is not waited: someone is waiting for the answer.
func TestLongRateLimitIsNotWaited(t *testing.T) {
	api, client, _ := newObservedClient(t)
	api.RateLimit("chat.postMessage", time.Minute, 1)
	_, err := slackclient.PostMessage(context.Background(), client, "C1", slack.WebhookMessage{Text: "hi"})
	var limited *slack.RateLimitedError
	if !errors.As(err, &limited) || limited.RetryAfter != time.Minute {
		t.Fatalf("PostMessage = %v, want a RateLimitedError of 1m", err)
	}
	if n := len(api.Calls("chat.postMessage")); n != 1 {
		t.Errorf("%d calls, want 1 (no retry)", n)
	}
}

// At most 3 retries, as slackclient.Call did by hand.
func TestRateLimitRetriesAreBounded(t *testing.T) {
	api, client, _ := newObservedClient(t)
	api.RateLimit("chat.postMessage", time.Second, 4)
	_, err := slackclient.PostMessage(context.Background(), client, "C1", slack.WebhookMessage{Text: "hi"})
	var limited *slack.RateLimitedError
	if !errors.As(err, &limited) {
		t.Fatalf("PostMessage after 4 rate limits = %v, want a RateLimitedError", err)
	}
	if n := len(api.Calls("chat.postMessage")); n != 4 {
		t.Errorf("%d calls, want 4 (the first and 3 retries)", n)
	}
}
