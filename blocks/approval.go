package blocks

import (
	"fmt"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/slack-go/slack"

	"github.com/charlize-app/charlize/ec2ops/action"
)

// ActionIDApproval starts the action_ids of an approval request's buttons,
// "approval:approve" and "approval:deny".
const ActionIDApproval = "approval"

// ApprovalView is an action that waits for a second person's approval.
type ApprovalView struct {
	Action    action.Action
	Instance  InstanceView // Buttons are ignored
	Requester string       // Slack user id
	// Rule is what the two-person rule says, e.g. "stop and terminate on
	// acme-prod need a second person's approval"; escaped when shown.
	Rule      string
	ExpiresAt time.Time // zero = not shown
	// Value is the button value (a nonce) of both Approve and Deny. The
	// buttons are left out when it is "" or longer than MaxButtonValue.
	Value string
}

// ApprovalRequest asks the channel for a second person's approval:
// "🔐 <@U1> asks to *terminate* *web-1* (`i-…`, acme-prod, eu-west-1). A
// second person allowed to terminate must approve.", when it expires, and
// Approve (action_id "approval:approve", with a confirm dialog) and Deny
// ("approval:deny") buttons. ResponseType is left for the caller.
func ApprovalRequest(v ApprovalView) slack.WebhookMessage {
	inst := v.Instance
	action := approvalAction(v.Action)
	what := fmt.Sprintf("*%s* (%s, %s)", esc(inst.Name, maxName), Code(inst.ID, maxID), esc(place(inst), 2*maxAccount))
	if inst.Name == "" {
		what = fmt.Sprintf("%s (%s)", Code(inst.ID, maxID), esc(place(inst), 2*maxAccount))
	}
	line := fmt.Sprintf("🔐 %s asks to *%s* %s. A second person allowed to %s must approve.",
		userSubject(v.Requester), action, what, action)
	set := []slack.Block{slack.NewSectionBlock(mrkdwn(Truncate(line, MaxSectionText)), nil, nil, slack.SectionBlockOptionBlockID("approval"))}

	var ctx []string
	if d := Date(v.ExpiresAt); d != "" {
		ctx = append(ctx, "expires "+d)
	}
	if v.Rule != "" {
		ctx = append(ctx, "rule: "+esc(v.Rule, maxMessage))
	}
	if len(ctx) > 0 {
		set = append(set, slack.NewContextBlock("approval_context", mrkdwn(strings.Join(ctx, " · "))))
	}

	if v.Value != "" && len(v.Value) <= MaxButtonValue {
		approve := slack.NewButtonBlockElement(ActionIDApproval+":approve", v.Value, plain("Approve"))
		approve.Style = slack.StylePrimary
		approve.Confirm = approvalConfirm(v)
		deny := slack.NewButtonBlockElement(ActionIDApproval+":deny", v.Value, plain("Deny"))
		deny.Style = slack.StyleDanger
		set = append(set, slack.NewActionBlock("approval_actions", approve, deny))
	}
	return slack.WebhookMessage{
		Text: Truncate(fmt.Sprintf("🔐 %s asks to %s %s (%s); a second person must approve",
			userSubject(v.Requester), action, esc(displayName(inst), maxName), esc(place(inst), 2*maxAccount)), MaxSectionText),
		Blocks: &slack.Blocks{BlockSet: set},
	}
}

// approvalConfirm is the Approve button's dialog. Its text is plain_text,
// which Slack never parses, so it names no one: a mention would show as
// "<@U1>".
func approvalConfirm(v ApprovalView) *slack.ConfirmationBlockObject {
	inst := v.Instance
	verb := capitalize(Truncate(clean(strings.TrimSpace(string(v.Action))), maxShort))
	if verb == "" {
		verb = "Act on"
	}
	where := Truncate(clean(place(inst)), 2*maxAccount)
	var text string
	if inst.Name != "" {
		text = fmt.Sprintf("%s %s (%s) in %s?", verb, Truncate(clean(inst.Name), maxName), Truncate(clean(inst.ID), maxID), where)
	} else {
		text = fmt.Sprintf("%s %s in %s?", verb, Truncate(clean(inst.ID), maxID), where)
	}
	text += " You approve someone else's request and it runs right away."
	style := slack.StyleDanger
	if v.Action == action.Start || v.Action == action.Status {
		style = slack.StylePrimary
	}
	return slack.NewConfirmationBlockObject(
		plain("Approve this request?"),
		plain(Truncate(text, MaxConfirmText)),
		plain("Approve"),
		plain("Cancel"),
	).WithStyle(style)
}

// ApprovalDecided replaces a request once someone decided, without buttons:
// "👍 Approved by <@U2> — terminating *web-1*…" or "🚫 <@U2> denied <@U1>'s
// request to terminate *web-1*.", with the instance's details below.
func ApprovalDecided(v ApprovalView, decidedBy string, approved bool) slack.WebhookMessage {
	name := esc(displayName(v.Instance), maxName)
	who := requesterRef(decidedBy)
	var line, text string
	if approved {
		doing := "doing " + approvalAction(v.Action) + " on"
		if v.Action.OnInstance() {
			doing = strings.ToLower(v.Action.Doing())
		}
		line = fmt.Sprintf("👍 Approved by %s — %s %s…", who, doing, instanceRef(v.Instance))
		text = fmt.Sprintf("👍 Approved by %s — %s %s…", who, doing, name)
	} else {
		line = fmt.Sprintf("🚫 %s denied %s's request to %s %s.", userSubject(decidedBy), requesterRef(v.Requester), approvalAction(v.Action), instanceRef(v.Instance))
		text = fmt.Sprintf("🚫 %s denied %s's request to %s %s.", userSubject(decidedBy), requesterRef(v.Requester), approvalAction(v.Action), name)
	}
	return approvalNotice("approval_decided", line, text, v, approved)
}

