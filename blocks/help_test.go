package blocks_test

import (
	"strings"
	"testing"

	"github.com/slack-go/slack"

	"github.com/charlize-app/charlize/blocks"
)

type slackSection = slack.SectionBlock

var helpView = blocks.HelpView{
	Command: "/charlize",
	Commands: []blocks.CommandHelp{
		{Usage: "list <query>", Aliases: []string{"find"}, Description: "list instances", Example: "list running web*"},
		{Usage: "stop <instance>", Description: "stop an instance (asks to confirm)", Example: "stop web-1"},
	},
}

func TestHelpGolden(t *testing.T) {
	msg := blocks.Help(helpView)
	mustMatchGolden(t, "help", msg)
	mustRoundTrip(t, msg)
	if err := blocks.CheckMessage(msg.Blocks.BlockSet); err != nil {
		t.Errorf("Help breaks Block Kit limits: %v", err)
	}
}

func TestUnknown(t *testing.T) {
	tests := []struct {
		name, text, suggestion string
		wantInText             []string
		wantAbsent             []string
	}{
		{name: "typo", text: "stpo web-1", suggestion: "stop", wantInText: []string{"`stpo web-1`", "Did you mean `/charlize stop`?"}},
		{name: "no suggestion", text: "banana", wantInText: []string{"`banana`"}, wantAbsent: []string{"Did you mean"}},
		{name: "mention is not a mention", text: "<@U123> <!channel>", wantInText: []string{"`&lt;@U123&gt; &lt;!channel&gt;`"}, wantAbsent: []string{"<@U123>"}},
		{name: "backticks cannot end the code span", text: "a`b", wantInText: []string{"`a'b`"}},
		{name: "control characters", text: "a\x00\nb", wantInText: []string{"`a  b`"}},
		{name: "4000 characters", text: strings.Repeat("é", 4000), wantInText: []string{"…`"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			msg := blocks.Unknown(blocks.UnknownView{Text: tt.text, Suggestion: tt.suggestion, Help: helpView})
			if err := blocks.CheckMessage(msg.Blocks.BlockSet); err != nil {
				t.Fatalf("Unknown(%q) breaks limits: %v", tt.text, err)
			}
			mustRoundTrip(t, msg)
			first := msg.Blocks.BlockSet[0].(*slackSection).Text.Text
			for _, w := range tt.wantInText {
				if !strings.Contains(first, w) {
					t.Errorf("Unknown(%q) text = %q, want it to contain %q", tt.text, first, w)
				}
			}
			for _, w := range tt.wantAbsent {
				if strings.Contains(first, w) {
					t.Errorf("Unknown(%q) text = %q, want no %q", tt.text, first, w)
				}
			}
		})
	}
	mustMatchGolden(t, "unknown", blocks.Unknown(blocks.UnknownView{Text: "stpo web-1", Suggestion: "stop", Help: helpView}))
}
