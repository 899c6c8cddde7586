package handlers_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/labstack/echo/v4"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/slack-go/slack"

	"github.com/charlize-app/charlize/blocks"
	"github.com/charlize-app/charlize/handlers"
	"github.com/charlize-app/charlize/handlers/app"
	"github.com/charlize-app/charlize/handlers/slacktest"
)

const secret = "test-signing-secret"

type pinger struct{ err error }

func (p *pinger) Ping(context.Context) error { return p.err }

func newTestServer(t testing.TB, p handlers.Pinger) *echo.Echo {
	t.Helper()
	log := slog.New(slog.DiscardHandler)
	reg := prometheus.NewRegistry()
	d := mustDispatcher(t, app.Options{Log: log, Store: openStore(t, false)})
	return handlers.NewServer(handlers.Config{SigningSecret: secret}, log, p, d, reg, handlers.NewMetrics(reg))
}

func serve(e *echo.Echo, r *http.Request) *httptest.ResponseRecorder {
	w := httptest.NewRecorder()
	e.ServeHTTP(w, r)
	return w
}

func mustDecodeMessage(t *testing.T, w *httptest.ResponseRecorder) slack.WebhookMessage {
	t.Helper()
	if w.Code != http.StatusOK {
		t.Fatalf("status = %d, want 200; body %s", w.Code, w.Body)
	}
	var msg slack.WebhookMessage
	if err := json.Unmarshal(w.Body.Bytes(), &msg); err != nil {
		t.Fatalf("decode message: %v; body %s", err, w.Body)
	}
	return msg
}

func commandRequest(text string) *http.Request {
	return slacktest.FormRequest("/slack/commands", secret, slacktest.Command("T0001", "U0001", text, "http://127.0.0.1:1/response"))
}

func TestHelpCommand(t *testing.T) {
	e := newTestServer(t, &pinger{})
	for _, text := range []string{"help", "  HELP  "} {
		msg := mustDecodeMessage(t, serve(e, commandRequest(text)))
		if msg.ResponseType != slack.ResponseTypeEphemeral {
			t.Errorf("/charlize %q: response_type = %q, want ephemeral", text, msg.ResponseType)
		}
		if msg.Blocks == nil || len(msg.Blocks.BlockSet) == 0 {
			t.Fatalf("/charlize %q: no blocks", text)
		}
		if err := blocks.CheckMessage(msg.Blocks.BlockSet); err != nil {
			t.Errorf("/charlize %q: %v", text, err)
		}
		raw, _ := json.Marshal(msg)
		for _, verb := range []string{"list", "status", "start", "stop", "reboot", "restart", "terminate", "accounts", "audit"} {
			if !bytes.Contains(raw, []byte("/charlize "+verb)) {
				t.Errorf("/charlize %q: help does not mention %q", text, verb)
			}
		}
	}
}

func TestSignatureRefusals(t *testing.T) {
	e := newTestServer(t, &pinger{})
	form := slacktest.Command("T0001", "U0001", "help", "").Encode()
	build := func(body string, sign func(r *http.Request)) *http.Request {
		r := httptest.NewRequest(http.MethodPost, "/slack/commands", strings.NewReader(body))
		r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		sign(r)
		return r
	}
	tests := []struct {
		name string
		req  *http.Request
		want int
	}{
		{"valid", build(form, func(r *http.Request) { slacktest.Sign(r, secret, time.Now(), []byte(form)) }), http.StatusOK},
		{"one byte changed", build(strings.Replace(form, "help", "hflp", 1), func(r *http.Request) { slacktest.Sign(r, secret, time.Now(), []byte(form)) }), http.StatusUnauthorized},
		{"wrong secret", build(form, func(r *http.Request) { slacktest.Sign(r, "not-the-secret", time.Now(), []byte(form)) }), http.StatusUnauthorized},
		{"no signature headers", build(form, func(*http.Request) {}), http.StatusUnauthorized},
		{"timestamp 6 minutes old", build(form, func(r *http.Request) { slacktest.Sign(r, secret, time.Now().Add(-6*time.Minute), []byte(form)) }), http.StatusUnauthorized},
		{"timestamp 6 minutes ahead", build(form, func(r *http.Request) { slacktest.Sign(r, secret, time.Now().Add(6*time.Minute), []byte(form)) }), http.StatusUnauthorized},
		{"garbage signature", build(form, func(r *http.Request) {
			r.Header.Set("X-Slack-Request-Timestamp", strconv.FormatInt(time.Now().Unix(), 10))
			r.Header.Set("X-Slack-Signature", "v0=zz")
		}), http.StatusUnauthorized},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if w := serve(e, tt.req); w.Code != tt.want {
				t.Errorf("POST /slack/commands (%s) = %d, want %d; body %s", tt.name, w.Code, tt.want, w.Body)
			}
		})
	}
	for _, path := range []string{"/slack/interactions", "/slack/options", "/slack/events"} {
		r := httptest.NewRequest(http.MethodPost, path, strings.NewReader("payload={}"))
		if w := serve(e, r); w.Code != http.StatusUnauthorized {
			t.Errorf("unsigned POST %s = %d, want 401", path, w.Code)
		}
	}
	metrics := serve(e, httptest.NewRequest(http.MethodGet, "/metrics", nil)).Body.String()
	for _, reason := range []string{"bad_signature", "missing_headers", "expired_timestamp"} {
		if !strings.Contains(metrics, `charlize_slack_verification_failures_total{reason="`+reason+`"}`) {
			t.Errorf("/metrics lacks verification failures for %s", reason)
		}
	}
}

