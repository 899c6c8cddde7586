package app

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/slack-go/slack"
	"github.com/slack-go/slack/slackevents"

	"github.com/charlize-app/charlize/blocks"
	"github.com/charlize-app/charlize/handlers/reqctx"
	"github.com/charlize-app/charlize/handlers/slackclient"
	"github.com/charlize-app/charlize/store"
)

// pressed is the element of a block_actions request: what its action_id
// says after the routing prefix, and its value.
type pressed struct {
	sub   string // "stop:3" of "act:stop:3"
	value string
}

type (
	actionRoute func(ctx context.Context, cb slack.InteractionCallback, p pressed) error
	viewRoute   func(ctx context.Context, cb slack.InteractionCallback) (Ack, error)
	optionRoute func(ctx context.Context, cb slack.InteractionCallback) optionsAnswer
	eventRoute  func(ctx context.Context, ev slackevents.EventsAPIEvent) error
)

// routeTable lists every Slack id that routes a request to a flow, as
// handlers/routes.go lists the HTTP endpoints. The subcommands of the slash
// command are listed in help.go's catalogue.
type routeTable struct {
	actions map[string]actionRoute // by action_id, up to its first ":"
	views   map[string]viewRoute   // by a modal's callback_id
	options map[string]optionRoute // by the action_id of a type-ahead menu
	events  map[string]eventRoute  // by the Events API inner event type
}

func (d *Dispatcher) routeTable() routeTable {
	return routeTable{
		actions: map[string]actionRoute{
			blocks.ActionIDPrefixAct:    d.replacingCard(d.click), // act.go: an instance's Start, Stop, … buttons (card.go: they replace the card)
			blocks.ActionIDConsole:      d.openConsole,            // console.go: a card's "Console output"
			blocks.ActionIDPage:         d.turnPage,               // list.go: Previous / Next
			blocks.ActionIDRefresh:      d.refresh,                // list.go: Refresh
			blocks.ActionIDPickInstance: d.pick,                   // card.go: one of several matches
			blocks.ActionIDApproval:     d.decideApproval,         // approval.go: Approve / Deny
			blocks.ActionIDOpenPicker:   d.pickerButton,           // picker.go: "Open the picker"
			blocks.ActionIDSnooze:       d.snooze,                 // schedule.go: Snooze 1h / 4h / Skip on a warning
			blocks.ActionIDNewSchedule:  d.newScheduleButton,      // schedule.go: "New schedule"
			blocks.ActionIDAcknowledge:  d.acknowledge,            // notify.go: an alarm's Acknowledge
			blocks.ActionIDAccountsPage: d.turnAccountsPage,       // accounts.go: Previous / Next
		},
		views: map[string]viewRoute{
			blocks.TerminateCallbackID: d.submitTerminate, // terminate.go
			blocks.PickerCallbackID:    d.submitPicker,    // picker.go
			// The console modal has nothing to submit.
			blocks.ScheduleCallbackID: d.submitSchedule, // schedule.go
		},
		options: map[string]optionRoute{
			blocks.PickerSearchAction:  d.suggest,         // picker.go: instance type-ahead
			blocks.PickerAccountAction: d.suggestAccounts, // picker.go: accounts, when there are more than a select holds
		},
		events: map[string]eventRoute{
			string(slackevents.AppMention): d.mentioned,     // events.go
			"app_uninstalled":              d.uninstalled,   // events.go
			"tokens_revoked":               d.tokensRevoked, // events.go
		},
	}
}

// Command answers a slash command.
func (d *Dispatcher) Command(ctx context.Context, cmd slack.SlashCommand) Ack {
	// Slack escapes &, < and > in command text (the manifest asks it to
	// escape mentions, which arrive as <@U…|name>); queries want them plain.
	cmd.Text = unescapeCommand(cmd.Text)
	verb, args := splitCommand(cmd.Text)
	reqctx.Annotate(ctx, cmd.TeamID, cmd.UserID, "command:"+opName(verb))
	ack, err := d.command(ctx, cmd, verb, args)
	if err != nil {
		return Ack{Body: d.failure(ctx, "command "+opName(verb), err)}
	}
	return ack
}

