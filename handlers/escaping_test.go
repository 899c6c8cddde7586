package handlers_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/charlize-app/charlize/blocks"
	"github.com/charlize-app/charlize/ec2ops/ec2sim"
	"github.com/charlize-app/charlize/handlers/slacktest"
)

// hostileName is a Name tag that would link, mention, notify the channel,
// restyle and reverse the text it lands in if it reached mrkdwn as it is.
const hostileName = "<!channel> <@U123> <https://x|y> & *bold* `tick` \u202eevil"

// hostileID is the instance that carries it.
const hostileID = "i-0000000000000e001"

// hostileLive are the forms of the name's parts Slack would act on.
var hostileLive = []string{"<!channel>", "<@U123>", "<https://x|y>"}

// hostileFixture is acme-prod with one running instance named hostileName.
func hostileFixture() ec2sim.Fixture {
	f := defaultFixture()
	inst := ec2sim.Instance{ID: hostileID, Type: "t3.micro", State: "running", PrivateIP: "10.0.0.9",
		LaunchTime: time.Now().Add(-time.Hour).UTC().Truncate(time.Second), Tags: map[string]string{"Name": hostileName, "env": "prod"}}
	f.Accounts[0].Regions["eu-west-1"] = append(f.Accounts[0].Regions["eu-west-1"], inst)
	return f
}

// payloadTexts are the texts of one payload Slack received, by how Slack
// reads them: mrkdwn (text objects of type mrkdwn, and a message's
// top-level text) and plain_text.
type payloadTexts struct {
	mrkdwn, plain []string
}

func (p *payloadTexts) walk(v any, top bool) {
	switch v := v.(type) {
	case []any:
		for _, e := range v {
			p.walk(e, false)
		}
	case map[string]any:
		text, isText := v["text"].(string)
		switch {
		case isText && v["type"] == "plain_text":
			p.plain = append(p.plain, text)
		case isText && (v["type"] == "mrkdwn" || top && v["type"] == nil):
			p.mrkdwn = append(p.mrkdwn, text)
		}
		for k, e := range v {
			if k != "text" || !isText {
				p.walk(e, false)
			}
		}
	}
}

// received is what Slack got in c: the JSON body, or a form's text and
// blocks.
func received(t *testing.T, c slacktest.Call) map[string]any {
	t.Helper()
	if c.JSON != nil {
		return c.JSON
	}
	doc := map[string]any{}
	if text := c.Form.Get("text"); text != "" {
		doc["text"] = text
	}
	if raw := c.Form.Get("blocks"); raw != "" {
		var bs any
		if err := json.Unmarshal([]byte(raw), &bs); err != nil {
			t.Fatalf("%s blocks: %v", c.Method, err)
		}
		doc["blocks"] = bs
	}
	return doc
}

// textsOf reads doc (a payload Slack received, or a message as the fake
// decoded it) as JSON.
func textsOf(doc any) payloadTexts {
	raw, err := json.Marshal(doc)
	if err != nil {
		panic(err)
	}
	var generic any
	if err := json.Unmarshal(raw, &generic); err != nil {
		panic(err)
	}
	var p payloadTexts
	p.walk(generic, true)
	return p
}

// assertEscapedOnce checks a payload Slack received: in mrkdwn no part of
// the hostile name is live and nothing is escaped twice; in plain_text
// (never parsed) nothing is escaped at all; direction overrides are gone.
func assertEscapedOnce(t *testing.T, surface string, doc any) {
	t.Helper()
	p := textsOf(doc)
	for _, s := range p.mrkdwn {
		for _, live := range hostileLive {
			if strings.Contains(s, live) {
				t.Errorf("%s: mrkdwn %q has %q live", surface, s, live)
			}
		}
		for _, twice := range []string{"&amp;lt;", "&amp;gt;", "&amp;amp;"} {
			if strings.Contains(s, twice) {
				t.Errorf("%s: mrkdwn %q is escaped twice (%s)", surface, s, twice)
			}
		}
	}
	for _, s := range p.plain {
		if strings.Contains(s, "&lt;") || strings.Contains(s, "&amp;") {
			t.Errorf("%s: plain_text %q is escaped (Slack shows the entities)", surface, s)
		}
	}
	for _, s := range append(p.mrkdwn, p.plain...) {
		if strings.ContainsRune(s, '\u202e') {
			t.Errorf("%s: %q keeps the right-to-left override", surface, s)
		}
	}
}

