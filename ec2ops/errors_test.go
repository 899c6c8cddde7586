package ec2ops_test

import (
	"errors"
	"fmt"
	"testing"

	"github.com/charlize-app/charlize/ec2ops"
	"github.com/charlize-app/charlize/ec2ops/action"
)

func TestErrorKinds(t *testing.T) {
	inner := errors.New("boom")
	err := fmt.Errorf("handlers.act: %w", &ec2ops.Error{Kind: ec2ops.KindNotFound, Op: "ec2ops.Do stop",
		Account: "acme-prod", Region: "eu-west-1", InstanceID: "i-0123abcd", Err: inner})
	if !errors.Is(err, ec2ops.KindNotFound) {
		t.Error("errors.Is(err, KindNotFound) = false")
	}
	if errors.Is(err, ec2ops.KindAccessDenied) {
		t.Error("errors.Is(err, KindAccessDenied) = true")
	}
	if !errors.Is(err, inner) {
		t.Error("the wrapped error is not reachable")
	}
	if got := ec2ops.KindOf(err); got != ec2ops.KindNotFound {
		t.Errorf("KindOf = %v, want KindNotFound", got)
	}
	if got := ec2ops.KindOf(inner); got != ec2ops.KindUnknown {
		t.Errorf("KindOf(plain) = %v, want KindUnknown", got)
	}
	if got, want := err.Error(), "handlers.act: ec2ops.Do stop acme-prod/eu-west-1/i-0123abcd: not found: boom"; got != want {
		t.Errorf("Error() = %q, want %q", got, want)
	}
}

func TestUserMessage(t *testing.T) {
	for _, tt := range []struct {
		err  ec2ops.Error
		want string
	}{
		{ec2ops.Error{Kind: ec2ops.KindAccessDenied, Account: "acme-prod", IAMAction: "ec2:StopInstances", RoleARN: "arn:aws:iam::123456789012:role/charlize"},
			"the role arn:aws:iam::123456789012:role/charlize lacks ec2:StopInstances in acme-prod"},
		{ec2ops.Error{Kind: ec2ops.KindAccessDenied, Account: "default", IAMAction: "ec2:DescribeInstances"},
			"Charlize's AWS credentials lack ec2:DescribeInstances in default"},
		{ec2ops.Error{Kind: ec2ops.KindInvalidState, Name: "web-1", Action: action.Stop, State: "stopped"},
			"web-1 is already stopped"},
		{ec2ops.Error{Kind: ec2ops.KindInvalidState, InstanceID: "i-0123abcd", Action: action.Reboot, State: "stopped"},
			"i-0123abcd is stopped; start it instead"},
		{ec2ops.Error{Kind: ec2ops.KindCanceled}, "the request was canceled"},
		{ec2ops.Error{Kind: ec2ops.KindInvalidQuery, Term: "account:secret"}, "I couldn't use `account:secret` in that query"},
		{ec2ops.Error{Kind: ec2ops.KindUnknown, Err: errors.New("secret detail RequestID: abc")}, "something went wrong talking to AWS"},
	} {
		if got := tt.err.UserMessage(); got != tt.want {
			t.Errorf("%v.UserMessage() = %q, want %q", tt.err.Kind, got, tt.want)
		}
	}
}
