package app

import (
	"context"
	"slices"
	"strings"

	"github.com/slack-go/slack"

	"github.com/charlize-app/charlize/blocks"
	"github.com/charlize-app/charlize/ec2ops"
	"github.com/charlize-app/charlize/ec2ops/action"
	"github.com/charlize-app/charlize/handlers/policy"
	"github.com/charlize-app/charlize/handlers/slackclient"
)

// list runs q within what v may see and list: the query is narrowed to
// the visible, listable accounts, and the result is filtered again (tenant
// isolation and the policy's tag conditions) as a second guard.
func (d *Dispatcher) list(ctx context.Context, v viewer, q ec2ops.Query) (ec2ops.ListResult, error) {
	if d.fleet == nil {
		return ec2ops.ListResult{}, errNoFleet
	}
	visible := d.visibleAccounts(v.team.ID)
	if len(visible) == 0 {
		return ec2ops.ListResult{}, errNoAccountsHere
	}
	var listable []string
	var refusal policy.Decision
	for _, a := range visible {
		dec := d.policy.Decide(v.who, "list", policy.Target{Account: a, AnyInstance: true})
		if dec.Allowed {
			listable = append(listable, a)
		} else if refusal.Reason == "" {
			refusal = dec
		}
	}
	if len(listable) == 0 {
		return ec2ops.ListResult{}, &deniedError{action: "list", reason: refusal.Reason}
	}
	q = d.accountWords(q)
	if len(q.Accounts) == 0 {
		q.Accounts = listable
	} else {
		var allowed []string
		for _, a := range q.Accounts {
			// Any case, as a bare word naming the account: discovered
			// accounts are named in lower case whatever AWS spells them.
			if i := slices.IndexFunc(listable, func(l string) bool { return strings.EqualFold(l, a) }); i >= 0 {
				allowed = append(allowed, listable[i])
			}
		}
		if len(allowed) == 0 {
			return ec2ops.ListResult{}, &ec2ops.Error{Kind: ec2ops.KindInvalidQuery, Op: "handlers.list", Term: "account:" + q.Accounts[0]}
		}
		q.Accounts = allowed
	}
	res, err := d.fleet.List(ctx, q)
	if err != nil {
		return res, err
	}
	// A set: an organization's hundreds of accounts times its instances.
	listed := make(map[string]bool, len(listable))
	for _, a := range listable {
		listed[a] = true
	}
	res.Instances = slices.DeleteFunc(res.Instances, func(i ec2ops.Instance) bool {
		return !listed[i.Account] || !d.decide(v, "list", i).Allowed
	})
	return res, nil
}

// accountWords makes the query's bare words that name a configured account
// (any case) that account, as ec2ops reads them, before the query is
// narrowed to what the viewer may list: otherwise "list acme-dev" would be
// narrowed to every listable account first.
func (d *Dispatcher) accountWords(q ec2ops.Query) ec2ops.Query {
	var words []string
	for _, w := range q.Words {
		name := ""
		for a := range d.fleet.AllAccounts() {
			if strings.EqualFold(a.Name, w) {
				name = a.Name
			}
		}
		if name == "" {
			words = append(words, w)
			continue
		}
		q.Accounts = append(q.Accounts, name)
	}
	q.Words = words
	return q
}

// listCommand answers `/charlize list <query>`: "Looking up…" at once, the
// list through the response_url when AWS has answered.
func (d *Dispatcher) listCommand(ctx context.Context, cmd slack.SlashCommand, args string) (Ack, error) {
	q, err := ec2ops.ParseQuery(args)
	if err != nil {
		return Ack{}, err
	}
	v := d.viewerOf(ctx, slackclient.Team{ID: cmd.TeamID, EnterpriseID: cmd.EnterpriseID}, cmd.UserID, cmd.ChannelID)
	err = d.later(ctx, "list", d.replyToCommand(cmd), func(ctx context.Context) (slack.WebhookMessage, error) {
		return d.listMessage(ctx, v, cmd.ResponseURL, args, q, false)
	})
	if err != nil {
		return Ack{}, err
	}
	return Ack{Body: ephemeral("🔎 Looking up instances…")}, nil
}

