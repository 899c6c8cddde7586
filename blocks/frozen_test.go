package blocks_test

import (
	"encoding/json"
	"testing"

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
