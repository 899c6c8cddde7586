package blocks_test

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/slack-go/slack"

	"github.com/charlize-app/charlize/blocks"
)

// auditEntries has an entry of each kind, newest first.
var auditEntries = []blocks.AuditEntryView{
	{Time: now.Add(-1 * time.Minute), User: "U1", Channel: "C0OPS", Account: "acme-prod", Region: "eu-west-1",
		InstanceID: "i-0abc1234def567890", InstanceName: "web-1", Action: "stop", Decision: "allowed", Rule: "allow[0]",
		Result: "done", Duration: 41 * time.Second},
	{Time: now.Add(-3 * time.Minute), User: "U2", Channel: "C0OPS", Account: "acme-prod", Region: "eu-west-1",
		InstanceID: "i-0def5678abc123456", InstanceName: "db-1", Action: "start", Decision: "allowed",
		Result: "failed", Error: "AWS refused: UnauthorizedOperation (ec2:StartInstances) <@U9> & more", Duration: 3 * time.Second},
	{Time: now.Add(-10 * time.Minute), User: "U3", Channel: "C0OPS", Account: "acme-prod", Region: "eu-west-1",
		InstanceID: "i-0def5678abc123456", InstanceName: "db-1", Action: "terminate", Decision: "refused", Rule: "deny[2]", Result: "refused"},
	{Time: now.Add(-20 * time.Minute), User: "U1", Channel: "C0OPS", Account: "acme-prod", Region: "eu-west-1",
		InstanceID: "i-0abc1234def567890", InstanceName: "web-1", Action: "terminate", Decision: "denied", Rule: "approval[0]", Result: "refused"},
	{Time: now.Add(-30 * time.Minute), User: "U1", Channel: "C0OPS", Account: "acme-prod", Region: "eu-west-1",
		InstanceID: "i-0abc1234def567890", InstanceName: "web-1", Action: "terminate", Decision: "approval_requested", Rule: "approval[0]", Result: "pending"},
	{Time: now.Add(-40 * time.Minute), User: "U2", Channel: "C0OPS", Account: "acme-prod", Region: "eu-west-1",
		InstanceID: "i-0abc1234def567890", InstanceName: "web-1", Action: "reboot", Decision: "approved", Rule: "approval[0]", Result: "done", Duration: 2*time.Minute + 5*time.Second},
	{Time: now.Add(-50 * time.Minute), User: "U2", Channel: "C0OPS", Account: "acme-prod", Region: "eu-west-1",
		InstanceID: "i-0abc1234def567890", InstanceName: "web-1", Action: "restart", Decision: "approved", Rule: "approval[0]", Result: "pending"},
	{Time: now.Add(-2 * time.Hour), User: "U3", Channel: "D0DM", Account: "acme-dev", Region: "us-east-1",
		InstanceID: "i-0fedcba9876543210", InstanceName: "<!channel> & friends", Action: "terminate", Decision: "expired", Rule: "approval[1]", Result: "refused"},
	{Time: now.Add(-3 * time.Hour), User: "<!here>", Channel: "<#C1|x>", Account: "acme-dev", Region: "us-east-1",
		InstanceID: "i-0123456789abcdef0", Action: "start", Decision: "allowed", Result: "pending"},
}

func TestAuditGolden(t *testing.T) {
	msg := blocks.Audit(blocks.AuditView{Entries: auditEntries, Filter: "web-1 <!channel>", Limit: 25, Now: now})
	mustPassMessage(t, "Audit", msg)
	mustMatchGolden(t, "audit", msg)
	if want := "Audit log for web-1 &lt;!channel&gt;: 9 entries"; msg.Text != want {
		t.Errorf("Audit.Text = %q, want %q", msg.Text, want)
	}
	if got := msg.Blocks.BlockSet[0].(*slack.HeaderBlock).Text.Text; got != "Audit log: web-1 <!channel>" {
		t.Errorf("Audit header = %q, want the filter shown as plain text", got)
	}
}

func TestAuditLines(t *testing.T) {
	msg := blocks.Audit(blocks.AuditView{Entries: auditEntries, Now: now})
	mustPassMessage(t, "Audit", msg)
	if got := len(msg.Blocks.BlockSet); got != 3 {
		t.Fatalf("Audit(%d entries) = %d blocks, want 3 (header, summary, one section)", len(auditEntries), got)
	}
	lines := strings.Split(msg.Blocks.BlockSet[2].(*slack.SectionBlock).Text.Text, "\n")
	if len(lines) != len(auditEntries) {
		t.Fatalf("Audit = %d lines, want %d", len(lines), len(auditEntries))
	}
	for i, want := range []string{
		"✅ <!date^1741953540^{date_short_pretty} {time}|2025-03-14 11:59 UTC> <@U1> in <#C0OPS> stop *web-1* `i-0abc1234def567890` · acme-prod/eu-west-1 · rule `allow[0]` · 41 s",
		"❌ <!date^1741953420^{date_short_pretty} {time}|2025-03-14 11:57 UTC> <@U2> in <#C0OPS> start *db-1* `i-0def5678abc123456` · acme-prod/eu-west-1 · failed: AWS refused: UnauthorizedOperation (ec2:StartInstances) &lt;@U9&gt; &amp; more · 3 s",
		"🚫 ", "🚫 ", "🔐 ", "✅ ", "👍 ", "⌛ ", "⏳ ",
	} {
		if !strings.HasPrefix(lines[i], want) {
			t.Errorf("Audit line %d = %q, want prefix %q", i, lines[i], want)
		}
	}
	for _, bad := range []string{"<!channel>", "<!here>", "<#C1|x>"} {
		if strings.Contains(msg.Blocks.BlockSet[2].(*slack.SectionBlock).Text.Text, bad) {
			t.Errorf("Audit shows %q unescaped", bad)
		}
	}
}

