package policy_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/charlize-app/charlize/ec2ops/action"
	"github.com/charlize-app/charlize/handlers/policy"
)

// problems flattens the errors.Join that Parse returns into its *Errors.
func problems(t *testing.T, err error) []*policy.Error {
	t.Helper()
	var errs []error
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		errs = j.Unwrap()
	} else if err != nil {
		errs = []error{err}
	}
	var out []*policy.Error
	for _, e := range errs {
		var pe *policy.Error
		if !errors.As(e, &pe) {
			t.Fatalf("Parse error %v (%T) is not a *policy.Error", e, e)
		}
		out = append(out, pe)
	}
	return out
}

func TestParseErrors(t *testing.T) {
	tests := []struct {
		name    string
		src     string
		rule    string // want an *Error with this Rule,
		field   string // this Field,
		line    int    // this Line (0: don't check)
		problem string // and a Problem containing this
	}{
		// structure and unknown fields
		{"empty file", ``, "", "rules", 1, "empty"},
		{"invalid yaml", "rules: [\n  {name: a\n", "", "", 0, "invalid YAML"},
		{"not a mapping", "- a\n- b\n", "", "", 1, "must be a mapping"},
		{"no rules", "approval: [{actions: [stop]}]\n", "", "rules", 1, "missing"},
		{"rules empty", "rules: []\n", "", "rules", 1, "empty list"},
		{"rules not a list", "rules: {name: a}\n", "", "rules", 1, "must be a list"},
		{"rule not a mapping", "rules: [hello]\n", "rules[0]", "", 1, "must be a mapping"},
		{"unknown top-level field", "version: 2\nrules: [{name: a, who: {users: [U1]}, actions: [list]}]\n", "", "version", 1, "unknown field"},
		{"unknown rule field", `
rules:
  - name: a
    who: {users: [U1]}
    actions: [list]
    acounts: [x]
`, "a", "acounts", 6, "unknown field"},
		{"unknown who field", "rules: [{name: a, who: {orgs: [T1]}, actions: [list]}]\n", "a", "who.orgs", 1, "unknown field"},
		{"unknown where field", "rules: [{name: a, who: {users: [U1]}, actions: [list], where: {labels: {a: b}}}]\n", "a", "where.labels", 1, "unknown field"},
		{"unknown approval field", "rules: [{name: a, who: {users: [U1]}, actions: [stop]}]\napproval: [{actions: [stop], name: x}]\n", "approval[0]", "name", 2, "unknown field"},
		{"repeated field", `
rules:
  - name: a
    who: {users: [U1]}
    actions: [list]
    actions: [stop]
`, "a", "actions", 6, "given twice (first at line 5)"},

		// names
		{"missing name", "rules: [{who: {users: [U1]}, actions: [list]}]\n", "rules[0]", "name", 1, "missing"},
		{"empty name", "rules:\n  - name:\n    who: {users: [U1]}\n    actions: [list]\n", "rules[0]", "name", 2, "non-empty"},
		{"duplicate name", `
rules:
  - name: a
    who: {users: [U1]}
    actions: [list]
  - name: a
    who: {users: [U2]}
    actions: [stop]
`, "a", "name", 6, "duplicate rule name (first used at line 3)"},

		// who
		{"missing who", "rules: [{name: a, actions: [list]}]\n", "a", "who", 1, "missing"},
		{"empty who", "rules: [{name: a, who: {}, actions: [list]}]\n", "a", "who", 1, "empty"},
		{"who not a mapping", "rules: [{name: a, who: U1, actions: [list]}]\n", "a", "who", 1, "must be a mapping"},
		{"empty users", "rules: [{name: a, who: {users: []}, actions: [list]}]\n", "a", "who.users", 1, "empty list"},
		{"null users", "rules:\n  - name: a\n    who:\n      users:\n    actions: [list]\n", "a", "who.users", 4, "empty list"},
		{"empty usergroups", "rules: [{name: a, who: {usergroups: []}, actions: [list]}]\n", "a", "who.usergroups", 1, "empty list"},
		{"empty channels", "rules: [{name: a, who: {channels: []}, actions: [list]}]\n", "a", "who.channels", 1, "empty list"},
		{"lowercase user id", "rules: [{name: a, who: {users: [u111]}, actions: [list]}]\n", "a", "who.users", 1, `"u111" is not a Slack user id`},
		{"user name not id", "rules: [{name: a, who: {users: [alice]}, actions: [list]}]\n", "a", "who.users", 1, `"alice" is not a Slack user id`},
		{"bare U", "rules: [{name: a, who: {users: [U]}, actions: [list]}]\n", "a", "who.users", 1, `"U" is not a Slack user id`},
		{"usergroup not S", "rules: [{name: a, who: {usergroups: [G123]}, actions: [list]}]\n", "a", "who.usergroups", 1, `"G123" is not a Slack user group id`},
		{"usergroup star", "rules: [{name: a, who: {usergroups: ['*']}, actions: [list]}]\n", "a", "who.usergroups", 1, `"*" is not a Slack user group id`},
		{"channel name", "rules: [{name: a, who: {channels: ['#ops']}, actions: [list]}]\n", "a", "who.channels", 1, `"#ops" is not a Slack channel id`},
		{"channel is user", "rules: [{name: a, who: {channels: [U123]}, actions: [list]}]\n", "a", "who.channels", 1, `"U123" is not a Slack channel id`},
		{"nested list entry", "rules: [{name: a, who: {users: [[U1]]}, actions: [list]}]\n", "a", "who.users", 1, "entries must be plain values"},

		// actions
		{"missing actions", "rules: [{name: a, who: {users: [U1]}}]\n", "a", "actions", 1, "missing"},
		{"empty actions", "rules: [{name: a, who: {users: [U1]}, actions: []}]\n", "a", "actions", 1, "empty list"},
		{"actions not a list", "rules: [{name: a, who: {users: [U1]}, actions: stop}]\n", "a", "actions", 1, "must be a list"},
		{"typo action", "rules: [{name: a, who: {users: [U1]}, actions: [stpo]}]\n", "a", "actions", 1, `unknown action "stpo" (did you mean stop?)`},
		{"capital action", "rules: [{name: a, who: {users: [U1]}, actions: [Terminate]}]\n", "a", "actions", 1, `unknown action "Terminate" (did you mean terminate?)`},
		{"unknown action", "rules: [{name: a, who: {users: [U1]}, actions: [frobnicate]}]\n", "a", "actions", 1, `unknown action "frobnicate" (known: list, status`},

		// accounts and tags
		{"empty accounts", "rules: [{name: a, who: {users: [U1]}, actions: [list], accounts: []}]\n", "a", "accounts", 1, "empty list"},
		{"empty account", "rules: [{name: a, who: {users: [U1]}, actions: [list], accounts: ['']}]\n", "a", "accounts", 1, "empty entry"},
		{"empty where", "rules: [{name: a, who: {users: [U1]}, actions: [stop], where: {}}]\n", "a", "where", 1, "empty"},
		{"empty tags", "rules: [{name: a, who: {users: [U1]}, actions: [stop], where: {tags: {}}}]\n", "a", "where.tags", 1, "empty"},
		{"null tag value", "rules: [{name: a, who: {users: [U1]}, actions: [stop], where: {tags: {env: }}}]\n", "a", "where.tags.env", 1, "must be a string"},
		{"repeated tag", "rules: [{name: a, who: {users: [U1]}, actions: [stop], where: {tags: {env: a, env: b}}}]\n", "a", "where.tags.env", 1, "given twice"},

		// approval
		{"approval without actions", "rules: [{name: a, who: {users: [U1]}, actions: [stop]}]\napproval: [{accounts: ['*']}]\n", "approval[0]", "actions", 2, "missing"},
		{"approval empty actions", "rules: [{name: a, who: {users: [U1]}, actions: [stop]}]\napproval: [{actions: []}]\n", "approval[0]", "actions", 2, "empty list"},
		{"approval read-only action", "rules: [{name: a, who: {users: [U1]}, actions: [stop]}]\napproval: [{actions: [terminate]}, {actions: [list]}]\n", "approval[1]", "actions", 2, "list is not a mutating action"},
		{"approval audit", "rules: [{name: a, who: {users: [U1]}, actions: [stop]}]\napproval: [{actions: [audit]}]\n", "approval[0]", "actions", 2, "audit is not a mutating action"},
		{"approval typo", "rules: [{name: a, who: {users: [U1]}, actions: [stop]}]\napproval: [{actions: [terminte]}]\n", "approval[0]", "actions", 2, `unknown action "terminte" (did you mean terminate?)`},
		{"approval not a list", "rules: [{name: a, who: {users: [U1]}, actions: [stop]}]\napproval: {actions: [stop]}\n", "", "approval", 2, "must be a list"},
		{"approval null", "rules: [{name: a, who: {users: [U1]}, actions: [stop]}]\napproval:\n", "", "approval", 2, "empty list"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, err := policy.Parse([]byte(tt.src))
			if err == nil {
				t.Fatalf("Parse(%q) = %v, nil, want an error for rule %q field %q", tt.src, p.Summary(), tt.rule, tt.field)
			}
			if p != nil {
				t.Errorf("Parse(%q) returned a policy alongside its error", tt.src)
			}
			for _, pe := range problems(t, err) {
				if pe.Rule == tt.rule && pe.Field == tt.field && strings.Contains(pe.Problem, tt.problem) &&
					(tt.line == 0 || pe.Line == tt.line) {
					return
				}
			}
			t.Errorf("Parse(%q) = %v\nwant an error for rule %q field %q line %d containing %q", tt.src, err, tt.rule, tt.field, tt.line, tt.problem)
		})
	}
}

