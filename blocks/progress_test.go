package blocks_test

import (
	"errors"
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

	failed := blocks.Result(blocks.ResultView{Action: action.Stop, Instance: web1, Requester: "U1", Message: blocks.Say("AWS refused: UnauthorizedOperation (%s) %s", "ec2:StopInstances", "<@U2>"), Buttons: buttonsFor("running", "n10")})
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
	msg := blocks.Refusal(blocks.Say("An action on %s is already in progress (by %s).", "<!channel> & co", blocks.User("U2")))
	mustPassMessage(t, "Refusal", msg)
	if msg.ResponseType != slack.ResponseTypeEphemeral || msg.ReplaceOriginal {
		t.Errorf("Refusal = response_type %q replace_original %v, want ephemeral, false", msg.ResponseType, msg.ReplaceOriginal)
	}
	want := "An action on &lt;!channel&gt; &amp; co is already in progress (by <@U2>)."
	if got := msg.Blocks.BlockSet[0].(*slack.SectionBlock).Text.Text; got != want || msg.Text != want {
		t.Errorf("Refusal text = %q, fallback %q, want %q", got, msg.Text, want)
	}
	mustPassMessage(t, "Refusal(long)", blocks.Refusal(blocks.Say("%s", strings.Repeat("x", 5000))))
	mustPassMessage(t, "Refusal(empty)", blocks.Refusal(blocks.Text{}))
}

func TestSay(t *testing.T) {
	at := time.Date(2026, 12, 1, 9, 30, 0, 0, time.UTC)
	for _, tt := range []struct {
		name          string
		text          blocks.Text
		mrkdwn, plain string
	}{
		{"wording and values", blocks.Say("Stop *%s* in %s?", "web-1", "acme-prod"), "Stop *web-1* in acme-prod?", "Stop *web-1* in acme-prod?"},
		{"hostile value", blocks.Say("no %s", "<https://evil.example/x|click me> & <!channel>"),
			"no &lt;https://evil.example/x|click me&gt; &amp; &lt;!channel&gt;", "no <https://evil.example/x|click me> & <!channel>"},
		{"escaped text stays as typed", blocks.Say("%s", "&lt;b&gt;"), "&amp;lt;b&amp;gt;", "&lt;b&gt;"},
		{"user", blocks.Say("by %s", blocks.User("U2")), "by <@U2>", "by @U2"},
		{"forged user", blocks.Say("by %s", blocks.User("U2> <!channel")), "by U2&gt; &lt;!channel", "by @U2> <!channel"},
		{"no user", blocks.Say("by %s", blocks.User("")), "by someone", "by someone"},
		{"time", blocks.Say("at %s", blocks.At(at)), "at <!date^1796117400^{date_short_pretty} {time}|2026-12-01 09:30 UTC>", "at 2026-12-01 09:30 UTC"},
		{"inline", blocks.Say("run %s", blocks.Inline("list `x` <y>")), "run `list 'x' &lt;y&gt;`", "run `list 'x' <y>`"},
		{"nested", blocks.Say("%s: %s", "a<b", blocks.Say("by %s", blocks.User("U1"))), "a&lt;b: by <@U1>", "a<b: by @U1"},
		{"control and direction characters", blocks.Say("%s", "web\n1\u202e2"), "web 12", "web 12"},
		{"numbers and percent", blocks.Say("%s of %s (100%%)", 3, time.Second), "3 of 1s (100%)", "3 of 1s (100%)"},
		{"an error is not text", blocks.Say("failed: %s", errors.New("secret")), "failed: %!s(*errors.errorString)", "failed: %!s(*errors.errorString)"},
		{"missing arg", blocks.Say("a %s b"), "a %!s(missing) b", "a %!s(missing) b"},
		{"named string type", blocks.Say("can't %s", action.Action("<stop>")), "can't &lt;stop&gt;", "can't <stop>"},
	} {
		if got := tt.text.Mrkdwn(); got != tt.mrkdwn {
			t.Errorf("%s: Mrkdwn() = %q, want %q", tt.name, got, tt.mrkdwn)
		}
		if got := tt.text.String(); got != tt.plain {
			t.Errorf("%s: String() = %q, want %q", tt.name, got, tt.plain)
		}
	}
}
