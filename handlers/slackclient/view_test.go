package slackclient_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/slack-go/slack"

	"github.com/charlize-app/charlize/handlers/slackclient"
	"github.com/charlize-app/charlize/handlers/slacktest"
)

func modalJSON(t *testing.T, v slack.ModalViewRequest) json.RawMessage {
	t.Helper()
	raw, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return raw
}

// A view already encoded, in pieces, reaches Slack as slack-go's
// OpenViewContext would send it: the same trigger_id and view.
func TestOpenViewJSONSendsWhatSlackGoWould(t *testing.T) {
	api := slacktest.NewAPI(t)
	c := slackclient.NewClient(slacktest.BotToken, api.APIURL(), nil)
	view := slack.ModalViewRequest{Type: slack.VTModal, CallbackID: "picker", PrivateMetadata: `{"a":"<b>"}`,
		Title:  slack.NewTextBlockObject(slack.PlainTextType, "Pick", false, false),
		Blocks: slack.Blocks{BlockSet: []slack.Block{slack.NewSectionBlock(slack.NewTextBlockObject(slack.MarkdownType, "*hi*", false, false), nil, nil)}}}
	ctx := context.Background()
	raw := modalJSON(t, view) // in pieces, as the picker sends it
	if err := c.OpenViewJSON(ctx, "trigger-1", raw[:9], raw[9:len(raw)/2], raw[len(raw)/2:]); err != nil {
		t.Fatalf("OpenViewJSON = %v", err)
	}
	if _, err := c.OpenViewContext(ctx, "trigger-2", view); err != nil {
		t.Fatalf("OpenViewContext = %v", err)
	}
	calls := api.Calls("views.open")
	if len(calls) != 2 {
		t.Fatalf("%d views.open calls, want 2", len(calls))
	}
	if calls[0].JSON["trigger_id"] != "trigger-1" {
		t.Errorf("trigger_id = %v", calls[0].JSON["trigger_id"])
	}
	if diff := cmp.Diff(calls[1].JSON["view"], calls[0].JSON["view"]); diff != "" {
		t.Errorf("the view differs from slack-go's (-slack-go +ours):\n%s", diff)
	}
}

func TestOpenViewJSONErrors(t *testing.T) {
	ctx := context.Background()
	view := modalJSON(t, slack.ModalViewRequest{Type: slack.VTModal, Title: slack.NewTextBlockObject(slack.PlainTextType, "T", false, false)})

	api := slacktest.NewAPI(t)
	c := slackclient.NewClient(slacktest.BotToken, api.APIURL(), nil)
	api.Fail("views.open", "expired_trigger_id", 1)
	if err := c.OpenViewJSON(ctx, "trigger", view); slackclient.ErrorCode(err) != "expired_trigger_id" {
		t.Errorf("refused views.open = %v, want Slack's code", err)
	}
	if err := c.OpenViewJSON(ctx, "", view); !errors.Is(err, slack.ErrParametersMissing) {
		t.Errorf("no trigger_id = %v, want slack.ErrParametersMissing", err)
	}

	// A rate limit is waited out (Retry-After: 1 s), then the call made again.
	api.RateLimit("views.open", time.Second, 1)
	start := time.Now()
	if err := c.OpenViewJSON(ctx, "trigger", view); err != nil {
		t.Errorf("views.open after one 429 = %v, want it retried", err)
	}
	if waited := time.Since(start); waited < time.Second {
		t.Errorf("retried after %v, want after Retry-After (1s)", waited)
	}
	// A wait longer than a person waits is not waited.
	api.RateLimit("views.open", time.Minute, 1)
	var limited *slack.RateLimitedError
	if err := c.OpenViewJSON(ctx, "trigger", view); !errors.As(err, &limited) || limited.RetryAfter != time.Minute {
		t.Errorf("views.open asked to wait a minute = %v, want a RateLimitedError", err)
	}

	for _, tc := range []struct {
		name   string
		answer func(http.ResponseWriter)
		check  func(error) bool
	}{
		{"502", func(w http.ResponseWriter) { w.WriteHeader(http.StatusBadGateway) },
			func(err error) bool {
				var s slack.StatusCodeError
				return errors.As(err, &s) && s.Code == http.StatusBadGateway
			}},
		{"429 without a Retry-After", func(w http.ResponseWriter) { w.WriteHeader(http.StatusTooManyRequests) },
			func(err error) bool {
				var s slack.StatusCodeError
				return errors.As(err, &s) && s.Code == http.StatusTooManyRequests
			}},
		{"not JSON", func(w http.ResponseWriter) { _, _ = w.Write([]byte("<html>")) }, func(err error) bool { return err != nil }},
		{"ok false without a code", func(w http.ResponseWriter) { _, _ = w.Write([]byte(`{"ok":false}`)) },
			func(err error) bool { return slackclient.ErrorCode(err) == "not_ok" }},
		{"ok, the view echoed", func(w http.ResponseWriter) { _, _ = w.Write([]byte(`{"ok":true,"view":{"id":"V1","blocks":[]}}`)) },
			func(err error) bool { return err == nil }},
		{"ok, not first", func(w http.ResponseWriter) { _, _ = w.Write([]byte(`{"warning":"missing_charset","ok":true}`)) },
			func(err error) bool { return err == nil }},
		{"refused, the code not first", func(w http.ResponseWriter) {
			_, _ = w.Write([]byte(`{"error":"invalid_arguments","ok":false}`))
		}, func(err error) bool { return slackclient.ErrorCode(err) == "invalid_arguments" }},
	} {
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { tc.answer(w) }))
		err := slackclient.NewClient(slacktest.BotToken, srv.URL+"/api/", nil).OpenViewJSON(ctx, "trigger", view)
		srv.Close()
		if !tc.check(err) {
			t.Errorf("%s: OpenViewJSON = %v", tc.name, err)
		}
	}
}

// Found by a review: an answer over a megabyte was cut off at one and then
// failed to decode, when "ok" was not its first field (an ok reported as a
// failure, a refusal without its code).
func TestOpenViewJSONReadsALargeAnswerWhole(t *testing.T) {
	big := strings.Repeat("x", 1<<20+100)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		if strings.Contains(r.URL.Path, "refused") {
			fmt.Fprintf(w, `{"error":"invalid_arguments","x":%q,"ok":false}`, big)
			return
		}
		fmt.Fprintf(w, `{"warning":"superfluous_charset","view":{"x":%q},"ok":true}`, big)
	}))
	t.Cleanup(srv.Close)
	ctx := context.Background()
	if err := slackclient.NewClient(slacktest.BotToken, srv.URL+"/api/", nil).OpenViewJSON(ctx, "trigger", []byte(`{}`)); err != nil {
		t.Errorf("an ok answer over 1 MiB = %v, want nil", err)
	}
	err := slackclient.NewClient(slacktest.BotToken, srv.URL+"/refused/api/", nil).OpenViewJSON(ctx, "trigger", []byte(`{}`))
	if slackclient.ErrorCode(err) != "invalid_arguments" {
		t.Errorf("a refusal over 1 MiB = %v, want invalid_arguments", err)
	}
}
