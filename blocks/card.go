package blocks

import (
	"fmt"
	"strings"
	"time"

	"github.com/slack-go/slack"
)

// Card renders one instance with its buttons; note is an optional context
// line (escaped). ResponseType is left for the caller.
func Card(v InstanceView, now time.Time, note string) slack.WebhookMessage {
	var fields []*slack.TextBlockObject
	field := func(label, value string) {
		if value != "" {
			fields = append(fields, mrkdwn(Truncate("*"+label+"*\n"+value, MaxFieldText)))
		}
	}
	field("Name", esc(v.Name, 500))
	field("Instance", Code(v.ID, maxID))
	field("State", stateEmoji(v.State)+" "+esc(orUnknown(v.State), maxShort))
	typ := esc(v.Type, maxShort)
	if v.Platform != "" {
		typ = strings.TrimPrefix(typ+" · "+esc(v.Platform, maxShort), " · ")
	}
	field("Type", typ)
	field("Account", esc(v.Account, maxAccount))
	field("Region", esc(where(v), 2*maxShort))
	field("Private IP", esc(v.PrivateIP, maxShort))
	field("Public IP", esc(v.PublicIP, maxShort))
	field("Launched", launched(v.LaunchTime, now))
	if v.TerminationProtected != nil {
		field("Termination protection", onOff(*v.TerminationProtected))
	}

	title := Code(v.ID, maxID)
	if v.Name != "" {
		title = "*" + esc(v.Name, maxName) + "* " + title
	}
	set := []slack.Block{slack.NewSectionBlock(mrkdwn(stateEmoji(v.State)+" "+title), fields, nil, slack.SectionBlockOptionBlockID("card"))}
	if acts := actionsBlock("acts:0", 0, v); acts != nil {
		set = append(set, acts)
	}
	if note != "" {
		set = append(set, slack.NewContextBlock("card_note", mrkdwn(esc(note, maxMessage))))
	}
	return slack.WebhookMessage{
		Text:   fmt.Sprintf("%s %s in %s", esc(displayName(v), maxName), esc(orUnknown(v.State), maxShort), esc(place(v), 2*maxAccount)),
		Blocks: &slack.Blocks{BlockSet: set},
	}
}
