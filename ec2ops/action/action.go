// Package action is Charlize's vocabulary of actions: what a user (or the
// scheduler) may ask for, shared by ec2ops (which performs them), blocks
// (which renders their buttons and results) and the policy (which grants
// them). It has no dependencies and performs no I/O.
package action

import (
	"slices"
	"strings"
)

// Action is something Charlize can be asked to do.
type Action string

// Actions on one instance. Status only shows it; the others change it.
const (
	Status    Action = "status"
	Start     Action = "start"
	Stop      Action = "stop"
	Reboot    Action = "reboot"
	Restart   Action = "restart" // stop, wait until stopped, start
	Terminate Action = "terminate"
)

// Actions that are not about one instance.
const (
	List  Action = "list"  // see instances
	Audit Action = "audit" // read the audit log
	// Schedule creates schedules and attaches them to instances (or
	// detaches them); with Start, it also lets a person snooze a
	// scheduled stop.
	Schedule Action = "schedule"
	// Acknowledge marks an alarm's message as seen by someone. The policy
	// does not grant it by name: whoever may see the instance's status
	// (the account's, for an alarm on no instance) may acknowledge.
	Acknowledge Action = "acknowledge"
)

// Console reads an instance's console output. It changes nothing and has
// its own button on the card rather than being one of the instance
// actions; a policy that never names it grants it with status.
const Console Action = "console"

// Snooze is what the audit log calls postponing or skipping a scheduled
// stop; the policy grants it through Schedule or Start, not by itself.
const Snooze Action = "snooze"

// OnInstance lists the instance actions in the order a UI offers them.
func OnInstance() []Action {
	return []Action{Status, Start, Stop, Reboot, Restart, Terminate}
}

// All lists every action the policy can grant.
func All() []Action {
	return []Action{List, Status, Console, Start, Stop, Reboot, Restart, Terminate, Audit, Schedule}
}

// Mutating lists the actions that change an instance.
func Mutating() []Action {
	return []Action{Start, Stop, Reboot, Restart, Terminate}
}

// Parse reads an action name, ignoring case and surrounding space.
func Parse(s string) (Action, bool) {
	a := Action(strings.ToLower(strings.TrimSpace(s)))
	return a, slices.Contains(All(), a)
}

// ParseInstance reads the name of an instance action.
func ParseInstance(s string) (Action, bool) {
	a, ok := Parse(s)
	return a, ok && a.OnInstance()
}

// OnInstance reports whether a is done to one instance.
func (a Action) OnInstance() bool { return slices.Contains(OnInstance(), a) }

// Mutates reports whether a changes the instance (and so runs under the
// acting user's AssumeRole session, is audited and may need approval).
func (a Action) Mutates() bool { return slices.Contains(Mutating(), a) }

// Label is the action as a button says it: "Stop".
func (a Action) Label() string {
	s := string(a)
	if s == "" {
		return s
	}
	return strings.ToUpper(s[:1]) + s[1:]
}

// Doing is the action under way: "Stopping"; "Working on" when unknown.
func (a Action) Doing() string {
	switch a {
	case Start:
		return "Starting"
	case Stop:
		return "Stopping"
	case Reboot:
		return "Rebooting"
	case Restart:
		return "Restarting"
	case Terminate:
		return "Terminating"
	case Status:
		return "Checking"
	}
	return "Working on"
}

// Done is the action completed: "stopped"; "" when unknown.
func (a Action) Done() string {
	switch a {
	case Start:
		return "started"
	case Stop:
		return "stopped"
	case Reboot:
		return "rebooted"
	case Restart:
		return "restarted"
	case Terminate:
		return "terminated"
	case Status:
		return "checked"
	case Acknowledge:
		return "acknowledged"
	}
	return ""
}
