package handlers_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/charlize-app/charlize/ec2ops"
	"github.com/charlize-app/charlize/ec2ops/awsevents"
	"github.com/charlize-app/charlize/ec2ops/ec2sim"
	"github.com/charlize-app/charlize/handlers/app"
	"github.com/charlize-app/charlize/store"
)

// These tests hand events to the dispatcher as the poller does, one
// delivery at a time, to order them and count their receives by hand.

// notifyWorld is a world whose events go to the test channel.
func notifyWorld(t *testing.T, o worldOptions, tune func(*app.Options)) *world {
	o.tune = func(opts *app.Options) {
		opts.EventsChannel = channel
		if tune != nil {
			tune(opts)
		}
	}
	return newWorld(t, o)
}

// deliver hands body to the dispatcher as delivery number receives of
// queue message msgID.
func deliver(t *testing.T, w *world, body, msgID string, receives int) (string, error) {
	t.Helper()
	ev, err := awsevents.Decode([]byte(body))
	if err != nil {
		t.Fatal(err)
	}
	return w.dispatcher.Notify(context.Background(), awsevents.Message{Queue: "central", MessageID: msgID, Receives: receives, Event: ev})
}

// postsSaying are the texts of the posts containing text.
func postsSaying(w *world, text string) []string {
	var out []string
	for _, c := range w.slack.Calls("chat.postMessage") {
		if strings.Contains(c.Form.Get("text"), text) {
			out = append(out, c.Form.Get("text"))
		}
	}
	return out
}

// Defect: an OK handled before the older ALARM it resolves (SQS keeps no
// order) found nothing to resolve and was forgotten, so the ALARM was then
// posted as firing, for good. The OK is remembered; the older ALARM is
// stale.
func TestAlarmOKBeforeItsLateALARM(t *testing.T) {
	t.Parallel()
	w := notifyWorld(t, worldOptions{}, nil)
	t0 := time.Now().Add(-10 * time.Minute).Truncate(time.Second)
	if _, err := deliver(t, w, alarmEvent("ok-1", "web-1-cpu-high", "OK", "ALARM", "i-0000000000000a001", "Threshold Crossed: 12 < 80", t0.Add(time.Minute)), "m-ok", 1); err != nil {
		t.Fatal(err)
	}
	out, err := deliver(t, w, alarmEvent("alarm-1", "web-1-cpu-high", "ALARM", "OK", "i-0000000000000a001", "Threshold Crossed: 93 > 80", t0), "m-alarm", 1)
	if err != nil || out != "stale" {
		t.Errorf("the older ALARM after its OK = %q, %v, want stale", out, err)
	}
	if p := postsSaying(w, "web-1-cpu-high is in ALARM"); len(p) != 0 {
		t.Errorf("an alarm already back to OK was posted as firing: %q", p)
	}
	// A newer firing is posted.
	if out, err := deliver(t, w, alarmEvent("alarm-2", "web-1-cpu-high", "ALARM", "OK", "i-0000000000000a001", "Threshold Crossed: 95 > 80", t0.Add(2*time.Minute)), "m-alarm-2", 1); err != nil || out != "posted" {
		t.Errorf("a newer ALARM = %q, %v, want posted", out, err)
	}
}

// Defect: in an account with a managed tag, changes of instances outside
// it were each ignored on their own, but counted into the burst, whose
// summary listed them all.
func TestSummaryShowsOnlyManagedInstances(t *testing.T) {
	t.Parallel()
	w := notifyWorld(t, worldOptions{managedTag: &ec2ops.Tag{Key: "Name", Value: "old-1"}}, func(o *app.Options) {
		o.SummaryEvery = 50 * time.Millisecond
		o.NotifyPace = 10 * time.Millisecond
	})
	now := time.Now()
	for i, id := range []string{"i-0000000000000a001", "i-0000000000000a002", "i-0000000000000d001", "i-0000000000000a001"} {
		out, err := deliver(t, w, stateChangeEvent("mt-"+string(rune('a'+i)), acctProd, id, "stopped", now), "m-mt-"+string(rune('a'+i)), 1)
		if err != nil || out != "ignored" {
			t.Errorf("a change of %s, outside the managed tag = %q, %v, want ignored", id, out, err)
		}
	}
	if calls := w.slack.Calls("chat.postMessage"); len(calls) != 0 {
		t.Errorf("posted for instances outside the managed tag: %s", callText(calls[0]))
	}
}

