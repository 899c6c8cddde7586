package ec2ops_test

import (
	"context"
	"errors"
	"testing"

	"github.com/charlize-app/charlize/ec2ops"
	"github.com/charlize-app/charlize/ec2ops/action"
)

func TestDryRun(t *testing.T) {
	env := mustEnv(t, envConfig{})
	ctx := context.Background()
	for _, a := range action.Mutating() {
		if err := env.fleet.DryRun(ctx, prodReq(a, web1)); err != nil {
			t.Errorf("DryRun(%s) with every permission = %v, want nil", a, err)
		}
	}
	if calls := mutatingCalls(env.sim); len(calls) != 0 {
		t.Errorf("dry runs made mutating calls: %v", calls)
	}
	if n := env.sim.DryRuns("StopInstances") + env.sim.DryRuns("StartInstances") + env.sim.DryRuns("RebootInstances") + env.sim.DryRuns("TerminateInstances"); n != 6 {
		t.Errorf("%d dry runs, want 6 (restart asks for its stop and its start)", n)
	}
	for _, c := range env.sim.CallLog() {
		if c.DryRun && c.SessionName != "slack-U42__alice_" {
			t.Errorf("dry run %s ran as %q, want the acting user's session", c.Action, c.SessionName)
		}
	}
	if got, _ := env.sim.Get(prodID, "eu-west-1", web1); got.State != "running" {
		t.Fatalf("a dry run changed the instance: %s", got.State)
	}

	env.sim.Deny(prodID, "StartInstances")
	for _, tt := range []struct {
		action action.Action
		denied bool
	}{{action.Stop, false}, {action.Start, true}, {action.Restart, true}} {
		err := env.fleet.DryRun(ctx, prodReq(tt.action, web1))
		if !tt.denied {
			if err != nil {
				t.Errorf("DryRun(%s) = %v, want nil", tt.action, err)
			}
			continue
		}
		var e *ec2ops.Error
		if !errors.As(err, &e) || e.Kind != ec2ops.KindAccessDenied {
			t.Fatalf("DryRun(%s) without ec2:StartInstances = %v, want KindAccessDenied", tt.action, err)
		}
		want := "the role " + prodRole + " lacks ec2:StartInstances in acme-prod (eu-west-1) — an AWS admin can grant it in the role's IAM policy"
		if got := e.UserMessage(); got != want {
			t.Errorf("DryRun(%s).UserMessage() = %q, want %q", tt.action, got, want)
		}
	}
	if err := env.fleet.DryRun(ctx, prodReq(action.Status, web1)); !errors.Is(err, ec2ops.KindInvalidRequest) {
		t.Errorf("DryRun(status) = %v, want KindInvalidRequest", err)
	}
}
