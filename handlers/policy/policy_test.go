package policy_test

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/charlize-app/charlize/ec2ops/action"
	"github.com/charlize-app/charlize/handlers/policy"
)

// mustParse parses src or fails the test.
func mustParse(t *testing.T, src string) *policy.Policy {
	t.Helper()
	p, err := policy.Parse([]byte(src))
	if err != nil {
		t.Fatalf("Parse: %v", err)
	}
	return p
}

const testPolicy = `
rules:
  - name: oncall-prod
    who: {usergroups: [S0ONCALL]}
    accounts: ["*-prod"]
    actions: [stop, reboot]
  - name: ops-channel
    who: {channels: [C0OPS]}
    accounts: [acme-dev]
    actions: [start, stop]
  - name: alice-web
    who: {users: [U0ALICE]}
    actions: [terminate]
    where: {tags: {team: "web-*", env: staging}}
  - name: enterprise-bob
    who: {users: [W0BOB]}
    accounts: [acme-dev, acme-stage]
    actions: [restart]
  - name: everyone-reads
    who: {users: ["*"]}
    actions: [list, status]
  - name: auditors
    who: {users: [U0AUDIT]}
    actions: [audit, list]
approval:
  - actions: [stop]
    accounts: [acme-dev]
  - actions: [terminate, stop]
    accounts: ["*-prod"]
  - actions: [reboot]
`

type decideCase struct {
	name   string
	who    policy.Principal
	action action.Action
	target policy.Target
	want   policy.Decision
}

func runDecide(t *testing.T, p *policy.Policy, tests []decideCase) {
	t.Helper()
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := p.Decide(tt.who, tt.action, tt.target); got != tt.want {
				t.Errorf("Decide(%+v, %q, %+v) = %+v, want %+v", tt.who, tt.action, tt.target, got, tt.want)
			}
		})
	}
}

func allowed(rule string) policy.Decision   { return policy.Decision{Allowed: true, Rule: rule} }
func refused(reason string) policy.Decision { return policy.Decision{Reason: reason} }

func TestDefault(t *testing.T) {
	p := policy.Default()
	anyone := policy.Principal{User: "U123", Channel: "C123"}
	prod := policy.Target{Account: "acme-prod", Tags: map[string]string{"env": "prod"}}
	runDecide(t, p, []decideCase{
		{"list", anyone, "list", policy.Target{}, allowed("default-operate")},
		{"status", anyone, "status", prod, allowed("default-operate")},
		{"start", anyone, "start", prod, allowed("default-operate")},
		{"stop", anyone, "stop", prod, allowed("default-operate")},
		{"reboot", anyone, "reboot", prod, allowed("default-operate")},
		{"restart", anyone, "restart", prod, allowed("default-operate")},
		{"terminate", anyone, "terminate", prod, refused("no rule grants terminate on acme-prod to you")},
		{"audit", anyone, "audit", policy.Target{}, refused("no rule grants audit to you")},
		{"nobody", policy.Principal{}, "list", policy.Target{}, refused("no rule grants list to you")},
	})
	if !p.IsDefault() {
		t.Error("Default().IsDefault() = false, want true")
	}
	if got, want := p.Summary(), "default policy"; got != want {
		t.Errorf("Default().Summary() = %q, want %q", got, want)
	}
	if rule, needed := p.Approval("terminate", "acme-prod"); needed {
		t.Errorf("Default().Approval(terminate, acme-prod) = %+v, true, want none", rule)
	}
	if got := p.UserGroups(); len(got) != 0 {
		t.Errorf("Default().UserGroups() = %v, want none", got)
	}
}

