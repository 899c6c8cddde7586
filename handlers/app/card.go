package app

import (
	"context"
	"fmt"
	"slices"
	"sort"
	"strings"

	"github.com/slack-go/slack"

	"github.com/charlize-app/charlize/blocks"
	"github.com/charlize-app/charlize/ec2ops"
	"github.com/charlize-app/charlize/ec2ops/action"
	"github.com/charlize-app/charlize/handlers/slackclient"
	"github.com/charlize-app/charlize/handlers/typo"
)

// maxClosestNames is how many near names a "no match" answer suggests.
const maxClosestNames = 3

// instanceCommand answers `/charlize status|start|stop|… <instance>`:
// commands never act from text, they answer with the instance's card whose
// buttons act.
func (d *Dispatcher) instanceCommand(verb action.Action) func(context.Context, slack.SlashCommand, string) (Ack, error) {
	return func(ctx context.Context, cmd slack.SlashCommand, args string) (Ack, error) {
		if args == "" {
			return Ack{Body: ephemeral(fmt.Sprintf("Which instance? For example `%s %s web-1` or `%s %s i-0abc…`.",
				d.slashCommand, verb, d.slashCommand, verb))}, nil
		}
		q, err := ec2ops.ParseQuery(args)
		if err != nil {
			return Ack{}, err
		}
		v := d.viewerOf(ctx, slackclient.Team{ID: cmd.TeamID, EnterpriseID: cmd.EnterpriseID}, cmd.UserID, cmd.ChannelID)
		err = d.later(ctx, "resolve", d.replyToCommand(cmd), func(ctx context.Context) (slack.WebhookMessage, error) {
			return d.resolve(ctx, v, args, q, verb)
		})
		if err != nil {
			return Ack{}, err
		}
		return Ack{Body: ephemeral("🔎 Looking up " + blocks.Code(args, 100) + "…")}, nil
	}
}

// resolve finds the instance args names: one match gives its card, several
// a short picker, none the closest names.
func (d *Dispatcher) resolve(ctx context.Context, v viewer, args string, q ec2ops.Query, verb action.Action) (slack.WebhookMessage, error) {
	res, err := d.list(ctx, v, q)
	if err != nil {
		return slack.WebhookMessage{}, err
	}
	matches := res.Instances
	if len(matches) == 0 && len(res.Failures) > 0 {
		// The instance may be in what could not be read: say so rather
		// than that nothing matches.
		return slack.WebhookMessage{}, &lookupFailedError{query: args, failures: res.Failures}
	}
	if len(matches) == 0 && len(q.IDs) == 0 {
		// No exact name: try the cached inventory for names containing it.
		all := slices.DeleteFunc(slices.Clone(d.inventory.get(ctx, d.visibleAccounts(v.team.ID), inventoryWait)),
			func(i ec2ops.Instance) bool { return !d.decide(v, "list", i).Allowed })
		needle := strings.ToLower(args)
		for _, i := range all {
			if strings.Contains(strings.ToLower(i.Name), needle) {
				matches = append(matches, i)
			}
		}
		if len(matches) == 0 {
			return blocks.NoMatch(args, closestNames(args, all)), nil
		}
	}
	if len(matches) == 0 {
		// An instance id that no visible account has.
		return blocks.NoMatch(args, nil), nil
	}
	if len(matches) == 1 {
		return d.cardMessage(ctx, v, matches[0], verb, false)
	}
	st := flowState{Kind: kindMatches, TeamID: v.team.ID, ChannelID: v.channel, UserID: v.user, Action: verb, Items: matches}
	id, err := d.saveFlow(ctx, st)
	if err != nil {
		return slack.WebhookMessage{}, err
	}
	views := make([]blocks.InstanceView, len(matches))
	values := make([]string, len(matches))
	for n, i := range matches {
		views[n] = instanceView(i, "")
		values[n] = itemValue(id, n)
	}
	return blocks.Matches(args, views, values), nil
}

// cardMessage describes one instance and renders its card for v; on a
// shared message every valid button is kept for the click-time decision.
func (d *Dispatcher) cardMessage(ctx context.Context, v viewer, inst ec2ops.Instance, verb action.Action, shared bool) (slack.WebhookMessage, error) {
	if _, err := d.require(v, "status", inst); err != nil {
		return slack.WebhookMessage{}, err
	}
	detail, err := d.fleet.Describe(ctx, inst.Account, inst.Region, inst.ID)
	if err != nil {
		return slack.WebhookMessage{}, err
	}
	st := flowState{Kind: kindCard, TeamID: v.team.ID, ChannelID: v.channel, UserID: v.user, Items: []ec2ops.Instance{detail.Instance}, Shared: shared}
	id, err := d.saveFlow(ctx, st)
	if err != nil {
		return slack.WebhookMessage{}, err
	}
	note := ""
	name := displayName(detail.Instance)
	if verb != "" && verb != action.Status {
		if why := ec2ops.Allowed(verb, detail.State); why != nil {
			note = fmt.Sprintf("You asked to %s %s, but it is %s.", verb, name, detail.State)
		} else {
			note = fmt.Sprintf("Press %s to %s %s.", actionLabel(verb), verb, name)
		}
	}
	var may func(ec2ops.Instance, action.Action) bool
	if !shared {
		may = d.mayAct(&v)
		if verb != "" {
			if dec := d.decide(v, verb, detail.Instance); !dec.Allowed {
				note = dec.Reason
			}
		}
	}
	return blocks.Card(detailView(detail, itemValue(id, 0), may), d.now(), note), nil
}

// pick shows the card of one of several matches.
func (d *Dispatcher) pick(ctx context.Context, cb slack.InteractionCallback, p pressed) error {
	st, _, _, inst, err := d.loadItem(ctx, cb.Team.ID, p.value, action.Status, kindMatches)
	if err != nil {
		return err
	}
	return d.showCard(ctx, cb, inst, st.Action)
}

// showCard replaces the clicked message with inst's card, after the ack.
func (d *Dispatcher) showCard(ctx context.Context, cb slack.InteractionCallback, inst ec2ops.Instance, verb action.Action) error {
	v := d.viewerOfCallback(ctx, cb)
	shared := !cb.Container.IsEphemeral && cb.Container.MessageTs != ""
	return d.later(ctx, "card", d.replyToClick(cb), func(ctx context.Context) (slack.WebhookMessage, error) {
		return d.cardMessage(ctx, v, inst, verb, shared)
	})
}

// closestNames are the instance names nearest to s by edit distance.
func closestNames(s string, all []ec2ops.Instance) []string {
	type scored struct {
		name string
		dist int
	}
	var names []scored
	seen := map[string]bool{}
	s = strings.ToLower(s)
	for _, i := range all {
		if i.Name == "" || seen[i.Name] {
			continue
		}
		seen[i.Name] = true
		names = append(names, scored{i.Name, typo.Distance(s, strings.ToLower(i.Name))})
	}
	sort.SliceStable(names, func(a, b int) bool {
		if names[a].dist != names[b].dist {
			return names[a].dist < names[b].dist
		}
		return names[a].name < names[b].name
	})
	var out []string
	for _, n := range names[:min(maxClosestNames, len(names))] {
		// Far-off names are noise, not suggestions.
		if n.dist <= max(3, len(s)/2) {
			out = append(out, n.name)
		}
	}
	return slices.Clip(out)
}

func displayName(i ec2ops.Instance) string {
	if i.Name != "" {
		return i.Name
	}
	return i.ID
}

func actionLabel(a action.Action) string {
	s := string(a)
	if s == "" {
		return s
	}
	return strings.ToUpper(s[:1]) + s[1:]
}