func TestAuditEmptyGolden(t *testing.T) {
	msg := blocks.Audit(blocks.AuditView{Filter: "acme-prod", Limit: 10, Now: now})
	mustPassMessage(t, "Audit(empty)", msg)
	mustMatchGolden(t, "audit_empty", msg)
	if got := msg.Blocks.BlockSet[1].(*slack.SectionBlock).Text.Text; got != "No audit entries match." {
		t.Errorf("Audit(empty) = %q, want %q", got, "No audit entries match.")
	}
}

// manyAuditEntries are n entries with the longest values users and AWS can
// produce: 5000-character errors and names that try to mention everyone.
func manyAuditEntries(n int, name string) []blocks.AuditEntryView {
	es := make([]blocks.AuditEntryView, n)
	for i := range es {
		e := auditEntries[i%len(auditEntries)]
		e.Time = now.Add(-time.Duration(i) * time.Minute)
		e.InstanceName = name
		e.Account = strings.Repeat("a", 64)
		e.Error = strings.Repeat("<!channel> & ", 400)[:5000]
		e.Result = "failed"
		e.Rule = fmt.Sprintf("approval[%d]", i)
		es[i] = e
	}
	return es
}

func TestAudit100Golden(t *testing.T) {
	msg := blocks.Audit(blocks.AuditView{Entries: manyAuditEntries(100, "<!channel> web-"+strings.Repeat("x", 250)), Filter: "acme", Limit: 100, Now: now})
	mustPassMessage(t, "Audit(100)", msg)
	mustMatchGolden(t, "audit_100", msg)
	if n := len(msg.Blocks.BlockSet); n > blocks.MaxMessageBlocks {
		t.Errorf("Audit(100) = %d blocks, want at most %d", n, blocks.MaxMessageBlocks)
	}
	if got := countAuditLines(msg); got != 100 {
		t.Errorf("Audit(100) shows %d entries, want 100", got)
	}
	for _, b := range msg.Blocks.BlockSet {
		if s, ok := b.(*slack.SectionBlock); ok && strings.Contains(s.Text.Text, "<!channel>") {
			t.Fatalf("Audit(100) shows <!channel> unescaped: %q", s.Text.Text)
		}
	}
}

// TestAuditDropsOldest renders more entries than 50 blocks can hold.
func TestAuditDropsOldest(t *testing.T) {
	for _, tt := range []struct {
		name string
		n    int
		inst string
	}{
		{"1000 entries", 1000, "web-1"},
		{"ampersand names", 300, strings.Repeat("&", 300)},
	} {
		t.Run(tt.name, func(t *testing.T) {
			es := manyAuditEntries(tt.n, tt.inst)
			msg := blocks.Audit(blocks.AuditView{Entries: es, Limit: tt.n, Now: now})
			mustPassMessage(t, "Audit", msg)
			set := msg.Blocks.BlockSet
			if len(set) != blocks.MaxMessageBlocks {
				t.Errorf("Audit(%d) = %d blocks, want %d", tt.n, len(set), blocks.MaxMessageBlocks)
			}
			shown := countAuditLines(msg)
			last, ok := set[len(set)-1].(*slack.ContextBlock)
			if !ok {
				t.Fatalf("Audit(%d) last block = %T, want the note", tt.n, set[len(set)-1])
			}
			want := fmt.Sprintf("%d older entries not shown.", tt.n-shown)
			if got := last.ContextElements.Elements[0].(*slack.TextBlockObject).Text; got != want {
				t.Errorf("Audit(%d) note = %q, want %q", tt.n, got, want)
			}
			// The newest entry comes first; the oldest shown is entry shown-1.
			first := set[2].(*slack.SectionBlock).Text.Text
			if !strings.Contains(first, fmt.Sprintf("|%s>", now.UTC().Format("2006-01-02 15:04 UTC"))) {
				t.Errorf("Audit(%d) does not start with the newest entry: %.200q", tt.n, first)
			}
		})
	}
}

