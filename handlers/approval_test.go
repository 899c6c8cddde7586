package handlers_test

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/slack-go/slack"

	"github.com/charlize-app/charlize/blocks"
	"github.com/charlize-app/charlize/ec2ops/ec2sim"
	"github.com/charlize-app/charlize/handlers/slacktest"
	"github.com/charlize-app/charlize/store"
)

// approvalPolicy lets alice and bob stop, everyone read, and asks for a
// second person to stop anything in a production account.
const approvalPolicy = `rules:
  - name: operators
    who: {users: [U0ALICE, U0BOB]}
    actions: [list, status, stop]
  - name: readers
    who: {users: ["*"]}
    actions: [list, status]
approval:
  - actions: [stop]
    accounts: ["*-prod"]
`

// approvalRequest is an approval request Charlize posted in the channel.
type approvalRequest struct {
	call          slacktest.Call
	approve, deny button
	msg           string
}

// waitApprovalRequest waits for the n-th approval request posted (n from 1).
func (w *world) waitApprovalRequest(n int) approvalRequest {
	w.t.Helper()
	deadline := time.Now().Add(waitResult)
	for {
		var reqs []slacktest.Call
		for _, c := range w.slack.Calls("chat.postMessage") {
			if c.Error == "" && strings.Contains(callText(c), blocks.ActionIDApproval+":approve") {
				reqs = append(reqs, c)
			}
		}
		if len(reqs) >= n {
			c := reqs[n-1]
			r := approvalRequest{call: c, msg: callText(c)}
			for _, b := range buttons(c.Blocks) {
				switch b.actionID {
				case blocks.ActionIDApproval + ":approve":
					r.approve = b
				case blocks.ActionIDApproval + ":deny":
					r.deny = b
				}
			}
			if r.approve.value == "" || r.approve.value != r.deny.value || uuid.Validate(r.approve.value) != nil {
				w.t.Fatalf("approval request buttons approve=%+v deny=%+v, want both valued with one session id", r.approve, r.deny)
			}
			if !r.approve.confirm {
				w.t.Errorf("Approve has no confirm dialog")
			}
			return r
		}
		if time.Now().After(deadline) {
			w.t.Fatalf("%d approval requests posted, want %d (%d chat.postMessage calls)", len(reqs), n, len(w.slack.Calls("chat.postMessage")))
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// updatesOf are the accepted chat.update calls that edited message ts.
func (w *world) updatesOf(ts string) []string {
	var out []string
	for _, c := range w.slack.Calls("chat.update") {
		if c.Error == "" && c.Form.Get("ts") == ts {
			out = append(out, callText(c))
		}
	}
	return out
}

// waitUpdate waits for an edit of message ts containing want.
func (w *world) waitUpdate(ts, want string) {
	w.t.Helper()
	w.waitUpdateWithin(ts, want, waitResult)
}

// waitUpdateWithin waits up to within for an edit of message ts
// containing want.
func (w *world) waitUpdateWithin(ts, want string, within time.Duration) {
	w.t.Helper()
	deadline := time.Now().Add(within)
	for {
		for _, u := range w.updatesOf(ts) {
			if strings.Contains(u, want) {
				return
			}
		}
		if time.Now().After(deadline) {
			w.t.Fatalf("no chat.update of %s containing %q; saw:\n%s", ts, want, strings.Join(w.updatesOf(ts), "\n"))
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// waitExpiredOnce waits for req to say it expired, without buttons, and
// for its expiry to be audited, once.
func (w *world) waitExpiredOnce(req approvalRequest) {
	w.t.Helper()
	w.waitUpdate(req.call.TS, "expired without approval")
	if b := liveApprovalButtons(w.lastUpdateOf(req.call.TS)); len(b) != 0 {
		w.t.Errorf("the expired request still has %d approval buttons", len(b))
	}
	w.waitAudit("expired", entry(alice, "stop", "expired", ""))
	time.Sleep(200 * time.Millisecond)
	if n := w.auditCount(entry("", "stop", "expired", "")); n != 1 {
		w.t.Errorf("%d expiries audited, want 1", n)
	}
}

// Two-person rule: the request is posted in the channel; the requester
// cannot approve, nor can someone the policy does not allow; an allowed
// second person approves and the action runs once, however often the
// button is pressed, editing the request with progress and the result.
func TestApprovalApprove(t *testing.T) {
	t.Parallel()
	eachStore(t, func(t *testing.T, redis bool) {
		w := newWorld(t, worldOptions{redis: redis, policy: approvalPolicy})
		card := w.cardFor(principal{alice, channel}, "web-1", "card1")
		w.clickAs(principal{alice, channel}, mustButton(t, card, "act:stop", ""), "req1")

		req := w.waitApprovalRequest(1)
		if got := req.call.Form.Get("channel"); got != channel {
			t.Errorf("approval request posted in %q, want %s", got, channel)
		}
		for _, want := range []string{"@U0ALICE", "asks to *stop* *web-1*", "rule: stop on *-prod needs a second person's approval"} {
			if !strings.Contains(req.msg, want) {
				t.Errorf("approval request lacks %q: %s", want, short(req.msg))
			}
		}
		if err := blocks.CheckMessage(req.call.Blocks); err != nil {
			t.Errorf("approval request breaks Block Kit limits: %v", err)
		}
		pending := w.waitForURLText("req1", "needs a second person", 5*time.Second)
		if !pending.ReplaceOriginal || pending.ResponseType != slack.ResponseTypeEphemeral {
			t.Errorf("pending note = %s, want it to replace alice's ephemeral card", short(messageText(pending)))
		}
		checkRendered(t, pending)
		requested := w.waitAudit("approval requested", entry(alice, "stop", "approval_requested", "pending"))
		if requested.Rule != "approval[0]" || requested.InstanceName != "web-1" {
			t.Errorf("approval request audited as %+v", requested)
		}
		if n := w.sim.Calls("StopInstances"); n != 0 {
			t.Fatalf("StopInstances before approval = %d, want 0", n)
		}

		from := clickFrom{messageTS: req.call.TS}
		// The requester is not the second person.
		w.clickFrom(alice, req.approve, "self1", from)
		w.waitForURLText("self1", "can't approve your own request", 5*time.Second)
		w.waitAudit("self-approval refused", entry(alice, "stop", "refused", "refused"))
		// Nor is someone the policy does not let stop.
		w.clickFrom(carol, req.approve, "carol1", from)
		w.waitForURLText("carol1", "no rule grants stop on acme-prod to you", 5*time.Second)
		w.waitAudit("carol refused", entry(carol, "stop", "refused", "refused"))
		time.Sleep(100 * time.Millisecond) // an action would have started by now
		if n := w.sim.Calls("StopInstances"); n != 0 {
			t.Fatalf("StopInstances after refused approvals = %d, want 0", n)
		}
		if u := w.updatesOf(req.call.TS); len(u) != 0 {
			t.Errorf("the request was edited after refused approvals: %v", u)
		}

		// bob approves, ten times at once.
		const clicks = 10
		var wg sync.WaitGroup
		start := make(chan struct{})
		errs := make(chan error, clicks)
		for i := range clicks {
			wg.Add(1)
			go func() {
				defer wg.Done()
				<-start
				rep, err := w.send(interactionRequest(w.clickPayload(bob, req.approve, fmt.Sprintf("bob%d", i), from)))
				if err == nil && rep.status != http.StatusOK {
					err = fmt.Errorf("approve answered %d %s", rep.status, rep.body)
				}
				errs <- err
			}()
		}
		close(start)
		wg.Wait()
		close(errs)
		for err := range errs {
			if err != nil {
				t.Fatal(err)
			}
		}
		w.waitUpdate(req.call.TS, "Stopping")
		w.waitUpdate(req.call.TS, "web-1* stopped")
		// Progress first, the result last: nothing overwrites the result.
		if edits := w.updatesOf(req.call.TS); !strings.Contains(edits[0], "Stopping") || !strings.Contains(edits[len(edits)-1], "web-1* stopped") {
			t.Errorf("the request was edited %d times, first %s, last %s; want progress then the result", len(edits), short(edits[0]), short(edits[len(edits)-1]))
		}
		done := w.waitAudit("approved stop done", entry(alice, "stop", "approved", "done"))
		if done.ApprovedBy != bob || !strings.Contains(done.Rule, "operators") {
			t.Errorf("approved stop audited as %+v, want approved by bob under operators", done)
		}
		approved := w.waitAudit("approval", entry("", "stop", "approved", "pending"))
		if approved.ApprovedBy != bob || approved.UserID != alice || !strings.Contains(approved.Rule, "approval[0]") {
			t.Errorf("approval audited as %+v, want alice's request approved by bob under approval[0]", approved)
		}

		// The others hear it was decided.
		deadline := time.Now().Add(5 * time.Second)
		decided := 0
		for decided < clicks-1 && time.Now().Before(deadline) {
			decided = 0
			for i := range clicks {
				for _, m := range w.urlPosts(fmt.Sprintf("bob%d", i)) {
					if strings.Contains(messageText(m), "already decided (by \\u003c@U0BOB\\u003e)") {
						decided++
					}
				}
			}
			time.Sleep(10 * time.Millisecond)
		}
		if decided != clicks-1 {
			t.Errorf("%d of %d late approvals were told it was decided, want %d", decided, clicks, clicks-1)
		}
		time.Sleep(200 * time.Millisecond) // a second action would have started
		if n := w.sim.Calls("StopInstances"); n != 1 {
			t.Errorf("StopInstances = %d, want 1", n)
		}
		if got, _ := w.sim.Get(acctProd, "eu-west-1", "i-0000000000000a001"); got.State != ec2sim.StateStopped {
			t.Errorf("web-1 is %s, want stopped", got.State)
		}
		if n := w.auditCount(entry("", "stop", "", "done")); n != 1 {
			t.Errorf("%d stop entries done, want 1", n)
		}
	})
}

// Deny closes the request without acting, and the button that asked
// works again.
func TestApprovalDeny(t *testing.T) {
	t.Parallel()
	eachStore(t, func(t *testing.T, redis bool) {
		w := newWorld(t, worldOptions{redis: redis, policy: approvalPolicy})
		posted, list := w.sharedList(alice)
		stop := mustButtonOf(t, list, "web-2", "act:stop")
		w.clickFrom(alice, stop, "req1", clickFrom{messageTS: posted.TS})
		req := w.waitApprovalRequest(1)
		pending := w.waitForURLText("req1", "needs a second person", 5*time.Second)
		if pending.ReplaceOriginal {
			t.Errorf("the pending note replaces the shared list: %s", short(messageText(pending)))
		}

		from := clickFrom{messageTS: req.call.TS}
		w.clickFrom(carol, req.deny, "carol1", from)
		w.waitForURLText("carol1", "can't decide on this request", 5*time.Second)

		w.clickFrom(bob, req.deny, "deny1", from)
		w.waitUpdate(req.call.TS, "denied")
		// alice hears of it privately, as of an expiry.
		if told := w.waitForText("chat.postEphemeral", "denied", 5*time.Second); told.Form.Get("user") != alice {
			t.Errorf("the denial was told to %q, want the requester", told.Form.Get("user"))
		}
		denied := w.waitAudit("denied", entry(bob, "stop", "denied", ""))
		if denied.InstanceName != "web-2" || denied.Rule != "approval[0]" {
			t.Errorf("denial audited as %+v", denied)
		}
		w.clickFrom(bob, req.approve, "late1", from)
		w.waitForURLText("late1", "already decided", 5*time.Second)

		// Nothing happened, so alice may ask again from the same list.
		w.clickFrom(alice, stop, "req2", clickFrom{messageTS: posted.TS})
		again := w.waitApprovalRequest(2)
		if again.approve.value == req.approve.value {
			t.Errorf("the second request reuses the first one's session")
		}
		w.waitAuditCount("approval requested", entry(alice, "stop", "approval_requested", ""), 2)
		time.Sleep(100 * time.Millisecond)
		if n := w.sim.Calls("StopInstances"); n != 0 {
			t.Errorf("StopInstances after a denial = %d, want 0", n)
		}
		if n := w.auditCount(entry(alice, "stop", "approval_requested", "")); n != 2 {
			t.Errorf("%d approval requests audited, want 2", n)
		}
	})
}

// Approval adds a second person; it never lets through what the
// requester could not do alone. The requester is decided for on the
// instance's tags as AWS describes them when the request is made and
// again when the approved action runs.
func TestApprovalDecidesForTheRequesterOnFreshTags(t *testing.T) {
	t.Parallel()
	const pol = `rules:
  - name: web-stoppers
    who: {users: [U0ALICE]}
    actions: [list, status, stop]
    where: {tags: {team: web}}
  - name: leads
    who: {users: [U0BOB]}
    actions: [list, status, stop]
  - name: readers
    who: {users: ["*"]}
    actions: [list, status]
approval:
  - actions: [stop]
    accounts: ["*-prod"]
`
	const web2 = "i-0000000000000a002"
	setTeam := func(w *world, team string) {
		inst, _ := w.sim.Get(acctProd, "eu-west-1", web2)
		if team == "" {
			delete(inst.Tags, "team")
		} else {
			inst.Tags["team"] = team
		}
		w.sim.Put(acctProd, "eu-west-1", inst)
	}
	t.Run("tag gone before the request", func(t *testing.T) {
		t.Parallel()
		w := newWorld(t, worldOptions{policy: pol})
		setTeam(w, "web")
		posted, list := w.sharedList(alice)
		setTeam(w, "")
		w.clickFrom(alice, mustButtonOf(t, list, "web-2", "act:stop"), "req1", clickFrom{messageTS: posted.TS})
		got := messageText(w.waitForURLText("req1", "You can't stop web-2", 5*time.Second))
		if !strings.Contains(got, "needs team=web") {
			t.Errorf("refusal = %s, want the rule's condition", short(got))
		}
		w.waitAudit("refused", entry(alice, "stop", "refused", "refused"))
		for _, c := range w.slack.Calls("chat.postMessage") {
			if strings.Contains(callText(c), blocks.ActionIDApproval+":approve") {
				t.Errorf("an approval request was posted for a stop alice may not ask for: %s", short(callText(c)))
			}
		}
	})
	t.Run("tag gone before the approval", func(t *testing.T) {
		t.Parallel()
		w := newWorld(t, worldOptions{policy: pol})
		setTeam(w, "web")
		posted, list := w.sharedList(alice)
		w.clickFrom(alice, mustButtonOf(t, list, "web-2", "act:stop"), "req1", clickFrom{messageTS: posted.TS})
		req := w.waitApprovalRequest(1)
		setTeam(w, "")
		w.clickFrom(bob, req.approve, "bob1", clickFrom{messageTS: req.call.TS})
		w.waitUpdate(req.call.TS, "needs team=web")
		w.waitAudit("refused when run", entry(alice, "stop", "", "refused"))
		if n := w.sim.Calls("StopInstances"); n != 0 {
			t.Errorf("StopInstances = %d: the approved stop ran though alice's rule needs team=web and web-2 has none", n)
		}
	})
}

// A Slack Connect partner whose team the policy names may approve, and is
// decided for as that partner when the approved action runs.
func TestApprovalByAPartner(t *testing.T) {
	t.Parallel()
	w := newWorld(t, worldOptions{policy: partnerPolicy("stop") + `approval:
  - actions: [stop]
    accounts: ["*-prod"]
`})
	posted, list := w.sharedList(alice)
	w.clickFrom(alice, mustButtonOf(t, list, "web-1", "act:stop"), "req1", clickFrom{messageTS: posted.TS})
	req := w.waitApprovalRequest(1)
	w.clickFrom("U0EXT", req.approve, "ext1", clickFrom{messageTS: req.call.TS, userTeam: "T0PARTNER"})
	w.waitUpdate(req.call.TS, "web-1* stopped")
	if e := w.waitAudit("done", entry(alice, "stop", "", "done")); e.ApprovedBy != "U0EXT" {
		t.Errorf("done audited as %+v, want approved by U0EXT", e)
	}
}

// A request nobody decides on expires: the message says so, a late
// Approve is refused and nothing is done.
func TestApprovalExpires(t *testing.T) {
	t.Parallel()
	eachStore(t, func(t *testing.T, redis bool) {
		w := newWorld(t, worldOptions{redis: redis, policy: approvalPolicy, approvalTTL: 300 * time.Millisecond})
		card := w.cardFor(principal{alice, channel}, "web-1", "card1")
		w.clickAs(principal{alice, channel}, mustButton(t, card, "act:stop", ""), "req1")
		req := w.waitApprovalRequest(1)
		w.waitForURLText("req1", "It expires", 5*time.Second)

		w.waitUpdate(req.call.TS, "expired without approval")
		expired := w.waitAudit("expired", entry(alice, "stop", "expired", ""))
		if expired.InstanceName != "web-1" {
			t.Errorf("expiry audited as %+v", expired)
		}
		w.clickFrom(bob, req.approve, "late1", clickFrom{messageTS: req.call.TS})
		w.waitForURLText("late1", "has expired", 5*time.Second)
		time.Sleep(100 * time.Millisecond)
		if n := w.sim.Calls("StopInstances"); n != 0 {
			t.Errorf("StopInstances after expiry = %d, want 0", n)
		}
		if n := w.auditCount(entry("", "stop", "expired", "")); n != 1 {
			t.Errorf("%d expiries audited, want 1", n)
		}
		if n := w.auditCount(func(e store.AuditEntry) bool { return e.Decision == "approved" }); n != 0 {
			t.Errorf("%d approvals audited after expiry, want 0", n)
		}
	})
}

// An approved action that fails (here AWS refuses it) leaves the button
// that asked usable: the requester may ask again.
func TestApprovalFailedActionCanBeAskedAgain(t *testing.T) {
	t.Parallel()
	eachStore(t, func(t *testing.T, redis bool) {
		w := newWorld(t, worldOptions{redis: redis, policy: approvalPolicy})
		posted, list := w.sharedList(alice)
		stop := mustButtonOf(t, list, "web-2", "act:stop")
		w.clickFrom(alice, stop, "req1", clickFrom{messageTS: posted.TS})
		req := w.waitApprovalRequest(1)

		w.sim.AddFault(ec2sim.Fault{Action: "StopInstances", Code: "UnauthorizedOperation", Times: 1})
		w.clickFrom(bob, req.approve, "bob1", clickFrom{messageTS: req.call.TS})
		w.waitUpdate(req.call.TS, "could not stop")
		failed := w.waitAudit("approved stop failed", entry(alice, "stop", "approved", "failed"))
		if failed.ApprovedBy != bob {
			t.Errorf("failure audited as %+v, want approved by bob", failed)
		}

		w.clickFrom(alice, stop, "req2", clickFrom{messageTS: posted.TS})
		w.waitApprovalRequest(2)
		for _, m := range w.urlPosts("req2") {
			if strings.Contains(messageText(m), "already in progress") {
				t.Errorf("asking again was told %q", m.Text)
			}
		}
	})
}

// A request opened before a restart still closes on time and says so: the
// replica that starts resumes its expiry from the store.
func TestApprovalExpiresAfterRestart(t *testing.T) {
	t.Parallel()
	eachStore(t, func(t *testing.T, redis bool) {
		w := newWorld(t, worldOptions{redis: redis, policy: approvalPolicy, approvalTTL: 500 * time.Millisecond})
		card := w.cardFor(principal{alice, channel}, "web-1", "card1")
		w.clickAs(principal{alice, channel}, mustButton(t, card, "act:stop", ""), "req1")
		req := w.waitApprovalRequest(1)
		w.waitForURLText("req1", "It expires", 5*time.Second)

		w.restartDispatcher()
		w.waitExpiredOnce(req)
	})
}

// Defect: a request whose posting took longer than its time to expire
// (here the requester's note is slow) was expired from a record that did
// not yet say where the request was posted: audited as expired, but its
// message kept live Approve/Deny buttons. Nobody decides on or expires a
// request until its posting is done.
func TestApprovalExpiresWhileItIsPosted(t *testing.T) {
	t.Parallel()
	eachStore(t, func(t *testing.T, redis bool) {
		w := newWorld(t, worldOptions{redis: redis, policy: approvalPolicy, approvalTTL: 300 * time.Millisecond})
		card := w.cardFor(principal{alice, channel}, "web-1", "card1")
		// Longer than the takeover loop's look (a third of the 3 s lease)
		// plus the request's time.
		w.slack.SetLatency(slacktest.MethodResponseURL, 2*time.Second)
		w.clickAs(principal{alice, channel}, mustButton(t, card, "act:stop", ""), "req1")
		w.waitExpiredOnce(w.waitApprovalRequest(1))
	})
}

// Defect: an Approve pressed while the request was still being posted was
// undone by the posting's last save, which set the record back to waiting
// for approval after the action had run. The click waits for the posting
// and the action runs once; the record ends settled.
func TestApprovalPressedWhileItIsPosted(t *testing.T) {
	t.Parallel()
	eachStore(t, func(t *testing.T, redis bool) {
		w := newWorld(t, worldOptions{redis: redis, policy: approvalPolicy})
		card := w.cardFor(principal{alice, channel}, "web-1", "card1")
		// Long enough to press within, short enough to leave the press's
		// 1.5 s wait a margin on a loaded machine.
		w.slack.SetLatency(slacktest.MethodResponseURL, 400*time.Millisecond)
		w.clickAs(principal{alice, channel}, mustButton(t, card, "act:stop", ""), "req1")
		req := w.waitApprovalRequest(1)
		w.clickFrom(bob, req.approve, "bob1", clickFrom{messageTS: req.call.TS})
		w.waitUpdate(req.call.TS, "web-1* stopped")
		w.waitAudit("approved, done", entry(alice, "stop", "approved", "done"))
		if n := w.sim.Calls("StopInstances"); n != 1 {
			t.Errorf("StopInstances = %d, want 1", n)
		}
		// The request is over: nothing is left open for a replica to take up.
		time.Sleep(time.Second)
		open, err := w.store.OpenActions(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		if len(open) != 0 {
			t.Errorf("%d actions still open after the approved one ended: %s", len(open), open[0].Data)
		}
	})
}
