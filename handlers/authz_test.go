package handlers_test

import (
	"context"
	"fmt"
	"maps"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/slack-go/slack"

	"github.com/charlize-app/charlize/blocks"
	"github.com/charlize-app/charlize/ec2ops/ec2sim"
	"github.com/charlize-app/charlize/handlers/slacktest"
	"github.com/charlize-app/charlize/store"
)

// End-to-end tests of authorization: who sees which buttons, who may
// press them, what reaches AWS and what the audit log keeps.

const (
	carol      = "U0CAROL"
	otherTeam  = "T0OTHER"
	otherChan  = "C0ELSE"
	waitResult = 15 * time.Second
)

// eachStore runs f once on the embedded store and once on Redis.
func eachStore(t *testing.T, f func(t *testing.T, redis bool)) {
	t.Helper()
	for _, s := range []struct {
		name  string
		redis bool
	}{{"embedded", false}, {"redis", true}} {
		t.Run(s.name, func(t *testing.T) {
			t.Parallel()
			f(t, s.redis)
		})
	}
}

// audits returns the audit log, newest first.
func (w *world) audits() []store.AuditEntry {
	w.t.Helper()
	es, err := w.store.RecentAudit(context.Background(), 1000)
	if err != nil {
		w.t.Fatalf("RecentAudit: %v", err)
	}
	return es
}