// showsName reports whether a payload shows the hostile name, escaped in
// mrkdwn or as it is in plain_text, so that a surface's check is not
// vacuous.
func showsName(doc any) bool {
	p := textsOf(doc)
	for _, s := range p.mrkdwn {
		if strings.Contains(s, "&lt;!channel&gt; &lt;@U123&gt; &lt;https://x|y&gt; &amp;") {
			return true
		}
	}
	for _, s := range p.plain {
		if strings.Contains(s, "<!channel> <@U123> <https://x|y> &") {
			return true
		}
	}
	return false
}

// dumpReceived writes every payload Slack received to
// $CHARLIZE_PAYLOAD_DIR, when set, for the Block Kit checker.
func dumpReceived(t *testing.T, w *world) {
	dir := os.Getenv("CHARLIZE_PAYLOAD_DIR")
	if dir == "" {
		return
	}
	dir = filepath.Join(dir, strings.ReplaceAll(t.Name(), "/", "_"))
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	for i, c := range w.slack.AllCalls() {
		var doc any = received(t, c)
		if c.View != nil {
			doc = c.JSON["view"]
		}
		if c.Error != "" || c.Method == "auth.test" {
			continue
		}
		raw, _ := json.MarshalIndent(doc, "", "  ")
		name := fmt.Sprintf("%03d-%s.json", i, strings.ReplaceAll(c.Method, ".", "_"))
		if err := os.WriteFile(filepath.Join(dir, name), raw, 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// Defect: AWS's error texts carry the instance's Name tag, and a refusal
// put them into the clicker's private message unescaped: a Name tag like
// <https://evil.example/x|click me> or <!channel> became a live link or
// mention there.
func TestPrivateRefusalEscapesAWSText(t *testing.T) {
	t.Parallel()
	w := newWorld(t, worldOptions{fixture: hostileFixture()})
	w.command(alice, "list "+hostileID, "stale-list")
	stop := mustButton(t, w.urlPost("stale-list", waitResult), "act:stop", "")
	// Someone stops it elsewhere; the list still offers Stop.
	inst, _ := w.sim.Get(acctProd, "eu-west-1", hostileID)
	inst.State = ec2sim.StateStopped
	w.sim.Put(acctProd, "eu-west-1", inst)

	w.click(alice, stop, "stale-click")
	refusal := w.waitForURLText("stale-click", "already stopped", waitResult)
	assertEscapedOnce(t, "refusal", refusal)
	if !showsName(refusal) {
		t.Errorf("refusal %s does not show the instance's name", short(messageText(refusal)))
	}
}

// Defect: audit-channel posts escaped the error text twice (&amp;lt; showed
// in Slack); so did the audit view.
func TestAuditEscapesOnce(t *testing.T) {
	t.Parallel()
	const noReboot = `rules:
  - name: no-reboots
    who: {users: ["*"]}
    actions: [list, status, start, stop, audit]
`
	w := newWorld(t, worldOptions{fixture: hostileFixture(), policy: noReboot, auditChannel: "C0AUDIT"})
	card := w.instanceCard(hostileID, "deny-card")
	// A crafted Reboot press, which the policy refuses: audited with the
	// refusal's text, which names the instance.
	w.click(alice, as(mustButton(t, card, "act:stop", ""), "reboot"), "deny-click")
	post := w.waitForText("chat.postMessage", "refused: reboot", waitResult)
	assertEscapedOnce(t, "audit channel", received(t, post))
	if !showsName(received(t, post)) {
		t.Errorf("audit channel post %s does not show the instance's name", short(callText(post)))
	}
	if !strings.Contains(callText(post), "You can't reboot") {
		t.Errorf("audit channel post %s lacks the refusal", short(callText(post)))
	}

	_, view := w.command(alice, "audit", "deny-audit")
	assertEscapedOnce(t, "audit view", view)
	if !showsName(view) {
		t.Errorf("audit view %s does not show the instance's name", short(messageText(view)))
	}
}

// Every surface a hostile Name tag reaches — list, card, progress and
// result, refusal, terminate modal, approval request, audit view and audit
// channel — shows it escaped exactly once in the JSON Slack receives, and
// within Block Kit's limits.
func TestHostileNamesOnEverySurface(t *testing.T) {
	t.Parallel()
	const approveTerminate = allowAll + `approval:
  - actions: [terminate]
    accounts: ["*"]
`
	w := newWorld(t, worldOptions{fixture: hostileFixture(), policy: approveTerminate, auditChannel: "C0AUDIT"})
	surfaces := map[string][]any{}
	add := func(name string, docs ...any) { surfaces[name] = append(surfaces[name], docs...) }

	w.command(alice, "list", "s-list")
	list := w.waitForURLText("s-list", "e001", waitResult)
	add("list", list)
	listStop := mustButtonOf(t, list, "&lt;!channel&gt;", "act:stop")

	card := w.instanceCard(hostileID, "s-card")
	add("card", card)

	w.click(alice, mustButton(t, card, "act:stop", ""), "s-stop")
	progress := w.waitForText("chat.postMessage", "Stopping", waitResult)
	result := w.waitForText("chat.update", "stopped in", waitResult)
	add("progress", received(t, progress), received(t, result))

	// The same Stop again: done already. The list's Stop, now stale: AWS
	// says it is stopped.
	w.click(alice, mustButton(t, card, "act:stop", ""), "s-again")
	w.click(alice, listStop, "s-stale")
	add("refusal", w.waitForURLText("s-again", "already stopped by", waitResult),
		w.waitForURLText("s-stale", "is already stopped", waitResult))

	stopped := w.instanceCard(hostileID, "s-card2")
	w.click(alice, mustButton(t, stopped, "act:terminate", ""), "s-term")
	modal := w.openedView("views.open", 1)
	filled := w.openedView("views.update", 1)
	add("modal", w.slack.Calls("views.open")[0].JSON["view"], w.slack.Calls("views.update")[0].JSON["view"])
	if got := filled.Blocks.BlockSet; len(got) == 0 {
		t.Fatal("terminate modal update has no blocks")
	}
	rep := w.submitView(alice, modal, map[string]map[string]any{
		blocks.TerminateInputBlock: {blocks.TerminateInputAction: textInput(strings.ReplaceAll(hostileName, "\u202e", ""))},
	})
	if rep.status != http.StatusOK || len(rep.body) > 0 && strings.Contains(string(rep.body), "errors") {
		t.Fatalf("terminate submission = %d %s, want it accepted", rep.status, rep.body)
	}
	request := w.waitApprovalRequest(1)
	add("approval", received(t, request.call))

	_, audit := w.command(alice, "audit", "s-audit")
	add("audit view", audit)
	w.waitForText("chat.postMessage", "refused: stop", waitResult)
	for _, c := range w.slack.Calls("chat.postMessage") {
		if c.Form.Get("channel") == "C0AUDIT" {
			add("audit channel", received(t, c))
		}
	}

	for _, name := range []string{"list", "card", "progress", "refusal", "modal", "approval", "audit view", "audit channel"} {
		docs := surfaces[name]
		shown := false
		for _, doc := range docs {
			assertEscapedOnce(t, name, doc)
			shown = shown || showsName(doc)
		}
		if !shown {
			t.Errorf("%s (%d payloads) never shows the hostile name; the check proves nothing", name, len(docs))
		}
	}
	// Everything else Slack received, too.
	for _, c := range w.slack.AllCalls() {
		doc := received(t, c)
		assertEscapedOnce(t, c.Method, doc)
		if len(c.Blocks) > 0 {
			if err := blocks.CheckMessage(c.Blocks); err != nil {
				t.Errorf("%s breaks Block Kit limits: %v", c.Method, err)
			}
		}
	}
	dumpReceived(t, w)
}