func TestDecide(t *testing.T) {
	p := mustParse(t, testPolicy)
	oncall := policy.Principal{User: "U0CAROL", Groups: []string{"S0OTHER", "S0ONCALL"}}
	inOps := policy.Principal{User: "U0DAVE", Channel: "C0OPS"}
	alice := policy.Principal{User: "U0ALICE", Channel: "D0ALICE"}
	bob := policy.Principal{User: "W0BOB"}
	auditor := policy.Principal{User: "U0AUDIT"}
	stranger := policy.Principal{User: "U0EVE", Channel: "C0RANDOM", Groups: []string{"S0OTHER"}}
	webStaging := map[string]string{"team": "web-api", "env": "staging", "owner": "alice"}

	runDecide(t, p, []decideCase{
		// usergroup principal, account glob
		{"group on glob account", oncall, "stop", policy.Target{Account: "acme-prod"}, allowed("oncall-prod")},
		{"group on other account", oncall, "stop", policy.Target{Account: "acme-dev"}, refused("no rule grants stop on acme-dev to you")},
		{"group action not listed", oncall, "start", policy.Target{Account: "acme-prod"}, refused("no rule grants start on acme-prod to you")},
		{"group glob needs whole name", oncall, "stop", policy.Target{Account: "acme-prod-2"}, refused("no rule grants stop on acme-prod-2 to you")},
		// channel principal, exact account
		{"channel exact account", inOps, "start", policy.Target{Account: "acme-dev"}, allowed("ops-channel")},
		{"channel other account", inOps, "start", policy.Target{Account: "acme-dev2"}, refused("no rule grants start on acme-dev2 to you")},
		{"other channel", stranger, "start", policy.Target{Account: "acme-dev"}, refused("no rule grants start on acme-dev to you")},
		// user principal, accounts omitted, tag conditions with a glob
		{"user tags match", alice, "terminate", policy.Target{Account: "acme-prod", Tags: webStaging}, allowed("alice-web")},
		{"user any account", alice, "terminate", policy.Target{Account: "whatever", Tags: webStaging}, allowed("alice-web")},
		{"user tag glob mismatch", alice, "terminate",
			policy.Target{Account: "acme-prod", Tags: map[string]string{"team": "db", "env": "staging"}},
			refused("no rule grants terminate on acme-prod to you for this instance (rule alice-web needs env=staging, team=web-*)")},
		{"user tag missing", alice, "terminate",
			policy.Target{Account: "acme-prod", Tags: map[string]string{"team": "web-api"}},
			refused("no rule grants terminate on acme-prod to you for this instance (rule alice-web needs env=staging, team=web-*)")},
		{"user no tags", alice, "terminate", policy.Target{Account: "acme-prod"},
			refused("no rule grants terminate on acme-prod to you for this instance (rule alice-web needs env=staging, team=web-*)")},
		{"user any instance", alice, "terminate", policy.Target{Account: "acme-prod", AnyInstance: true}, allowed("alice-web")},
		{"other user same tags", stranger, "terminate", policy.Target{Account: "acme-prod", Tags: webStaging},
			refused("no rule grants terminate on acme-prod to you")},
		// enterprise (W…) user, account list
		{"W user", bob, "restart", policy.Target{Account: "acme-stage"}, allowed("enterprise-bob")},
		{"W user unlisted account", bob, "restart", policy.Target{Account: "acme-prod"}, refused("no rule grants restart on acme-prod to you")},
		// "*" and first-match-wins
		{"star user", stranger, "list", policy.Target{}, allowed("everyone-reads")},
		{"star user status", stranger, "status", policy.Target{Account: "acme-prod", Tags: webStaging}, allowed("everyone-reads")},
		{"first rule wins", auditor, "list", policy.Target{}, allowed("everyone-reads")},
		{"later rule grants", auditor, "audit", policy.Target{}, allowed("auditors")},
		{"audit refused", stranger, "audit", policy.Target{}, refused("no rule grants audit to you")},
		{"star needs a user", policy.Principal{Channel: "C0RANDOM"}, "list", policy.Target{}, refused("no rule grants list to you")},
		{"unknown action", stranger, "explode", policy.Target{Account: "acme-dev"}, refused("no rule grants explode on acme-dev to you")},
	})
}

// TestDecideFirstTagMiss checks that a refusal cites the first rule that
// was stopped only by its tag conditions.
func TestDecideFirstTagMiss(t *testing.T) {
	p := mustParse(t, `
rules:
  - name: web
    who: {users: ["*"]}
    actions: [stop]
    where: {tags: {team: web}}
  - name: db
    who: {users: ["*"]}
    actions: [stop]
    where: {tags: {team: db}}
`)
	runDecide(t, p, []decideCase{
		{"first", policy.Principal{User: "U1"}, "stop", policy.Target{Account: "a", Tags: map[string]string{"team": "db"}}, allowed("db")},
		{"miss", policy.Principal{User: "U1"}, "stop", policy.Target{Account: "a", Tags: map[string]string{"team": "ml"}},
			refused("no rule grants stop on a to you for this instance (rule web needs team=web)")},
	})
}

