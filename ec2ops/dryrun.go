package ec2ops

import (
	"context"
	"errors"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"

	"github.com/charlize-app/charlize/ec2ops/action"
)

// DryRun asks AWS whether req.Actor's session could perform req.Action on
// the instance, without doing it (EC2's DryRun flag), so a UI can tell a
// user who lacks the IAM permission before any confirmation. It returns nil
// when AWS says the call would succeed, a KindAccessDenied *Error naming
// the IAM action and the role when it would be refused, and any other
// error (throttling, an API that does not answer dry runs) for the caller
// to treat as "unknown". A restart is asked as its stop and its start.
// It does not check the instance's state or protection: Check and
// Detail.Allows do.
func (f *Fleet) DryRun(ctx context.Context, req ActionRequest) error {
	op := "ec2ops.DryRun " + string(req.Action)
	if !req.Action.Mutates() {
		return &Error{Kind: KindInvalidRequest, Op: op, Action: req.Action, Err: errors.New("only actions that change an instance have a dry run")}
	}
	if strings.TrimSpace(req.Actor) == "" {
		return &Error{Kind: KindInvalidRequest, Op: op, Action: req.Action, Err: errors.New("a dry run needs the acting user")}
	}
	a, terr := f.target(op, req.Account, req.Region, req.InstanceID)
	if terr != nil {
		terr.Action = req.Action
		return terr
	}
	steps := []action.Action{req.Action}
	if req.Action == action.Restart {
		steps = []action.Action{action.Stop, action.Start}
	}
	for _, step := range steps {
		if err := f.dryRun(ctx, op, a, req, step); err != nil {
			return err
		}
	}
	return nil
}

func (f *Fleet) dryRun(ctx context.Context, op string, a *account, req ActionRequest, step action.Action) error {
	client := a.ec2[req.Region]
	asActor := func(o *ec2.Options) {
		if a.actors != nil {
			o.Credentials = a.actors.get(req.session())
		}
	}
	ids, yes := []string{req.InstanceID}, aws.Bool(true)
	var err error
	switch step {
	case action.Start:
		_, err = client.StartInstances(ctx, &ec2.StartInstancesInput{InstanceIds: ids, DryRun: yes}, asActor)
	case action.Stop:
		_, err = client.StopInstances(ctx, &ec2.StopInstancesInput{InstanceIds: ids, DryRun: yes}, asActor)
	case action.Reboot:
		_, err = client.RebootInstances(ctx, &ec2.RebootInstancesInput{InstanceIds: ids, DryRun: yes}, asActor)
	case action.Terminate:
		_, err = client.TerminateInstances(ctx, &ec2.TerminateInstancesInput{InstanceIds: ids, DryRun: yes}, asActor)
	}
	if err == nil || apiCode(err) == "DryRunOperation" {
		// AWS answers a dry run that would succeed with this error.
		return nil
	}
	e := f.awsErr(op, a, req.Region, req.InstanceID, err)
	e.Action = req.Action
	return e
}
