package blocks_test

import (
	"strings"
	"testing"
	"time"

	"github.com/slack-go/slack"

	"github.com/charlize-app/charlize/blocks"
	"github.com/charlize-app/charlize/ec2ops/action"
)

func TestProgressGolden(t *testing.T) {
	msg := blocks.Progress(blocks.ProgressView{Action: action.Stop, Verb: "Stopping", Instance: web1, Requester: "U1", State: "stopping", Elapsed: 12 * time.Second})
	mustPassMessage(t, "Progress", msg)
	mustMatchGolden(t, "progress", msg)
	if got, want := msg.Blocks.BlockSet[0].(*slack.SectionBlock).Text.Text, "⏳ Stopping *web-1* (acme-prod, eu-west-1) — requested by <@U1>"; got != want {
		t.Errorf("Progress text = %q, want %q", got, want)
	}

	fallback := blocks.Progress(blocks.ProgressView{Action: action.Start, Instance: db1, Requester: "U1",
		Elapsed:      125 * time.Second,
		FallbackNote: "I can't post in this channel — invite @Charlize to #ops to see progress here"})
	mustPassMessage(t, "Progress(fallback)", fallback)
	mustMatchGolden(t, "progress_fallback", fallback)
}

func TestResultGolden(t *testing.T) {
	stopped := db1
	ok := blocks.Result(blocks.ResultView{Action: action.Stop, Instance: stopped, Requester: "U1", OK: true, Elapsed: 41 * time.Second, Buttons: buttonsFor("stopped", "n9")})
	mustPassMessage(t, "Result(ok)", ok)
	mustMatchGolden(t, "result_ok", ok)
	if want := "✅ db-1 stopped in 41 s"; ok.Text != want {
		t.Errorf("Result(ok).Text = %q, want %q", ok.Text, want)
	}

	failed := blocks.Result(blocks.ResultView{Action: action.Stop, Instance: web1, Requester: "U1", Message: "AWS refused: UnauthorizedOperation (ec2:StopInstances) <@U2>", Buttons: buttonsFor("running", "n10")})
	mustPassMessage(t, "Result(failed)", failed)
	mustMatchGolden(t, "result_failed", failed)
	if want := "❌ could not stop web-1: AWS refused: UnauthorizedOperation (ec2:StopInstances) &lt;@U2&gt;"; failed.Text != want {
		t.Errorf("Result(failed).Text = %q, want %q", failed.Text, want)
	}
}

func TestResultVerbs(t *testing.T) {
	for _, tt := range []struct {
		action action.Action
		want   string
	}{
		{action.Start, "started"}, {action.Stop, "stopped"}, {action.Reboot, "rebooted"},
		{action.Restart, "restarted"}, {action.Terminate, "terminated"},
	} {
		msg := blocks.Result(blocks.ResultView{Action: tt.action, Instance: web1, OK: true, Elapsed: 2*time.Minute + 5*time.Second})
		mustPassMessage(t, "Result", msg)
		if want := "✅ web-1 " + tt.want + " in 2 min 5 s"; msg.Text != want {
			t.Errorf("Result(%s).Text = %q, want %q", tt.action, msg.Text, want)
		}
	}
	status := blocks.Result(blocks.ResultView{Action: action.Status, Instance: web1, OK: true, Requester: "U1", Buttons: web1.Buttons})
	mustPassMessage(t, "Result(status)", status)
	line := status.Blocks.BlockSet[0].(*slack.SectionBlock).Text.Text
	if !strings.HasPrefix(line, "*web-1* `i-0abc1234def567890` 🟢 running · t3.micro") {
		t.Errorf("Result(status) = %q, want the instance's line", line)
	}
}

func TestRefusal(t *testing.T) {
	msg := blocks.Refusal("Already in progress (by <@U2>).")
	mustPassMessage(t, "Refusal", msg)
	if msg.ResponseType != slack.ResponseTypeEphemeral || msg.ReplaceOriginal {
		t.Errorf("Refusal = response_type %q replace_original %v, want ephemeral, false", msg.ResponseType, msg.ReplaceOriginal)
	}
	if got := msg.Blocks.BlockSet[0].(*slack.SectionBlock).Text.Text; got != "Already in progress (by <@U2>)." {
		t.Errorf("Refusal text = %q", got)
	}
	mustPassMessage(t, "Refusal(long)", blocks.Refusal(strings.Repeat("x", 5000)))
	mustPassMessage(t, "Refusal(empty)", blocks.Refusal(""))
}
