package handlers_test

import (
	"context"
	"encoding/json"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gorilla/websocket"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/charlize-app/charlize/handlers"
	"github.com/charlize-app/charlize/handlers/app"
	"github.com/charlize-app/charlize/handlers/slackclient"
	"github.com/charlize-app/charlize/handlers/slacktest"
	"github.com/charlize-app/charlize/store"
)

const appToken = "xapp-1-A0KRD7HC3-1-socket-test"

// fakeSocketSlack is Slack's side of Socket Mode: apps.connections.open
// hands out a WebSocket URL, and each connection starts with hello.
type fakeSocketSlack struct {
	t     *testing.T
	srv   *httptest.Server
	conns chan *websocket.Conn

	mu       sync.Mutex
	opens    int
	tokens   []string
	refusals int // apps.connections.open answers invalid_auth this many times first
}

func newFakeSocketSlack(t *testing.T) *fakeSocketSlack {
	f := &fakeSocketSlack{t: t, conns: make(chan *websocket.Conn, 4)}
	// The client sends Origin: https://api.slack.com, as to Slack.
	upgrader := websocket.Upgrader{CheckOrigin: func(*http.Request) bool { return true }}
	mux := http.NewServeMux()
	mux.HandleFunc("POST /api/apps.connections.open", func(w http.ResponseWriter, r *http.Request) {
		f.mu.Lock()
		f.opens++
		f.tokens = append(f.tokens, strings.TrimPrefix(r.Header.Get("Authorization"), "Bearer "))
		refuse := f.refusals > 0
		f.refusals--
		f.mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		if refuse {
			_ = json.NewEncoder(w).Encode(map[string]any{"ok": false, "error": "invalid_auth"})
			return
		}
		_ = json.NewEncoder(w).Encode(map[string]any{"ok": true, "url": "ws" + strings.TrimPrefix(f.srv.URL, "http") + "/link"})
	})
	mux.HandleFunc("GET /link", func(w http.ResponseWriter, r *http.Request) {
		c, err := upgrader.Upgrade(w, r, nil)
		if err != nil {
			return
		}
		hello := map[string]any{"type": "hello", "num_connections": 1, "connection_info": map[string]any{"app_id": slacktest.AppID},
			"debug_info": map[string]any{"host": "applink-test"}}
		if err := c.WriteJSON(hello); err != nil {
			c.Close()
			return
		}
		f.conns <- c
	})
	f.srv = httptest.NewServer(mux)
	t.Cleanup(f.srv.Close)
	return f
}

func (f *fakeSocketSlack) nextConn() *websocket.Conn {
	f.t.Helper()
	select {
	case c := <-f.conns:
		f.t.Cleanup(func() { c.Close() })
		return c
	case <-time.After(10 * time.Second):
		f.t.Fatal("the app did not connect over Socket Mode")
		return nil
	}
}

// socketAck is what the app answers an envelope with.
type socketAck struct {
	EnvelopeID string          `json:"envelope_id"`
	Payload    json.RawMessage `json:"payload"`
}

// exchange sends envelopes on c and returns the acks by envelope id; acks
// may come in any order.
func exchange(t *testing.T, c *websocket.Conn, envelopes ...map[string]any) map[string]socketAck {
	t.Helper()
	for _, env := range envelopes {
		if err := c.WriteJSON(env); err != nil {
			t.Fatal(err)
		}
	}
	acks := map[string]socketAck{}
	_ = c.SetReadDeadline(time.Now().Add(10 * time.Second))
	for len(acks) < len(envelopes) {
		var a socketAck
		if err := c.ReadJSON(&a); err != nil {
			t.Fatalf("reading acks (have %d of %d): %v", len(acks), len(envelopes), err)
		}
		acks[a.EnvelopeID] = a
	}
	return acks
}

func slashEnvelope(id, text string) map[string]any {
	return map[string]any{"envelope_id": id, "type": "slash_commands", "accepts_response_payload": true,
		"payload": map[string]any{"token": "x", "team_id": slacktest.TeamID, "team_domain": "example", "channel_id": channel,
			"user_id": alice, "command": "/charlize", "text": text, "response_url": "http://127.0.0.1:1/r", "trigger_id": "1.2.3"}}
}

