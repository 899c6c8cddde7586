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

// Keys of what Charlize posts on its own (events from AWS): claims and
// notices.

// NotifyKey is held by the replica that is posting EventBridge event id,
// for as long as posting takes; a replica that dies lets it expire, and
// the queue redelivers the event to another.
func NotifyKey(eventID string) string { return "notify:" + eventID }

// StateSeenKey is the notice holding when the latest state change of an
// instance that Charlize handled happened.
func StateSeenKey(account, region, id string) string {
	return "state-seen:" + account + "/" + region + "/" + id
}

// OwnChangeKey is the group listing the records of the actions that are
// changing (or have just changed) an instance, so that the state-change
// events the action causes are not posted besides its own message.
func OwnChangeKey(account, region, id string) string {
	return "own-changes:" + account + "/" + region + "/" + id
}

// PaceKey is one posting slot of a channel: one notification post per
// slot keeps Charlize within Slack's posting rate.
func PaceKey(channel string, slot int64) string {
	return "pace:" + channel + ":" + strconv.FormatInt(slot, 10)
}

// PaceReservationKey is the notice of the posting slot of channel that
// an event was given: its redelivery posts in that slot, not at the back
// of the line again.
func PaceReservationKey(channel, event string) string {
	return "pace-reservation:" + channel + ":" + event
}

// PaceCounterKey is the counter that hands out channel's posting slots.
func PaceCounterKey(channel string) string { return "pace:" + channel }

// NoticeLockKey is held while one replica posts or edits notice key, so
// that events about the same alarm are applied one at a time.
func NoticeLockKey(notice string) string { return "notice-lock:" + notice }

// ScheduleLockKey is held while a schedule is created, so that of two
// people creating the same name at once only one is told it was created.
func ScheduleLockKey(name string) string { return "schedule-lock:" + name }

// SummaryEditKey is one editing slot of a summary notice: one edit per
// slot across replicas.
func SummaryEditKey(notice string, slot int64) string {
	return "summary-edit:" + notice + ":" + strconv.FormatInt(slot, 10)
}

// AckKey makes the first Acknowledge of one alarm episode (its notice and
// the time it went into ALARM) the only one.
func AckKey(notice string, episode int64) string {
	return "ack:" + notice + ":" + strconv.FormatInt(episode, 10)
}

// EventNoticeKey is the notice of EventBridge event id once posted: a
// redelivery finds it and posts nothing.
func EventNoticeKey(eventID string) string { return "event:" + eventID }

// AlarmNoticeKey is the message of a CloudWatch alarm, edited as its state
// changes.
func AlarmNoticeKey(account, region, alarm string) string {
	return "alarm:" + account + "/" + region + "/" + alarm
}

// AlarmEpisodeKey keeps an episode of alarm notice that fired and resolved
// while its firing event waited for its posting slot, once a newer firing
// has taken the notice: that event posts it when it comes back.
func AlarmEpisodeKey(notice, event string) string {
	return "alarm-episode:" + notice + ":" + event
}

// HealthNoticeKey is the message of one AWS Health event in one account
// (an event's ARN names no account, and may reach several).
func HealthNoticeKey(account, eventARN string) string { return "health:" + account + "/" + eventARN }

// BurstWindowKey is held, for one window, by the window of state changes
// of account posted to channel that is open now: its holder names it.
func BurstWindowKey(channel, account string) string {
	return "burst-window:" + channel + ":" + account
}

// BurstJoinedKey is the notice of the window (BurstWindowKey's holder) a
// state change event counted in, kept when it is put back.
func BurstJoinedKey(event string) string { return "burst-joined:" + event }

// BurstKey is the group of state changes of one window (as
// BurstWindowKey's holder names it), and the notice of their summary.
func BurstKey(channel, account, window string) string {
	return "burst:" + channel + ":" + account + ":" + window
}
