package handlers_test

import (
	"context"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/slack-go/slack"

	"github.com/charlize-app/charlize/blocks"
	"github.com/charlize-app/charlize/ec2ops/ec2sim"
)

// Terminate: the modal opens before any AWS call, protection is filled in
// after, a wrong name keeps it open with an inline error, the right name
// closes it and terminates.
func TestTerminateThroughModal(t *testing.T) {
	t.Parallel()
	w := newWorld(t, worldOptions{})
	card := w.instanceCard("web-1", "card1")
	term := mustButton(t, card, "act:terminate", "")
	if term.confirm {
		t.Errorf("Terminate has a Slack confirm dialog; the modal is the confirmation")
	}

	before := len(w.sim.CallLog())
	if rep := w.clickFrom(alice, term, "click1", clickFrom{}); rep.status != http.StatusOK || len(rep.body) != 0 {
		t.Fatalf("terminate click = %d %q, want an empty 200", rep.status, rep.body)
	}
	// views.open happened within the click's request, before any AWS call
	// that the click caused.
	opened := w.slack.Calls("views.open")
	if len(opened) != 1 || opened[0].Error != "" {
		t.Fatalf("views.open calls after the click = %+v, want 1 answered ok", opened)
	}
	for _, c := range w.sim.CallLog()[before:] {
		if c.Time.Before(opened[0].Time) {
			t.Errorf("AWS %s at %s came before views.open at %s", c.Action, c.Time, opened[0].Time)
		}
	}
	modal := opened[0].View
	if modal.CallbackID != blocks.TerminateCallbackID || !strings.Contains(viewText(modal), blocks.TerminateInputBlock) {
		t.Fatalf("views.open view = %s, want the terminate modal", viewText(modal))
	}
	if !strings.Contains(viewText(modal), "Termination protection*\\nunknown") {
		t.Errorf("the first modal claims to know the protection: %s", viewText(modal))
	}

	updated := w.openedView("views.update", 1)
	if !strings.Contains(viewText(updated), "Termination protection*\\noff") {
		t.Errorf("views.update = %s, want termination protection off", viewText(updated))
	}

	// A wrong name: inline error, nothing terminated.
	rep := w.submitView(alice, updated, map[string]map[string]any{blocks.TerminateInputBlock: {blocks.TerminateInputAction: textInput("web-2")}})
	var errs slack.ViewSubmissionResponse
	rep.json(t, &errs)
	if rep.status != http.StatusOK || errs.ResponseAction != slack.RAErrors || errs.Errors[blocks.TerminateInputBlock] == "" {
		t.Fatalf("wrong name = %d %s, want response_action errors on %s", rep.status, rep.body, blocks.TerminateInputBlock)
	}
	if got, _ := w.sim.Get(acctProd, "eu-west-1", "i-0000000000000a001"); got.State != ec2sim.StateRunning || w.sim.Calls("TerminateInstances") != 0 {
		t.Fatalf("after a wrong name web-1 is %s, TerminateInstances = %d", got.State, w.sim.Calls("TerminateInstances"))
	}

	// The right name closes the modal and terminates.
	rep = w.submitView(alice, updated, map[string]map[string]any{blocks.TerminateInputBlock: {blocks.TerminateInputAction: textInput(" web-1 ")}})
	if rep.status != http.StatusOK || len(rep.body) != 0 {
		t.Fatalf("right name = %d %q, want an empty 200 (modal closes)", rep.status, rep.body)
	}
	w.waitForText("chat.postMessage", "Terminating", 10*time.Second)
	w.waitForText("chat.update", "terminated", 15*time.Second)
	w.waitForURLText("click1", "terminated", 5*time.Second)
	if got, _ := w.sim.Get(acctProd, "eu-west-1", "i-0000000000000a001"); got.State != ec2sim.StateTerminated {
		t.Errorf("web-1 in the simulator is %s, want terminated", got.State)
	}
	if n := w.sim.Calls("TerminateInstances"); n != 1 {
		t.Errorf("TerminateInstances calls = %d, want 1", n)
	}
	checkRendered(t, w.urlPosts("click1")...)
}

