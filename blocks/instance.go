package blocks

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/slack-go/slack"

	"github.com/charlize-app/charlize/ec2ops/action"
)

// Action ids. The dispatcher routes on the part before the first ":".
const (
	// ActionIDPrefixAct starts an instance button's action_id,
	// "act:<kind>:<n>" (e.g. "act:stop:3"), where n is the instance's index
	// on the page and keeps the ids of a message unique.
	ActionIDPrefixAct = "act"
	// ActionIDPage starts the navigation action_ids "page:prev" and "page:next".
	ActionIDPage = "page"
	// ActionIDRefresh is the action_id of a list's Refresh button.
	ActionIDRefresh = "refresh"
	// ActionIDOpenPicker is the action_id of the button that opens the picker.
	ActionIDOpenPicker = "open_picker"
	// ActionIDPickInstance starts "pick:<n>", choosing one of several matches.
	ActionIDPickInstance = "pick"
)

// Tag is an instance tag.
type Tag struct{ Key, Value string }

// Button is one action offered on an instance.
type Button struct {
	Kind  action.Action // an instance action; other kinds are not rendered
	Value string        // opaque reference (a nonce) the flow put there; at most MaxButtonValue
}

// InstanceView is one EC2 instance as the user sees it.
type InstanceView struct {
	ID, Name, State, Type, Account, Region, AZ, PrivateIP, PublicIP, Platform string
	PublicDNS                                                                 string

	LaunchTime           time.Time
	TerminationProtected *bool // nil = unknown (not shown)
	StopProtected        *bool // nil = unknown (not shown)
	// Tags are the key tags a card shows, in order (the Name tag is the
	// title and is not repeated).
	Tags []Tag
	// Buttons are the actions valid now. They are rendered in the order
	// status, start, stop, reboot, restart, terminate whatever their order here.
	Buttons []Button
}

// ListView is one page of a list of instances.
type ListView struct {
	Query       string         // as typed; "" lists everything
	Now         time.Time      // for ages
	Instances   []InstanceView // this page only, at most ListPageSize
	Page, Pages int            // 1-based page of Pages
	Total       int            // instances across pages
	StateCounts map[string]int // across all pages
	// Failures are the account/regions that could not be listed, e.g.
	// "acme-prod/eu-west-1: access denied".
	Failures []string
	// Button values; a navigation button is omitted when its value is "".
	PrevValue, NextValue, RefreshValue string
	Requester                          string // Slack user id who ran the query; "" = omit
}

// ListPageSize is the number of instances per page. Each instance takes a
// section and an actions block, so 20 of them keep a page within
// MaxMessageBlocks together with the header, counts, failures and navigation.
const ListPageSize = 20

// Lengths (in runes, before escaping) at which AWS and user values are cut
// in one-line renderings; tag values can be 256 characters long.
const (
	maxName    = 100
	maxID      = 40
	maxShort   = 40 // type, region, AZ, IP, platform, state
	maxAccount = 64
	maxMessage = 1500 // error messages shown to users
)

// confirmVerb is the verb of the actions that ask for confirmation in Slack's
// own dialog. Terminate has none: its flow opens a modal instead.
var confirmVerb = map[action.Action]string{action.Stop: "Stop", action.Reboot: "Reboot", action.Restart: "Restart"}

