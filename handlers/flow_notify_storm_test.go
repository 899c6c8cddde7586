package handlers_test

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/charlize-app/charlize/ec2ops/awsevents"
	"github.com/charlize-app/charlize/handlers/app"
	"github.com/charlize-app/charlize/store"
)

// An alarm storm in one channel: more alarms than Slack's posting pace
// lets through within one handling of a message. Every alarm is posted,
// once, at the channel's pace, and none is dead-lettered for having waited
// its turn (each wait spent a receive of the five the queue allows).
func TestNotifyAlarmStormIsPostedWhole(t *testing.T) {
	const alarms, pace = 60, 200 * time.Millisecond
	rec := &paceWins{won: map[string]string{}}
	w := newEventsWorld(t, worldOptions{
		tune:      func(o *app.Options) { o.NotifyPace = pace },
		wrapStore: func(s store.Store) store.Store { rec.Store = s; return rec },
	}, func(o *awsevents.Options) {
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
	// Slots were found by claiming one after another from a hint: alarms
	// arriving together tried the same slots (300 at once cost about 40
	// claims each, and on a slow store ran out their handling). The
	// channel's counter gives each its slot at the first try.
	t.Logf("storm figure: %d slot claims for %d alarms", rec.tried(), alarms)
	if tries := rec.tried(); tries > alarms+alarms/10 {
		t.Errorf("%d slot claims for %d alarms, want about one each", tries, alarms)
	}
}

// paceWins records which holder won each posting slot ("pace:" claim).
type paceWins struct {
	store.Store
	mu    sync.Mutex
	won   map[string]string // slot key -> holder (an event id, or a summary's key)
	tries int               // slot claims, won or not
}

func (s *paceWins) Claim(ctx context.Context, key, holder string, ttl time.Duration) (bool, string, error) {
	won, h, err := s.Store.Claim(ctx, key, holder, ttl)
	if strings.HasPrefix(key, "pace:") {
		s.mu.Lock()
		s.tries++
		if err == nil && won {
			s.won[key] = holder
		}
		s.mu.Unlock()
	}
	return won, h, err
}

func (s *paceWins) tried() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.tries
}

// slots counts the slots won by holders starting with prefix.
func (s *paceWins) slots(prefix string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := 0
	for _, h := range s.won {
		if strings.HasPrefix(h, prefix) {
			n++
		}
	}
	return n
}

// busyChannel claims the channel's next n posting slots for other events,
// as a storm that came first has.
func busyChannel(t *testing.T, st store.Store, pace time.Duration, n int) {
	t.Helper()
	ctx := context.Background()
	first := time.Now().UnixNano() / int64(pace)
	for s := first; s < first+int64(n); s++ {
		if _, _, err := st.Claim(ctx, store.PaceKey(channel, s), fmt.Sprintf("storm-%d", s), time.Minute); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := st.TakeNumber(ctx, store.PaceCounterKey(channel), first+int64(n)-1, time.Hour); err != nil {
		t.Fatal(err)
	}
}

// busyNotifyWorld is a notifyWorld posting a slot per 100 ms (its
// summaries edited every 200 ms) whose channel's next slots are taken.
func busyNotifyWorld(t *testing.T, slots int) *world {
	t.Helper()
	const pace = 100 * time.Millisecond
	w := notifyWorld(t, worldOptions{}, func(o *app.Options) { o.NotifyPace, o.SummaryEvery = pace, 2*pace })
	busyChannel(t, w.store, pace, slots)
	return w
}

// deliverWithin is deliver within ctx, the poller's handling deadline.
func deliverWithin(t *testing.T, w *world, ctx context.Context, body, msgID string, receives int) (string, error) {
	t.Helper()
	ev, err := awsevents.Decode([]byte(body))
	if err != nil {
		t.Fatal(err)
	}
	return w.dispatcher.Notify(ctx, awsevents.Message{Queue: "central", MessageID: msgID, Receives: receives, Event: ev})
}

// Found by review: a burst's summary that could not be posted within one
// handling took a posting slot for every event that tried to post it (one
// posted; the others' slots stood empty, and everything after waited
// behind them), and events waiting for it ran out their handling as
// failures. The summary has one slot, and its events come back for it.
func TestNotifyBusySummaryTakesOneSlot(t *testing.T) {
	const pace, changes = 100 * time.Millisecond, 16
	rec := &paceWins{won: map[string]string{}}
	w := newEventsWorld(t, worldOptions{
		wrapStore: func(s store.Store) store.Store { rec.Store = s; return rec },
		tune:      func(o *app.Options) { o.NotifyPace, o.SummaryEvery = pace, 200*time.Millisecond },
	}, func(o *awsevents.Options) {
		o.HandleTimeout, o.Visibility, o.RetryAfter = 2*time.Second, 3*time.Second, 50*time.Millisecond
	})
	busyChannel(t, w.store, pace, 40) // 4 s of posts ahead, past a 2 s handling
	now := time.Now()
	for i := range changes {
		w.send(stateChangeEvent(fmt.Sprintf("busy-%02d", i), acctProd, fmt.Sprintf("i-%017x", 0xe0000+i), "stopped", now))
	}
	deadline := time.Now().Add(60 * time.Second)
	for w.counts.get("state-change/posted")+w.counts.get("state-change/grouped")+w.counts.get("state-change/given_up") < changes && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	cards, summaries := len(w.posts("chat.postMessage", "is now")), len(w.posts("chat.postMessage", "changed state"))
	if cards != 3 || summaries != 1 {
		t.Fatalf("%d cards and %d summaries posted, want 3 and 1 (counts %v)", cards, summaries, w.counts)
	}
	if n := rec.slots("busy-") + rec.slots("burst:"); n != cards+summaries {
		t.Errorf("%d posting slots given to the burst for %d posts: %d seconds of the channel's line nobody posted in", n, cards+summaries, n-cards-summaries)
	}
	if n := w.counts.get("state-change/failed"); n > 0 {
		t.Errorf("%d deliveries of the burst failed while waiting for its summary (counts %v)", n, w.counts)
	}
}

// Found by review: an alarm that fired and recovered while its firing
// waited for its posting slot was never shown (the OK found nothing to
// resolve, the firing then came back stale). The OK resolves the pending
// notice, and the firing posts it as it stands: resolved.
func TestNotifyAlarmThatRecoversWhileWaitingIsShownResolved(t *testing.T) {
	w := busyNotifyWorld(t, 30) // 3 s of posts ahead
	t0 := time.Now().Add(-2 * time.Minute).Truncate(time.Second)
	fire := alarmEvent("flap-1", "db-1-cpu-high", "ALARM", "OK", "", "Threshold Crossed: 97 > 80", t0)
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	_, err := deliverWithin(t, w, ctx, fire, "m-flap-1", 1)
	cancel()
	var later *awsevents.LaterError
	if !errors.As(err, &later) {
		t.Fatalf("the ALARM behind a storm = %v, want put back for its slot", err)
	}
	if _, err := deliver(t, w, alarmEvent("flap-2", "db-1-cpu-high", "OK", "ALARM", "", "Threshold Crossed: 12 < 80", t0.Add(time.Minute)), "m-flap-2", 1); err != nil {
		t.Fatal(err)
	}
	time.Sleep(later.After) // the queue shows the ALARM again at its slot
	if out, err := deliverWithin(t, w, context.Background(), fire, "m-flap-1", 2); out != "posted" || err != nil {
		t.Errorf("the ALARM back for its slot = %q, %v, want it posted", out, err)
	}
	posts := postsSaying(w, "db-1-cpu-high")
	if len(posts) != 1 || !strings.Contains(posts[0], "resolved after 1 min") {
		t.Errorf("posts of the alarm = %d (%v), want one, resolved after 1 min", len(posts), posts)
	}
}

// Found by review: a post waiting for its slot that a shutdown's drain cut
// short failed (a receive spent, "event failed" logged) though the slot was
// still its own; it comes back for it.
func TestNotifyCutSlotWaitComesBack(t *testing.T) {
	w := busyNotifyWorld(t, 20) // 2 s ahead, within the handling
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	time.AfterFunc(300*time.Millisecond, cancel) // the drain's end
	t0 := time.Now().Add(-time.Minute).Truncate(time.Second)
	_, err := deliverWithin(t, w, ctx, alarmEvent("cut-1", "web-9-cpu-high", "ALARM", "OK", "", "93 > 80", t0), "m-cut-1", 1)
	var later *awsevents.LaterError
	if !errors.As(err, &later) {
		t.Errorf("Notify, its wait for its slot cut short = %v, want it back for the slot (*awsevents.LaterError)", err)
	}
}

// Found by review: an alarm that fired, recovered and fired again while
// the channel was busy lost its first episode (the second firing replaced
// the notice the first was waiting to post). Each episode is posted: the
// first resolved, the second firing.
func TestNotifyFlapWhileWaitingPostsBothEpisodes(t *testing.T) {
	w := busyNotifyWorld(t, 30) // 3 s of posts ahead
	t0 := time.Now().Add(-5 * time.Minute).Truncate(time.Second)
	fire1 := alarmEvent("flap3-1", "db-7-cpu-high", "ALARM", "OK", "", "Threshold Crossed: 97 > 80", t0)
	ok := alarmEvent("flap3-2", "db-7-cpu-high", "OK", "ALARM", "", "Threshold Crossed: 12 < 80", t0.Add(time.Minute))
	fire2 := alarmEvent("flap3-3", "db-7-cpu-high", "ALARM", "OK", "", "Threshold Crossed: 99 > 80", t0.Add(3*time.Minute))
	putBack := func(body, msgID string) time.Duration {
		t.Helper()
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		_, err := deliverWithin(t, w, ctx, body, msgID, 1)
		var later *awsevents.LaterError
		if !errors.As(err, &later) {
			t.Fatalf("%s behind the storm = %v, want put back for its slot", msgID, err)
		}
		return later.After
	}
	after1 := putBack(fire1, "m-f1")
	if _, err := deliver(t, w, ok, "m-ok", 1); err != nil {
		t.Fatal(err)
	}
	after2 := putBack(fire2, "m-f2")
	time.Sleep(after1)
	out1, err1 := deliverWithin(t, w, context.Background(), fire1, "m-f1", 2)
	time.Sleep(max(after2-after1, 0))
	out2, err2 := deliverWithin(t, w, context.Background(), fire2, "m-f2", 2)
	posts := postsSaying(w, "db-7-cpu-high")
	resolved := 0
	for _, p := range posts {
		if strings.Contains(p, "resolved after 1 min") {
			resolved++
		}
	}
	if resolved != 1 || len(posts) != 2 {
		t.Errorf("fired, recovered, fired again while the channel was busy: %d posts (%d resolved; the firings back: %q %v, %q %v), want the first episode resolved after 1 min and the second firing",
			len(posts), resolved, out1, err1, out2, err2)
	}
}

// Found by review: three state changes in a busy channel came out as two
// cards and a summary of all three: the changes put back for their slot
// were counted again at each delivery, pushing a later change past the
// burst size.
func TestNotifyPutBackChangesCountOnce(t *testing.T) {
	w := busyNotifyWorld(t, 30) // 3 s of posts ahead
	now := time.Now()
	first := stateChangeEvent("pb-1", acctProd, "i-0000000000000a001", "stopped", now)
	var back time.Duration
	for i, body := range []string{first, stateChangeEvent("pb-2", acctProd, "i-0000000000000a002", "stopped", now)} {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		_, err := deliverWithin(t, w, ctx, body, fmt.Sprintf("m-pb-%d", i+1), 1)
		cancel()
		var later *awsevents.LaterError
		if !errors.As(err, &later) {
			t.Fatalf("change %d behind the storm = %v, want put back", i+1, err)
		}
		if i == 0 {
			back = later.After
		}
	}
	time.Sleep(back)
	if out, err := deliverWithin(t, w, context.Background(), first, "m-pb-1", 2); err != nil || out != "posted" {
		t.Fatalf("the first change back for its slot = %q, %v, want posted", out, err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	out, err := deliverWithin(t, w, ctx, stateChangeEvent("pb-3", acctProd, "i-0000000000000a003", "stopped", now), "m-pb-3", 1)
	if out == "grouped" || len(postsSaying(w, "changed state")) > 0 {
		t.Errorf("the third of three changes = %q, %v, with a summary posted; want a card of its own (3 changes are within the burst size)", out, err)
	}
}

// Found by a review: a burst of state changes behind more than a burst
// window's worth of posts in its channel. Its events past the burst size,
// put back until the summary's slot, came back after their window had
// closed and opened new ones: ten changes became up to six cards and a
// summary of seven, and the first summary's slot stood empty. Events put
// back count in the window they counted in first.
func TestNotifyBurstBehindALongLineStaysOneBurst(t *testing.T) {
	const pace, changes = 100 * time.Millisecond, 10
	rec := &paceWins{won: map[string]string{}}
	w := newEventsWorld(t, worldOptions{
		wrapStore: func(s store.Store) store.Store { rec.Store = s; return rec },
		tune: func(o *app.Options) {
			o.NotifyPace, o.SummaryEvery, o.BurstWindow = pace, 2*pace, time.Second
		},
	}, func(o *awsevents.Options) {
		o.HandleTimeout, o.Visibility, o.RetryAfter = 2*time.Second, 3*time.Second, 50*time.Millisecond
	})
	busyChannel(t, w.store, pace, 40) // 4 s of posts ahead: past the 1 s window
	now := time.Now()
	id := func(i int) string { return fmt.Sprintf("i-%017x", 0xf0000+i) }
	for i := range changes {
		w.send(stateChangeEvent(fmt.Sprintf("bl-%02d", i), acctProd, id(i), "stopped", now))
	}
	deadline := time.Now().Add(60 * time.Second)
	for w.counts.get("state-change/posted")+w.counts.get("state-change/grouped")+w.counts.get("state-change/given_up") < changes && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	time.Sleep(time.Second) // a last summary edit
	cards := w.posts("chat.postMessage", "is now")
	var summaries []string
	for _, c := range append(w.posts("chat.postMessage", "changed state"), w.posts("chat.update", "changed state")...) {
		summaries = append(summaries, c.Form.Get("text"))
	}
	if len(cards) != 3 || len(summaries) == 0 || !strings.Contains(summaries[len(summaries)-1], fmt.Sprintf("%d instances", changes)) {
		t.Errorf("%d changes behind a long line: %d cards, summary posts and edits %q (counts %v); want 3 cards and one summary of all %d",
			changes, len(cards), summaries, w.counts, changes)
	}
	if slots := rec.slots("bl-") + rec.slots("burst:"); slots != 4 {
		t.Errorf("%d posting slots taken for 3 cards and a summary, want 4", slots)
	}
}

// Found by a review: EventBridge may deliver an event twice, as two
// messages. The second message of a change put back for its slot, a first
// receive, arrived after the change's window had closed, opened a new one
// and was posted as a card of its own, besides being in the first window's
// summary.
func TestNotifyDuplicateOfAPutBackChangeStaysInItsWindow(t *testing.T) {
	const pace = 100 * time.Millisecond
	w := notifyWorld(t, worldOptions{}, func(o *app.Options) {
		o.NotifyPace, o.SummaryEvery, o.BurstWindow = pace, 2*pace, 500*time.Millisecond
	})
	busyChannel(t, w.store, pace, 30) // 3 s of posts ahead
	now := time.Now()
	body := func(i int) string {
		return stateChangeEvent(fmt.Sprintf("dup-%d", i), acctProd, fmt.Sprintf("i-%017x", 0xd0000+i), "stopped", now)
	}
	for i := 1; i <= 5; i++ {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		_, err := deliverWithin(t, w, ctx, body(i), fmt.Sprintf("m-%d", i), 1)
		cancel()
		if _, later := errors.AsType[*awsevents.LaterError](err); !later {
			t.Fatalf("change %d behind the line = %v, want it put back", i, err)
		}
	}
	time.Sleep(600 * time.Millisecond) // the window closes
	if _, err := deliverWithin(t, w, context.Background(), body(5), "m-5-again", 1); err != nil {
		if _, later := errors.AsType[*awsevents.LaterError](err); !later {
			t.Fatalf("the second message of change 5 = %v", err)
		}
	}
	var wg sync.WaitGroup
	for i := 1; i <= 5; i++ {
		wg.Go(func() {
			for receives := 2; receives <= 5; receives++ {
				_, err := deliverWithin(t, w, context.Background(), body(i), fmt.Sprintf("m-%d", i), receives)
				later, ok := errors.AsType[*awsevents.LaterError](err)
				if !ok {
					return
				}
				time.Sleep(later.After)
			}
		})
	}
	wg.Wait()
	time.Sleep(time.Second) // a last summary edit
	if cards := postsSaying(w, "is now"); len(cards) != 3 {
		t.Errorf("5 changes, one delivered twice: %d cards %q, want 3 and the rest in the summary", len(cards), cards)
	}
}

// Found by a review: a replica whose clock ran ahead (an NTP failure, a
// VM's clock jump) paced posts by it and pushed the channel's posting
// counter that far: every replica's alarms in the channel then waited out
// its skew, though the channel was idle. Slots are told by the store's
// clock.
func TestNotifyReplicaWithAClockAheadDelaysNoOne(t *testing.T) {
	w := notifyWorld(t, worldOptions{redis: true}, nil) // replicas share Redis
	o := w.dispatcherOptions
	o.Replica = "clock-ahead"
	o.Now = func() time.Time { return time.Now().Add(10 * time.Minute) }
	ahead := mustDispatcher(t, o)
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = ahead.Close(ctx)
	})
	t0 := time.Now().Add(-time.Minute).Truncate(time.Second)
	ev, err := awsevents.Decode([]byte(alarmEvent("ahead-1", "web-1-cpu-high", "ALARM", "OK", "", "93 > 80", t0)))
	if err != nil {
		t.Fatal(err)
	}
	if out, err := ahead.Notify(context.Background(), awsevents.Message{Queue: "central", MessageID: "m-ahead-1", Receives: 1, Event: ev}); err != nil || out != "posted" {
		t.Fatalf("an alarm on the replica whose clock is ahead = %q, %v; want posted", out, err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	began := time.Now()
	out, err := deliverWithin(t, w, ctx, alarmEvent("ahead-2", "db-1-cpu-high", "ALARM", "OK", "", "97 > 80", t0), "m-ahead-2", 1)
	if took := time.Since(began); err != nil || out != "posted" || took > 3*time.Second {
		t.Errorf("the next alarm, on a replica with the right time, in an idle channel = %q, %v after %v; want posted within seconds", out, err, took.Round(time.Millisecond))
	}
}

// deliverTo hands body to replica d within timeout.
func deliverTo(t *testing.T, d *app.Dispatcher, timeout time.Duration, body, msgID string, receives int) (string, error) {
	t.Helper()
	ev, err := awsevents.Decode([]byte(body))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	return d.Notify(ctx, awsevents.Message{Queue: "central", MessageID: msgID, Receives: receives, Event: ev})
}

// slowReservation makes one event's slot reservation slow to save, as a
// store hiccup under its bound does.
type slowReservation struct{ store.Store }

func (s slowReservation) SaveNotice(ctx context.Context, n store.Notice, ttl time.Duration) error {
	if n.Key == store.PaceReservationKey(channel, "slow-1") {
		time.Sleep(900 * time.Millisecond)
	}
	return s.Store.SaveNotice(ctx, n, ttl)
}

// Found by a review: the wait for a slot was measured from the clock's
// reading, before the reservation's store calls, so a slow one made its
// post late by as much, after the next event's post.
func TestNotifyPostsInTheirSlotsOrderDespiteASlowStore(t *testing.T) {
	const pace = 100 * time.Millisecond
	w := notifyWorld(t, worldOptions{wrapStore: func(s store.Store) store.Store { return slowReservation{s} }},
		func(o *app.Options) { o.NotifyPace = pace })
	busyChannel(t, w.store, pace, 20) // 2 s of posts ahead
	t0 := time.Now().Add(-time.Minute)
	var wg sync.WaitGroup
	wg.Go(func() {
		deliverTo(t, w.dispatcher, 30*time.Second, alarmEvent("slow-1", "web-1-cpu-high", "ALARM", "OK", "", "93 > 80", t0), "m1", 1)
	})
	time.Sleep(200 * time.Millisecond)
	wg.Go(func() {
		deliverTo(t, w.dispatcher, 30*time.Second, alarmEvent("fast-2", "db-1-cpu-high", "ALARM", "OK", "", "97 > 80", t0), "m2", 1)
	})
	wg.Wait()
	var first, second time.Time
	for _, c := range w.slack.Calls("chat.postMessage") {
		switch text := c.Form.Get("text"); {
		case strings.Contains(text, "web-1-cpu-high"):
			first = c.Time
		case strings.Contains(text, "db-1-cpu-high"):
			second = c.Time
		}
	}
	if first.IsZero() || second.IsZero() || !first.Before(second) {
		t.Errorf("the alarm given the earlier slot posted %v after the next one, want before it", first.Sub(second).Round(time.Millisecond))
	}
}

// Found by a review: a firing put back for its slot on a replica whose
// clock was behind was pending until a time by that clock, which to the
// other replicas had passed: the OK that followed found nothing pending to
// resolve, and the episode was never shown (fired, recovered, fired
// again: one post).
func TestNotifyPendingAlarmOfAReplicaBehindIsResolved(t *testing.T) {
	const pace = 100 * time.Millisecond
	w := notifyWorld(t, worldOptions{redis: true}, func(o *app.Options) { o.NotifyPace, o.SummaryEvery = pace, 2*pace })
	busyChannel(t, w.store, pace, 30) // 3 s of posts ahead
	o := w.dispatcherOptions
	o.Replica, o.Now = "behind", func() time.Time { return time.Now().Add(-2 * time.Minute) }
	behind := mustDispatcher(t, o)
	t.Cleanup(func() { _ = behind.Close(context.Background()) })
	t0 := time.Now().Add(-5 * time.Minute).Truncate(time.Second)
	fired := alarmEvent("pb-1", "db-9-cpu-high", "ALARM", "OK", "", "97 > 80", t0)
	recovered := alarmEvent("pb-2", "db-9-cpu-high", "OK", "ALARM", "", "12 < 80", t0.Add(time.Minute))
	firedAgain := alarmEvent("pb-3", "db-9-cpu-high", "ALARM", "OK", "", "99 > 80", t0.Add(3*time.Minute))
	putBack := func(d *app.Dispatcher, body, id string) time.Duration {
		t.Helper()
		_, err := deliverTo(t, d, time.Second, body, id, 1)
		later, ok := errors.AsType[*awsevents.LaterError](err)
		if !ok {
			t.Fatalf("%s = %v, want it put back for its slot", id, err)
		}
		return later.After
	}
	firstBack := putBack(behind, fired, "m1")
	if _, err := deliverTo(t, w.dispatcher, 30*time.Second, recovered, "m-ok", 1); err != nil {
		t.Fatal(err)
	}
	secondBack := putBack(w.dispatcher, firedAgain, "m2")
	time.Sleep(firstBack)
	deliverTo(t, w.dispatcher, 30*time.Second, fired, "m1", 2)
	time.Sleep(max(secondBack-firstBack, 0))
	deliverTo(t, w.dispatcher, 30*time.Second, firedAgain, "m2", 2)
	if posts := postsSaying(w, "db-9-cpu-high"); len(posts) != 2 || !strings.Contains(posts[0], "resolved after 1 min") {
		t.Errorf("fired, recovered, fired again, the first on a replica 2 min behind: posts %q, want the first episode resolved and the second firing", posts)
	}
}
