package blocks

import (
	"fmt"
	"strings"
	"time"

	"github.com/slack-go/slack"

	"github.com/charlize-app/charlize/ec2ops/action"
)

// ProgressView is an action under way.
type ProgressView struct {
	Action    action.Action
	Verb      string // e.g. "Stopping"; "" = derived from Action
	Instance  InstanceView
	Requester string        // Slack user id
	Approver  string        // the second person of a two-person action; "" = none
	State     string        // current EC2 state; "" = Instance.State
	Elapsed   time.Duration // since the action was requested; 0 = not shown
	// FallbackNote explains where progress is shown when Charlize cannot
	// post in the channel, e.g. "I can't post in this channel — invite
	// @Charlize to #ops to see progress here". It is escaped; "" = none.
	FallbackNote string
}

// ResultView is how an action ended.
type ResultView struct {
	Action    action.Action
	Instance  InstanceView
	Requester string // Slack user id
	Approver  string // the second person of a two-person action; "" = none
	OK        bool
	Elapsed   time.Duration // 0 = not shown
	Message   Text          // what went wrong, for users, when !OK
	Buttons   []Button      // actions valid in the instance's new state
}

// Progress renders an action under way:
// "⏳ Stopping *web-1* (acme-prod, eu-west-1) — requested by <@U1>", with the
// state and elapsed time in a context line.
func Progress(v ProgressView) slack.WebhookMessage {
	verb := v.Verb
	if verb == "" {
		verb = v.Action.Doing()
	}
	if verb == "" {
		verb = "Working on"
	}
	verb = esc(verb, maxShort)
	name := esc(displayName(v.Instance), maxName)
	where := esc(place(v.Instance), 2*maxAccount)
	line := fmt.Sprintf("⏳ %s *%s* (%s)", verb, name, where)
	line += whoAsked(v.Requester, v.Approver)
	state := v.State
	if state == "" {
		state = v.Instance.State
	}
	status := "state: " + esc(orUnknown(state), maxShort)
	if v.Elapsed > 0 {
		status += " · " + Duration(v.Elapsed)
	}
	set := []slack.Block{
		slack.NewSectionBlock(mrkdwn(Truncate(line, MaxSectionText)), nil, nil, slack.SectionBlockOptionBlockID("progress")),
		slack.NewContextBlock("progress_state", mrkdwn(status)),
	}
	if v.FallbackNote != "" {
		set = append(set, slack.NewContextBlock("progress_note", mrkdwn("ℹ️ "+esc(v.FallbackNote, maxMessage))))
	}
	return slack.WebhookMessage{
		Text:   fmt.Sprintf("%s %s (%s)", verb, name, where),
		Blocks: &slack.Blocks{BlockSet: set},
	}
}

// Result renders how an action ended: "✅ *web-1* stopped in 41 s" or
// "❌ could not stop *web-1*: <message>", who asked, and the instance's
// buttons for its new state. A status result shows the instance's line.
func Result(v ResultView) slack.WebhookMessage {
	inst := v.Instance
	name := esc(displayName(inst), maxName)
	verb := esc(string(v.Action), maxShort)
	var line, text string
	switch {
	case !v.OK:
		msg := v.Message
		if strings.TrimSpace(msg.String()) == "" {
			msg = Say("something went wrong")
		}
		why := Truncate(msg.Mrkdwn(), maxMessage)
		line = fmt.Sprintf("❌ could not %s *%s* (%s): %s", verb, name, esc(place(inst), 2*maxAccount), why)
		text = fmt.Sprintf("❌ could not %s %s: %s", verb, name, why)
	case v.Action == action.Status:
		line = instanceLine(inst, time.Time{})
		text = fmt.Sprintf("%s %s", name, esc(orUnknown(inst.State), maxShort))
	default:
		done := v.Action.Done()
		if done == "" {
			done = "done: " + verb
		}
		text = fmt.Sprintf("✅ %s %s", name, done)
		line = fmt.Sprintf("✅ *%s* %s", name, done)
		if v.Elapsed > 0 {
			text += " in " + Duration(v.Elapsed)
			line += " in " + Duration(v.Elapsed)
		}
		line += " (" + esc(place(inst), 2*maxAccount) + ")"
	}
	line += whoAsked(v.Requester, v.Approver)
	set := []slack.Block{slack.NewSectionBlock(mrkdwn(Truncate(line, MaxSectionText)), nil, nil, slack.SectionBlockOptionBlockID("result"))}
	withButtons := inst
	withButtons.Buttons = v.Buttons
	if acts := actionsBlock("acts:0", 0, withButtons); acts != nil {
		set = append(set, acts)
	}
	return slack.WebhookMessage{Text: Truncate(text, MaxSectionText), Blocks: &slack.Blocks{BlockSet: set}}
}

// whoAsked is " — requested by <@U1>", with ", approved by <@U2>" for a
// two-person action; "" when nobody is named.
func whoAsked(requester, approver string) string {
	var s string
	if r := Mention(requester); r != "" {
		s = " — requested by " + r
	}
	if a := Mention(approver); a != "" {
		if s == "" {
			return " — approved by " + a
		}
		s += ", approved by " + a
	}
	return s
}

// Refusal renders a short ephemeral answer such as "already in progress (by
// <@U2>)" or "this picker expired — run /charlize again".
func Refusal(t Text) slack.WebhookMessage {
	if strings.TrimSpace(t.String()) == "" {
		t = Say("Sorry, I can't do that.")
	}
	text := Truncate(t.Mrkdwn(), MaxSectionText)
	return slack.WebhookMessage{
		ResponseType: slack.ResponseTypeEphemeral,
		Text:         text,
		Blocks:       &slack.Blocks{BlockSet: []slack.Block{slack.NewSectionBlock(mrkdwn(text), nil, nil, slack.SectionBlockOptionBlockID("refusal"))}},
	}
}
