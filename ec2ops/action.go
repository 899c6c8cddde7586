package ec2ops

import (
	"errors"
	"fmt"
	"slices"
	"strings"
)

// Action is something a user can do to an instance.
type Action string

// The actions Charlize offers.
const (
	ActionStart     Action = "start"
	ActionStop      Action = "stop"
	ActionReboot    Action = "reboot"
	ActionRestart   Action = "restart" // stop, wait until stopped, start
	ActionTerminate Action = "terminate"
	ActionStatus    Action = "status"
)

// Actions lists every action in the order a UI should offer them.
func Actions() []Action {
	return []Action{ActionStart, ActionStop, ActionReboot, ActionRestart, ActionTerminate, ActionStatus}
}

// ParseAction parses an action name, ignoring case and surrounding space.
func ParseAction(s string) (Action, error) {
	if a := Action(strings.ToLower(strings.TrimSpace(s))); a.valid() {
		return a, nil
	}
	return "", &Error{Kind: KindInvalidRequest, Op: "ec2ops.ParseAction",
		Err: fmt.Errorf("%q is not an action; use one of start, stop, reboot, restart, terminate, status", s)}
}

func (a Action) valid() bool { return slices.Contains(Actions(), a) }

// Mutates reports whether the action changes the instance (and so runs under
// the acting user's AssumeRole session).
func (a Action) Mutates() bool {
	switch a {
	case ActionStart, ActionStop, ActionReboot, ActionRestart, ActionTerminate:
		return true
	}
	return false
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
var refusals = map[Action]map[string]string{
	ActionStart: {
		StateRunning:      "is already running",
		StatePending:      "is already starting",
		StateStopping:     "is still stopping; start it once it has stopped",
		StateShuttingDown: "is being terminated and cannot be started",
		StateTerminated:   "is terminated and cannot be started",
	},
	ActionStop: {
		StateStopped:      "is already stopped",
		StateStopping:     "is already stopping",
		StatePending:      "is still starting; stop it once it is running",
		StateShuttingDown: "is already being terminated",
		StateTerminated:   "is terminated",
	},
	ActionReboot: {
		StateStopped:      "is stopped; start it instead",
		StateStopping:     "is stopping; start it once it has stopped",
		StatePending:      "is still starting; reboot it once it is running",
		StateShuttingDown: "is being terminated and cannot be rebooted",
		StateTerminated:   "is terminated and cannot be rebooted",
	},
	ActionRestart: {
		StateStopped:      "is stopped; start it instead",
		StateStopping:     "is stopping; start it once it has stopped",
		StatePending:      "is still starting; restart it once it is running",
		StateShuttingDown: "is being terminated and cannot be restarted",
		StateTerminated:   "is terminated and cannot be restarted",
	},
	ActionTerminate: {
		StateShuttingDown: "is already being terminated",
		StateTerminated:   "is already terminated",
	},
}

var knownStates = map[string]bool{
	StatePending: true, StateRunning: true, StateStopping: true,
	StateStopped: true, StateShuttingDown: true, StateTerminated: true,
}

// refusal returns why action a is not allowed in state, or "" if it is.
func refusal(a Action, state string) string {
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
func actionVerb(a Action) string {
	if a == "" {
		return "that"
	}
	return string(a)
}

// Allowed reports whether the action may be applied to an instance in the
// given state; the error (KindInvalidState) says why not. UIs use it to offer
// only buttons that can work.
func (a Action) Allowed(state string) error {
	if !a.valid() {
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
func (a Action) targetState() string {
	switch a {
	case ActionStart, ActionRestart:
		return StateRunning
	case ActionStop:
		return StateStopped
	case ActionTerminate:
		return StateTerminated
	}
	return ""
}
