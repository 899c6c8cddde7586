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

// Notifications: what Charlize posts on its own when AWS tells it
// something, an instance's state change, a CloudWatch alarm, a scheduled
// maintenance, and a summary when many changes come at once.

// ActionIDAcknowledge is the action_id of an alarm's Acknowledge button.
const ActionIDAcknowledge = "ack"

// StateChangeView is an instance that changed state outside Charlize.
type StateChangeView struct {
	// Instance carries the buttons valid in its state; its State may be
	// newer than the event's.
	Instance InstanceView
	State    string    // what the event reports
	At       time.Time // when AWS says it happened
}

// StateChange renders "web-3 (acme-prod, eu-west-1) is now *stopped*"
// with the instance's buttons.
func StateChange(v StateChangeView) slack.WebhookMessage {
	inst := v.Instance
	title := fmt.Sprintf("%s %s (%s) is now *%s*", stateEmoji(v.State), subject(inst), esc(place(inst), 2*maxAccount), esc(orUnknown(v.State), maxShort))
	set := []slack.Block{
		slack.NewSectionBlock(mrkdwn(Truncate(title, MaxSectionText)), nil, nil, slack.SectionBlockOptionBlockID("notice")),
		slack.NewContextBlock("notice_meta", mrkdwn(strings.TrimSuffix("EC2 state change · "+Date(v.At), " · "))),
	}
	if acts := actionsBlock("acts:0", 0, inst); acts != nil {
		set = append(set, acts)
	}
	return slack.WebhookMessage{
		Text:   fmt.Sprintf("%s (%s) is now %s", esc(displayName(inst), maxName), esc(place(inst), 2*maxAccount), esc(orUnknown(v.State), maxShort)),
		Blocks: &slack.Blocks{BlockSet: set},
	}
}

// ChangeLine is one instance of a summary, at the last state reported.
type ChangeLine struct {
	ID, Name, Region, State string
}

// ChangeSummaryView is many state changes of one account within a window.
type ChangeSummaryView struct {
	Account string
	Changes []ChangeLine // in the order they came; one instance may repeat
	Since   time.Time    // the window's start
	// ListCommand lists the account's instances ("/charlize list
	// account:acme-prod"), for the full picture.
	ListCommand string
}

// maxSummarySections bounds the sections of listed changes, leaving room
// in MaxMessageBlocks and in what a reader takes in.
const maxSummarySections = 5

// ChangeSummary renders one message for many changes: how many instances,
// by state, and the list as far as Block Kit allows, then how many more.
func ChangeSummary(v ChangeSummaryView) slack.WebhookMessage {
	// One line per instance, at its latest state, in order of first change.
	var order []string
	latest := map[string]ChangeLine{}
	for _, c := range v.Changes {
		if _, seen := latest[c.ID]; !seen {
			order = append(order, c.ID)
		}
		latest[c.ID] = c
	}
	counts := map[string]int{}
	lines := make([]string, 0, len(order))
	for _, id := range order {
		c := latest[id]
		counts[c.State]++
		name := Code(c.ID, maxID)
		if c.Name != "" {
			name = "*" + esc(c.Name, maxName) + "* " + name
		}
		lines = append(lines, fmt.Sprintf("%s %s %s · %s", stateEmoji(c.State), name, esc(orUnknown(c.State), maxShort), esc(c.Region, maxShort)))
	}
	header := fmt.Sprintf("⚡ %s in %s changed state", plural(len(order), "instance"), Truncate(clean(v.Account), maxAccount))
	set := []slack.Block{slack.NewHeaderBlock(plain(Truncate(header, MaxHeaderText)), slack.HeaderBlockOptionBlockID("notice"))}
	var byState []string
	for _, s := range append(slices.Clone(knownStates), otherStates(counts)...) {
		if n := counts[s]; n > 0 {
			byState = append(byState, fmt.Sprintf("%s %d %s", stateEmoji(s), n, esc(s, maxShort)))
		}
	}
	set = append(set, slack.NewContextBlock("notice_counts", mrkdwn(joinBounded(byState, " · ", MaxSectionText))))
	groups := packLines(lines, MaxSectionText, maxSummarySections)
	shown := 0
	for i, g := range groups {
		shown += len(g)
		set = append(set, slack.NewSectionBlock(mrkdwn(strings.Join(g, "\n")), nil, nil, slack.SectionBlockOptionBlockID("changes:"+strconv.Itoa(i))))
	}
	foot := "Many changes at once, so they are summed up here"
	if !v.Since.IsZero() {
		foot += " since " + Date(v.Since)
	}
	if more := len(lines) - shown; more > 0 {
		foot = fmt.Sprintf("and %d more. ", more) + foot
	}
	if v.ListCommand != "" {
		foot += " · " + Code(v.ListCommand, maxEchoedInput) + " shows them all"
	}
	set = append(set, slack.NewContextBlock("notice_meta", mrkdwn(Truncate(foot, MaxSectionText))))
	return slack.WebhookMessage{Text: Truncate(clean(header), MaxSectionText), Blocks: &slack.Blocks{BlockSet: set}}
}

