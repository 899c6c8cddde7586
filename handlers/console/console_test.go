package console_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/slack-go/slack"

	"github.com/charlize-app/charlize/handlers/console"
	"github.com/charlize-app/charlize/handlers/slacktest"
)

// The console's Web API is what Charlize talks to in the demo, through
// slack-go. These tests call it with slack-go as Charlize does, and check
// it answers as Slack's documentation says.

const secret = "console-test-secret"

var users = []console.User{{ID: "U0ALICE", Name: "alice", Title: "SRE"}, {ID: "U0BOB", Name: "bob", Title: "dev"}}

// fakeApp stands in for Charlize: it records the signed requests the
// console sends and answers each with the next queued body.
type fakeApp struct {
	t       *testing.T
	mu      sync.Mutex
	got     []*http.Request
	bodies  []string
	answers map[string][]string // path -> answers, in order
}

func (f *fakeApp) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	ts, _ := time.Parse(time.RFC3339, "2000-01-01T00:00:00Z")
	if sec := r.Header.Get("X-Slack-Request-Timestamp"); sec != "" {
		var unix int64
		_ = json.Unmarshal([]byte(sec), &unix)
		ts = time.Unix(unix, 0)
	}
	if r.Header.Get("X-Slack-Signature") != slacktest.Signature(secret, ts, body) {
		http.Error(w, "bad signature", http.StatusUnauthorized)
		return
	}
	f.mu.Lock()
	f.got = append(f.got, r)
	f.bodies = append(f.bodies, string(body))
	var answer string
	if q := f.answers[r.URL.Path]; len(q) > 0 {
		answer, f.answers[r.URL.Path] = q[0], q[1:]
	}
	f.mu.Unlock()
	if answer != "" {
		w.Header().Set("Content-Type", "application/json")
		_, _ = io.WriteString(w, answer)
	}
}

func (f *fakeApp) last(t *testing.T) (string, url.Values) {
	t.Helper()
	f.mu.Lock()
	defer f.mu.Unlock()
	if len(f.got) == 0 {
		t.Fatal("the console sent Charlize nothing")
	}
	form, _ := url.ParseQuery(f.bodies[len(f.bodies)-1])
	return f.got[len(f.got)-1].URL.Path, form
}

type world struct {
	con *console.Console
	srv *httptest.Server
	app *fakeApp
	api *slack.Client
}

func newWorld(t *testing.T) *world { return newWorldWith(t, console.Options{}) }

// newWorldWith is newWorld with more options (the rest are set here).
func newWorldWith(t *testing.T, o console.Options) *world {
	t.Helper()
	app := &fakeApp{t: t, answers: map[string][]string{}}
	appSrv := httptest.NewServer(app)
	t.Cleanup(appSrv.Close)
	w := &world{app: app}
	mux := http.NewServeMux()
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	o.SigningSecret, o.AppURL, o.BaseURL, o.Users = secret, appSrv.URL, srv.URL, users
	w.con = console.New(o)
	mux.Handle("/", w.con.Handler())
	w.srv = srv
	w.api = slack.New(console.BotToken, slack.OptionAPIURL(w.con.APIURL()))
	return w
}

func (w *world) ui(t *testing.T, path string, body map[string]any) map[string]any {
	t.Helper()
	raw, _ := json.Marshal(body)
	resp, err := http.Post(w.srv.URL+path, "application/json", bytes.NewReader(raw))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var out map[string]any
	_ = json.NewDecoder(resp.Body).Decode(&out)
	return out
}

type shown struct {
	TS        string          `json:"ts"`
	Text      string          `json:"text"`
	Ephemeral bool            `json:"ephemeral"`
	Edited    bool            `json:"edited"`
	ThreadTS  string          `json:"thread_ts"`
	Blocks    json.RawMessage `json:"blocks"`
	Files     []struct {
		Title, URL string
	} `json:"files"`
}

