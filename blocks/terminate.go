package blocks

import (
	"strings"
	"time"

	"github.com/slack-go/slack"
)

// TerminateView is the modal that confirms terminating one instance.
type TerminateView struct {
	Instance        InstanceView
	Now             time.Time
	PrivateMetadata string // at most MaxPrivateMetadata; passed through untouched
	// ErrorText is shown above the details when not empty, e.g. after a
	// failed check; a wrong confirmation is reported inline with
	// response_action.
	ErrorText Text
}

// Ids of the terminate modal, read back on submit.
const (
	TerminateCallbackID  = "terminate"
	TerminateInputBlock  = "confirm_block"
	TerminateInputAction = "confirm_input"
)

// ConfirmText is what the user must type to terminate inst: its Name, or
// its ID when it has no name, as the modal shows it (without the control
// and direction characters no one can see to type).
func ConfirmText(inst InstanceView) string {
	if name := strings.TrimSpace(clean(inst.Name)); name != "" {
		return name
	}
	return strings.TrimSpace(clean(inst.ID))
}

// maxConfirmLabelName bounds the name quoted in the input's label (Block
// Kit allows 2000 characters; EC2 tag values are at most 256).
const maxConfirmLabelName = 1900

// TerminateModal renders the terminate confirmation: the instance's details,
// a warning that termination cannot be undone, and an input where the user
// types ConfirmText.
func TerminateModal(v TerminateView) slack.ModalViewRequest {
	inst := v.Instance
	var set []slack.Block
	if !v.ErrorText.IsZero() {
		set = append(set, slack.NewSectionBlock(mrkdwn("❌ "+Truncate(v.ErrorText.Mrkdwn(), maxMessage)), nil, nil, slack.SectionBlockOptionBlockID("terminate_error")))
	}
	var fields []*slack.TextBlockObject
	field := func(label, value string) {
		if value != "" {
			fields = append(fields, mrkdwn(Truncate("*"+label+"*\n"+value, MaxFieldText)))
		}
	}
	field("Name", esc(inst.Name, 500))
	field("Instance", Code(inst.ID, maxID))
	field("Account", esc(inst.Account, maxAccount))
	field("Region", esc(where(inst), 2*maxShort))
	field("State", stateEmoji(inst.State)+" "+esc(orUnknown(inst.State), maxShort))
	field("Launched", launched(inst.LaunchTime, v.Now))
	protection := "unknown"
	if inst.TerminationProtected != nil {
		protection = onOff(*inst.TerminationProtected)
	}
	field("Termination protection", protection)
	set = append(set,
		slack.NewSectionBlock(mrkdwn("You are about to terminate this instance:"), fields, nil, slack.SectionBlockOptionBlockID("terminate_details")),
		slack.NewSectionBlock(mrkdwn("⚠️ *This cannot be undone.* The instance, its instance-store data and any EBS volumes set to delete on termination are gone for good."),
			nil, nil, slack.SectionBlockOptionBlockID("terminate_warning")),
	)
	input := slack.NewPlainTextInputBlockElement(nil, TerminateInputAction)
	input.FocusOnLoad = true
	set = append(set, slack.NewInputBlock(TerminateInputBlock,
		plain("Type "+Truncate(ConfirmText(inst), maxConfirmLabelName)+" to confirm"), nil, input))

	return slack.ModalViewRequest{
		Type:            slack.VTModal,
		CallbackID:      TerminateCallbackID,
		Title:           plain("Terminate instance"),
		Submit:          plain("Terminate"),
		Close:           plain("Cancel"),
		PrivateMetadata: v.PrivateMetadata,
		Blocks:          slack.Blocks{BlockSet: set},
	}
}
