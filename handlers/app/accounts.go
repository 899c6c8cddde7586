package app

import (
	"context"

	"github.com/slack-go/slack"

	"github.com/charlize-app/charlize/blocks"
	"github.com/charlize-app/charlize/ec2ops"
	"github.com/charlize-app/charlize/handlers/policy"
	"github.com/charlize-app/charlize/handlers/slackclient"
)

// visibleAccounts are the account names the workspace may see.
func (d *Dispatcher) visibleAccounts(team string) []string {
	var names []string
	if d.fleet == nil {
		return nil
	}
	for _, a := range d.fleet.Accounts() {
		if d.accountVisible(a, team) {
			names = append(names, a.Name)
		}
	}
	return names
}

// accountsCommand answers `/charlize accounts` from configuration alone:
// the accounts this workspace sees and the user may list.
func (d *Dispatcher) accountsCommand(ctx context.Context, cmd slack.SlashCommand, _ string) (Ack, error) {
	if d.fleet == nil {
		return Ack{}, errNoFleet
	}
	v := d.viewerOf(ctx, slackclient.Team{ID: cmd.TeamID, EnterpriseID: cmd.EnterpriseID}, cmd.UserID, cmd.ChannelID)
	var views []blocks.AccountView
	for _, a := range d.fleet.Accounts() {
		if !d.accountVisible(a, cmd.TeamID) ||
			!d.policy.Decide(v.who, "list", policy.Target{Account: a.Name, AnyInstance: true}).Allowed {
			continue
		}
		role := a.RoleARN
		if role == "" {
			role = "ambient credentials"
		}
		views = append(views, blocks.AccountView{Name: a.Name, ID: a.ID, Regions: a.Regions, Role: role})
	}
	if len(views) == 0 {
		return Ack{}, errNoAccountsHere
	}
	msg := blocks.Accounts(views)
	msg.ResponseType = slack.ResponseTypeEphemeral
	return Ack{Body: msg}, nil
}

// accountVisible applies tenant isolation: in multi-workspace mode an
// account is seen only by the workspaces its `workspaces` list names.
func (d *Dispatcher) accountVisible(a ec2ops.Account, team string) bool {
	if d.strictTenancy && len(a.Workspaces) == 0 {
		return false
	}
	return a.VisibleTo(team)
}