func TestApproval(t *testing.T) {
	p := mustParse(t, testPolicy)
	tests := []struct {
		action  action.Action
		account string
		want    policy.Approval
		needed  bool
	}{
		{"stop", "acme-dev", policy.Approval{ID: "approval[0]", Says: "stop on acme-dev needs a second person's approval"}, true},
		{"stop", "acme-prod", policy.Approval{ID: "approval[1]", Says: "stop and terminate on *-prod need a second person's approval"}, true},
		{"terminate", "acme-prod", policy.Approval{ID: "approval[1]", Says: "stop and terminate on *-prod need a second person's approval"}, true},
		{"terminate", "acme-dev", policy.Approval{}, false},
		{"reboot", "anything", policy.Approval{ID: "approval[2]", Says: "reboot on every account needs a second person's approval"}, true},
		{"start", "acme-prod", policy.Approval{}, false},
		{"list", "acme-prod", policy.Approval{}, false},
	}
	for _, tt := range tests {
		got, needed := p.Approval(tt.action, tt.account)
		if got != tt.want || needed != tt.needed {
			t.Errorf("Approval(%q, %q) = %+v, %v, want %+v, %v", tt.action, tt.account, got, needed, tt.want, tt.needed)
		}
	}
}

func TestUserGroups(t *testing.T) {
	p := mustParse(t, `
rules:
  - name: a
    who: {usergroups: [S0B, S0A], users: [U1]}
    actions: [stop]
  - name: b
    who: {usergroups: [S0A, S0C]}
    actions: [start]
  - name: c
    who: {channels: [C1]}
    actions: [list]
`)
	got := p.UserGroups()
	if want := []string{"S0A", "S0B", "S0C"}; !slices.Equal(got, want) {
		t.Errorf("UserGroups() = %v, want %v", got, want)
	}
	got[0] = "mutated"
	if again := p.UserGroups(); again[0] != "S0A" {
		t.Errorf("UserGroups() after caller mutation = %v, want a fresh copy", again)
	}
}

func TestSummary(t *testing.T) {
	tests := []struct {
		name, src, want string
	}{
		{"example", "", "2 rules, 1 approval rule"},
		{"one rule", "rules: [{name: a, who: {users: ['*']}, actions: [list]}]", "1 rule, 0 approval rules"},
		{"test policy", testPolicy, "6 rules, 3 approval rules"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var p *policy.Policy
			if tt.src == "" {
				var err error
				if p, err = policy.Load(filepath.Join("testdata", "example.yaml")); err != nil {
					t.Fatal(err)
				}
			} else {
				p = mustParse(t, tt.src)
			}
			if got := p.Summary(); got != tt.want {
				t.Errorf("Summary() = %q, want %q", got, tt.want)
			}
			if p.IsDefault() {
				t.Error("IsDefault() = true for a parsed policy, want false")
			}
		})
	}
}

// TestExample checks the example in testdata, which the docs show
// operators, parses and means what it says.
func TestExample(t *testing.T) {
	p, err := policy.Load(filepath.Join("testdata", "example.yaml"))
	if err != nil {
		t.Fatalf("Load(example.yaml): %v", err)
	}
	staging := map[string]string{"env": "staging"}
	runDecide(t, p, []decideCase{
		{"lead user", policy.Principal{User: "U111"}, "terminate", policy.Target{Account: "acme-prod", Tags: staging}, allowed("sre-leads-everything")},
		{"sre group", policy.Principal{User: "U222", Groups: []string{"S0SRE"}}, "stop", policy.Target{Account: "acme-dev", Tags: staging}, allowed("sre-leads-everything")},
		{"ops channel", policy.Principal{User: "U333", Channel: "C0OPS"}, "reboot", policy.Target{Account: "acme-dev", Tags: staging}, allowed("sre-leads-everything")},
		{"not staging", policy.Principal{User: "U111"}, "stop", policy.Target{Account: "acme-prod", Tags: map[string]string{"env": "prod"}},
			refused("no rule grants stop on acme-prod to you for this instance (rule sre-leads-everything needs env=staging)")},
		{"everyone lists", policy.Principal{User: "U999"}, "list", policy.Target{}, allowed("everyone-reads")},
		{"everyone else stops nothing", policy.Principal{User: "U999"}, "stop", policy.Target{Account: "acme-dev", AnyInstance: true},
			refused("no rule grants stop on acme-dev to you")},
		{"nobody audits", policy.Principal{User: "U111"}, "audit", policy.Target{}, refused("no rule grants audit to you")},
	})
	if rule, needed := p.Approval("terminate", "acme-prod"); rule.ID != "approval[0]" || !needed {
		t.Errorf("Approval(terminate, acme-prod) = %+v, %v, want approval[0], true", rule, needed)
	}
	if got, want := p.UserGroups(), []string{"S0SRE"}; !slices.Equal(got, want) {
		t.Errorf("UserGroups() = %v, want %v", got, want)
	}
}