// listMessage lists for v, keeps the result in a session and renders
// page 1; shared lists are posted for the whole channel.
func (d *Dispatcher) listMessage(ctx context.Context, v viewer, responseURL, text string, q ec2ops.Query, shared bool) (slack.WebhookMessage, error) {
	res, err := d.list(ctx, v, q)
	if err != nil {
		return slack.WebhookMessage{}, err
	}
	st := flowState{Kind: kindList, TeamID: v.team.ID, ChannelID: v.channel, UserID: v.user, ResponseURL: responseURL,
		Query: text, Page: 1, Items: res.Instances, Shared: shared}
	for _, f := range res.Failures {
		reason := d.failureText(ctx, "list "+f.Account+"/"+f.Region, f.Err)
		// Kept as plain text: the list escapes it when it shows it.
		st.Failures = append(st.Failures, f.Account+"/"+f.Region+": "+reason.String())
	}
	id, err := d.saveFlow(ctx, st)
	if err != nil {
		return slack.WebhookMessage{}, err
	}
	return d.renderList(st, id, &v), nil
}

// renderList renders page st.Page of a stored listing for v; a shared
// list keeps every button for the policy to decide at click time.
func (d *Dispatcher) renderList(st flowState, id string, v *viewer) slack.WebhookMessage {
	if st.Shared {
		v = nil
	}
	may := d.mayAct(v)
	pages := max(1, (len(st.Items)+blocks.ListPageSize-1)/blocks.ListPageSize)
	page := min(max(st.Page, 1), pages)
	view := blocks.ListView{
		Query:        st.Query,
		Now:          d.now(),
		Page:         page,
		Pages:        pages,
		Total:        len(st.Items),
		StateCounts:  map[string]int{},
		Failures:     st.Failures,
		RefreshValue: id,
		Requester:    st.UserID,
	}
	for _, i := range st.Items {
		view.StateCounts[i.State]++
	}
	first := (page - 1) * blocks.ListPageSize
	for n := first; n < min(first+blocks.ListPageSize, len(st.Items)); n++ {
		view.Instances = append(view.Instances, actionableView(st.Items[n], itemValue(id, n), may))
	}
	if page > 1 {
		view.PrevValue = itemValue(id, page-1)
	}
	if page < pages {
		view.NextValue = itemValue(id, page+1)
	}
	return blocks.List(view)
}

// turnPage shows another page of a stored listing, with no AWS call.
func (d *Dispatcher) turnPage(ctx context.Context, cb slack.InteractionCallback, p pressed) error {
	id, page, err := parseItemValue(p.value)
	if err != nil {
		return err
	}
	st, err := d.loadFlow(ctx, id, cb.Team.ID, action.List, kindList)
	if err != nil {
		return err
	}
	st.Page = page
	if err := d.putFlow(ctx, id, st); err != nil {
		return err
	}
	v := d.viewerOfCallback(ctx, cb)
	msg := d.renderList(st, id, &v)
	d.replyToClick(cb).soon(ctx, func(ctx context.Context, r *reply) { r.replace(ctx, msg) })
	return nil
}

// refresh re-runs a listing's query and replaces the message.
func (d *Dispatcher) refresh(ctx context.Context, cb slack.InteractionCallback, p pressed) error {
	id, err := parseSessionID(p.value)
	if err != nil {
		return err
	}
	st, err := d.loadFlow(ctx, id, cb.Team.ID, action.List, kindList)
	if err != nil {
		return err
	}
	q, err := ec2ops.ParseQuery(st.Query)
	if err != nil {
		return err
	}
	v := d.viewerOfCallback(ctx, cb)
	return d.later(ctx, "refresh", d.replyToClick(cb), func(ctx context.Context) (slack.WebhookMessage, error) {
		return d.listMessage(ctx, v, cb.ResponseURL, st.Query, q, st.Shared)
	})
}
