// Package policy decides who may do what: which Slack principals may run
// which Charlize actions on which AWS accounts and instances, and which
// actions need a second person's approval. It parses and validates the
// policy file and answers questions about it; it performs no I/O beyond
// reading that file in Load, and makes no Slack or AWS calls — callers
// supply the user's group memberships (see UserGroups) and instance tags.
package policy

import (
	"fmt"
	"slices"
	"sort"
	"strings"

	"github.com/charlize-app/charlize/ec2ops/action"
	"github.com/charlize-app/charlize/ec2ops/glob"
)

// Principal is who is asking: a Slack user, the channel they asked from and
// the user groups they belong to.
type Principal struct {
	User    string   // Slack user id (U… or W…)
	Channel string   // Slack channel id (C…, G… or D…)
	Groups  []string // the user's Slack user group ids (S…)
	// Team is the user's own workspace; External says it is another
	// organisation's (a Slack Connect channel shared with this workspace).
	Team     string
	External bool
}

// Target is what an action would touch.
type Target struct {
	Account string            // account name; "" for actions not tied to one (list, audit)
	Tags    map[string]string // the instance's tags
	// AnyInstance asks whether some instance of Account could be allowed
	// (e.g. may they list at all); tag conditions then count as satisfiable.
	AnyInstance bool
}

// Decision is the answer to "may they?".
type Decision struct {
	Allowed bool
	Rule    string // name of the granting rule, or ""
	Reason  string // why not, in words for the user; "" when allowed
}

// Policy is a parsed, validated policy. It is immutable, so one Policy may
// be shared by concurrent requests. A nil or zero Policy grants nothing.
type Policy struct {
	rules     []*rule
	approvals []*approvalRule
	groups    []string // sorted, unique usergroup ids named by any rule
	isDefault bool
}

// rule is one compiled entry of rules:.
type rule struct {
	name     string
	anyUser  bool
	users    map[string]bool
	groups   map[string]bool
	channels map[string]bool
	teams    map[string]bool // Slack Connect: other organisations' teams this rule admits
	accounts []string        // globs; nil means every account
	actions  map[action.Action]bool
	tags     []tagCond // sorted by key so refusals read the same every time
}

// tagCond requires an instance tag key whose value matches pattern.
type tagCond struct{ key, pattern string }

// approvalRule is one compiled entry of approval:.
type approvalRule struct {
	name     string // "approval[i]"
	actions  map[action.Action]bool
	accounts []string // globs; nil means every account
}

// defaultRule names the only rule of the default policy.
const defaultRule = "default-operate"

// Default is the policy used when no policy file is configured: every user
// may list, status, start, stop, reboot, restart and schedule (which lets
// them snooze scheduled stops); nobody may terminate or
// audit; nothing needs approval.
func Default() *Policy {
	return &Policy{
		rules: []*rule{{
			name:    defaultRule,
			anyUser: true,
			actions: setOf(action.List, action.Status, action.Start, action.Stop, action.Reboot, action.Restart, action.Schedule),
		}},
		isDefault: true,
	}
}

// Decide says whether who may perform action on t. The first rule in file
// order that matches grants; refusals explain what was missing. Console
// (reading an instance's console output) is decided as status unless some
// rule names console itself. Someone from another organisation (Slack
// Connect) may only list and see status, unless a rule names their team.
func (p *Policy) Decide(who Principal, a action.Action, t Target) Decision {
	if a == action.Console && !p.names(action.Console) {
		a = action.Status
	}
	guarded := who.External && a != action.List && a != action.Status
	var near *rule // first rule refused only by its tag conditions
	for _, r := range p.ruleList() {
		if !r.actions[a] || !r.admits(who) || !matchAny(r.accounts, t.Account) {
			continue
		}
		if guarded && !r.teams[who.Team] {
			continue
		}
		if t.AnyInstance || r.fits(t.Tags) {
			return Decision{Allowed: true, Rule: r.name}
		}
		if near == nil {
			near = r
		}
	}
	if guarded {
		return Decision{Reason: fmt.Sprintf("you are in another organisation's workspace (Slack Connect), and no rule names your team %s for %s", who.Team, a)}
	}
	reason := "no rule grants " + string(a)
	if t.Account != "" {
		reason += " on " + t.Account
	}
	reason += " to you"
	if near != nil {
		reason += fmt.Sprintf(" for this instance (rule %s needs %s)", near.name, near.conditions())
	}
	return Decision{Reason: reason}
}

// Approval is a two-person rule that applies to an action.
type Approval struct {
	// ID names the entry in the file: "approval[i]", i counting from 0 in
	// file order. The audit log keeps it.
	ID string
	// Says is what the entry says, for the people reading the request:
	// "stop and terminate on acme-prod need a second person's approval".
	Says string
}

// Approval reports whether action a on account needs a second person's
// approval, and which entry says so. The first matching entry wins.
func (p *Policy) Approval(a action.Action, account string) (Approval, bool) {
	if p == nil {
		return Approval{}, false
	}
	for _, r := range p.approvals {
		if r.actions[a] && matchAny(r.accounts, account) {
			return Approval{ID: r.name, Says: r.says()}, true
		}
	}
	return Approval{}, false
}

