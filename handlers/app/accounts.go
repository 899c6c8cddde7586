package app

import (
	"context"
	"strconv"
	"strings"

	"github.com/slack-go/slack"

	"github.com/charlize-app/charlize/blocks"
	"github.com/charlize-app/charlize/ec2ops"
	"github.com/charlize-app/charlize/ec2ops/glob"
	"github.com/charlize-app/charlize/handlers/policy"
	"github.com/charlize-app/charlize/handlers/slackclient"
)

// visibleAccounts are the account names the workspace may see.
func (d *Dispatcher) visibleAccounts(team string) []string {
	var names []string
	for _, a := range d.visibleAccountsOf(team) {
		names = append(names, a.Name)
	}
	return names
}

// visibleAccountsOf is visibleAccounts with each account whole (regions
// and all, not to be changed), in the fleet's order.
func (d *Dispatcher) visibleAccountsOf(team string) []ec2ops.Account {
	if d.fleet == nil {
		return nil
	}
	var visible []ec2ops.Account // read only: their slices are the fleet's
	for a := range d.fleet.AllAccounts() {
		if d.accountVisible(a, team) {
			visible = append(visible, a)
		}
	}
	return visible
}

// accountsCommand answers `/charlize accounts [filter]` from configuration
// alone: the accounts this workspace sees and the user may list, a page at
// a time, narrowed by a name, id or OU pattern when one is given.
func (d *Dispatcher) accountsCommand(ctx context.Context, cmd slack.SlashCommand, args string) (Ack, error) {
	msg, err := d.accountsPage(ctx, slackclient.Team{ID: cmd.TeamID, EnterpriseID: cmd.EnterpriseID}, cmd.UserID, cmd.ChannelID,
		strings.TrimSpace(args), 1)
	if err != nil {
		return Ack{}, err
	}
	msg.ResponseType = slack.ResponseTypeEphemeral
	return Ack{Body: msg}, nil
}

// turnAccountsPage shows another page of `/charlize accounts`; the button
// carries the page and the filter, so no session is kept.
func (d *Dispatcher) turnAccountsPage(ctx context.Context, cb slack.InteractionCallback, p pressed) error {
	page, filter, ok := strings.Cut(p.value, ":")
	n, err := strconv.Atoi(page)
	if !ok || err != nil || n < 1 {
		return errBadValue
	}
	msg, err := d.accountsPage(ctx, slackclient.Team{ID: cb.Team.ID, EnterpriseID: cb.Enterprise.ID}, cb.User.ID, cb.Channel.ID, filter, n)
	if err != nil {
		return err
	}
	d.replyToClick(cb).soon(ctx, func(ctx context.Context, r *reply) { r.replace(ctx, msg) })
	return nil
}

// accountsPage renders page n (clamped) of the accounts user may list.
func (d *Dispatcher) accountsPage(ctx context.Context, team slackclient.Team, user, channel, filter string, n int) (slack.WebhookMessage, error) {
	if d.fleet == nil {
		return slack.WebhookMessage{}, errNoFleet
	}
	v := d.viewerOf(ctx, team, user, channel)
	var views []blocks.AccountView
	seen := false
	for a := range d.fleet.AllAccounts() {
		if !d.accountVisible(a, team.ID) ||
			!d.policy.Decide(v.who, "list", policy.Target{Account: a.Name, AnyInstance: true}).Allowed {
			continue
		}
		seen = true
		if !accountMatches(filter, a) {
			continue
		}
		role := a.RoleARN
		if role == "" {
			role = "ambient credentials"
		}
		views = append(views, blocks.AccountView{Name: a.Name, ID: a.ID, Regions: a.Regions, Role: role, Discovered: a.Discovered, OU: a.OU})
	}
	if !seen {
		return slack.WebhookMessage{}, errNoAccountsHere
	}
	pages := max(1, (len(views)+blocks.AccountsPageSize-1)/blocks.AccountsPageSize)
	n = min(max(n, 1), pages)
	first := (n - 1) * blocks.AccountsPageSize
	view := blocks.AccountsView{Accounts: views[first:min(first+blocks.AccountsPageSize, len(views))],
		Total: len(views), Page: n, Pages: pages, Filter: filter}
	if n > 1 {
		view.PrevValue = strconv.Itoa(n-1) + ":" + filter
	}
	if n < pages {
		view.NextValue = strconv.Itoa(n+1) + ":" + filter
	}
	return blocks.Accounts(view), nil
}

// accountMatches applies the filter of `/charlize accounts`: a glob
// pattern (a bare word matches anywhere) on the name, id or OU path, in
// any case.
func accountMatches(filter string, a ec2ops.Account) bool {
	if filter == "" {
		return true
	}
	p := strings.ToLower(filter)
	if !glob.HasWildcard(p) {
		p = "*" + p + "*"
	}
	return glob.Match(p, strings.ToLower(a.Name)) || glob.Match(p, a.ID) || (a.OU != "" && glob.Match(p, strings.ToLower(a.OU)))
}

// accountVisible applies tenant isolation: in multi-workspace mode an
// account is seen only by the workspaces its `workspaces` list names.
func (d *Dispatcher) accountVisible(a ec2ops.Account, team string) bool {
	if d.strictTenancy && len(a.Workspaces) == 0 {
		return false
	}
	return a.VisibleTo(team)
}
