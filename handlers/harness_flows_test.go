package handlers_test

import (
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/slack-go/slack"

	"github.com/charlize-app/charlize/blocks"
	"github.com/charlize-app/charlize/handlers/slacktest"
)

// Request builders and helpers for the interactive-flow tests: view
// submissions, type-ahead, events, in-channel clicks, and requests that
// may be sent from goroutines other than the test's.

// reply is an answer from Charlize's HTTP server.
type reply struct {
	status  int
	body    []byte
	elapsed time.Duration
}

func (r reply) json(t testing.TB, v any) {
	t.Helper()
	if len(r.body) == 0 {
		t.Fatalf("empty body, want JSON")
	}
	if err := json.Unmarshal(r.body, v); err != nil {
		t.Fatalf("decode %s: %v", r.body, err)
	}
}

// send delivers r and reads the answer; unlike do it is safe to call from
// any goroutine, reporting transport errors as an error.
func (w *world) send(r *http.Request) (reply, error) {
	u, _ := url.Parse(w.server.URL)
	r.URL.Scheme, r.URL.Host, r.Host = u.Scheme, u.Host, u.Host
	start := time.Now()
	resp, err := http.DefaultClient.Do(r)
	if err != nil {
		return reply{}, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return reply{}, err
	}
	return reply{status: resp.StatusCode, body: body, elapsed: time.Since(start)}, nil
}

// mustSend is send for the test's goroutine.
func (w *world) mustSend(r *http.Request) reply {
	w.t.Helper()
	rep, err := w.send(r)
	if err != nil {
		w.t.Fatal(err)
	}
	return rep
}

// commandRequest is `/charlize text` from user in the test channel.
func (w *world) commandRequest(user, text, responseID string) *http.Request {
	form := slacktest.Command(team, user, text, w.slack.ResponseURL(responseID))
	form.Set("channel_id", channel)
	return slacktest.FormRequest("/slack/commands", secret, form)
}

// clickFrom says where a clicked button was.
type clickFrom struct {
	team      string // default team
	messageTS string // "" = an ephemeral message
	value     string // overrides the button's value when not ""
	userTeam  string // the presser's own team (Slack Connect); default the workspace's
}

// clickPayload is the block_actions payload of user pressing b.
func (w *world) clickPayload(user string, b button, responseID string, from clickFrom) map[string]any {
	if from.team == "" {
		from.team = team
	}
	value := b.value
	if from.value != "" {
		value = from.value
	}
	userTeam := from.team
	if from.userTeam != "" {
		userTeam = from.userTeam
	}
	return map[string]any{
		"type":       "block_actions",
		"user":       map[string]any{"id": user, "username": user, "team_id": userTeam},
		"team":       map[string]any{"id": from.team, "domain": "example"},
		"api_app_id": "A123456",
		"trigger_id": "12466734323.1395872398.b2c6f3b5a2e8c4d0a1f0e9d8c7b6a5f4",
		"container": map[string]any{"type": "message", "message_ts": from.messageTS, "channel_id": channel,
			"is_ephemeral": from.messageTS == ""},
		"channel":      map[string]any{"id": channel, "name": "ops"},
		"response_url": w.slack.ResponseURL(responseID),
		"actions": []map[string]any{{
			"type": "button", "action_id": b.actionID, "block_id": b.blockID, "value": value,
			"action_ts": strconv.FormatInt(time.Now().UnixMicro(), 10),
		}},
	}
}

func interactionRequest(payload any) *http.Request {
	return slacktest.PayloadRequest("/slack/interactions", secret, payload)
}

// clickFrom presses b as user from where from says, on the test's goroutine.
func (w *world) clickFrom(user string, b button, responseID string, from clickFrom) reply {
	w.t.Helper()
	return w.mustSend(interactionRequest(w.clickPayload(user, b, responseID, from)))
}

// openedView returns the n-th views.open (or views.update when method says
// so) call's view, waiting for it.
func (w *world) openedView(method string, n int) *slack.View {
	w.t.Helper()
	calls := w.slack.WaitFor(w.t, method, n, 10*time.Second)
	c := calls[n-1]
	if c.Error != "" || c.View == nil {
		w.t.Fatalf("%s #%d answered %q, view %v", method, n, c.Error, c.View)
	}
	return c.View
}

// submitView submits the modal v as user with the given state values
// (block id → action id → the element's state, e.g. textInput("web-1")).
func (w *world) submitView(user string, v *slack.View, values map[string]map[string]any) reply {
	w.t.Helper()
	return w.mustSend(interactionRequest(submission(user, v, values)))
}

// submission is the view_submission payload of submitView.
func submission(user string, v *slack.View, values map[string]map[string]any) map[string]any {
	rawBlocks, err := json.Marshal(v.Blocks)
	if err != nil {
		panic(err)
	}
	return map[string]any{
		"type":       "view_submission",
		"team":       map[string]any{"id": team, "domain": "example"},
		"user":       map[string]any{"id": user, "username": user, "name": user, "team_id": team},
		"api_app_id": "A123456",
		"trigger_id": "12466734323.1395872398.b2c6f3b5a2e8c4d0a1f0e9d8c7b6a5f4",
		"view": map[string]any{
			"id": "V0001", "team_id": team, "type": "modal",
			"callback_id": v.CallbackID, "private_metadata": v.PrivateMetadata, "hash": "156663117.cd33ad1f",
			"blocks": json.RawMessage(rawBlocks),
			"state":  map[string]any{"values": values},
		},
		"response_urls": []any{},
	}
}