// startSocketMode runs the app over Socket Mode against fake, on st, with
// the Slack Web API at api; it stops when the test ends.
func startSocketMode(t *testing.T, fake *fakeSocketSlack, api *slacktest.API, st store.Store) *prometheus.Registry {
	t.Helper()
	log := slog.New(slog.DiscardHandler)
	if os.Getenv("CHARLIZE_TEST_LOG") != "" {
		log = slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	d := mustDispatcher(t, app.Options{
		Log: log, Store: st, Clients: slackclient.SingleWorkspace{API: slackclient.NewClient(slacktest.BotToken, api.APIURL(), nil)},
	})
	reg := prometheus.NewRegistry()
	sm := handlers.NewSocketMode(handlers.SocketModeOptions{
		AppToken: appToken, APIURL: fake.srv.URL + "/api/", Dispatcher: d, Log: log, MinBackoff: 10 * time.Millisecond,
		Metrics: handlers.NewMetrics(reg),
	})
	ctx, cancel := context.WithCancel(context.Background())
	stopped := make(chan error, 1)
	go func() { stopped <- sm.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		select {
		case err := <-stopped:
			if err != nil {
				t.Errorf("Run = %v, want nil after cancel", err)
			}
		case <-time.After(10 * time.Second):
			t.Error("Run did not return after cancel")
		}
		dctx, dcancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer dcancel()
		_ = d.Close(dctx)
	})
	return reg
}

// mentionEnvelope is Slack delivering an app_mention event over Socket
// Mode, its retry-th time.
func mentionEnvelope(envelopeID, eventID string, retry int) map[string]any {
	return map[string]any{"envelope_id": envelopeID, "type": "events_api", "accepts_response_payload": false, "retry_attempt": retry,
		"payload": map[string]any{"token": "x", "team_id": slacktest.TeamID, "api_app_id": slacktest.AppID, "type": "event_callback",
			"event_id": eventID, "event_time": 1700000000,
			"event": map[string]any{"type": "app_mention", "user": alice, "text": "<@" + slacktest.BotUserID + "> hi",
				"ts": "1700000000.000100", "channel": channel, "event_ts": "1700000000.000100"}}}
}