// Defect: every failed delivery of an event counted into the burst, so a
// lone change retried until AWS answered came out as a summary of one,
// without its buttons. It is the card it would have been.
func TestRetriedLoneChangeIsItsCard(t *testing.T) {
	t.Parallel()
	w := notifyWorld(t, worldOptions{managedTag: &ec2ops.Tag{Key: "Name", Value: "old-1"}}, func(o *app.Options) {
		o.SummaryEvery = 50 * time.Millisecond
		o.NotifyPace = 10 * time.Millisecond
	})
	w.sim.AddFault(ec2sim.Fault{Action: "DescribeInstances", Code: "UnauthorizedOperation", Times: 3})
	body := stateChangeEvent("retried", acctProd, "i-0000000000000b001", "stopped", time.Now())
	for r := 1; r <= 5; r++ {
		if _, err := deliver(t, w, body, "m-retried", r); err == nil {
			break
		}
	}
	if n := len(postsSaying(w, "old-1 (acme-prod, eu-west-1) is now stopped")); n != 1 {
		var got []string
		for _, c := range w.slack.Calls("chat.postMessage") {
			got = append(got, c.Form.Get("text"))
		}
		t.Errorf("one change of old-1, retried until AWS answered, posted as %q; want its card", got)
	}
}

// Defect: an event from a region the account is not configured for was
// retried as a passing failure and, in a managed-tag account, posted as a
// summary for an instance Charlize cannot see. It is set aside at once.
func TestEventFromAnUnconfiguredRegion(t *testing.T) {
	t.Parallel()
	w := notifyWorld(t, worldOptions{managedTag: &ec2ops.Tag{Key: "Name", Value: "old-1"}}, nil)
	body := strings.ReplaceAll(stateChangeEvent("region", acctProd, "i-0000000000000a001", "stopped", time.Now()), "eu-west-1", "ap-south-1")
	if out, err := deliver(t, w, body, "m-region", 1); err != nil || out != "ignored" {
		t.Errorf("an event from ap-south-1, not configured = %q, %v, want ignored at once", out, err)
	}
	if calls := w.slack.Calls("chat.postMessage"); len(calls) != 0 {
		t.Errorf("posted for a region not configured: %s", callText(calls[0]))
	}
}

// ownChangeUnreadable is a store that cannot read own-change notes while on.
type ownChangeUnreadable struct {
	store.Store
	on *bool
}

func (s ownChangeUnreadable) Group(ctx context.Context, key string) ([][]byte, error) {
	if *s.on && strings.HasPrefix(key, "own-changes:") {
		return nil, errors.Join(store.ErrUnavailable, context.DeadlineExceeded)
	}
	return s.Store.Group(ctx, key)
}

// Defect: when the store could not say whether a state change was
// Charlize's own, it was taken for someone else's and announced besides
// the action's own message. The event comes back later instead.
func TestOwnChangeUnreadableIsRetried(t *testing.T) {
	t.Parallel()
	var failing bool
	w := notifyWorld(t, worldOptions{wrapStore: func(s store.Store) store.Store { return ownChangeUnreadable{Store: s, on: &failing} }}, nil)
	card := w.instanceCard("web-1", "card1")
	if r := w.click(alice, mustButton(t, card, "act:stop", ""), "stop1"); r != http.StatusOK {
		t.Fatalf("Stop click = %d", r)
	}
	w.waitForText("chat.update", "stopped", waitResult)
	failing = true
	body := stateChangeEvent("own", acctProd, "i-0000000000000a001", "stopped", time.Now())
	if _, err := deliver(t, w, body, "m-own", 1); err == nil {
		t.Errorf("the change handled while the store could not say whose it was, want it back later")
	}
	failing = false
	if out, err := deliver(t, w, body, "m-own", 2); err != nil || out != "own_change" {
		t.Errorf("the change delivered again = %q, %v, want own_change", out, err)
	}
	if p := postsSaying(w, "web-1 (acme-prod, eu-west-1) is now stopped"); len(p) != 0 {
		t.Errorf("Charlize's own stop of web-1 announced besides its action message: %q", p)
	}
}

