package blocks

import (
	"fmt"
	"strings"

	"github.com/slack-go/slack"
)

// CommandHelp describes one subcommand in the help message.
type CommandHelp struct {
	Usage       string // e.g. "list <query>"
	Aliases     []string
	Description string
	Example     string // arguments only, e.g. "running account:acme-prod web*"
}

// HelpView is what the help message shows.
type HelpView struct {
	Command  string // the slash command as installed, e.g. "/charlize"
	Commands []CommandHelp
}

// UnknownView answers a subcommand Charlize does not know.
type UnknownView struct {
	Text       string // what the user typed
	Suggestion string // closest known subcommand; "" when none is close
	Help       HelpView
	// HelpBlocks, when set, are HelpBlocks(Help) rendered (and frozen)
	// beforehand, so that each answer does not render the help again.
	HelpBlocks []slack.Block
}

// maxEchoedInput bounds how much of a user's input is echoed back, so any
// input (4000 characters of it) keeps the message within Block Kit limits.
const maxEchoedInput = 200

// Help renders the ephemeral help message.
func Help(v HelpView) slack.WebhookMessage {
	return slack.WebhookMessage{
		ResponseType: slack.ResponseTypeEphemeral,
		Text:         "Charlize: operate EC2 from Slack. Try " + v.Command + " help",
		Blocks:       &slack.Blocks{BlockSet: HelpBlocks(v)},
	}
}

// Unknown renders the answer to an unknown subcommand: what was not
// understood, the closest command, then the help.
func Unknown(v UnknownView) slack.WebhookMessage { return UnknownWith(UnknownText(v), v) }

// UnknownText is the line that opens Unknown's answer.
func UnknownText(v UnknownView) string {
	var b strings.Builder
	fmt.Fprintf(&b, "I didn't understand %s.", Code(v.Text, maxEchoedInput))
	if v.Suggestion != "" {
		fmt.Fprintf(&b, " Did you mean `%s %s`?", v.Help.Command, v.Suggestion)
	}
	return b.String()
}

// UnknownWith is Unknown opened by line instead of UnknownText(v): for an
// answer encoded once around a mark that each request's line replaces.
func UnknownWith(line string, v UnknownView) slack.WebhookMessage {
	set := []slack.Block{
		slack.NewSectionBlock(mrkdwn(line), nil, nil, slack.SectionBlockOptionBlockID("unknown")),
		slack.NewDividerBlock(),
	}
	help := v.HelpBlocks
	if help == nil {
		help = HelpBlocks(v.Help)
	}
	return slack.WebhookMessage{
		ResponseType: slack.ResponseTypeEphemeral,
		Text:         "I didn't understand that. Try " + v.Help.Command + " help",
		Blocks:       &slack.Blocks{BlockSet: append(set, help...)},
	}
}

// HelpBlocks are the blocks of the help message, which Unknown repeats.
func HelpBlocks(v HelpView) []slack.Block {
	var lines strings.Builder
	for _, c := range v.Commands {
		fmt.Fprintf(&lines, "• `%s %s`", v.Command, c.Usage)
		if len(c.Aliases) > 0 {
			fmt.Fprintf(&lines, " (also `%s`)", strings.Join(c.Aliases, "`, `"))
		}
		fmt.Fprintf(&lines, " — %s", c.Description)
		if c.Example != "" {
			fmt.Fprintf(&lines, "\n     e.g. `%s %s`", v.Command, c.Example)
		}
		lines.WriteString("\n")
	}
	return []slack.Block{
		slack.NewHeaderBlock(plain("Charlize — EC2 from Slack"), slack.HeaderBlockOptionBlockID("help_header")),
		slack.NewSectionBlock(mrkdwn(fmt.Sprintf(
			"Run `%s` on its own to open the instance picker. Commands never act straight from text: "+
				"they show an instance card whose buttons act, and destructive actions ask you to confirm.",
			v.Command)), nil, nil, slack.SectionBlockOptionBlockID("help_intro")),
		slack.NewSectionBlock(mrkdwn(Truncate(lines.String(), MaxSectionText)), nil, nil,
			slack.SectionBlockOptionBlockID("help_commands")),
		slack.NewContextBlock("help_query", mrkdwn(
			"Queries: instance ids (`i-…`), states (`running`, `stopped`…), account names, regions, "+
				"name patterns (`web*`), and `state:` `account:` `region:` `name:` `tag:key=value` `type:`.")),
	}
}
