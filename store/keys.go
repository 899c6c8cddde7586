package store

import (
	"strconv"

	"github.com/charlize-app/charlize/ec2ops/action"
)

// Claim keys, one function per kind, so that every caller that claims or
// releases the same thing spells it the same way.

// ClickKey is the claim of one button press: action a on item n of the
// rendered message whose flow session is session. Double clicks, two people
// and Slack's redeliveries of one button share it.
func ClickKey(session string, n int, a action.Action) string {
	return "click:" + session + ":" + strconv.Itoa(n) + ":" + string(a)
}

// InstanceLockKey is held while an action runs on one instance, so that at
// most one action at a time changes it.
func InstanceLockKey(account, region, id string) string {
	return "inflight:" + account + "/" + region + "/" + id
}

// ApprovalDecisionKey makes the first decision on an approval request (an
// approval, a denial or its expiry) the only one.
func ApprovalDecisionKey(request string) string { return "approval:" + request }

// PendingApprovalsLockKey guards the list of open approval requests.
const PendingApprovalsLockKey = "lock:pending-approvals"

// EventKey makes one Events API delivery (and Slack's retries of it)
// handled once.
func EventKey(eventID string) string { return "event:" + eventID }

// RefreshKey is held while one replica refreshes an installation's token.
func RefreshKey(installation string) string { return "refresh:" + installation }

// LeaseKey is held, and renewed, by the replica that runs action id; a
// replica that finds it expired takes the action over.
func LeaseKey(action string) string { return "lease:" + action }

// ScheduleKey makes one step of one schedule occurrence (its warning, or
// its acting) happen once across replicas; instance narrows it to one
// instance ("" = the whole occurrence).
func ScheduleKey(step, occurrence, instance string) string {
	k := "schedule:" + step + ":" + occurrence
	if instance != "" {
		k += ":" + instance
	}
	return k
}

// ScheduleMessageLockKey is held while the message of one schedule
// occurrence is read and edited, so that concurrent edits do not undo one
// another.
func ScheduleMessageLockKey(message string) string { return "lock:schedule-message:" + message }