func (d *Dispatcher) command(ctx context.Context, cmd slack.SlashCommand, verb, args string) (Ack, error) {
	if err := d.installed(ctx, slackclient.Team{ID: cmd.TeamID, EnterpriseID: cmd.EnterpriseID}); err != nil {
		return Ack{}, err
	}
	if verb == "" {
		return d.openPickerCommand(ctx, cmd)
	}
	sc, ok := d.lookup(verb)
	if !ok {
		return d.unknown(cmd.Text), nil
	}
	return sc.run(ctx, cmd, args)
}

// Interaction answers block_actions, view_submission and view_closed.
func (d *Dispatcher) Interaction(ctx context.Context, cb slack.InteractionCallback) Ack {
	op := string(cb.Type)
	switch cb.Type {
	case slack.InteractionTypeBlockActions:
		if len(cb.ActionCallback.BlockActions) > 0 {
			op = "action:" + cb.ActionCallback.BlockActions[0].ActionID
		}
	case slack.InteractionTypeViewSubmission, slack.InteractionTypeViewClosed:
		op = "view:" + cb.View.CallbackID
	}
	reqctx.Annotate(ctx, cb.Team.ID, cb.User.ID, op)

	var (
		ack Ack
		err error
	)
	err = d.installed(ctx, slackclient.Team{ID: cb.Team.ID, EnterpriseID: cb.Enterprise.ID})
	switch {
	case err != nil: // answered below like any refusal
	case cb.Type == slack.InteractionTypeBlockActions:
		err = d.blockActions(ctx, cb)
	case cb.Type == slack.InteractionTypeViewSubmission:
		if route, ok := d.routes.views[cb.View.CallbackID]; ok {
			ack, err = route(ctx, cb)
		}
	default:
		return Ack{} // view_closed and others need no answer
	}
	if err != nil {
		d.auditWrongFlow(ctx, cb, err)
		if cb.Type == slack.InteractionTypeViewSubmission {
			// Only a view answer reaches a modal: keep it open with the reason.
			// Slack shows a modal's errors as plain text.
			return Ack{Body: slack.NewErrorsViewSubmissionResponse(map[string]string{firstInputBlock(cb.View): d.failureText(ctx, op, err).String()})}
		}
		d.replyToClick(cb).refuseSoon(ctx, op, err)
		return Ack{}
	}
	return ack
}

// blockActions routes a button or menu by its action_id.
func (d *Dispatcher) blockActions(ctx context.Context, cb slack.InteractionCallback) error {
	if len(cb.ActionCallback.BlockActions) == 0 {
		return errBadValue
	}
	a := cb.ActionCallback.BlockActions[0]
	p := pressed{value: a.Value}
	if p.value == "" {
		p.value = a.SelectedOption.Value // overflow menus carry the value in the option
	}
	prefix, sub, _ := strings.Cut(a.ActionID, ":")
	p.sub = sub
	route, ok := d.routes.actions[prefix]
	if !ok {
		return errBadValue
	}
	return route(ctx, cb, p)
}

// Options answers block_suggestion (external select type-ahead).
func (d *Dispatcher) Options(ctx context.Context, cb slack.InteractionCallback) Ack {
	reqctx.Annotate(ctx, cb.Team.ID, cb.User.ID, "options:"+cb.ActionID)
	none := Ack{Body: optionsAnswer{Options: []*slack.OptionBlockObject{}}}
	if err := d.installed(ctx, slackclient.Team{ID: cb.Team.ID, EnterpriseID: cb.Enterprise.ID}); err != nil {
		d.failureText(ctx, "options", err) // logs it; a menu has no room for the reason
		return none
	}
	route, ok := d.routes.options[cb.ActionID]
	if !ok {
		return none
	}
	return Ack{Body: route(ctx, cb)}
}

// eventDedupeTTL covers Slack's retries of one event (minutes apart).
const eventDedupeTTL = 24 * time.Hour

