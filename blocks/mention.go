package blocks

import (
	"fmt"

	"github.com/slack-go/slack"
)

// MentionReply answers an @mention: how to use the slash command, with a
// button (action_id ActionIDOpenPicker) that opens the instance picker. The
// button is left out when openPickerValue is "" or longer than MaxButtonValue.
func MentionReply(slashCommand string, openPickerValue string) slack.WebhookMessage {
	cmd := Code(slashCommand, 50)
	text := fmt.Sprintf("Hi! I operate EC2 instances from Slack. Run %s on its own to open the instance picker, "+
		"or list instances with a query, e.g. %s. %s shows everything I can do.",
		cmd, Code(slashCommand+" list running web*", 80), Code(slashCommand+" help", 60))
	set := []slack.Block{slack.NewSectionBlock(mrkdwn(text), nil, nil, slack.SectionBlockOptionBlockID("mention"))}
	if openPickerValue != "" && len(openPickerValue) <= MaxButtonValue {
		btn := slack.NewButtonBlockElement(ActionIDOpenPicker, openPickerValue, plain("Open the instance picker"))
		btn.Style = slack.StylePrimary
		set = append(set, slack.NewActionBlock("mention_actions", btn))
	}
	return slack.WebhookMessage{
		Text:   "Run " + esc(slashCommand, 50) + " to open the instance picker.",
		Blocks: &slack.Blocks{BlockSet: set},
	}
}
