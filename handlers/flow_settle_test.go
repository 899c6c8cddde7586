package handlers_test

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/slack-go/slack"

	"github.com/charlize-app/charlize/blocks"
	"github.com/charlize-app/charlize/ec2ops/ec2sim"
	"github.com/charlize-app/charlize/handlers/slacktest"
)

// The ends of an action: every way it can end settles, and a message about
// an action that has ended carries no button that would act on it again.

// terminateApprovalPolicy lets alice and bob terminate, with two people in
// production.
const terminateApprovalPolicy = `rules:
  - name: operators
    who: {users: [U0ALICE, U0BOB]}
    actions: [list, status, stop, terminate]
approval:
  - actions: [stop, terminate]
    accounts: ["*-prod"]
`

// liveApprovalButtons lists the Approve/Deny buttons in a rendered call.
func liveApprovalButtons(c slacktest.Call) []button {
	var out []button
	for _, b := range buttons(c.Blocks) {
		if strings.HasPrefix(b.actionID, blocks.ActionIDApproval+":") {
			out = append(out, b)
		}
	}
	return out
}

// lastUpdateOf is the last accepted chat.update of message ts.
func (w *world) lastUpdateOf(ts string) slacktest.Call {
	w.t.Helper()
	var last slacktest.Call
	for _, c := range w.slack.Calls("chat.update") {
		if c.Error == "" && c.Form.Get("ts") == ts {
			last = c
		}
	}
	return last
}

// Defect: an approved action refused when it runs (the instance changed in
// between) left the request with live Approve/Deny buttons and never told
// the requester.
func TestApprovedButRefusedSettles(t *testing.T) {
	t.Parallel()
	eachStore(t, func(t *testing.T, redis bool) {
		w := newWorld(t, worldOptions{redis: redis, policy: approvalPolicy})
		card := w.cardFor(principal{alice, channel}, "web-1", "card1")
		w.clickAs(principal{alice, channel}, mustButton(t, card, "act:stop", ""), "req1")
		req := w.waitApprovalRequest(1)

		// Someone stops web-1 in the console meanwhile.
		inst, _ := w.sim.Get(acctProd, "eu-west-1", "i-0000000000000a001")
		inst.State = ec2sim.StateStopped
		w.sim.Put(acctProd, "eu-west-1", inst)

		w.clickFrom(bob, req.approve, "bob1", clickFrom{messageTS: req.call.TS})
		w.waitUpdate(req.call.TS, "Approved by \\\\u003c@U0BOB\\\\u003e, but *web-1* was not stopped")
		final := w.lastUpdateOf(req.call.TS)
		if b := liveApprovalButtons(final); len(b) != 0 {
			t.Errorf("the settled request still has %d approval buttons: %s", len(b), short(callText(final)))
		}
		if !strings.Contains(callText(final), "already stopped") {
			t.Errorf("the settled request = %s, want why (already stopped)", short(callText(final)))
		}
		// bob, who clicked, hears it; so does alice, who asked.
		w.waitForURLText("bob1", "already stopped", waitResult)
		told := w.waitForText("chat.postEphemeral", "approved your request to stop web-1, but it was not done", waitResult)
		if got := told.Form.Get("user"); got != alice {
			t.Errorf("the not-done notice went to %q, want the requester %s", got, alice)
		}
		w.waitAudit("approved, refused", entry(alice, "stop", "approved", "refused"))
		if n := w.sim.Calls("StopInstances"); n != 0 {
			t.Errorf("StopInstances = %d, want 0", n)
		}
	})
}

// Defect: a termination-protected instance in an account with two-person
// approval could be sent for approval although the modal showed the
// protection. It is refused at submit with the same words as without
// approval, and no request is posted.
func TestProtectedTerminateIsNotSentForApproval(t *testing.T) {
	t.Parallel()
	refusal := func(t *testing.T, pol string) string {
		w := newWorld(t, worldOptions{policy: pol})
		card := w.cardFor(principal{alice, channel}, "db-1", "card1")
		w.clickAs(principal{alice, channel}, mustButton(t, card, "act:terminate", ""), "click1")
		updated := w.openedView("views.update", 1)
		w.submitView(alice, updated, map[string]map[string]any{blocks.TerminateInputBlock: {blocks.TerminateInputAction: textInput("db-1")}})
		got := w.waitForURLText("click1", "termination protection is on", 10*time.Second)
		w.waitAudit("refused terminate", entry(alice, "terminate", "", "refused"))
		for _, c := range w.slack.Calls("chat.postMessage") {
			if strings.Contains(callText(c), blocks.ActionIDApproval+":approve") {
				t.Errorf("an approval request was posted for a protected instance: %s", short(callText(c)))
			}
		}
		if n := w.sim.Calls("TerminateInstances"); n != 0 {
			t.Errorf("TerminateInstances = %d, want 0", n)
		}
		return got.Text
	}
	without := refusal(t, allowAll)
	with := refusal(t, terminateApprovalPolicy)
	if with != without {
		t.Errorf("refusal with approval = %q, without = %q; want the same words", with, without)
	}
}

