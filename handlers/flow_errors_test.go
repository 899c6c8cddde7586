package handlers_test

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/slack-go/slack"

	"github.com/charlize-app/charlize/ec2ops/ec2sim"
)

// An action AWS refuses reports why, is audited as failed, and leaves its
// button usable: pressing it again (once the permission is fixed) acts,
// instead of claiming the failed attempt is still in progress.
func TestFailedActionCanBeRetried(t *testing.T) {
	t.Parallel()
	w := newWorld(t, worldOptions{})
	stop := mustButton(t, w.instanceCard("web-1", "card1"), "act:stop", "")
	w.sim.AddFault(ec2sim.Fault{Action: "StopInstances", Code: "UnauthorizedOperation", Times: 1})

	if rep := w.clickFrom(alice, stop, "click1", clickFrom{}); rep.status != http.StatusOK {
		t.Fatalf("click = %d %s", rep.status, rep.body)
	}
	failed := w.waitForText("chat.update", "could not stop", 15*time.Second)
	if !strings.Contains(callText(failed), "ec2:StopInstances") {
		t.Errorf("failure = %s, want the missing IAM action named", short(callText(failed)))
	}
	if got, _ := w.sim.Get(acctProd, "eu-west-1", "i-0000000000000a001"); got.State != ec2sim.StateRunning {
		t.Fatalf("web-1 is %s after a refused stop, want running", got.State)
	}
	waitAudit(t, w, "stop", "failed")

	// The same button again, now that AWS allows it.
	if rep := w.clickFrom(alice, stop, "click2", clickFrom{}); rep.status != http.StatusOK {
		t.Fatalf("second click = %d %s", rep.status, rep.body)
	}
	w.waitForText("chat.update", "web-1* stopped", 15*time.Second)
	if n := w.sim.Calls("StopInstances"); n != 2 {
		t.Errorf("StopInstances calls = %d, want 2 (the refused one and the retry)", n)
	}
	for _, m := range w.urlPosts("click2") {
		if strings.Contains(messageText(m), "already in progress") {
			t.Errorf("retry told %q", m.Text)
		}
	}
}

// A refresh button whose value is not a session is refused as unreadable,
// without a store or AWS round trip telling the user it expired.
func TestMalformedRefreshValue(t *testing.T) {
	t.Parallel()
	w := newWorld(t, worldOptions{})
	before := len(w.sim.CallLog())
	for _, value := range []string{"not-a-session", "", "../x"} {
		id := "refresh-" + strings.Trim(value, "./")
		rep := w.clickFrom(alice, button{actionID: "refresh", blockID: "list_nav", value: value}, id, clickFrom{value: value})
		if rep.status != http.StatusOK {
			t.Fatalf("refresh %q = %d %s", value, rep.status, rep.body)
		}
		if got := w.urlPost(id, 5*time.Second); !strings.Contains(got.Text, "couldn't read that button") {
			t.Errorf("refresh %q = %q, want that the button could not be read", value, got.Text)
		}
	}
	if n := len(w.sim.CallLog()) - before; n != 0 {
		t.Errorf("%d AWS calls, want 0", n)
	}
}