// Defect: an event claim that landed though the store's answer timed out
// held the event for the claim's two minutes: its next deliveries were put
// back, spending the receives the queue allows before dead-lettering it.
func TestLandedEventClaimDoesNotHoldTheEvent(t *testing.T) {
	t.Parallel()
	w, fs := faultyWorld(t, worldOptions{tune: func(o *app.Options) { o.EventsChannel = channel }})
	fs.arm("Claim", true, 0, 1, keyPrefix("notify:"))
	body := stateChangeEvent("claimed", acctProd, "i-0000000000000b001", "stopped", time.Now())
	if _, err := deliver(t, w, body, "m-claimed", 1); err == nil {
		t.Fatal("the first delivery, whose claim went unanswered, succeeded")
	}
	if out, err := deliver(t, w, body, "m-claimed", 2); err != nil || out != "posted" {
		t.Errorf("the next delivery = %q, %v, want posted", out, err)
	}
	if n := len(postsSaying(w, "is now stopped")); n != 1 {
		t.Errorf("the change posted %d times, want 1", n)
	}
}

// Defect: once an alarm's message was gone (deleted in Slack, its channel
// archived), every later event of the alarm failed its edit until it was
// dead-lettered, and the alarm firing again was never posted for the 14
// days its note lasts. A resolution is remembered; a firing is posted anew.
func TestAlarmWhoseMessageIsGone(t *testing.T) {
	t.Parallel()
	w := notifyWorld(t, worldOptions{}, nil)
	t0 := time.Now().Add(-30 * time.Minute).Truncate(time.Second)
	if out, err := deliver(t, w, alarmEvent("gone-1", "web-1-cpu-high", "ALARM", "OK", "", "93 > 80", t0), "m-g1", 1); err != nil || out != "posted" {
		t.Fatalf("first ALARM = %q, %v", out, err)
	}
	w.slack.Fail("chat.update", "message_not_found", 100) // someone deleted it
	if out, err := deliver(t, w, alarmEvent("gone-2", "web-1-cpu-high", "OK", "ALARM", "", "12 < 80", t0.Add(time.Minute)), "m-g2", 1); err != nil {
		t.Errorf("the OK of an alarm whose message is gone = %q, %v, want it handled", out, err)
	}
	if out, err := deliver(t, w, alarmEvent("gone-3", "web-1-cpu-high", "ALARM", "OK", "", "99 > 80", t0.Add(10*time.Minute)), "m-g3", 1); err != nil || out != "posted" {
		t.Errorf("the alarm firing again = %q, %v, want posted", out, err)
	}
	if n := len(postsSaying(w, "web-1-cpu-high is in ALARM")); n != 2 {
		t.Errorf("the alarm posted %d times in all, want 2", n)
	}
}

// Defect: a state change older than one already posted (SQS keeps no
// order) was posted after it, so the channel's last word on old-1 was
// "running" while it was stopped. It is stale.
func TestOlderStateChangeAfterANewerOne(t *testing.T) {
	t.Parallel()
	w := notifyWorld(t, worldOptions{}, func(o *app.Options) { o.NotifyPace = 10 * time.Millisecond })
	t0 := time.Now().Add(-5 * time.Minute).Truncate(time.Second)
	if out, err := deliver(t, w, stateChangeEvent("newer", acctProd, "i-0000000000000b001", "stopped", t0.Add(time.Minute)), "m-newer", 1); err != nil || out != "posted" {
		t.Fatalf("the newer change = %q, %v", out, err)
	}
	if out, err := deliver(t, w, stateChangeEvent("older", acctProd, "i-0000000000000b001", "running", t0), "m-older", 1); err != nil || out != "stale" {
		t.Errorf("the older change after it = %q, %v, want stale", out, err)
	}
	if p := postsSaying(w, "old-1 (acme-prod, eu-west-1) is now running"); len(p) != 0 {
		t.Errorf("a change older than one already posted was posted after it: %q", p)
	}
}

