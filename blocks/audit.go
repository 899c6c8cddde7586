package blocks

import (
	"fmt"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/slack-go/slack"
)

// AuditEntryView is one audit log entry as the user sees it.
type AuditEntryView struct {
	Time                                                     time.Time
	User, Channel, Account, Region, InstanceID, InstanceName string
	// Decision is how the request was authorised: allowed, refused,
	// approval_requested, approved, denied or expired. Result is how it
	// ended: done, failed, refused or pending. Rule names the rule that
	// decided; Error is what went wrong, for users.
	Action, Decision, Rule, Result, Error string
	Duration                              time.Duration // 0 = not shown
}

// AuditView is the answer to /charlize audit [n] [instance|user|account].
type AuditView struct {
	Entries []AuditEntryView // newest first, already filtered
	Filter  string           // what the user filtered on ("" = none), echoed safely
	Limit   int              // n asked for
	Now     time.Time
}

// Decisions and results an audit entry may carry.
const (
	auditAllowed           = "allowed"
	auditRefused           = "refused"
	auditApprovalRequested = "approval_requested"
	auditApproved          = "approved"
	auditDenied            = "denied"
	auditExpired           = "expired"
	auditDone              = "done"
	auditFailed            = "failed"
	auditPending           = "pending"
	auditInterrupted       = "interrupted" // the wait was cut short by a shutdown
)

// Lengths (in runes, before escaping) at which audit values are cut: the
// log is a compact overview, so they are shorter than elsewhere.
const (
	maxAuditName  = 60
	maxAuditError = 150
	maxAuditRule  = 60
)

// auditFixedBlocks are the blocks an audit message has besides its entry
// sections: the header, the summary and the "older entries not shown" note.
const auditFixedBlocks = 3

// Audit renders audit log entries, one line each, several lines to a
// section. Lines that would not fit in MaxMessageBlocks are dropped, the
// oldest first, and counted in a note. ResponseType is left for the caller.
func Audit(v AuditView) slack.WebhookMessage {
	filter := strings.TrimSpace(clean(v.Filter))
	header := "Audit log"
	if filter != "" {
		header += ": " + filter
	}
	// plain_text: the filter is shown literally, never parsed.
	set := []slack.Block{slack.NewHeaderBlock(plain(Truncate(header, MaxHeaderText)), slack.HeaderBlockOptionBlockID("audit_header"))}

	text := "Audit log"
	if filter != "" {
		text += " for " + esc(filter, maxEchoedInput)
	}
	if len(v.Entries) == 0 {
		set = append(set, slack.NewSectionBlock(mrkdwn("No audit entries match."), nil, nil, slack.SectionBlockOptionBlockID("audit_empty")))
		return slack.WebhookMessage{Text: text + ": no entries match.", Blocks: &slack.Blocks{BlockSet: set}}
	}

	sections := packLines(auditLines(v.Entries), MaxSectionText, MaxMessageBlocks-auditFixedBlocks)
	shown := 0
	for _, s := range sections {
		shown += len(s)
	}
	set = append(set, slack.NewContextBlock("audit_summary", mrkdwn(auditSummary(v, shown))))
	for n, s := range sections {
		set = append(set, slack.NewSectionBlock(mrkdwn(strings.Join(s, "\n")), nil, nil,
			slack.SectionBlockOptionBlockID(fmt.Sprintf("audit:%d", n))))
	}
	if dropped := len(v.Entries) - shown; dropped > 0 {
		set = append(set, slack.NewContextBlock("audit_more",
			mrkdwn(fmt.Sprintf("%s not shown.", pluralEntries(dropped, "older ")))))
	}
	return slack.WebhookMessage{
		Text:   fmt.Sprintf("%s: %s", text, pluralEntries(len(v.Entries), "")),
		Blocks: &slack.Blocks{BlockSet: set},
	}
}

// auditSummary is the line under the header: how many entries are shown,
// of how many asked for, and when the log was read.
func auditSummary(v AuditView, shown int) string {
	s := pluralEntries(len(v.Entries), "")
	if shown < len(v.Entries) {
		s = fmt.Sprintf("%d of %s", shown, s)
	}
	if v.Limit > 0 && v.Limit != len(v.Entries) {
		s += fmt.Sprintf(" (asked for %d)", v.Limit)
	}
	s += " · newest first"
	if d := slackDate(v.Now); d != "" {
		s += " · as of " + d
	}
	return s
}

func pluralEntries(n int, adj string) string {
	if n == 1 {
		return "1 " + adj + "entry"
	}
	return fmt.Sprintf("%d %sentries", n, adj)
}

func auditLines(es []AuditEntryView) []string {
	lines := make([]string, len(es))
	for i, e := range es {
		lines[i] = auditLine(e)
	}
	return lines
}

