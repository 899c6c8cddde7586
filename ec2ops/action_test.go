package ec2ops_test

import (
	"errors"
	"testing"

	"github.com/charlize-app/charlize/ec2ops"
)

func TestParseAction(t *testing.T) {
	for _, tt := range []struct {
		in      string
		want    ec2ops.Action
		wantErr bool
	}{
		{in: "stop", want: ec2ops.ActionStop},
		{in: " Restart ", want: ec2ops.ActionRestart},
		{in: "status", want: ec2ops.ActionStatus},
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
	for _, a := range ec2ops.Actions() {
		if got, want := a.Mutates(), a != ec2ops.ActionStatus; got != want {
			t.Errorf("%s.Mutates() = %v, want %v", a, got, want)
		}
	}
}

func TestActionAllowed(t *testing.T) {
	states := []string{"pending", "running", "stopping", "stopped", "shutting-down", "terminated"}
	// allowed[action] lists the states the action may start from.
	allowed := map[ec2ops.Action][]string{
		ec2ops.ActionStart:     {"stopped"},
		ec2ops.ActionStop:      {"running"},
		ec2ops.ActionReboot:    {"running"},
		ec2ops.ActionRestart:   {"running"},
		ec2ops.ActionTerminate: {"pending", "running", "stopping", "stopped"},
		ec2ops.ActionStatus:    states,
	}
	for _, a := range ec2ops.Actions() {
		for _, s := range states {
			err := a.Allowed(s)
			want := false
			for _, ok := range allowed[a] {
				want = want || ok == s
			}
			if (err == nil) != want {
				t.Errorf("%s.Allowed(%s) = %v, want allowed %v", a, s, err, want)
				continue
			}
			if err == nil {
				continue
			}
			var e *ec2ops.Error
			if !errors.As(err, &e) || e.Kind != ec2ops.KindInvalidState || e.UserMessage() == "" {
				t.Errorf("%s.Allowed(%s) = %v, want KindInvalidState with a message", a, s, err)
			}
		}
	}
	if err := ec2ops.Action("hibernate").Allowed("running"); !errors.Is(err, ec2ops.KindInvalidRequest) {
		t.Errorf("hibernate.Allowed = %v, want KindInvalidRequest", err)
	}
	if err := ec2ops.ActionStop.Allowed("rebooting"); err == nil {
		t.Error("stop.Allowed(unknown state) = nil, want refusal")
	}
}

func TestActionAllowedMessages(t *testing.T) {
	for _, tt := range []struct {
		action ec2ops.Action
		state  string
		want   string
	}{
		{ec2ops.ActionStop, "stopped", "the instance is already stopped"},
		{ec2ops.ActionStart, "stopping", "the instance is still stopping; start it once it has stopped"},
		{ec2ops.ActionTerminate, "terminated", "the instance is already terminated"},
	} {
		var e *ec2ops.Error
		if err := tt.action.Allowed(tt.state); !errors.As(err, &e) || e.UserMessage() != tt.want {
			t.Errorf("%s.Allowed(%s) message = %v, want %q", tt.action, tt.state, err, tt.want)
		}
	}
}