// Defect: after an approval the channel message named only the requester.
func TestApprovedResultNamesTheApprover(t *testing.T) {
	t.Parallel()
	w := newWorld(t, worldOptions{policy: approvalPolicy})
	card := w.cardFor(principal{alice, channel}, "web-1", "card1")
	w.clickAs(principal{alice, channel}, mustButton(t, card, "act:stop", ""), "req1")
	req := w.waitApprovalRequest(1)
	w.clickFrom(bob, req.approve, "bob1", clickFrom{messageTS: req.call.TS})
	w.waitUpdate(req.call.TS, "requested by \\\\u003c@U0ALICE\\\\u003e, approved by \\\\u003c@U0BOB\\\\u003e")
	w.waitUpdate(req.call.TS, "web-1* stopped")
	final := w.lastUpdateOf(req.call.TS)
	if !strings.Contains(callText(final), "approved by \\\\u003c@U0BOB\\\\u003e") {
		t.Errorf("result = %s, want the approver named", short(callText(final)))
	}
	if b := liveApprovalButtons(final); len(b) != 0 {
		t.Errorf("the result still has approval buttons")
	}
}

// Defect: pressing an action's button again after it finished said it was
// still in progress.
func TestPressingAgainAfterDoneSaysDone(t *testing.T) {
	t.Parallel()
	eachStore(t, func(t *testing.T, redis bool) {
		w := newWorld(t, worldOptions{redis: redis})
		stop := mustButton(t, w.instanceCard("web-1", "card1"), "act:stop", "")
		w.clickFrom(alice, stop, "click1", clickFrom{})
		w.waitForText("chat.update", "web-1* stopped", waitResult)
		w.waitAudit("stop done", entry(alice, "stop", "allowed", "done"))

		w.clickFrom(bob, stop, "click2", clickFrom{})
		got := w.waitForURLText("click2", "was already stopped by \\u003c@U0ALICE\\u003e", 5*time.Second)
		if strings.Contains(messageText(got), "in progress") {
			t.Errorf("second press = %s, want done, not in progress", messageText(got))
		}
		if !strings.Contains(messageText(got), "\\u003c!date^") {
			t.Errorf("second press = %s, want when it was done", messageText(got))
		}
		if n := w.sim.Calls("StopInstances"); n != 1 {
			t.Errorf("StopInstances = %d, want 1", n)
		}
	})
}

// Defect: an AWS error of a kind Charlize does not know reached Slack
// verbatim from a listing, SDK error chain and request id included.
func TestListFailureIsWordedNotVerbatim(t *testing.T) {
	t.Parallel()
	w := newWorld(t, worldOptions{})
	w.sim.AddFault(ec2sim.Fault{Account: acctDev, Action: "DescribeInstances", Code: "WeirdInternalThing",
		Message: "the shard 7f3a is sad", Status: http.StatusBadRequest})
	w.command(alice, "list", "list1")
	listed := w.waitForURLText("list1", "acme-dev", waitResult)
	text := messageText(listed)
	for _, leak := range []string{"WeirdInternalThing", "shard 7f3a", "api error", "RequestID", "operation error"} {
		if strings.Contains(text, leak) {
			t.Errorf("the listing shows %q: %s", leak, short(text))
		}
	}
	if !strings.Contains(text, "Something went wrong talking to AWS for acme-dev (us-east-1) (ref") || !strings.Contains(text, "web-1") {
		t.Errorf("listing = %s, want the other account's instances and a reference for the failed one", short(text))
	}
}

// Defect: `/charlize audit @alice` could not work. With mentions escaped
// (the manifest asks for it) Slack sends <@U…|name>; a plain id works too.
func TestAuditFiltersOnMentionAndID(t *testing.T) {
	t.Parallel()
	w := newWorld(t, worldOptions{policy: auditPolicy})
	w.clickAs(principal{bob, channel}, mustButton(t, w.cardFor(principal{bob, channel}, "web-1", "card1"), "act:stop", ""), "stop1")
	w.waitAudit("bob's stop", entry(bob, "stop", "allowed", "done"))
	for _, filter := range []string{"<@U0BOB|bob>", "<@U0BOB>", "U0BOB", "&lt;@U0BOB|bob&gt;"} {
		_, msg := w.commandIn(team, alice, channel, "audit "+filter, "audit")
		if !strings.Contains(messageText(msg), "web-1") || !strings.Contains(messageText(msg), "1 entry") {
			t.Errorf("audit %s = %s, want bob's stop", filter, short(messageText(msg)))
		}
	}
}