// Event answers an Events API delivery; retry is X-Slack-Retry-Num (0 for
// the first delivery). An event_callback is handled once: retries of an
// event already taken are acknowledged only. One that failed (the store
// down while an uninstall deletes its workspace's token) is let go and
// answered for Slack to deliver again: every route fails before doing
// anything a second delivery would do twice.
func (d *Dispatcher) Event(ctx context.Context, ev slackevents.EventsAPIEvent, retry int) Ack {
	reqctx.Annotate(ctx, ev.TeamID, "", "event:"+ev.Type+":"+ev.InnerEvent.Type)
	switch ev.Type {
	case slackevents.URLVerification:
		if v, ok := ev.Data.(*slackevents.EventsAPIURLVerificationEvent); ok {
			return Ack{Body: v.Challenge}
		}
	case slackevents.CallbackEvent:
		if err := d.callbackEvent(ctx, ev, retry); err != nil {
			d.log.ErrorContext(ctx, "event failed, left for Slack to deliver again", "request_id", reqctx.ID(ctx),
				"team", ev.TeamID, "retry", retry, "err", err)
			return Ack{Redeliver: true}
		}
	}
	return Ack{}
}

func (d *Dispatcher) callbackEvent(ctx context.Context, ev slackevents.EventsAPIEvent, retry int) error {
	outer, ok := ev.Data.(*slackevents.EventsAPICallbackEvent)
	if !ok {
		return nil
	}
	route, ok := d.routes.events[ev.InnerEvent.Type]
	if !ok {
		return nil
	}
	if outer.EventID != "" {
		won, _, err := d.store.Claim(ctx, store.EventKey(outer.EventID), "charlize", eventDedupeTTL)
		if err != nil {
			return fmt.Errorf("dedupe event: %w", err)
		}
		if !won {
			d.log.InfoContext(ctx, "duplicate event ignored", "request_id", reqctx.ID(ctx), "event_id", outer.EventID, "retry", retry)
			return nil
		}
	}
	err := route(ctx, ev)
	if err != nil && outer.EventID != "" {
		if rerr := d.store.ReleaseClaim(context.WithoutCancel(ctx), store.EventKey(outer.EventID), "charlize"); rerr != nil {
			err = errors.Join(err, fmt.Errorf("let the event go: %w", rerr))
		}
	}
	return err
}

func channelOf(cb slack.InteractionCallback) string {
	if cb.Container.ChannelID != "" {
		return cb.Container.ChannelID
	}
	return cb.Channel.ID
}

// splitCommand separates the subcommand from its arguments.
func splitCommand(text string) (verb, args string) {
	fields := strings.FieldsFunc(strings.TrimSpace(text), isSpace)
	if len(fields) == 0 {
		return "", ""
	}
	rest := strings.TrimSpace(strings.TrimPrefix(strings.TrimSpace(text), fields[0]))
	return strings.ToLower(fields[0]), rest
}

func isSpace(r rune) bool {
	return r == ' ' || r == '\t' || r == '\n' || r == '\r' || r == '\u00a0'
}

// unescapeCommand undoes Slack's escaping of &, < and > in command text,
// leaving the <@U…> and <#C…> forms it uses for mentions as they are.
func unescapeCommand(text string) string {
	if !strings.Contains(text, "&") {
		return text
	}
	return commandUnescaper.Replace(text)
}

// commandUnescaper reverses exactly what Slack escapes, in one pass, so
// "&amp;lt;" (someone typing "&lt;") stays "&lt;".
var commandUnescaper = strings.NewReplacer("&lt;", "<", "&gt;", ">", "&amp;", "&")

// opName bounds what an arbitrary word can put into logs.
func opName(verb string) string {
	if verb == "" {
		return "picker"
	}
	if len(verb) > 32 {
		return verb[:32]
	}
	return verb
}

func firstInputBlock(v slack.View) string {
	for _, b := range v.Blocks.BlockSet {
		if in, ok := b.(*slack.InputBlock); ok {
			return in.BlockID
		}
	}
	return blocks.TerminateInputBlock
}
