package app

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/slack-go/slack"

	"github.com/charlize-app/charlize/blocks"
	"github.com/charlize-app/charlize/ec2ops"
	"github.com/charlize-app/charlize/ec2ops/action"
	"github.com/charlize-app/charlize/handlers/reqctx"
	"github.com/charlize-app/charlize/handlers/slackclient"
	"github.com/charlize-app/charlize/store"
)

// openTerminate opens the terminate modal at once, before any AWS call, for
// the trigger_id's sake; termination protection is filled in when AWS
// has answered.
func (d *Dispatcher) openTerminate(ctx context.Context, cb slack.InteractionCallback, rec *actionRecord) error {
	api, err := d.clients.Client(ctx, rec.team())
	if err != nil {
		return err
	}
	inst := rec.Instance
	st := flowState{Kind: kindTerminate, TeamID: rec.TeamID, ChannelID: rec.Origin.ChannelID, UserID: rec.Requester,
		Items: []ec2ops.Instance{inst}, Origin: rec.Origin}
	id, err := d.saveFlow(ctx, st)
	if err != nil {
		return err
	}
	view := blocks.TerminateView{Instance: instanceView(inst, ""), Now: d.now(), PrivateMetadata: id}
	resp, err := api.OpenViewContext(ctx, cb.TriggerID, blocks.TerminateModal(view))
	if err != nil {
		return d.viewsOpenError(ctx, "terminate modal", err)
	}
	return d.workers.Go(ctx, func(ctx context.Context) {
		detail, err := d.fleet.Check(ctx, ec2ops.ActionRequest{Action: action.Terminate,
			Account: inst.Account, Region: inst.Region, InstanceID: inst.ID, Actor: cb.User.ID})
		if detail.ID != "" {
			// The modal asks for the name AWS gives now (renamed since the
			// card?), so the flow confirms against that name too.
			st.Items = []ec2ops.Instance{detail.Instance}
			if perr := d.putFlow(ctx, id, st); perr != nil {
				err = errors.Join(err, perr)
			} else {
				view.Instance = detailView(detail, "", nil)
			}
		}
		if err != nil {
			view.ErrorText = d.failureText(ctx, "terminate check", err)
		}
		_, err = api.UpdateViewContext(ctx, blocks.TerminateModal(view), "", resp.Hash, resp.ID)
		if err != nil {
			d.log.InfoContext(ctx, "could not fill in terminate modal", "request_id", reqctx.ID(ctx), "slack_error", slackclient.ErrorCode(err), "err", err)
		}
	})
}

// submitTerminate acts only when the typed text is the instance's name
// (or id); anything else keeps the modal open with an inline error.
func (d *Dispatcher) submitTerminate(ctx context.Context, cb slack.InteractionCallback) (Ack, error) {
	id := cb.View.PrivateMetadata
	st, err := d.loadFlow(ctx, id, cb.Team.ID, action.Terminate, kindTerminate)
	if err != nil {
		return Ack{}, err
	}
	inst, err := st.item(0)
	if err != nil {
		return Ack{}, err
	}
	typed := ""
	if v, ok := cb.View.State.Values[blocks.TerminateInputBlock][blocks.TerminateInputAction]; ok {
		typed = strings.TrimSpace(v.Value)
	}
	want := blocks.ConfirmText(instanceView(inst, ""))
	if typed != want {
		return Ack{Body: slack.NewErrorsViewSubmissionResponse(map[string]string{
			blocks.TerminateInputBlock: fmt.Sprintf("That doesn't match. Type %s exactly to terminate it.", blocks.Truncate(want, 100)),
		})}, nil
	}
	team := slackclient.Team{ID: cb.Team.ID, EnterpriseID: cb.Enterprise.ID}
	// Decided for when it runs (and was when the button was pressed): the
	// record needs only who asked, external or not.
	v := viewer{team: team, user: cb.User.ID, channel: st.ChannelID}.from(externalHome(cb))
	rec := d.newRecord(action.Terminate, inst, v, st.Origin, store.ClickKey(id, 0, action.Terminate))
	// The modal has no response_url: answers go to the message whose
	// button opened it.
	via := &reply{d: d, team: team, channel: st.ChannelID, responseURL: st.Origin.ResponseURL, mode: replaceClicked,
		fromChannel: !st.Origin.Ephemeral && st.Origin.TS != ""}
	return Ack{}, d.startAction(ctx, rec, via)
}
