package blocks_test

import (
	"testing"

	"github.com/slack-go/slack"

	"github.com/charlize-app/charlize/blocks"
)

func TestMentionReplyGolden(t *testing.T) {
	msg := blocks.MentionReply("/charlize", "nonce-open")
	mustPassMessage(t, "MentionReply", msg)
	mustMatchGolden(t, "mention_reply", msg)
	btn := msg.Blocks.BlockSet[1].(*slack.ActionBlock).Elements.ElementSet[0].(*slack.ButtonBlockElement)
	if btn.ActionID != blocks.ActionIDOpenPicker || btn.Value != "nonce-open" || btn.Text.Text != "Open the instance picker" {
		t.Errorf("MentionReply button = %s %s %q", btn.ActionID, btn.Value, btn.Text.Text)
	}
	if n := len(blocks.MentionReply("/charlize", "").Blocks.BlockSet); n != 1 {
		t.Errorf("MentionReply without a value has %d blocks, want 1 (no button)", n)
	}
}