// Defect: the audit log line carried "time" twice.
func TestAuditLogLineHasOneTime(t *testing.T) {
	t.Parallel()
	logs := &logBuffer{}
	w := newWorld(t, worldOptions{logs: logs})
	w.clickFrom(alice, mustButton(t, w.instanceCard("web-1", "card1"), "act:stop", ""), "click1", clickFrom{})
	w.waitAudit("stop done", entry(alice, "stop", "allowed", "done"))
	found := false
	for line := range strings.SplitSeq(logs.String(), "\n") {
		if !strings.Contains(line, `"msg":"audit"`) {
			continue
		}
		found = true
		if n := strings.Count(line, `"time":`); n != 1 {
			t.Errorf("audit line has %d time keys: %s", n, line)
		}
		var v map[string]any
		if err := json.Unmarshal([]byte(line), &v); err != nil {
			t.Errorf("audit line is not JSON: %v", err)
		}
	}
	if !found {
		t.Fatalf("no audit log line in:\n%s", logs.String())
	}
}

// Defect: type-ahead offered terminated instances without saying so.
func TestTypeAheadShowsState(t *testing.T) {
	t.Parallel()
	w := newWorld(t, worldOptions{})
	rep := w.suggest(alice, "old", nil)
	var got struct {
		Options []*slack.OptionBlockObject `json:"options"`
	}
	rep.json(t, &got)
	if len(got.Options) != 1 || !strings.Contains(got.Options[0].Text.Text, "stopped") {
		raw, _ := json.Marshal(got)
		t.Errorf("suggest(old) = %s, want old-1 with its state", raw)
	}
}

// Defect: an audit-channel post read like a one-entry audit listing.
func TestAuditChannelPostIsASentence(t *testing.T) {
	t.Parallel()
	const auditCh = "C0AUDIT"
	w := newWorld(t, worldOptions{auditChannel: auditCh})
	w.clickFrom(alice, mustButton(t, w.instanceCard("web-1", "card1"), "act:stop", ""), "click1", clickFrom{})
	post := w.waitForText("chat.postMessage", "stopped *web-1*", waitResult)
	if post.Form.Get("channel") != auditCh {
		t.Fatalf("post went to %s", post.Form.Get("channel"))
	}
	text := callText(post)
	for _, listing := range []string{"Audit log", "newest first", "1 entry"} {
		if strings.Contains(text, listing) {
			t.Errorf("audit-channel post reads like a listing (%q): %s", listing, short(text))
		}
	}
	if !strings.Contains(text, "\\\\u003c@U0ALICE\\\\u003e stopped *web-1*") {
		t.Errorf("audit-channel post = %s, want who did what", short(text))
	}
}

// noLiveButton checks that no message about the action clicked with b
// still offers b itself or an Approve/Deny: the shared message it was on
// (its last edit), and the approval request at requestTS ("" = none).
func (w *world) noLiveButton(t *testing.T, b button, messageTS, requestTS string) {
	t.Helper()
	check := func(what string, c slacktest.Call) {
		for _, got := range buttons(c.Blocks) {
			if got.value == b.value && got.actionID == b.actionID {
				t.Errorf("%s still offers the button that asked: %s", what, short(callText(c)))
			}
			if strings.HasPrefix(got.actionID, blocks.ActionIDApproval+":") {
				t.Errorf("%s still offers %s: %s", what, got.actionID, short(callText(c)))
			}
		}
	}
	if last := w.lastUpdateOf(messageTS); last.TS != "" || last.Form != nil {
		check("the clicked message", last)
	}
	if requestTS != "" {
		last := w.lastUpdateOf(requestTS)
		if last.Form == nil {
			t.Errorf("the approval request at %s was never edited", requestTS)
		} else {
			check("the approval request", last)
		}
	}
}

