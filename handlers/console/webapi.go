package console

import (
	"bytes"
	"cmp"
	"encoding/json"
	"fmt"
	"io"
	"mime/multipart"
	"net/http"
	"strconv"

	"github.com/slack-go/slack"

	"github.com/charlize-app/charlize/blocks"
	"github.com/charlize-app/charlize/handlers/slackreq"
)

// maxUpload bounds one file upload (Slack allows 1 GB; a demo needs less).
const maxUpload = 16 << 20

// demoGroups are the user groups usergroups.users.list knows.
var demoGroups = map[string][]string{"S0DEMO0SRE": {"U0DEMOALICE", "U0DEMOCAROL"}}

func (c *Console) webAPIRoutes(mux *http.ServeMux) {
	mux.HandleFunc("POST /api/{method}", c.serveMethod)
	mux.HandleFunc("GET /api/{method}", c.serveMethod)
	mux.HandleFunc("POST /response/{id}", c.serveResponseURL)
	mux.HandleFunc("POST /upload/{id}", c.serveUpload)
	mux.HandleFunc("GET /files/{id}", c.serveFile)
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

func ok(fields map[string]any) map[string]any {
	fields["ok"] = true
	return fields
}

func slackError(code string) map[string]any {
	return map[string]any{"ok": false, "error": code}
}

func (c *Console) serveMethod(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(io.LimitReader(r.Body, maxUpload))
	if err != nil {
		writeJSON(w, http.StatusBadRequest, slackError("invalid_request"))
		return
	}
	q, parsed := slackreq.Parse(r, body)
	if !parsed {
		writeJSON(w, http.StatusOK, slackError("invalid_json"))
		return
	}
	token := q.Token(r)
	method := r.PathValue("method")
	handlers := map[string]func(slackreq.Request) map[string]any{
		"auth.test":                    c.authTest,
		"chat.postMessage":             c.postMessage,
		"chat.update":                  c.updateMessage,
		"chat.postEphemeral":           c.postEphemeral,
		"views.open":                   c.openView,
		"views.push":                   c.pushView,
		"views.update":                 c.updateView,
		"usergroups.users.list":        c.userGroupMembers,
		"files.getUploadURLExternal":   c.uploadURL,
		"files.completeUploadExternal": c.completeUpload,
	}
	h, known := handlers[method]
	switch {
	case !known:
		writeJSON(w, http.StatusOK, slackError("unknown_method"))
	case token == "":
		writeJSON(w, http.StatusOK, slackError("not_authed"))
	case token != BotToken:
		writeJSON(w, http.StatusOK, slackError("invalid_auth"))
	default:
		// Slack lists the token's scopes on every answer.
		w.Header().Set("X-OAuth-Scopes", "commands,chat:write,app_mentions:read,usergroups:read,files:write")
		answer := h(q)
		if answer["ok"] != true {
			c.o.Log.Warn("console: Web API call refused", "method", method, "error", answer["error"])
		}
		writeJSON(w, http.StatusOK, answer)
	}
}

func (c *Console) authTest(slackreq.Request) map[string]any {
	return ok(map[string]any{"url": "http://" + TeamDomain + ".localhost/", "team": TeamName, "user": "charlize",
		"team_id": TeamID, "user_id": BotUserID, "bot_id": BotID})
}

// checkBlocks applies Slack's Block Kit checks to a message's blocks; it
// returns the decoded blocks' JSON or a Slack error code and why.
func checkBlocks(raw json.RawMessage) (json.RawMessage, string, error) {
	if raw == nil {
		return nil, "", nil
	}
	var bs slack.Blocks
	if err := json.Unmarshal(raw, &bs); err != nil {
		return nil, "invalid_blocks", err
	}
	if err := blocks.CheckMessage(bs.BlockSet); err != nil {
		return nil, "invalid_blocks", err
	}
	return raw, "", nil
}

// messageFields reads text and blocks, refusing what Slack refuses.
func (c *Console) messageFields(q slackreq.Request) (text string, raw json.RawMessage, code string) {
	raw, code, err := checkBlocks(q.Raw("blocks"))
	if code != "" {
		c.o.Log.Warn("console: refused blocks", "err", err)
		return "", nil, code
	}
	text = q.Param("text")
	if text == "" && raw == nil {
		return "", nil, "no_text"
	}
	return text, raw, ""
}

func echo(m *message) map[string]any {
	out := map[string]any{"type": "message", "text": m.Text, "user": m.User, "bot_id": BotID, "app_id": AppID,
		"team": TeamID, "ts": m.TS, "blocks": []any{}}
	if m.Blocks != nil {
		out["blocks"] = m.Blocks
	}
	if m.ThreadTS != "" {
		out["thread_ts"] = m.ThreadTS
	}
	return out
}

func (c *Console) postMessage(q slackreq.Request) map[string]any {
	if q.Param("channel") != ChannelID {
		return slackError("channel_not_found")
	}
	text, raw, code := c.messageFields(q)
	if code != "" {
		return slackError(code)
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	thread := q.Param("thread_ts")
	if thread != "" && c.findLocked(thread) == nil {
		return slackError("thread_not_found")
	}
	m := &message{TS: c.tsLocked(), User: BotUserID, Text: text, Blocks: raw, ThreadTS: thread}
	c.addLocked(m)
	c.recordLocked("chat.postMessage", recordedMessage(text, raw))
	return ok(map[string]any{"channel": ChannelID, "ts": m.TS, "message": echo(m)})
}

func (c *Console) updateMessage(q slackreq.Request) map[string]any {
	if q.Param("channel") != ChannelID {
		return slackError("channel_not_found")
	}
	text, raw, code := c.messageFields(q)
	if code != "" {
		return slackError(code)
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	m := c.findLocked(q.Param("ts"))
	switch {
	case m == nil || m.Ephemeral != "":
		return slackError("message_not_found") // ephemeral messages cannot be updated
	case m.User != BotUserID:
		return slackError("cant_update_message")
	}
	m.Text, m.Blocks, m.Edited = text, raw, true
	c.changedLocked()
	c.recordLocked("chat.update", recordedMessage(text, raw))
	return ok(map[string]any{"channel": ChannelID, "ts": m.TS, "text": text, "message": echo(m)})
}

func (c *Console) postEphemeral(q slackreq.Request) map[string]any {
	if q.Param("channel") != ChannelID {
		return slackError("channel_not_found")
	}
	if _, known := c.user(q.Param("user")); !known {
		return slackError("user_not_in_channel")
	}
	text, raw, code := c.messageFields(q)
	if code != "" {
		return slackError(code)
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	m := &message{TS: c.tsLocked(), User: BotUserID, Text: text, Blocks: raw, ThreadTS: q.Param("thread_ts"), Ephemeral: q.Param("user")}
	c.addLocked(m)
	c.recordLocked("chat.postEphemeral", recordedMessage(text, raw))
	return ok(map[string]any{"message_ts": m.TS})
}

// decodeView reads and checks the view of a views.* call.
func (c *Console) decodeView(q slackreq.Request) (map[string]any, string) {
	raw := q.Raw("view")
	if raw == nil {
		return nil, "invalid_arguments"
	}
	var req slack.ModalViewRequest
	var body map[string]any
	if json.Unmarshal(raw, &req) != nil || json.Unmarshal(raw, &body) != nil || body["type"] != "modal" {
		return nil, "invalid_arguments"
	}
	if err := blocks.CheckModal(req); err != nil {
		c.o.Log.Warn("console: refused view", "err", err)
		return nil, "invalid_arguments"
	}
	return body, ""
}

// recordedMessage is a message as chat.postMessage takes it.
func recordedMessage(text string, blocks json.RawMessage) map[string]any {
	m := map[string]any{"text": text}
	if blocks != nil {
		m["blocks"] = blocks
	}
	return m
}

// viewAnswerLocked is the answer to views.open, views.push and views.update.
func (c *Console) viewAnswerLocked(v *view) map[string]any {
	c.recordLocked("view", v.Body)
	return ok(map[string]any{"view": c.viewPayloadLocked(v, nil)})
}

// useTriggerLocked consumes a trigger_id: valid for 3 seconds, once.
func (c *Console) useTriggerLocked(id string) (string, string) {
	t, found := c.triggers[id]
	switch {
	case !found:
		return "", "invalid_trigger_id"
	case t.used || c.o.Now().Sub(t.issued) > triggerTTL:
		return "", "expired_trigger_id"
	}
	t.used = true
	c.triggers[id] = t
	return t.user, ""
}

func (c *Console) newViewLocked(user string, body map[string]any, root string) *view {
	v := &view{ID: fmt.Sprintf("V%010d", c.nextLocked()), User: user, Body: body, Hash: c.hashLocked()}
	v.Root = root
	if v.Root == "" {
		v.Root = v.ID
	}
	c.views[v.ID] = v
	if ext, _ := body["external_id"].(string); ext != "" {
		c.external[ext] = v.ID
	}
	return v
}

func (c *Console) hashLocked() string {
	return fmt.Sprintf("%d.%08x", c.o.Now().Unix(), c.nextLocked())
}

func (c *Console) openView(q slackreq.Request) map[string]any { return c.showView(q, false) }

func (c *Console) pushView(q slackreq.Request) map[string]any { return c.showView(q, true) }

// showView opens a modal for the person whose trigger_id it is (views.open)
// or pushes one onto their open modal (views.push, at most 3 deep).
func (c *Console) showView(q slackreq.Request, push bool) map[string]any {
	body, code := c.decodeView(q)
	if code != "" {
		return slackError(code)
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	user, code := c.useTriggerLocked(q.Param("trigger_id"))
	if code != "" {
		return slackError(code)
	}
	stack, root := c.modals[user], ""
	switch {
	case !push:
		stack = nil
	case len(stack) == 0:
		return slackError("not_allowed") // a view can be pushed only onto an open modal
	case len(stack) >= 3:
		return slackError("push_limit_reached")
	default:
		root = stack[0]
	}
	v := c.newViewLocked(user, body, root)
	c.modals[user] = append(stack, v.ID)
	c.changedLocked()
	return c.viewAnswerLocked(v)
}

func (c *Console) updateView(q slackreq.Request) map[string]any {
	body, code := c.decodeView(q)
	if code != "" {
		return slackError(code)
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	id := q.Param("view_id")
	if id == "" {
		id = c.external[q.Param("external_id")]
	}
	v, found := c.views[id]
	switch {
	case id == "":
		return slackError("invalid_arguments")
	case !found:
		return slackError("not_found")
	case q.Param("hash") != "" && q.Param("hash") != v.Hash:
		return slackError("hash_conflict")
	}
	v.Body, v.Hash, v.Errors = body, c.hashLocked(), nil
	c.changedLocked()
	return c.viewAnswerLocked(v)
}

func (c *Console) userGroupMembers(q slackreq.Request) map[string]any {
	users, found := demoGroups[q.Param("usergroup")]
	if !found {
		return slackError("no_such_subteam")
	}
	return ok(map[string]any{"users": users})
}

func (c *Console) uploadURL(q slackreq.Request) map[string]any {
	length, err := strconv.Atoi(q.Param("length"))
	name := q.Param("filename")
	switch {
	case name == "":
		return slackError("invalid_arguments")
	case err != nil || length < 1 || length > maxUpload:
		return slackError("invalid_arguments")
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	f := &file{ID: fmt.Sprintf("F%010d", c.nextLocked()), Name: name, length: length}
	f.URL = "/files/" + f.ID
	c.files[f.ID] = f
	return ok(map[string]any{"upload_url": c.appBase() + "/upload/" + f.ID, "file_id": f.ID})
}

// serveUpload takes the bytes of a file, as files.slack.com does: a
// multipart form with a "file" part, or the raw body.
func (c *Console) serveUpload(w http.ResponseWriter, r *http.Request) {
	var data []byte
	var err error
	if mr, merr := r.MultipartReader(); merr == nil {
		var part *multipart.Part
		for part, err = mr.NextPart(); err == nil; part, err = mr.NextPart() {
			if part.FormName() == "file" {
				data, err = io.ReadAll(io.LimitReader(part, maxUpload+1))
				break
			}
		}
	} else {
		data, err = io.ReadAll(io.LimitReader(r.Body, maxUpload+1))
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	f, found := c.files[r.PathValue("id")]
	switch {
	case !found || f.done:
		http.Error(w, "not found", http.StatusNotFound)
	case err != nil || len(data) == 0 || len(data) > maxUpload:
		http.Error(w, "bad upload", http.StatusBadRequest)
	default:
		f.data, f.Size = data, len(data)
		f.Mimetype = http.DetectContentType(data)
		fmt.Fprintf(w, "OK - %d", len(data))
	}
}

func (c *Console) completeUpload(q slackreq.Request) map[string]any {
	var summaries []struct {
		ID    string `json:"id"`
		Title string `json:"title"`
	}
	if err := json.Unmarshal([]byte(q.Param("files")), &summaries); err != nil || len(summaries) == 0 {
		return slackError("invalid_arguments")
	}
	channel := q.Param("channel_id")
	if channel == "" {
		channel = q.Param("channels")
	}
	if channel != "" && channel != ChannelID {
		return slackError("channel_not_found")
	}
	raw, code, _ := checkBlocks(q.Raw("blocks"))
	if code != "" {
		return slackError(code)
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	var files []*file
	var out []map[string]any
	for _, s := range summaries {
		f, found := c.files[s.ID]
		if !found || f.data == nil || f.done {
			return slackError("file_not_found") // never uploaded, or already shared
		}
		if f.length != len(f.data) {
			return slackError("file_upload_size_mismatch")
		}
		f.Title, f.done = cmp.Or(s.Title, f.Name), true
		files = append(files, f)
		out = append(out, map[string]any{"id": f.ID, "title": f.Title})
	}
	if channel != "" {
		c.recordLocked("files.completeUploadExternal", recordedMessage(q.Param("initial_comment"), raw))
		thread := q.Param("thread_ts")
		c.addLocked(&message{TS: c.tsLocked(), User: BotUserID, Text: q.Param("initial_comment"), Blocks: raw, ThreadTS: thread, Files: files})
	}
	return ok(map[string]any{"files": out})
}

func (c *Console) serveFile(w http.ResponseWriter, r *http.Request) {
	c.mu.Lock()
	f, found := c.files[r.PathValue("id")]
	var data []byte
	if found {
		data = f.data
	}
	c.mu.Unlock()
	if !found || data == nil {
		http.NotFound(w, r)
		return
	}
	w.Header().Set("Content-Type", f.Mimetype)
	w.Header().Set("X-Content-Type-Options", "nosniff")
	_, _ = io.Copy(w, bytes.NewReader(data))
}

// webhookMessage is the body of a response_url post.
type webhookMessage struct {
	Text            string          `json:"text"`
	Blocks          json.RawMessage `json:"blocks"`
	ResponseType    string          `json:"response_type"`
	ReplaceOriginal bool            `json:"replace_original"`
	DeleteOriginal  bool            `json:"delete_original"`
	ThreadTS        string          `json:"thread_ts"`
}

// serveResponseURL takes a post to a response_url as Slack does: at most
// 5, within 30 minutes; replace_original edits the message the URL came
// with, delete_original removes it, otherwise a new message is posted
// (only for the user unless response_type is in_channel).
func (c *Console) serveResponseURL(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(io.LimitReader(r.Body, 1<<20))
	var msg webhookMessage
	if err != nil || json.Unmarshal(body, &msg) != nil {
		http.Error(w, "invalid_payload", http.StatusBadRequest)
		return
	}
	raw, code, cerr := checkBlocks(msg.Blocks)
	if string(msg.Blocks) == "null" {
		raw, code = nil, ""
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	ru, found := c.responses[r.PathValue("id")]
	switch {
	case !found:
		http.Error(w, "invalid_url", http.StatusNotFound)
		return
	case ru.uses >= responseURLPosts:
		http.Error(w, "used_url", http.StatusNotFound)
		return
	case c.o.Now().Sub(ru.created) > responseURLTTL:
		http.Error(w, "expired_url", http.StatusNotFound)
		return
	case code != "":
		c.o.Log.Warn("console: refused response_url blocks", "err", cerr)
		http.Error(w, code, http.StatusBadRequest)
		return
	case !msg.DeleteOriginal && msg.Text == "" && raw == nil:
		http.Error(w, "no_text", http.StatusBadRequest)
		return
	}
	ru.uses++
	c.recordLocked("response_url", recordedMessage(msg.Text, raw))
	origin := c.findLocked(ru.origin)
	switch {
	case msg.DeleteOriginal:
		if origin != nil {
			c.deleteLocked(origin.TS)
		}
	case msg.ReplaceOriginal && origin != nil:
		origin.Text, origin.Blocks, origin.Edited = msg.Text, raw, true
		if msg.ResponseType == "in_channel" {
			origin.Ephemeral = ""
		}
		c.changedLocked()
	default:
		m := &message{TS: c.tsLocked(), User: BotUserID, Text: msg.Text, Blocks: raw, ThreadTS: cmp.Or(msg.ThreadTS, ru.thread)}
		if msg.ResponseType != "in_channel" {
			m.Ephemeral = ru.user
		}
		c.addLocked(m)
		if ru.origin == "" {
			ru.origin = m.TS // a command's later posts replace its first answer
		}
	}
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	_, _ = io.WriteString(w, "ok")
}
