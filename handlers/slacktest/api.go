package slacktest

import (
	"encoding/json"
	"fmt"
	"io"
	"math"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/slack-go/slack"

	"github.com/charlize-app/charlize/handlers/slackreq"
)

// Identities the fake answers with. They match the oauth.v2.access fixture
// (../shared/slack/oauth-v2-access.json) that the fake serves by default.
const (
	TeamID    = "T0001"
	TeamName  = "Example Team"
	AppID     = "A0KRD7HC3"
	BotUserID = "U0KRQLJ9H"
	BotID     = "B0KRQLJ9H"
	BotToken  = "xoxb-17653672481-19874698323-pdFZKVeTuE8sk7oOcBrzbqgy"
)

// Block Kit limits the fake enforces, as Slack does: a message with more
// blocks is refused with invalid_blocks, a modal with invalid_arguments.
const (
	maxMessageBlocks = 50
	maxViewBlocks    = 100
	maxResponseURLs  = 5 // posts Slack accepts per response_url
)

// defaultOAuthAccess is Slack's documented oauth.v2.access success answer,
// with token rotation on.
const defaultOAuthAccess = `{
  "ok": true,
  "access_token": "` + BotToken + `",
  "token_type": "bot",
  "scope": "commands,chat:write,app_mentions:read",
  "bot_user_id": "` + BotUserID + `",
  "app_id": "` + AppID + `",
  "team": {"name": "` + TeamName + `", "id": "` + TeamID + `"},
  "enterprise": null,
  "is_enterprise_install": false,
  "authed_user": {"id": "U2147483697", "scope": "", "token_type": "user"},
  "expires_in": 43200,
  "refresh_token": "xoxe-1-My0xLTE3NjUzNjcyNDgxLTE5ODc0Njk4MzIz"
}`

// MethodResponseURL is the Call.Method of posts to a response_url.
const MethodResponseURL = "response_url"

// API is a fake Slack Web API and response_url endpoint: an httptest.Server
// that records every request and answers like Slack. It supports
// chat.postMessage, chat.update, chat.postEphemeral, views.open,
// views.push, views.update, auth.test, oauth.v2.access,
// usergroups.users.list and the external file upload flow
// (files.getUploadURLExternal, the upload, files.completeUploadExternal);
// any other method answers unknown_method.
//
// Point slack-go at it with slack.OptionAPIURL(a.APIURL()) (or use
// a.Client), and hand out a.ResponseURL(id) as response_urls.
// It is safe for concurrent use.
type API struct {
	srv *httptest.Server

	mu        sync.Mutex
	calls     []Call
	changed   chan struct{} // closed and replaced whenever a call is recorded
	faults    map[string][]fault
	seq       int64                      // last ts / id / hash issued
	messages  map[string]map[string]bool // channel -> ts of messages chat.update may edit
	views     map[string]*view           // view id -> view
	external  map[string]string          // external_id -> view id
	uses      map[string]int             // response_url id -> accepted posts
	oauth     string                     // raw oauth.v2.access answer
	groups    map[string][]string        // usergroup id -> user ids
	files     map[string]*upload         // file id -> upload
	fileOrder []string
	latency   map[string]time.Duration // method -> added before answering
	scopes    string                   // X-OAuth-Scopes of Web API answers
}

// Call is one request the fake received, recorded before it was answered,
// so a Slack call that has returned is always in Calls.
type Call struct {
	// Method is the Web API method ("chat.postMessage", ...) or
	// MethodResponseURL.
	Method string
	// Token is the bearer token (Authorization header) or the form field
	// token; "" for response_url posts and oauth.v2.access.
	Token string
	// Form holds the form-encoded parameters (and URL query), when the
	// call was not JSON.
	Form url.Values
	// JSON holds the decoded body when the call was JSON (views.*,
	// response_url).
	JSON map[string]any
	// ResponseURLID is the id in URL()+"/response/<id>" for response_url posts.
	ResponseURLID string
	// Message is the decoded body of a response_url post.
	Message slack.WebhookMessage
	// Blocks are the decoded blocks of a message (form or JSON field
	// "blocks", or the response_url body), nil when none were sent.
	Blocks []slack.Block
	// View is the decoded "view" of views.open, views.push and views.update.
	View *slack.View
	// Status is the HTTP status answered: 200, 429, or an error status of a
	// response_url post.
	Status int
	// Error is the Slack error answered ("not_in_channel", "used_url"...),
	// "" on success.
	Error string
	// TS is the message ts answered by chat.postMessage and chat.update.
	TS string
	// Time is when the fake received the call.
	Time time.Time
	// UserAgent is the caller's User-Agent header.
	UserAgent string
}

