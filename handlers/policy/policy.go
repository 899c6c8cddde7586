// Package policy decides who may do what: which Slack principals may run
// which Charlize actions on which AWS accounts and instances, and which
// actions need a second person's approval. It parses and validates the
// policy file and answers questions about it; it performs no I/O beyond
// reading that file in Load, and makes no Slack or AWS calls — callers
// supply the user's group memberships (see UserGroups) and instance tags.
package policy

import (
	"fmt"
	"path"
	"slices"
	"sort"
	"strings"
)

// Actions Charlize knows. Approval rules may name only the mutating ones.
var (
	knownActions    = []string{"list", "status", "start", "stop", "reboot", "restart", "terminate", "audit"}
	mutatingActions = []string{"start", "stop", "reboot", "restart", "terminate"}
)

// Principal is who is asking: a Slack user, the channel they asked from and
// the user groups they belong to.
type Principal struct {
	User    string   // Slack user id (U… or W…)
	Channel string   // Slack channel id (C…, G… or D…)
	Groups  []string // the user's Slack user group ids (S…)
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
	accounts []string // globs; nil means every account
	actions  map[string]bool
	tags     []tagCond // sorted by key so refusals read the same every time
}

// tagCond requires an instance tag key whose value matches pattern.
type tagCond struct{ key, pattern string }

// approvalRule is one compiled entry of approval:.
type approvalRule struct {
	name     string // "approval[i]"
	actions  map[string]bool
	accounts []string // globs; nil means every account
}

// defaultRule names the only rule of the default policy.
const defaultRule = "default-operate"

// Default is the policy used when no policy file is configured: every user
// may list, status, start, stop, reboot and restart; nobody may terminate or
// audit; nothing needs approval.
func Default() *Policy {
	return &Policy{
		rules: []*rule{{
			name:    defaultRule,
			anyUser: true,
			actions: setOf("list", "status", "start", "stop", "reboot", "restart"),
		}},
		isDefault: true,
	}
}

// Decide says whether who may perform action on t. The first rule in file
// order that matches grants; refusals explain what was missing.
func (p *Policy) Decide(who Principal, action string, t Target) Decision {
	var near *rule // first rule refused only by its tag conditions
	for _, r := range p.ruleList() {
		if !r.actions[action] || !r.admits(who) || !matchAny(r.accounts, t.Account) {
			continue
		}
		if t.AnyInstance || r.fits(t.Tags) {
			return Decision{Allowed: true, Rule: r.name}
		}
		if near == nil {
			near = r
		}
	}
	reason := "no rule grants " + action
	if t.Account != "" {
		reason += " on " + t.Account
	}
	reason += " to you"
	if near != nil {
		reason += fmt.Sprintf(" for this instance (rule %s needs %s)", near.name, near.conditions())
	}
	return Decision{Reason: reason}
}

// Approval reports whether action on account needs a second person's
// approval, and which entry says so ("approval[i]", i counting from 0 in
// file order). The first matching entry wins.
func (p *Policy) Approval(action, account string) (rule string, needed bool) {
	if p == nil {
		return "", false
	}
	for _, a := range p.approvals {
		if a.actions[action] && matchAny(a.accounts, account) {
			return a.name, true
		}
	}
	return "", false
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
		if m, _ := path.Match(c.pattern, v); !m {
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
// Patterns were validated at parse time, so errors cannot occur here.
func matchAny(globs []string, name string) bool {
	if globs == nil {
		return true
	}
	for _, g := range globs {
		if m, _ := path.Match(g, name); m {
			return true
		}
	}
	return false
}

func setOf(xs ...string) map[string]bool {
	m := make(map[string]bool, len(xs))
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
