package blocks

import (
	"cmp"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/slack-go/slack"

	"github.com/charlize-app/charlize/ec2ops/action"
	"github.com/charlize-app/charlize/store"
)

// AuditEntryView is one audit log entry as the user sees it.
type AuditEntryView struct {
	Time                                                     time.Time
	User, Channel, Account, Region, InstanceID, InstanceName string
	Action                                                   action.Action
	// Decision is how the request was authorised, Result how it ended.
	Decision store.Decision
	Result   store.Result
	// Rule names the rule that decided; Error is what went wrong, as plain
	// text for users (it is escaped when shown).
	Rule, Error string
	// ApprovedBy is the Slack user id of a two-person action's second person.
	ApprovedBy string
	Duration   time.Duration // 0 = not shown
}

// AuditView is the answer to /charlize audit [n] [instance|user|account].
type AuditView struct {
	Entries []AuditEntryView // newest first, already filtered
	Filter  string           // what the user filtered on ("" = none), echoed safely
	Limit   int              // n asked for
	Now     time.Time
}

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

// AuditPost renders one entry for the audit channel as a sentence rather
// than a listing: "✅ <@U1> stopped *web-1* (`i-0abc`, acme-prod,
// eu-west-1) in <#C1> · approved by <@U2> · rule `ops` · 41 s".
func AuditPost(e AuditEntryView) slack.WebhookMessage {
	emoji, label := auditMark(e)
	who := userSubject(e.User)
	var did string
	switch {
	case e.Result == store.ResultDone && e.Action.Done() != "":
		did = esc(e.Action.Done(), maxShort)
	case label != "":
		did = label + ": " + esc(string(e.Action), maxShort)
	default:
		did = esc(string(e.Action), maxShort)
	}
	inst := InstanceView{ID: e.InstanceID, Name: e.InstanceName, Account: e.Account, Region: e.Region}
	line := fmt.Sprintf("%s %s %s %s", emoji, who, did, instanceRef(inst))
	var where []string
	if e.InstanceName != "" && e.InstanceID != "" {
		where = append(where, Code(e.InstanceID, maxID))
	}
	if p := place(inst); p != "" {
		where = append(where, esc(p, 2*maxAccount))
	}
	if len(where) > 0 {
		line += " (" + strings.Join(where, ", ") + ")"
	}
	if c := channelRef(e.Channel); c != "" {
		line += " in " + c
	}
	var details []string
	if a := Mention(e.ApprovedBy); a != "" {
		details = append(details, "approved by "+a)
	}
	if e.Rule != "" {
		details = append(details, "rule "+Code(e.Rule, maxAuditRule))
	}
	if e.Duration > 0 {
		details = append(details, Duration(e.Duration))
	}
	if d := Date(e.Time); d != "" {
		details = append(details, d)
	}
	set := []slack.Block{slack.NewSectionBlock(mrkdwn(Truncate(line, MaxSectionText)), nil, nil, slack.SectionBlockOptionBlockID("audit_post"))}
	if e.Error != "" {
		set = append(set, slack.NewContextBlock("audit_post_error", mrkdwn(esc(e.Error, maxMessage))))
	}
	if len(details) > 0 {
		set = append(set, slack.NewContextBlock("audit_post_details", mrkdwn(strings.Join(details, " · "))))
	}
	text := fmt.Sprintf("%s %s %s %s", emoji, who, did, esc(cmp.Or(e.InstanceName, e.InstanceID), maxName))
	return slack.WebhookMessage{Text: Truncate(text, MaxSectionText), Blocks: &slack.Blocks{BlockSet: set}}
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
	if d := Date(v.Now); d != "" {
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
	if d := Date(e.Time); d != "" {
		b.WriteString(d)
	} else {
		b.WriteString("unknown time")
	}
	if u := Mention(e.User); u != "" {
		b.WriteString(" " + u)
	}
	if c := channelRef(e.Channel); c != "" {
		b.WriteString(" in " + c)
	}
	if a := esc(string(e.Action), maxShort); a != "" {
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
	if a := Mention(e.ApprovedBy); a != "" {
		parts = append(parts, "approved by "+a)
	}
	if e.Duration > 0 {
		parts = append(parts, Duration(e.Duration))
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
	case e.Result == store.ResultFailed:
		return "❌", "failed"
	case e.Decision == store.DecisionDenied:
		return "🚫", "denied"
	case e.Decision == store.DecisionRefused:
		return "🚫", "refused"
	case e.Decision == store.DecisionExpired:
		return "⌛", "expired"
	case e.Decision == store.DecisionApprovalRequested:
		return "🔐", "approval requested"
	case e.Result == store.ResultRefused:
		return "🚫", "refused"
	case e.Decision == store.DecisionApproved && e.Result == store.ResultDone:
		return "✅", "approved"
	case e.Decision == store.DecisionApproved:
		return "👍", "approved"
	case e.Result == store.ResultDone:
		return "✅", ""
	case e.Result == store.ResultPending:
		return "⏳", "pending"
	case e.Result == store.ResultInterrupted:
		return "⚠️", "interrupted"
	}
	var words []string
	for _, w := range []string{string(e.Decision), string(e.Result)} {
		if w != "" && w != string(store.DecisionAllowed) {
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

// Date renders t in the reader's own time zone with Slack's date
// formatting, falling back to UTC; "" when t is zero.
func Date(t time.Time) string {
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