// Defect: a summary showed each instance at the change that arrived last,
// not its latest one.
func TestSummaryShowsEachInstanceAtItsLatestChange(t *testing.T) {
	t.Parallel()
	w := notifyWorld(t, worldOptions{}, func(o *app.Options) {
		o.BurstSize = 1
		o.SummaryEvery = 50 * time.Millisecond
		o.NotifyPace = 10 * time.Millisecond
	})
	t0 := time.Now().Add(-5 * time.Minute).Truncate(time.Second)
	for _, s := range []struct {
		id, inst, state string
		at              time.Time
	}{
		{"s1", "i-0000000000000a002", "stopped", t0},
		{"s2", "i-0000000000000a001", "stopped", t0.Add(2 * time.Minute)}, // web-1's latest
		{"s3", "i-0000000000000a001", "running", t0.Add(time.Minute)},     // older, arrives last
	} {
		if _, err := deliver(t, w, stateChangeEvent(s.id, acctProd, s.inst, s.state, s.at), "m-"+s.id, 1); err != nil {
			t.Fatal(err)
		}
	}
	var last string
	for _, m := range []string{"chat.postMessage", "chat.update"} {
		for _, c := range w.slack.Calls(m) {
			if strings.Contains(c.Form.Get("text"), "changed state") {
				last = callText(c)
			}
		}
	}
	if !strings.Contains(last, "🔴 2 stopped") || strings.Contains(last, "running") {
		t.Errorf("the summary = %s, want web-1 and web-2 stopped (web-1's latest change)", last)
	}
}

// Defect: the note of an instance's own changes named one action, so a
// later action on it (a Start after a Stop) hid that a late "stopped" was
// the Stop's, and it was announced besides the Stop's own message.
func TestOwnStopStaysOwnAfterALaterStart(t *testing.T) {
	t.Parallel()
	w := notifyWorld(t, worldOptions{}, nil)
	card := w.instanceCard("web-1", "card1")
	stopAt := time.Now()
	if r := w.click(alice, mustButton(t, card, "act:stop", ""), "stop1"); r != http.StatusOK {
		t.Fatalf("Stop click = %d", r)
	}
	w.waitForText("chat.update", "stopped", waitResult)
	card = w.instanceCard("web-1", "card2")
	if r := w.click(alice, mustButton(t, card, "act:start", ""), "start1"); r != http.StatusOK {
		t.Fatalf("Start click = %d", r)
	}
	w.waitForText("chat.update", "started", waitResult)
	out, err := deliver(t, w, stateChangeEvent("late-own", acctProd, "i-0000000000000a001", "stopped", stopAt.Add(200*time.Millisecond)), "m-late-own", 1)
	if err != nil || out != "own_change" {
		t.Errorf("the Stop's late 'stopped' = %q, %v, want own_change", out, err)
	}
	if p := postsSaying(w, "web-1 (acme-prod, eu-west-1) is now stopped"); len(p) != 0 {
		t.Errorf("Charlize's own stop announced besides its action message: %q", p)
	}
}