// waitAudit waits for an audit entry of action with result.
func waitAudit(t *testing.T, w *world, action, result string) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		entries, err := w.store.RecentAudit(context.Background(), 20)
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range entries {
			if string(e.Action) == action && string(e.Result) == result {
				return
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("no %s audit entry with result %s: %+v", action, result, entries)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// One account failing does not hide the others: the list says which
// account could not be listed and why, in words a user can act on.
func TestListWithFailingAccount(t *testing.T) {
	t.Parallel()
	w := newWorld(t, worldOptions{})
	w.sim.AddFault(ec2sim.Fault{Account: acctDev, Action: "AssumeRole", Code: "AccessDenied"})
	w.command(alice, "list", "list1")
	got := w.urlPost("list1", 15*time.Second)
	checkRendered(t, got)
	text := messageText(got)
	if !strings.Contains(text, "web-1") || strings.Contains(text, "i-0000000000000c001") {
		t.Errorf("list = %s, want acme-prod's instances only", short(text))
	}
	if !strings.Contains(text, "Could not list") || !strings.Contains(text, "acme-dev") || !strings.Contains(text, "trust policy") {
		t.Errorf("list = %s, want acme-dev's failure explained", short(text))
	}
}

// A modal whose session is gone keeps the modal open with the reason.
func TestExpiredModalSubmission(t *testing.T) {
	t.Parallel()
	w := newWorld(t, worldOptions{})
	for _, tc := range []struct {
		name, callbackID, block string
	}{
		{"picker", "picker", "picker_account"},
		{"terminate", "terminate", "confirm_block"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			v := &slack.View{CallbackID: tc.callbackID, PrivateMetadata: "0b0c0d0e-1f20-4a3b-8c4d-5e6f70819203",
				Blocks: slack.Blocks{BlockSet: []slack.Block{slack.NewInputBlock(tc.block, slack.NewTextBlockObject(slack.PlainTextType, "x", false, false), nil,
					slack.NewPlainTextInputBlockElement(nil, "x"))}}}
			rep := w.submitView(alice, v, map[string]map[string]any{})
			var errs slack.ViewSubmissionResponse
			rep.json(t, &errs)
			if rep.status != http.StatusOK || errs.ResponseAction != slack.RAErrors || !strings.Contains(errs.Errors[tc.block], "expired") {
				t.Errorf("submit = %d %s, want an inline expired error on %s", rep.status, rep.body, tc.block)
			}
		})
	}
	if n := len(w.sim.CallLog()); n != 0 {
		t.Errorf("%d AWS calls, want 0", n)
	}
}

// Slack's trigger_id lives 3 s; when views.open is refused for it, the user
// is told to try again and the operator's log says how late the call was.
// views.open says expired_trigger_id; the older dialog.open said
// trigger_expired, and both are understood. The command was answered at
// once, so the news comes through its response_url.
func TestTriggerExpired(t *testing.T) {
	for _, code := range []string{"expired_trigger_id", "trigger_expired"} {
		logs := &logBuffer{}
		w := newWorld(t, worldOptions{logs: logs})
		w.slack.Fail("views.open", code, 1)
		status, ack := w.command(alice, "", "expired-picker-"+code)
		if status != http.StatusOK || ack.Text != "" {
			t.Errorf("/charlize = %d %q, want 200 and nothing said yet", status, ack.Text)
		}
		if told := w.urlPost("expired-picker-"+code, 5*time.Second); !strings.Contains(told.Text, "3 seconds") || told.ResponseType != slack.ResponseTypeEphemeral {
			t.Errorf("/charlize refused with %s told %+v, want a private try-again message", code, told)
		}
		line := ""
		for _, l := range strings.Split(logs.String(), "\n") {
			if strings.Contains(l, `"msg":"trigger_id expired before views.open"`) {
				line = l
			}
		}
		if !strings.Contains(line, `"since_request"`) || !strings.Contains(line, `"modal":"picker"`) {
			t.Errorf("%s: no log line of the expired trigger with its timing; logs:\n%s", code, logs)
		}
	}
}

// A shutdown while an action waits for its state hands the action on: the
// message says Charlize is restarting, and the next start (here, on the
// same embedded store) finishes it in the same message, with one AWS call.
func TestShutdownDuringWaitHandsOff(t *testing.T) {
	w := newWorld(t, worldOptions{transition: 2 * time.Second})
	posted, list := w.sharedList(alice)
	stop := mustButtonOf(t, list, "web-1", "act:stop")
	w.clickFrom(alice, stop, "shutdown-click", clickFrom{messageTS: posted.TS})
	w.waitUpdate(posted.TS, "Stopping")
	deadline := time.Now().Add(10 * time.Second)
	for w.sim.Calls("StopInstances") == 0 {
		if time.Now().After(deadline) {
			t.Fatal("StopInstances never reached the simulator")
		}
		time.Sleep(10 * time.Millisecond)
	}

	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	if err := w.dispatcher.Close(ctx); err == nil {
		t.Fatal("Close returned before the wait ended; the test did not interrupt anything")
	}
	w.waitUpdate(posted.TS, "Charlize is restarting")
	if n := w.auditCount(entry("", "stop", "", "")); n != 0 {
		t.Errorf("%d stop entries audited at the handoff, want none until it ends", n)
	}

	w.restartDispatcher()
	w.waitUpdate(posted.TS, "web-1* stopped")
	w.waitAudit("done after the restart", entry(alice, "stop", "allowed", "done"))
	if n := w.sim.Calls("StopInstances"); n != 1 {
		t.Errorf("StopInstances = %d, want 1", n)
	}
	w.noLiveButton(t, stop, posted.TS, "")
}
