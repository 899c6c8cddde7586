package blocks_test

import (
	"encoding/json"
	"os"
	"path/filepath"
	"testing"

	"github.com/slack-go/slack"

	"github.com/charlize-app/charlize/blocks"
)

// TestFreeze: frozen blocks are encoded as the originals, so an answer
// built on the frozen help is the answer built on a fresh one.
func TestFreeze(t *testing.T) {
	help := blocks.HelpView{Command: "/charlize", Commands: []blocks.CommandHelp{
		{Usage: "list <query>", Aliases: []string{"find"}, Description: "list <instances> & more", Example: "list running"},
		{Usage: "help", Description: "what Charlize can do"},
	}}
	frozen, err := blocks.Freeze(blocks.HelpBlocks(help))
	if err != nil {
		t.Fatal(err)
	}
	fresh := blocks.Unknown(blocks.UnknownView{Text: "stpo <web-1>", Suggestion: "stop", Help: help})
	reused := blocks.Unknown(blocks.UnknownView{Text: "stpo <web-1>", Suggestion: "stop", Help: help, HelpBlocks: frozen})
	a, errA := json.Marshal(fresh)
	b, errB := json.Marshal(reused)
	if errA != nil || errB != nil || string(a) != string(b) {
		t.Errorf("Unknown on frozen help = %s (%v)\nwant %s (%v)", b, errB, a, errA)
	}
	for i, blk := range frozen {
		if orig := blocks.HelpBlocks(help)[i]; blk.BlockType() != orig.BlockType() || blk.ID() != orig.ID() {
			t.Errorf("frozen block %d = %s %q, want %s %q", i, blk.BlockType(), blk.ID(), orig.BlockType(), orig.ID())
		}
	}
}

// TestAppendMessage: the cheaper encoder gives Slack the bytes json.Marshal
// gives, for messages with frozen, fresh, nested and no blocks, after what
// the reused buffer already holds.
func TestAppendMessage(t *testing.T) {
	help := blocks.HelpView{Command: "/charlize", Commands: []blocks.CommandHelp{
		{Usage: "list <query>", Aliases: []string{"find"}, Description: "list <instances> & \"more\"", Example: "list running"},
	}}
	frozen, err := blocks.Freeze(blocks.HelpBlocks(help))
	if err != nil {
		t.Fatal(err)
	}
	messages := map[string]slack.WebhookMessage{
		"text only":            {ResponseType: slack.ResponseTypeEphemeral, Text: "🔎 Looking up <web-1> & \"more\"…"},
		"empty":                {},
		"no blocks set":        {Text: "x", Blocks: &slack.Blocks{}},
		"help":                 blocks.Help(help),
		"unknown, frozen help": blocks.Unknown(blocks.UnknownView{Text: "stpo </script>", Suggestion: "stop", Help: help, HelpBlocks: frozen}),
		"matches": blocks.Matches("web", []blocks.InstanceView{{ID: "i-0abc", Name: "web-1", State: "running", Account: "prod", Region: "eu-west-1"}},
			[]string{"v1"}),
		"mention": blocks.MentionReply("/charlize", "open"),
	}
	const held = "held before "
	for name, m := range messages {
		want, errWant := json.Marshal(m)
		got, errGot := blocks.AppendMessage([]byte(held), m)
		if errWant != nil || errGot != nil || string(got) != held+string(want) {
			t.Errorf("%s: AppendMessage = %s (%v)\nwant %s%s (%v)", name, got, errGot, held, want, errWant)
		}
	}
}

// TestAppendMessageGoldens: the same for every message in the goldens,
// decoded into slack-go's block types.
func TestAppendMessageGoldens(t *testing.T) {
	files, err := filepath.Glob("testdata/*.golden.json")
	if err != nil || len(files) == 0 {
		t.Fatalf("goldens: %v (%d files)", err, len(files))
	}
	messages := 0
	for _, file := range files {
		raw, err := os.ReadFile(file)
		if err != nil {
			t.Fatal(err)
		}
		var m slack.WebhookMessage
		if json.Unmarshal(raw, &m) != nil || m.Blocks == nil || len(m.Blocks.BlockSet) == 0 {
			continue // a modal or options, not a message
		}
		messages++
		want, errWant := json.Marshal(m)
		got, errGot := blocks.AppendMessage(nil, m)
		if errWant != nil || errGot != nil || string(got) != string(want) {
			t.Errorf("%s: AppendMessage = %s (%v)\nwant %s (%v)", file, got, errGot, want, errWant)
		}
	}
	if messages < 20 {
		t.Errorf("only %d goldens are messages with blocks", messages)
	}
}