func (w *world) state(t *testing.T, user string) (msgs []shown, modal map[string]any) {
	t.Helper()
	resp, err := http.Get(w.srv.URL + "/console/state?user=" + user)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var s struct {
		Messages []shown        `json:"messages"`
		Modal    map[string]any `json:"modal"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&s); err != nil {
		t.Fatal(err)
	}
	return s.Messages, s.Modal
}

// A slash command reaches Charlize signed, as Slack's form; its
// acknowledgement shows only to the person, and the response_url takes 5
// posts, replacing that answer, then refuses.
func TestCommandAndResponseURL(t *testing.T) {
	w := newWorld(t)
	w.app.answers["/slack/commands"] = []string{`{"response_type":"ephemeral","text":"Looking up…"}`}
	w.ui(t, "/console/command", map[string]any{"user": "U0ALICE", "text": "/charlize list web*"})
	path, form := w.app.last(t)
	if path != "/slack/commands" || form.Get("command") != "/charlize" || form.Get("text") != "list web*" ||
		form.Get("user_id") != "U0ALICE" || form.Get("trigger_id") == "" || form.Get("team_id") != console.TeamID {
		t.Fatalf("command sent to %s as %v", path, form)
	}
	alice, _ := w.state(t, "U0ALICE")
	bob, _ := w.state(t, "U0BOB")
	if len(alice) != 1 || !alice[0].Ephemeral || alice[0].Text != "Looking up…" || len(bob) != 0 {
		t.Fatalf("alice sees %+v, bob %+v; want the answer for alice only", alice, bob)
	}

	rurl := form.Get("response_url")
	post := func(body string) (int, string) {
		resp, err := http.Post(rurl, "application/json", strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, strings.TrimSpace(string(b))
	}
	// Refused blocks do not count among the five posts.
	if code, body := post(`{"blocks":[{"type":"sectoin"}]}`); code != http.StatusBadRequest || body != "invalid_blocks" {
		t.Errorf("a response_url post with an unknown block type = %d %q, want 400 invalid_blocks", code, body)
	}
	for i := range 5 {
		if code, body := post(`{"replace_original":true,"text":"page ` + string(rune('1'+i)) + `"}`); code != http.StatusOK || body != "ok" {
			t.Fatalf("post %d = %d %q, want 200 ok", i+1, code, body)
		}
	}
	if code, body := post(`{"text":"sixth"}`); code != http.StatusNotFound || body != "used_url" {
		t.Errorf("sixth post = %d %q, want 404 used_url", code, body)
	}
	alice, _ = w.state(t, "U0ALICE")
	if len(alice) != 1 || alice[0].Text != "page 5" || !alice[0].Edited {
		t.Errorf("after 5 replacing posts alice sees %+v, want one message saying page 5", alice)
	}
}

// chat.postMessage, chat.update and chat.postEphemeral answer as Slack
// does, through slack-go; Block Kit over the limits is refused.
func TestChatMethods(t *testing.T) {
	w := newWorld(t)
	ctx := context.Background()
	ch, ts, err := w.api.PostMessageContext(ctx, console.ChannelID, slack.MsgOptionText("hello", false))
	if err != nil || ch != console.ChannelID || ts == "" {
		t.Fatalf("PostMessage = %q %q %v", ch, ts, err)
	}
	if _, _, _, err := w.api.UpdateMessageContext(ctx, console.ChannelID, ts, slack.MsgOptionText("edited", false)); err != nil {
		t.Fatalf("UpdateMessage: %v", err)
	}
	if _, _, err := w.api.PostMessageContext(ctx, console.ChannelID, slack.MsgOptionText("in thread", false), slack.MsgOptionTS(ts)); err != nil {
		t.Fatalf("thread reply: %v", err)
	}
	if _, err := w.api.PostEphemeralContext(ctx, console.ChannelID, "U0BOB", slack.MsgOptionText("psst", false)); err != nil {
		t.Fatalf("PostEphemeral: %v", err)
	}
	alice, _ := w.state(t, "U0ALICE")
	bob, _ := w.state(t, "U0BOB")
	if len(alice) != 2 || alice[0].Text != "edited" || alice[1].ThreadTS != ts || len(bob) != 3 {
		t.Errorf("alice sees %+v, bob %d messages; want the edit, the thread reply, and bob's ephemeral", alice, len(bob))
	}

	tooMany := make([]slack.Block, 51)
	for i := range tooMany {
		tooMany[i] = slack.NewDividerBlock()
	}
	for name, call := range map[string]func() error{
		"51 blocks": func() error {
			_, _, err := w.api.PostMessageContext(ctx, console.ChannelID, slack.MsgOptionBlocks(tooMany...))
			return err
		},
		"no text": func() error { _, _, err := w.api.PostMessageContext(ctx, console.ChannelID); return err },
		"other channel": func() error {
			_, _, err := w.api.PostMessageContext(ctx, "C0OTHER", slack.MsgOptionText("x", false))
			return err
		},
		"update unknown ts": func() error {
			_, _, _, err := w.api.UpdateMessageContext(ctx, console.ChannelID, "1.000", slack.MsgOptionText("x", false))
			return err
		},
	} {
		var slackErr slack.SlackErrorResponse
		if err := call(); !errors.As(err, &slackErr) {
			t.Errorf("%s: err = %v, want a Slack error", name, err)
		}
	}
	bad := slack.New("xoxb-wrong", slack.OptionAPIURL(w.con.APIURL()))
	if _, err := bad.AuthTestContext(ctx); err == nil || !strings.Contains(err.Error(), "invalid_auth") {
		t.Errorf("a wrong token = %v, want invalid_auth", err)
	}
	if resp, err := w.api.AuthTestContext(ctx); err != nil || resp.UserID != console.BotUserID || resp.TeamID != console.TeamID {
		t.Errorf("auth.test = %+v, %v", resp, err)
	}
}

// A trigger_id opens one modal, for 3 seconds; views.update checks the
// hash; a submission's response_action errors keeps the modal open.
func TestModals(t *testing.T) {
	w := newWorld(t)
	ctx := context.Background()
	w.ui(t, "/console/command", map[string]any{"user": "U0ALICE", "text": "/charlize"})
	_, form := w.app.last(t)
	trigger := form.Get("trigger_id")
	view := slack.ModalViewRequest{
		Type: slack.VTModal, Title: slack.NewTextBlockObject(slack.PlainTextType, "Find", false, false),
		Submit: slack.NewTextBlockObject(slack.PlainTextType, "Go", false, false), CallbackID: "picker",
		Blocks: slack.Blocks{BlockSet: []slack.Block{slack.NewInputBlock("name_block",
			slack.NewTextBlockObject(slack.PlainTextType, "Name", false, false), nil,
			slack.NewPlainTextInputBlockElement(nil, "name"))}},
	}
	opened, err := w.api.OpenViewContext(ctx, trigger, view)
	if err != nil {
		t.Fatalf("views.open: %v", err)
	}
	if _, err := w.api.OpenViewContext(ctx, trigger, view); err == nil || !strings.Contains(err.Error(), "expired_trigger_id") {
		t.Errorf("a trigger_id used twice = %v, want expired_trigger_id", err)
	}
	if _, err := w.api.UpdateViewContext(ctx, view, "", "stale-hash", opened.ID); err == nil || !strings.Contains(err.Error(), "hash_conflict") {
		t.Errorf("views.update with a stale hash = %v, want hash_conflict", err)
	}
	if _, err := w.api.UpdateViewContext(ctx, view, "", opened.Hash, opened.ID); err != nil {
		t.Errorf("views.update with the hash: %v", err)
	}
	if _, modal := w.state(t, "U0ALICE"); modal == nil || modal["id"] != opened.ID {
		t.Fatalf("alice's modal = %v, want %s", modal, opened.ID)
	}

	w.app.answers["/slack/interactions"] = []string{`{"response_action":"errors","errors":{"name_block":"Type web-1 to confirm"}}`, ``}
	values := map[string]any{"name_block": map[string]any{"name": map[string]any{"type": "plain_text_input", "value": "web-2"}}}
	answer := w.ui(t, "/console/submit", map[string]any{"user": "U0ALICE", "view_id": opened.ID, "state": values})
	if errs, _ := answer["errors"].(map[string]any); errs["name_block"] != "Type web-1 to confirm" {
		t.Errorf("submission answered %v, want the inline error", answer)
	}
	_, form = w.app.last(t)
	var payload slack.InteractionCallback
	if err := json.Unmarshal([]byte(form.Get("payload")), &payload); err != nil {
		t.Fatal(err)
	}
	if payload.Type != slack.InteractionTypeViewSubmission || payload.View.ID != opened.ID || payload.View.CallbackID != "picker" ||
		payload.View.State.Values["name_block"]["name"].Value != "web-2" || payload.User.ID != "U0ALICE" {
		t.Errorf("view_submission payload = %+v", payload)
	}
	if _, modal := w.state(t, "U0ALICE"); modal == nil {
		t.Fatal("the modal closed on response_action errors")
	}
	if answer := w.ui(t, "/console/submit", map[string]any{"user": "U0ALICE", "view_id": opened.ID, "state": values}); answer["closed"] != true {
		t.Errorf("an empty answer = %v, want the modal closed", answer)
	}
	if _, modal := w.state(t, "U0ALICE"); modal != nil {
		t.Error("the modal is still open after an empty answer")
	}
}

// A button press is a signed block_actions payload with the message, its
// container and a response_url that replaces the clicked message.
func TestBlockActions(t *testing.T) {
	w := newWorld(t)
	ctx := context.Background()
	stop := slack.NewButtonBlockElement("act:stop:0", "opaque", slack.NewTextBlockObject(slack.PlainTextType, "Stop", false, false))
	_, ts, err := w.api.PostMessageContext(ctx, console.ChannelID, slack.MsgOptionText("web-1", false),
		slack.MsgOptionBlocks(slack.NewActionBlock("acts:0", stop)))
	if err != nil {
		t.Fatal(err)
	}
	w.ui(t, "/console/action", map[string]any{"user": "U0BOB", "message_ts": ts, "action": map[string]any{
		"type": "button", "action_id": "act:stop:0", "block_id": "acts:0", "value": "opaque",
		"text": map[string]any{"type": "plain_text", "text": "Stop"},
	}})
	path, form := w.app.last(t)
	var cb slack.InteractionCallback
	if err := json.Unmarshal([]byte(form.Get("payload")), &cb); err != nil || path != "/slack/interactions" {
		t.Fatalf("%s: %v", path, err)
	}
	a := cb.ActionCallback.BlockActions
	if cb.Type != slack.InteractionTypeBlockActions || len(a) != 1 || a[0].ActionID != "act:stop:0" || a[0].Value != "opaque" ||
		cb.Container.MessageTs != ts || cb.Container.IsEphemeral || cb.Channel.ID != console.ChannelID || cb.Message.Timestamp != ts ||
		cb.User.ID != "U0BOB" || cb.TriggerID == "" || cb.ResponseURL == "" {
		t.Fatalf("block_actions payload = %+v", cb)
	}
	resp, err := http.Post(cb.ResponseURL, "application/json", strings.NewReader(`{"replace_original":true,"response_type":"in_channel","text":"⏳ Stopping web-1"}`))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	msgs, _ := w.state(t, "U0ALICE")
	if len(msgs) != 1 || msgs[0].Text != "⏳ Stopping web-1" || msgs[0].Ephemeral {
		t.Errorf("after replace_original the channel shows %+v", msgs)
	}
}

// files.getUploadURLExternal, the upload and files.completeUploadExternal,
// as slack-go's UploadFile makes them, post the file in the channel.
func TestFileUpload(t *testing.T) {
	w := newWorld(t)
	ctx := context.Background()
	png := []byte("\x89PNG\r\n\x1a\n" + strings.Repeat("x", 100))
	summary, err := w.api.UploadFileContext(ctx, slack.UploadFileParameters{
		Filename: "cpu.png", FileSize: len(png), Reader: bytes.NewReader(png), Title: "CPU of web-1", Channel: console.ChannelID,
	})
	if err != nil {
		t.Fatalf("UploadFile: %v", err)
	}
	msgs, _ := w.state(t, "U0ALICE")
	if len(msgs) != 1 || len(msgs[0].Files) != 1 || msgs[0].Files[0].Title != "CPU of web-1" {
		t.Fatalf("after the upload the channel shows %+v", msgs)
	}
	resp, err := http.Get(w.srv.URL + msgs[0].Files[0].URL)
	if err != nil {
		t.Fatal(err)
	}
	got, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if !bytes.Equal(got, png) || resp.Header.Get("Content-Type") != "image/png" || summary.ID == "" {
		t.Errorf("the file serves %d bytes as %s, want the PNG", len(got), resp.Header.Get("Content-Type"))
	}
	if _, err := w.api.UploadFileContext(ctx, slack.UploadFileParameters{
		Filename: "x.txt", FileSize: 10, Reader: strings.NewReader("short"), Channel: console.ChannelID,
	}); err == nil {
		t.Error("an upload shorter than its declared length was accepted")
	}
}

// An external select's type-ahead is a block_suggestion; Charlize's answer
// goes back to the page as it came.
func TestSuggest(t *testing.T) {
	w := newWorld(t)
	w.app.answers["/slack/options"] = []string{`{"options":[{"text":{"type":"plain_text","text":"prod-db-1"},"value":"v1"}]}`}
	answer := w.ui(t, "/console/suggest", map[string]any{"user": "U0ALICE", "action_id": "instance_search", "block_id": "picker_search", "value": "prod-db"})
	_, form := w.app.last(t)
	var cb slack.InteractionCallback
	_ = json.Unmarshal([]byte(form.Get("payload")), &cb)
	if cb.Type != slack.InteractionTypeBlockSuggestion || cb.ActionID != "instance_search" || cb.Value != "prod-db" {
		t.Errorf("block_suggestion payload = %+v", cb)
	}
	if opts, _ := answer["options"].([]any); len(opts) != 1 {
		t.Errorf("options = %v", answer)
	}
}

// A message mentioning @Charlize is delivered as an app_mention event.
func TestMentionEvent(t *testing.T) {
	w := newWorld(t)
	w.ui(t, "/console/command", map[string]any{"user": "U0ALICE", "text": "@Charlize hello"})
	path, _ := w.app.last(t)
	w.app.mu.Lock()
	body := w.app.bodies[len(w.app.bodies)-1]
	w.app.mu.Unlock()
	var ev struct {
		Type  string `json:"type"`
		Event struct {
			Type, User, Text, Channel string
		} `json:"event"`
	}
	if err := json.Unmarshal([]byte(body), &ev); err != nil || path != "/slack/events" {
		t.Fatalf("%s %v", path, err)
	}
	if ev.Type != "event_callback" || ev.Event.Type != "app_mention" || ev.Event.User != "U0ALICE" ||
		ev.Event.Text != "<@"+console.BotUserID+"> hello" || ev.Event.Channel != console.ChannelID {
		t.Errorf("event = %+v", ev)
	}
}

// An acknowledgement slower than Slack's 3 seconds is shown as Slack shows
// it, and the page says so.
func TestSlowAcknowledgement(t *testing.T) {
	release := make(chan struct{})
	slow := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-release:
		case <-r.Context().Done():
		}
	}))
	defer slow.Close()
	defer close(release)
	mux := http.NewServeMux()
	srv := httptest.NewServer(mux)
	defer srv.Close()
	con := console.New(console.Options{SigningSecret: secret, AppURL: slow.URL, BaseURL: srv.URL, Users: users})
	mux.Handle("/", con.Handler())
	w := &world{con: con, srv: srv}
	w.ui(t, "/console/command", map[string]any{"user": "U0ALICE", "text": "/charlize help"})
	msgs, _ := w.state(t, "U0ALICE")
	if len(msgs) != 1 || !strings.Contains(msgs[0].Text, `failed with the error "operation_timeout"`) {
		t.Errorf("a slow acknowledgement shows %+v", msgs)
	}
}

// The page names the team and channel the console stands in for, and says
// what the demo was started with.
func TestPageNamesTheTeamAndChannel(t *testing.T) {
	for _, notice := range []string{"", "a <temporary> folder"} {
		mux := http.NewServeMux()
		srv := httptest.NewServer(mux)
		con := console.New(console.Options{SigningSecret: secret, AppURL: srv.URL, BaseURL: srv.URL, Users: users, Notice: notice})
		mux.Handle("/", con.Handler())
		resp, err := http.Get(srv.URL + "/")
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		srv.Close()
		page := string(body)
		for _, want := range []string{"<title>#" + console.ChannelName + " · " + console.TeamName + " (local)</title>",
			`<p class="team">` + console.TeamName + "</p>", `<h1 class="channel-title"># ` + console.ChannelName + "</h1>"} {
			if !strings.Contains(page, want) {
				t.Errorf("page lacks %s", want)
			}
		}
		withNotice := strings.Contains(page, "simulator<span>; <span>a &lt;temporary&gt; folder</span></span>.")
		if (notice != "") != withNotice || strings.Contains(page, "data-fill") {
			t.Errorf("notice %q shown as:\n%s", notice, page)
		}
	}
}

