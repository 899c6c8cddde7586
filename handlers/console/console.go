// Package console is a local stand-in for a Slack workspace, for
// `charlize demo`: a web page that shows one channel as Slack draws it
// (Block Kit messages, ephemeral messages, threads, modals), sends
// Charlize the same signed requests Slack sends to its endpoints (slash
// commands, interactions, type-ahead, events), and serves the part of
// Slack's Web API Charlize calls (chat.*, views.*, response_urls, file
// uploads, auth.test, usergroups.users.list), updating the page live over
// server-sent events.
//
// It follows Slack's wire formats closely enough that what works here
// works in Slack, and refuses what Slack refuses (Block Kit limits, used
// response_urls, expired trigger_ids). It is a demonstration and
// development tool, not a Slack emulator: one workspace, one channel,
// users given at start, no persistence. It binds to loopback only.
package console

import (
	"cmp"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"
)

// Identities of the demo workspace.
const (
	TeamID      = "T0DEMO0001"
	TeamDomain  = "charlize-demo"
	TeamName    = "Charlize demo"
	ChannelID   = "C0DEMO0OPS"
	ChannelName = "ops"
	AppID       = "A0DEMO0APP"
	BotUserID   = "U0CHARLIZE"
	BotID       = "B0CHARLIZE"
	// BotToken is the bot token Charlize is given; the Web API refuses
	// any other with invalid_auth, as Slack does.
	BotToken = "xoxb-0000000000-0000000000-charlizedemolocalonly"
	// verificationToken is the deprecated token field Slack still sends.
	verificationToken = "demoVerificationTokenLocalOnly"
)

// Slack's limits the console enforces.
const (
	responseURLPosts = 5
	responseURLTTL   = 30 * time.Minute
	triggerTTL       = 3 * time.Second
	// ackTimeout is how long Slack waits for Charlize's acknowledgement.
	ackTimeout = 3 * time.Second
	maxHistory = 500
)

// User is a person of the demo workspace.
type User struct {
	ID   string `json:"id"`
	Name string `json:"name"` // the handle: alice
	// Title says what the person may do in the demo ("SRE, approves").
	Title string `json:"title"`
}

// Options configure a Console.
type Options struct {
	// SigningSecret signs every request sent to Charlize.
	SigningSecret string
	// AppURL is Charlize's base URL (http://127.0.0.1:port).
	AppURL string
	// BaseURL is the console's own base URL, where Charlize reaches its Web
	// API (BaseURL+"/api/"), response_urls and upload URLs.
	BaseURL string
	// Users are the people one can act as; the first is the default.
	Users []User
	// Reset restores the world behind Charlize (the simulator's fleet)
	// when someone presses Reset; the console then clears its channel.
	Reset func() error
	// Notice is shown on the page, e.g. what the demo runs on.
	Notice string
	Log    *slog.Logger
	Now    func() time.Time
	// HTTPClient sends requests to Charlize (default: 10 s timeout).
	HTTPClient *http.Client
	// RecordDir, when set, receives every message and view Charlize sends
	// that the console accepts, one JSON file each (0001-chat.postMessage.json,
	// …), in the shapes Block Kit Builder and blockkit-check read.
	RecordDir string
}

// Console is the demo workspace: state, the page, the fake Web API.
type Console struct {
	o Options

	mu        sync.Mutex
	seq       int64
	version   int64 // bumped on every change; the page refetches
	messages  []*message
	responses map[string]*responseURL
	triggers  map[string]trigger
	views     map[string]*view
	modals    map[string][]string // user id -> stack of view ids, top last
	external  map[string]string   // external_id -> view id
	files     map[string]*file
	notices   map[string][]string // user id -> transient notes ("/charlize failed…")
	waiters   map[chan struct{}]struct{}
	recorded  int
}

// message is one message of the channel (or a thread in it).
type message struct {
	TS       string          `json:"ts"`
	User     string          `json:"user"` // author: a user id or BotUserID
	Text     string          `json:"text"`
	Blocks   json.RawMessage `json:"blocks,omitempty"`
	ThreadTS string          `json:"thread_ts,omitempty"`
	// Ephemeral is the only user who sees the message; "" for everyone.
	Ephemeral string  `json:"ephemeral,omitempty"`
	Edited    bool    `json:"edited,omitempty"`
	Files     []*file `json:"files,omitempty"`
	// Problem is set when Charlize sent something Slack would refuse; the
	// page shows it next to the message.
	Problem string `json:"problem,omitempty"`
}

// responseURL is a response_url handed to Charlize.
type responseURL struct {
	user    string
	origin  string // ts of the message it replaces: the command's answer, the clicked message
	thread  string
	uses    int
	created time.Time
}

type trigger struct {
	user   string
	issued time.Time
	used   bool
}

// view is an open modal.
type view struct {
	ID     string
	User   string
	Body   map[string]any // as Charlize sent it
	Hash   string
	Root   string
	Errors map[string]string // block_id -> inline error, from response_action errors
}

