package blocks_test

import (
	"strings"
	"testing"

	"github.com/slack-go/slack"

	"github.com/charlize-app/charlize/blocks"
)

func TestTerminateModalGolden(t *testing.T) {
	m := blocks.TerminateModal(blocks.TerminateView{Instance: web1, Now: now, PrivateMetadata: "meta-t"})
	mustPassModal(t, "TerminateModal", m)
	mustMatchGolden(t, "terminate", m)

	failed := blocks.TerminateModal(blocks.TerminateView{Instance: db1, Now: now, PrivateMetadata: "meta-t",
		ErrorText: blocks.Say("Termination protection is on for %s: turn it off in the AWS console first.", "db-1")})
	mustPassModal(t, "TerminateModal(error)", failed)
	mustMatchGolden(t, "terminate_error", failed)
	if id := failed.Blocks.BlockSet[0].ID(); id != "terminate_error" {
		t.Errorf("TerminateModal(error) first block = %q, want terminate_error", id)
	}
}

func TestTerminateModal(t *testing.T) {
	unnamed := batch
	unnamed.TerminationProtected = nil
	tests := []struct {
		name      string
		inst      blocks.InstanceView
		wantLabel string
	}{
		{"named", web1, "Type web-1 to confirm"},
		{"unnamed", unnamed, "Type i-0123456789abcdef0 to confirm"},
		{"mention in name", gone, "Type <!channel> & friends to confirm"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := blocks.TerminateModal(blocks.TerminateView{Instance: tt.inst, Now: now})
			mustPassModal(t, "TerminateModal", m)
			if m.CallbackID != blocks.TerminateCallbackID || m.Title.Text != "Terminate instance" || m.Submit.Text != "Terminate" || m.Close.Text != "Cancel" {
				t.Errorf("TerminateModal = callback %q title %q submit %q close %q", m.CallbackID, m.Title.Text, m.Submit.Text, m.Close.Text)
			}
			last := m.Blocks.BlockSet[len(m.Blocks.BlockSet)-1].(*slack.InputBlock)
			if last.BlockID != blocks.TerminateInputBlock || last.Element.(*slack.PlainTextInputBlockElement).ActionID != blocks.TerminateInputAction {
				t.Errorf("TerminateModal input = %s/%s, want %s/%s", last.BlockID, last.Element.(*slack.PlainTextInputBlockElement).ActionID, blocks.TerminateInputBlock, blocks.TerminateInputAction)
			}
			if last.Label.Text != tt.wantLabel {
				t.Errorf("TerminateModal label = %q, want %q", last.Label.Text, tt.wantLabel)
			}
			if got, want := blocks.ConfirmText(tt.inst), strings.TrimSuffix(strings.TrimPrefix(tt.wantLabel, "Type "), " to confirm"); got != want {
				t.Errorf("ConfirmText = %q, want %q", got, want)
			}
			details := m.Blocks.BlockSet[0].(*slack.SectionBlock)
			var protection string
			for _, f := range details.Fields {
				if strings.HasPrefix(f.Text, "*Termination protection*") {
					protection = f.Text
				}
				if strings.Contains(f.Text, "<!channel>") {
					t.Errorf("field %q contains a live <!channel>", f.Text)
				}
			}
			if tt.inst.TerminationProtected == nil && !strings.HasSuffix(protection, "unknown") {
				t.Errorf("protection = %q, want unknown", protection)
			}
		})
	}
}
