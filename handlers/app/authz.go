package app

import (
	"context"
	"slices"
	"time"

	"github.com/slack-go/slack"

	"github.com/charlize-app/charlize/ec2ops"
	"github.com/charlize-app/charlize/ec2ops/action"
	"github.com/charlize-app/charlize/handlers/policy"
	"github.com/charlize-app/charlize/handlers/slackclient"
)

// viewer is the person a flow decides for: whoever typed the command or
// pressed the button, never the author of the message that holds it.
type viewer struct {
	team    slackclient.Team
	user    string
	channel string
	who     policy.Principal
}

// groupLookupBudget bounds reading user group memberships in a request.
const groupLookupBudget = 1200 * time.Millisecond

// viewerOf resolves the principal, including the user's Slack user groups
// that the policy names (fetched with usergroups.users.list, cached).
func (d *Dispatcher) viewerOf(ctx context.Context, team slackclient.Team, user, channel string) viewer {
	v := viewer{team: team, user: user, channel: channel, who: policy.Principal{User: user, Channel: channel, Team: team.ID}}
	groups := d.policy.UserGroups()
	if len(groups) == 0 {
		return v
	}
	// This runs before the ack (and before views.open): a slow or
	// rate-limited Slack must not cost the 3 seconds. A group not read in
	// time grants nothing this once.
	ctx, cancel := context.WithTimeout(ctx, groupLookupBudget)
	defer cancel()
	for _, g := range groups {
		if slices.Contains(d.groups.Members(ctx, team, g), user) {
			v.who.Groups = append(v.who.Groups, g)
		}
	}
	return v
}

// viewerOfCallback is the viewer who pressed a button or submitted a view.
// In a Slack Connect channel the presser may belong to another
// organisation: their own team is not the one Charlize is installed in.
// (Within one Enterprise Grid org, users of its other workspaces are not
// external.)
func (d *Dispatcher) viewerOfCallback(ctx context.Context, cb slack.InteractionCallback) viewer {
	return d.viewerAs(ctx, slackclient.Team{ID: cb.Team.ID, EnterpriseID: cb.Enterprise.ID}, cb.User.ID, channelOf(cb), externalHome(cb))
}

// externalHome is the presser's own team when they are from another
// organisation, else "".
func externalHome(cb slack.InteractionCallback) string {
	if cb.User.TeamID != "" && cb.User.TeamID != cb.Team.ID && cb.Enterprise.ID == "" {
		return cb.User.TeamID
	}
	return ""
}

// viewerAs is viewerOf for a user who is external when home, their own
// team, is given: as a record keeps whoever pressed its buttons.
func (d *Dispatcher) viewerAs(ctx context.Context, team slackclient.Team, user, channel, home string) viewer {
	return d.viewerOf(ctx, team, user, channel).from(home)
}

// from is v as a user whose own team is home: external when home is
// given, else v unchanged.
func (v viewer) from(home string) viewer {
	if home != "" {
		v.who.Team, v.who.External = home, true
	}
	return v
}

// homeTeam is v's own team when v is a Slack Connect user from another
// organisation, else "".
func (v viewer) homeTeam() string {
	if v.who.External {
		return v.who.Team
	}
	return ""
}

// decide asks the policy whether v may do action on inst.
func (d *Dispatcher) decide(v viewer, a action.Action, inst ec2ops.Instance) policy.Decision {
	return d.policy.Decide(v.who, a, policy.Target{Account: inst.Account, Tags: inst.Tags})
}

// require returns a *deniedError when v may not do action on inst.
func (d *Dispatcher) require(v viewer, a action.Action, inst ec2ops.Instance) (policy.Decision, error) {
	dec := d.decide(v, a, inst)
	if !dec.Allowed {
		return dec, &deniedError{action: a, target: displayName(inst), reason: dec.Reason}
	}
	return dec, nil
}

// mayAct filters an instance's buttons down to what v may press, for
// messages only v sees; nil v keeps them all (shared messages decide at
// click time).
func (d *Dispatcher) mayAct(v *viewer) func(ec2ops.Instance, action.Action) bool {
	if v == nil {
		return nil
	}
	return func(i ec2ops.Instance, a action.Action) bool {
		return d.decide(*v, a, i).Allowed
	}
}
