package blocks_test

import (
	"strings"
	"testing"
	"time"

	"github.com/slack-go/slack"

	"github.com/charlize-app/charlize/blocks"
	"github.com/charlize-app/charlize/ec2ops/action"
)

var approval = blocks.ApprovalView{
	Action:    action.Terminate,
	Instance:  web1,
	Requester: "U1",
	Rule:      "terminate on acme-prod needs a second person's approval",
	ExpiresAt: now.Add(15 * time.Minute),
	Value:     "nonce-approval",
}

func sectionText(t *testing.T, msg slack.WebhookMessage) string {
	t.Helper()
	s, ok := msg.Blocks.BlockSet[0].(*slack.SectionBlock)
	if !ok {
		t.Fatalf("first block = %T, want a section", msg.Blocks.BlockSet[0])
	}
	return s.Text.Text
}

// buttons are a message's buttons, wherever they are.
func buttons(msg slack.WebhookMessage) []*slack.ButtonBlockElement {
	var bs []*slack.ButtonBlockElement
	for _, b := range msg.Blocks.BlockSet {
		switch b := b.(type) {
		case *slack.ActionBlock:
			for _, el := range b.Elements.ElementSet {
				if btn, ok := el.(*slack.ButtonBlockElement); ok {
					bs = append(bs, btn)
				}
			}
		case *slack.SectionBlock:
			if b.Accessory != nil && b.Accessory.ButtonElement != nil {
				bs = append(bs, b.Accessory.ButtonElement)
			}
		}
	}
	return bs
}

func TestApprovalRequestGolden(t *testing.T) {
	msg := blocks.ApprovalRequest(approval)
	mustPassMessage(t, "ApprovalRequest", msg)
	mustMatchGolden(t, "approval_request", msg)
	if got, want := sectionText(t, msg), "🔐 <@U1> asks to *terminate* *web-1* (`i-0abc1234def567890`, acme-prod, eu-west-1). A second person allowed to terminate must approve."; got != want {
		t.Errorf("ApprovalRequest = %q, want %q", got, want)
	}
	if want := "🔐 <@U1> asks to terminate web-1 (acme-prod, eu-west-1); a second person must approve"; msg.Text != want {
		t.Errorf("ApprovalRequest.Text = %q, want %q", msg.Text, want)
	}
	if msg.ResponseType != "" {
		t.Errorf("ApprovalRequest.ResponseType = %q, want it left to the caller", msg.ResponseType)
	}

	bs := buttons(msg)
	if len(bs) != 2 {
		t.Fatalf("ApprovalRequest has %d buttons, want 2", len(bs))
	}
	approve, deny := bs[0], bs[1]
	seen := map[string]bool{}
	for _, b := range bs {
		if seen[b.ActionID] {
			t.Errorf("ApprovalRequest repeats action_id %q", b.ActionID)
		}
		seen[b.ActionID] = true
		if !strings.HasPrefix(b.ActionID, blocks.ActionIDApproval+":") {
			t.Errorf("action_id %q does not start with %q", b.ActionID, blocks.ActionIDApproval+":")
		}
		if b.Value != approval.Value {
			t.Errorf("button %s value = %q, want %q", b.ActionID, b.Value, approval.Value)
		}
	}
	if approve.ActionID != "approval:approve" || approve.Style != slack.StylePrimary || approve.Confirm == nil {
		t.Errorf("Approve = %s %q confirm %v, want approval:approve, primary, with a confirm", approve.ActionID, approve.Style, approve.Confirm != nil)
	}
	if deny.ActionID != "approval:deny" || deny.Style != slack.StyleDanger || deny.Confirm != nil {
		t.Errorf("Deny = %s %q confirm %v, want approval:deny, danger, without a confirm", deny.ActionID, deny.Style, deny.Confirm != nil)
	}
	c := approve.Confirm.Text
	if c.Type != slack.PlainTextType || !strings.HasPrefix(c.Text, "Terminate web-1 (i-0abc1234def567890) in acme-prod, eu-west-1?") || strings.Contains(c.Text, "<@") {
		t.Errorf("Approve confirm = %s %q, want plain text naming the action and instance, no mention", c.Type, c.Text)
	}
}

