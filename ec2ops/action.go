package ec2ops

import (
	"errors"
	"fmt"

	"github.com/charlize-app/charlize/ec2ops/action"
)

// ParseAction parses the name of an instance action, ignoring case and
// surrounding space.
func ParseAction(s string) (action.Action, error) {
	if a, ok := action.ParseInstance(s); ok {
		return a, nil
	}
	return "", &Error{Kind: KindInvalidRequest, Op: "ec2ops.ParseAction",
		Err: fmt.Errorf("%q is not an action; use one of start, stop, reboot, restart, terminate, status", s)}
}

// Instance states as EC2 reports them.
const (
	StatePending      = "pending"
	StateRunning      = "running"
	StateStopping     = "stopping"
	StateStopped      = "stopped"
	StateShuttingDown = "shutting-down"
	StateTerminated   = "terminated"
)

// refusals says, per action and current state, why the action is not allowed;
// a state that is absent for a known action allows it. The text completes a
// sentence that starts with the instance's name.
var refusals = map[action.Action]map[string]string{
	action.Start: {
		StateRunning:      "is already running",
		StatePending:      "is already starting",
		StateStopping:     "is still stopping; start it once it has stopped",
		StateShuttingDown: "is being terminated and cannot be started",
		StateTerminated:   "is terminated and cannot be started",
	},
	action.Stop: {
		StateStopped:      "is already stopped",
		StateStopping:     "is already stopping",
		StatePending:      "is still starting; stop it once it is running",
		StateShuttingDown: "is already being terminated",
		StateTerminated:   "is terminated",
	},
	action.Reboot: {
		StateStopped:      "is stopped; start it instead",
		StateStopping:     "is stopping; start it once it has stopped",
		StatePending:      "is still starting; reboot it once it is running",
		StateShuttingDown: "is being terminated and cannot be rebooted",
		StateTerminated:   "is terminated and cannot be rebooted",
	},
	action.Restart: {
		StateStopped:      "is stopped; start it instead",
		StateStopping:     "is stopping; start it once it has stopped",
		StatePending:      "is still starting; restart it once it is running",
		StateShuttingDown: "is being terminated and cannot be restarted",
		StateTerminated:   "is terminated and cannot be restarted",
	},
	action.Terminate: {
		StateShuttingDown: "is already being terminated",
		StateTerminated:   "is already terminated",
	},
}

var knownStates = map[string]bool{
	StatePending: true, StateRunning: true, StateStopping: true,
	StateStopped: true, StateShuttingDown: true, StateTerminated: true,
}

// refusal returns why action a is not allowed in state, or "" if it is.
func refusal(a action.Action, state string) string {
	if !a.Mutates() {
		return ""
	}
	if !knownStates[state] {
		// Includes "" for AWS's IncorrectInstanceState, which does not say
		// which state the instance was in.
		if state == "" {
			return fmt.Sprintf("is not in a state that allows %s", actionVerb(a))
		}
		return fmt.Sprintf("is %s, which does not allow %s", state, actionVerb(a))
	}
	return refusals[a][state]
}

// actionVerb names an action inside a sentence ("does not allow a restart").
func actionVerb(a action.Action) string {
	if a == "" {
		return "that"
	}
	return string(a)
}

// Allowed reports whether action a may be applied to an instance in the
// given state; the error (KindInvalidState) says why not. UIs use it to offer
// only buttons that can work.
func Allowed(a action.Action, state string) error {
	if !a.OnInstance() {
		return &Error{Kind: KindInvalidRequest, Op: "ec2ops.Allowed", Action: a,
			Err: errors.New("unknown action " + string(a))}
	}
	if why := refusal(a, state); why != "" {
		return &Error{Kind: KindInvalidState, Op: "ec2ops.Allowed", Action: a, State: state,
			Err: errors.New(why)}
	}
	return nil
}

// targetState is the state an action waits for; "" means no wait.
func targetState(a action.Action) string {
	switch a {
	case action.Start, action.Restart:
		return StateRunning
	case action.Stop:
		return StateStopped
	case action.Terminate:
		return StateTerminated
	}
	return ""
}