// Socket Mode is a thin transport over the same Dispatcher: slash
// commands, interactions, options and events are acked with the
// Dispatcher's answers, and the app reconnects when the socket drops.
func TestSocketMode(t *testing.T) {
	fake := newFakeSocketSlack(t)
	fake.refusals = 1 // slack-go gives up on invalid_auth; Run backs off and tries again
	api := slacktest.NewAPI(t)
	reg := startSocketMode(t, fake, api, openStore(t, false))

	conn := fake.nextConn()
	acks := exchange(t, conn,
		slashEnvelope("env-help", "help"),
		slashEnvelope("env-unknown", "stpo web-1"),
		map[string]any{"envelope_id": "env-options", "type": "interactive", "accepts_response_payload": true,
			"payload": map[string]any{"type": "block_suggestion", "team": map[string]any{"id": slacktest.TeamID},
				"user": map[string]any{"id": alice}, "action_id": "picker_search", "block_id": "b", "value": "web"}},
		map[string]any{"envelope_id": "env-click", "type": "interactive", "accepts_response_payload": false,
			"payload": map[string]any{"type": "block_actions", "team": map[string]any{"id": slacktest.TeamID},
				"user": map[string]any{"id": alice}, "response_url": api.ResponseURL("socket-click"), "trigger_id": "1.2.3",
				"actions": []any{map[string]any{"type": "button", "action_id": "act:stop", "block_id": "b", "value": "garbled", "action_ts": "1700000000.1"}}}},
		mentionEnvelope("env-event", "Ev0SOCKET1", 0),
	)

	var help struct {
		ResponseType string            `json:"response_type"`
		Blocks       []json.RawMessage `json:"blocks"`
	}
	if err := json.Unmarshal(acks["env-help"].Payload, &help); err != nil || help.ResponseType != "ephemeral" || len(help.Blocks) == 0 {
		t.Errorf("help ack payload = %s (%v), want an ephemeral Block Kit message", acks["env-help"].Payload, err)
	}
	var unknown struct {
		ResponseType string            `json:"response_type"`
		Blocks       []json.RawMessage `json:"blocks"`
	}
	if err := json.Unmarshal(acks["env-unknown"].Payload, &unknown); err != nil || unknown.ResponseType != "ephemeral" ||
		len(unknown.Blocks) == 0 || !strings.Contains(string(unknown.Blocks[0]), "stpo web-1") {
		t.Errorf("unknown command's ack payload = %.200s (%v), want an ephemeral answer naming the word", acks["env-unknown"].Payload, err)
	}
	var options struct {
		Options []json.RawMessage `json:"options"`
	}
	if err := json.Unmarshal(acks["env-options"].Payload, &options); err != nil || options.Options == nil {
		t.Errorf("options ack payload = %s (%v), want an options answer", acks["env-options"].Payload, err)
	}
	for _, id := range []string{"env-click", "env-event"} {
		if p := acks[id].Payload; len(p) != 0 && string(p) != "null" {
			t.Errorf("%s ack payload = %s, want none", id, p)
		}
	}
	// The click went to the Dispatcher, which answers a garbled button
	// through its response_url.
	api.WaitFor(t, slacktest.MethodResponseURL, 1, 10*time.Second)
	if post := api.WaitFor(t, "chat.postMessage", 1, 10*time.Second)[0]; post.Token != slacktest.BotToken || post.Form.Get("channel") != channel {
		t.Errorf("mention reply = %+v, want a post in %s with the bot token", post, channel)
	}

	// Slack drops the socket; the app opens a new connection and carries on.
	conn.Close()
	conn = fake.nextConn()
	acks = exchange(t, conn, slashEnvelope("env-after", "help"))
	if len(acks["env-after"].Payload) == 0 {
		t.Error("no answer to a command after reconnecting")
	}
	// Counted just after the ack is queued: wait for it.
	for deadline := time.Now().Add(5 * time.Second); socketRequests(t, reg, "socket:slash_commands") != 3; time.Sleep(10 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("socket:slash_commands requests counted = %v, want 3", socketRequests(t, reg, "socket:slash_commands"))
		}
	}
	fake.mu.Lock()
	defer fake.mu.Unlock()
	if fake.opens < 3 {
		t.Errorf("apps.connections.open calls = %d, want one refused, one, and one after the drop", fake.opens)
	}
	for _, tok := range fake.tokens {
		if tok != appToken {
			t.Errorf("apps.connections.open with token %q, want the app-level token", tok)
		}
	}
}

// socketRequests sums charlize_http_requests_total for route.
func socketRequests(t *testing.T, reg *prometheus.Registry, route string) float64 {
	t.Helper()
	families, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	var n float64
	for _, f := range families {
		if f.GetName() != "charlize_http_requests_total" {
			continue
		}
		for _, m := range f.GetMetric() {
			for _, l := range m.GetLabel() {
				if l.GetName() == "route" && l.GetValue() == route {
					n += m.GetCounter().GetValue()
				}
			}
		}
	}
	return n
}

// An event the app could not handle (its store down) is left
// unacknowledged, so that Slack delivers it again; the next delivery is
// handled, once.
func TestSocketModeEventRedeliveredAfterStoreOutage(t *testing.T) {
	fake := newFakeSocketSlack(t)
	api := slacktest.NewAPI(t)
	fs := &faultStore{Store: openStore(t, false)}
	fs.arm("Claim", false, 0, 1, keyPrefix(store.EventKey("")))
	reg := startSocketMode(t, fake, api, fs)
	conn := fake.nextConn()

	if err := conn.WriteJSON(mentionEnvelope("env-first", "Ev0OUTAGE", 0)); err != nil {
		t.Fatal(err)
	}
	for deadline := time.Now().Add(10 * time.Second); socketRequests(t, reg, "socket:events_api") != 1; time.Sleep(10 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("the first delivery was not handled")
		}
	}
	// Had the first delivery been acked, its ack would come before this one.
	if acks := exchange(t, conn, mentionEnvelope("env-again", "Ev0OUTAGE", 1)); len(acks["env-again"].EnvelopeID) == 0 {
		t.Errorf("acks = %v, want only the second delivery's (the first, not handled, left unacknowledged)", acks)
	}
	if posts := api.WaitFor(t, "chat.postMessage", 1, 10*time.Second); len(posts) != 1 {
		t.Errorf("mention replies = %d, want 1", len(posts))
	}
}