// ApprovalNotDone replaces a request that was approved but refused when it
// was to run (the instance changed, or the policy did), without buttons:
// "👍 Approved by <@U2>, but *web-1* was not stopped: <reason>".
func ApprovalNotDone(v ApprovalView, approvedBy string, reason Text) slack.WebhookMessage {
	what := approvalAction(v.Action)
	if done := v.Action.Done(); done != "" {
		what = esc(done, maxShort)
	}
	if strings.TrimSpace(reason.String()) == "" {
		reason = Say("something went wrong")
	}
	line := fmt.Sprintf("👍 Approved by %s, but %s was not %s: %s", requesterRef(approvedBy), instanceRef(v.Instance), what, Truncate(reason.Mrkdwn(), maxMessage))
	text := fmt.Sprintf("Approved by %s, but %s was not %s", requesterRef(approvedBy), esc(displayName(v.Instance), maxName), what)
	return approvalNotice("approval_not_done", line, text, v, true)
}

// ApprovalExpired replaces a request nobody decided on in time, without
// buttons: "⌛ <@U1>'s request to terminate *web-1* expired without approval."
func ApprovalExpired(v ApprovalView) slack.WebhookMessage {
	format := "⌛ %s's request to %s %s expired without approval."
	who := userSubject(v.Requester)
	action := approvalAction(v.Action)
	return approvalNotice("approval_expired",
		fmt.Sprintf(format, who, action, instanceRef(v.Instance)),
		fmt.Sprintf(format, who, action, esc(displayName(v.Instance), maxName)),
		v, false)
}

// ApprovalPending tells the requester (an ephemeral-style note; the caller
// picks ResponseType) that their action waits for approval: "🔐 Your
// request to terminate *web-1* needs a second person's approval; I posted
// it in the channel. It expires <date>."
func ApprovalPending(v ApprovalView) slack.WebhookMessage {
	format := "🔐 Your request to %s %s needs a second person's approval; I posted it in the channel."
	action := approvalAction(v.Action)
	line := fmt.Sprintf(format, action, instanceRef(v.Instance))
	text := fmt.Sprintf(format, action, esc(displayName(v.Instance), maxName))
	if !v.ExpiresAt.IsZero() {
		line += " It expires " + Date(v.ExpiresAt) + "."
		text += " It expires " + v.ExpiresAt.UTC().Format("2006-01-02 15:04 UTC") + "."
	}
	return slack.WebhookMessage{
		Text: Truncate(text, MaxSectionText),
		Blocks: &slack.Blocks{BlockSet: []slack.Block{
			slack.NewSectionBlock(mrkdwn(Truncate(line, MaxSectionText)), nil, nil, slack.SectionBlockOptionBlockID("approval_pending")),
		}},
	}
}

// approvalNotice is a decided or expired request: its line, then a context
// keeping what the replaced request showed: the instance id and place, who
// asked (when the line does not say) and the rule.
func approvalNotice(blockID, line, text string, v ApprovalView, requesterUnnamed bool) slack.WebhookMessage {
	ctx := []string{}
	if v.Instance.ID != "" && v.Instance.Name != "" {
		ctx = append(ctx, Code(v.Instance.ID, maxID))
	}
	ctx = append(ctx, esc(place(v.Instance), 2*maxAccount))
	if r := Mention(v.Requester); r != "" && requesterUnnamed {
		ctx = append(ctx, "requested by "+r)
	}
	if v.Rule != "" {
		ctx = append(ctx, "rule: "+esc(v.Rule, maxMessage))
	}
	return slack.WebhookMessage{
		Text: Truncate(text, MaxSectionText),
		Blocks: &slack.Blocks{BlockSet: []slack.Block{
			slack.NewSectionBlock(mrkdwn(Truncate(line, MaxSectionText)), nil, nil, slack.SectionBlockOptionBlockID(blockID)),
			slack.NewContextBlock(blockID+"_details", mrkdwn(strings.Join(ctx, " · "))),
		}},
	}
}

// approvalAction is the action for sentences, escaped; "act on" when unknown.
func approvalAction(a action.Action) string {
	if a := esc(strings.TrimSpace(string(a)), maxShort); a != "" {
		return a
	}
	return "act on"
}

// instanceRef names an instance in a sentence: *web-1*, or `i-0abc` when
// it has no name.
func instanceRef(inst InstanceView) string {
	if inst.Name != "" {
		return "*" + esc(inst.Name, maxName) + "*"
	}
	if inst.ID != "" {
		return Code(inst.ID, maxID)
	}
	return "an unknown instance"
}

// requesterRef is a user's mention, or "someone" when there is no id.
func requesterRef(id string) string {
	if m := Mention(id); m != "" {
		return m
	}
	return "someone"
}

// userSubject is requesterRef at the start of a sentence.
func userSubject(id string) string {
	if m := Mention(id); m != "" {
		return m
	}
	return "Someone"
}

// capitalize upper-cases s's first letter: "terminate" → "Terminate".
func capitalize(s string) string {
	r, n := utf8.DecodeRuneInString(s)
	if n == 0 || !unicode.IsLower(r) {
		return s
	}
	return string(unicode.ToUpper(r)) + s[n:]
}
