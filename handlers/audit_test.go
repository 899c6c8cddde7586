package handlers_test

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/slack-go/slack"

	"github.com/charlize-app/charlize/blocks"
	"github.com/charlize-app/charlize/store"
)

// auditPolicy lets alice read the audit log and everyone operate.
const auditPolicy = `rules:
  - name: auditors
    who: {users: [U0ALICE]}
    actions: [audit]
  - name: operators
    who: {users: ["*"]}
    actions: [list, status, start, stop, reboot]
`

// `/charlize audit`: only for those the policy allows; newest first,
// filtered by instance, user or account, at most n, and never another
// workspace's entries.
func TestAuditCommand(t *testing.T) {
	t.Parallel()
	eachStore(t, func(t *testing.T, redis bool) {
		w := newWorld(t, worldOptions{redis: redis, policy: auditPolicy})
		base := time.Now().Add(-time.Hour)
		seed := []store.AuditEntry{
			{TeamID: team, UserID: alice, Account: "acme-prod", InstanceID: "i-0000000000000a001", InstanceName: "web-1", Action: "stop", Decision: "allowed", Result: "done"},
			{TeamID: team, UserID: bob, Account: "acme-prod", InstanceID: "i-0000000000000d001", InstanceName: "db-1", Action: "start", Decision: "allowed", Result: "done"},
			{TeamID: otherTeam, UserID: carol, Account: "acme-prod", InstanceID: "i-0000000000000a001", InstanceName: "web-1", Action: "stop", Decision: "allowed", Result: "done"},
			{TeamID: team, UserID: alice, Account: "acme-dev", InstanceID: "i-0000000000000c001", InstanceName: "dev-1", Action: "reboot", Decision: "allowed", Result: "done"},
			{TeamID: team, UserID: bob, Account: "acme-prod", InstanceID: "i-0000000000000a002", InstanceName: "web-2", Action: "stop", Decision: "refused", Result: "refused", Error: "no rule grants stop"},
		}
		for i, e := range seed {
			e.Time, e.Region = base.Add(time.Duration(i)*time.Minute), "eu-west-1"
			if err := w.store.AppendAudit(context.Background(), e); err != nil {
				t.Fatal(err)
			}
		}
		// And one entry the flows write: bob stops web-1.
		w.clickAs(principal{bob, channel}, mustButton(t, w.cardFor(principal{bob, channel}, "web-1", "card1"), "act:stop", ""), "stop1")
		w.waitAudit("bob's stop", entry(bob, "stop", "allowed", "done"))

		audit := func(teamID, user, args string) slack.WebhookMessage {
			t.Helper()
			status, msg := w.commandIn(teamID, user, channel, strings.TrimSpace("audit "+args), "audit")
			if status != http.StatusOK {
				t.Fatalf("audit %s = %d", args, status)
			}
			checkRendered(t, msg)
			return msg
		}

		if got := audit(team, bob, ""); !strings.Contains(got.Text, "You can't audit: no rule grants audit to you") || strings.Contains(messageText(got), "db-1") {
			t.Errorf("bob's audit = %s, want a refusal", short(messageText(got)))
		}

		for _, tc := range []struct {
			args      string
			count     string
			order     []string // names in this order, newest first
			not       []string
			ephemeral bool
		}{
			{"", "5 entries", []string{"web-2", "dev-1", "db-1"}, []string{"U0CAROL"}, true},
			{"web-1", "2 entries", []string{"U0BOB", "U0ALICE"}, []string{"db-1", "dev-1", "web-2", "U0CAROL"}, true},
			{"i-0000000000000d001", "1 entry", []string{"db-1"}, []string{"web-1", "U0CAROL"}, true},
			{"<@U0BOB|bob>", "3 entries", []string{"web-1", "web-2", "db-1"}, []string{"U0ALICE", "dev-1"}, true},
			{"U0ALICE", "2 entries", []string{"dev-1", "web-1"}, []string{"U0BOB", "db-1"}, true},
			{"acme-dev", "1 entry", []string{"dev-1"}, []string{"web-1", "db-1"}, true},
			{"3", "3 entries", []string{"web-1", "web-2", "dev-1"}, []string{"db-1"}, true},
			{"acme-prod 2", "2 entries", []string{"web-1", "web-2"}, []string{"db-1", "dev-1"}, true},
			{"nothing-here", "no entries match", nil, []string{"web-1"}, true},
		} {
			got := audit(team, alice, tc.args)
			text := messageText(got)
			if !strings.Contains(got.Text, tc.count) {
				t.Errorf("audit %s says %q, want %q", tc.args, got.Text, tc.count)
			}
			if got.ResponseType != slack.ResponseTypeEphemeral {
				t.Errorf("audit %s response_type = %q, want ephemeral", tc.args, got.ResponseType)
			}
			at := -1
			for _, s := range tc.order {
				i := strings.Index(text[at+1:], s)
				if i < 0 {
					t.Errorf("audit %s: %q missing or out of order (want %v newest first): %s", tc.args, s, tc.order, short(text))
					break
				}
				at += 1 + i
			}
			for _, s := range tc.not {
				if strings.Contains(text, s) {
					t.Errorf("audit %s shows %q: %s", tc.args, s, short(text))
				}
			}
		}

		// The other workspace sees its own entry only.
		other := audit(otherTeam, alice, "")
		if text := messageText(other); !strings.Contains(other.Text, "1 entry") || !strings.Contains(text, "U0CAROL") || strings.Contains(text, "U0BOB") {
			t.Errorf("%s's audit = %s, want carol's entry only", otherTeam, short(text))
		}
	})
}

// With an audit channel, a mutating action is posted there as well;
// reading does not.
func TestAuditChannel(t *testing.T) {
	t.Parallel()
	const auditChan = "C0AUDIT"
	eachStore(t, func(t *testing.T, redis bool) {
		w := newWorld(t, worldOptions{redis: redis, auditChannel: auditChan})
		card := w.cardFor(principal{alice, channel}, "web-1", "card1")
		w.clickAs(principal{alice, channel}, mustButton(t, card, "act:stop", ""), "stop1")
		w.waitAudit("stop done", entry(alice, "stop", "allowed", "done"))

		var posts []string
		deadline := time.Now().Add(5 * time.Second)
		for len(posts) == 0 && time.Now().Before(deadline) {
			posts = nil
			for _, c := range w.slack.Calls("chat.postMessage") {
				if c.Form.Get("channel") == auditChan {
					if c.Error != "" {
						t.Fatalf("post to the audit channel answered %q", c.Error)
					}
					if err := blocks.CheckMessage(c.Blocks); err != nil {
						t.Errorf("audit channel post breaks Block Kit limits: %v", err)
					}
					posts = append(posts, callText(c))
				}
			}
			time.Sleep(10 * time.Millisecond)
		}
		time.Sleep(100 * time.Millisecond) // a second post would have arrived
		var final []string
		for _, c := range w.slack.Calls("chat.postMessage") {
			if c.Form.Get("channel") == auditChan {
				final = append(final, callText(c))
			}
		}
		if len(final) != 1 {
			t.Fatalf("%d posts to %s, want 1 (the stop): %v", len(final), auditChan, final)
		}
		for _, want := range []string{"web-1", "stop", "U0ALICE", "✅"} {
			if !strings.Contains(final[0], want) {
				t.Errorf("audit channel post lacks %q: %s", want, short(final[0]))
			}
		}
	})
}