type fault struct {
	err        string
	retryAfter time.Duration // > 0: answer 429
}

type view struct {
	body map[string]any // the view as the app sent it
	hash string
}

// answer is what the fake replies; exactly one of json and text is used.
type answer struct {
	status     int
	retryAfter time.Duration
	json       any
	text       string
	err        string // Slack error, for the record
}

// NewAPI starts a fake Slack API; it is closed when the test ends.
func NewAPI(t testing.TB) *API {
	t.Helper()
	a := &API{
		changed:  make(chan struct{}),
		faults:   map[string][]fault{},
		messages: map[string]map[string]bool{},
		views:    map[string]*view{},
		external: map[string]string{},
		uses:     map[string]int{},
		oauth:    defaultOAuthAccess,
		groups:   map[string][]string{},
		files:    map[string]*upload{},
		latency:  map[string]time.Duration{},
		scopes:   "commands,chat:write,app_mentions:read,files:write",
	}
	a.srv = httptest.NewServer(http.HandlerFunc(a.serveHTTP))
	t.Cleanup(a.srv.Close)
	return a
}

// URL returns the server's base URL, without a trailing slash.
func (a *API) URL() string { return a.srv.URL }

// APIURL returns the Web API base for slack.OptionAPIURL and
// slack.OAuthOptionAPIURL: URL()+"/api/". slack-go appends the method name
// to it directly, so the trailing slash is required.
func (a *API) APIURL() string { return a.srv.URL + "/api/" }

// Client returns a slack-go client that talks to the fake with token.
func (a *API) Client(token string, opts ...slack.Option) *slack.Client {
	return slack.New(token, append([]slack.Option{slack.OptionAPIURL(a.APIURL())}, opts...)...)
}

// ResponseURL returns a response_url the fake accepts up to 5 posts on.
func (a *API) ResponseURL(id string) string {
	return a.srv.URL + "/response/" + id
}

// Calls returns the recorded calls of method, in the order received.
func (a *API) Calls(method string) []Call {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.callsLocked(method)
}

// AllCalls returns every recorded call, of any method, in arrival order.
func (a *API) AllCalls() []Call {
	a.mu.Lock()
	defer a.mu.Unlock()
	return append([]Call(nil), a.calls...)
}

func (a *API) callsLocked(method string) []Call {
	var out []Call
	for _, c := range a.calls {
		if c.Method == method {
			out = append(out, c)
		}
	}
	return out
}

// WaitFor blocks until the fake has received at least n calls of method and
// returns them all. On timeout it fails the test, listing every call seen.
// Like t.Fatal, call it from the test's goroutine.
func (a *API) WaitFor(t testing.TB, method string, n int, timeout time.Duration) []Call {
	t.Helper()
	timer := time.NewTimer(timeout)
	defer timer.Stop()
	for {
		a.mu.Lock()
		calls := a.callsLocked(method)
		changed := a.changed
		a.mu.Unlock()
		if len(calls) >= n {
			return calls
		}
		select {
		case <-changed:
		case <-timer.C:
			t.Fatalf("slacktest: WaitFor(%q, %d): %d calls after %v; saw %s", method, n, len(calls), timeout, a.summary())
			return calls
		}
	}
}

// summary lists every call as method(outcome), for failure messages.
func (a *API) summary() string {
	a.mu.Lock()
	defer a.mu.Unlock()
	if len(a.calls) == 0 {
		return "no calls"
	}
	parts := make([]string, len(a.calls))
	for i, c := range a.calls {
		outcome := "ok"
		if c.Error != "" {
			outcome = c.Error
		} else if c.Status != http.StatusOK {
			outcome = strconv.Itoa(c.Status)
		}
		parts[i] = c.Method + "(" + outcome + ")"
	}
	return strings.Join(parts, ", ")
}

