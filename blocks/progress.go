package blocks

import (
	"fmt"
	"strings"
	"time"

	"github.com/slack-go/slack"
)

// ProgressView is an action under way.
type ProgressView struct {
	Action    string // an Act* kind, e.g. "stop"
	Verb      string // e.g. "Stopping"; "" = derived from Action
	Instance  InstanceView
	Requester string        // Slack user id
	State     string        // current EC2 state; "" = Instance.State
	Elapsed   time.Duration // since the action was requested; 0 = not shown
	// FallbackNote explains where progress is shown when Charlize cannot
	// post in the channel, e.g. "I can't post in this channel — invite
	// @Charlize to #ops to see progress here". It is escaped; "" = none.
	FallbackNote string
}

// ResultView is how an action ended.
type ResultView struct {
	Action    string // an Act* kind
	Instance  InstanceView
	Requester string // Slack user id
	OK        bool
	Elapsed   time.Duration // 0 = not shown
	Message   string        // what went wrong, for users, when !OK; escaped
	Buttons   []Button      // actions valid in the instance's new state
}

var progressVerb = map[string]string{
	ActStart: "Starting", ActStop: "Stopping", ActReboot: "Rebooting",
	ActRestart: "Restarting", ActTerminate: "Terminating", ActStatus: "Checking",
}

var pastTense = map[string]string{
	ActStart: "started", ActStop: "stopped", ActReboot: "rebooted",
	ActRestart: "restarted", ActTerminate: "terminated", ActStatus: "checked",
}

// Progress renders an action under way:
// "⏳ Stopping *web-1* (acme-prod, eu-west-1) — requested by <@U1>", with the
// state and elapsed time in a context line.
func Progress(v ProgressView) slack.WebhookMessage {
	verb := v.Verb
	if verb == "" {
		verb = progressVerb[v.Action]
	}
	if verb == "" {
		verb = "Working on"
	}
	verb = esc(verb, maxShort)
	name := esc(displayName(v.Instance), maxName)
	where := esc(place(v.Instance), 2*maxAccount)
	line := fmt.Sprintf("⏳ %s *%s* (%s)", verb, name, where)
	if r := mention(v.Requester); r != "" {
		line += " — requested by " + r
	}
	state := v.State
	if state == "" {
		state = v.Instance.State
	}
	status := "state: " + esc(orUnknown(state), maxShort)
	if v.Elapsed > 0 {
		status += " · " + duration(v.Elapsed)
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
	action := esc(v.Action, maxShort)
	var line, text string
	switch {
	case !v.OK:
		msg := strings.TrimSpace(v.Message)
		if msg == "" {
			msg = "something went wrong"
		}
		line = fmt.Sprintf("❌ could not %s *%s* (%s): %s", action, name, esc(place(inst), 2*maxAccount), esc(msg, maxMessage))
		text = fmt.Sprintf("❌ could not %s %s: %s", action, name, esc(msg, maxMessage))
	case v.Action == ActStatus:
		line = instanceLine(inst, time.Time{})
		text = fmt.Sprintf("%s %s", name, esc(orUnknown(inst.State), maxShort))
	default:
		done := pastTense[v.Action]
		if done == "" {
			done = "done: " + action
		}
		text = fmt.Sprintf("✅ %s %s", name, done)
		line = fmt.Sprintf("✅ *%s* %s", name, done)
		if v.Elapsed > 0 {
			text += " in " + duration(v.Elapsed)
			line += " in " + duration(v.Elapsed)
		}
		line += " (" + esc(place(inst), 2*maxAccount) + ")"
	}
	if r := mention(v.Requester); r != "" {
		line += " — requested by " + r
	}
	set := []slack.Block{slack.NewSectionBlock(mrkdwn(Truncate(line, MaxSectionText)), nil, nil, slack.SectionBlockOptionBlockID("result"))}
	withButtons := inst
	withButtons.Buttons = v.Buttons
	if acts := actionsBlock("acts:0", 0, withButtons); acts != nil {
		set = append(set, acts)
	}
	return slack.WebhookMessage{Text: Truncate(text, MaxSectionText), Blocks: &slack.Blocks{BlockSet: set}}
}

// Refusal renders a short ephemeral answer such as "already in progress (by
// <@U2>)" or "this picker expired — run /charlize again". text is mrkdwn
// written by the flow and is not escaped: escape user input put into it.
func Refusal(text string) slack.WebhookMessage {
	if strings.TrimSpace(text) == "" {
		text = "Sorry, I can't do that."
	}
	text = Truncate(text, MaxSectionText)
	return slack.WebhookMessage{
		ResponseType: slack.ResponseTypeEphemeral,
		Text:         text,
		Blocks:       &slack.Blocks{BlockSet: []slack.Block{slack.NewSectionBlock(mrkdwn(text), nil, nil, slack.SectionBlockOptionBlockID("refusal"))}},
	}
}
