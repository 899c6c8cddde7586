package blocks

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/slack-go/slack"

	"github.com/charlize-app/charlize/ec2ops/action"
)

// Action ids and callback ids of schedules.
const (
	// ActionIDSnooze starts the action_ids of a schedule warning's buttons,
	// "snooze:1h:<n>", "snooze:4h:<n>" and "snooze:skip:<n>", n the
	// instance's index on the message.
	ActionIDSnooze = "snooze"
	// ActionIDNewSchedule is the "New schedule" button of the schedules list.
	ActionIDNewSchedule = "schedule_new"
	// ScheduleCallbackID is the callback_id of the new-schedule modal.
	ScheduleCallbackID = "schedule_new"
	// Block ids of the new-schedule modal's inputs; the action_id of each
	// input's element is the same.
	ScheduleNameBlock  = "schedule_name"
	ScheduleDaysBlock  = "schedule_days"
	ScheduleTimesBlock = "schedule_times"
	ScheduleZoneBlock  = "schedule_zone"
)

// Snooze choices, as the second part of a snooze button's action_id.
const (
	Snooze1h   = "1h"
	Snooze4h   = "4h"
	SnoozeSkip = "skip"
)

// ScheduleWarnButtons is how many instances of a warning get snooze buttons:
// each takes a section and an actions block, so 20 keep a message within
// MaxMessageBlocks with its header, context and the list of the rest.
const ScheduleWarnButtons = 20

// ScheduleLine is one schedule in the schedules list.
type ScheduleLine struct {
	Name     string
	Periods  string // "mon-fri 08:00-19:00"
	Zone     string // IANA name
	Next     time.Time
	NextDoes action.Action // start or stop; "" = none
	// Instances is how many instances follow it; -1 = not known.
	Instances int
	ReadOnly  bool // from the schedules file
}

// SchedulesView is the answer to `/charlize schedules`.
type SchedulesView struct {
	Command   string // the slash command, for the how-to line
	Schedules []ScheduleLine
	Failures  []string // account-regions that could not be counted
	// NewValue is the value of the "New schedule" button; "" = no button.
	NewValue string
}

// Schedules renders the schedules: name, periods, zone, how many instances
// follow each and the next thing each will do, in every reader's own time.
func Schedules(v SchedulesView) slack.WebhookMessage {
	set := []slack.Block{slack.NewHeaderBlock(plain("Schedules"), slack.HeaderBlockOptionBlockID("schedules_header"))}
	if len(v.Schedules) == 0 {
		set = append(set, slack.NewSectionBlock(mrkdwn(fmt.Sprintf("No schedules yet. Create one with `%s schedule new %s`.",
			esc(v.Command, 40), "office-hours mon-fri 08:00-19:00 Europe/Warsaw")), nil, nil, slack.SectionBlockOptionBlockID("schedules_empty")))
	}
	var lines []string
	for _, s := range v.Schedules {
		line := fmt.Sprintf("• *%s* — %s (%s)", esc(s.Name, maxName), esc(s.Periods, maxName), esc(s.Zone, maxShort))
		switch {
		case s.Instances < 0:
		case s.Instances == 1:
			line += " · 1 instance"
		default:
			line += fmt.Sprintf(" · %d instances", s.Instances)
		}
		if d := Date(s.Next); d != "" && s.NextDoes != "" {
			line += fmt.Sprintf(" · next: %s %s", s.NextDoes, d)
		}
		if s.ReadOnly {
			line += " · _from the schedules file_"
		}
		lines = append(lines, line)
	}
	groups := packLines(lines, MaxSectionText, MaxMessageBlocks-5)
	for i, g := range groups {
		set = append(set, slack.NewSectionBlock(mrkdwn(strings.Join(g, "\n")), nil, nil, slack.SectionBlockOptionBlockID("schedules_"+strconv.Itoa(i))))
	}
	ctx := fmt.Sprintf("An instance follows a schedule when it carries the tag `charlize:schedule=<name>`: `%s schedule <instance> <name>` sets it, `%s unschedule <instance>` removes it.",
		esc(v.Command, 40), esc(v.Command, 40))
	if len(v.Failures) > 0 {
		fs := make([]string, len(v.Failures))
		for i, f := range v.Failures {
			fs[i] = esc(f, 300)
		}
		ctx += "\n⚠️ Not counted: " + joinBounded(fs, "; ", 1000)
	}
	set = append(set, slack.NewContextBlock("schedules_help", mrkdwn(Truncate(ctx, MaxSectionText))))
	if v.NewValue != "" && len(v.NewValue) <= MaxButtonValue {
		set = append(set, slack.NewActionBlock("schedules_actions",
			slack.NewButtonBlockElement(ActionIDNewSchedule, v.NewValue, plain("New schedule"))))
	}
	return slack.WebhookMessage{Text: plural(len(v.Schedules), "schedule"), Blocks: &slack.Blocks{BlockSet: set}}
}