func otherStates(counts map[string]int) []string {
	var out []string
	for s := range counts {
		if !slices.Contains(knownStates, s) {
			out = append(out, s)
		}
	}
	slices.Sort(out)
	return out
}

// AlarmView is a CloudWatch alarm's message: firing, acknowledged, or
// resolved.
type AlarmView struct {
	Name, Description string
	Account, Region   string
	State             string // ALARM, OK, INSUFFICIENT_DATA
	Reason            string
	Metric            string // "AWS/EC2 CPUUtilization (Average)"
	Threshold         string // "80", "" when unknown
	Since             time.Time
	// Instance is the alarm's InstanceId dimension, with the buttons to
	// offer (Status and Reboot); nil when the alarm has none.
	Instance *InstanceView
	// AckValue is the Acknowledge button's value; "" leaves it out.
	AckValue string
	AckedBy  string // Slack user id
	AckedAt  time.Time
	// Resolved: back to OK after ResolvedAfter; the message keeps no
	// buttons.
	Resolved      bool
	ResolvedAfter time.Duration
}

// Alarm renders an alarm's message.
func Alarm(v AlarmView) slack.WebhookMessage {
	name := "*" + esc(v.Name, 255) + "*"
	where := esc(strings.Join(nonEmpty(Truncate(v.Account, maxAccount), Truncate(v.Region, maxShort)), ", "), 2*maxAccount)
	var title, text string
	switch {
	case v.Resolved:
		title = fmt.Sprintf("✅ %s resolved after %s — %s", name, Duration(v.ResolvedAfter), where)
		text = fmt.Sprintf("%s resolved after %s (%s)", esc(v.Name, 255), Duration(v.ResolvedAfter), where)
	case v.State == "ALARM":
		title = fmt.Sprintf("🚨 %s is in *ALARM* — %s", name, where)
		text = fmt.Sprintf("%s is in ALARM (%s)", esc(v.Name, 255), where)
	default:
		title = fmt.Sprintf("❔ %s is *%s* — %s", name, esc(orUnknown(v.State), maxShort), where)
		text = fmt.Sprintf("%s is %s (%s)", esc(v.Name, 255), esc(orUnknown(v.State), maxShort), where)
	}
	var fields []*slack.TextBlockObject
	field := func(label, value string) {
		if value != "" {
			fields = append(fields, mrkdwn(Truncate("*"+label+"*\n"+value, MaxFieldText)))
		}
	}
	field("Metric", esc(v.Metric, 300))
	field("Threshold", esc(v.Threshold, maxShort))
	if v.Instance != nil {
		field("Instance", subject(*v.Instance))
	}
	field("Since", Date(v.Since))
	set := []slack.Block{slack.NewSectionBlock(mrkdwn(Truncate(title, MaxSectionText)), fields, nil, slack.SectionBlockOptionBlockID("notice"))}
	if v.Description != "" {
		set = append(set, slack.NewContextBlock("notice_description", mrkdwn(esc(v.Description, maxMessage))))
	}
	if v.Reason != "" && !v.Resolved {
		set = append(set, slack.NewContextBlock("notice_reason", mrkdwn(esc(v.Reason, maxMessage))))
	}
	if v.AckedBy != "" {
		set = append(set, slack.NewContextBlock("notice_ack", mrkdwn(strings.TrimSpace("👀 acknowledged by "+Mention(v.AckedBy)+" "+Date(v.AckedAt)))))
	}
	if !v.Resolved {
		var els []slack.BlockElement
		if v.Instance != nil {
			if acts := actionsBlock("acts:0", 0, *v.Instance); acts != nil {
				els = acts.Elements.ElementSet
			}
		}
		if v.AckValue != "" && v.AckedBy == "" && len(v.AckValue) <= MaxButtonValue {
			els = append(els, slack.NewButtonBlockElement(ActionIDAcknowledge, v.AckValue, plain("Acknowledge")))
		}
		if len(els) > 0 {
			set = append(set, slack.NewActionBlock("acts:0", els...))
		}
	}
	return slack.WebhookMessage{Text: Truncate(text, MaxSectionText), Blocks: &slack.Blocks{BlockSet: set}}
}

// MaintenanceView is an AWS Health scheduled change of EC2 instances.
type MaintenanceView struct {
	TypeCode        string // AWS_EC2_INSTANCE_RETIREMENT_SCHEDULED, …
	Account, Region string
	Status          string // upcoming, open, closed
	Start, End      time.Time
	Description     string
	// Instances are the affected instances; a button of kind Restart is
	// rendered as "Stop & start now" (it moves the instance to healthy
	// hardware).
	Instances []InstanceView
}

// maxMaintenanceInstances bounds the instances listed, two blocks each.
const maxMaintenanceInstances = 20