func countAuditLines(msg slack.WebhookMessage) int {
	n := 0
	for _, b := range msg.Blocks.BlockSet {
		if s, ok := b.(*slack.SectionBlock); ok && strings.HasPrefix(s.BlockID, "audit:") {
			n += strings.Count(s.Text.Text, "\n") + 1
		}
	}
	return n
}

func TestAuditSummary(t *testing.T) {
	for _, tt := range []struct {
		name    string
		entries int
		limit   int
		want    string
	}{
		{"as many as asked", 2, 2, "2 entries · newest first · as of <!date^1741953600^{date_short_pretty} {time}|2025-03-14 12:00 UTC>"},
		{"fewer than asked", 1, 25, "1 entry (asked for 25) · newest first · as of <!date^1741953600^{date_short_pretty} {time}|2025-03-14 12:00 UTC>"},
		{"no limit", 3, 0, "3 entries · newest first · as of <!date^1741953600^{date_short_pretty} {time}|2025-03-14 12:00 UTC>"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			msg := blocks.Audit(blocks.AuditView{Entries: auditEntries[:tt.entries], Limit: tt.limit, Now: now})
			mustPassMessage(t, "Audit", msg)
			got := msg.Blocks.BlockSet[1].(*slack.ContextBlock).ContextElements.Elements[0].(*slack.TextBlockObject).Text
			if got != tt.want {
				t.Errorf("Audit(%d entries, limit %d) summary = %q, want %q", tt.entries, tt.limit, got, tt.want)
			}
		})
	}
}

func TestAuditLongFilter(t *testing.T) {
	msg := blocks.Audit(blocks.AuditView{Entries: auditEntries[:1], Filter: strings.Repeat("<x>\n", 1000), Now: now})
	mustPassMessage(t, "Audit(long filter)", msg)
	if strings.Contains(msg.Text, "<x>") || strings.Contains(msg.Text, "\n") {
		t.Errorf("Audit(long filter).Text = %.100q, want it escaped on one line", msg.Text)
	}
}

// An action cut short by a shutdown reads as interrupted, not as unknown.
func TestAuditInterrupted(t *testing.T) {
	e := blocks.AuditEntryView{Time: now, User: "U1", Action: "stop", InstanceName: "web-1", InstanceID: "i-0abc1234def567890",
		Decision: "allowed", Result: "interrupted", Error: "Charlize was interrupted"}
	msg := blocks.Audit(blocks.AuditView{Entries: []blocks.AuditEntryView{e}, Now: now})
	mustPassMessage(t, "Audit", msg)
	line := msg.Blocks.BlockSet[2].(*slack.SectionBlock).Text.Text
	if !strings.HasPrefix(line, "⚠️") || !strings.Contains(line, "interrupted") {
		t.Errorf("Audit(interrupted) = %q, want a ⚠️ line saying interrupted", line)
	}
}

// The second person of an approved action is a mention beside the rule,
// not text inside its code span, and an error text from the log is
// escaped once, in the listing and in the channel post alike.
func TestAuditApproverAndError(t *testing.T) {
	e := blocks.AuditEntryView{Time: now, User: "U1", Action: "stop", InstanceName: "web-1", InstanceID: "i-0abc1234def567890",
		Decision: "approved", Result: "failed", Rule: "ops", ApprovedBy: "U2",
		Error: "the role lacks ec2:StopInstances for <b> & <!channel>"}
	list := blocks.Audit(blocks.AuditView{Entries: []blocks.AuditEntryView{e}, Now: now})
	mustPassMessage(t, "Audit", list)
	post := blocks.AuditPost(e)
	mustPassMessage(t, "AuditPost", post)
	for name, msg := range map[string]slack.WebhookMessage{"Audit": list, "AuditPost": post} {
		text := strings.Join(jsonStrings(t, msg), "\n")
		for _, want := range []string{"approved by <@U2>", "rule `ops`", "&lt;b&gt; &amp; &lt;!channel&gt;"} {
			if !strings.Contains(text, want) {
				t.Errorf("%s = %s, want %q", name, text, want)
			}
		}
		for _, bad := range []string{"&amp;lt;", "&amp;amp;", "<!channel>", "&lt;@U2&gt;"} {
			if strings.Contains(text, bad) {
				t.Errorf("%s = %s, has %q", name, text, bad)
			}
		}
	}
}

// jsonStrings is every string in v's JSON, as Slack reads them.
func jsonStrings(t *testing.T, v any) []string {
	t.Helper()
	raw, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	var doc any
	if err := json.Unmarshal(raw, &doc); err != nil {
		t.Fatal(err)
	}
	var out []string
	var walk func(any)
	walk = func(v any) {
		switch v := v.(type) {
		case string:
			out = append(out, v)
		case []any:
			for _, e := range v {
				walk(e)
			}
		case map[string]any:
			for _, e := range v {
				walk(e)
			}
		}
	}
	walk(doc)
	return out
}
