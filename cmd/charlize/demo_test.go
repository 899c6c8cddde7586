package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/charlize-app/charlize/blocks"
)

// demo is `charlize demo` started through run, driven through the
// console's own endpoints as its page drives them.
type demo struct {
	t   *testing.T
	url string
}

// mustStartDemo runs the demo on a free port with quick transitions.
func mustStartDemo(t *testing.T) *demo {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	out, logs := &syncBuffer{}, &syncBuffer{}
	exited := make(chan error, 1)
	go func() {
		exited <- run(ctx, []string{"demo", "--addr", "127.0.0.1:0", "--transition", "1s", "--life", "0"}, func(string) string { return "" }, out, logs)
	}()
	t.Cleanup(func() {
		cancel()
		select {
		case err := <-exited:
			if err != nil {
				t.Errorf("demo exited with %v", err)
			}
		case <-time.After(15 * time.Second):
			t.Error("demo did not stop within 15s")
		}
	})
	open := regexp.MustCompile(`open (http://\S+)/ in your browser`)
	deadline := time.Now().Add(15 * time.Second)
	for {
		if m := open.FindStringSubmatch(out.String()); m != nil {
			d := &demo{t: t, url: m[1]}
			d.waitHealthy(deadline)
			return d
		}
		select {
		case err := <-exited:
			t.Fatalf("demo exited early: %v; logs:\n%s", err, logs)
		case <-time.After(20 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			t.Fatalf("demo did not start; logs:\n%s", logs)
		}
	}
}

// waitHealthy waits until Charlize answers the console (help works).
func (d *demo) waitHealthy(deadline time.Time) {
	d.t.Helper()
	for {
		resp, err := http.Get(d.url + "/console/state")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return
			}
		}
		if time.Now().After(deadline) {
			d.t.Fatalf("console never answered: %v", err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func (d *demo) post(path string, body map[string]any) map[string]any {
	d.t.Helper()
	raw, _ := json.Marshal(body)
	resp, err := http.Post(d.url+path, "application/json", bytes.NewReader(raw))
	if err != nil {
		d.t.Fatalf("POST %s: %v", path, err)
	}
	defer resp.Body.Close()
	var out map[string]any
	data, _ := io.ReadAll(resp.Body)
	if err := json.Unmarshal(data, &out); err != nil || resp.StatusCode != http.StatusOK {
		d.t.Fatalf("POST %s = %d %s", path, resp.StatusCode, data)
	}
	return out
}

// consoleState is the part of the page's state the tests read.
type consoleState struct {
	Messages []struct {
		TS        string            `json:"ts"`
		Author    string            `json:"author"`
		Text      string            `json:"text"`
		Ephemeral bool              `json:"ephemeral"`
		Blocks    []json.RawMessage `json:"blocks"`
		Problem   string            `json:"problem"`
	} `json:"messages"`
	Modal *struct {
		ID     string            `json:"id"`
		View   map[string]any    `json:"view"`
		Errors map[string]string `json:"errors"`
	} `json:"modal"`
}

func (d *demo) state(user string) consoleState {
	d.t.Helper()
	resp, err := http.Get(d.url + "/console/state?user=" + user)
	if err != nil {
		d.t.Fatal(err)
	}
	defer resp.Body.Close()
	var s consoleState
	if err := json.NewDecoder(resp.Body).Decode(&s); err != nil {
		d.t.Fatal(err)
	}
	return s
}

// waitFor polls user's page state until ok says yes.
func (d *demo) waitFor(user, what string, ok func(consoleState) bool) consoleState {
	d.t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		s := d.state(user)
		if ok(s) {
			return s
		}
		if time.Now().After(deadline) {
			raw, _ := json.MarshalIndent(s, "", " ")
			d.t.Fatalf("%s never seen by %s; state:\n%.6000s", what, user, raw)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// button is a Block Kit button found in a message.
type button struct {
	ts, blockID string
	element     map[string]any
}

// findButton finds the button labelled text in the block group that
// mentions name (an instance's row and its actions), newest message first.
func findButton(s consoleState, name, text string) (button, bool) {
	for i := len(s.Messages) - 1; i >= 0; i-- {
		m := s.Messages[i]
		near := false
		for _, raw := range m.Blocks {
			var b struct {
				Type     string           `json:"type"`
				BlockID  string           `json:"block_id"`
				Elements []map[string]any `json:"elements"`
			}
			_ = json.Unmarshal(raw, &b)
			// A section names what the actions after it are for; a context
			// (a card's graph caption, say) only adds to it.
			if b.Type == "section" || b.Type == "context" {
				mentions := name == "" || strings.Contains(string(raw), name)
				near = mentions || (near && b.Type == "context")
				continue
			}
			if b.Type != "actions" || !near {
				continue
			}
			for _, e := range b.Elements {
				if label, _ := e["text"].(map[string]any); e["type"] == "button" && label["text"] == text {
					return button{ts: m.TS, blockID: b.BlockID, element: e}, true
				}
			}
		}
	}
	return button{}, false
}

func (d *demo) click(user string, b button) {
	d.t.Helper()
	action := map[string]any{"type": "button", "block_id": b.blockID}
	for _, k := range []string{"action_id", "value", "text", "style"} {
		if v, ok := b.element[k]; ok {
			action[k] = v
		}
	}
	if got := d.post("/console/action", map[string]any{"user": user, "message_ts": b.ts, "action": action}); got["ok"] != true {
		d.t.Fatalf("click %v = %v", b.element["action_id"], got)
	}
}

func (d *demo) command(user, text string) {
	d.t.Helper()
	d.post("/console/command", map[string]any{"user": user, "text": text})
}

func has(s consoleState, parts ...string) bool {
	for _, m := range s.Messages {
		all := string(mustJSON(m))
		found := true
		for _, p := range parts {
			found = found && strings.Contains(all, p)
		}
		if found {
			return true
		}
	}
	return false
}

func mustJSON(v any) []byte {
	raw, _ := json.Marshal(v)
	return raw
}

func (d *demo) mustButton(user, what, name, text string) button {
	d.t.Helper()
	var b button
	d.waitFor(user, what, func(s consoleState) bool {
		var ok bool
		b, ok = findButton(s, name, text)
		return ok
	})
	return b
}

// terminateReady: the terminate modal has been filled in. It opens at
// once and is updated (views.update) when AWS has described the instance;
// that update, as in Slack, would clear an inline error shown before it.
// Until then its termination protection reads "unknown".
func terminateReady(s consoleState) bool {
	if s.Modal == nil {
		return false
	}
	view := string(mustJSON(s.Modal.View))
	return strings.Contains(view, `*Termination protection*\non`) || strings.Contains(view, `*Termination protection*\noff`)
}

const (
	alice = "U0DEMOALICE"
	bob   = "U0DEMOBOB"
	carol = "U0DEMOCAROL"
)

// The demo's own promises, without a browser: list, stop and watch the
// progress reach ✅; refusals by policy; terminate's inline error then
// success; two-person approval; the picker's type-ahead; reset.
func TestDemo(t *testing.T) {
	d := mustStartDemo(t)

	t.Run("list, stop, progress reaches done", func(t *testing.T) {
		d.t = t
		d.command(alice, "/charlize list prod-web-*")
		stop := d.mustButton(alice, "the list with prod-web-2's Stop", "prod-web-2", "Stop")
		if stop.element["confirm"] == nil {
			t.Error("Stop has no confirm dialog")
		}
		d.click(alice, stop)
		d.waitFor(alice, "✅ prod-web-2 stopped", func(s consoleState) bool { return has(s, "✅", "prod-web-2", "stopped") })
	})

	t.Run("policy refuses bob in acme-prod", func(t *testing.T) {
		d.t = t
		d.command(bob, "/charlize status prod-web-1")
		// The card shows bob only the buttons he may use: no Stop.
		d.waitFor(bob, "bob's card of prod-web-1", func(s consoleState) bool { return has(s, "prod-web-1", "Status") })
		if _, ok := findButton(d.state(bob), "prod-web-1", "Stop"); ok {
			t.Error("bob sees Stop on prod-web-1, which the demo policy does not let him use")
		}
	})

	t.Run("terminate: wrong name refused inline, then done", func(t *testing.T) {
		d.t = t
		d.command(alice, "/charlize status staging-db-1")
		term := d.mustButton(alice, "staging-db-1's Terminate", "staging-db-1", "Terminate")
		d.click(alice, term)
		s := d.waitFor(alice, "the terminate modal, loaded", terminateReady)
		submit := func(value string) map[string]any {
			return d.post("/console/submit", map[string]any{"user": alice, "view_id": s.Modal.ID, "state": map[string]any{
				blocks.TerminateInputBlock: map[string]any{blocks.TerminateInputAction: map[string]any{"type": "plain_text_input", "value": value}},
			}})
		}
		answer := submit("staging-db-2")
		errs, _ := answer["errors"].(map[string]any)
		if errs[blocks.TerminateInputBlock] == nil {
			t.Fatalf("a wrong name got %v, want an inline error on %s", answer, blocks.TerminateInputBlock)
		}
		if s := d.state(alice); s.Modal == nil || s.Modal.Errors[blocks.TerminateInputBlock] == "" {
			t.Error("the modal closed or lost its inline error after a wrong name")
		}
		if answer := submit("staging-db-1"); answer["closed"] != true {
			t.Fatalf("the right name got %v, want the modal closed", answer)
		}
		d.waitFor(alice, "✅ staging-db-1 terminated", func(s consoleState) bool { return has(s, "✅", "staging-db-1", "terminated") })
	})

	t.Run("approval by a second person", func(t *testing.T) {
		d.t = t
		d.command(alice, "/charlize status prod-batch-1")
		d.click(alice, d.mustButton(alice, "prod-batch-1's Terminate", "prod-batch-1", "Terminate"))
		s := d.waitFor(alice, "the terminate modal, loaded", terminateReady)
		d.post("/console/submit", map[string]any{"user": alice, "view_id": s.Modal.ID, "state": map[string]any{
			blocks.TerminateInputBlock: map[string]any{blocks.TerminateInputAction: map[string]any{"type": "plain_text_input", "value": "prod-batch-1"}},
		}})
		approve := d.mustButton(carol, "the approval request", "", "Approve")
		d.click(carol, approve)
		d.waitFor(carol, "✅ prod-batch-1 terminated, approved", func(s consoleState) bool { return has(s, "✅", "prod-batch-1", "terminated") })
	})

	t.Run("picker type-ahead", func(t *testing.T) {
		d.t = t
		d.command(alice, "/charlize")
		s := d.waitFor(alice, "the picker", func(s consoleState) bool {
			return s.Modal != nil && s.Modal.View["callback_id"] == blocks.PickerCallbackID
		})
		raw, _ := json.Marshal(map[string]any{"user": alice, "view_id": s.Modal.ID, "action_id": blocks.PickerSearchAction, "block_id": blocks.PickerSearchBlock, "value": "prod-db"})
		resp, err := http.Post(d.url+"/console/suggest", "application/json", bytes.NewReader(raw))
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if !strings.Contains(string(body), "prod-db-1") {
			t.Errorf("type-ahead for prod-db = %s, want prod-db-1 among the options", body)
		}
		d.post("/console/close", map[string]any{"user": alice, "view_id": s.Modal.ID})
		if d.state(alice).Modal != nil {
			t.Error("the picker is still open after Cancel")
		}
	})

	t.Run("reset restores the fleet, clears the channel and starts Charlize afresh", func(t *testing.T) {
		d.t = t
		d.post("/console/reset", map[string]any{"user": alice})
		if n := len(d.state(alice).Messages); n != 0 {
			t.Errorf("after reset the channel has %d messages", n)
		}
		d.command(alice, "/charlize status prod-web-2")
		d.waitFor(alice, "prod-web-2 running again", func(s consoleState) bool { return has(s, "prod-web-2", "running") })
		// What Charlize held belongs to the fleet before the reset: its
		// audit log no longer shows staging-db-1's termination.
		d.command(carol, "/charlize audit staging-db-1")
		d.waitFor(carol, "an empty audit log", func(s consoleState) bool { return has(s, "Audit log", "No audit entries match") })
		// The new Charlize asks for approval as the first did.
		d.command(alice, "/charlize status prod-web-1")
		d.click(alice, d.mustButton(alice, "prod-web-1's Terminate", "prod-web-1", "Terminate"))
		s := d.waitFor(alice, "the terminate modal, loaded", terminateReady)
		d.post("/console/submit", map[string]any{"user": alice, "view_id": s.Modal.ID, "state": map[string]any{
			blocks.TerminateInputBlock: map[string]any{blocks.TerminateInputAction: map[string]any{"type": "plain_text_input", "value": "prod-web-1"}},
		}})
		d.mustButton(carol, "the approval request for prod-web-1", "", "Approve")
	})

	t.Run("nothing Slack would refuse", func(t *testing.T) {
		d.t = t
		for _, user := range []string{alice, bob, carol} {
			for _, m := range d.state(user).Messages {
				if m.Problem != "" {
					t.Errorf("message %s to %s: %s", m.TS, user, m.Problem)
				}
			}
		}
	})
}

func TestDemoServesOnlyLoopback(t *testing.T) {
	err := run(context.Background(), []string{"demo", "--addr", "0.0.0.0:3000"}, func(string) string { return "" }, io.Discard, io.Discard)
	if exitCode(err) != exitUsage || !strings.Contains(fmt.Sprint(err), "loopback") {
		t.Errorf("demo on 0.0.0.0 = %v, want a usage error naming loopback", err)
	}
}
