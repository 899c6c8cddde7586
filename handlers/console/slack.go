package console

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/charlize-app/charlize/handlers/slackreq"
)

// This file sends Charlize what Slack sends: signed slash commands,
// interaction payloads, type-ahead requests and Events API deliveries
// (../../shared/slack/ has the reference shapes).

// errNoAnswer is Charlize not acknowledging in time, or failing.
var errNoAnswer = errors.New("no answer")

// sign sets Slack's v0 signature headers (HMAC-SHA256 of
// "v0:<timestamp>:<body>" keyed with the signing secret).
func (c *Console) sign(r *http.Request, body []byte) {
	ts := strconv.FormatInt(c.o.Now().Unix(), 10)
	mac := hmac.New(sha256.New, []byte(c.o.SigningSecret))
	mac.Write([]byte("v0:" + ts + ":"))
	mac.Write(body)
	r.Header.Set("X-Slack-Request-Timestamp", ts)
	r.Header.Set("X-Slack-Signature", "v0="+hex.EncodeToString(mac.Sum(nil)))
}

// ack is Charlize's answer to one request.
type ack struct {
	status int
	body   []byte
	json   bool
}

// send POSTs a signed body to Charlize's path and waits for the
// acknowledgement as long as Slack does (3 seconds).
func (c *Console) send(ctx context.Context, path, contentType string, body []byte) (ack, error) {
	ctx, cancel := context.WithTimeout(ctx, ackTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.appURL()+path, bytes.NewReader(body))
	if err != nil {
		return ack{}, err
	}
	req.Header.Set("Content-Type", contentType)
	req.Header.Set("User-Agent", "Slackbot 1.0 (+https://api.slack.com/robots)")
	c.sign(req, body)
	resp, err := c.o.HTTPClient.Do(req)
	if err != nil {
		return ack{}, fmt.Errorf("%w: %w", errNoAnswer, err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return ack{}, fmt.Errorf("%w: %w", errNoAnswer, err)
	}
	a := ack{status: resp.StatusCode, body: bytes.TrimSpace(raw), json: strings.HasPrefix(resp.Header.Get("Content-Type"), "application/json")}
	if a.status != http.StatusOK {
		return a, fmt.Errorf("%w: HTTP %d", errNoAnswer, a.status)
	}
	return a, nil
}

// sendPayload sends an interactivity request: form field payload = JSON.
func (c *Console) sendPayload(ctx context.Context, path string, payload any) (ack, error) {
	raw, err := json.Marshal(payload)
	if err != nil {
		return ack{}, err
	}
	form := url.Values{"payload": {string(raw)}}
	return c.send(ctx, path, "application/x-www-form-urlencoded", []byte(form.Encode()))
}

func (c *Console) userObject(u User) map[string]any {
	return map[string]any{"id": u.ID, "username": u.Name, "name": u.Name, "team_id": TeamID}
}

func teamObject() map[string]any {
	return map[string]any{"id": TeamID, "domain": TeamDomain}
}

// command sends a slash command as Slack does, and shows its answer.
func (c *Console) command(ctx context.Context, u User, text string) {
	c.mu.Lock()
	trig := c.newTriggerLocked(u.ID)
	rurl := c.newResponseURLLocked(u.ID, "", "")
	c.mu.Unlock()
	id := rurl[strings.LastIndex(rurl, "/")+1:]
	form := url.Values{
		"token": {verificationToken}, "team_id": {TeamID}, "team_domain": {TeamDomain},
		"channel_id": {ChannelID}, "channel_name": {ChannelName}, "user_id": {u.ID}, "user_name": {u.Name},
		"command": {"/charlize"}, "text": {text}, "api_app_id": {AppID}, "is_enterprise_install": {"false"},
		"response_url": {rurl}, "trigger_id": {trig},
	}
	a, err := c.send(ctx, "/slack/commands", "application/x-www-form-urlencoded", []byte(form.Encode()))
	c.mu.Lock()
	defer c.mu.Unlock()
	if err != nil {
		c.o.Log.Warn("console: slash command not acknowledged", "err", err)
		c.noteLocked(u.ID, failedText("/charlize", err))
		return
	}
	if len(a.body) == 0 {
		return
	}
	m := &message{TS: c.tsLocked(), User: BotUserID, Ephemeral: u.ID}
	if a.json {
		var msg webhookMessage
		if json.Unmarshal(a.body, &msg) != nil {
			c.noteLocked(u.ID, `/charlize failed with the error "invalid_response"`)
			return
		}
		raw, code, cerr := checkBlocks(msg.Blocks)
		if code != "" {
			m.Problem = "Slack would refuse this answer (" + code + "): " + cerr.Error()
		}
		m.Text, m.Blocks = msg.Text, raw
		if code == "" {
			c.recordLocked("command-ack", recordedMessage(msg.Text, raw))
		}
		if msg.ResponseType == "in_channel" {
			m.Ephemeral = ""
		}
	} else {
		m.Text = string(a.body)
	}
	// A post through the response_url may have arrived before the
	// acknowledgement did; then the acknowledgement is already replaced.
	if ru := c.responses[id]; ru != nil && ru.origin != "" {
		return
	}
	c.addLocked(m)
	if ru := c.responses[id]; ru != nil {
		ru.origin = m.TS
	}
}

// failedText is what Slack shows when an app does not acknowledge.
func failedText(command string, err error) string {
	code := "dispatch_failed"
	if errors.Is(err, context.DeadlineExceeded) {
		code = "operation_timeout"
	}
	return fmt.Sprintf("%s failed with the error %q", command, code)
}

// clicked is what the page says was pressed or chosen.
type clicked struct {
	MessageTS string         `json:"message_ts,omitempty"`
	ViewID    string         `json:"view_id,omitempty"`
	Action    map[string]any `json:"action"`
	// State is the values of the message's or view's inputs, as Slack's
	// state.values: block_id -> action_id -> value object.
	State map[string]any `json:"state,omitempty"`
}

// blockAction sends a block_actions payload for a button, overflow or
// select in a message or a modal.
func (c *Console) blockAction(ctx context.Context, u User, in clicked) error {
	action := map[string]any{}
	for _, k := range []string{"type", "action_id", "block_id", "text", "value", "style", "selected_option"} {
		if v, ok := in.Action[k]; ok && v != nil {
			action[k] = v
		}
	}
	if action["action_id"] == nil || action["type"] == nil {
		return pageError("The page sent a click without action_id and type.")
	}
	c.mu.Lock()
	action["action_ts"] = c.tsLocked()
	payload := map[string]any{
		"type": "block_actions", "user": c.userObject(u), "api_app_id": AppID, "token": verificationToken,
		"trigger_id": c.newTriggerLocked(u.ID), "team": teamObject(), "enterprise": nil, "is_enterprise_install": false,
		"actions": []any{action}, "state": map[string]any{"values": orEmpty(in.State)},
	}
	switch {
	case in.ViewID != "":
		v, found := c.views[in.ViewID]
		if !found || v.User != u.ID {
			c.mu.Unlock()
			return errViewGone
		}
		payload["container"] = map[string]any{"type": "view", "view_id": v.ID}
		payload["view"] = c.viewPayloadLocked(v, in.State)
	default:
		m := c.findLocked(in.MessageTS)
		if m == nil || (m.Ephemeral != "" && m.Ephemeral != u.ID) {
			c.mu.Unlock()
			return pageError("That message is no longer in the channel.")
		}
		payload["container"] = map[string]any{"type": "message", "message_ts": m.TS, "channel_id": ChannelID, "is_ephemeral": m.Ephemeral != ""}
		payload["channel"] = map[string]any{"id": ChannelID, "name": ChannelName}
		if m.Ephemeral == "" {
			payload["message"] = echo(m) // Slack leaves it out for ephemeral messages
		}
		payload["response_url"] = c.newResponseURLLocked(u.ID, m.TS, m.ThreadTS)
	}
	c.mu.Unlock()
	if _, err := c.sendPayload(ctx, "/slack/interactions", payload); err != nil {
		// Slack marks the button with a warning sign and posts nothing;
		// the page shows the error instead.
		c.o.Log.Warn("console: interaction not acknowledged", "err", err)
		return errNoAnswer
	}
	return nil
}

func orEmpty(m map[string]any) map[string]any {
	if m == nil {
		return map[string]any{}
	}
	return m
}

// viewPayloadLocked is a view as interaction payloads carry it.
func (c *Console) viewPayloadLocked(v *view, state map[string]any) map[string]any {
	out := make(map[string]any, len(v.Body)+10)
	for k, val := range v.Body {
		out[k] = val
	}
	out["id"], out["team_id"], out["app_id"], out["bot_id"] = v.ID, TeamID, AppID, BotID
	out["hash"], out["root_view_id"], out["app_installed_team_id"] = v.Hash, v.Root, TeamID
	out["previous_view_id"] = nil
	out["state"] = map[string]any{"values": orEmpty(state)}
	for _, k := range []string{"callback_id", "private_metadata", "external_id"} {
		if out[k] == nil {
			out[k] = ""
		}
	}
	return out
}

// submitted is a modal's submission from the page.
type submitted struct {
	ViewID string         `json:"view_id"`
	State  map[string]any `json:"state"`
}

// submitAnswer tells the page what became of a submission.
type submitAnswer struct {
	Errors map[string]string `json:"errors,omitempty"`
	Closed bool              `json:"closed"`
}

// submit sends view_submission and applies Charlize's response_action.
func (c *Console) submit(ctx context.Context, u User, in submitted) (submitAnswer, error) {
	c.mu.Lock()
	v, found := c.views[in.ViewID]
	if !found || v.User != u.ID {
		c.mu.Unlock()
		return submitAnswer{}, errViewGone
	}
	payload := map[string]any{
		"type": "view_submission", "team": teamObject(), "user": c.userObject(u), "api_app_id": AppID,
		"token": verificationToken, "trigger_id": c.newTriggerLocked(u.ID), "is_enterprise_install": false, "enterprise": nil,
		"view": c.viewPayloadLocked(v, in.State), "response_urls": []any{},
	}
	c.mu.Unlock()
	a, err := c.sendPayload(ctx, "/slack/interactions", payload)
	if err != nil {
		c.o.Log.Warn("console: submission not acknowledged", "err", err)
		return submitAnswer{Errors: map[string]string{"": "We had some trouble connecting. Try again?"}}, nil
	}
	var answer struct {
		ResponseAction string            `json:"response_action"`
		Errors         map[string]string `json:"errors"`
		View           json.RawMessage   `json:"view"`
	}
	if len(a.body) > 0 {
		if err := json.Unmarshal(a.body, &answer); err != nil {
			return submitAnswer{Errors: map[string]string{"": "Charlize answered something Slack cannot read"}}, nil
		}
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	switch answer.ResponseAction {
	case "errors":
		v.Errors = answer.Errors
		c.changedLocked()
		return submitAnswer{Errors: answer.Errors}, nil
	case "update", "push":
		body, code := c.decodeView(slackreq.Request{JSON: map[string]any{"view": json.RawMessage(answer.View)}})
		if code != "" {
			return submitAnswer{Errors: map[string]string{"": "Slack would refuse the view Charlize answered with (" + code + ")"}}, nil
		}
		c.recordLocked("view", body)
		if answer.ResponseAction == "update" {
			v.Body, v.Hash, v.Errors = body, c.hashLocked(), nil
		} else {
			nv := c.newViewLocked(u.ID, body, v.Root)
			c.modals[u.ID] = append(c.modals[u.ID], nv.ID)
		}
		c.changedLocked()
		return submitAnswer{}, nil
	case "clear":
		c.closeAllLocked(u.ID)
		return submitAnswer{Closed: true}, nil
	}
	c.popViewLocked(u.ID, v.ID)
	return submitAnswer{Closed: true}, nil
}

func (c *Console) popViewLocked(user, id string) {
	stack := c.modals[user]
	for i, vid := range stack {
		if vid == id {
			c.modals[user] = stack[:i]
			break
		}
	}
	delete(c.views, id)
	c.changedLocked()
}

func (c *Console) closeAllLocked(user string) {
	for _, id := range c.modals[user] {
		delete(c.views, id)
	}
	delete(c.modals, user)
	c.changedLocked()
}

// closeView is the modal's Cancel: view_closed when the view asks for it.
func (c *Console) closeView(ctx context.Context, u User, viewID string, state map[string]any) {
	c.mu.Lock()
	v, found := c.views[viewID]
	if !found || v.User != u.ID {
		c.mu.Unlock()
		return
	}
	notify, _ := v.Body["notify_on_close"].(bool)
	payload := map[string]any{
		"type": "view_closed", "team": teamObject(), "user": c.userObject(u), "api_app_id": AppID,
		"token": verificationToken, "is_enterprise_install": false, "view": c.viewPayloadLocked(v, state), "is_cleared": false,
	}
	c.popViewLocked(u.ID, viewID)
	c.mu.Unlock()
	if notify {
		_, _ = c.sendPayload(ctx, "/slack/interactions", payload)
	}
}

// suggestion is a type-ahead request from an external select.
type suggestion struct {
	ViewID    string `json:"view_id,omitempty"`
	MessageTS string `json:"message_ts,omitempty"`
	ActionID  string `json:"action_id"`
	BlockID   string `json:"block_id"`
	Value     string `json:"value"`
}

// suggest sends block_suggestion and returns Charlize's options answer.
func (c *Console) suggest(ctx context.Context, u User, in suggestion) (json.RawMessage, error) {
	payload := map[string]any{
		"type": "block_suggestion", "user": c.userObject(u), "api_app_id": AppID, "token": verificationToken,
		"action_id": in.ActionID, "block_id": in.BlockID, "value": in.Value, "team": teamObject(),
		"is_enterprise_install": false,
	}
	c.mu.Lock()
	if v, found := c.views[in.ViewID]; found && v.User == u.ID {
		payload["container"] = map[string]any{"type": "view", "view_id": v.ID}
		payload["view"] = c.viewPayloadLocked(v, nil)
	} else {
		payload["container"] = map[string]any{"type": "message", "message_ts": in.MessageTS, "channel_id": ChannelID}
		payload["channel"] = map[string]any{"id": ChannelID, "name": ChannelName}
	}
	c.mu.Unlock()
	a, err := c.sendPayload(ctx, "/slack/options", payload)
	if err != nil {
		c.o.Log.Warn("console: suggestion not answered", "err", err)
		return nil, errNoAnswer
	}
	var probe struct {
		Options      []json.RawMessage `json:"options"`
		OptionGroups []json.RawMessage `json:"option_groups"`
	}
	if json.Unmarshal(a.body, &probe) != nil || len(probe.Options)+len(probe.OptionGroups) > 100 {
		return nil, pageError("Slack would refuse this options answer (at most 100 options).")
	}
	return a.body, nil
}

// say posts what a person typed that is not a command; a mention of
// @Charlize is delivered to Charlize as an app_mention event.
func (c *Console) say(ctx context.Context, u User, text, thread string) {
	mentioned := false
	for _, form := range []string{"@Charlize", "@charlize"} {
		if strings.Contains(text, form) {
			text = strings.ReplaceAll(text, form, "<@"+BotUserID+">")
			mentioned = true
		}
	}
	c.mu.Lock()
	m := &message{TS: c.tsLocked(), User: u.ID, Text: text, ThreadTS: thread}
	c.addLocked(m)
	eventID := fmt.Sprintf("Ev%010d", c.nextLocked())
	c.mu.Unlock()
	if !mentioned {
		return
	}
	event := map[string]any{"type": "app_mention", "user": u.ID, "text": text, "ts": m.TS, "channel": ChannelID, "event_ts": m.TS}
	if thread != "" {
		event["thread_ts"] = thread
	}
	body, _ := json.Marshal(map[string]any{
		"token": verificationToken, "team_id": TeamID, "api_app_id": AppID, "event": event,
		"type": "event_callback", "event_id": eventID, "event_time": c.o.Now().Unix(),
		"authorizations":        []any{map[string]any{"enterprise_id": nil, "team_id": TeamID, "user_id": BotUserID, "is_bot": true, "is_enterprise_install": false}},
		"is_ext_shared_channel": false,
	})
	if _, err := c.send(ctx, "/slack/events", "application/json", body); err != nil {
		c.o.Log.Warn("console: event not acknowledged", "err", err)
	}
}
