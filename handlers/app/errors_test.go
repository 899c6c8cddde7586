package app

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/charlize-app/charlize/blocks"
	"github.com/charlize-app/charlize/ec2ops"
	"github.com/charlize-app/charlize/ec2ops/action"
	"github.com/charlize-app/charlize/handlers/slackclient"
	"github.com/charlize-app/charlize/store"
)

// Every error a user can meet outside AWS is worded by the one error path
// (ec2ops' kinds are worded in ec2ops and checked end to end by the
// handlers tests): each says what happened and what to do, names what it
// is about escaped once, and shows nothing of the error's own message.
func TestEveryUserFacingErrorIsWorded(t *testing.T) {
	d := bareDispatcher(t)

	const name = "<!channel> & web-1"
	at := time.Date(2026, 12, 1, 9, 30, 0, 0, time.UTC)
	for _, tt := range []struct {
		name string
		err  error
		want []string // in the mrkdwn Slack receives
	}{
		{"expired", errExpired, []string{"expired", "run `/charlize` again"}},
		{"foreign team", errForeignTeam, []string{"another workspace"}},
		{"unreadable button", errBadValue, []string{"couldn't read that button", "run `/charlize` again"}},
		{"value of another flow", &wrongFlowError{id: "x", got: kindCard, want: []flowKind{kindTerminate}, action: action.Terminate},
			[]string{"couldn't read that button", "run `/charlize` again"}},
		{"not installed", slackclient.ErrNotInstalled, []string{"not installed", "ask an admin"}},
		{"trigger expired", errTriggerExpired, []string{"3 seconds", "try again"}},
		{"busy", fmt.Errorf("queue: %w", ErrBusy), []string{"busy", "try again in a minute"}},
		{"no fleet", errNoFleet, []string{"No AWS accounts are configured"}},
		{"no account here", errNoAccountsHere, []string{"An admin can add its team id"}},
		{"approval gone", errApprovalGone, []string{"expired", "ask again"}},
		{"approval being posted", fmt.Errorf("decide on x: %w", errApprovalPosting), []string{"still being posted", "try again"}},
		{"policy", &deniedError{action: action.Terminate, target: name, reason: "no rule grants terminate on acme-prod to you"},
			[]string{"You can't terminate &lt;!channel&gt; &amp; web-1: no rule grants terminate on acme-prod to you."}},
		{"instance busy", &busyInstanceError{name: name, holder: "U0BOB"}, []string{"An action on &lt;!channel&gt; &amp; web-1 is already in progress (by <@U0BOB>)."}},
		{"claimed, running", &claimedError{action: action.Stop, name: name, requester: "U0BOB"}, []string{"Stop &lt;!channel&gt; &amp; web-1 is already in progress (by <@U0BOB>)."}},
		{"claimed, done", &claimedError{action: action.Stop, name: name, requester: "U0BOB", done: true, at: at, result: store.ResultDone},
			[]string{"&lt;!channel&gt; &amp; web-1 was already stopped by <@U0BOB> <!date^"}},
		{"self approval", &selfApprovalError{action: action.Terminate}, []string{"another person allowed to terminate must"}},
		{"decided", &decidedError{by: "U0BOB"}, []string{"already decided (by <@U0BOB>)"}},
		{"approval not posted", &approvalNotPostedError{cannotPost: true, err: errors.New("not_in_channel")}, []string{"/invite @Charlize"}},
		{"interrupted", &interruptedError{name: name, state: "stopping"}, []string{"&lt;!channel&gt; &amp; web-1 was stopping", "Run `/charlize status &lt;!channel&gt; &amp; web-1`"}},
		{"not started", &notStartedError{action: action.Stop, name: name}, []string{"Stop &lt;!channel&gt; &amp; web-1 was not done", "Ask again"}},
		{"scheduled step not started", &notStartedError{action: action.Stop, name: name, scheduled: true}, []string{"could not record this step when it was due", "not carried out"}},
		{"lookup failed", &lookupFailedError{query: "web-9", failures: []ec2ops.Failure{{Account: "acme-dev", Region: "us-east-1",
			Err: &ec2ops.Error{Kind: ec2ops.KindThrottled, Account: "acme-dev", Region: "us-east-1", Err: errors.New("RequestID: 1234-5678")}}}},
			[]string{"no instance matching `web-9`", "acme-dev (us-east-1)", "try again in a minute"}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			text, ok := d.userText(tt.err)
			if !ok {
				t.Fatalf("userText(%v) is not worded", tt.err)
			}
			raw, _ := json.Marshal(blocks.Refusal(text))
			var msg struct{ Text string }
			_ = json.Unmarshal(raw, &msg)
			for _, want := range tt.want {
				if !strings.Contains(msg.Text, want) {
					t.Errorf("userText(%T) = %q, want %q", tt.err, msg.Text, want)
				}
			}
			for _, leak := range []string{tt.err.Error(), "RequestID", "<!channel>"} {
				if strings.Contains(msg.Text, leak) {
					t.Errorf("userText(%T) = %q shows %q", tt.err, msg.Text, leak)
				}
			}
		})
	}

	// Anything else is a reference to the operator's log line.
	text := d.failureText(context.Background(), "test", errors.New("secret detail"))
	if got := text.Mrkdwn(); !strings.HasPrefix(got, "Something went wrong (ref `") || strings.Contains(got, "secret") {
		t.Errorf("failureText(unexpected) = %q, want a reference and nothing of the error", got)
	}
	text = d.failureText(context.Background(), "test", &ec2ops.Error{Kind: ec2ops.KindUnknown, Account: "acme-prod", Region: "eu-west-1", Err: errors.New("api error Weird: RequestID 42")})
	if got := text.Mrkdwn(); !strings.Contains(got, "talking to AWS for acme-prod (eu-west-1) (ref `") || strings.Contains(got, "Weird") {
		t.Errorf("failureText(unknown AWS) = %q, want the account, region and a reference only", got)
	}
}

// bareDispatcher is a Dispatcher on an embedded store of its own, with
// nothing else configured.
func bareDispatcher(t *testing.T) *Dispatcher {
	t.Helper()
	d, err := New(Options{Store: embeddedStore(t)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = d.Close(context.Background()) })
	return d
}

// embeddedStore is an embedded store of the test's own.
func embeddedStore(t *testing.T) *store.Embedded {
	t.Helper()
	st, err := store.OpenEmbedded(t.TempDir(), store.EmbeddedOptions{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return st
}
