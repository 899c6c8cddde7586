package app

import (
	"context"
	"fmt"
	"strings"

	"github.com/slack-go/slack"

	"github.com/charlize-app/charlize/blocks"
	"github.com/charlize-app/charlize/ec2ops"
	"github.com/charlize-app/charlize/handlers/reqctx"
	"github.com/charlize-app/charlize/handlers/slackclient"
)

// openTerminate opens the terminate modal at once, before any AWS call, for
// the trigger_id's sake; termination protection is filled in when AWS
// has answered.
func (d *Dispatcher) openTerminate(ctx context.Context, cb slack.InteractionCallback, team slackclient.Team, inst ec2ops.Instance, org origin) error {
	api, err := d.clients.Client(ctx, team)
	if err != nil {
		return err
	}
	id, err := d.saveFlow(ctx, flowState{Kind: "terminate", TeamID: team.ID, ChannelID: org.ChannelID, UserID: cb.User.ID,
		Items: []ec2ops.Instance{inst}, Origin: org})
	if err != nil {
		return err
	}
	view := blocks.TerminateView{Instance: instanceView(inst, ""), Now: d.now(), PrivateMetadata: id}
	resp, err := api.OpenViewContext(ctx, cb.TriggerID, blocks.TerminateModal(view))
	if err != nil {
		return d.viewsOpenError(ctx, "terminate modal", err)
	}
	return d.workers.Go(ctx, func(ctx context.Context) {
		detail, err := d.fleet.Check(ctx, ec2ops.ActionRequest{Action: ec2ops.ActionTerminate,
			Account: inst.Account, Region: inst.Region, InstanceID: inst.ID, Actor: cb.User.ID})
		if detail.ID != "" {
			view.Instance = detailView(detail, "", nil)
		}
		if err != nil {
			view.ErrorText = d.failure(ctx, "terminate check", err).Text
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
	st, err := d.loadFlow(ctx, id, cb.Team.ID)
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
	err = d.startAction(ctx, actionJob{
		action: ec2ops.ActionTerminate, inst: inst, team: slackclient.Team{ID: cb.Team.ID, EnterpriseID: cb.Enterprise.ID},
		user: cb.User.ID, channel: st.ChannelID, origin: st.Origin,
		clickKey: "click:" + id + ":0:terminate",
	})
	return Ack{}, err
}