// What the page shows when something fails is written for the person at
// it, never an error's own text with addresses in it.
func TestPageErrorsSayWhatHappened(t *testing.T) {
	w := newWorld(t)
	click := func(w *world, ts string) map[string]any {
		return w.ui(t, "/console/action", map[string]any{"user": "U0ALICE", "message_ts": ts, "action": map[string]any{
			"type": "button", "action_id": "act:stop:0", "block_id": "acts:0", "value": "opaque",
		}})
	}
	if got := click(w, "1.000001"); got["ok"] != false || got["error"] != "That message is no longer in the channel." {
		t.Errorf("a click on a message that is gone answers %v", got)
	}
	if got := w.ui(t, "/console/submit", map[string]any{"user": "U0ALICE", "view_id": "V0GONE"}); got["error"] != "That window is no longer open." {
		t.Errorf("a submission of a closed window answers %v", got)
	}

	// Charlize is not there at all: the page says so, without the dial error.
	gone := httptest.NewServer(http.NotFoundHandler())
	gone.Close()
	mux := http.NewServeMux()
	srv := httptest.NewServer(mux)
	defer srv.Close()
	con := console.New(console.Options{SigningSecret: secret, AppURL: gone.URL, BaseURL: srv.URL, Users: users})
	mux.Handle("/", con.Handler())
	down := &world{con: con, srv: srv, api: slack.New(console.BotToken, slack.OptionAPIURL(con.APIURL()))}
	_, ts, err := down.api.PostMessageContext(context.Background(), console.ChannelID, slack.MsgOptionText("web-1", false))
	if err != nil {
		t.Fatal(err)
	}
	got := click(down, ts)
	if got["ok"] != false || got["error"] != "Charlize did not acknowledge that. The terminal running the demo says why." {
		t.Errorf("a click Charlize cannot be reached for answers %v", got)
	}
	if raw, _ := json.Marshal(got); strings.Contains(string(raw), "127.0.0.1") || strings.Contains(string(raw), "dial") {
		t.Errorf("the page is shown the transport's error: %s", raw)
	}
	// As in Slack, the click posts nothing: the error is said once.
	if msgs, _ := down.state(t, "U0ALICE"); len(msgs) != 1 {
		t.Errorf("after a click Charlize did not acknowledge the channel shows %d messages, want the one clicked: %+v", len(msgs), msgs)
	}
	if got := down.ui(t, "/console/suggest", map[string]any{"user": "U0ALICE", "message_ts": ts, "action_id": "pick:account", "block_id": "pick", "value": "acme"}); got["error"] != "Charlize did not acknowledge that. The terminal running the demo says why." {
		t.Errorf("a suggestion Charlize cannot be reached for answers %v", got)
	}
}