// Defect: a second AWS Health event of the same maintenance naming another
// instance was dropped as a duplicate; the message names both.
func TestMaintenanceNamesEveryInstanceItsEventsName(t *testing.T) {
	t.Parallel()
	w := notifyWorld(t, worldOptions{}, func(o *app.Options) { o.NotifyPace = 10 * time.Millisecond })
	start := time.Now().Add(72 * time.Hour).Truncate(time.Second)
	first := healthEvent("h1", "i-0000000000000d001", start)
	second := strings.NewReplacer(`"id":"h1"`, `"id":"h2"`, `"entityValue":"i-0000000000000d001"`, `"entityValue":"i-0000000000000a002"`,
		`"resources":["i-0000000000000d001"]`, `"resources":["i-0000000000000a002"]`).Replace(first)
	if out, err := deliver(t, w, first, "m-h1", 1); err != nil || out != "posted" {
		t.Fatalf("first = %q, %v", out, err)
	}
	if out, err := deliver(t, w, second, "m-h2", 1); err != nil || out != "edited" {
		t.Errorf("the second event, naming web-2 = %q, %v, want edited", out, err)
	}
	edits := w.slack.Calls("chat.update")
	if len(edits) != 1 || !strings.Contains(callText(edits[0]), "a002") || !strings.Contains(callText(edits[0]), "d001") {
		t.Errorf("edits = %d, want one naming db-1 and web-2", len(edits))
	}
}

// Defect: in a managed-tag account, a maintenance closed after its
// instance was gone (retired) never said it was over: the instance could
// not be described, so the closing event was ignored and the message kept
// offering "Stop & start now".
func TestMaintenanceClosedAfterItsInstanceIsGone(t *testing.T) {
	t.Parallel()
	w := notifyWorld(t, worldOptions{managedTag: &ec2ops.Tag{Key: "Name", Value: "db-1"}}, nil)
	start := time.Now().Add(72 * time.Hour).Truncate(time.Second)
	upcoming := healthEvent("hc", "i-0000000000000d001", start)
	if out, err := deliver(t, w, upcoming, "m-hc", 1); err != nil || out != "posted" {
		t.Fatalf("upcoming = %q, %v", out, err)
	}
	w.sim.AddFault(ec2sim.Fault{Action: "DescribeInstances", Code: "InvalidInstanceID.NotFound", Status: 400})
	closed := strings.NewReplacer(`"statusCode":"upcoming"`, `"statusCode":"closed"`, `"id":"hc"`, `"id":"hc-closed"`).Replace(upcoming)
	if out, err := deliver(t, w, closed, "m-hc-closed", 1); err != nil || out != "edited" {
		t.Errorf("the closing event = %q, %v, want edited", out, err)
	}
	edits := w.slack.Calls("chat.update")
	if len(edits) != 1 || strings.Contains(callText(edits[0]), "Stop \\u0026 start now") || strings.Contains(callText(edits[0]), "Stop & start now") {
		t.Errorf("edits = %d, want one saying it is over, without buttons", len(edits))
	}
}

// In an account with a managed tag, a burst of changes of instances the
// inventory already lists costs no describe per change: AWS is asked only
// for the cards (the first few), and the summary counts the rest. (It
// asked once per change.)
func TestManagedBurstDescribesOnlyItsCards(t *testing.T) {
	t.Parallel()
	w := notifyWorld(t, worldOptions{managedTag: &ec2ops.Tag{Key: "env", Value: "prod"}}, func(o *app.Options) {
		o.SummaryEvery = 50 * time.Millisecond
		o.NotifyPace = 10 * time.Millisecond
	})
	w.command(alice, "list", "warm")
	w.waitForURLText("warm", "web-1", waitResult) // the inventory lists acme-prod
	before := w.sim.Calls("DescribeInstances")
	now := time.Now()
	ids := []string{"i-0000000000000a001", "i-0000000000000a002", "i-0000000000000d001", "i-0000000000000b001"}
	for i := range 8 {
		body := stateChangeEvent(fmt.Sprintf("burst-%d", i), acctProd, ids[i%len(ids)], "stopped", now.Add(time.Duration(i)*time.Second))
		if _, err := deliver(t, w, body, fmt.Sprintf("m-burst-%d", i), 1); err != nil {
			t.Fatal(err)
		}
	}
	// The three cards', and at most one listing refreshing the inventory.
	if n := w.sim.Calls("DescribeInstances") - before; n > 4 {
		t.Errorf("a burst of 8 changes of listed instances made %d DescribeInstances calls, want at most 4", n)
	}
	if p := postsSaying(w, "changed state"); len(p) != 1 {
		t.Errorf("summaries posted = %d, want 1", len(p))
	}
}