// ScheduleModalView is the new-schedule modal.
type ScheduleModalView struct {
	Zone     string // the default time zone, shown as the zone's initial value
	Metadata string // private_metadata, at most MaxPrivateMetadata
}

// ScheduleModal asks for a new schedule's name, days, times and zone.
func ScheduleModal(v ScheduleModalView) slack.ModalViewRequest {
	input := func(block, label, placeholder, initial, hint string) *slack.InputBlock {
		el := slack.NewPlainTextInputBlockElement(plain(placeholder), block)
		if initial != "" {
			el.InitialValue = Truncate(initial, MaxPlainTextInput)
		}
		in := slack.NewInputBlock(block, plain(label), plain(hint), el)
		return in
	}
	return slack.ModalViewRequest{
		Type:            slack.VTModal,
		CallbackID:      ScheduleCallbackID,
		Title:           plain("New schedule"),
		Submit:          plain("Create"),
		Close:           plain("Cancel"),
		PrivateMetadata: Truncate(v.Metadata, MaxPrivateMetadata),
		Blocks: slack.Blocks{BlockSet: []slack.Block{
			input(ScheduleNameBlock, "Name", "office-hours", "", "Lower-case letters, digits and -; instances name it in their charlize:schedule tag."),
			input(ScheduleDaysBlock, "Days", "mon-fri", "", "daily, weekdays, weekends, or day names: mon-fri, sat,sun, mon,wed-fri."),
			input(ScheduleTimesBlock, "Start and stop", "08:00-19:00", "", "24-hour start-stop; -19:00 only stops, 08:00- only starts."),
			input(ScheduleZoneBlock, "Time zone", "Europe/Warsaw", Truncate(v.Zone, maxShort), "An IANA time zone name."),
		}},
	}
}

// Outcome is where one instance of a scheduled occurrence stands.
type Outcome string

// Outcomes of an instance in a schedule message.
const (
	OutcomeDue     Outcome = "due"     // will be acted on (the warning)
	OutcomeActing  Outcome = "acting"  // the action runs
	OutcomeDone    Outcome = "done"    // stopped, or started
	OutcomeFailed  Outcome = "failed"  // Message says why
	OutcomeSnoozed Outcome = "snoozed" // By, Until
	OutcomeSkipped Outcome = "skipped" // By: this occurrence only
	OutcomeAlready Outcome = "already" // already in the state the schedule wants
	OutcomeMissed  Outcome = "missed"  // its time passed while Charlize was down
)

// OccurrenceItem is one instance in a schedule message.
type OccurrenceItem struct {
	Instance InstanceView // Buttons are ignored
	Outcome  Outcome
	By       string    // Slack user id of who snoozed or skipped
	Until    time.Time // end of a snooze
	Message  string    // why it failed, already worded for the user (escaped here)
	Value    string    // snooze buttons' value; "" = no buttons
}