// List renders one page of instances. ResponseType is left for the caller.
func List(v ListView) slack.WebhookMessage {
	header := "Instances"
	if q := strings.TrimSpace(clean(v.Query)); q != "" {
		header += ": " + q
	}
	set := []slack.Block{slack.NewHeaderBlock(plain(Truncate(header, MaxHeaderText)), slack.HeaderBlockOptionBlockID("list_header"))}
	set = append(set, slack.NewContextBlock("list_counts", mrkdwn(countsLine(v))))
	if len(v.Failures) > 0 {
		fs := make([]string, len(v.Failures))
		for i, f := range v.Failures {
			fs[i] = esc(f, 300)
		}
		set = append(set, slack.NewContextBlock("list_failures",
			mrkdwn("⚠️ Could not list: "+joinBounded(fs, "; ", MaxSectionText-40))))
	}
	if len(v.Instances) == 0 {
		set = append(set, slack.NewSectionBlock(mrkdwn(noneText(v.Query)), nil, nil, slack.SectionBlockOptionBlockID("list_empty")))
	}
	shown := v.Instances
	if len(shown) > ListPageSize {
		shown = shown[:ListPageSize]
	}
	for n, inst := range shown {
		set = append(set, slack.NewSectionBlock(mrkdwn(instanceLine(inst, v.Now)), nil, nil,
			slack.SectionBlockOptionBlockID("inst:"+strconv.Itoa(n))))
		if acts := actionsBlock("acts:"+strconv.Itoa(n), n, inst); acts != nil {
			set = append(set, acts)
		}
	}
	if extra := len(v.Instances) - len(shown); extra > 0 {
		set = append(set, slack.NewContextBlock("list_more", mrkdwn(fmt.Sprintf("%d more on this page not shown.", extra))))
	}
	var nav []slack.BlockElement
	if v.PrevValue != "" && len(v.PrevValue) <= MaxButtonValue {
		nav = append(nav, slack.NewButtonBlockElement(ActionIDPage+":prev", v.PrevValue, plain("◀ Previous")))
	}
	if v.NextValue != "" && len(v.NextValue) <= MaxButtonValue {
		nav = append(nav, slack.NewButtonBlockElement(ActionIDPage+":next", v.NextValue, plain("Next ▶")))
	}
	if v.RefreshValue != "" && len(v.RefreshValue) <= MaxButtonValue {
		nav = append(nav, slack.NewButtonBlockElement(ActionIDRefresh, v.RefreshValue, plain("Refresh")))
	}
	if len(nav) > 0 {
		set = append(set, slack.NewActionBlock("list_nav", nav...))
	}

	text := fmt.Sprintf("%s matching %s", plural(v.Total, "instance"), esc(v.Query, maxEchoedInput))
	if strings.TrimSpace(v.Query) == "" {
		text = plural(v.Total, "instance")
	}
	return slack.WebhookMessage{Text: text, Blocks: &slack.Blocks{BlockSet: set}}
}

func noneText(query string) string {
	if strings.TrimSpace(query) == "" {
		return "No instances found."
	}
	return "No instances match " + Code(query, maxEchoedInput) + "."
}

// knownStates is the order in which state counts are shown.
var knownStates = []string{"running", "pending", "stopping", "stopped", "shutting-down", "terminated"}

func countsLine(v ListView) string {
	parts := []string{plural(v.Total, "instance")}
	add := func(state string) {
		if n := v.StateCounts[state]; n > 0 {
			parts = append(parts, fmt.Sprintf("%s %d %s", stateEmoji(state), n, esc(state, maxShort)))
		}
	}
	for _, s := range knownStates {
		add(s)
	}
	var others []string
	for s := range v.StateCounts {
		if !slices.Contains(knownStates, s) {
			others = append(others, s)
		}
	}
	slices.Sort(others)
	for _, s := range others {
		add(s)
	}
	if v.Pages > 1 {
		parts = append(parts, fmt.Sprintf("page %d/%d", v.Page, v.Pages))
	}
	if r := Mention(v.Requester); r != "" {
		parts = append(parts, "requested by "+r)
	}
	return joinBounded(parts, " · ", MaxSectionText)
}

// instanceLine is an instance on one line (the age only when now is set):
// *web-1* `i-0abc` 🟢 running · t3.micro · acme-prod · eu-west-1a · 10.0.0.1 · launched 3d ago
func instanceLine(inst InstanceView, now time.Time) string {
	var b strings.Builder
	if inst.Name != "" {
		fmt.Fprintf(&b, "*%s* ", esc(inst.Name, maxName))
	}
	b.WriteString(Code(inst.ID, maxID))
	fmt.Fprintf(&b, " %s %s", stateEmoji(inst.State), esc(orUnknown(inst.State), maxShort))
	for _, p := range []string{esc(inst.Type, maxShort), esc(inst.Account, maxAccount), esc(where(inst), 2*maxShort), esc(inst.PrivateIP, maxShort)} {
		if p != "" {
			b.WriteString(" · " + p)
		}
	}
	if a := ago(now, inst.LaunchTime); a != "" && !now.IsZero() {
		b.WriteString(" · launched " + a)
	}
	return Truncate(b.String(), MaxSectionText)
}

