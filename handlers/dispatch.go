package handlers

import (
	"context"
	"log/slog"
	"strings"
	"time"

	"github.com/slack-go/slack"
	"github.com/slack-go/slack/slackevents"
)

// Ack is a transport-neutral answer to one Slack request: the HTTP adapter
// writes Body as the response, Socket Mode sends it as the ack payload.
// A nil Body is an empty acknowledgement; a string is sent as plain text.
type Ack struct {
	Body any
}

// DispatcherOptions are the Dispatcher's collaborators and settings.
type DispatcherOptions struct {
	Log *slog.Logger
	// SlashCommand is the command as installed, shown in help ("/charlize").
	SlashCommand string
	Now          func() time.Time
}

// Dispatcher routes every decoded Slack request to its flow. It is shared
// by the HTTP and Socket Mode transports.
type Dispatcher struct {
	log          *slog.Logger
	slashCommand string
	now          func() time.Time
	commands     []subcommand
}

// NewDispatcher builds a Dispatcher.
func NewDispatcher(o DispatcherOptions) *Dispatcher {
	if o.SlashCommand == "" {
		o.SlashCommand = "/charlize"
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	d := &Dispatcher{log: o.Log, slashCommand: o.SlashCommand, now: o.Now}
	d.commands = d.catalogue()
	return d
}

// Command answers a slash command.
func (d *Dispatcher) Command(ctx context.Context, cmd slack.SlashCommand) Ack {
	verb, args := splitCommand(cmd.Text)
	annotate(ctx, cmd.TeamID, cmd.UserID, "command:"+opName(verb))
	ack, err := d.command(ctx, cmd, verb, args)
	if err != nil {
		return d.failure(ctx, "command "+opName(verb), err)
	}
	return ack
}

func (d *Dispatcher) command(ctx context.Context, cmd slack.SlashCommand, verb, args string) (Ack, error) {
	if verb == "" {
		return d.help(ctx, cmd, args)
	}
	sc, ok := d.lookup(verb)
	if !ok {
		return d.unknown(cmd.Text), nil
	}
	return sc.run(ctx, cmd, args)
}

// Interaction answers block_actions, view_submission and view_closed.
func (d *Dispatcher) Interaction(ctx context.Context, cb slack.InteractionCallback) Ack {
	annotate(ctx, cb.Team.ID, cb.User.ID, "interaction:"+string(cb.Type))
	return Ack{Body: ephemeral(notAvailableYet)}
}

// Options answers block_suggestion (external select type-ahead).
func (d *Dispatcher) Options(ctx context.Context, cb slack.InteractionCallback) Ack {
	annotate(ctx, cb.Team.ID, cb.User.ID, "options:"+cb.ActionID)
	return Ack{Body: slack.OptionsResponse{Options: []*slack.OptionBlockObject{}}}
}

// Event answers an Events API delivery; retry is X-Slack-Retry-Num (0 for
// the first delivery).
func (d *Dispatcher) Event(ctx context.Context, ev slackevents.EventsAPIEvent, retry int) Ack {
	annotate(ctx, ev.TeamID, "", "event:"+ev.Type)
	if ev.Type == slackevents.URLVerification {
		if v, ok := ev.Data.(*slackevents.EventsAPIURLVerificationEvent); ok {
			return Ack{Body: v.Challenge}
		}
	}
	return Ack{}
}

// splitCommand separates the subcommand from its arguments.
func splitCommand(text string) (verb, args string) {
	text = strings.TrimSpace(text)
	verb, args, _ = strings.Cut(text, " ")
	if i := strings.IndexFunc(verb, isSpace); i >= 0 {
		verb, args = verb[:i], verb[i+1:]+" "+args
	}
	return strings.ToLower(verb), strings.TrimSpace(args)
}

func isSpace(r rune) bool { return r == '\t' || r == '\n' || r == '\r' || r == '\u00a0' }

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

func ephemeral(text string) slack.WebhookMessage {
	return slack.WebhookMessage{ResponseType: slack.ResponseTypeEphemeral, Text: text}
}

const notAvailableYet = "That part of Charlize is not available yet."
