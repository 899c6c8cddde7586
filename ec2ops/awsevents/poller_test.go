package awsevents_test

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/sqs"

	"github.com/charlize-app/charlize/ec2ops/awsevents"
	"github.com/charlize-app/charlize/ec2ops/ec2sim"
)

// The poller tests run the real SQS client against the simulator.

type pollEnv struct {
	sim  *ec2sim.Sim
	url  string // the queue's
	dlq  string
	sqs  *sqs.Client
	logs *syncBuffer
}

func newPollEnv(t *testing.T) *pollEnv {
	t.Helper()
	sim := ec2sim.New(ec2sim.Options{})
	srv := httptest.NewServer(sim)
	t.Cleanup(srv.Close)
	dlq := sim.CreateQueue(ec2sim.QueueSpec{Account: ec2sim.DefaultAccountID, Region: "eu-west-1", Name: "charlize-events-dlq"})
	url := sim.CreateQueue(ec2sim.QueueSpec{Account: ec2sim.DefaultAccountID, Region: "eu-west-1", Name: "charlize-events",
		MaxReceiveCount: 3, DeadLetter: "charlize-events-dlq"})
	client := sqs.NewFromConfig(aws.Config{
		Region: "eu-west-1", Credentials: credentials.NewStaticCredentialsProvider("AKIDTEST", "secret", ""),
		BaseEndpoint: aws.String(srv.URL), Retryer: func() aws.Retryer { return aws.NopRetryer{} },
	})
	return &pollEnv{sim: sim, url: url, dlq: dlq, sqs: client, logs: &syncBuffer{}}
}

// start runs a poller of the env's queue until the test ends.
func (e *pollEnv) start(t *testing.T, h awsevents.Handler, o awsevents.Options) (*awsevents.Poller, context.CancelFunc, <-chan struct{}) {
	t.Helper()
	o.Log = slog.New(slog.NewJSONHandler(e.logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	o.WaitTime = cmpOr(o.WaitTime, time.Second)
	o.MinBackoff, o.MaxBackoff = 10*time.Millisecond, 50*time.Millisecond
	p := awsevents.NewPoller([]awsevents.Queue{{Name: "central", URL: e.url, Client: e.sqs}}, h, o)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); p.Run(ctx) }()
	t.Cleanup(func() { cancel(); <-done })
	return p, cancel, done
}

func cmpOr(d, def time.Duration) time.Duration {
	if d == 0 {
		return def
	}
	return d
}

func (e *pollEnv) send(t *testing.T, body string) string {
	t.Helper()
	id, err := e.sim.SendMessage(e.url, body)
	if err != nil {
		t.Fatal(err)
	}
	return id
}

// waitFor polls cond (the simulator's or the handler's state) until it
// holds; the poller works in the background.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func (e *pollEnv) message(id string) ec2sim.QueuedMessage {
	for _, m := range e.sim.Messages(e.url) {
		if m.ID == id {
			return m
		}
	}
	return ec2sim.QueuedMessage{}
}

type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// recorder is a Handler that remembers what it was given.
type recorder struct {
	mu   sync.Mutex
	got  []awsevents.Message
	fail func(awsevents.Message) error
}

func (r *recorder) handle(_ context.Context, m awsevents.Message) (string, error) {
	r.mu.Lock()
	r.got = append(r.got, m)
	fail := r.fail
	r.mu.Unlock()
	if fail != nil {
		if err := fail(m); err != nil {
			return "", err
		}
	}
	return "posted", nil
}

func (r *recorder) count() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.got)
}

func TestPollerHandsEventsOverAndDeletesThem(t *testing.T) {
	e := newPollEnv(t)
	rec := &recorder{}
	e.start(t, rec.handle, awsevents.Options{})
	raw := e.send(t, string(mustRead(t, "state-change.json")))
	sns := e.send(t, string(mustRead(t, "sns-state-change.json")))
	waitFor(t, "both messages deleted", func() bool { return e.message(raw).Deleted && e.message(sns).Deleted })
	if rec.count() != 2 {
		t.Fatalf("handler saw %d messages, want 2", rec.count())
	}
	for _, m := range rec.got {
		if m.Event.ID != "7bf73129-1428-4cd3-a780-95db273d1602" || m.Event.StateChange == nil || m.Queue != "central" || m.Receives != 1 {
			t.Errorf("handed over %+v, want the state change of i-…a001 from central, first receive", m)
		}
	}
}