// says words an approval rule: its actions in the usual order, and the
// accounts it covers.
func (r *approvalRule) says() string {
	var acts []string
	for _, a := range action.Mutating() {
		if r.actions[a] {
			acts = append(acts, string(a))
		}
	}
	where := "every account"
	if r.accounts != nil {
		where = strings.Join(r.accounts, ", ")
	}
	return fmt.Sprintf("%s on %s %s a second person's approval", joinAnd(acts), where, plural2(len(acts), "needs", "need"))
}

// joinAnd joins words as a sentence does: "a", "a and b", "a, b and c".
func joinAnd(words []string) string {
	switch len(words) {
	case 0:
		return ""
	case 1:
		return words[0]
	}
	return strings.Join(words[:len(words)-1], ", ") + " and " + words[len(words)-1]
}

func plural2(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}

// UserGroups returns every user group id any rule names, sorted and unique,
// so callers fetch only the memberships that can matter.
func (p *Policy) UserGroups() []string {
	if p == nil {
		return nil
	}
	return slices.Clone(p.groups)
}

// IsDefault reports whether p is the built-in Default policy rather than
// one read from a file.
func (p *Policy) IsDefault() bool { return p != nil && p.isDefault }

// Summary describes p in one line for the start-up log, e.g.
// "3 rules, 1 approval rule" or "default policy".
func (p *Policy) Summary() string {
	if p.IsDefault() {
		return "default policy"
	}
	n, a := len(p.ruleList()), 0
	if p != nil {
		a = len(p.approvals)
	}
	return fmt.Sprintf("%d %s, %d approval %s", n, plural(n, "rule"), a, plural(a, "rule"))
}

// names reports whether any rule grants a.
func (p *Policy) names(a action.Action) bool {
	for _, r := range p.ruleList() {
		if r.actions[a] {
			return true
		}
	}
	return false
}

func (p *Policy) ruleList() []*rule {
	if p == nil {
		return nil
	}
	return p.rules
}

// admits reports whether the rule's who matches: any one of the user, one of
// their groups or the channel is enough. An empty id never matches, so a
// half-filled Principal cannot slip through a "*".
func (r *rule) admits(who Principal) bool {
	if who.User != "" && (r.anyUser || r.users[who.User]) {
		return true
	}
	if who.Team != "" && r.teams[who.Team] {
		return true
	}
	for _, g := range who.Groups {
		if r.groups[g] {
			return true
		}
	}
	return who.Channel != "" && r.channels[who.Channel]
}

// fits reports whether tags satisfy every tag condition of the rule.
func (r *rule) fits(tags map[string]string) bool {
	for _, c := range r.tags {
		v, ok := tags[c.key]
		if !ok {
			return false
		}
		if !glob.Match(c.pattern, v) {
			return false
		}
	}
	return true
}

// conditions renders the rule's tag conditions as "env=staging, team=web".
func (r *rule) conditions() string {
	parts := make([]string, len(r.tags))
	for i, c := range r.tags {
		parts[i] = c.key + "=" + c.pattern
	}
	return strings.Join(parts, ", ")
}

// matchAny reports whether name matches one of globs; nil globs match all.
func matchAny(globs []string, name string) bool {
	return globs == nil || glob.MatchAny(globs, name)
}

func setOf(xs ...action.Action) map[action.Action]bool {
	m := make(map[action.Action]bool, len(xs))
	for _, x := range xs {
		m[x] = true
	}
	return m
}

func sortedKeys(m map[string]bool) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

func plural(n int, word string) string {
	if n == 1 {
		return word
	}
	return word + "s"
}

// Warnings lists what in p is valid but cannot work, for the start-up
// log: an approval rule whose action at most one person may perform, so
// nobody can ever be the second person.
func (p *Policy) Warnings() []string {
	if p == nil {
		return nil
	}
	var out []string
	for _, ap := range p.approvals {
		for _, a := range action.Mutating() {
			if !ap.actions[a] {
				continue
			}
			users, open := p.performers(a, ap.accounts)
			if open || len(users) > 1 {
				continue
			}
			who := "nobody"
			if len(users) == 1 {
				who = "only " + users[0]
			}
			out = append(out, fmt.Sprintf("%s (%s): %s may %s there, so no second person can approve it", ap.name, ap.says(), who, a))
		}
	}
	return out
}

// performers lists the users that rules name for action a on accounts
// (nil: every account) that could overlap; open reports a rule that grants
// it to every user, a user group, a channel or a team, whose members may
// be many.
func (p *Policy) performers(a action.Action, accounts []string) (users []string, open bool) {
	seen := map[string]bool{}
	for _, r := range p.rules {
		if !r.actions[a] || !overlap(r.accounts, accounts) {
			continue
		}
		if r.anyUser || len(r.groups) > 0 || len(r.channels) > 0 || len(r.teams) > 0 {
			return nil, true
		}
		for u := range r.users {
			if !seen[u] {
				seen[u] = true
				users = append(users, u)
			}
		}
	}
	sort.Strings(users)
	return users, false
}

// overlap reports whether two account lists (nil: every account) may name
// a common account; patterns are compared with each other, which is exact
// for plain names and generous for two wildcards.
func overlap(a, b []string) bool {
	if a == nil || b == nil {
		return true
	}
	for _, x := range a {
		for _, y := range b {
			if glob.Match(x, y) || glob.Match(y, x) || glob.HasWildcard(x) && glob.HasWildcard(y) {
				return true
			}
		}
	}
	return false
}