// --record keeps every message and view Charlize sends, among them the
// view a submission answers with and the message a file is shared with.
func TestRecordKeepsEveryMessageAndView(t *testing.T) {
	dir := t.TempDir()
	w := newWorldWith(t, console.Options{RecordDir: dir})
	ctx := context.Background()
	w.ui(t, "/console/command", map[string]any{"user": "U0ALICE", "text": "/charlize"})
	_, form := w.app.last(t)
	title := func(s string) *slack.TextBlockObject {
		return slack.NewTextBlockObject(slack.PlainTextType, s, false, false)
	}
	opened, err := w.api.OpenViewContext(ctx, form.Get("trigger_id"), slack.ModalViewRequest{
		Type: slack.VTModal, Title: title("Find"), Submit: title("Go"), CallbackID: "picker",
		Blocks: slack.Blocks{BlockSet: []slack.Block{slack.NewSectionBlock(title("first"), nil, nil)}},
	})
	if err != nil {
		t.Fatalf("views.open: %v", err)
	}
	w.app.answers["/slack/interactions"] = []string{`{"response_action":"update","view":{"type":"modal","title":{"type":"plain_text","text":"Found"},` +
		`"blocks":[{"type":"section","text":{"type":"mrkdwn","text":"the answer's view"}}]}}`}
	w.ui(t, "/console/submit", map[string]any{"user": "U0ALICE", "view_id": opened.ID})
	png := []byte("\x89PNG\r\n\x1a\n" + strings.Repeat("x", 100))
	if _, err := w.api.UploadFileContext(ctx, slack.UploadFileParameters{
		Filename: "cpu.png", FileSize: len(png), Reader: bytes.NewReader(png), Channel: console.ChannelID,
		Blocks: slack.Blocks{BlockSet: []slack.Block{slack.NewSectionBlock(slack.NewTextBlockObject(slack.MarkdownType, "the graph's message", false, false), nil, nil)}},
	}); err != nil {
		t.Fatalf("UploadFile: %v", err)
	}

	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var all []string
	for _, e := range entries {
		raw, _ := os.ReadFile(filepath.Join(dir, e.Name()))
		all = append(all, e.Name()+": "+string(raw))
	}
	recorded := strings.Join(all, "\n")
	for _, want := range []string{"-view.json: ", "the answer's view", "-files.completeUploadExternal.json: ", "the graph's message"} {
		if !strings.Contains(recorded, want) {
			t.Errorf("the recording lacks %q:\n%s", want, recorded)
		}
	}
}
