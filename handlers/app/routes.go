package app

import (
	"context"
	"strings"

	"github.com/slack-go/slack"

	"github.com/charlize-app/charlize/blocks"
	"github.com/charlize-app/charlize/handlers/slackclient"
)

// blockActions routes a button click by its action_id.
func (d *Dispatcher) blockActions(ctx context.Context, cb slack.InteractionCallback) (Ack, error) {
	if len(cb.ActionCallback.BlockActions) == 0 {
		return Ack{}, errBadValue
	}
	a := cb.ActionCallback.BlockActions[0]
	value := a.Value
	if value == "" {
		value = a.SelectedOption.Value // overflow menus carry the value in the option
	}
	prefix, rest, _ := strings.Cut(a.ActionID, ":")
	var err error
	switch prefix {
	case blocks.ActionIDPrefixAct:
		kind, _, _ := strings.Cut(rest, ":")
		err = d.click(ctx, cb, kind, value)
	case blocks.ActionIDPage:
		err = d.turnPage(ctx, cb, value)
	case blocks.ActionIDRefresh:
		err = d.refresh(ctx, cb, value)
	case blocks.ActionIDPickInstance:
		err = d.pick(ctx, cb, value)
	case blocks.ActionIDApproval:
		err = d.decideApproval(ctx, cb, rest, value)
	case blocks.ActionIDOpenPicker:
		err = d.openPicker(ctx, cb.TriggerID, pickerTarget{
			team: slackclient.Team{ID: cb.Team.ID, EnterpriseID: cb.Enterprise.ID}, channel: channelOf(cb), user: cb.User.ID, responseURL: cb.ResponseURL,
		})
	default:
		err = errBadValue
	}
	return Ack{}, err
}

func channelOf(cb slack.InteractionCallback) string {
	if cb.Container.ChannelID != "" {
		return cb.Container.ChannelID
	}
	return cb.Channel.ID
}

// viewSubmission routes a modal's submit.
func (d *Dispatcher) viewSubmission(ctx context.Context, cb slack.InteractionCallback) (Ack, error) {
	switch cb.View.CallbackID {
	case blocks.TerminateCallbackID:
		return d.submitTerminate(ctx, cb)
	case blocks.PickerCallbackID:
		return d.submitPicker(ctx, cb)
	}
	return Ack{}, nil
}