// TestParseErrorMessage pins the message operators read in the start-up log.
func TestParseErrorMessage(t *testing.T) {
	src := `
rules:
  - name: sre-leads
    who: {users: [U111]}
    actions: [start, stpo]
`
	_, err := policy.Parse([]byte(src))
	want := `policy: line 5: rule "sre-leads" field actions: unknown action "stpo" (did you mean stop?)`
	if err == nil || err.Error() != want {
		t.Errorf("Parse error = %v, want %s", err, want)
	}
	e := &policy.Error{Rule: "sre-leads", Field: "actions", Problem: `unknown action "stpo" (did you mean stop?)`}
	if got, want := e.Error(), `policy: rule "sre-leads" field actions: unknown action "stpo" (did you mean stop?)`; got != want {
		t.Errorf("Error() without a line = %q, want %q", got, want)
	}
}

// TestParseReportsAll checks that one pass reports every problem, each
// naming its rule.
func TestParseReportsAll(t *testing.T) {
	src := `
rules:
  - name: a
    who: {users: [alice]}
    actions: [stpo]
  - who: {channels: ['#ops']}
    actions: [list]
    extra: 1
approval:
  - actions: [list]
`
	_, err := policy.Parse([]byte(src))
	type key struct{ rule, field string }
	var got []key
	for _, pe := range problems(t, err) {
		got = append(got, key{pe.Rule, pe.Field})
	}
	want := []key{
		{"a", "who.users"}, {"a", "actions"},
		{"rules[1]", "extra"}, {"rules[1]", "name"}, {"rules[1]", "who.channels"},
		{"approval[0]", "actions"},
	}
	if len(got) != len(want) {
		t.Fatalf("Parse problems = %v, want %v", got, want)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("Parse problem %d = %v, want %v (all: %v)", i, got[i], want[i], got)
		}
	}
}