// maxMatches is how many choices Matches shows.
const maxMatches = 10

// Matches asks the user to choose one of several instances matching query;
// choice n's "Choose" button (action_id "pick:<n>") carries values[n]. A
// choice without a value (or one over MaxButtonValue) gets no button.
func Matches(query string, choices []InstanceView, values []string) slack.WebhookMessage {
	set := []slack.Block{slack.NewSectionBlock(mrkdwn(fmt.Sprintf("Several instances match %s. Choose one:", Code(query, maxEchoedInput))),
		nil, nil, slack.SectionBlockOptionBlockID("matches"))}
	for n, c := range choices {
		if n == maxMatches {
			break
		}
		var acc *slack.Accessory
		if n < len(values) && len(values[n]) <= MaxButtonValue {
			acc = slack.NewAccessory(slack.NewButtonBlockElement(ActionIDPickInstance+":"+strconv.Itoa(n), values[n], plain("Choose")))
		}
		set = append(set, slack.NewSectionBlock(mrkdwn(instanceLine(c, time.Time{})), nil, acc,
			slack.SectionBlockOptionBlockID("match:"+strconv.Itoa(n))))
	}
	if extra := len(choices) - maxMatches; extra > 0 {
		set = append(set, slack.NewContextBlock("matches_more", mrkdwn(fmt.Sprintf("and %d more — narrow the query", extra))))
	}
	return slack.WebhookMessage{
		Text:   fmt.Sprintf("%d instances match %s", len(choices), Code(query, maxEchoedInput)),
		Blocks: &slack.Blocks{BlockSet: set},
	}
}

// maxClosest is how many close names NoMatch suggests.
const maxClosest = 10

// NoMatch says nothing matches query, suggesting the closest names if any.
func NoMatch(query string, closest []string) slack.WebhookMessage {
	text := "No instance matches " + Code(query, maxEchoedInput) + "."
	if len(closest) > 0 {
		names := make([]string, 0, len(closest))
		for _, c := range closest {
			names = append(names, Code(c, maxName))
		}
		if len(names) > maxClosest {
			names = append(names[:maxClosest], fmt.Sprintf("and %d more", len(closest)-maxClosest))
		}
		text += "\nClosest names: " + strings.Join(names, ", ")
	}
	return slack.WebhookMessage{
		Text:   "No instance matches " + Code(query, maxEchoedInput) + ".",
		Blocks: &slack.Blocks{BlockSet: []slack.Block{slack.NewSectionBlock(mrkdwn(Truncate(text, MaxSectionText)), nil, nil, slack.SectionBlockOptionBlockID("no_match"))}},
	}
}

// actionsBlock renders an instance's buttons, action_ids "act:<kind>:<n>",
// or nil when it has none. Unknown kinds, repeated kinds and values over
// MaxButtonValue are left out: Slack would reject the whole message.
func actionsBlock(blockID string, n int, inst InstanceView) *slack.ActionBlock {
	var els []slack.BlockElement
	for _, kind := range action.OnInstance() {
		for _, b := range inst.Buttons {
			if b.Kind != kind {
				continue
			}
			if len(b.Value) <= MaxButtonValue {
				els = append(els, button(kind, n, b.Value, inst))
			}
			break
		}
	}
	if len(els) == 0 {
		return nil
	}
	return slack.NewActionBlock(blockID, els...)
}

