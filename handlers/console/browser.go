package console

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/charlize-app/charlize/handlers/htmlpage"
	"github.com/charlize-app/charlize/templates"
)

// maxUIBody bounds what the page sends.
const maxUIBody = 256 << 10

// heartbeat keeps an idle event stream open through proxies and lets the
// page notice a stopped demo.
const heartbeat = 20 * time.Second

// page is the console's page. The team and channel names are written in it
// (TeamName, ChannelName; a test keeps them the same); the notice is filled in.
var page = func() *htmlpage.Page {
	p, err := htmlpage.LoadDocument(templates.Console, "console/index.html")
	if err != nil {
		panic(err) // the embedded page is part of the binary
	}
	return p
}()

func (c *Console) browserRoutes(mux *http.ServeMux) {
	assets, err := fs.Sub(templates.Console, "console")
	if err != nil {
		panic(err) // the embedded folder is part of the binary
	}
	mux.HandleFunc("GET /{$}", c.servePage)
	mux.Handle("GET /assets/", http.StripPrefix("/assets/", http.FileServerFS(assets)))
	mux.HandleFunc("GET /console/state", c.serveState)
	mux.HandleFunc("GET /console/events", c.serveEvents)
	mux.HandleFunc("POST /console/command", c.uiCommand)
	mux.HandleFunc("POST /console/action", c.uiAction)
	mux.HandleFunc("POST /console/submit", c.uiSubmit)
	mux.HandleFunc("POST /console/close", c.uiClose)
	mux.HandleFunc("POST /console/suggest", c.uiSuggest)
	mux.HandleFunc("POST /console/dismiss", c.uiDismiss)
	mux.HandleFunc("POST /console/reset", c.uiReset)
}

func (c *Console) servePage(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Content-Security-Policy", "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'")
	if err := page.Render(w, htmlpage.Values{"Notice": c.o.Notice}); err != nil {
		c.o.Log.Error("console: page", "err", err)
	}
}

// snapshot is what one person's page shows.
type snapshot struct {
	Version  int64       `json:"version"`
	Me       User        `json:"me"`
	Users    []User      `json:"users"`
	Bot      User        `json:"bot"`
	Channel  string      `json:"channel"`
	Messages []shown     `json:"messages"`
	Modal    *shownModal `json:"modal"`
}

type shown struct {
	*message
	Author    string `json:"author"`
	Bot       bool   `json:"bot"`
	Ephemeral bool   `json:"ephemeral"`
}

type shownModal struct {
	ID     string            `json:"id"`
	View   map[string]any    `json:"view"`
	Hash   string            `json:"hash"`
	Errors map[string]string `json:"errors,omitempty"`
	Depth  int               `json:"depth"`
}

func (c *Console) snapshot(u User) snapshot {
	c.mu.Lock()
	defer c.mu.Unlock()
	s := snapshot{Version: c.version, Me: u, Users: c.o.Users, Channel: ChannelName,
		Bot: User{ID: BotUserID, Name: "Charlize", Title: "app"}, Messages: []shown{}}
	for _, m := range c.messages {
		if m.Ephemeral != "" && m.Ephemeral != u.ID {
			continue
		}
		// A copy: the page's answer is written after the lock is released,
		// while Charlize may be editing the message.
		cp := *m
		cp.Files = slices.Clone(m.Files)
		sm := shown{message: &cp, Ephemeral: m.Ephemeral != "", Bot: m.User == BotUserID || m.User == "USLACKBOT"}
		switch {
		case m.User == BotUserID:
			sm.Author = "Charlize"
		case m.User == "USLACKBOT":
			sm.Author = "Slackbot"
		default:
			if a, ok := c.user(m.User); ok {
				sm.Author = a.Name
			}
		}
		s.Messages = append(s.Messages, sm)
	}
	if stack := c.modals[u.ID]; len(stack) > 0 {
		v := c.views[stack[len(stack)-1]]
		s.Modal = &shownModal{ID: v.ID, View: v.Body, Hash: v.Hash, Errors: v.Errors, Depth: len(stack)}
	}
	return s
}

// who is the person a page acts as (?user= or the JSON user field).
func (c *Console) who(id string) (User, bool) {
	if id == "" && len(c.o.Users) > 0 {
		return c.o.Users[0], true
	}
	return c.user(id)
}

func (c *Console) serveState(w http.ResponseWriter, r *http.Request) {
	u, ok := c.who(r.URL.Query().Get("user"))
	if !ok {
		writeJSON(w, http.StatusBadRequest, map[string]string{"error": "no such user"})
		return
	}
	w.Header().Set("Cache-Control", "no-store")
	writeJSON(w, http.StatusOK, c.snapshot(u))
}

