package app

import (
	"context"
	"fmt"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"

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
		err = d.laterCard(ctx, "resolve", d.replyToCommand(cmd), func(ctx context.Context) (slack.WebhookMessage, cardFollowUp, error) {
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
func (d *Dispatcher) resolve(ctx context.Context, v viewer, args string, q ec2ops.Query, verb action.Action) (slack.WebhookMessage, cardFollowUp, error) {
	res, err := d.list(ctx, v, q)
	if err != nil {
		return slack.WebhookMessage{}, nil, err
	}
	matches := res.Instances
	if len(matches) == 0 && len(res.Failures) > 0 {
		// The instance may be in what could not be read: say so rather
		// than that nothing matches.
		return slack.WebhookMessage{}, nil, &lookupFailedError{query: args, failures: res.Failures}
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
			return blocks.NoMatch(args, closestNames(args, all)), nil, nil
		}
	}
	if len(matches) == 0 {
		// An instance id that no visible account has.
		return blocks.NoMatch(args, nil), nil, nil
	}
	if len(matches) == 1 {
		return d.cardMessage(ctx, v, matches[0], verb, false)
	}
	st := flowState{Kind: kindMatches, TeamID: v.team.ID, ChannelID: v.channel, UserID: v.user, Action: verb, Items: matches}
	id, err := d.saveFlow(ctx, st)
	if err != nil {
		return slack.WebhookMessage{}, nil, err
	}
	views := make([]blocks.InstanceView, len(matches))
	values := make([]string, len(matches))
	for n, i := range matches {
		views[n] = instanceView(i, "")
		values[n] = itemValue(id, n)
	}
	return blocks.Matches(args, views, values), nil, nil
}

// cardFollowUp edits a card once it has been delivered through r, when its
// graph was not ready in time; at is the channel message it replaced, if
// any.
type cardFollowUp func(ctx context.Context, r *reply, at origin)

// laterCard is later for answers that may be cards: the answer goes first,
// then its follow-up.
func (d *Dispatcher) laterCard(ctx context.Context, op string, r *reply, produce func(context.Context) (slack.WebhookMessage, cardFollowUp, error)) error {
	return d.laterCardAt(ctx, op, r, origin{}, produce)
}

func (d *Dispatcher) laterCardAt(ctx context.Context, op string, r *reply, at origin, produce func(context.Context) (slack.WebhookMessage, cardFollowUp, error)) error {
	return d.workers.Go(ctx, func(ctx context.Context) {
		msg, follow, err := produce(ctx)
		if err != nil {
			r.refuse(ctx, d.failure(ctx, op, err))
			return
		}
		r.answer(ctx, msg)
		if follow != nil {
			follow(ctx, r, at)
		}
	})
}

// cardMessage describes one instance and renders its card for v; on a
// shared message every valid button is kept for the click-time decision.
// The graph is started before anything else and shown at once when it is
// ready (cached); otherwise the follow-up adds it when it is.
func (d *Dispatcher) cardMessage(ctx context.Context, v viewer, inst ec2ops.Instance, verb action.Action, shared bool) (slack.WebhookMessage, cardFollowUp, error) {
	if _, err := d.require(v, "status", inst); err != nil {
		return slack.WebhookMessage{}, nil, err
	}
	g := d.graphs.get(ctx, v.team, inst)
	var (
		detail ec2ops.Detail
		err    error
		denied map[action.Action]error
		wg     sync.WaitGroup
	)
	wg.Go(func() { denied = d.dryRuns(ctx, v, inst) })
	detail, err = d.fleet.Describe(ctx, inst.Account, inst.Region, inst.ID)
	wg.Wait()
	if err != nil {
		return slack.WebhookMessage{}, nil, err
	}
	st := flowState{Kind: kindCard, TeamID: v.team.ID, ChannelID: v.channel, UserID: v.user, Items: []ec2ops.Instance{detail.Instance}, Shared: shared}
	id, err := d.saveFlow(ctx, st)
	if err != nil {
		return slack.WebhookMessage{}, nil, err
	}
	note := ""
	name := displayName(detail.Instance)
	if verb != "" && verb != action.Status {
		switch why := detail.Allows(verb); {
		case ec2ops.KindOf(why) == ec2ops.KindProtected:
			note = fmt.Sprintf("You asked to %s %s, but %s.", verb, name, d.failureText(ctx, "card", why).String())
		case why != nil:
			note = fmt.Sprintf("You asked to %s %s, but it is %s.", verb, name, detail.State)
		default:
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
	card := blocks.CardView{Instance: detailView(detail, itemValue(id, 0), may), Now: d.now(), Note: note}
	card.Instance.Tags = d.keyTags(detail.Instance)
	if shared || d.decide(v, action.Console, detail.Instance).Allowed {
		card.ConsoleValue = itemValue(id, 0)
	}
	if d.schedule != nil {
		card.Schedule = d.schedule(ctx, detail.Instance)
	}
	card.Instance.Buttons, card.Notices = d.withoutDenied(ctx, card.Instance.Buttons, denied)

	graph, ready := g.now()
	card.Graph = graph
	if ready {
		return blocks.InstanceCard(card), nil, nil
	}
	follow := func(ctx context.Context, r *reply, at origin) {
		g.then(ctx, func(ctx context.Context, graph blocks.GraphView) {
			if d.superseded.has(id) {
				return // a click replaced the card meanwhile; do not bring it back
			}
			card.Graph = graph
			msg := blocks.InstanceCard(card)
			if at.TS != "" {
				d.editPosted(ctx, v.team, at, msg, r)
				return
			}
			r.replace(ctx, msg)
		})
	}
	return blocks.InstanceCard(card), follow, nil
}

// keyTags are the tags a card shows: env, owner, team and the configured
// ones, in that order, when the instance has them.
func (d *Dispatcher) keyTags(inst ec2ops.Instance) []blocks.Tag {
	var tags []blocks.Tag
	for _, k := range d.cardTags {
		if v, ok := inst.Tags[k]; ok {
			tags = append(tags, blocks.Tag{Key: k, Value: v})
		}
	}
	return tags
}

// defaultCardTags are the tags every card shows when present; Name is the
// card's title.
var defaultCardTags = []string{"env", "owner", "team"}

func cardTags(extra []string) []string {
	tags := slices.Clone(defaultCardTags)
	for _, t := range extra {
		if t = strings.TrimSpace(t); t != "" && t != "Name" && !slices.Contains(tags, t) {
			tags = append(tags, t)
		}
	}
	return tags
}

// dryRuns asks AWS, as v, whether the role may perform each action the
// card could offer for inst's state, so a missing permission is said on
// the card instead of after a confirmation. Each API call is asked once
// (a restart is a stop and a start) and all at once. Only refusals by IAM
// are returned; anything else leaves the button to decide at click time.
func (d *Dispatcher) dryRuns(ctx context.Context, v viewer, inst ec2ops.Instance) map[action.Action]error {
	var steps []action.Action
	for _, a := range action.Mutating() {
		if ec2ops.Allowed(a, inst.State) != nil {
			continue
		}
		for _, s := range dryRunSteps(a) {
			if !slices.Contains(steps, s) {
				steps = append(steps, s)
			}
		}
	}
	errs := make([]error, len(steps))
	var wg sync.WaitGroup
	for i, s := range steps {
		wg.Go(func() {
			errs[i] = d.fleet.DryRun(ctx, ec2ops.ActionRequest{Action: s, Account: inst.Account, Region: inst.Region, InstanceID: inst.ID, Actor: v.user})
		})
	}
	wg.Wait()
	denied := map[action.Action]error{}
	for _, a := range action.Mutating() {
		for _, s := range dryRunSteps(a) {
			if i := slices.Index(steps, s); i >= 0 && ec2ops.KindOf(errs[i]) == ec2ops.KindAccessDenied && denied[a] == nil {
				denied[a] = errs[i]
			}
		}
	}
	return denied
}

// dryRunSteps are the API calls an action makes.
func dryRunSteps(a action.Action) []action.Action {
	if a == action.Restart {
		return []action.Action{action.Stop, action.Start}
	}
	return []action.Action{a}
}

// withoutDenied drops the buttons a dry run refused and says why, worded
// by the one error path.
func (d *Dispatcher) withoutDenied(ctx context.Context, buttons []blocks.Button, denied map[action.Action]error) ([]blocks.Button, []string) {
	var notices []string
	kept := slices.DeleteFunc(slices.Clone(buttons), func(b blocks.Button) bool {
		err := denied[b.Kind]
		if err != nil {
			notices = append(notices, fmt.Sprintf("%s is not offered: %s", b.Kind.Label(), d.failureText(ctx, "dry run", err).String()))
		}
		return err != nil
	})
	return kept, notices
}

// pick shows the card of one of several matches.
func (d *Dispatcher) pick(ctx context.Context, cb slack.InteractionCallback, p pressed) error {
	st, _, _, inst, err := d.loadItem(ctx, cb.Team.ID, p.value, action.Status, kindMatches)
	if err != nil {
		return err
	}
	return d.showCard(ctx, cb, inst, st.Action)
}

// showCard replaces the clicked message with inst's card, after the ack;
// a card in the channel gets its graph with chat.update.
func (d *Dispatcher) showCard(ctx context.Context, cb slack.InteractionCallback, inst ec2ops.Instance, verb action.Action) error {
	v := d.viewerOfCallback(ctx, cb)
	shared := !cb.Container.IsEphemeral && cb.Container.MessageTs != ""
	var at origin
	if shared {
		at = origin{ChannelID: channelOf(cb), TS: cb.Container.MessageTs}
	}
	return d.laterCardAt(ctx, "card", d.replyToClick(cb), at, func(ctx context.Context) (slack.WebhookMessage, cardFollowUp, error) {
		return d.cardMessage(ctx, v, inst, verb, shared)
	})
}

// supersededCards remembers the cards whose message a click replaced
// (with progress, a result, a fresh card), so a graph arriving late does
// not put the old card back. It is this process's memory: a click handled
// by another replica is not seen, and the late graph then wins.
type supersededCards struct {
	mu sync.Mutex
	at map[string]time.Time // card session id → when
}

// supersededTTL outlives any graph still being made for a card.
const supersededTTL = 10 * time.Minute

func (s *supersededCards) mark(id string, now time.Time) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for k, t := range s.at {
		if now.Sub(t) > supersededTTL {
			delete(s.at, k)
		}
	}
	s.at[id] = now
}

func (s *supersededCards) has(id string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	_, ok := s.at[id]
	return ok
}

// replacingCard wraps the instance buttons' route: a click on a card's
// button (terminate aside, which opens a modal) replaces the card.
func (d *Dispatcher) replacingCard(route actionRoute) actionRoute {
	return func(ctx context.Context, cb slack.InteractionCallback, p pressed) error {
		if kind, _, _ := strings.Cut(p.sub, ":"); kind != string(action.Terminate) {
			if id, _, err := parseItemValue(p.value); err == nil {
				d.superseded.mark(id, d.now())
			}
		}
		return route(ctx, cb, p)
	}
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