// Fail makes the next times calls of method answer {"ok":false,"error":slackError}.
// For MethodResponseURL the post answers HTTP 404 with slackError as body
// (as Slack does for "expired_url"). Faults queue in the order added and
// apply before any other check, the token included.
func (a *API) Fail(method, slackError string, times int) {
	a.addFault(method, fault{err: slackError}, times)
}

// RateLimit makes the next times calls of method answer HTTP 429 with a
// Retry-After header of retryAfter in whole seconds (at least 1), which
// slack-go returns as *slack.RateLimitedError.
func (a *API) RateLimit(method string, retryAfter time.Duration, times int) {
	a.addFault(method, fault{err: "ratelimited", retryAfter: max(retryAfter, time.Nanosecond)}, times)
}

func (a *API) addFault(method string, f fault, times int) {
	a.mu.Lock()
	defer a.mu.Unlock()
	for range times {
		a.faults[method] = append(a.faults[method], f)
	}
}

// SetOAuthAccess sets the raw JSON oauth.v2.access answers with.
func (a *API) SetOAuthAccess(resp string) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.oauth = resp
}

// SetScopes sets the scopes Web API answers list in their X-OAuth-Scopes
// header, as Slack lists the token's scopes (comma-separated).
func (a *API) SetScopes(scopes string) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.scopes = scopes
}

// SetUserGroupMembers sets the members usergroups.users.list answers for
// group; other groups answer no_such_subteam.
func (a *API) SetUserGroupMembers(group string, users []string) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.groups[group] = append([]string{}, users...)
}

// SetLatency makes the fake wait d before answering method (a Web API
// method, MethodUpload or MethodResponseURL), as Slack's own latency would;
// 0 removes it.
func (a *API) SetLatency(method string, d time.Duration) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.latency[method] = d
}