// An instance renamed since its card was shown: the modal asks for the
// name AWS gives now, and that name confirms.
func TestTerminateRenamedSinceTheCard(t *testing.T) {
	t.Parallel()
	w := newWorld(t, worldOptions{})
	card := w.instanceCard("web-2", "card1")
	web2, _ := w.sim.Get(acctProd, "eu-west-1", "i-0000000000000a002")
	web2.Tags["Name"] = "web-2-canary"
	w.sim.Put(acctProd, "eu-west-1", web2)
	w.clickFrom(alice, mustButton(t, card, "act:terminate", ""), "click1", clickFrom{})
	updated := w.openedView("views.update", 1)
	if !strings.Contains(viewText(updated), "Type web-2-canary to confirm") {
		t.Fatalf("the modal does not ask for the current name: %s", short(viewText(updated)))
	}
	rep := w.submitView(alice, updated, map[string]map[string]any{blocks.TerminateInputBlock: {blocks.TerminateInputAction: textInput("web-2-canary")}})
	if rep.status != http.StatusOK || len(rep.body) != 0 {
		t.Fatalf("typing the name the modal asks for = %d %s, want the modal closed", rep.status, rep.body)
	}
	w.waitAudit("terminated", entry(alice, "terminate", "allowed", "done"))
}

// A Slack Connect partner whose team a rule lets terminate confirms in
// the modal like anyone, and is decided for as that partner when it runs.
func TestTerminateByAPartner(t *testing.T) {
	t.Parallel()
	w := newWorld(t, worldOptions{policy: partnerPolicy("terminate")})
	posted, list := w.sharedList(alice)
	w.clickFrom("U0EXT", mustButtonOf(t, list, "web-1", "act:terminate"), "ext1", clickFrom{messageTS: posted.TS, userTeam: "T0PARTNER"})
	updated := w.openedView("views.update", 1)
	payload := submission("U0EXT", updated, map[string]map[string]any{blocks.TerminateInputBlock: {blocks.TerminateInputAction: textInput("web-1")}})
	payload["user"].(map[string]any)["team_id"] = "T0PARTNER"
	if rep := w.mustSend(interactionRequest(payload)); rep.status != http.StatusOK || len(rep.body) != 0 {
		t.Fatalf("partner's confirmation = %d %s, want the modal closed", rep.status, rep.body)
	}
	w.waitAudit("terminated by the partner", entry("U0EXT", "terminate", "allowed", "done"))
}