// waitAudit waits for an audit entry that match accepts.
func (w *world) waitAudit(desc string, match func(store.AuditEntry) bool) store.AuditEntry {
	w.t.Helper()
	deadline := time.Now().Add(waitResult)
	for {
		es := w.audits()
		for _, e := range es {
			if match(e) {
				return e
			}
		}
		if time.Now().After(deadline) {
			w.t.Fatalf("no audit entry %s; log:\n%s", desc, auditDump(es))
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// waitAuditCount waits until at least n entries match (entries are
// written after the messages that tell of them) and returns how many do.
func (w *world) waitAuditCount(desc string, match func(store.AuditEntry) bool, n int) int {
	w.t.Helper()
	deadline := time.Now().Add(waitResult)
	for {
		got := w.auditCount(match)
		if got >= n {
			return got
		}
		if time.Now().After(deadline) {
			w.t.Fatalf("%d audit entries %s, want %d; log:\n%s", got, desc, n, auditDump(w.audits()))
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// auditCount counts the entries match accepts.
func (w *world) auditCount(match func(store.AuditEntry) bool) int {
	w.t.Helper()
	n := 0
	for _, e := range w.audits() {
		if match(e) {
			n++
		}
	}
	return n
}

// entry matches audit entries by user, action, decision and result ("" = any).
func entry(user, action, decision, result string) func(store.AuditEntry) bool {
	return func(e store.AuditEntry) bool {
		return (user == "" || e.UserID == user) && (action == "" || string(e.Action) == action) &&
			(decision == "" || string(e.Decision) == decision) && (result == "" || string(e.Result) == result)
	}
}

func auditDump(es []store.AuditEntry) string {
	var b strings.Builder
	for _, e := range es {
		b.WriteString(strings.Join([]string{e.TeamID, e.UserID, string(e.Action), e.InstanceName, string(e.Decision), string(e.Result),
			"rule=" + e.Rule, "by=" + e.ApprovedBy, e.Error}, " "))
		b.WriteString("\n")
	}
	return b.String()
}

// commandIn runs `/charlize text` as user from workspace teamID, channel ch.
func (w *world) commandIn(teamID, user, ch, text, responseID string) (int, slack.WebhookMessage) {
	w.t.Helper()
	form := slacktest.Command(teamID, user, text, w.slack.ResponseURL(responseID))
	form.Set("channel_id", ch)
	rep := w.mustSend(slacktest.FormRequest("/slack/commands", secret, form))
	var msg slack.WebhookMessage
	if len(rep.body) > 0 {
		rep.json(w.t, &msg)
	}
	return rep.status, msg
}

// principal is a user typing or clicking in a channel.
type principal struct{ user, channel string }

// cardFor runs `/charlize status name` as p and returns the card.
func (w *world) cardFor(p principal, name, responseID string) slack.WebhookMessage {
	w.t.Helper()
	if status, _ := w.commandIn(team, p.user, p.channel, "status "+name, responseID); status != http.StatusOK {
		w.t.Fatalf("status %s = %d", name, status)
	}
	return w.waitForURLText(responseID, "acts:0", 10*time.Second)
}

// clickAs presses b as p from an ephemeral message.
func (w *world) clickAs(p principal, b button, responseID string) reply {
	w.t.Helper()
	payload := w.clickPayload(p.user, b, responseID, clickFrom{})
	if p.channel != "" {
		payload["container"].(map[string]any)["channel_id"] = p.channel
		payload["channel"] = map[string]any{"id": p.channel, "name": "elsewhere"}
	}
	rep := w.mustSend(interactionRequest(payload))
	if rep.status != http.StatusOK {
		w.t.Fatalf("click %s as %s = %d %s", b.actionID, p.user, rep.status, rep.body)
	}
	return rep
}

// as is b pressed as another kind of action on the same item: what a
// crafted request (or a button another person saw) sends.
func as(b button, kind string) button {
	b.actionID = blocks.ActionIDPrefixAct + ":" + kind + ":0"
	return b
}

// hasButton reports whether msg has a button whose action_id starts with prefix.
func hasButton(bs []button, prefix string) bool {
	return slices.ContainsFunc(bs, func(b button) bool { return strings.HasPrefix(b.actionID, prefix) })
}

// The default policy: everyone lists and stops; nobody sees a Terminate
// button on what only they see, and a terminate click is refused before
// any modal opens.
func TestAuthzDefaultPolicy(t *testing.T) {
	t.Parallel()
	eachStore(t, func(t *testing.T, redis bool) {
		w := newWorld(t, worldOptions{redis: redis, policy: defaultPolicy})

		if status, _ := w.command(bob, "list", "list1"); status != http.StatusOK {
			t.Fatalf("list = %d", status)
		}
		list := w.waitForURLText("list1", "web-1", 10*time.Second)
		checkRendered(t, list)
		if bs := buttons(list.Blocks.BlockSet); hasButton(bs, "act:terminate") || !hasButton(bs, "act:stop") {
			t.Errorf("bob's list buttons = %+v, want Stop and no Terminate", bs)
		}

		card := w.cardFor(principal{bob, channel}, "web-1", "card1")
		checkRendered(t, card)
		cardButtons := buttons(card.Blocks.BlockSet)
		if hasButton(cardButtons, "act:terminate") || !hasButton(cardButtons, "act:stop") {
			t.Errorf("bob's card buttons = %+v, want Stop and no Terminate", cardButtons)
		}
		stop := mustButton(t, card, "act:stop", "")

		// Terminate, sent anyway: refused, no modal, audited.
		w.clickAs(principal{bob, channel}, as(stop, "terminate"), "term1")
		refusal := w.waitForURLText("term1", "no rule grants terminate", 5*time.Second)
		if refusal.ResponseType != slack.ResponseTypeEphemeral {
			t.Errorf("refusal response_type = %q, want ephemeral", refusal.ResponseType)
		}
		checkRendered(t, refusal)
		if n := len(w.slack.Calls("views.open")); n != 0 {
			t.Errorf("views.open calls = %d, want none for a refused terminate", n)
		}
		e := w.waitAudit("refused terminate", entry(bob, "terminate", "refused", "refused"))
		if !strings.Contains(e.Error, "no rule grants terminate") || e.InstanceName != "web-1" || e.TeamID != team {
			t.Errorf("refused terminate audited as %+v", e)
		}

		// Stop is everyone's.
		w.clickAs(principal{bob, channel}, stop, "stop1")
		done := w.waitAudit("stop done", entry(bob, "stop", "allowed", "done"))
		if done.Rule != "default-operate" {
			t.Errorf("stop audited with rule %q, want default-operate", done.Rule)
		}
		w.waitForURLText("stop1", "web-1* stopped", 5*time.Second)
		if n, m := w.sim.Calls("StopInstances"), w.sim.Calls("TerminateInstances"); n != 1 || m != 0 {
			t.Errorf("StopInstances, TerminateInstances = %d, %d; want 1, 0", n, m)
		}
	})
}

// One rule per kind of principal: users, user groups, channels and "*".
func TestAuthzPrincipals(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name    string
		who     string
		groups  map[string][]string
		allowed principal
		refused principal // user "" = nobody is refused
	}{
		{name: "users", who: `{users: [U0BOB]}`, allowed: principal{bob, channel}, refused: principal{alice, channel}},
		{name: "usergroups", who: `{usergroups: [S0SRE]}`, groups: map[string][]string{"S0SRE": {bob}},
			allowed: principal{bob, channel}, refused: principal{alice, channel}},
		{name: "channels", who: `{channels: [` + channel + `]}`, allowed: principal{bob, channel}, refused: principal{bob, otherChan}},
		{name: "everyone", who: `{users: ["*"]}`, allowed: principal{carol, otherChan}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			pol := `rules:
  - name: stoppers
    who: ` + tc.who + `
    actions: [stop]
  - name: readers
    who: {users: ["*"]}
    actions: [list, status]
`
			eachStore(t, func(t *testing.T, redis bool) {
				w := newWorld(t, worldOptions{redis: redis, policy: pol})
				for g, users := range tc.groups {
					w.slack.SetUserGroupMembers(g, users)
				}
				card := w.cardFor(tc.allowed, "web-1", "card-ok")
				stop := mustButton(t, card, "act:stop", "")

				if tc.refused.user != "" {
					theirs := w.cardFor(tc.refused, "web-1", "card-no")
					if bs := buttons(theirs.Blocks.BlockSet); hasButton(bs, "act:stop") {
						t.Errorf("%+v's card has Stop: %+v", tc.refused, bs)
					}
					w.clickAs(tc.refused, stop, "click-no")
					refusal := w.waitForURLText("click-no", "no rule grants stop", 5*time.Second)
					checkRendered(t, refusal)
					e := w.waitAudit("refused stop", entry(tc.refused.user, "stop", "refused", "refused"))
					if e.ChannelID != tc.refused.channel {
						t.Errorf("refusal audited in channel %q, want %q", e.ChannelID, tc.refused.channel)
					}
					if n := w.sim.Calls("StopInstances"); n != 0 {
						t.Fatalf("StopInstances after a refused click = %d, want 0", n)
					}
				}

				w.clickAs(tc.allowed, stop, "click-ok")
				done := w.waitAudit("stop done", entry(tc.allowed.user, "stop", "allowed", "done"))
				if done.Rule != "stoppers" {
					t.Errorf("stop audited with rule %q, want stoppers", done.Rule)
				}
				if n := w.sim.Calls("StopInstances"); n != 1 {
					t.Errorf("StopInstances = %d, want 1", n)
				}
			})
		})
	}
}

// tagFixture has instances with and without a team tag in acme-prod, and
// a web instance in acme-dev.
func tagFixture() ec2sim.Fixture {
	launch := time.Now().Add(-time.Hour).UTC().Truncate(time.Second)
	inst := func(id, name string, tags map[string]string) ec2sim.Instance {
		all := map[string]string{"Name": name}
		maps.Copy(all, tags)
		return ec2sim.Instance{ID: id, Type: "t3.micro", State: ec2sim.StateRunning, PrivateIP: "10.0.0.1", LaunchTime: launch, Tags: all}
	}
	return ec2sim.Fixture{Accounts: []ec2sim.FixtureAccount{
		{ID: acctProd, Regions: map[string][]ec2sim.Instance{"eu-west-1": {
			inst("i-0000000000000a001", "web-1", map[string]string{"team": "web"}),
			inst("i-0000000000000a002", "web-2", map[string]string{"team": "web"}),
			inst("i-0000000000000d001", "db-1", map[string]string{"team": "data"}),
			inst("i-0000000000000e001", "bare-1", nil),
		}}},
		{ID: acctDev, Regions: map[string][]ec2sim.Instance{"us-east-1": {
			inst("i-0000000000000c001", "dev-1", map[string]string{"team": "web"}),
		}}},
	}}
}

// Tag conditions and account globs: lists show only what the rule's
// condition admits; a click on an instance without the tag is refused
// naming the condition, at click time and again before the AWS call.
func TestAuthzTagsAndAccountGlobs(t *testing.T) {
	t.Parallel()
	t.Run("list", func(t *testing.T) {
		t.Parallel()
		pol := `rules:
  - name: web-team
    who: {users: ["*"]}
    accounts: ["*-prod"]
    actions: [list, status, stop]
    where: {tags: {team: web}}
`
		eachStore(t, func(t *testing.T, redis bool) {
			w := newWorld(t, worldOptions{redis: redis, policy: pol, fixture: tagFixture()})
			w.command(alice, "list", "list1")
			list := w.waitForURLText("list1", "web-1", 10*time.Second)
			text := messageText(list)
			for _, want := range []string{"web-1", "web-2"} {
				if !strings.Contains(text, want) {
					t.Errorf("list lacks %s: %s", want, short(text))
				}
			}
			for _, not := range []string{"db-1", "bare-1", "dev-1"} {
				if strings.Contains(text, not) {
					t.Errorf("list shows %s, which the web-team rule does not admit: %s", not, short(text))
				}
			}
			_, accounts := w.command(alice, "accounts", "accounts1")
			if text := messageText(accounts); !strings.Contains(text, "acme-prod") || strings.Contains(text, "acme-dev") {
				t.Errorf("accounts = %s, want acme-prod only", short(text))
			}
			// Naming a hidden instance does not show it.
			w.command(alice, "status db-1", "status1")
			if got := messageText(w.urlPost("status1", 10*time.Second)); strings.Contains(got, "i-0000000000000d001") {
				t.Errorf("status db-1 = %s, want no card for a hidden instance", short(got))
			}
		})
	})

	t.Run("click", func(t *testing.T) {
		t.Parallel()
		pol := `rules:
  - name: web-stoppers
    who: {users: ["*"]}
    accounts: ["*-prod"]
    actions: [stop]
    where: {tags: {team: "we*"}}
  - name: readers
    who: {users: ["*"]}
    actions: [list, status]
`
		eachStore(t, func(t *testing.T, redis bool) {
			w := newWorld(t, worldOptions{redis: redis, policy: pol, fixture: tagFixture()})
			w.command(alice, "list", "list1")
			list := w.waitForURLText("list1", "bare-1", 10*time.Second)
			checkRendered(t, list)
			for name, wantStop := range map[string]bool{"web-1": true, "web-2": true, "db-1": false, "bare-1": false, "dev-1": false} {
				if got := hasButton(instanceButtons(t, list, name), "act:stop"); got != wantStop {
					t.Errorf("%s has Stop = %v, want %v", name, got, wantStop)
				}
			}

			for _, tc := range []struct{ name, want, not string }{
				{"bare-1", "no rule grants stop on acme-prod to you for this instance (rule web-stoppers needs team=we*)", ""},
				{"db-1", "(rule web-stoppers needs team=we*)", ""},
				{"dev-1", "no rule grants stop on acme-dev to you", "needs"},
			} {
				status := mustStatusOf(t, list, tc.name)
				id := "click-" + tc.name
				w.clickAs(principal{alice, channel}, as(status, "stop"), id)
				got := messageText(w.waitForURLText(id, "You can't stop "+tc.name, 5*time.Second))
				if !strings.Contains(got, tc.want) || tc.not != "" && strings.Contains(got, tc.not) {
					t.Errorf("stop %s refused with %s, want %q", tc.name, got, tc.want)
				}
				e := w.waitAudit("refused stop "+tc.name, func(e store.AuditEntry) bool {
					return e.InstanceName == tc.name && e.Decision == "refused"
				})
				if !strings.Contains(e.Error, strings.TrimPrefix(tc.want, "(")) {
					t.Errorf("refusal of %s audited with error %q, want %q", tc.name, e.Error, tc.want)
				}
			}
			if n := w.sim.Calls("StopInstances"); n != 0 {
				t.Fatalf("StopInstances after refusals = %d, want 0", n)
			}

			// The condition is checked again on the instance's tags right
			// before the AWS call: web-2 lost its tag after it was listed.
			web2, _ := w.sim.Get(acctProd, "eu-west-1", "i-0000000000000a002")
			delete(web2.Tags, "team")
			w.sim.Put(acctProd, "eu-west-1", web2)
			w.clickAs(principal{alice, channel}, mustButtonOf(t, list, "web-2", "act:stop"), "click-web-2")
			got := messageText(w.waitForURLText("click-web-2", "You can't stop web-2", 10*time.Second))
			if !strings.Contains(got, "rule web-stoppers needs team=we*") {
				t.Errorf("late refusal = %s, want the rule's condition", got)
			}
			e := w.waitAudit("refused stop web-2", func(e store.AuditEntry) bool { return e.InstanceName == "web-2" })
			if e.Decision != "refused" || e.Result != "refused" || !strings.Contains(e.Error, "needs team=we*") {
				t.Errorf("late refusal audited as %+v", e)
			}

			w.clickAs(principal{alice, channel}, mustButtonOf(t, list, "web-1", "act:stop"), "click-web-1")
			done := w.waitAudit("stop web-1 done", entry(alice, "stop", "allowed", "done"))
			if done.InstanceName != "web-1" || done.Rule != "web-stoppers" {
				t.Errorf("stop audited as %+v, want web-1 by rule web-stoppers", done)
			}
			if n := w.sim.Calls("StopInstances"); n != 1 {
				t.Errorf("StopInstances = %d, want 1 (web-1 only)", n)
			}
		})
	})
}

// mustButtonOf is the button with prefix among instance name's buttons.
func mustButtonOf(t *testing.T, msg slack.WebhookMessage, name, prefix string) button {
	t.Helper()
	for _, b := range instanceButtons(t, msg, name) {
		if strings.HasPrefix(b.actionID, prefix) {
			return b
		}
	}
	t.Fatalf("%s has no %s button in %s", name, prefix, short(messageText(msg)))
	return button{}
}

// mustStatusOf is instance name's Status button.
func mustStatusOf(t *testing.T, msg slack.WebhookMessage, name string) button {
	t.Helper()
	return mustButtonOf(t, msg, name, "act:status")
}

// A list shared in the channel keeps every button; a click is decided for
// whoever clicks, not for the author of the list.
func TestAuthzSharedListDecidesForClicker(t *testing.T) {
	t.Parallel()
	pol := `rules:
  - name: alice-operates
    who: {users: [U0ALICE]}
    actions: [list, status, stop]
  - name: readers
    who: {users: ["*"]}
    actions: [list, status]
`
	eachStore(t, func(t *testing.T, redis bool) {
		w := newWorld(t, worldOptions{redis: redis, policy: pol})
		posted, list := w.sharedList(alice)
		stop := mustButtonOf(t, list, "web-1", "act:stop")
		if !hasButton(instanceButtons(t, list, "web-1"), "act:terminate") {
			t.Errorf("the shared list filtered its buttons: %+v", instanceButtons(t, list, "web-1"))
		}
		from := clickFrom{messageTS: posted.TS}

		if rep := w.clickFrom(bob, stop, "bob1", from); rep.status != http.StatusOK {
			t.Fatalf("bob's click = %d %s", rep.status, rep.body)
		}
		refusal := w.waitForURLText("bob1", "You can't stop web-1", 5*time.Second)
		if refusal.ResponseType != slack.ResponseTypeEphemeral || refusal.ReplaceOriginal {
			t.Errorf("bob's refusal = %s, want an ephemeral reply that leaves the list alone", messageText(refusal))
		}
		w.waitAudit("bob refused", entry(bob, "stop", "refused", "refused"))
		if n := w.sim.Calls("StopInstances"); n != 0 {
			t.Fatalf("StopInstances after bob's click = %d, want 0", n)
		}
		if n := len(w.slack.Calls("chat.update")); n != 0 {
			t.Errorf("chat.update calls after a refused click = %d, want 0", n)
		}

		w.clickFrom(alice, stop, "alice1", from)
		w.waitForText("chat.update", "web-1* stopped", waitResult)
		w.waitAudit("alice done", entry(alice, "stop", "allowed", "done"))
		if n := w.sim.Calls("StopInstances"); n != 1 {
			t.Errorf("StopInstances = %d, want 1", n)
		}
	})
}

// sharedList has user post acme-prod's list in the channel through the
// picker, and returns the chat.postMessage call and the list.
func (w *world) sharedList(user string) (slacktest.Call, slack.WebhookMessage) {
	w.t.Helper()
	before := len(w.slack.Calls("views.open"))
	w.command(user, "", "picker-"+user)
	picker := w.openedView("views.open", before+1)
	w.submitView(user, picker, map[string]map[string]any{
		blocks.PickerAccountBlock: {blocks.PickerAccountAction: selectedOption("acme-prod")},
	})
	posted := w.waitForText("chat.postMessage", "web-1", 10*time.Second)
	if posted.TS == "" {
		w.t.Fatalf("chat.postMessage answered %q", posted.Error)
	}
	return posted, slack.WebhookMessage{Text: posted.Form.Get("text"), Blocks: &slack.Blocks{BlockSet: posted.Blocks}}
}

// Workspaces are isolated: a button of one workspace does nothing from
// another, and with strict tenancy an account is seen only by the
// workspaces its configuration names.
func TestAuthzTenancy(t *testing.T) {
	t.Parallel()
	t.Run("foreign click", func(t *testing.T) {
		t.Parallel()
		eachStore(t, func(t *testing.T, redis bool) {
			w := newWorld(t, worldOptions{redis: redis})
			stop := mustButton(t, w.instanceCard("web-1", "card1"), "act:stop", "")
			w.clickFrom(bob, stop, "foreign1", clickFrom{team: otherTeam})
			w.waitForURLText("foreign1", "another workspace", 5*time.Second)
			time.Sleep(100 * time.Millisecond) // an action would have started by now
			if n := w.sim.Calls("StopInstances"); n != 0 {
				t.Errorf("StopInstances after a foreign click = %d, want 0", n)
			}
			if n := w.auditCount(entry("", "stop", "", "done")); n != 0 {
				t.Errorf("%d stop entries done after a foreign click, want 0", n)
			}
		})
	})

	for _, tc := range []struct {
		name   string
		strict bool
		// what T0002 sees in its list, and what it must not
		other, otherNot []string
		// what T0001 sees
		home, homeNot []string
	}{
		{"strict", true, []string{"No AWS account is shared with this workspace"}, []string{"web-1", "dev-1"}, []string{"web-1"}, []string{"dev-1"}},
		{"open", false, []string{"dev-1"}, []string{"web-1"}, []string{"web-1", "dev-1"}, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			eachStore(t, func(t *testing.T, redis bool) {
				w := newWorld(t, worldOptions{redis: redis, strictTenancy: tc.strict,
					workspaces: map[string][]string{"acme-prod": {team}}})
				const t2 = "T0002"
				check := func(teamID, id string, want, not []string) {
					t.Helper()
					w.commandIn(teamID, alice, channel, "list", id)
					got := messageText(w.waitForURLText(id, want[0], 10*time.Second))
					for _, s := range want {
						if !strings.Contains(got, s) {
							t.Errorf("%s's list lacks %q: %s", teamID, s, short(got))
						}
					}
					for _, s := range not {
						if strings.Contains(got, s) {
							t.Errorf("%s's list shows %q: %s", teamID, s, short(got))
						}
					}
				}
				check(t2, "other-list", tc.other, tc.otherNot)
				check(team, "home-list", tc.home, tc.homeNot)

				// Each workspace's picker offers its own accounts, also
				// right after the other workspace's picker was opened.
				picker := func(teamID, id string, opened int) string {
					t.Helper()
					w.commandIn(teamID, alice, channel, "", id)
					v := w.openedView("views.open", opened)
					if v.PrivateMetadata == "" || !strings.Contains(v.PrivateMetadata, teamID) {
						t.Errorf("%s's picker carries metadata %q, want its own", teamID, v.PrivateMetadata)
					}
					return viewText(v)
				}
				home := picker(team, "home-picker", 1)
				opened := 1
				if !tc.strict {
					opened++
					if other := picker(t2, "other-picker", opened); strings.Contains(other, "acme-prod") || !strings.Contains(other, "acme-dev") {
						t.Errorf("%s's picker = %s, want acme-dev and no acme-prod", t2, short(other))
					}
				}
				if !strings.Contains(home, "acme-prod") {
					t.Errorf("%s's picker = %s, want acme-prod", team, short(home))
				}
				if again := picker(team, "home-picker-again", opened+1); !strings.Contains(again, "acme-prod") {
					t.Errorf("%s's second picker = %s, want acme-prod as the first", team, short(again))
				}

				_, accounts := w.commandIn(t2, alice, channel, "accounts", "other-accounts")
				if text := messageText(accounts); strings.Contains(text, "acme-prod") {
					t.Errorf("%s's accounts = %s, want no acme-prod", t2, short(text))
				}
				w.commandIn(t2, alice, channel, "status web-1", "other-status")
				if got := messageText(w.urlPost("other-status", 10*time.Second)); strings.Contains(got, "i-0000000000000a001") {
					t.Errorf("%s's status web-1 = %s, want no card", t2, short(got))
				}
			})
		})
	}
}

// User group memberships are looked up and cached while many requests
// need them at once; every one is decided with the membership.
func TestAuthzUserGroupsConcurrently(t *testing.T) {
	t.Parallel()
	pol := `rules:
  - name: sre
    who: {usergroups: [S0SRE]}
    actions: [list, status, stop]
`
	w := newWorld(t, worldOptions{policy: pol})
	w.slack.SetUserGroupMembers("S0SRE", []string{bob})
	const lists = 10
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i := range lists {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			user := bob
			if i%2 == 1 {
				user = alice
			}
			if _, err := w.send(w.commandRequest(user, "list", fmt.Sprintf("list%d", i))); err != nil {
				t.Error(err)
			}
		}()
	}
	close(start)
	wg.Wait()
	for i := range lists {
		got := w.urlPost(fmt.Sprintf("list%d", i), 10*time.Second)
		if i%2 == 1 {
			if text := messageText(got); !strings.Contains(text, "no rule grants list") || strings.Contains(text, "web-1") {
				t.Errorf("alice's list %d = %s, want a refusal", i, short(text))
			}
			continue
		}
		if !hasButton(instanceButtons(t, got, "web-1"), "act:stop") {
			t.Errorf("bob's list %d has no Stop for web-1: %s", i, short(messageText(got)))
		}
	}
	if n := len(w.slack.Calls("usergroups.users.list")); n == 0 || n > lists {
		t.Errorf("usergroups.users.list calls = %d, want between 1 and %d", n, lists)
	}
}

// A rate-limited usergroups.users.list cannot hold a click past Slack's
// 3 seconds: the group is not read in time, so it grants nothing new this
// once and nothing happens on AWS.
func TestAuthzSlowUserGroupsKeepTheAck(t *testing.T) {
	t.Parallel()
	pol := `rules:
  - name: everyone-lists
    who: {users: ["*"]}
    actions: [list, status]
  - name: sre
    who: {usergroups: [S0SRE]}
    actions: [stop]
`
	// Memberships are never fresh, so the click must read the group.
	w := newWorld(t, worldOptions{policy: pol, groupsTTL: time.Nanosecond})
	w.slack.SetUserGroupMembers("S0SRE", []string{bob})
	w.command(bob, "list web-1", "slow-groups-list")
	listed := w.urlPost("slow-groups-list", 10*time.Second)
	var stop button
	for _, b := range buttons(listed.Blocks.BlockSet) {
		if strings.HasPrefix(b.actionID, "act:stop") {
			stop = b
		}
	}
	if stop.value == "" {
		t.Fatalf("bob's list has no Stop: %s", short(messageText(listed)))
	}
	// Carol joins the group in Slack, but Slack is too slow to tell.
	w.slack.SetUserGroupMembers("S0SRE", []string{bob, carol})
	w.slack.RateLimit("usergroups.users.list", 5*time.Second, 3)
	start := time.Now()
	status := w.click(carol, stop, "slow-groups-click")
	if elapsed := time.Since(start); status != http.StatusOK || elapsed >= 3*time.Second {
		t.Fatalf("click with a rate-limited usergroups.users.list = %d after %s, want 200 within 3s", status, elapsed)
	}
	if got := messageText(w.urlPost("slow-groups-click", 10*time.Second)); !strings.Contains(got, "no rule grants stop") {
		t.Errorf("carol was told %s, want a refusal (her group could not be read)", short(got))
	}
	if n := w.sim.Calls("StopInstances"); n != 0 {
		t.Errorf("StopInstances calls = %d, want 0", n)
	}
}