// OccurrenceView is one message about one occurrence of a schedule in one
// account: the warning before a stop (with snooze buttons), and what it
// became once the scheduler acted.
type OccurrenceView struct {
	Schedule string
	Action   action.Action // start or stop
	At       time.Time
	Account  string
	Warning  bool          // before the time: buttons on due instances
	Late     time.Duration // acted this long after its time (Charlize was down)
	Grace    time.Duration // for the missed wording
	Snoozed  bool          // a snooze's own stop, for one instance
	// DeletedBy: the schedule was deleted (by this user) before its time,
	// so nothing is done.
	DeletedBy string
	Items     []OccurrenceItem
	Failures  []string // account-regions that could not be listed
}

// Occurrence renders a schedule's warning or result.
func Occurrence(v OccurrenceView) slack.WebhookMessage {
	counts := map[Outcome]int{}
	for _, it := range v.Items {
		counts[it.Outcome]++
	}
	when := Date(v.At)
	name := esc(v.Schedule, maxName)
	acct := esc(v.Account, maxAccount)
	verb := "stop"
	if v.Action == action.Start {
		verb = "start"
	}
	var head string
	switch {
	case v.Warning && v.Snoozed:
		head = fmt.Sprintf("⏰ The snooze of *%s* ends: it will stop %s (schedule *%s*, %s).", esc(firstName(v.Items), maxName), when, name, acct)
	case v.DeletedBy != "":
		head = fmt.Sprintf("🗑 Schedule *%s* was deleted by %s before its time (%s): it will not %s %s in %s.",
			name, userSubjectLower(v.DeletedBy), when, verb, plural(len(v.Items), "instance"), acct)
	case v.Warning:
		head = fmt.Sprintf("⏰ Schedule *%s* will %s %s in %s %s.", name, verb, plural(counts[OutcomeDue]+counts[OutcomeSnoozed]+counts[OutcomeSkipped], "instance"), acct, when)
	case counts[OutcomeMissed] > 0:
		head = fmt.Sprintf("⏭ Schedule *%s* did not %s %s in %s: its time (%s) passed while Charlize was not running, more than %s ago.",
			name, verb, plural(counts[OutcomeMissed], "instance"), acct, when, Duration(v.Grace))
	case counts[OutcomeActing] > 0:
		head = fmt.Sprintf("⏳ Schedule *%s* is %s %s in %s (%s).", name, strings.ToLower(v.Action.Doing()), plural(counts[OutcomeActing], "instance"), acct, when)
	default:
		head = fmt.Sprintf("%s Schedule *%s* %s %s of %s in %s (%s).", resultIcon(counts), name, v.Action.Done(),
			strconv.Itoa(counts[OutcomeDone]), plural(len(v.Items), "instance"), acct, when)
	}
	if v.Late > 0 && !v.Warning {
		head += fmt.Sprintf(" Late by %s: Charlize was not running at the time.", Duration(v.Late.Round(time.Minute)))
	}
	set := []slack.Block{slack.NewSectionBlock(mrkdwn(Truncate(head, MaxSectionText)), nil, nil, slack.SectionBlockOptionBlockID("occ_head"))}
	if len(v.Failures) > 0 {
		fs := make([]string, len(v.Failures))
		for i, f := range v.Failures {
			fs[i] = esc(f, 300)
		}
		set = append(set, slack.NewContextBlock("occ_failures", mrkdwn("⚠️ Could not list: "+joinBounded(fs, "; ", MaxSectionText-40))))
	}
	if len(v.Items) == 0 {
		set = append(set, slack.NewContextBlock("occ_none", mrkdwn("No instance follows this schedule here.")))
	}

	var rest []string
	buttons, unbuttoned := 0, 0
	for n, it := range v.Items {
		line := occurrenceLine(it, v.Action)
		withButtons := v.Warning && it.Value != "" && len(it.Value) <= MaxButtonValue
		if withButtons && buttons == ScheduleWarnButtons {
			unbuttoned++
		}
		if withButtons && buttons < ScheduleWarnButtons {
			buttons++
			set = append(set, slack.NewSectionBlock(mrkdwn(Truncate(line, MaxSectionText)), nil, nil, slack.SectionBlockOptionBlockID("occ:"+strconv.Itoa(n))))
			set = append(set, slack.NewActionBlock("occ_acts:"+strconv.Itoa(n), snoozeButtons(n, it)...))
			continue
		}
		rest = append(rest, line)
	}
	room := MaxMessageBlocks - len(set) - 1
	groups := packLines(rest, MaxSectionText, room)
	shown := 0
	for i, g := range groups {
		shown += len(g)
		set = append(set, slack.NewSectionBlock(mrkdwn(strings.Join(g, "\n")), nil, nil, slack.SectionBlockOptionBlockID("occ_rest_"+strconv.Itoa(i))))
	}
	if left := len(rest) - shown; left > 0 {
		set = append(set, slack.NewContextBlock("occ_more", mrkdwn(fmt.Sprintf("and %d more not shown.", left))))
	} else if unbuttoned > 0 {
		set = append(set, slack.NewContextBlock("occ_more", mrkdwn(fmt.Sprintf("Snooze buttons are on the first %d instances only.", ScheduleWarnButtons))))
	}
	return slack.WebhookMessage{Text: Truncate(clean(stripMarks(head)), 300), Blocks: &slack.Blocks{BlockSet: set}}
}

