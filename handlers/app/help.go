package app

import (
	"context"

	"github.com/slack-go/slack"

	"github.com/charlize-app/charlize/blocks"
	"github.com/charlize-app/charlize/ec2ops/action"
	"github.com/charlize-app/charlize/handlers/typo"
)

// subcommand is one verb of the slash command.
type subcommand struct {
	help blocks.CommandHelp
	name string
	run  func(ctx context.Context, cmd slack.SlashCommand, args string) (Ack, error)
}

// catalogue lists every subcommand: parsing, suggestions and help all read it.
func (d *Dispatcher) catalogue() []subcommand {
	act := d.instanceCommand
	return []subcommand{
		{name: "list", run: d.listCommand, help: blocks.CommandHelp{Usage: "list <query>", Aliases: []string{"find"},
			Description: "list instances across accounts and regions", Example: "list running account:acme-prod web*"}},
		{name: "status", run: act(action.Status), help: blocks.CommandHelp{Usage: "status <instance>", Aliases: []string{"check"},
			Description: "show an instance with its action buttons", Example: "status web-1"}},
		{name: "start", run: act(action.Start), help: blocks.CommandHelp{Usage: "start <instance>",
			Description: "start a stopped instance", Example: "start i-0abc123def4567890"}},
		{name: "stop", run: act(action.Stop), help: blocks.CommandHelp{Usage: "stop <instance>",
			Description: "stop an instance (asks you to confirm)", Example: "stop web-1"}},
		{name: "reboot", run: act(action.Reboot), help: blocks.CommandHelp{Usage: "reboot <instance>",
			Description: "reboot a running instance (asks you to confirm)"}},
		{name: "restart", run: act(action.Restart), help: blocks.CommandHelp{Usage: "restart <instance>",
			Description: "stop, wait until stopped, start again (asks you to confirm)"}},
		{name: "terminate", run: act(action.Terminate), help: blocks.CommandHelp{Usage: "terminate <instance>", Aliases: []string{"kill"},
			Description: "terminate an instance (you type its name to confirm)"}},
		{name: "accounts", run: d.accountsCommand, help: blocks.CommandHelp{Usage: "accounts [filter]",
			Description: "the AWS accounts and regions this workspace can see, 25 a page; a filter narrows them by name, id or OU", Example: "accounts prod"}},
		{name: "schedules", run: d.schedulesCommand, help: blocks.CommandHelp{Usage: "schedules",
			Description: "the schedules, their periods and what each does next"}},
		{name: "schedule", run: d.scheduleCommand, help: blocks.CommandHelp{Usage: "schedule new <name> <days> <start>-<stop> [<time zone>] | schedule <instance> <name>",
			Description: "create a schedule, or make an instance follow one (tag charlize:schedule)", Example: "schedule new office-hours mon-fri 08:00-19:00 Europe/Warsaw"}},
		{name: "unschedule", run: d.unscheduleCommand, help: blocks.CommandHelp{Usage: "unschedule <instance>",
			Description: "the instance follows no schedule any more"}},
		{name: "audit", run: d.auditCommand, help: blocks.CommandHelp{Usage: "audit [n] [instance|user|account]",
			Description: "the latest actions taken through Charlize", Example: "audit 20 web-1"}},
		{name: "help", run: d.help, help: blocks.CommandHelp{Usage: "help", Description: "this message"}},
	}
}

func (d *Dispatcher) lookup(verb string) (subcommand, bool) {
	for _, sc := range d.commands {
		if sc.name == verb {
			return sc, true
		}
		for _, a := range sc.help.Aliases {
			if a == verb {
				return sc, true
			}
		}
	}
	return subcommand{}, false
}

func (d *Dispatcher) help(context.Context, slack.SlashCommand, string) (Ack, error) {
	return Ack{Body: d.helpAck}, nil
}

// unknown answers blocks.Unknown, its opening line encoded into the rest,
// which New encoded once: two fifths of what users send under load are
// unknown words, and the help that follows them is the same for all.
func (d *Dispatcher) unknown(text string) Ack {
	verb, _ := splitCommand(text)
	return Ack{Body: EncodedPieces(d.unknownAck.with(blocks.UnknownText(blocks.UnknownView{
		Text:       text,
		Suggestion: d.closest(verb),
		Help:       d.helpView,
	})))}
}

// unknownLineMark stands for the unknown answer's opening line while it is
// encoded.
const unknownLineMark = "\x00charlize:unknown_line\x00"

// closest returns the known verb nearest to verb, when it is near enough
// to be a typo ("stpo" → "stop"), or "".
func (d *Dispatcher) closest(verb string) string {
	if len([]rune(verb)) > 20 {
		return ""
	}
	return typo.Closest(verb, d.verbs, func(name string) int {
		if len(name) <= 4 {
			return 1
		}
		return 2
	})
}
