package handlers_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/slack-go/slack"

	"github.com/charlize-app/charlize/blocks"
	"github.com/charlize-app/charlize/ec2ops"
	"github.com/charlize-app/charlize/ec2ops/action"
	"github.com/charlize-app/charlize/ec2ops/awsevents"
	"github.com/charlize-app/charlize/ec2ops/ec2sim"
	"github.com/charlize-app/charlize/handlers"
	"github.com/charlize-app/charlize/handlers/app"
	"github.com/charlize-app/charlize/handlers/slacktest"
	"github.com/charlize-app/charlize/store"
)

// The notify tests put EventBridge events into the simulator's SQS queue;
// Charlize's poller reads them through the real SDK, and what it posts
// reaches the fake Slack. Notifications go to the test channel, where
// the buttons of the world's clicks come from.

// eventsWorld is a world whose AWS events are polled from a queue.
type eventsWorld struct {
	*world
	queue  string
	counts *eventCounts
	poller *awsevents.Poller
	logs   *logBuffer
	// server also serves /readyz with the queue's health.
	server *httptest.Server
}

func newEventsWorld(t *testing.T, o worldOptions, tunePoller ...func(*awsevents.Options)) *eventsWorld {
	t.Helper()
	logs := &logBuffer{}
	o.logs = logs
	tune := o.tune
	o.tune = func(opts *app.Options) {
		opts.EventsChannel = channel
		if tune != nil {
			tune(opts)
		}
	}
	w := newWorld(t, o)
	w.sim.CreateQueue(ec2sim.QueueSpec{Account: ec2sim.DefaultAccountID, Region: "eu-west-1", Name: "charlize-events-dlq"})
	queue := w.sim.CreateQueue(ec2sim.QueueSpec{Account: ec2sim.DefaultAccountID, Region: "eu-west-1", Name: "charlize-events",
		MaxReceiveCount: 5, DeadLetter: "charlize-events-dlq"})
	cfg, err := w.fleet.QueueConfig("", queue)
	if err != nil {
		t.Fatal(err)
	}
	reg := prometheus.NewRegistry()
	metrics := handlers.NewMetrics(reg)
	counts := &eventCounts{metrics: metrics, n: map[string]int{}}
	po := awsevents.Options{WaitTime: time.Second, Metrics: counts, Log: w.dispatcherOptions.Log, MinBackoff: 20 * time.Millisecond, MaxBackoff: 100 * time.Millisecond}
	for _, tune := range tunePoller {
		tune(&po)
	}
	p := awsevents.NewPoller([]awsevents.Queue{{Name: "central", URL: queue, Client: sqs.NewFromConfig(cfg)}}, w.dispatcher.Notify, po)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); p.Run(ctx) }()
	t.Cleanup(func() { cancel(); <-done })
	srv := httptest.NewServer(handlers.NewServer(handlers.Config{SigningSecret: secret, Events: p}, w.dispatcherOptions.Log, w.store, w.dispatcher, reg, metrics))
	t.Cleanup(srv.Close)
	return &eventsWorld{world: w, queue: queue, counts: counts, poller: p, logs: logs, server: srv}
}

// send puts an event into the queue.
func (w *eventsWorld) send(body string) string {
	w.t.Helper()
	id, err := w.sim.SendMessage(w.queue, body)
	if err != nil {
		w.t.Fatal(err)
	}
	return id
}

// eventCounts counts the poller's outcomes (and passes them on to the
// metrics), so tests wait for an event to be handled, not for time.
type eventCounts struct {
	metrics *handlers.Metrics
	mu      sync.Mutex
	n       map[string]int // "kind/outcome", and "queue/up", "queue/down"
}

func (c *eventCounts) ObserveQueue(queue string, up bool, code string) {
	c.metrics.ObserveQueue(queue, up, code)
	c.mu.Lock()
	defer c.mu.Unlock()
	if up {
		c.n["queue/up"]++
	} else {
		c.n["queue/down"]++
	}
}