func TestParseValid(t *testing.T) {
	tests := []struct {
		name   string
		src    string
		who    policy.Principal
		action action.Action
		target policy.Target
		want   string // granting rule
	}{
		{"aliases", `
rules:
  - name: a
    who: &sre {usergroups: [S0SRE]}
    actions: [stop]
  - name: b
    who: *sre
    actions: [start]
`, policy.Principal{User: "U1", Groups: []string{"S0SRE"}}, "start", policy.Target{Account: "x"}, "b"},
		{"numeric account and tag values", `
rules:
  - name: a
    who: {users: [W0X]}
    accounts: [123456789012, "acme-*"]
    actions: [stop]
    where: {tags: {tier: 1, team: "web-?"}}
`, policy.Principal{User: "W0X"}, "stop",
			policy.Target{Account: "123456789012", Tags: map[string]string{"tier": "1", "team": "web-a"}}, "a"},
		{"every principal kind and action", `
rules:
  - name: everything
    who: {users: ["*", U1], usergroups: [S1], channels: [C1, G1, D1]}
    actions: [list, status, start, stop, reboot, restart, terminate, audit]
approval:
  - actions: [start, stop, reboot, restart, terminate]
`, policy.Principal{Channel: "G1"}, "audit", policy.Target{}, "everything"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := mustParse(t, tt.src)
			if got := p.Decide(tt.who, tt.action, tt.target); !got.Allowed || got.Rule != tt.want {
				t.Errorf("Decide(%+v, %q, %+v) = %+v, want allowed by %q", tt.who, tt.action, tt.target, got, tt.want)
			}
		})
	}
}
