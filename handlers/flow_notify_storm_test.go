package handlers_test

import (
	"fmt"
	"sort"
	"testing"
	"time"

	"github.com/charlize-app/charlize/ec2ops/awsevents"
	"github.com/charlize-app/charlize/handlers/app"
)

// An alarm storm in one channel: more alarms than Slack's posting pace
// lets through within one handling of a message. Every alarm is posted,
// once, at the channel's pace, and none is dead-lettered for having waited
// its turn (each wait spent a receive of the five the queue allows).
func TestNotifyAlarmStormIsPostedWhole(t *testing.T) {
	const alarms, pace = 60, 200 * time.Millisecond
	w := newEventsWorld(t, worldOptions{tune: func(o *app.Options) { o.NotifyPace = pace }}, func(o *awsevents.Options) {
		// 60 alarms at 200 ms take 12 s: six handlings' worth, one more
		// than the five receives the queue allows.
		o.HandleTimeout, o.Visibility, o.RetryAfter = 2*time.Second, 3*time.Second, 50*time.Millisecond
	})
	t0 := time.Now()
	for i := range alarms {
		w.send(alarmEvent(fmt.Sprintf("storm-%02d", i), fmt.Sprintf("storm-alarm-%02d", i), "ALARM", "OK", "i-0000000000000a001", "Threshold Crossed", t0))
	}
	deadline := time.Now().Add(40 * time.Second)
	for w.counts.get("alarm/posted") < alarms && w.counts.get("alarm/given_up") == 0 && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	if n := w.counts.get("alarm/given_up"); n > 0 {
		t.Errorf("%d alarms given up to the dead-letter queue (counts %v)", n, w.counts)
	}
	posts := w.posts("chat.postMessage", "storm-alarm-")
	seen := map[string]int{}
	for _, p := range posts {
		seen[p.Form.Get("text")]++
	}
	if len(seen) != alarms || len(posts) != alarms {
		t.Fatalf("%d posts of %d distinct alarms, want each of the %d posted once (counts %v)", len(posts), len(seen), alarms, w.counts)
	}
	// At the channel's pace: one post per slot, in the order they came.
	var at []time.Time
	for _, p := range posts {
		at = append(at, p.Time)
	}
	sort.Slice(at, func(i, j int) bool { return at[i].Before(at[j]) })
	close := 0
	for i := 1; i < len(at); i++ {
		if at[i].Sub(at[i-1]) < pace/2 {
			close++
		}
	}
	if close > 2 {
		t.Errorf("%d of %d posts came within half a slot (%v) of the one before, want them a slot apart", close, alarms, pace/2)
	}
}