// textInput is a plain_text_input's state.
func textInput(v string) map[string]any {
	return map[string]any{"type": "plain_text_input", "value": v}
}

// selectedOption is a static_select's state.
func selectedOption(v string) map[string]any {
	return map[string]any{"type": "static_select", "selected_option": map[string]any{
		"value": v, "text": map[string]any{"type": "plain_text", "text": v}}}
}

// suggest sends a block_suggestion for the picker's instance search.
func (w *world) suggest(user, value string, values map[string]map[string]any) reply {
	w.t.Helper()
	if values == nil {
		values = map[string]map[string]any{}
	}
	payload := map[string]any{
		"type":       "block_suggestion",
		"user":       map[string]any{"id": user, "username": user, "name": user, "team_id": team},
		"container":  map[string]any{"type": "view", "view_id": "V0001"},
		"api_app_id": "A123456",
		"action_id":  blocks.PickerSearchAction,
		"block_id":   blocks.PickerSearchBlock,
		"value":      value,
		"team":       map[string]any{"id": team, "domain": "example"},
		"view": map[string]any{"id": "V0001", "type": "modal", "callback_id": blocks.PickerCallbackID,
			"private_metadata": "", "state": map[string]any{"values": values}},
	}
	return w.mustSend(slacktest.PayloadRequest("/slack/options", secret, payload))
}

// event delivers an Events API body, as retry number retry (0 = first).
func (w *world) event(body []byte, retry int) reply {
	w.t.Helper()
	r := slacktest.JSONRequest("/slack/events", secret, body)
	if retry > 0 {
		r.Header.Set("X-Slack-Retry-Num", strconv.Itoa(retry))
		r.Header.Set("X-Slack-Retry-Reason", "http_timeout")
	}
	return w.mustSend(r)
}

// urlPost waits for a post to the response_url id and returns the latest
// one accepted.
func (w *world) urlPost(id string, timeout time.Duration) slack.WebhookMessage {
	w.t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		var last *slacktest.Call
		for _, c := range w.slack.Calls(slacktest.MethodResponseURL) {
			if c.ResponseURLID == id && c.Status == http.StatusOK {
				last = &c
			}
		}
		if last != nil {
			return last.Message
		}
		if time.Now().After(deadline) {
			w.t.Fatalf("no post to response_url %s within %s", id, timeout)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// urlPosts are the accepted posts to the response_url id.
func (w *world) urlPosts(id string) []slack.WebhookMessage {
	var out []slack.WebhookMessage
	for _, c := range w.slack.Calls(slacktest.MethodResponseURL) {
		if c.ResponseURLID == id && c.Status == http.StatusOK {
			out = append(out, c.Message)
		}
	}
	return out
}

// waitForURLText waits for a post to response_url id containing want.
func (w *world) waitForURLText(id, want string, timeout time.Duration) slack.WebhookMessage {
	w.t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		var seen []string
		for _, m := range w.urlPosts(id) {
			if strings.Contains(messageText(m), want) {
				return m
			}
			seen = append(seen, messageText(m))
		}
		if time.Now().After(deadline) {
			w.t.Fatalf("no post to response_url %s containing %q within %s; saw:\n%s", id, want, timeout, strings.Join(seen, "\n"))
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// instanceCard runs `/charlize status name` and returns the card once its
// graph has settled (shown, or said to be missing), so no AWS or Slack
// call of the card's is still under way.
func (w *world) instanceCard(name, responseID string) slack.WebhookMessage {
	w.t.Helper()
	if status, _ := w.command(alice, "status "+name, responseID); status != http.StatusOK {
		w.t.Fatalf("status %s = %d", name, status)
	}
	return w.settledCard(responseID)
}

// settledCard waits for the post to response_url id that shows a card with
// its graph settled.
func (w *world) settledCard(responseID string) slack.WebhookMessage {
	w.t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		for _, m := range w.urlPosts(responseID) {
			if text := messageText(m); strings.Contains(text, "acts:0") && graphSettled(m) {
				return m
			}
		}
		if time.Now().After(deadline) {
			var seen []string
			for _, m := range w.urlPosts(responseID) {
				seen = append(seen, messageText(m))
			}
			w.t.Fatalf("no settled card on response_url %s; saw:\n%s", responseID, strings.Join(seen, "\n"))
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// graphSettled reports whether a card shows its graph or why there is none.
func graphSettled(m slack.WebhookMessage) bool {
	if m.Blocks == nil {
		return false
	}
	for _, b := range m.Blocks.BlockSet {
		switch b := b.(type) {
		case *slack.ImageBlock:
			return b.BlockID == blocks.CardGraphBlock
		case *slack.ContextBlock:
			if b.BlockID == blocks.CardGraphBlock {
				return !strings.Contains(messageText(slack.WebhookMessage{Blocks: &slack.Blocks{BlockSet: []slack.Block{b}}}), "Drawing")
			}
		}
	}
	return false
}

// checkRendered runs blocks.CheckMessage on every accepted message.
func checkRendered(t testing.TB, msgs ...slack.WebhookMessage) {
	t.Helper()
	for i, m := range msgs {
		if m.Blocks == nil {
			continue
		}
		if err := blocks.CheckMessage(m.Blocks.BlockSet); err != nil {
			t.Errorf("message %d breaks Block Kit limits: %v\n%s", i, err, messageText(m))
		}
	}
}

// viewText is a view's JSON, for substring checks.
func viewText(v *slack.View) string {
	raw, _ := json.Marshal(v)
	return string(raw)
}
