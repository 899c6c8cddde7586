package blocks

import (
	"fmt"
	"strings"
	"time"

	"github.com/slack-go/slack"
)

// ActionIDConsole is the action_id of a card's "Console output" button,
// "console:<n>"; its value names the rendered item.
const ActionIDConsole = "console"

// Block ids of the card's parts, stable so that an update (the graph
// arriving) replaces them in place.
const (
	CardGraphBlock    = "card_graph"
	CardTagsBlock     = "card_tags"
	CardScheduleBlock = "card_schedule"
	CardNoticesBlock  = "card_notices"
)

// CardView is an instance's card: the instance, what Charlize knows about
// it beyond a listing, and its graph.
type CardView struct {
	Instance InstanceView
	Now      time.Time
	// Note is an optional context line (escaped here), e.g. "Press Stop to
	// stop web-1."
	Note string
	// Graph is the CPU graph, or why there is none (yet).
	Graph GraphView
	// ConsoleValue is the value of the "Console output" button; "" (or
	// over MaxButtonValue) leaves the button out.
	ConsoleValue string
	// Schedule describes the instance's schedule and its next step
	// ("office-hours (mon-fri 08:00-19:00 Europe/Warsaw) · next: stop Mon
	// 19:00 CET"); "" shows nothing. It is escaped.
	Schedule string
	// Notices are lines about buttons not offered and why, e.g. a dry run's
	// refusal; already worded for users (escaped here).
	Notices []string
}

// GraphView is the card's picture of the last hours. At most one of its
// states holds: a file to show, a graph being drawn, or why there is none.
type GraphView struct {
	// FileID is the uploaded PNG (a Slack file id, F…), shown in an image
	// block.
	FileID string
	// Title and AltText describe the picture: its title under it, the
	// alternative text for screen readers.
	Title, AltText string
	// Pending says the graph is being drawn; the card is updated when it is.
	Pending bool
	// Missing says why there is no graph, in one line ("CloudWatch has no
	// data for web-1 in the last 3 h").
	Missing string
}

// Card renders one instance with its buttons; note is an optional context
// line (escaped). ResponseType is left for the caller.
func Card(v InstanceView, now time.Time, note string) slack.WebhookMessage {
	return InstanceCard(CardView{Instance: v, Now: now, Note: note})
}

// Lengths in the card.
const (
	maxTagValue   = 100
	maxCardTags   = 12
	maxAltText    = 1000
	maxImageTitle = 200
	maxDNS        = 255
)

// InstanceCard renders a card. ResponseType is left for the caller.
func InstanceCard(c CardView) slack.WebhookMessage {
	v := c.Instance
	var fields []*slack.TextBlockObject
	field := func(label, value string) {
		if value != "" {
			fields = append(fields, mrkdwn(Truncate("*"+label+"*\n"+value, MaxFieldText)))
		}
	}
	// The title names the instance and its id; the fields say the rest.
	field("State", stateEmoji(v.State)+" "+esc(orUnknown(v.State), maxShort))
	typ := esc(v.Type, maxShort)
	if v.Platform != "" {
		typ = strings.TrimPrefix(typ+" · "+esc(v.Platform, maxShort), " · ")
	}
	field("Type", typ)
	field("Account", esc(v.Account, maxAccount))
	field("Region", esc(where(v), 2*maxShort))
	field("Private IP", esc(v.PrivateIP, maxShort))
	public := esc(v.PublicIP, maxShort)
	if v.PublicDNS != "" {
		public = strings.TrimPrefix(public+"\n"+esc(v.PublicDNS, maxDNS), "\n")
	}
	field("Public IP", public)
	field("Launched", launched(v.LaunchTime, c.Now))
	if v.TerminationProtected != nil {
		field("Termination protection", onOff(*v.TerminationProtected))
	}
	if v.StopProtected != nil {
		field("Stop protection", onOff(*v.StopProtected))
	}

	title := Code(v.ID, maxID)
	if v.Name != "" {
		title = "*" + esc(v.Name, maxName) + "* " + title
	}
	set := []slack.Block{slack.NewSectionBlock(mrkdwn(stateEmoji(v.State)+" "+title), fields, nil, slack.SectionBlockOptionBlockID("card"))}
	if line := tagsLine(v.Tags); line != "" {
		set = append(set, slack.NewContextBlock(CardTagsBlock, mrkdwn(line)))
	}
	if c.Schedule != "" {
		set = append(set, slack.NewContextBlock(CardScheduleBlock, mrkdwn("🗓 "+esc(c.Schedule, maxMessage))))
	}
	if g := graphBlock(c.Graph); g != nil {
		set = append(set, g)
	}
	var els []slack.BlockElement
	if acts := actionsBlock("acts:0", 0, v); acts != nil {
		els = acts.Elements.ElementSet
	}
	if c.ConsoleValue != "" && len(c.ConsoleValue) <= MaxButtonValue {
		els = append(els, slack.NewButtonBlockElement(ActionIDConsole+":0", c.ConsoleValue, plain("Console output")))
	}
	if len(els) > 0 {
		set = append(set, slack.NewActionBlock("acts:0", els...))
	}
	if len(c.Notices) > 0 {
		ns := make([]string, len(c.Notices))
		for i, n := range c.Notices {
			ns[i] = "🔒 " + esc(n, maxMessage)
		}
		set = append(set, slack.NewContextBlock(CardNoticesBlock, mrkdwn(joinBounded(ns, "\n", MaxSectionText))))
	}
	if c.Note != "" {
		set = append(set, slack.NewContextBlock("card_note", mrkdwn(esc(c.Note, maxMessage))))
	}
	return slack.WebhookMessage{
		Text:   fmt.Sprintf("%s %s in %s", esc(displayName(v), maxName), esc(orUnknown(v.State), maxShort), esc(place(v), 2*maxAccount)),
		Blocks: &slack.Blocks{BlockSet: set},
	}
}

// graphBlock is the picture, or a one-line context saying where it is.
func graphBlock(g GraphView) slack.Block {
	switch {
	case g.FileID != "":
		var title *slack.TextBlockObject
		if g.Title != "" {
			title = plainText(g.Title, maxImageTitle)
		}
		alt := Truncate(clean(g.AltText), maxAltText)
		if alt == "" {
			alt = "CPU graph"
		}
		return slack.NewImageBlockSlackFile(&slack.SlackFileObject{ID: g.FileID}, alt, CardGraphBlock, title)
	case g.Pending:
		return slack.NewContextBlock(CardGraphBlock, mrkdwn("📈 Drawing the CPU graph…"))
	case g.Missing != "":
		return slack.NewContextBlock(CardGraphBlock, mrkdwn("📉 "+esc(g.Missing, maxMessage)))
	}
	return nil
}

// tagsLine shows tags as "env `prod` · team `web`", or "" for none.
func tagsLine(tags []Tag) string {
	var parts []string
	for i, t := range tags {
		if i == maxCardTags {
			parts = append(parts, fmt.Sprintf("and %d more", len(tags)-maxCardTags))
			break
		}
		if t.Key == "" {
			continue
		}
		parts = append(parts, esc(t.Key, maxTagValue)+" "+Code(t.Value, maxTagValue))
	}
	if len(parts) == 0 {
		return ""
	}
	return "🏷 " + joinBounded(parts, " · ", MaxSectionText-4)
}
