package app

import (
	"context"

	"github.com/slack-go/slack"

	"github.com/charlize-app/charlize/blocks"
	"github.com/charlize-app/charlize/ec2ops/action"
	"github.com/charlize-app/charlize/handlers/reqctx"
	"github.com/charlize-app/charlize/handlers/slackclient"
)

// The console flow: a card's "Console output" button opens a modal at
// once (a trigger_id lasts 3 seconds, AWS may take longer), then fills it
// with the last lines of the instance's console output, or with why it
// could not be read.

// openConsole answers the "console:<n>" button, whose value names the
// card's item.
func (d *Dispatcher) openConsole(ctx context.Context, cb slack.InteractionCallback, p pressed) error {
	_, _, _, inst, err := d.loadItem(ctx, cb.Team.ID, p.value, action.Console, kindCard)
	if err != nil {
		return err
	}
	// Decided for whoever clicked: the card may be shared in the channel.
	v := d.viewerOfCallback(ctx, cb)
	if dec := d.decide(v, action.Console, inst); !dec.Allowed {
		return &deniedError{action: action.Console, what: "read the console output of " + displayName(inst), reason: dec.Reason}
	}
	api, err := d.clients.Client(ctx, slackclient.Team{ID: cb.Team.ID, EnterpriseID: cb.Enterprise.ID})
	if err != nil {
		return err
	}
	view := blocks.ConsoleView{Instance: instanceView(inst, ""), Loading: true}
	resp, err := api.OpenViewContext(ctx, cb.TriggerID, blocks.ConsoleModal(view))
	if err != nil {
		return d.viewsOpenError(ctx, "console modal", err)
	}
	return d.workers.Go(ctx, func(ctx context.Context) {
		view.Loading = false
		out, err := d.fleet.ConsoleOutput(ctx, inst)
		if err != nil {
			view.ErrorText = d.failureText(ctx, "console output", err)
		} else {
			view.Lines, view.Captured = out.Lines, out.Captured
		}
		if _, err := api.UpdateViewContext(ctx, blocks.ConsoleModal(view), "", resp.Hash, resp.ID); err != nil {
			d.log.InfoContext(ctx, "could not fill in console modal", "request_id", reqctx.ID(ctx), "slack_error", slackclient.ErrorCode(err), "err", err)
		}
	})
}
