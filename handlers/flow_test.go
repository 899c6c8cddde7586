package handlers_test

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/charlize-app/charlize/handlers/slacktest"
)

// list → click Stop (its confirm dialog is Slack's) → progress → stopped.
func TestListThenStop(t *testing.T) {
	w := newWorld(t, worldOptions{})
	status, ack := w.command(alice, "list web*", "list1")
	if status != http.StatusOK || !strings.Contains(ack.Text, "Looking up") {
		t.Fatalf("list ack = %d %q, want 200 Looking up…", status, ack.Text)
	}
	listed := w.slack.WaitFor(t, slacktest.MethodResponseURL, 1, 10*time.Second)[0].Message
	if !listed.ReplaceOriginal || !strings.Contains(messageText(listed), "web-1") || strings.Contains(messageText(listed), "db-1") {
		t.Fatalf("list = %s, want web-1 and web-2 only, replacing the ack", messageText(listed))
	}
	stop := mustButtonOf(t, listed, "web-1", "act:stop")
	if stop.value == "" || !stop.confirm {
		t.Fatalf("web-1 has no Stop button with a confirm dialog: %+v", instanceButtons(t, listed, "web-1"))
	}
	if status := w.click(alice, stop, "click1"); status != http.StatusOK {
		t.Fatalf("click = %d", status)
	}
	w.waitForText("chat.postMessage", "Stopping", 10*time.Second)
	done := w.waitForText("chat.update", "stopped", 15*time.Second)
	if !strings.Contains(callText(done), alice) {
		t.Errorf("result %s does not name the requester", callText(done))
	}
	if got, _ := w.sim.Get(acctProd, "eu-west-1", "i-0000000000000a001"); got.State != "stopped" {
		t.Errorf("web-1 in the simulator is %s, want stopped", got.State)
	}
	if n := w.sim.Calls("StopInstances"); n != 1 {
		t.Errorf("StopInstances calls = %d, want 1", n)
	}
	// The ephemeral list that held the button was replaced with progress, then the result.
	w.waitForText(slacktest.MethodResponseURL, "stopped", 5*time.Second)
}

// An action describes its instance once before acting: the checks (state,
// protection) and the policy's fresh-tags decision share that one call.
func TestActionDescribesOnceBeforeActing(t *testing.T) {
	w := newWorld(t, worldOptions{})
	w.command(alice, "list web-1", "once-list")
	listed := w.slack.WaitFor(t, slacktest.MethodResponseURL, 1, 10*time.Second)[0].Message
	stop := mustButtonOf(t, listed, "web-1", "act:stop")
	w.sim.Reset()
	w.click(alice, stop, "once-click")
	w.waitForText("chat.update", "stopped", 15*time.Second)
	describes := 0
	for _, c := range w.sim.CallLog() {
		if c.Action == "StopInstances" {
			break
		}
		if c.Action == "DescribeInstances" {
			describes++
		}
	}
	if describes != 1 {
		t.Errorf("%d DescribeInstances before StopInstances, want 1", describes)
	}
}
