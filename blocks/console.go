package blocks

import (
	"fmt"
	"strings"
	"time"

	"github.com/slack-go/slack"
)

// ConsoleCallbackID is the callback_id of the console output modal. It has
// nothing to submit; the id names it in logs.
const ConsoleCallbackID = "console"

// ConsoleView is the console output modal: loading, filled, or saying why
// it could not be read.
type ConsoleView struct {
	Instance InstanceView
	// Loading shows the modal Slack opens within the trigger's 3 seconds,
	// before AWS has answered.
	Loading bool
	// Lines are the output, oldest first, already cleaned of control
	// characters; the newest that fit are shown, newest at the bottom.
	Lines []string
	// Captured is when AWS captured the output.
	Captured time.Time
	// ErrorText, when set, says why there is no output to show.
	ErrorText Text
}

// Bounds of the console modal: Slack's 3,000 characters per section, a
// few sections so the modal opens quickly and a phone can scroll it.
const (
	maxConsoleSections = 4
	maxConsoleLine     = 300
	// consoleSectionText leaves room for the code fences in a section.
	consoleSectionText = MaxSectionText - 8
)

// ConsoleModal renders the console output modal.
func ConsoleModal(v ConsoleView) slack.ModalViewRequest {
	inst := v.Instance
	head := Code(inst.ID, maxID)
	if inst.Name != "" {
		head = "*" + esc(inst.Name, maxName) + "* " + head
	}
	set := []slack.Block{slack.NewSectionBlock(mrkdwn(head+" · "+esc(place(inst), 2*maxAccount)), nil, nil, slack.SectionBlockOptionBlockID("console_instance"))}
	switch {
	case v.Loading:
		set = append(set, slack.NewSectionBlock(mrkdwn("⏳ Reading the console output from AWS…"), nil, nil, slack.SectionBlockOptionBlockID("console_loading")))
	case !v.ErrorText.IsZero():
		set = append(set, slack.NewSectionBlock(mrkdwn("❌ "+Truncate(v.ErrorText.Mrkdwn(), maxMessage)), nil, nil, slack.SectionBlockOptionBlockID("console_error")))
	case len(v.Lines) == 0:
		set = append(set, slack.NewSectionBlock(mrkdwn(fmt.Sprintf("AWS has no console output for %s yet. EC2 captures it after the instance boots; try again in a minute.",
			esc(displayName(inst), maxName))), nil, nil, slack.SectionBlockOptionBlockID("console_empty")))
	default:
		sections, shown := consoleSections(v.Lines)
		about := "Newest at the bottom"
		if !v.Captured.IsZero() {
			about = "Captured by AWS " + Date(v.Captured) + " · newest at the bottom"
		}
		if shown < len(v.Lines) {
			about += fmt.Sprintf(" · the last %d of %d lines", shown, len(v.Lines))
		}
		set = append(set, slack.NewContextBlock("console_about", mrkdwn(about)))
		for i, s := range sections {
			set = append(set, slack.NewSectionBlock(mrkdwn("```"+s+"```"), nil, nil, slack.SectionBlockOptionBlockID(fmt.Sprintf("console_output_%d", i))))
		}
	}
	return slack.ModalViewRequest{
		Type:       slack.VTModal,
		CallbackID: ConsoleCallbackID,
		Title:      plain("Console output"),
		Close:      plain("Close"),
		Blocks:     slack.Blocks{BlockSet: set},
	}
}

// consoleSections fits the newest lines into at most maxConsoleSections
// code blocks, oldest first, and says how many lines made it.
func consoleSections(lines []string) ([]string, int) {
	var sections [][]string // built newest first
	var cur []string
	size, shown := 0, 0
	for i := len(lines) - 1; i >= 0; i-- {
		l := consoleLine(lines[i])
		n := len([]rune(l)) + 1
		if size+n > consoleSectionText {
			if len(sections) == maxConsoleSections-1 {
				break
			}
			sections, cur, size = append(sections, cur), nil, 0
		}
		cur = append(cur, l)
		size += n
		shown++
	}
	if len(cur) > 0 {
		sections = append(sections, cur)
	}
	out := make([]string, 0, len(sections))
	for i := len(sections) - 1; i >= 0; i-- {
		s := sections[i]
		for a, b := 0, len(s)-1; a < b; a, b = a+1, b-1 {
			s[a], s[b] = s[b], s[a]
		}
		out = append(out, strings.Join(s, "\n"))
	}
	return out, shown
}

// consoleLine makes one line safe inside a code block: mrkdwn's &, < and >
// escaped (Slack parses them even there), backticks that would close the
// block replaced by a look-alike, an empty line kept visible, a long line
// cut.
func consoleLine(l string) string {
	l = strings.ReplaceAll(Truncate(l, maxConsoleLine), "`", "ˋ")
	if l == "" {
		return " "
	}
	return Escape(l)
}
