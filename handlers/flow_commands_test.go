package handlers_test

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/charlize-app/charlize/ec2ops/ec2sim"
)

// Instance commands answer with a card, a choice, or the closest names;
// they never act from text.
func TestInstanceCommands(t *testing.T) {
	t.Parallel()
	w := newWorld(t, worldOptions{})

	t.Run("status shows the card", func(t *testing.T) {
		card := w.instanceCard("web-1", "status1")
		checkRendered(t, card)
		if !card.ReplaceOriginal || !strings.Contains(messageText(card), "i-0000000000000a001") {
			t.Errorf("card = %s, want web-1's card replacing the ack", short(messageText(card)))
		}
		for _, kind := range []string{"act:status", "act:stop", "act:reboot", "act:restart", "act:terminate"} {
			mustButton(t, card, kind, "")
		}
		if len(buttonsWithPrefix(card, "act:start")) != 0 {
			t.Errorf("running web-1 has a Start button")
		}
	})

	t.Run("two matches offer a choice", func(t *testing.T) {
		status, ack := w.command(alice, "stop web", "stop1")
		if status != http.StatusOK || !strings.Contains(ack.Text, "Looking up") {
			t.Fatalf("stop web = %d %q", status, ack.Text)
		}
		matches := w.urlPost("stop1", 10*time.Second)
		checkRendered(t, matches)
		choices := buttonsWithPrefix(matches, "pick:")
		if len(choices) != 2 || !strings.Contains(messageText(matches), "web-1") || !strings.Contains(messageText(matches), "web-2") {
			t.Fatalf("stop web = %s, want a choice of web-1 and web-2", short(messageText(matches)))
		}
		if strings.Contains(messageText(matches), "act:stop") {
			t.Errorf("the choice already offers Stop: %s", short(messageText(matches)))
		}
		var pick button
		for _, c := range choices {
			if c.text == "Choose" && strings.HasSuffix(c.value, ".1") {
				pick = c
			}
		}
		if rep := w.clickFrom(alice, pick, "choose1", clickFrom{}); rep.status != http.StatusOK {
			t.Fatalf("choose = %d %s", rep.status, rep.body)
		}
		card := w.urlPost("choose1", 10*time.Second)
		checkRendered(t, card)
		if !card.ReplaceOriginal || !strings.Contains(messageText(card), "Press Stop to stop web-2") {
			t.Errorf("chosen = %s, want web-2's card asking to press Stop", short(messageText(card)))
		}
		mustButton(t, card, "act:stop", "")
		if n := w.sim.Calls("StopInstances"); n != 0 {
			t.Errorf("StopInstances calls = %d, want 0: commands do not act", n)
		}
	})

	t.Run("a typo suggests the closest names", func(t *testing.T) {
		w.command(alice, "stop wbe-1", "typo1")
		got := messageText(w.urlPost("typo1", 10*time.Second))
		if !strings.Contains(got, "No instance matches") || !strings.Contains(got, "`web-1`") {
			t.Errorf("stop wbe-1 = %s, want no match with web-1 suggested", short(got))
		}
	})

	t.Run("aliases", func(t *testing.T) {
		w.command(alice, "kill web-1", "kill1")
		kill := w.urlPost("kill1", 10*time.Second)
		if !strings.Contains(messageText(kill), "Press Terminate to terminate web-1") {
			t.Errorf("kill web-1 = %s, want web-1's card asking to press Terminate", short(messageText(kill)))
		}
		mustButton(t, kill, "act:terminate", "")
		w.command(alice, "check web-1", "check1")
		check := w.urlPost("check1", 10*time.Second)
		mustButton(t, check, "act:status", "")
		if got, _ := w.sim.Get(acctProd, "eu-west-1", "i-0000000000000a001"); got.State != ec2sim.StateRunning {
			t.Errorf("web-1 is %s after kill, want running: commands do not act", got.State)
		}
	})

	t.Run("accounts", func(t *testing.T) {
		status, msg := w.command(alice, "accounts", "accounts1")
		if status != http.StatusOK || !strings.Contains(messageText(msg), "acme-prod") || !strings.Contains(messageText(msg), "acme-dev") {
			t.Errorf("accounts = %d %s, want acme-prod and acme-dev", status, short(messageText(msg)))
		}
		checkRendered(t, msg)
	})

	t.Run("a bad query names the term", func(t *testing.T) {
		status, msg := w.command(alice, "list state:bogus", "bogus1")
		if status != http.StatusOK || msg.ResponseType != "ephemeral" || !strings.Contains(msg.Text, "bogus") {
			t.Errorf("list state:bogus = %d %+v, want an ephemeral error naming bogus", status, msg)
		}
		time.Sleep(100 * time.Millisecond)
		if n := len(w.urlPosts("bogus1")); n != 0 {
			t.Errorf("a bad query posted %d more messages", n)
		}
	})
}

// Clicks that cannot be honoured are answered with a reason, never a 500,
// and never reach AWS.
func TestBadClicks(t *testing.T) {
	t.Parallel()
	w := newWorld(t, worldOptions{})
	stop := mustButton(t, w.instanceCard("web-1", "card1"), "act:stop", "")
	awsCalls := len(w.sim.CallLog())

	for _, tc := range []struct {
		name string
		from clickFrom
		b    button
		want string
	}{
		{"unknown session", clickFrom{value: "0b0c0d0e-1f20-4a3b-8c4d-5e6f70819203.0"}, stop, "expired — run `/charlize` again"},
		{"another workspace", clickFrom{team: "T0OTHER"}, stop, "another workspace"},
		{"malformed value", clickFrom{value: "not-a-session"}, stop, "couldn't read that button"},
		{"index out of range", clickFrom{value: strings.TrimSuffix(stop.value, ".0") + ".99"}, stop, "couldn't read that button"},
		{"unknown action", clickFrom{}, button{actionID: "act:explode:0", blockID: "acts:0", value: stop.value}, "couldn't read that button"},
		{"unknown action id", clickFrom{}, button{actionID: "bogus", blockID: "x", value: "x"}, "couldn't read that button"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			id := strings.ReplaceAll(tc.name, " ", "-")
			rep := w.clickFrom(bob, tc.b, id, tc.from)
			if rep.status != http.StatusOK {
				t.Fatalf("click = %d %s, want 200", rep.status, rep.body)
			}
			got := w.urlPost(id, 5*time.Second)
			if got.ResponseType != "ephemeral" || !strings.Contains(got.Text, tc.want) {
				t.Errorf("answer = %+v, want an ephemeral %q", got, tc.want)
			}
		})
	}
	if calls := w.sim.CallLog()[awsCalls:]; len(calls) != 0 {
		t.Errorf("bad clicks reached AWS: %+v", calls)
	}
}

// An instance id that does not exist is "no match", not an empty choice.
func TestUnknownInstanceID(t *testing.T) {
	t.Parallel()
	w := newWorld(t, worldOptions{})
	if status, _ := w.command(alice, "status i-0000000000000ffff", "id1"); status != http.StatusOK {
		t.Fatalf("status = %d", status)
	}
	got := w.urlPost("id1", 10*time.Second)
	checkRendered(t, got)
	if !strings.Contains(got.Text, "No instance matches") || len(buttonsWithPrefix(got, "pick:")) != 0 {
		t.Errorf("status i-0000000000000ffff = %s, want no match", short(messageText(got)))
	}
}