// file is an upload through files.getUploadURLExternal.
type file struct {
	ID       string `json:"id"`
	Name     string `json:"name"`
	Title    string `json:"title"`
	Mimetype string `json:"mimetype"`
	Size     int    `json:"size"`
	URL      string `json:"url"` // where the page fetches it
	data     []byte
	length   int
	done     bool
}

// New builds a Console; serve Handler on a loopback address.
func New(o Options) *Console {
	o.Log = cmp.Or(o.Log, slog.New(slog.DiscardHandler))
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.HTTPClient == nil {
		o.HTTPClient = &http.Client{Timeout: 10 * time.Second}
	}
	c := &Console{o: o}
	c.clearLocked()
	return c
}

// SetAppURL points the console at Charlize once its address is known.
func (c *Console) SetAppURL(u string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.o.AppURL = strings.TrimSuffix(u, "/")
}

func (c *Console) appURL() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.o.AppURL
}

func (c *Console) clearLocked() {
	c.messages = nil
	c.responses = map[string]*responseURL{}
	c.triggers = map[string]trigger{}
	c.views = map[string]*view{}
	c.modals = map[string][]string{}
	c.external = map[string]string{}
	c.files = map[string]*file{}
	c.notices = map[string][]string{}
	if c.waiters == nil {
		c.waiters = map[chan struct{}]struct{}{}
	}
	c.changedLocked()
}

// Handler serves the page, its JSON endpoints and the fake Web API.
func (c *Console) Handler() http.Handler {
	mux := http.NewServeMux()
	c.browserRoutes(mux)
	c.webAPIRoutes(mux)
	return mux
}

// changedLocked wakes every page waiting for news.
func (c *Console) changedLocked() {
	c.version++
	for ch := range c.waiters {
		close(ch)
		delete(c.waiters, ch)
	}
}

// watch returns a channel closed at the next change.
func (c *Console) watch() (<-chan struct{}, int64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	ch := make(chan struct{})
	c.waiters[ch] = struct{}{}
	return ch, c.version
}

func (c *Console) unwatch(ch <-chan struct{}) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for w := range c.waiters {
		if w == ch {
			delete(c.waiters, w)
		}
	}
}

// Version counts changes; tests wait on it.
func (c *Console) Version() int64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.version
}

// recordLocked writes one accepted payload to RecordDir.
func (c *Console) recordLocked(method string, payload any) {
	if c.o.RecordDir == "" {
		return
	}
	raw, err := json.MarshalIndent(payload, "", "  ")
	if err == nil {
		c.recorded++
		err = os.WriteFile(filepath.Join(c.o.RecordDir, fmt.Sprintf("%04d-%s.json", c.recorded, method)), raw, 0o644)
	}
	if err != nil {
		c.o.Log.Warn("console: could not record a payload", "err", err)
	}
}

// nextLocked returns a fresh sequence number.
func (c *Console) nextLocked() int64 {
	c.seq++
	return c.seq
}

// tsLocked returns a new, increasing message ts in Slack's form.
func (c *Console) tsLocked() string {
	now := c.o.Now()
	return fmt.Sprintf("%d.%06d", now.Unix(), c.nextLocked()%1_000_000)
}

func (c *Console) user(id string) (User, bool) {
	for _, u := range c.o.Users {
		if u.ID == id {
			return u, true
		}
	}
	return User{}, false
}

// findLocked returns the message with ts.
func (c *Console) findLocked(ts string) *message {
	for _, m := range c.messages {
		if m.TS == ts {
			return m
		}
	}
	return nil
}

func (c *Console) addLocked(m *message) {
	c.messages = append(c.messages, m)
	if over := len(c.messages) - maxHistory; over > 0 {
		c.messages = slices.Delete(c.messages, 0, over)
	}
	c.changedLocked()
}

func (c *Console) deleteLocked(ts string) {
	c.messages = slices.DeleteFunc(c.messages, func(m *message) bool { return m.TS == ts })
	c.changedLocked()
}

// noteLocked shows user a transient line from "Slackbot", as Slack does
// when a command fails.
func (c *Console) noteLocked(user, text string) {
	c.addLocked(&message{TS: c.tsLocked(), User: "USLACKBOT", Text: text, Ephemeral: user})
}

// newResponseURLLocked hands out a response_url for user, replacing origin.
func (c *Console) newResponseURLLocked(user, origin, thread string) string {
	id := fmt.Sprintf("R%010d", c.nextLocked())
	c.responses[id] = &responseURL{user: user, origin: origin, thread: thread, created: c.o.Now()}
	return c.appBase() + "/response/" + id
}

// appBase is where Charlize reaches the console.
func (c *Console) appBase() string { return strings.TrimSuffix(c.o.BaseURL, "/") }

// APIURL is the Web API base to give Charlize as SLACK_API_URL.
func (c *Console) APIURL() string { return c.appBase() + "/api/" }

func (c *Console) newTriggerLocked(user string) string {
	id := fmt.Sprintf("%d.%d.%032x", c.o.Now().Unix(), c.nextLocked(), c.nextLocked())
	c.triggers[id] = trigger{user: user, issued: c.o.Now()}
	return id
}