func (a *API) latencyOf(path string) time.Duration {
	method := strings.TrimPrefix(path, "/api/")
	switch {
	case strings.HasPrefix(path, "/upload/"):
		method = MethodUpload
	case strings.HasPrefix(path, "/response/"):
		method = MethodResponseURL
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.latency[method]
}

func (a *API) serveHTTP(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(r.Body)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	if d := a.latencyOf(r.URL.Path); d > 0 {
		t := time.NewTimer(d)
		select {
		case <-t.C:
		case <-r.Context().Done():
			t.Stop()
			return
		}
	}
	var ans answer
	switch {
	case strings.HasPrefix(r.URL.Path, "/api/"):
		ans = a.method(r, strings.TrimPrefix(r.URL.Path, "/api/"), body)
		a.mu.Lock()
		w.Header().Set("X-OAuth-Scopes", a.scopes)
		a.mu.Unlock()
	case strings.HasPrefix(r.URL.Path, "/response/"):
		ans = a.responseURL(r, strings.TrimPrefix(r.URL.Path, "/response/"), body)
	case strings.HasPrefix(r.URL.Path, "/upload/"):
		ans = a.uploadBytes(r, strings.TrimPrefix(r.URL.Path, "/upload/"), body)
	default:
		http.NotFound(w, r)
		return
	}
	writeAnswer(w, ans)
}

func writeAnswer(w http.ResponseWriter, ans answer) {
	if ans.retryAfter > 0 {
		secs := int(math.Ceil(ans.retryAfter.Seconds()))
		w.Header().Set("Retry-After", strconv.Itoa(max(secs, 1)))
	}
	if ans.json != nil {
		w.Header().Set("Content-Type", "application/json; charset=utf-8")
		w.WriteHeader(ans.status)
		if raw, ok := ans.json.(json.RawMessage); ok {
			_, _ = w.Write(raw)
			return
		}
		_ = json.NewEncoder(w).Encode(ans.json)
		return
	}
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.WriteHeader(ans.status)
	_, _ = io.WriteString(w, ans.text)
}

// recordLocked stores c with its answer and wakes WaitFor; the caller holds a.mu.
func (a *API) recordLocked(c Call, ans answer) {
	c.Status = ans.status
	c.Error = ans.err
	a.calls = append(a.calls, c)
	close(a.changed)
	a.changed = make(chan struct{})
}

// popFaultLocked returns the next injected fault for method, if any.
func (a *API) popFaultLocked(method string) (fault, bool) {
	q := a.faults[method]
	if len(q) == 0 {
		return fault{}, false
	}
	a.faults[method] = q[1:]
	return q[0], true
}

// request is a decoded Web API call, with what the fake checks of it.
type request struct {
	slackreq.Request
	rawBlocks json.RawMessage
	blocksErr error
	rawView   json.RawMessage
	viewErr   error
	clientID  string // from HTTP Basic auth (oauth.v2.access)
}

func (a *API) method(r *http.Request, method string, body []byte) answer {
	c := Call{Method: method, Time: time.Now(), UserAgent: r.UserAgent()}
	var q request
	parsed, ok := slackreq.Parse(r, body)
	badJSON := !ok
	q.Request = parsed
	c.JSON, c.Form = q.JSON, q.Form
	c.Token = q.Token(r)
	if q.rawBlocks = q.Raw("blocks"); q.rawBlocks != nil {
		var bs slack.Blocks
		if q.blocksErr = json.Unmarshal(q.rawBlocks, &bs); q.blocksErr == nil {
			c.Blocks = bs.BlockSet
		}
	}
	if q.rawView = q.Raw("view"); q.rawView != nil {
		var v slack.View
		if q.viewErr = json.Unmarshal(q.rawView, &v); q.viewErr == nil {
			c.View = &v
		}
	}
	if c.Method == "oauth.v2.access" {
		// Client credentials, in the form or as HTTP Basic auth; not a token.
		c.Token = ""
		if id, _, basic := r.BasicAuth(); basic {
			q.clientID = id
		}
	}

	a.mu.Lock()
	defer a.mu.Unlock()
	ans := a.answerLocked(&c, &q, badJSON)
	if m, isMap := ans.json.(map[string]any); isMap && m["ok"] == true {
		c.TS, _ = m["ts"].(string)
	}
	a.recordLocked(c, ans)
	return ans
}

// bearer returns the token of an "Authorization: Bearer <token>" header.
// slack-go sends "Bearer " with an empty token, which arrives as "Bearer".
func ok(fields map[string]any) answer {
	fields["ok"] = true
	return answer{status: http.StatusOK, json: fields}
}

func slackErr(code string) answer {
	return answer{status: http.StatusOK, json: map[string]any{"ok": false, "error": code}, err: code}
}

func (a *API) answerLocked(c *Call, q *request, badJSON bool) answer {
	if f, found := a.popFaultLocked(c.Method); found {
		if f.retryAfter > 0 {
			return answer{status: http.StatusTooManyRequests, retryAfter: f.retryAfter,
				json: map[string]any{"ok": false, "error": "ratelimited"}, err: "ratelimited"}
		}
		return slackErr(f.err)
	}
	handlers := map[string]func(*request) answer{
		"chat.postMessage":             a.postMessageLocked,
		"chat.update":                  a.updateMessageLocked,
		"chat.postEphemeral":           a.postEphemeralLocked,
		"views.open":                   a.openViewLocked,
		"views.push":                   a.openViewLocked,
		"views.update":                 a.updateViewLocked,
		"auth.test":                    authTest,
		"oauth.v2.access":              a.oauthAccessLocked,
		"usergroups.users.list":        a.userGroupMembersLocked,
		"files.getUploadURLExternal":   a.getUploadURLLocked,
		"files.completeUploadExternal": a.completeUploadLocked,
	}
	h, known := handlers[c.Method]
	switch {
	case !known:
		return slackErr("unknown_method")
	case badJSON:
		return slackErr("invalid_json")
	case c.Method != "oauth.v2.access" && c.Token == "":
		return slackErr("not_authed")
	}
	return h(q)
}

// nextLocked returns a fresh sequence number for ts, ids and hashes.
func (a *API) nextLocked() int64 {
	a.seq++
	return a.seq
}

// tsLocked returns a unique, increasing message ts: 1700000000.000100,
// 1700000000.000200, ...
func (a *API) tsLocked() string {
	micros := int64(1_700_000_000_000_000) + a.nextLocked()*100
	return fmt.Sprintf("%d.%06d", micros/1_000_000, micros%1_000_000)
}

// checkMessageLocked applies Slack's checks on a message's content.
func (a *API) checkMessageLocked(q *request) (errCode string) {
	if q.blocksErr != nil || a.unknownSlackFileLocked(q.rawBlocks) != "" {
		return "invalid_blocks"
	}
	var blocks []json.RawMessage
	if q.rawBlocks != nil {
		_ = json.Unmarshal(q.rawBlocks, &blocks)
	}
	if len(blocks) > maxMessageBlocks {
		return "invalid_blocks"
	}
	if q.Param("text") == "" && len(blocks) == 0 && q.Raw("attachments") == nil {
		return "no_text"
	}
	return ""
}

// message renders the message object Slack echoes in chat answers.
func message(q *request, ts string) map[string]any {
	m := map[string]any{
		"type":   "message",
		"text":   q.Param("text"),
		"user":   BotUserID,
		"bot_id": BotID,
		"app_id": AppID,
		"team":   TeamID,
		"ts":     ts,
		"blocks": []any{},
	}
	if q.rawBlocks != nil {
		m["blocks"] = q.rawBlocks
	}
	if tts := q.Param("thread_ts"); tts != "" {
		m["thread_ts"] = tts
	}
	return m
}

func (a *API) postMessageLocked(q *request) answer {
	channel := q.Param("channel")
	if channel == "" {
		return slackErr("channel_not_found")
	}
	if code := a.checkMessageLocked(q); code != "" {
		return slackErr(code)
	}
	ts := a.tsLocked()
	if a.messages[channel] == nil {
		a.messages[channel] = map[string]bool{}
	}
	a.messages[channel][ts] = true
	return ok(map[string]any{"channel": channel, "ts": ts, "message": message(q, ts)})
}

func (a *API) updateMessageLocked(q *request) answer {
	channel, ts := q.Param("channel"), q.Param("ts")
	if channel == "" {
		return slackErr("channel_not_found")
	}
	if !a.messages[channel][ts] {
		return slackErr("message_not_found")
	}
	if code := a.checkMessageLocked(q); code != "" {
		return slackErr(code)
	}
	return ok(map[string]any{"channel": channel, "ts": ts, "text": q.Param("text"), "message": message(q, ts)})
}

// postEphemeralLocked answers chat.postEphemeral. Ephemeral messages are not
// remembered: Slack cannot chat.update them (only their response_url can).
func (a *API) postEphemeralLocked(q *request) answer {
	if q.Param("channel") == "" {
		return slackErr("channel_not_found")
	}
	if q.Param("user") == "" {
		return slackErr("user_not_found")
	}
	if code := a.checkMessageLocked(q); code != "" {
		return slackErr(code)
	}
	return ok(map[string]any{"message_ts": a.tsLocked()})
}

// decodeView returns the view sent, or a Slack error code.
func decodeView(q *request) (map[string]any, string) {
	if q.rawView == nil || q.viewErr != nil {
		return nil, "invalid_arguments"
	}
	var body map[string]any
	if err := json.Unmarshal(q.rawView, &body); err != nil || body == nil {
		return nil, "invalid_arguments"
	}
	blocks, _ := body["blocks"].([]any)
	if len(blocks) > maxViewBlocks {
		return nil, "invalid_arguments"
	}
	return body, ""
}

// echoView renders the view object Slack answers views.* with.
func echoView(id string, v *view) map[string]any {
	out := make(map[string]any, len(v.body)+10)
	for k, val := range v.body {
		out[k] = val
	}
	out["id"] = id
	out["team_id"] = TeamID
	out["app_id"] = AppID
	out["bot_id"] = BotID
	out["app_installed_team_id"] = TeamID
	out["hash"] = v.hash
	out["root_view_id"] = id
	out["previous_view_id"] = nil
	out["state"] = map[string]any{"values": map[string]any{}}
	if _, ok := out["blocks"]; !ok || out["blocks"] == nil {
		out["blocks"] = []any{}
	}
	return out
}

func (a *API) hashLocked() string {
	return fmt.Sprintf("1700000000.%08x", a.nextLocked())
}

func (a *API) openViewLocked(q *request) answer {
	if q.Param("trigger_id") == "" {
		return slackErr("invalid_arguments")
	}
	body, code := decodeView(q)
	if code != "" {
		return slackErr(code)
	}
	id := fmt.Sprintf("V%010d", a.nextLocked())
	v := &view{body: body, hash: a.hashLocked()}
	a.views[id] = v
	if ext, _ := body["external_id"].(string); ext != "" {
		a.external[ext] = id
	}
	return ok(map[string]any{"view": echoView(id, v)})
}

func (a *API) updateViewLocked(q *request) answer {
	id, ext := q.Param("view_id"), q.Param("external_id")
	if id == "" && ext == "" {
		return slackErr("invalid_arguments")
	}
	if id == "" {
		id = a.external[ext]
	}
	v, found := a.views[id]
	if !found {
		return slackErr("not_found")
	}
	if h := q.Param("hash"); h != "" && h != v.hash {
		return slackErr("hash_conflict")
	}
	body, code := decodeView(q)
	if code != "" {
		return slackErr(code)
	}
	v.body, v.hash = body, a.hashLocked()
	if ext, _ := body["external_id"].(string); ext != "" {
		a.external[ext] = id
	}
	return ok(map[string]any{"view": echoView(id, v)})
}

func authTest(*request) answer {
	return ok(map[string]any{
		"url":     "https://example.slack.com/",
		"team":    TeamName,
		"user":    "charlize",
		"team_id": TeamID,
		"user_id": BotUserID,
		"bot_id":  BotID,
	})
}

func (a *API) oauthAccessLocked(q *request) answer {
	if q.Param("client_id") == "" && q.clientID == "" {
		return slackErr("invalid_client_id")
	}
	if q.Param("code") == "" && q.Param("refresh_token") == "" {
		return slackErr("invalid_code")
	}
	var probe struct {
		Ok    bool   `json:"ok"`
		Error string `json:"error"`
	}
	_ = json.Unmarshal([]byte(a.oauth), &probe)
	return answer{status: http.StatusOK, json: json.RawMessage(a.oauth), err: probe.Error}
}

func (a *API) userGroupMembersLocked(q *request) answer {
	users, found := a.groups[q.Param("usergroup")]
	if !found {
		return slackErr("no_such_subteam")
	}
	return ok(map[string]any{"users": append([]string{}, users...)})
}

// responseURL answers a post to a response_url as Slack does: "ok", at most
// 5 times per URL, then 404 used_url.
func (a *API) responseURL(r *http.Request, id string, body []byte) answer {
	c := Call{Method: MethodResponseURL, ResponseURLID: id, Time: time.Now(), UserAgent: r.UserAgent()}
	var ans answer
	badPayload := r.Method != http.MethodPost
	if err := json.Unmarshal(body, &c.JSON); err != nil || c.JSON == nil {
		badPayload = true
	} else if err := json.Unmarshal(body, &c.Message); err != nil {
		badPayload = true
	} else if c.Message.Blocks != nil {
		c.Blocks = c.Message.Blocks.BlockSet
	}

	a.mu.Lock()
	defer a.mu.Unlock()
	f, faulted := a.popFaultLocked(MethodResponseURL)
	switch {
	case faulted && f.retryAfter > 0:
		ans = answer{status: http.StatusTooManyRequests, retryAfter: f.retryAfter, text: "rate_limited", err: "rate_limited"}
	case faulted:
		ans = answer{status: http.StatusNotFound, text: f.err, err: f.err}
	case a.uses[id] >= maxResponseURLs:
		ans = answer{status: http.StatusNotFound, text: "used_url", err: "used_url"}
	case badPayload:
		ans = answer{status: http.StatusBadRequest, text: "invalid_payload", err: "invalid_payload"}
	case len(c.Blocks) > maxMessageBlocks, a.unknownSlackFileLocked(c.JSON["blocks"]) != "":
		ans = answer{status: http.StatusBadRequest, text: "invalid_blocks", err: "invalid_blocks"}
	case !c.Message.DeleteOriginal && c.Message.Text == "" && len(c.Blocks) == 0 && len(c.Message.Attachments) == 0:
		ans = answer{status: http.StatusBadRequest, text: "no_text", err: "no_text"}
	default:
		a.uses[id]++
		ans = answer{status: http.StatusOK, text: "ok"}
	}
	a.recordLocked(c, ans)
	return ans
}