func (c *eventCounts) ObserveEvent(kind, outcome string) {
	c.metrics.ObserveEvent(kind, outcome)
	c.mu.Lock()
	defer c.mu.Unlock()
	c.n[kind+"/"+outcome]++
}

func (c *eventCounts) get(key string) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.n[key]
}

func (c *eventCounts) String() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return fmt.Sprint(c.n)
}

// waitCount waits until the outcome key has been counted n times.
func (w *eventsWorld) waitCount(key string, n int, timeout time.Duration) {
	w.t.Helper()
	deadline := time.Now().Add(timeout)
	for w.counts.get(key) < n {
		if time.Now().After(deadline) {
			w.t.Fatalf("%s counted %d times within %s, want %d; counts %s", key, w.counts.get(key), timeout, n, w.counts)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// posts are the chat.postMessage calls whose text contains want.
func (w *eventsWorld) posts(method, want string) []slacktest.Call {
	var out []slacktest.Call
	for _, c := range w.slack.Calls(method) {
		if strings.Contains(c.Form.Get("text"), want) {
			out = append(out, c)
		}
	}
	return out
}

func (w *eventsWorld) deleted(id string) bool {
	for _, m := range w.sim.Messages(w.queue) {
		if m.ID == id {
			return m.Deleted
		}
	}
	return false
}

// callMessage is a chat call's content as a message, for button lookups.
func callMessage(c slacktest.Call) slack.WebhookMessage {
	return slack.WebhookMessage{Text: c.Form.Get("text"), Blocks: &slack.Blocks{BlockSet: c.Blocks}}
}

// Event bodies as EventBridge delivers them.

func stateChangeEvent(id, account, instance, state string, at time.Time) string {
	return fmt.Sprintf(`{"version":"0","id":%q,"detail-type":"EC2 Instance State-change Notification","source":"aws.ec2","account":%q,`+
		`"time":%q,"region":"eu-west-1","resources":["arn:aws:ec2:eu-west-1:%s:instance/%s"],"detail":{"instance-id":%q,"state":%q}}`,
		id, account, at.UTC().Format(time.RFC3339), account, instance, instance, state)
}

func alarmEvent(id, name, state, previous, instance, reason string, at time.Time) string {
	ts := at.UTC().Format("2006-01-02T15:04:05.000+0000")
	detail := map[string]any{
		"alarmName": name,
		"configuration": map[string]any{
			"description": "CPU above 80% for 5 minutes",
			"metrics": []any{map[string]any{"id": "m1", "metricStat": map[string]any{
				"metric": map[string]any{"dimensions": map[string]string{"InstanceId": instance}, "name": "CPUUtilization", "namespace": "AWS/EC2"},
				"period": 300, "stat": "Average"}}},
		},
		"previousState": map[string]any{"value": previous, "reason": "before", "timestamp": ts},
		"state": map[string]any{"value": state, "reason": reason, "timestamp": ts,
			"reasonData": `{"version":"1.0","statistic":"Average","period":300,"recentDatapoints":[93.2],"threshold":80.0}`},
	}
	ev := map[string]any{"version": "0", "id": id, "detail-type": "CloudWatch Alarm State Change", "source": "aws.cloudwatch",
		"account": acctProd, "time": at.UTC().Format(time.RFC3339), "region": "eu-west-1",
		"resources": []string{"arn:aws:cloudwatch:eu-west-1:" + acctProd + ":alarm:" + name}, "detail": detail}
	raw, _ := json.Marshal(ev)
	return string(raw)
}

func healthEvent(id, instance string, start time.Time) string {
	rfc1123 := func(t time.Time) string { return t.UTC().Format(time.RFC1123) }
	return fmt.Sprintf(`{"version":"0","id":%q,"detail-type":"AWS Health Event","source":"aws.health","account":%q,"time":%q,`+
		`"region":"eu-west-1","resources":[%q],"detail":{"eventArn":"arn:aws:health:eu-west-1::event/EC2/AWS_EC2_INSTANCE_RETIREMENT_SCHEDULED/EXAMPLE-%s",`+
		`"service":"EC2","eventTypeCode":"AWS_EC2_INSTANCE_RETIREMENT_SCHEDULED","eventTypeCategory":"scheduledChange","statusCode":"upcoming",`+
		`"startTime":%q,"endTime":%q,"eventDescription":[{"language":"en_US","latestDescription":"Your instance will be retired after the scheduled time."}],`+
		`"affectedEntities":[{"entityValue":%q}]}}`,
		id, acctProd, time.Now().UTC().Format(time.RFC3339), instance, id, rfc1123(start), rfc1123(start.Add(2*time.Hour)), instance)
}

// A state change nobody here caused posts one card in the channel, whose
// buttons are the act flow's.
func TestNotifyStateChangePostsACard(t *testing.T) {
	w := newEventsWorld(t, worldOptions{})
	msg := w.send(stateChangeEvent("ev-1", acctProd, "i-0000000000000b001", "stopped", time.Now()))
	w.waitCount("state-change/posted", 1, 10*time.Second)
	posts := w.posts("chat.postMessage", "is now")
	if len(posts) != 1 {
		t.Fatalf("%d state-change posts, want 1", len(posts))
	}
	post := posts[0]
	if got, want := post.Form.Get("text"), "old-1 (acme-prod, eu-west-1) is now stopped"; got != want || post.Form.Get("channel") != channel {
		t.Errorf("post = %q in %s, want %q in %s", got, post.Form.Get("channel"), want, channel)
	}
	checkRendered(t, callMessage(post))
	if !w.deleted(msg) {
		t.Errorf("the SQS message was not deleted after the post")
	}
	start := mustButton(t, callMessage(post), "act:start", "")
	if r := w.clickFrom(alice, start, "start1", clickFrom{messageTS: post.TS}); r.status != http.StatusOK {
		t.Fatalf("Start click = %d", r.status)
	}
	w.waitForText("chat.update", "started", 15*time.Second)
	if n := w.sim.Calls("StartInstances"); n != 1 {
		t.Errorf("StartInstances calls = %d, want 1", n)
	}
}

// The same event delivered twice (EventBridge and SQS both deliver at
// least once) posts once.
func TestNotifySameEventTwicePostsOnce(t *testing.T) {
	w := newEventsWorld(t, worldOptions{})
	body := stateChangeEvent("ev-dup", acctProd, "i-0000000000000b001", "stopped", time.Now())
	first := w.send(body)
	w.waitCount("state-change/posted", 1, 10*time.Second)
	second := w.send(body)
	w.waitCount("state-change/duplicate", 1, 10*time.Second)
	if n := len(w.posts("chat.postMessage", "is now")); n != 1 {
		t.Errorf("%d posts for one event delivered twice, want 1", n)
	}
	if !w.deleted(first) || !w.deleted(second) {
		t.Errorf("both deliveries should be deleted")
	}
}

// In an account with a managed tag, an event whose instance AWS cannot
// describe for the moment is not dropped as "not ours": it comes back and
// is posted once AWS answers.
func TestNotifyManagedInstanceDescribedLater(t *testing.T) {
	w := newEventsWorld(t, worldOptions{managedTag: &ec2ops.Tag{Key: "Name", Value: "old-1"}})
	w.sim.AddFault(ec2sim.Fault{Action: "DescribeInstances", Code: "UnauthorizedOperation", Times: 1})
	w.send(stateChangeEvent("ev-managed", acctProd, "i-0000000000000b001", "stopped", time.Now()))
	w.waitCount("state-change/posted", 1, 20*time.Second)
	if n := w.counts.get("state-change/ignored"); n != 0 {
		t.Errorf("the event was ignored %d times while AWS could not describe its instance", n)
	}
	// An instance outside the tag is still not posted.
	w.send(stateChangeEvent("ev-unmanaged", acctProd, "i-0000000000000a001", "stopped", time.Now()))
	w.waitCount("state-change/ignored", 1, 10*time.Second)
	if n := len(w.posts("chat.postMessage", "is now")); n != 1 {
		t.Errorf("%d state changes posted, want 1 (old-1's)", n)
	}
}

// The state changes of an action Charlize ran are reported by the
// action's own message only; a change nobody here caused is still posted.
func TestNotifyOwnActionPostsNoSecondMessage(t *testing.T) {
	w := newEventsWorld(t, worldOptions{})
	card := w.instanceCard("web-1", "card1")
	if r := w.click(alice, mustButton(t, card, "act:stop", ""), "stop1"); r != http.StatusOK {
		t.Fatalf("Stop click = %d", r)
	}
	w.waitForText("chat.update", "stopped", 15*time.Second)
	now := time.Now()
	w.send(stateChangeEvent("ev-own-1", acctProd, "i-0000000000000a001", "stopping", now))
	w.send(stateChangeEvent("ev-own-2", acctProd, "i-0000000000000a001", "stopped", now))
	w.send(stateChangeEvent("ev-other", acctProd, "i-0000000000000a002", "stopped", now))
	w.waitCount("state-change/own_change", 2, 10*time.Second)
	w.waitCount("state-change/posted", 1, 10*time.Second)
	posts := w.posts("chat.postMessage", "is now")
	if len(posts) != 1 || !strings.Contains(posts[0].Form.Get("text"), "web-2") {
		var texts []string
		for _, p := range posts {
			texts = append(texts, p.Form.Get("text"))
		}
		t.Errorf("state-change posts = %q, want web-2's only", texts)
	}
}

// A burst of 200 changes in one account (a scale-in, an AZ event) becomes
// a few cards and one summary, posted at Slack's pace and within Block
// Kit's limits, listing every instance.
func TestNotifyBurstIsGrouped(t *testing.T) {
	w := newEventsWorld(t, worldOptions{})
	now := time.Now()
	began := time.Now()
	const n = 200
	for i := range n {
		w.send(stateChangeEvent(fmt.Sprintf("burst-%d", i), acctProd, fmt.Sprintf("i-%017x", 0xf0000+i), "terminated", now))
	}
	// Generous bounds: the machine may be busy; the test asserts counts.
	w.waitCount("state-change/posted", 3, 60*time.Second)
	w.waitCount("state-change/grouped", n-3, 120*time.Second)

	cards := w.posts("chat.postMessage", "is now")
	summaries := w.posts("chat.postMessage", "changed state")
	if len(cards) != 3 || len(summaries) != 1 {
		t.Fatalf("%d cards and %d summaries posted, want 3 and 1", len(cards), len(summaries))
	}
	last := callMessage(summaries[0])
	if edits := w.posts("chat.update", "changed state"); len(edits) > 0 {
		last = callMessage(edits[len(edits)-1])
	}
	if !strings.Contains(last.Text, fmt.Sprintf("%d instances in acme-prod changed state", n)) {
		t.Errorf("final summary = %q, want all %d instances", last.Text, n)
	}
	// Every post and edit passes Block Kit's limits (the fake refuses
	// what Slack would, too).
	for _, c := range append(w.slack.Calls("chat.postMessage"), w.slack.Calls("chat.update")...) {
		if c.Error != "" {
			t.Errorf("%s answered %s", c.Method, c.Error)
		}
		checkRendered(t, callMessage(c))
	}
	// At Slack's pace: one post per second per channel. Slots are whole
	// seconds, so the first and last may each sit at an edge of theirs
	// (two slots' worth), and the fake Slack sees each post a little after
	// its slot was won, later on a busy machine (half a second allowed).
	posts := w.slack.Calls("chat.postMessage")
	span := posts[len(posts)-1].Time.Sub(posts[0].Time)
	t.Logf("%d state changes → %d cards, %d summary, %d summary edits; all handled in %s, posts spread over %s",
		n, len(cards), len(summaries), len(w.posts("chat.update", "changed state")), time.Since(began).Round(10*time.Millisecond), span.Round(10*time.Millisecond))
	const deliveryJitter = 500 * time.Millisecond
	if max := int((span+deliveryJitter)/time.Second) + 2; len(posts) > max {
		t.Errorf("%d posts within %s, want at most %d (one per second)", len(posts), span, max)
	}
}

// An alarm that fires, fires again and recovers is one message, edited
// twice, ending resolved without buttons.
func TestNotifyAlarmResolvedInPlace(t *testing.T) {
	w := newEventsWorld(t, worldOptions{})
	t0 := time.Now().Add(-15 * time.Minute).Truncate(time.Second)
	w.send(alarmEvent("al-1", "web-1-cpu-high", "ALARM", "OK", "i-0000000000000a001", "Threshold Crossed: 93.2 > 80", t0))
	w.waitCount("alarm/posted", 1, 10*time.Second)
	w.send(alarmEvent("al-2", "web-1-cpu-high", "ALARM", "ALARM", "i-0000000000000a001", "Threshold Crossed: 97.0 > 80", t0.Add(time.Minute)))
	w.waitCount("alarm/edited", 1, 10*time.Second)
	w.send(alarmEvent("al-3", "web-1-cpu-high", "OK", "ALARM", "i-0000000000000a001", "Threshold Crossed: 12.0 < 80", t0.Add(12*time.Minute)))
	w.waitCount("alarm/edited", 2, 10*time.Second)

	posts, edits := w.posts("chat.postMessage", "web-1-cpu-high"), w.posts("chat.update", "web-1-cpu-high")
	if len(posts) != 1 || len(edits) != 2 {
		t.Fatalf("%d posts and %d edits, want 1 and 2", len(posts), len(edits))
	}
	fired := callMessage(posts[0])
	var texts []string
	for _, b := range buttons(fired.Blocks.BlockSet) {
		texts = append(texts, b.text)
	}
	if strings.Join(texts, ",") != "Status,Reboot,Acknowledge" {
		t.Errorf("firing alarm buttons = %v, want Status, Reboot, Acknowledge", texts)
	}
	if !strings.Contains(callText(edits[0]), "97.0") {
		t.Errorf("second ALARM did not update the reason: %s", callText(edits[0]))
	}
	final := edits[1]
	if final.Form.Get("ts") != posts[0].TS || !strings.Contains(final.Form.Get("text"), "resolved after 12 min") {
		t.Errorf("final edit = %q on %s, want \"resolved after 12 min\" on %s", final.Form.Get("text"), final.Form.Get("ts"), posts[0].TS)
	}
	if bs := buttons(final.Blocks); len(bs) != 0 {
		t.Errorf("resolved alarm keeps buttons %+v", bs)
	}
	checkRendered(t, fired, callMessage(edits[0]), callMessage(final))
}

// With strict tenancy an account that names no workspace has nowhere its
// events' buttons would work: the event is dropped with a warning at once,
// not retried into the dead-letter queue.
func TestNotifyStrictTenancyWithoutWorkspace(t *testing.T) {
	w := newEventsWorld(t, worldOptions{strictTenancy: true})
	id := w.send(stateChangeEvent("ev-nowhere", acctProd, "i-0000000000000b001", "stopped", time.Now()))
	w.waitCount("state-change/no_workspace", 1, 10*time.Second)
	if n := w.counts.get("state-change/failed"); n != 0 {
		t.Errorf("the event failed %d times, want it set aside at once", n)
	}
	if !w.deleted(id) {
		t.Error("the event is still in the queue")
	}
	if !strings.Contains(w.logs.String(), "names no workspace") {
		t.Error("no warning says the account names no workspace")
	}
}

// noticeLoss is a store that cannot save notices: Slack has the message,
// the store has lost the note of it.
type noticeLoss struct{ store.Store }

func (noticeLoss) SaveNotice(context.Context, store.Notice, time.Duration) error {
	return errors.New("store unavailable")
}

// An alarm posted while its notice cannot be saved is posted once: the
// event is done with, not retried into a second post.
func TestNotifyPostedAlarmIsNotPostedAgainWhenItsNoticeIsLost(t *testing.T) {
	w := newEventsWorld(t, worldOptions{wrapStore: func(s store.Store) store.Store { return noticeLoss{s} }})
	id := w.send(alarmEvent("al-lost", "db-1-disk-full", "ALARM", "OK", "i-0000000000000d001", "Threshold Crossed", time.Now()))
	w.waitCount("alarm/posted", 1, 10*time.Second)
	deadline := time.Now().Add(10 * time.Second)
	for !w.deleted(id) && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	if !w.deleted(id) {
		t.Errorf("the posted alarm's message is still in the queue (counts %v)", w.counts)
	}
	if n := len(w.posts("chat.postMessage", "db-1-disk-full")); n != 1 {
		t.Errorf("%d posts of one alarm, want 1", n)
	}
}

// firingAlarm posts db-1's disk alarm, firing, and returns its message and
// Acknowledge button.
func (w *eventsWorld) firingAlarm(t *testing.T, eventID string) (slacktest.Call, button) {
	t.Helper()
	w.send(alarmEvent(eventID, "db-1-disk-full", "ALARM", "OK", "i-0000000000000d001", "Threshold Crossed", time.Now()))
	w.waitCount("alarm/posted", 1, 10*time.Second)
	post := w.posts("chat.postMessage", "db-1-disk-full")[0]
	return post, mustButton(t, callMessage(post), blocks.ActionIDAcknowledge, "Acknowledge")
}

// Acknowledge edits the message to say who, once, and is audited.
func TestNotifyAcknowledgeIsAudited(t *testing.T) {
	w := newEventsWorld(t, worldOptions{})
	post, ack := w.firingAlarm(t, "al-ack")
	if r := w.clickFrom(bob, ack, "ack1", clickFrom{messageTS: post.TS}); r.status != http.StatusOK {
		t.Fatalf("Acknowledge = %d", r.status)
	}
	edit := w.waitForText("chat.update", "acknowledged by", 10*time.Second)
	if !strings.Contains(callText(edit), bob) || edit.Form.Get("ts") != post.TS {
		t.Errorf("edit %s does not say bob acknowledged the alarm's message", callText(edit))
	}
	if slices.ContainsFunc(buttons(edit.Blocks), func(b button) bool { return b.text == "Acknowledge" }) {
		t.Errorf("an acknowledged alarm still offers Acknowledge")
	}
	// Audited once the message says so.
	acked := w.waitAudit("bob's acknowledgement", entry(bob, string(action.Acknowledge), "", "done"))
	if acked.Alarm != "db-1-disk-full" || acked.InstanceID != "i-0000000000000d001" {
		t.Fatalf("audit = %+v, want bob's acknowledgement of db-1-disk-full", acked)
	}
	// A second person is told it is done, and nothing is audited twice.
	if r := w.clickFrom(alice, ack, "ack2", clickFrom{messageTS: post.TS}); r.status != http.StatusOK {
		t.Fatalf("second Acknowledge = %d", r.status)
	}
	w.waitForURLText("ack2", "already acknowledged by", 10*time.Second)
	again, _ := w.store.RecentAudit(t.Context(), 10)
	if n := countFunc(again, func(e storeAuditEntry) bool { return e.Action == action.Acknowledge }); n != 1 {
		t.Errorf("%d acknowledgements audited, want 1", n)
	}
}

// An Acknowledge that cannot edit the message (another replica holds it
// past the wait) tells the person to try again, is audited as failed, and
// leaves the alarm to be acknowledged by the next press.
func TestNotifyAcknowledgeThatFailsCanBePressedAgain(t *testing.T) {
	w := newEventsWorld(t, worldOptions{})
	post, ack := w.firingAlarm(t, "al-ack-busy")
	lock := store.NoticeLockKey(ack.value)
	if won, _, err := w.store.Claim(t.Context(), lock, "another-replica/edit", time.Minute); err != nil || !won {
		t.Fatalf("hold the alarm's message: won=%v err=%v", won, err)
	}
	w.clickFrom(bob, ack, "ack1", clickFrom{messageTS: post.TS})
	w.waitForURLText("ack1", "try again", 15*time.Second)
	w.waitAudit("bob's acknowledgement, failed", entry(bob, string(action.Acknowledge), "", string(store.ResultFailed)))

	if err := w.store.ReleaseClaim(t.Context(), lock, "another-replica/edit"); err != nil {
		t.Fatal(err)
	}
	w.clickFrom(alice, ack, "ack2", clickFrom{messageTS: post.TS})
	edit := w.waitForText("chat.update", "acknowledged by", 10*time.Second)
	if !strings.Contains(callText(edit), alice) {
		t.Errorf("edit %s does not say alice acknowledged it", callText(edit))
	}
}

// A retirement notice posts the deadline in Slack's date format and a Stop
// & start now button that runs the restart through the act flow.
func TestNotifyRetirementOffersStopAndStart(t *testing.T) {
	w := newEventsWorld(t, worldOptions{})
	start := time.Now().Add(72 * time.Hour).Truncate(time.Second)
	w.send(healthEvent("health-1", "i-0000000000000d001", start))
	w.waitCount("health/posted", 1, 10*time.Second)
	post := w.posts("chat.postMessage", "AWS will retire db-1")
	if len(post) != 1 {
		t.Fatalf("%d retirement posts, want 1", len(post))
	}
	if !strings.Contains(callText(post[0]), fmt.Sprintf("<!date^%d^", start.Unix())) &&
		!strings.Contains(callText(post[0]), fmt.Sprintf(`\u003c!date^%d^`, start.Unix())) {
		t.Errorf("retirement post %s lacks the deadline in Slack's date format", callText(post[0]))
	}
	now := mustButton(t, callMessage(post[0]), "act:restart", "Stop & start now")
	if !now.confirm {
		t.Errorf("Stop & start now has no confirmation")
	}
	if r := w.clickFrom(alice, now, "restart1", clickFrom{messageTS: post[0].TS}); r.status != http.StatusOK {
		t.Fatalf("Stop & start now = %d", r.status)
	}
	w.waitForText("chat.update", "restarted", 20*time.Second)
	if w.sim.Calls("StopInstances") != 1 || w.sim.Calls("StartInstances") != 1 {
		t.Errorf("StopInstances %d, StartInstances %d; want one each", w.sim.Calls("StopInstances"), w.sim.Calls("StartInstances"))
	}
}

// AWS closes a maintenance days after announcing it; if the account's
// events now go to another channel, the announcement is still edited where
// it was posted.
func TestNotifyMaintenanceEditedWhereItWasPosted(t *testing.T) {
	w := newEventsWorld(t, worldOptions{})
	start := time.Now().Add(72 * time.Hour).Truncate(time.Second)
	upcoming := healthEvent("health-2", "i-0000000000000d001", start)
	w.send(upcoming)
	w.waitCount("health/posted", 1, 10*time.Second)
	post := w.posts("chat.postMessage", "AWS will retire db-1")
	if len(post) != 1 {
		t.Fatalf("%d retirement posts, want 1", len(post))
	}

	w.dispatcherOptions.EventsChannel = "C0MOVEDTO"
	d := w.restartDispatcher()
	closed := strings.NewReplacer(`"statusCode":"upcoming"`, `"statusCode":"closed"`, `"id":"health-2"`, `"id":"health-2-closed"`).Replace(upcoming)
	ev, err := awsevents.Decode([]byte(closed))
	if err != nil {
		t.Fatal(err)
	}
	outcome, err := d.Notify(context.Background(), awsevents.Message{Queue: "central", MessageID: "m-closed", Receives: 1, Event: ev})
	if err != nil || outcome != "edited" {
		t.Fatalf("the closing event = %q, %v; want edited", outcome, err)
	}
	edits := w.slack.Calls("chat.update")
	if len(edits) != 1 || edits[0].Form.Get("channel") != channel || edits[0].Form.Get("ts") != post[0].TS || edits[0].Error != "" {
		t.Errorf("chat.update calls %+v, want one in %s of ts %s", edits, channel, post[0].TS)
	}
}

// An event wrapped in an SNS notification works like a raw one.
func TestNotifySNSWrappedEvent(t *testing.T) {
	w := newEventsWorld(t, worldOptions{})
	inner := stateChangeEvent("ev-sns", acctProd, "i-0000000000000b001", "stopped", time.Now())
	wrapped, _ := json.Marshal(map[string]string{"Type": "Notification", "MessageId": "22b80b92", "TopicArn": "arn:aws:sns:eu-west-1:" + acctProd + ":charlize", "Message": inner})
	w.send(string(wrapped))
	w.waitCount("state-change/posted", 1, 10*time.Second)
	if p := w.posts("chat.postMessage", "old-1 (acme-prod, eu-west-1) is now stopped"); len(p) != 1 {
		t.Errorf("%d posts for the SNS-wrapped event, want 1", len(p))
	}
}

// A malformed message is logged and deleted, and the poller goes on.
func TestNotifyMalformedMessageIsDeleted(t *testing.T) {
	w := newEventsWorld(t, worldOptions{})
	bad := w.send(`{"detail-type": "EC2 Instance State-change Notification", "detail": "oops"`)
	w.waitCount("unknown/malformed", 1, 10*time.Second)
	if !w.deleted(bad) {
		t.Errorf("the malformed message was not deleted")
	}
	if logs := w.logs.String(); !strings.Contains(logs, "malformed event deleted") || !strings.Contains(logs, bad) {
		t.Errorf("no log line naming the malformed message %s", bad)
	}
	w.send(stateChangeEvent("ev-after", acctProd, "i-0000000000000b001", "stopped", time.Now()))
	w.waitCount("state-change/posted", 1, 10*time.Second)
}

// A queue Charlize cannot read shows in /readyz's detail and the metrics,
// while the replica stays ready and Slack is served.
func TestNotifyUnreachableQueueIsReported(t *testing.T) {
	w := newEventsWorld(t, worldOptions{})
	remove := w.sim.AddFault(ec2sim.Fault{Action: "ReceiveMessage", Code: "AccessDenied"})
	w.waitCount("queue/down", 2, 10*time.Second)
	resp, err := http.Get(w.server.URL + "/readyz")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var body struct {
		Status string                  `json:"status"`
		Events []awsevents.QueueStatus `json:"events"`
	}
	_ = json.NewDecoder(resp.Body).Decode(&body)
	if resp.StatusCode != http.StatusOK || body.Status != "ready" || len(body.Events) != 1 || body.Events[0].OK || body.Events[0].Error != "AccessDenied" {
		t.Errorf("/readyz = %d %+v, want ready with the queue failing (AccessDenied)", resp.StatusCode, body)
	}
	metrics, err := http.Get(w.server.URL + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer metrics.Body.Close()
	if m := readAll(t, metrics); !strings.Contains(m, `charlize_event_queue_up{queue="central"} 0`) || !strings.Contains(m, `charlize_event_queue_errors_total{code="AccessDenied",queue="central"}`) {
		t.Errorf("metrics do not show the queue down")
	}
	if status, _ := w.command(alice, "help", "help1"); status != http.StatusOK {
		t.Errorf("/charlize help = %d while the queue is down", status)
	}
	remove()
	w.send(stateChangeEvent("ev-back", acctProd, "i-0000000000000b001", "stopped", time.Now()))
	w.waitCount("state-change/posted", 1, 15*time.Second)
	if st := w.poller.Status(); !st[0].OK {
		t.Errorf("queue status after recovery = %+v", st)
	}
}

type storeAuditEntry = store.AuditEntry

func countFunc[T any](s []T, f func(T) bool) int {
	n := 0
	for _, v := range s {
		if f(v) {
			n++
		}
	}
	return n
}

func readAll(t *testing.T, resp *http.Response) string {
	t.Helper()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}