// Every way an action ends goes through settle: it is audited with its
// decision and result, and leaves no live button on a message about it.
func TestEveryExitSettles(t *testing.T) {
	t.Parallel()
	stopOn := func(t *testing.T, w *world, user, name string) (slacktest.Call, button) {
		posted, list := w.sharedList(alice)
		b := mustButtonOf(t, list, name, "act:stop")
		w.clickFrom(user, b, user+"-click", clickFrom{messageTS: posted.TS})
		return posted, b
	}
	t.Run("refused", func(t *testing.T) {
		t.Parallel()
		w := newWorld(t, worldOptions{policy: approvalPolicy})
		posted, b := stopOn(t, w, carol, "web-1")
		w.waitForURLText(carol+"-click", "no rule grants stop", 5*time.Second)
		w.waitAudit("refused", entry(carol, "stop", "refused", "refused"))
		w.noLiveButton(t, b, posted.TS, "")
	})
	t.Run("approval requested, then approved and done", func(t *testing.T) {
		t.Parallel()
		w := newWorld(t, worldOptions{policy: approvalPolicy})
		posted, b := stopOn(t, w, alice, "web-1")
		req := w.waitApprovalRequest(1)
		w.waitAudit("requested", entry(alice, "stop", "approval_requested", "pending"))
		w.clickFrom(bob, req.approve, "bob1", clickFrom{messageTS: req.call.TS})
		w.waitUpdate(req.call.TS, "web-1* stopped")
		w.waitAudit("approved", entry(alice, "stop", "approved", "pending"))
		w.waitAudit("done", entry(alice, "stop", "approved", "done"))
		w.noLiveButton(t, b, posted.TS, req.call.TS)
	})
	t.Run("denied", func(t *testing.T) {
		t.Parallel()
		w := newWorld(t, worldOptions{policy: approvalPolicy})
		posted, b := stopOn(t, w, alice, "web-1")
		req := w.waitApprovalRequest(1)
		w.clickFrom(bob, req.deny, "bob1", clickFrom{messageTS: req.call.TS})
		w.waitUpdate(req.call.TS, "denied")
		w.waitAudit("denied", entry(bob, "stop", "denied", "refused"))
		w.noLiveButton(t, b, posted.TS, req.call.TS)
	})
	t.Run("expired", func(t *testing.T) {
		t.Parallel()
		w := newWorld(t, worldOptions{policy: approvalPolicy, approvalTTL: 300 * time.Millisecond})
		posted, b := stopOn(t, w, alice, "web-1")
		req := w.waitApprovalRequest(1)
		w.waitUpdate(req.call.TS, "expired without approval")
		w.waitAudit("expired", entry(alice, "stop", "expired", "refused"))
		w.waitForText("chat.postEphemeral", "expired without approval", 5*time.Second)
		w.noLiveButton(t, b, posted.TS, req.call.TS)
	})
	t.Run("protected", func(t *testing.T) {
		t.Parallel()
		w := newWorld(t, worldOptions{})
		card := w.cardFor(principal{alice, channel}, "db-1", "card1")
		w.clickAs(principal{alice, channel}, mustButton(t, card, "act:terminate", ""), "click1")
		updated := w.openedView("views.update", 1)
		w.submitView(alice, updated, map[string]map[string]any{blocks.TerminateInputBlock: {blocks.TerminateInputAction: textInput("db-1")}})
		w.waitForURLText("click1", "termination protection is on", 10*time.Second)
		w.waitAudit("protected", entry(alice, "terminate", "allowed", "refused"))
	})
	t.Run("failed", func(t *testing.T) {
		t.Parallel()
		w := newWorld(t, worldOptions{})
		w.sim.AddFault(ec2sim.Fault{Action: "StopInstances", Code: "UnauthorizedOperation", Times: 1})
		posted, b := stopOn(t, w, alice, "web-1")
		w.waitUpdate(posted.TS, "could not stop")
		w.waitAudit("failed", entry(alice, "stop", "allowed", "failed"))
		w.noLiveButton(t, b, posted.TS, "")
	})
	t.Run("done", func(t *testing.T) {
		t.Parallel()
		w := newWorld(t, worldOptions{})
		posted, b := stopOn(t, w, alice, "web-1")
		w.waitUpdate(posted.TS, "web-1* stopped")
		w.waitAudit("done", entry(alice, "stop", "allowed", "done"))
		w.noLiveButton(t, b, posted.TS, "")
	})
	t.Run("interrupted", func(t *testing.T) {
		t.Parallel()
		w := newWorld(t, worldOptions{transition: time.Minute})
		posted, b := stopOn(t, w, alice, "web-1")
		w.waitUpdate(posted.TS, "Stopping")
		for deadline := time.Now().Add(10 * time.Second); w.sim.Calls("StopInstances") == 0; {
			if time.Now().After(deadline) {
				t.Fatal("StopInstances never reached the simulator")
			}
			time.Sleep(10 * time.Millisecond)
		}
		// With the store gone the action cannot be handed on, so it is
		// reported as interrupted rather than left "Stopping…".
		if err := w.store.Close(); err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
		defer cancel()
		_ = w.dispatcher.Close(ctx)
		w.waitUpdate(posted.TS, "interrupted")
		w.noLiveButton(t, b, posted.TS, "")
	})
}