// Terminating the protected db-1: the modal says so, and a correct
// confirmation is still refused with how to lift the protection, audited.
func TestTerminateProtectedIsRefused(t *testing.T) {
	t.Parallel()
	w := newWorld(t, worldOptions{})
	card := w.instanceCard("db-1", "card1")
	if rep := w.clickFrom(alice, mustButton(t, card, "act:terminate", ""), "click1", clickFrom{}); rep.status != http.StatusOK {
		t.Fatalf("terminate click = %d %s", rep.status, rep.body)
	}
	w.openedView("views.open", 1)
	updated := w.openedView("views.update", 1)
	if !strings.Contains(viewText(updated), "termination protection is on") || !strings.Contains(viewText(updated), "no-disable-api-termination") {
		t.Errorf("views.update = %s, want the protection error with how to lift it", viewText(updated))
	}

	rep := w.submitView(alice, updated, map[string]map[string]any{blocks.TerminateInputBlock: {blocks.TerminateInputAction: textInput("db-1")}})
	if rep.status != http.StatusOK {
		t.Fatalf("submit = %d %s", rep.status, rep.body)
	}
	w.waitForURLText("click1", "no-disable-api-termination", 10*time.Second)
	if n := w.sim.Calls("TerminateInstances"); n != 0 {
		t.Errorf("TerminateInstances calls = %d, want 0", n)
	}
	if got, _ := w.sim.Get(acctProd, "eu-west-1", "i-0000000000000d001"); got.State != ec2sim.StateRunning {
		t.Errorf("db-1 is %s, want running", got.State)
	}
	deadline := time.Now().Add(5 * time.Second)
	for {
		entries, err := w.store.RecentAudit(context.Background(), 10)
		if err != nil {
			t.Fatal(err)
		}
		var found bool
		for _, e := range entries {
			if e.Action == "terminate" && e.InstanceID == "i-0000000000000d001" && e.Result == "refused" && e.UserID == alice {
				found = true
			}
		}
		if found {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("no refused terminate audit entry for db-1: %+v", entries)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// Restart stops, waits, and starts again.
func TestRestart(t *testing.T) {
	t.Parallel()
	w := newWorld(t, worldOptions{})
	card := w.instanceCard("web-2", "card1")
	restart := mustButton(t, card, "act:restart", "")
	if !restart.confirm {
		t.Errorf("Restart has no confirm dialog")
	}
	if rep := w.clickFrom(bob, restart, "click1", clickFrom{}); rep.status != http.StatusOK {
		t.Fatalf("restart click = %d %s", rep.status, rep.body)
	}
	w.waitForText("chat.postMessage", "Restarting", 10*time.Second)
	done := w.waitForText("chat.update", "restarted", 15*time.Second)
	if !strings.Contains(callText(done), bob) {
		t.Errorf("result %s does not name the requester", callText(done))
	}
	if got, _ := w.sim.Get(acctProd, "eu-west-1", "i-0000000000000a002"); got.State != ec2sim.StateRunning {
		t.Errorf("web-2 is %s, want running", got.State)
	}
	if s, r := w.sim.Calls("StopInstances"), w.sim.Calls("StartInstances"); s != 1 || r != 1 {
		t.Errorf("StopInstances = %d, StartInstances = %d, want 1 and 1", s, r)
	}
}

// The terminate modal submitted twice at once (a double click on Submit)
// terminates once.
func TestTerminateSubmittedTwice(t *testing.T) {
	t.Parallel()
	w := newWorld(t, worldOptions{})
	w.clickFrom(alice, mustButton(t, w.instanceCard("web-2", "card1"), "act:terminate", ""), "click1", clickFrom{})
	modal := w.openedView("views.open", 1)
	values := map[string]map[string]any{blocks.TerminateInputBlock: {blocks.TerminateInputAction: textInput("web-2")}}
	var wg sync.WaitGroup
	for range 2 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			rep, err := w.send(interactionRequest(submission(alice, modal, values)))
			if err != nil || rep.status != http.StatusOK {
				t.Errorf("submit = %d %s (%v)", rep.status, rep.body, err)
			}
		}()
	}
	wg.Wait()
	w.waitForText("chat.update", "web-2* terminated", 15*time.Second)
	w.waitForURLText("click1", "already in progress", 5*time.Second)
	if n := w.sim.Calls("TerminateInstances"); n != 1 {
		t.Errorf("TerminateInstances calls = %d, want 1", n)
	}
}

// Start and reboot, the other two buttons.
func TestStartAndReboot(t *testing.T) {
	t.Parallel()
	w := newWorld(t, worldOptions{})
	start := mustButton(t, w.instanceCard("old-1", "card1"), "act:start", "")
	if start.confirm {
		t.Errorf("Start asks for confirmation; it is harmless")
	}
	w.clickFrom(alice, start, "click1", clickFrom{})
	w.waitForText("chat.update", "old-1* started", 15*time.Second)
	w.clickFrom(alice, mustButton(t, w.instanceCard("web-1", "card2"), "act:reboot", ""), "click2", clickFrom{})
	w.waitForText("chat.update", "web-1* rebooted", 15*time.Second)
	if s, r := w.sim.Calls("StartInstances"), w.sim.Calls("RebootInstances"); s != 1 || r != 1 {
		t.Errorf("StartInstances = %d, RebootInstances = %d, want 1 and 1", s, r)
	}
	if got, _ := w.sim.Get(acctProd, "eu-west-1", "i-0000000000000b001"); got.State != ec2sim.StateRunning {
		t.Errorf("old-1 is %s, want running", got.State)
	}
}