func TestPollerDeletesMalformedMessages(t *testing.T) {
	e := newPollEnv(t)
	rec := &recorder{}
	e.start(t, rec.handle, awsevents.Options{})
	bad := e.send(t, `{"Type":"Notification","Message":"surprise"}`)
	waitFor(t, "the malformed message deleted", func() bool { return e.message(bad).Deleted })
	if rec.count() != 0 {
		t.Errorf("handler saw %d messages, want none", rec.count())
	}
	if !strings.Contains(e.logs.String(), `"msg":"malformed event deleted"`) || !strings.Contains(e.logs.String(), bad) {
		t.Errorf("logs = %s, want a line naming the malformed message", e.logs)
	}
}

// A failing message is retried, then left to the redrive policy once it
// has been received MaxReceives times.
func TestPollerLeavesFailingMessagesToRedrive(t *testing.T) {
	e := newPollEnv(t)
	rec := &recorder{fail: func(awsevents.Message) error { return errors.New("slack is down") }}
	// One second is SQS's smallest step, so redeliveries come quickly.
	e.start(t, rec.handle, awsevents.Options{MaxReceives: 2, Visibility: time.Second, RetryAfter: time.Second})
	id := e.send(t, string(mustRead(t, "alarm.json")))
	waitFor(t, "the message received twice", func() bool { return e.message(id).Receives == 2 })
	waitFor(t, "the give-up log line", func() bool {
		return strings.Contains(e.logs.String(), "left to the queue's redrive policy")
	})
	waitFor(t, "the message in the dead-letter queue", func() bool { return len(e.sim.Messages(e.dlq)) == 1 })
	if m := e.message(id); m.Receives != 3 && m.Receives != 2 {
		t.Errorf("message received %d times, want 2 (then redriven)", m.Receives)
	}
	if !strings.Contains(e.logs.String(), `"event_id":"c4c1c1c9-6542-e61b-6ef0-8c4d36933a92"`) {
		t.Errorf("logs do not name the event id: %s", e.logs)
	}
}

// A handler that panics fails its message, which is retried; the replica
// (the poller, and what else runs in the process) carries on.
func TestPollerSurvivesAPanickingHandler(t *testing.T) {
	e := newPollEnv(t)
	rec := &recorder{fail: func(m awsevents.Message) error {
		if m.Receives == 1 {
			panic("a bug in the handler")
		}
		return nil
	}}
	e.start(t, rec.handle, awsevents.Options{Visibility: time.Second, RetryAfter: time.Second})
	id := e.send(t, string(mustRead(t, "alarm.json")))
	waitFor(t, "the message handled on its second receive and deleted", func() bool { return e.message(id).Deleted })
	if rec.count() != 2 {
		t.Errorf("handler saw the message %d times, want 2 (the panic, then the retry)", rec.count())
	}
	if !strings.Contains(e.logs.String(), `"msg":"event handler panicked"`) {
		t.Errorf("logs = %s, want the panic logged", e.logs)
	}
}

// A queue that cannot be reached is reported, retried with backoff, and
// recovers without a restart.
func TestPollerReportsAnUnreachableQueue(t *testing.T) {
	e := newPollEnv(t)
	remove := e.sim.AddFault(ec2sim.Fault{Action: "ReceiveMessage", Code: "AccessDenied"})
	rec := &recorder{}
	p, _, _ := e.start(t, rec.handle, awsevents.Options{})
	waitFor(t, "the queue reported failing", func() bool {
		st := p.Status()
		return len(st) == 1 && !st[0].OK && st[0].Error == "AccessDenied" && st[0].Failures >= 2
	})
	remove()
	id := e.send(t, string(mustRead(t, "state-change.json")))
	waitFor(t, "the message handled after recovery", func() bool { return e.message(id).Deleted })
	if st := p.Status(); !st[0].OK || st[0].Error != "" {
		t.Errorf("Status after recovery = %+v, want OK", st)
	}
}

// Run returns promptly when its context ends, mid long poll.
func TestPollerStopsOnShutdown(t *testing.T) {
	e := newPollEnv(t)
	rec := &recorder{}
	_, cancel, done := e.start(t, rec.handle, awsevents.Options{WaitTime: 20 * time.Second})
	waitFor(t, "a long poll under way", func() bool { return e.sim.Calls("ReceiveMessage") > 0 })
	cancel()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("Run did not return within 5s of its context ending")
	}
}