func button(kind action.Action, n int, value string, inst InstanceView) *slack.ButtonBlockElement {
	btn := slack.NewButtonBlockElement(ActionIDPrefixAct+":"+string(kind)+":"+strconv.Itoa(n), value, plain(kind.Label()))
	switch kind {
	case action.Start:
		btn.Style = slack.StylePrimary
	case action.Terminate:
		btn.Style = slack.StyleDanger
	}
	if verb, ok := confirmVerb[kind]; ok {
		// plain_text: shown literally, never parsed for mentions.
		text := fmt.Sprintf("%s %s (%s) in %s?", verb, Truncate(clean(inst.Name), maxName), Truncate(clean(inst.ID), maxID), Truncate(clean(place(inst)), 2*maxAccount))
		if inst.Name == "" {
			text = fmt.Sprintf("%s %s in %s?", verb, Truncate(clean(inst.ID), maxID), Truncate(clean(place(inst)), 2*maxAccount))
		}
		btn.Confirm = slack.NewConfirmationBlockObject(
			plain(verb+" instance?"),
			plain(Truncate(text, MaxConfirmText)),
			plain(verb+" it"),
			plain("Cancel"),
		).WithStyle(slack.StyleDanger)
	}
	return btn
}

// stateEmoji marks a state: 🟢 running, 🟡 on the way, 🔴 stopped,
// ⚫ terminated, ❔ anything else.
func stateEmoji(state string) string {
	switch state {
	case "running":
		return "🟢"
	case "pending", "stopping", "shutting-down":
		return "🟡"
	case "stopped":
		return "🔴"
	case "terminated":
		return "⚫"
	}
	return "❔"
}

// ago is how long ago t was, coarsely: "3d ago", "5h ago", "12m ago",
// "just now" within a minute; "" when t is zero.
func ago(now, t time.Time) string {
	if t.IsZero() {
		return ""
	}
	d := now.Sub(t)
	switch {
	case d >= 24*time.Hour:
		return fmt.Sprintf("%dd ago", int(d/(24*time.Hour)))
	case d >= time.Hour:
		return fmt.Sprintf("%dh ago", int(d/time.Hour))
	case d >= time.Minute:
		return fmt.Sprintf("%dm ago", int(d/time.Minute))
	}
	return "just now"
}

// Duration renders a span of time for people: "41 s", "2 min 5 s",
// "1 h 3 min" (Go's own form reads "1h3m0s"): progress, alarms, the audit
// and schedule messages use it.
func Duration(d time.Duration) string {
	d = d.Round(time.Second)
	if d < 0 {
		d = 0
	}
	h, m, s := int(d/time.Hour), int(d%time.Hour/time.Minute), int(d%time.Minute/time.Second)
	switch {
	case h > 0 && m > 0:
		return fmt.Sprintf("%d h %d min", h, m)
	case h > 0:
		return fmt.Sprintf("%d h", h)
	case m > 0 && s > 0:
		return fmt.Sprintf("%d min %d s", m, s)
	case m > 0:
		return fmt.Sprintf("%d min", m)
	}
	return fmt.Sprintf("%d s", s)
}

// launched renders a launch time in the reader's own time zone (Slack's
// date formatting), with a UTC fallback and the age.
func launched(t, now time.Time) string {
	if t.IsZero() {
		return ""
	}
	return fmt.Sprintf("<!date^%d^{date_short_pretty} {time}|%s> (%s)", t.Unix(), t.UTC().Format("2006-01-02 15:04 UTC"), ago(now, t))
}

// where is the region, or the AZ when it names the region too.
func where(inst InstanceView) string {
	switch {
	case inst.AZ == "":
		return inst.Region
	case inst.Region == "" || strings.HasPrefix(inst.AZ, inst.Region):
		return inst.AZ
	}
	return inst.Region + "/" + inst.AZ
}

// place is "account, region" for sentences, raw (escape it where it goes).
func place(inst InstanceView) string {
	var ps []string
	for _, p := range []string{Truncate(inst.Account, maxAccount), Truncate(inst.Region, maxShort)} {
		if p != "" {
			ps = append(ps, p)
		}
	}
	if len(ps) == 0 {
		return "an unknown account"
	}
	return strings.Join(ps, ", ")
}

// displayName is what names an instance in sentences: its Name, else its id.
func displayName(inst InstanceView) string {
	if inst.Name != "" {
		return inst.Name
	}
	return inst.ID
}

func orUnknown(state string) string {
	if state == "" {
		return "unknown"
	}
	return state
}

func onOff(b bool) string {
	if b {
		return "on"
	}
	return "off"
}

func plural(n int, what string) string {
	if n == 1 {
		return "1 " + what
	}
	return fmt.Sprintf("%d %ss", n, what)
}