// auditLine is one entry on one line:
// ✅ <date> <@U1> in <#C1> stop *web-1* `i-0abc` · acme-prod/eu-west-1 · rule `allow[0]` · 41 s
func auditLine(e AuditEntryView) string {
	emoji, label := auditMark(e)
	var b strings.Builder
	b.WriteString(emoji + " ")
	if d := slackDate(e.Time); d != "" {
		b.WriteString(d)
	} else {
		b.WriteString("unknown time")
	}
	if u := mention(e.User); u != "" {
		b.WriteString(" " + u)
	}
	if c := channelRef(e.Channel); c != "" {
		b.WriteString(" in " + c)
	}
	if a := esc(e.Action, maxShort); a != "" {
		b.WriteString(" " + a)
	}
	if e.InstanceName != "" {
		b.WriteString(" *" + esc(e.InstanceName, maxAuditName) + "*")
	}
	if e.InstanceID != "" {
		b.WriteString(" " + Code(e.InstanceID, maxID))
	}
	var parts []string
	var acctRegion []string
	for _, p := range []string{esc(e.Account, maxAccount), esc(e.Region, maxShort)} {
		if p != "" {
			acctRegion = append(acctRegion, p)
		}
	}
	if len(acctRegion) > 0 {
		parts = append(parts, strings.Join(acctRegion, "/"))
	}
	if msg := strings.TrimSpace(e.Error); msg != "" {
		if label == "" {
			label = "error"
		}
		label += ": " + esc(msg, maxAuditError)
	}
	if label != "" {
		parts = append(parts, label)
	}
	if e.Rule != "" {
		parts = append(parts, "rule "+Code(e.Rule, maxAuditRule))
	}
	if e.Duration > 0 {
		parts = append(parts, duration(e.Duration))
	}
	for _, p := range parts {
		b.WriteString(" · " + p)
	}
	// Every part is bounded, so this only guards against future changes.
	return Truncate(b.String(), MaxSectionText)
}

// auditMark is an entry's emoji and, unless it simply succeeded, a word
// for its outcome. A failure outranks the decision, and the decision
// outranks the result (an expired request ends "refused"); an approved
// action that is done shows ✅ and says it was approved.
func auditMark(e AuditEntryView) (emoji, label string) {
	switch {
	case e.Result == auditFailed:
		return "❌", "failed"
	case e.Decision == auditDenied:
		return "🚫", "denied"
	case e.Decision == auditRefused:
		return "🚫", "refused"
	case e.Decision == auditExpired:
		return "⌛", "expired"
	case e.Decision == auditApprovalRequested:
		return "🔐", "approval requested"
	case e.Result == auditRefused:
		return "🚫", "refused"
	case e.Decision == auditApproved && e.Result == auditDone:
		return "✅", "approved"
	case e.Decision == auditApproved:
		return "👍", "approved"
	case e.Result == auditDone:
		return "✅", ""
	case e.Result == auditPending:
		return "⏳", "pending"
	case e.Result == auditInterrupted:
		return "⚠️", "interrupted"
	}
	var words []string
	for _, w := range []string{e.Decision, e.Result} {
		if w != "" && w != auditAllowed {
			words = append(words, esc(strings.ReplaceAll(w, "_", " "), maxShort))
		}
	}
	return "❔", strings.Join(words, ", ")
}

// channelRef renders a Slack channel id as a channel link; anything else
// is shown escaped. Direct messages are not linked (they read as noise).
func channelRef(id string) string {
	if id == "" {
		return ""
	}
	for i, r := range id {
		if !(r >= 'A' && r <= 'Z' || r >= '0' && r <= '9') || i == 0 && r != 'C' && r != 'G' || i > 30 {
			if i == 0 && r == 'D' {
				return "a DM"
			}
			return esc(id, 40)
		}
	}
	return "<#" + id + ">"
}

// slackDate renders t in the reader's own time zone with Slack's date
// formatting, falling back to UTC; "" when t is zero.
func slackDate(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return fmt.Sprintf("<!date^%d^{date_short_pretty} {time}|%s>", t.Unix(), t.UTC().Format("2006-01-02 15:04 UTC"))
}

// packLines packs lines, in order, into at most maxGroups groups whose
// "\n"-joined length is at most maxRunes each. Lines that do not fit are
// dropped from the end; a line longer than maxRunes on its own is cut.
func packLines(lines []string, maxRunes, maxGroups int) [][]string {
	var groups [][]string
	size := 0
	for _, l := range lines {
		l = Truncate(l, maxRunes)
		n := utf8.RuneCountInString(l)
		if len(groups) > 0 && size+1+n <= maxRunes {
			groups[len(groups)-1] = append(groups[len(groups)-1], l)
			size += 1 + n
			continue
		}
		if len(groups) == maxGroups {
			break
		}
		groups = append(groups, []string{l})
		size = n
	}
	return groups
}
