package ec2ops_test

import (
	"errors"
	"testing"

	"github.com/charlize-app/charlize/ec2ops"
	"github.com/charlize-app/charlize/ec2ops/action"
)

func TestParseAction(t *testing.T) {
	for _, tt := range []struct {
		in      string
		want    action.Action
		wantErr bool
	}{
		{in: "stop", want: action.Stop},
		{in: " Restart ", want: action.Restart},
		{in: "status", want: action.Status},
		{in: "hibernate", wantErr: true},
		{in: "", wantErr: true},
	} {
		got, err := ec2ops.ParseAction(tt.in)
		if got != tt.want || (err != nil) != tt.wantErr {
			t.Errorf("ParseAction(%q) = %q, %v, want %q, error %v", tt.in, got, err, tt.want, tt.wantErr)
		}
		if err != nil && !errors.Is(err, ec2ops.KindInvalidRequest) {
			t.Errorf("ParseAction(%q) error kind = %v, want KindInvalidRequest", tt.in, ec2ops.KindOf(err))
		}
	}
}

func TestActionMutates(t *testing.T) {
	for _, a := range action.OnInstance() {
		if got, want := a.Mutates(), a != action.Status; got != want {
			t.Errorf("%s.Mutates() = %v, want %v", a, got, want)
		}
	}
}

func TestActionAllowed(t *testing.T) {
	states := []string{"pending", "running", "stopping", "stopped", "shutting-down", "terminated"}
	// allowed[action] lists the states the action may start from.
	allowed := map[action.Action][]string{
		action.Start:     {"stopped"},
		action.Stop:      {"running"},
		action.Reboot:    {"running"},
		action.Restart:   {"running"},
		action.Terminate: {"pending", "running", "stopping", "stopped"},
		action.Status:    states,
	}
	for _, a := range action.OnInstance() {
		for _, s := range states {
			err := ec2ops.Allowed(a, s)
			want := false
			for _, ok := range allowed[a] {
				want = want || ok == s
			}
			if (err == nil) != want {
				t.Errorf("Allowed(%s, %s) = %v, want allowed %v", a, s, err, want)
				continue
			}
			if err == nil {
				continue
			}
			var e *ec2ops.Error
			if !errors.As(err, &e) || e.Kind != ec2ops.KindInvalidState || e.UserMessage() == "" {
				t.Errorf("Allowed(%s, %s) = %v, want KindInvalidState with a message", a, s, err)
			}
		}
	}
	if err := ec2ops.Allowed(action.Action("hibernate"), "running"); !errors.Is(err, ec2ops.KindInvalidRequest) {
		t.Errorf("hibernate.Allowed = %v, want KindInvalidRequest", err)
	}
	if err := ec2ops.Allowed(action.Stop, "rebooting"); err == nil {
		t.Error("Allowed(stop, unknown state) = nil, want refusal")
	}
}

func TestActionAllowedMessages(t *testing.T) {
	for _, tt := range []struct {
		action action.Action
		state  string
		want   string
	}{
		{action.Stop, "stopped", "the instance is already stopped"},
		{action.Start, "stopping", "the instance is still stopping; start it once it has stopped"},
		{action.Terminate, "terminated", "the instance is already terminated"},
	} {
		var e *ec2ops.Error
		if err := ec2ops.Allowed(tt.action, tt.state); !errors.As(err, &e) || e.UserMessage() != tt.want {
			t.Errorf("Allowed(%s, %s) message = %v, want %q", tt.action, tt.state, err, tt.want)
		}
	}
}