func TestLoad(t *testing.T) {
	p, err := policy.Load("")
	if err != nil || !p.IsDefault() {
		t.Fatalf(`Load("") = %v, %v, want the default policy`, p, err)
	}

	dir := t.TempDir()
	good := filepath.Join(dir, "policy.yaml")
	if err := os.WriteFile(good, []byte(testPolicy), 0o600); err != nil {
		t.Fatal(err)
	}
	p, err = policy.Load(good)
	if err != nil {
		t.Fatalf("Load(%s): %v", good, err)
	}
	if got, want := p.Summary(), "6 rules, 3 approval rules"; got != want {
		t.Errorf("Load(%s).Summary() = %q, want %q", good, got, want)
	}

	if _, err := policy.Load(filepath.Join(dir, "missing.yaml")); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("Load(missing) error = %v, want fs.ErrNotExist", err)
	}

	bad := filepath.Join(dir, "bad.yaml")
	if err := os.WriteFile(bad, []byte("rules: [{name: a, who: {users: [U1]}, actions: [stpo]}]\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	_, err = policy.Load(bad)
	var perr *policy.Error
	if !errors.As(err, &perr) || perr.Rule != "a" || perr.Field != "actions" {
		t.Errorf("Load(bad) error = %v, want a *policy.Error for rule a field actions", err)
	}
}

// TestNilPolicy checks that a nil policy fails closed instead of panicking.
func TestNilPolicy(t *testing.T) {
	var p *policy.Policy
	if d := p.Decide(policy.Principal{User: "U1"}, "list", policy.Target{}); d.Allowed {
		t.Errorf("nil.Decide = %+v, want refused", d)
	}
	if _, needed := p.Approval("terminate", "a"); needed {
		t.Error("nil.Approval needed = true, want false")
	}
	if p.IsDefault() || p.UserGroups() != nil || p.Summary() != "0 rules, 0 approval rules" {
		t.Errorf("nil policy: IsDefault %v, UserGroups %v, Summary %q", p.IsDefault(), p.UserGroups(), p.Summary())
	}
}

// TestDecideConcurrent shares one Policy between goroutines, as the
// dispatcher does; run with -race.
func TestDecideConcurrent(t *testing.T) {
	p := mustParse(t, testPolicy)
	var wg sync.WaitGroup
	for i := range 8 {
		wg.Go(func() {
			for range 200 {
				d := p.Decide(policy.Principal{User: "U0ALICE", Groups: []string{"S0ONCALL"}}, "stop",
					policy.Target{Account: "acme-prod", Tags: map[string]string{"n": string(rune('a' + i))}})
				if !d.Allowed {
					t.Errorf("Decide = %+v, want allowed", d)
					return
				}
				p.Approval("stop", "acme-prod")
				p.UserGroups()
			}
		})
	}
	wg.Wait()
}

func TestWarnings(t *testing.T) {
	tests := []struct {
		name, src string
		want      []string
	}{
		{"one person may terminate", `
rules:
  - name: ops
    who: {users: [U1]}
    actions: [list, stop, terminate]
  - name: devs
    who: {users: [U2, U3]}
    actions: [stop]
    accounts: [acme-dev]
approval:
  - actions: [terminate]
    accounts: [acme-prod]
`, []string{"approval[0] (terminate on acme-prod needs a second person's approval): only U1 may terminate there, so no second person can approve it"}},
		{"two people may", `
rules:
  - name: ops
    who: {users: [U1, U2]}
    actions: [terminate]
approval:
  - actions: [terminate]
`, nil},
		{"a group may be many", `
rules:
  - name: ops
    who: {usergroups: [S1]}
    actions: [stop]
approval:
  - actions: [stop]
`, nil},
		{"a partner team may be many", `
rules:
  - name: lead
    who: {users: [U1]}
    actions: [stop]
  - name: partner
    who: {teams: [T0PARTNER]}
    actions: [stop]
approval:
  - actions: [stop]
`, nil},
		{"nobody may, on the approval's accounts", `
rules:
  - name: devs
    who: {users: [U2, U3]}
    actions: [stop]
    accounts: [acme-dev]
approval:
  - actions: [stop]
    accounts: [acme-prod]
`, []string{"approval[0] (stop on acme-prod needs a second person's approval): nobody may stop there, so no second person can approve it"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := mustParse(t, tt.src).Warnings()
			if !slices.Equal(got, tt.want) {
				t.Errorf("Warnings() = %q, want %q", got, tt.want)
			}
		})
	}
}

// Brackets and backslashes are literal: the policy shares the query
// language's glob dialect, where only * and ? are wildcards.
func TestGlobDialect(t *testing.T) {
	p := mustParse(t, `
rules:
  - name: odd
    who: {users: [U1]}
    actions: [stop]
    accounts: ["acme-[prod]", "lab-*"]
`)
	for _, tt := range []struct {
		account string
		want    bool
	}{{"acme-[prod]", true}, {"acme-p", false}, {"lab-1", true}} {
		if got := p.Decide(policy.Principal{User: "U1"}, action.Stop, policy.Target{Account: tt.account}).Allowed; got != tt.want {
			t.Errorf("Decide(stop on %q).Allowed = %v, want %v", tt.account, got, tt.want)
		}
	}
}

// Slack Connect: someone from another organisation may list and see status
// as anyone may, but acts only when a rule names their team.
func TestExternalUsers(t *testing.T) {
	p := mustParse(t, `
rules:
  - name: everyone
    who: {users: ["*"]}
    actions: [list, status, stop]
  - name: partner-ops
    who: {teams: [T0PARTNER]}
    actions: [stop]
    accounts: [shared-*]
`)
	ext := func(team string) policy.Principal { return policy.Principal{User: "U0EXT", Team: team, External: true} }
	tests := []struct {
		name    string
		who     policy.Principal
		a       action.Action
		account string
		want    bool
	}{
		{"external may list", ext("T0OTHER"), action.List, "acme-prod", true},
		{"external may see status", ext("T0OTHER"), action.Status, "acme-prod", true},
		{"external may not stop", ext("T0OTHER"), action.Stop, "acme-prod", false},
		{"named team may stop where its rule says", ext("T0PARTNER"), action.Stop, "shared-1", true},
		{"named team only there", ext("T0PARTNER"), action.Stop, "acme-prod", false},
		{"own users unchanged", policy.Principal{User: "U0ALICE", Team: "T0001"}, action.Stop, "acme-prod", true},
	}
	for _, tt := range tests {
		got := p.Decide(tt.who, tt.a, policy.Target{Account: tt.account})
		if got.Allowed != tt.want {
			t.Errorf("%s: Decide = %+v, want allowed %v", tt.name, got, tt.want)
		}
		if !got.Allowed && tt.who.External && !strings.Contains(got.Reason, "Slack Connect") {
			t.Errorf("%s: refusal %q does not say why", tt.name, got.Reason)
		}
	}
}

func TestConsoleFollowsStatus(t *testing.T) {
	alice := policy.Principal{User: "U0ALICE", Channel: "C1"}
	bob := policy.Principal{User: "U0BOB", Channel: "C1"}
	prod := policy.Target{Account: "acme-prod"}
	if d := policy.Default().Decide(alice, action.Console, prod); !d.Allowed {
		t.Errorf("default policy: console = %+v, want allowed as status is", d)
	}
	statusOnly, err := policy.Parse([]byte("rules:\n  - name: readers\n    who: {users: [U0ALICE]}\n    actions: [status]\n"))
	if err != nil {
		t.Fatal(err)
	}
	if d := statusOnly.Decide(alice, action.Console, prod); !d.Allowed || d.Rule != "readers" {
		t.Errorf("status rule: console = %+v, want allowed by readers", d)
	}
	if d := statusOnly.Decide(bob, action.Console, prod); d.Allowed {
		t.Errorf("console for someone without status = %+v, want refused", d)
	}
	named, err := policy.Parse([]byte("rules:\n  - name: sre\n    who: {users: [U0BOB]}\n    actions: [console]\n  - name: readers\n    who: {users: [U0ALICE]}\n    actions: [status]\n"))
	if err != nil {
		t.Fatal(err)
	}
	if d := named.Decide(alice, action.Console, prod); d.Allowed {
		t.Errorf("console named by a rule: alice (status only) = %+v, want refused", d)
	}
	if d := named.Decide(bob, action.Console, prod); !d.Allowed || d.Rule != "sre" {
		t.Errorf("console named by a rule: bob = %+v, want allowed by sre", d)
	}
}
