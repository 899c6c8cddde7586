package ec2ops_test

import (
	"context"
	"errors"
	"testing"

	"github.com/charlize-app/charlize/ec2ops"
	"github.com/charlize-app/charlize/ec2ops/action"
	"github.com/charlize-app/charlize/ec2ops/ec2sim"
)

// Tags set through CreateTags are what a later listing filters on, server
// side; DeleteTags removes them; both run under the actor's session.
func TestCreateAndDeleteTags(t *testing.T) {
	env := mustEnv(t, envConfig{})
	ctx := context.Background()
	req := ec2ops.TagRequest{Account: "acme-prod", Region: "eu-west-1", InstanceID: web1, Actor: "U42",
		Tags: map[string]string{"charlize:schedule": "office-hours"}}
	inst, err := env.fleet.CreateTags(ctx, req)
	if err != nil {
		t.Fatalf("CreateTags = %v", err)
	}
	if inst.Tags["charlize:schedule"] != "office-hours" {
		t.Errorf("CreateTags returned tags %v, want the new one", inst.Tags)
	}
	res, err := env.fleet.List(ctx, ec2ops.Query{Tags: []ec2ops.Tag{{Key: "charlize:schedule", Value: "office-hours"}}})
	if err != nil || len(res.Instances) != 1 || res.Instances[0].ID != web1 {
		t.Fatalf("List(tag) = %+v, %v, want %s alone", res.Instances, err, web1)
	}
	var sessions []string
	for _, c := range env.sim.CallLog() {
		if c.Action == "CreateTags" {
			sessions = append(sessions, c.SessionName)
			if len(c.InstanceIDs) != 1 || c.InstanceIDs[0] != web1 {
				t.Errorf("CreateTags on %v, want %s", c.InstanceIDs, web1)
			}
		}
	}
	if len(sessions) != 1 || sessions[0] != "slack-U42" {
		t.Errorf("CreateTags sessions = %v, want [slack-U42]", sessions)
	}

	req.Tags, req.Keys = nil, []string{"charlize:schedule"}
	if inst, err = env.fleet.DeleteTags(ctx, req); err != nil {
		t.Fatalf("DeleteTags = %v", err)
	}
	if _, ok := inst.Tags["charlize:schedule"]; ok {
		t.Errorf("DeleteTags left the tag: %v", inst.Tags)
	}
	res, _ = env.fleet.List(ctx, ec2ops.Query{Tags: []ec2ops.Tag{{Key: "charlize:schedule", Value: "office-hours"}}})
	if len(res.Instances) != 0 {
		t.Errorf("List(tag) after DeleteTags = %d instances, want none", len(res.Instances))
	}
}

func TestCreateTagsErrors(t *testing.T) {
	env := mustEnv(t, envConfig{})
	ctx := context.Background()
	tags := map[string]string{"charlize:schedule": "x"}
	tests := []struct {
		name string
		req  ec2ops.TagRequest
		kind ec2ops.Kind
	}{
		{"unknown instance", ec2ops.TagRequest{Account: "acme-prod", Region: "eu-west-1", InstanceID: "i-00000000000000fff", Actor: "U1", Tags: tags}, ec2ops.KindNotFound},
		{"no actor", ec2ops.TagRequest{Account: "acme-prod", Region: "eu-west-1", InstanceID: web1, Tags: tags}, ec2ops.KindInvalidRequest},
		{"bad account", ec2ops.TagRequest{Account: "nope", Region: "eu-west-1", InstanceID: web1, Actor: "U1", Tags: tags}, ec2ops.KindInvalidRequest},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := env.fleet.CreateTags(ctx, tc.req)
			if e, ok := errors.AsType[*ec2ops.Error](err); !ok || e.Kind != tc.kind {
				t.Errorf("CreateTags = %v, want kind %v", err, tc.kind)
			}
		})
	}
	remove := env.sim.AddFault(ec2sim.Fault{Action: "CreateTags", Code: "UnauthorizedOperation"})
	defer remove()
	_, err := env.fleet.CreateTags(ctx, ec2ops.TagRequest{Account: "acme-prod", Region: "eu-west-1", InstanceID: web1, Actor: "U1", Tags: tags})
	if e, ok := errors.AsType[*ec2ops.Error](err); !ok || e.Kind != ec2ops.KindAccessDenied {
		t.Errorf("CreateTags denied = %v, want access denied", err)
	}
}

// A scheduler's action runs under its own session name, not one made from
// the actor.
func TestDoSessionName(t *testing.T) {
	env := mustEnv(t, envConfig{})
	req := prodReq(action.Stop, web1)
	req.Actor, req.Session = "charlize scheduler", "charlize-schedule-office-hours"
	if _, err := env.fleet.Do(context.Background(), req, nil); err != nil {
		t.Fatal(err)
	}
	calls := mutatingCalls(env.sim)
	if len(calls) != 1 || calls[0].SessionName != "charlize-schedule-office-hours" || calls[0].SourceIdentity != "charlize-schedule-office-hours" {
		t.Errorf("StopInstances calls = %+v, want one under charlize-schedule-office-hours", calls)
	}
	req.Session = "no spaces allowed"
	if _, err := env.fleet.Do(context.Background(), req, nil); err == nil {
		t.Error("Do with a bad session name = nil, want an error")
	}
}