// Maintenance renders what AWS will do, to which instances and by when.
func Maintenance(v MaintenanceView) slack.WebhookMessage {
	what := maintenanceWhat(v.TypeCode)
	names := make([]string, 0, len(v.Instances))
	for _, i := range v.Instances {
		names = append(names, subject(i))
	}
	target := joinBounded(names, ", ", 1000)
	if target == "" {
		target = "instances"
	}
	where := esc(strings.Join(nonEmpty(Truncate(v.Account, maxAccount), Truncate(v.Region, maxShort)), ", "), 2*maxAccount)
	title := fmt.Sprintf("🛠️ AWS will %s %s (%s)", what, target, where)
	if !v.Start.IsZero() {
		title += " on " + Date(v.Start)
	}
	if v.Status == "closed" {
		title = fmt.Sprintf("✅ AWS's scheduled %s of %s (%s) is over", what, target, where)
	}
	set := []slack.Block{slack.NewSectionBlock(mrkdwn(Truncate(title, MaxSectionText)), nil, nil, slack.SectionBlockOptionBlockID("notice"))}
	meta := "AWS Health · " + esc(v.TypeCode, 100)
	if !v.End.IsZero() && v.Status != "closed" {
		meta += " · window ends " + Date(v.End)
	}
	set = append(set, slack.NewContextBlock("notice_meta", mrkdwn(meta)))
	if v.Description != "" {
		set = append(set, slack.NewContextBlock("notice_description", mrkdwn(esc(v.Description, maxMessage))))
	}
	if v.Status != "closed" {
		for n, inst := range v.Instances {
			if n == maxMaintenanceInstances {
				set = append(set, slack.NewContextBlock("notice_more", mrkdwn(fmt.Sprintf("and %d more instances", len(v.Instances)-n))))
				break
			}
			if len(v.Instances) > 1 {
				set = append(set, slack.NewSectionBlock(mrkdwn(instanceLine(inst, time.Time{})), nil, nil, slack.SectionBlockOptionBlockID("inst:"+strconv.Itoa(n))))
			}
			if acts := maintenanceActions(n, inst); acts != nil {
				set = append(set, acts)
			}
		}
	}
	text := fmt.Sprintf("AWS will %s %s (%s)", what, clean(strings.Join(instanceNames(v.Instances), ", ")), where)
	if !v.Start.IsZero() {
		text += " on " + v.Start.UTC().Format("2006-01-02 15:04 UTC")
	}
	return slack.WebhookMessage{Text: Truncate(text, MaxSectionText), Blocks: &slack.Blocks{BlockSet: set}}
}

// maintenanceActions is an affected instance's Status and "Stop & start
// now" (the Restart action: stopping and starting an EBS-backed instance
// moves it to other hardware).
func maintenanceActions(n int, inst InstanceView) *slack.ActionBlock {
	var els []slack.BlockElement
	for _, b := range inst.Buttons {
		if len(b.Value) > MaxButtonValue {
			continue
		}
		switch b.Kind {
		case action.Status:
			els = append(els, button(b.Kind, n, b.Value, inst))
		case action.Restart:
			btn := button(b.Kind, n, b.Value, inst)
			btn.Text = plain("Stop & start now")
			btn.Style = slack.StylePrimary
			btn.Confirm.Title = plain("Stop & start instance?")
			btn.Confirm.Text = plain(Truncate(fmt.Sprintf("Stop %s and start it again on healthy hardware, in %s?",
				Truncate(clean(displayName(inst)), maxName), Truncate(clean(place(inst)), 2*maxAccount)), MaxConfirmText))
			btn.Confirm.Confirm = plain("Stop & start")
			els = append(els, btn)
		}
	}
	if len(els) == 0 {
		return nil
	}
	return slack.NewActionBlock("acts:"+strconv.Itoa(n), els...)
}

// maintenanceWhat words an EC2 scheduled event type as "AWS will …".
func maintenanceWhat(code string) string {
	switch code {
	case "AWS_EC2_INSTANCE_RETIREMENT_SCHEDULED", "AWS_EC2_PERSISTENT_INSTANCE_RETIREMENT_SCHEDULED":
		return "retire"
	case "AWS_EC2_INSTANCE_STOP_SCHEDULED":
		return "stop"
	case "AWS_EC2_INSTANCE_REBOOT_MAINTENANCE_SCHEDULED":
		return "reboot for maintenance"
	case "AWS_EC2_SYSTEM_REBOOT_MAINTENANCE_SCHEDULED":
		return "reboot the host of"
	}
	return "do scheduled maintenance on"
}

// subject is an instance in a sentence: *web-1* `i-0abc…`, or the id.
func subject(inst InstanceView) string {
	if inst.Name == "" {
		return Code(inst.ID, maxID)
	}
	return "*" + esc(inst.Name, maxName) + "* " + Code(inst.ID, maxID)
}

func instanceNames(is []InstanceView) []string {
	out := make([]string, 0, len(is))
	for _, i := range is {
		out = append(out, Truncate(displayName(i), maxName))
	}
	return out
}

func nonEmpty(ss ...string) []string {
	return slices.DeleteFunc(ss, func(s string) bool { return s == "" })
}