func firstName(items []OccurrenceItem) string {
	if len(items) == 0 {
		return "the instance"
	}
	return displayName(items[0].Instance)
}

func resultIcon(counts map[Outcome]int) string {
	if counts[OutcomeFailed] > 0 {
		return "⚠️"
	}
	return "✅"
}

// occurrenceLine is one instance: name, id, region, and where it stands.
func occurrenceLine(it OccurrenceItem, a action.Action) string {
	inst := it.Instance
	name := "*" + esc(displayName(inst), maxName) + "*"
	where := Code(inst.ID, maxID) + ", " + esc(inst.Region, maxShort)
	if inst.Name == "" {
		name, where = Code(inst.ID, maxID), esc(inst.Region, maxShort)
	}
	line := "• " + name + " (" + where + ")"
	switch it.Outcome {
	case OutcomeDue:
		line += " — will " + string(a)
		if inst.State != "" {
			line += " (" + esc(inst.State, maxShort) + " now)"
		}
	case OutcomeActing:
		line += " — " + strings.ToLower(a.Doing()) + "…"
	case OutcomeDone:
		line += " — ✅ " + a.Done()
	case OutcomeFailed:
		line += " — ❌ not " + a.Done() + ": " + esc(it.Message, maxMessage)
	case OutcomeSnoozed:
		line += fmt.Sprintf(" — 😴 snoozed by %s until %s", userSubjectLower(it.By), Date(it.Until))
	case OutcomeSkipped:
		line += fmt.Sprintf(" — ⏭ skipped this time by %s", userSubjectLower(it.By))
	case OutcomeAlready:
		line += " — already " + esc(inst.State, maxShort)
	case OutcomeMissed:
		line += " — not " + a.Done() + " (missed)"
	}
	return line
}

func userSubjectLower(id string) string {
	if m := Mention(id); m != "" {
		return m
	}
	return "someone"
}

func snoozeButtons(n int, it OccurrenceItem) []slack.BlockElement {
	id := func(choice string) string { return ActionIDSnooze + ":" + choice + ":" + strconv.Itoa(n) }
	return []slack.BlockElement{
		slack.NewButtonBlockElement(id(Snooze1h), it.Value, plain("Snooze 1h")),
		slack.NewButtonBlockElement(id(Snooze4h), it.Value, plain("Snooze 4h")),
		slack.NewButtonBlockElement(id(SnoozeSkip), it.Value, plain("Skip tonight")),
	}
}

// stripMarks drops mrkdwn emphasis and dates' markup for a notification's
// plain text.
func stripMarks(s string) string {
	for {
		i := strings.Index(s, "<!date^")
		if i < 0 {
			break
		}
		j := strings.Index(s[i:], "|")
		k := strings.Index(s[i:], ">")
		if j < 0 || k < 0 || k < j {
			break
		}
		s = s[:i] + s[i+j+1:i+k] + s[i+k+1:]
	}
	return strings.ReplaceAll(s, "*", "")
}