func TestApprovalRequestUntrusted(t *testing.T) {
	v := approval
	v.Instance = gone
	v.Action = "<!channel>"
	v.Requester = "<!here>"
	v.Rule = strings.Repeat("`", 500)
	v.ExpiresAt = time.Time{}
	msg := blocks.ApprovalRequest(v)
	mustPassMessage(t, "ApprovalRequest(untrusted)", msg)
	for _, b := range msg.Blocks.BlockSet {
		if s, ok := b.(*slack.SectionBlock); ok && (strings.Contains(s.Text.Text, "<!channel>") || strings.Contains(s.Text.Text, "<!here>")) {
			t.Errorf("ApprovalRequest shows a mention unescaped: %q", s.Text.Text)
		}
	}

	v.Value = strings.Repeat("n", blocks.MaxButtonValue+1)
	if bs := buttons(blocks.ApprovalRequest(v)); len(bs) != 0 {
		t.Errorf("ApprovalRequest(value too long) has %d buttons, want none", len(bs))
	}
	unnamed := approval
	unnamed.Instance = batch
	msg = blocks.ApprovalRequest(unnamed)
	mustPassMessage(t, "ApprovalRequest(unnamed)", msg)
	if got, want := sectionText(t, msg), "🔐 <@U1> asks to *terminate* `i-0123456789abcdef0` (acme-dev, us-east-1). A second person allowed to terminate must approve."; got != want {
		t.Errorf("ApprovalRequest(unnamed) = %q, want %q", got, want)
	}
}

func TestApprovalNotices(t *testing.T) {
	for _, tt := range []struct {
		name, golden string
		msg          slack.WebhookMessage
		line, text   string
	}{
		{
			"approved", "approval_approved", blocks.ApprovalDecided(approval, "U2", true),
			"👍 Approved by <@U2> — terminating *web-1*…",
			"👍 Approved by <@U2> — terminating web-1…",
		},
		{
			"denied", "approval_denied", blocks.ApprovalDecided(approval, "U2", false),
			"🚫 <@U2> denied <@U1>'s request to terminate *web-1*.",
			"🚫 <@U2> denied <@U1>'s request to terminate web-1.",
		},
		{
			"expired", "approval_expired", blocks.ApprovalExpired(approval),
			"⌛ <@U1>'s request to terminate *web-1* expired without approval.",
			"⌛ <@U1>'s request to terminate web-1 expired without approval.",
		},
		{
			"pending", "approval_pending", blocks.ApprovalPending(approval),
			"🔐 Your request to terminate *web-1* needs a second person's approval; I posted it in the channel. It expires <!date^1741954500^{date_short_pretty} {time}|2025-03-14 12:15 UTC>.",
			"🔐 Your request to terminate web-1 needs a second person's approval; I posted it in the channel. It expires 2025-03-14 12:15 UTC.",
		},
	} {
		t.Run(tt.name, func(t *testing.T) {
			mustPassMessage(t, tt.name, tt.msg)
			mustMatchGolden(t, tt.golden, tt.msg)
			if got := sectionText(t, tt.msg); got != tt.line {
				t.Errorf("%s = %q, want %q", tt.name, got, tt.line)
			}
			if tt.msg.Text != tt.text {
				t.Errorf("%s.Text = %q, want %q", tt.name, tt.msg.Text, tt.text)
			}
			if bs := buttons(tt.msg); len(bs) != 0 {
				t.Errorf("%s has %d buttons, want none", tt.name, len(bs))
			}
			if tt.msg.ResponseType != "" {
				t.Errorf("%s.ResponseType = %q, want it left to the caller", tt.name, tt.msg.ResponseType)
			}
		})
	}
}

func TestApprovalNoticesUntrusted(t *testing.T) {
	v := blocks.ApprovalView{Action: "<!channel>", Instance: gone, Requester: "<!here>", Rule: "<!everyone>"}
	for name, msg := range map[string]slack.WebhookMessage{
		"request":  blocks.ApprovalRequest(v),
		"approved": blocks.ApprovalDecided(v, "<!subteam^S1>", true),
		"denied":   blocks.ApprovalDecided(v, "", false),
		"expired":  blocks.ApprovalExpired(v),
		"pending":  blocks.ApprovalPending(v),
	} {
		mustPassMessage(t, name, msg)
		for _, b := range msg.Blocks.BlockSet {
			var texts []string
			switch b := b.(type) {
			case *slack.SectionBlock:
				texts = append(texts, b.Text.Text)
			case *slack.ContextBlock:
				for _, el := range b.ContextElements.Elements {
					texts = append(texts, el.(*slack.TextBlockObject).Text)
				}
			}
			for _, s := range append(texts, msg.Text) {
				if strings.Contains(s, "<!") {
					t.Errorf("%s shows a mention unescaped: %q", name, s)
				}
			}
		}
	}
}
