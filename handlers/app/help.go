package app

import (
	"context"

	"github.com/slack-go/slack"

	"github.com/charlize-app/charlize/blocks"
	"github.com/charlize-app/charlize/ec2ops"
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
		{name: "status", run: act(ec2ops.ActionStatus), help: blocks.CommandHelp{Usage: "status <instance>", Aliases: []string{"check"},
			Description: "show an instance with its action buttons", Example: "status web-1"}},
		{name: "start", run: act(ec2ops.ActionStart), help: blocks.CommandHelp{Usage: "start <instance>",
			Description: "start a stopped instance", Example: "start i-0abc123def4567890"}},
		{name: "stop", run: act(ec2ops.ActionStop), help: blocks.CommandHelp{Usage: "stop <instance>",
			Description: "stop an instance (asks you to confirm)", Example: "stop web-1"}},
		{name: "reboot", run: act(ec2ops.ActionReboot), help: blocks.CommandHelp{Usage: "reboot <instance>",
			Description: "reboot a running instance (asks you to confirm)"}},
		{name: "restart", run: act(ec2ops.ActionRestart), help: blocks.CommandHelp{Usage: "restart <instance>",
			Description: "stop, wait until stopped, start again (asks you to confirm)"}},
		{name: "terminate", run: act(ec2ops.ActionTerminate), help: blocks.CommandHelp{Usage: "terminate <instance>", Aliases: []string{"kill"},
			Description: "terminate an instance (you type its name to confirm)"}},
		{name: "accounts", run: d.accountsCommand, help: blocks.CommandHelp{Usage: "accounts",
			Description: "the AWS accounts and regions this workspace can see"}},
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

func (d *Dispatcher) helpView() blocks.HelpView {
	v := blocks.HelpView{Command: d.slashCommand}
	for _, sc := range d.commands {
		v.Commands = append(v.Commands, sc.help)
	}
	return v
}

func (d *Dispatcher) help(context.Context, slack.SlashCommand, string) (Ack, error) {
	return Ack{Body: blocks.Help(d.helpView())}, nil
}

func (d *Dispatcher) unknown(text string) Ack {
	verb, _ := splitCommand(text)
	return Ack{Body: blocks.Unknown(blocks.UnknownView{
		Text:       text,
		Suggestion: d.closest(verb),
		Help:       d.helpView(),
	})}
}

// closest returns the known verb nearest to verb by edit distance, when it
// is near enough to be a typo ("stpo" → "stop"), or "".
func (d *Dispatcher) closest(verb string) string {
	if len([]rune(verb)) > 20 {
		return ""
	}
	best, bestDist := "", 3
	consider := func(name string) {
		limit := 2
		if len(name) <= 4 {
			limit = 1
		}
		if dist := editDistance(verb, name); dist <= limit && dist < bestDist {
			best, bestDist = name, dist
		}
	}
	for _, sc := range d.commands {
		consider(sc.name)
		for _, a := range sc.help.Aliases {
			consider(a)
		}
	}
	return best
}

// editDistance is the Levenshtein distance between a and b, in runes, where
// swapping two neighbours counts once (the common "stpo" typo).
func editDistance(a, b string) int {
	ra, rb := []rune(a), []rune(b)
	prev2 := make([]int, len(rb)+1)
	prev := make([]int, len(rb)+1)
	cur := make([]int, len(rb)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(ra); i++ {
		cur[0] = i
		for j := 1; j <= len(rb); j++ {
			cost := 1
			if ra[i-1] == rb[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
			if i > 1 && j > 1 && ra[i-1] == rb[j-2] && ra[i-2] == rb[j-1] {
				cur[j] = min(cur[j], prev2[j-2]+1)
			}
		}
		prev2, prev, cur = prev, cur, prev2
	}
	return prev[len(rb)]
}
