package handlers

import (
	"context"
	"fmt"
	"slices"
	"sort"
	"strings"

	"github.com/slack-go/slack"

	"github.com/charlize-app/charlize/blocks"
	"github.com/charlize-app/charlize/ec2ops"
)

// maxClosestNames is how many near names a "no match" answer suggests.
const maxClosestNames = 3

// instanceCommand answers `/charlize status|start|stop|… <instance>`:
// commands never act from text, they answer with the instance's card whose
// buttons act.
func (d *Dispatcher) instanceCommand(verb ec2ops.Action) func(context.Context, slack.SlashCommand, string) (Ack, error) {
	return func(ctx context.Context, cmd slack.SlashCommand, args string) (Ack, error) {
		if args == "" {
			return Ack{Body: ephemeral(fmt.Sprintf("Which instance? For example `%s %s web-1` or `%s %s i-0abc…`.",
				d.slashCommand, verb, d.slashCommand, verb))}, nil
		}
		q, err := ec2ops.ParseQuery(args)
		if err != nil {
			return Ack{}, err
		}
		err = d.workers.Go(ctx, func(ctx context.Context) {
			msg, err := d.resolve(ctx, cmd, args, q, verb)
			if err != nil {
				msg = d.failure(ctx, "resolve", err)
			}
			if err := d.respond.post(ctx, cmd.ResponseURL, replacing(msg)); err != nil {
				d.log.WarnContext(ctx, "could not post instance", "request_id", RequestIDFrom(ctx), "err", err)
			}
		})
		if err != nil {
			return Ack{}, err
		}
		return Ack{Body: ephemeral("🔎 Looking up " + blocks.Code(args, 100) + "…")}, nil
	}
}

// resolve finds the instance args names: one match gives its card, several
// a short picker, none the closest names.
func (d *Dispatcher) resolve(ctx context.Context, cmd slack.SlashCommand, args string, q ec2ops.Query, verb ec2ops.Action) (slack.WebhookMessage, error) {
	res, err := d.list(ctx, cmd.TeamID, q)
	if err != nil {
		return slack.WebhookMessage{}, err
	}
	matches := res.Instances
	if len(matches) == 0 && len(q.IDs) == 0 {
		// No exact name: try the cached inventory for names containing it.
		all := d.inventory.get(ctx, d.visibleAccounts(cmd.TeamID), inventoryWait)
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
		return d.cardMessage(ctx, cmd.TeamID, cmd.ChannelID, cmd.UserID, matches[0], verb)
	}
	st := flowState{Kind: "matches", TeamID: cmd.TeamID, ChannelID: cmd.ChannelID, UserID: cmd.UserID, Query: string(verb), Items: matches}
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

// cardMessage describes one instance and renders its card.
func (d *Dispatcher) cardMessage(ctx context.Context, team, channel, user string, inst ec2ops.Instance, verb ec2ops.Action) (slack.WebhookMessage, error) {
	detail, err := d.fleet.Describe(ctx, inst.Account, inst.Region, inst.ID)
	if err != nil {
		return slack.WebhookMessage{}, err
	}
	st := flowState{Kind: "card", TeamID: team, ChannelID: channel, UserID: user, Items: []ec2ops.Instance{detail.Instance}}
	id, err := d.saveFlow(ctx, st)
	if err != nil {
		return slack.WebhookMessage{}, err
	}
	note := ""
	name := displayName(detail.Instance)
	if verb != "" && verb != ec2ops.ActionStatus {
		if why := verb.Allowed(detail.State); why != nil {
			note = fmt.Sprintf("You asked to %s %s, but it is %s.", verb, name, detail.State)
		} else {
			note = fmt.Sprintf("Press %s to %s %s.", actionLabel(verb), verb, name)
		}
	}
	return blocks.Card(detailView(detail, itemValue(id, 0)), d.now(), note), nil
}

// pick shows the card of one of several matches.
func (d *Dispatcher) pick(ctx context.Context, cb slack.InteractionCallback, value string) error {
	id, n, err := parseItemValue(value)
	if err != nil {
		return err
	}
	st, err := d.loadFlow(ctx, id, cb.Team.ID)
	if err != nil {
		return err
	}
	inst, err := st.item(n)
	if err != nil {
		return err
	}
	verb, _ := ec2ops.ParseAction(st.Query)
	return d.showCard(ctx, cb, inst, verb)
}

// showCard replaces the clicked message with inst's card, after the ack.
func (d *Dispatcher) showCard(ctx context.Context, cb slack.InteractionCallback, inst ec2ops.Instance, verb ec2ops.Action) error {
	return d.workers.Go(ctx, func(ctx context.Context) {
		msg, err := d.cardMessage(ctx, cb.Team.ID, channelOf(cb), cb.User.ID, inst, verb)
		if err != nil {
			msg = d.failure(ctx, "card", err)
		} else {
			msg = d.inPlace(cb, msg)
		}
		if err := d.respond.post(ctx, cb.ResponseURL, msg); err != nil {
			d.log.WarnContext(ctx, "could not post card", "request_id", RequestIDFrom(ctx), "err", err)
		}
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
		names = append(names, scored{i.Name, editDistance(s, strings.ToLower(i.Name))})
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

func actionLabel(a ec2ops.Action) string {
	s := string(a)
	if s == "" {
		return s
	}
	return strings.ToUpper(s[:1]) + s[1:]
}