// serveEvents streams "change" events (server-sent events); the page
// fetches its state on each.
func (c *Console) serveEvents(w http.ResponseWriter, r *http.Request) {
	flusher, ok := w.(http.Flusher)
	if !ok {
		http.Error(w, "streaming unsupported", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/event-stream")
	w.Header().Set("Cache-Control", "no-store")
	var last int64 = -1
	for {
		ch, version := c.watch()
		if version != last {
			fmt.Fprintf(w, "event: change\ndata: %d\n\n", version)
			flusher.Flush()
			last = version
		}
		t := time.NewTimer(heartbeat)
		select {
		case <-r.Context().Done():
			t.Stop()
			c.unwatch(ch)
			return
		case <-ch:
			t.Stop()
		case <-t.C:
			c.unwatch(ch)
			fmt.Fprint(w, ": heartbeat\n\n")
			flusher.Flush()
		}
	}
}

// readUI decodes a page request: {"user": "U…", …} into v.
func (c *Console) readUI(w http.ResponseWriter, r *http.Request, v any) (User, bool) {
	var envelope struct {
		User string `json:"user"`
	}
	body := http.MaxBytesReader(w, r.Body, maxUIBody)
	raw := json.RawMessage{}
	if err := json.NewDecoder(body).Decode(&raw); err != nil {
		writeJSON(w, http.StatusBadRequest, map[string]string{"error": "send JSON"})
		return User{}, false
	}
	_ = json.Unmarshal(raw, &envelope)
	u, ok := c.who(envelope.User)
	if !ok {
		writeJSON(w, http.StatusBadRequest, map[string]string{"error": "no such user"})
		return User{}, false
	}
	if v != nil {
		if err := json.Unmarshal(raw, v); err != nil {
			writeJSON(w, http.StatusBadRequest, map[string]string{"error": "malformed request"})
			return User{}, false
		}
	}
	return u, true
}

func (c *Console) uiCommand(w http.ResponseWriter, r *http.Request) {
	var in struct {
		Text     string `json:"text"`
		ThreadTS string `json:"thread_ts"`
	}
	u, ok := c.readUI(w, r, &in)
	if !ok {
		return
	}
	text := strings.TrimSpace(in.Text)
	switch {
	case text == "":
	case text == "/charlize" || strings.HasPrefix(text, "/charlize "):
		c.command(r.Context(), u, strings.TrimSpace(strings.TrimPrefix(text, "/charlize")))
	case strings.HasPrefix(text, "/"):
		cmd, _, _ := strings.Cut(text, " ")
		c.mu.Lock()
		c.noteLocked(u.ID, fmt.Sprintf("%s is not a valid command. In this demo only /charlize is installed.", cmd))
		c.mu.Unlock()
	default:
		c.say(r.Context(), u, text, in.ThreadTS)
	}
	writeJSON(w, http.StatusOK, map[string]bool{"ok": true})
}

func (c *Console) uiAction(w http.ResponseWriter, r *http.Request) {
	var in clicked
	u, ok := c.readUI(w, r, &in)
	if !ok {
		return
	}
	if err := c.blockAction(r.Context(), u, in); err != nil {
		writeJSON(w, http.StatusOK, map[string]any{"ok": false, "error": pageText(err)})
		return
	}
	writeJSON(w, http.StatusOK, map[string]bool{"ok": true})
}

func (c *Console) uiSubmit(w http.ResponseWriter, r *http.Request) {
	var in submitted
	u, ok := c.readUI(w, r, &in)
	if !ok {
		return
	}
	answer, err := c.submit(r.Context(), u, in)
	if err != nil {
		writeJSON(w, http.StatusBadRequest, map[string]string{"error": pageText(err)})
		return
	}
	writeJSON(w, http.StatusOK, answer)
}

func (c *Console) uiClose(w http.ResponseWriter, r *http.Request) {
	var in submitted
	u, ok := c.readUI(w, r, &in)
	if !ok {
		return
	}
	c.closeView(r.Context(), u, in.ViewID, in.State)
	writeJSON(w, http.StatusOK, map[string]bool{"ok": true})
}

func (c *Console) uiSuggest(w http.ResponseWriter, r *http.Request) {
	var in suggestion
	u, ok := c.readUI(w, r, &in)
	if !ok {
		return
	}
	options, err := c.suggest(r.Context(), u, in)
	if err != nil {
		writeJSON(w, http.StatusOK, map[string]any{"options": []any{}, "error": pageText(err)})
		return
	}
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	_, _ = w.Write(options)
}

// uiDismiss removes an ephemeral message, as its "Dismiss" link does.
func (c *Console) uiDismiss(w http.ResponseWriter, r *http.Request) {
	var in struct {
		TS string `json:"ts"`
	}
	u, ok := c.readUI(w, r, &in)
	if !ok {
		return
	}
	c.mu.Lock()
	if m := c.findLocked(in.TS); m != nil && m.Ephemeral == u.ID {
		c.deleteLocked(m.TS)
	}
	c.mu.Unlock()
	writeJSON(w, http.StatusOK, map[string]bool{"ok": true})
}

func (c *Console) uiReset(w http.ResponseWriter, r *http.Request) {
	if _, ok := c.readUI(w, r, nil); !ok {
		return
	}
	if c.o.Reset != nil {
		if err := c.o.Reset(); err != nil {
			c.o.Log.Error("console: the demo could not be reset", "err", err)
			writeJSON(w, http.StatusInternalServerError, map[string]string{"error": "The demo could not be reset. The terminal running it says why."})
			return
		}
	}
	c.mu.Lock()
	c.clearLocked()
	c.mu.Unlock()
	writeJSON(w, http.StatusOK, map[string]bool{"ok": true})
}

// pageError is an error written for the person at the page.
type pageError string

func (e pageError) Error() string { return string(e) }

var errViewGone = pageError("That window is no longer open.")

// pageText is what the page shows for err, never an error's own text (it
// may name addresses and files); the log has the rest.
func pageText(err error) string {
	var shown pageError
	switch {
	case errors.As(err, &shown):
		return string(shown)
	case errors.Is(err, errNoAnswer): // late, or not a 200: Slack tells them apart no better
		return "Charlize did not acknowledge that. The terminal running the demo says why."
	}
	return "Something went wrong in the demo. The terminal running it says why."
}