func TestBodyTooLarge(t *testing.T) {
	e := newTestServer(t, &pinger{})
	big := url.Values{"text": {strings.Repeat("x", handlers.MaxBodyBytes)}}.Encode()
	r := httptest.NewRequest(http.MethodPost, "/slack/commands", strings.NewReader(big))
	slacktest.Sign(r, secret, time.Now(), []byte(big))
	if w := serve(e, r); w.Code != http.StatusRequestEntityTooLarge {
		t.Errorf("POST 1 MiB+ body = %d, want 413", w.Code)
	}
	// Without a declared length the limit still holds while reading.
	r = httptest.NewRequest(http.MethodPost, "/slack/commands", io.MultiReader(strings.NewReader(big)))
	r.ContentLength = -1
	slacktest.Sign(r, secret, time.Now(), []byte(big))
	if w := serve(e, r); w.Code != http.StatusRequestEntityTooLarge {
		t.Errorf("POST 1 MiB+ chunked body = %d, want 413", w.Code)
	}
}

func TestUnknownAndOddInput(t *testing.T) {
	e := newTestServer(t, &pinger{})
	tests := []struct {
		name, text string
		want       string
	}{
		{"typo", "stpo web-1", "Did you mean `/charlize stop`?"},
		{"alias typo", "kil web-1", "Did you mean `/charlize kill`?"},
		{"nonsense", "make me a sandwich", "I didn't understand `make me a sandwich`."},
		{"mention", "<@U123> hi", "`&lt;@U123&gt; hi`"},
		{"unicode", "démarrer ☃ 🚀", "`démarrer ☃ 🚀`"},
		{"control characters", "\x01\x02stop\x7f", "I didn't understand"},
		{"4000 characters", strings.Repeat("z", 4000), "…`"},
		{"tab separated", "helpp\tnow", "Did you mean `/charlize help`?"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			msg := mustDecodeMessage(t, serve(e, commandRequest(tt.text)))
			if err := blocks.CheckMessage(msg.Blocks.BlockSet); err != nil {
				t.Fatalf("answer to %q breaks limits: %v", tt.text, err)
			}
			first := msg.Blocks.BlockSet[0].(*slack.SectionBlock).Text.Text
			if !strings.Contains(first, tt.want) {
				t.Errorf("/charlize %q answered %q, want it to contain %q", tt.text, first, tt.want)
			}
		})
	}
}

func TestMalformedRequests(t *testing.T) {
	e := newTestServer(t, &pinger{})
	tests := []struct {
		name string
		req  *http.Request
	}{
		{"command without team", slacktest.FormRequest("/slack/commands", secret, url.Values{"text": {"help"}})},
		{"interaction without payload", slacktest.FormRequest("/slack/interactions", secret, url.Values{"x": {"1"}})},
		{"interaction with broken JSON", slacktest.FormRequest("/slack/interactions", secret, url.Values{"payload": {"{not json"}})},
		{"options with broken JSON", slacktest.FormRequest("/slack/options", secret, url.Values{"payload": {"[]"}})},
		{"event with broken JSON", slacktest.JSONRequest("/slack/events", secret, []byte("{"))},
		{"command whose form does not parse", signedForm("/slack/commands", "team_id=T1&user_id=U1&text=%zz")},
		{"interaction whose form does not parse", signedForm("/slack/interactions", "payload=%7B%7D%zz")},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if w := serve(e, tt.req); w.Code != http.StatusBadRequest {
				t.Errorf("%s = %d, want 400; body %s", tt.name, w.Code, w.Body)
			}
		})
	}
}

