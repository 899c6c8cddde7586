package policy_test

import (
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/charlize-app/charlize/ec2ops/action"
	"github.com/charlize-app/charlize/handlers/policy"
)

// FuzzParse checks that Parse never panics, that it fails only with
// *policy.Error values, and that a policy it accepts can be queried.
func FuzzParse(f *testing.F) {
	example, err := os.ReadFile(filepath.Join("testdata", "example.yaml"))
	if err != nil {
		f.Fatal(err)
	}
	for _, seed := range []string{
		string(example),
		testPolicy,
		"",
		"rules: [{name: a, who: {users: [stpo]}, actions: [stpo]}]",
		"rules: [{name: a, who: &w {users: ['*']}, actions: [list]}, {name: b, who: *w, actions: [stop], where: {tags: {env: '[x'}}}]",
		"approval: [{actions: [list], accounts: ['[']}]",
		"- a\n- b",
		"rules:\n  - name: a\n    name: a\n",
	} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		p, err := policy.Parse(data)
		if err != nil {
			if p != nil {
				t.Fatalf("Parse returned a policy and error %v", err)
			}
			problems(t, err) // fails unless every problem is a *policy.Error
			var pe *policy.Error
			if !errors.As(err, &pe) {
				t.Fatalf("Parse error %v is not a *policy.Error", err)
			}
			return
		}
		who := policy.Principal{User: "U1", Channel: "C1", Groups: p.UserGroups()}
		for _, a := range []action.Action{action.List, action.Stop, action.Terminate, action.Audit} {
			p.Decide(who, a, policy.Target{Account: "acme-prod", Tags: map[string]string{"env": "staging"}})
			p.Decide(who, a, policy.Target{AnyInstance: true})
			p.Approval(a, "acme-prod")
		}
		_ = p.Summary()
	})
}