// signedForm is a form POST signed as Slack signs it, whatever its body.
func signedForm(target, body string) *http.Request {
	r := httptest.NewRequest(http.MethodPost, target, strings.NewReader(body))
	r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	slacktest.Sign(r, secret, time.Now(), []byte(body))
	return r
}

func TestURLVerification(t *testing.T) {
	e := newTestServer(t, &pinger{})
	body := []byte(`{"token":"Jhj5dZrVaK7ZwHHjRyZWjbDl","challenge":"3eZbrw1aBm2rZgRNFdxV2595E9CY3gmdALWMmHkvFXO7tYXAYM8P","type":"url_verification"}`)
	w := serve(e, slacktest.JSONRequest("/slack/events", secret, body))
	if w.Code != http.StatusOK || w.Body.String() != "3eZbrw1aBm2rZgRNFdxV2595E9CY3gmdALWMmHkvFXO7tYXAYM8P" {
		t.Errorf("url_verification = %d %q, want 200 with the challenge", w.Code, w.Body)
	}
}

func TestPanicBecomes500(t *testing.T) {
	var logs bytes.Buffer
	log := slog.New(slog.NewJSONHandler(&logs, nil))
	reg := prometheus.NewRegistry()
	e := handlers.NewServer(handlers.Config{SigningSecret: secret}, log, &pinger{}, mustDispatcher(t, app.Options{Log: log, Store: openStore(t, false)}), reg, handlers.NewMetrics(reg))
	e.GET("/boom", func(echo.Context) error { panic("kaboom") })
	w := serve(e, httptest.NewRequest(http.MethodGet, "/boom", nil))
	if w.Code != http.StatusInternalServerError {
		t.Errorf("panicking handler = %d, want 500", w.Code)
	}
	if !strings.Contains(logs.String(), "kaboom") {
		t.Errorf("panic not logged; logs: %s", logs.String())
	}
	if w := serve(e, httptest.NewRequest(http.MethodGet, "/healthz", nil)); w.Code != http.StatusOK {
		t.Errorf("after a panic /healthz = %d, want 200", w.Code)
	}
}

func TestReadyz(t *testing.T) {
	p := &pinger{}
	e := newTestServer(t, p)
	if w := serve(e, httptest.NewRequest(http.MethodGet, "/readyz", nil)); w.Code != http.StatusOK {
		t.Errorf("/readyz with a healthy store = %d, want 200", w.Code)
	}
	p.err = errors.New("dial tcp 127.0.0.1:6379: connection refused")
	w := serve(e, httptest.NewRequest(http.MethodGet, "/readyz", nil))
	if w.Code != http.StatusServiceUnavailable || !strings.Contains(w.Body.String(), "connection refused") {
		t.Errorf("/readyz with a failing store = %d %s, want 503 with the reason", w.Code, w.Body)
	}
}

func TestRequestLogLine(t *testing.T) {
	var logs bytes.Buffer
	log := slog.New(slog.NewJSONHandler(&logs, nil))
	reg := prometheus.NewRegistry()
	e := handlers.NewServer(handlers.Config{SigningSecret: secret}, log, &pinger{}, mustDispatcher(t, app.Options{Log: log, Store: openStore(t, false)}), reg, handlers.NewMetrics(reg))
	serve(e, commandRequest("help"))
	var line map[string]any
	if err := json.Unmarshal(logs.Bytes(), &line); err != nil {
		t.Fatalf("want exactly one JSON log line, got %q: %v", logs.String(), err)
	}
	for k, want := range map[string]string{"team": "T0001", "user": "U0001", "op": "command:help", "route": "/slack/commands"} {
		if line[k] != want {
			t.Errorf("log line %s = %v, want %q", k, line[k], want)
		}
	}
	if id, _ := line["request_id"].(string); id == "" {
		t.Error("log line has no request_id")
	}
	if strings.Contains(logs.String(), secret) || strings.Contains(logs.String(), "gIkuvaNzQIHg97ATvDxqgjtO") {
		t.Error("log line contains a secret or token")
	}
}
