package awsevents

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"runtime/debug"
	"strconv"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/aws/aws-sdk-go-v2/service/sqs/types"
	"github.com/aws/smithy-go"
)

// QueueAPI is what the poller calls on SQS; *sqs.Client implements it.
type QueueAPI interface {
	ReceiveMessage(ctx context.Context, in *sqs.ReceiveMessageInput, opts ...func(*sqs.Options)) (*sqs.ReceiveMessageOutput, error)
	DeleteMessage(ctx context.Context, in *sqs.DeleteMessageInput, opts ...func(*sqs.Options)) (*sqs.DeleteMessageOutput, error)
	ChangeMessageVisibility(ctx context.Context, in *sqs.ChangeMessageVisibilityInput, opts ...func(*sqs.Options)) (*sqs.ChangeMessageVisibilityOutput, error)
}

// Queue is one SQS queue to poll.
type Queue struct {
	// Name says which queue it is in logs, metrics and /readyz: the
	// account's name, or "central" for CHARLIZE_EVENTS_QUEUE_URL.
	Name   string
	URL    string
	Client QueueAPI
}

// Message is one event received from a queue.
type Message struct {
	Queue     string // Queue.Name
	MessageID string // SQS's id of this delivery's message
	// Receives is SQS's ApproximateReceiveCount: 1 the first time.
	Receives int
	Event    Event
}

// Handler turns a message into what Charlize posts. It returns the outcome
// to count ("posted", "duplicate", "ignored", …) and nil when the message
// is done with, and is then deleted; a *LaterError to look at it again
// soon; any other error for a failure, retried with backoff until the
// message has been received MaxReceives times.
type Handler func(ctx context.Context, m Message) (outcome string, err error)

// LaterError asks for the message again after After, without it being a
// failure (another replica holds what it needs).
type LaterError struct{ After time.Duration }

func (e *LaterError) Error() string { return "retry in " + e.After.String() }

// Metrics observes the poller; handlers.Metrics implements it.
type Metrics interface {
	// ObserveQueue records whether a receive from queue worked; code is
	// the error's code when it did not.
	ObserveQueue(queue string, up bool, code string)
	// ObserveEvent counts one message by kind and outcome.
	ObserveEvent(kind, outcome string)
}

// Options tune a Poller. Zero values take the defaults noted.
type Options struct {
	Log     *slog.Logger // default: discard
	Metrics Metrics      // may be nil
	Now     func() time.Time
	// WaitTime is each ReceiveMessage's long poll (20s, SQS's maximum).
	WaitTime time.Duration
	// Visibility hides a received message from other receivers while it is
	// handled (60s); HandleTimeout bounds one handling (30s) within it.
	Visibility, HandleTimeout time.Duration
	// MaxReceives is how many receives a failing message gets before it is
	// left to the queue's redrive policy (5, the template's maxReceiveCount).
	MaxReceives int
	// InFlight bounds the messages of one queue handled at once (128):
	// a burst waits for its summary without holding up the queue.
	InFlight int
	// RetryAfter is how long a failed message stays hidden after its
	// first failure (5s), doubling with each receive up to 5 minutes.
	RetryAfter time.Duration
	// MinBackoff and MaxBackoff bound the wait after a failed receive (1s,
	// 1m), doubling in between.
	MinBackoff, MaxBackoff time.Duration
	// DrainTimeout is how long Run waits at shutdown for handlers still
	// running before it cancels them (5s); what they leave undeleted is
	// delivered again.
	DrainTimeout time.Duration
}

// QueueStatus is a queue's health, for /readyz's detail.
type QueueStatus struct {
	Queue string `json:"queue"`
	OK    bool   `json:"ok"`
	// Error is the last receive's error code while it fails ("AccessDenied",
	// "unreachable"); Since is when the queue last changed between working
	// and failing; Failures counts receives failed in a row.
	Error    string    `json:"error,omitempty"`
	Since    time.Time `json:"since,omitzero"`
	Failures int       `json:"failures,omitempty"`
}

// Poller long-polls queues and hands each message to a Handler.
type Poller struct {
	opts   Options
	queues []Queue
	handle Handler
	mu     sync.Mutex
	status map[string]*QueueStatus
}

// NewPoller returns a poller of queues; Run starts it.
func NewPoller(queues []Queue, handle Handler, o Options) *Poller {
	o.Log = cmp.Or(o.Log, slog.New(slog.DiscardHandler))
	if o.Now == nil {
		o.Now = time.Now
	}
	o.WaitTime = cmp.Or(o.WaitTime, 20*time.Second)
	o.Visibility = cmp.Or(o.Visibility, 60*time.Second)
	o.HandleTimeout = cmp.Or(o.HandleTimeout, 30*time.Second)
	o.MaxReceives = cmp.Or(o.MaxReceives, 5)
	o.InFlight = cmp.Or(o.InFlight, 128)
	o.RetryAfter = cmp.Or(o.RetryAfter, 5*time.Second)
	o.MinBackoff = cmp.Or(o.MinBackoff, time.Second)
	o.MaxBackoff = cmp.Or(o.MaxBackoff, time.Minute)
	o.DrainTimeout = cmp.Or(o.DrainTimeout, 5*time.Second)
	p := &Poller{opts: o, queues: queues, handle: handle, status: map[string]*QueueStatus{}}
	for _, q := range queues {
		p.status[q.Name] = &QueueStatus{Queue: q.Name, OK: true}
	}
	return p
}

// Status reports every queue's health, in the order given to NewPoller. A
// queue counts as working until a receive fails.
func (p *Poller) Status() []QueueStatus {
	p.mu.Lock()
	defer p.mu.Unlock()
	out := make([]QueueStatus, 0, len(p.queues))
	for _, q := range p.queues {
		out = append(out, *p.status[q.Name])
	}
	return out
}

// Run polls every queue until ctx ends, then waits (DrainTimeout at most)
// for the messages being handled.
func (p *Poller) Run(ctx context.Context) {
	var wg sync.WaitGroup
	for _, q := range p.queues {
		wg.Go(func() { p.poll(ctx, q) })
	}
	wg.Wait()
}

// poll is one queue's receive loop.
func (p *Poller) poll(ctx context.Context, q Queue) {
	// Handlers outlive a shutdown's first moments, so that what they have
	// posted is also deleted; DrainTimeout later they are cut short.
	hctx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	defer cancel()
	slots := make(chan struct{}, p.opts.InFlight)
	var handling sync.WaitGroup
	defer func() {
		done := make(chan struct{})
		go func() { handling.Wait(); close(done) }()
		t := time.NewTimer(p.opts.DrainTimeout)
		defer t.Stop()
		select {
		case <-done:
		case <-t.C:
			cancel()
			<-done
		}
	}()
	failures := 0
	for ctx.Err() == nil {
		free := p.opts.InFlight - len(slots)
		if free == 0 {
			// Every slot is busy: wait for one before asking for more.
			select {
			case slots <- struct{}{}:
				<-slots
			case <-ctx.Done():
				return
			}
			continue
		}
		out, err := q.Client.ReceiveMessage(ctx, &sqs.ReceiveMessageInput{
			QueueUrl:                    aws.String(q.URL),
			MaxNumberOfMessages:         int32(min(free, 10)),
			WaitTimeSeconds:             int32(p.opts.WaitTime / time.Second),
			VisibilityTimeout:           int32(p.opts.Visibility / time.Second),
			MessageSystemAttributeNames: []types.MessageSystemAttributeName{types.MessageSystemAttributeNameApproximateReceiveCount},
		})
		if ctx.Err() != nil {
			return
		}
		if err != nil {
			failures++
			p.failed(ctx, q, err, failures)
			if !sleep(ctx, backoff(p.opts.MinBackoff, p.opts.MaxBackoff, failures)) {
				return
			}
			continue
		}
		if failures > 0 {
			p.recovered(ctx, q, failures)
			failures = 0
		}
		p.observeQueue(q.Name, true, "")
		for _, m := range out.Messages {
			slots <- struct{}{}
			handling.Go(func() {
				defer func() { <-slots }()
				p.one(hctx, q, m)
			})
		}
	}
}

// one handles a message and settles it with SQS: deleted when done with,
// shown again sooner or later, or left to the redrive policy. It is
// counted once settled.
func (p *Poller) one(ctx context.Context, q Queue, m types.Message) {
	log := p.opts.Log.With("queue", q.Name, "message_id", aws.ToString(m.MessageId))
	receives, _ := strconv.Atoi(m.Attributes[string(types.MessageSystemAttributeNameApproximateReceiveCount)])
	ev, err := Decode([]byte(aws.ToString(m.Body)))
	if err != nil {
		// Never readable: retrying would only fill the dead-letter queue.
		log.WarnContext(ctx, "malformed event deleted", "err", err, "body_bytes", len(aws.ToString(m.Body)))
		p.delete(ctx, q, m, log)
		p.observeEvent("", "malformed")
		return
	}
	log = log.With("event_id", ev.ID, "detail_type", ev.DetailType, "account_id", ev.AccountID, "region", ev.Region)
	hctx, cancel := context.WithTimeout(ctx, p.opts.HandleTimeout)
	outcome, err := p.safeHandle(hctx, Message{Queue: q.Name, MessageID: aws.ToString(m.MessageId), Receives: receives, Event: ev})
	cancel()
	var later *LaterError
	switch {
	case err == nil:
		p.delete(ctx, q, m, log)
		p.observeEvent(ev.Kind, outcome)
	case errors.As(err, &later) && receives < p.opts.MaxReceives:
		log.DebugContext(ctx, "event put back for later", "after", later.After, "receives", receives)
		p.showIn(ctx, q, m, later.After, log)
		p.observeEvent(ev.Kind, "later")
	case receives >= p.opts.MaxReceives:
		log.ErrorContext(ctx, "event keeps failing; left to the queue's redrive policy", "receives", receives, "err", err)
		p.observeEvent(ev.Kind, "given_up")
	default:
		log.WarnContext(ctx, "event failed; it will be retried", "receives", receives, "err", err)
		p.showIn(ctx, q, m, backoff(p.opts.RetryAfter, 5*time.Minute, receives), log)
		p.observeEvent(ev.Kind, "failed")
	}
}

// safeHandle runs the handler, turning a panic into a failure of this
// message: it is retried and, if it keeps failing, left to the redrive
// policy, instead of taking the replica (and, one after another, every
// replica that receives it) down.
func (p *Poller) safeHandle(ctx context.Context, m Message) (outcome string, err error) {
	defer func() {
		if v := recover(); v != nil {
			p.opts.Log.ErrorContext(ctx, "event handler panicked", "queue", m.Queue, "message_id", m.MessageID, "event_id", m.Event.ID,
				"panic", fmt.Sprint(v), "stack", string(debug.Stack()))
			outcome, err = "", fmt.Errorf("event %s: handler panicked", m.Event.ID)
		}
	}()
	return p.handle(ctx, m)
}

// settleTimeout bounds a delete or visibility change, also at shutdown.
const settleTimeout = 5 * time.Second

func (p *Poller) delete(ctx context.Context, q Queue, m types.Message, log *slog.Logger) {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), settleTimeout)
	defer cancel()
	if _, err := q.Client.DeleteMessage(ctx, &sqs.DeleteMessageInput{QueueUrl: aws.String(q.URL), ReceiptHandle: m.ReceiptHandle}); err != nil {
		// It comes back after its visibility timeout, and the handler
		// finds it done.
		log.WarnContext(ctx, "could not delete a handled event", "err", errorCode(err))
	}
}

func (p *Poller) showIn(ctx context.Context, q Queue, m types.Message, after time.Duration, log *slog.Logger) {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), settleTimeout)
	defer cancel()
	secs := int32(min(max(after, time.Second), 12*time.Hour) / time.Second)
	if _, err := q.Client.ChangeMessageVisibility(ctx, &sqs.ChangeMessageVisibilityInput{
		QueueUrl: aws.String(q.URL), ReceiptHandle: m.ReceiptHandle, VisibilityTimeout: secs,
	}); err != nil {
		log.WarnContext(ctx, "could not change an event's visibility", "err", errorCode(err))
	}
}

func (p *Poller) failed(ctx context.Context, q Queue, err error, failures int) {
	code := errorCode(err)
	p.mu.Lock()
	st := p.status[q.Name]
	if st.OK {
		st.Since = p.opts.Now()
	}
	st.OK, st.Error, st.Failures = false, code, failures
	p.mu.Unlock()
	p.observeQueue(q.Name, false, code)
	p.opts.Log.WarnContext(ctx, "event queue unreachable; retrying with backoff", "queue", q.Name, "error", code, "failures", failures, "err", err)
}

func (p *Poller) recovered(ctx context.Context, q Queue, failures int) {
	p.mu.Lock()
	st := p.status[q.Name]
	st.OK, st.Error, st.Failures, st.Since = true, "", 0, p.opts.Now()
	p.mu.Unlock()
	p.opts.Log.InfoContext(ctx, "event queue reachable again", "queue", q.Name, "after_failures", failures)
}

func (p *Poller) observeQueue(queue string, up bool, code string) {
	if p.opts.Metrics != nil {
		p.opts.Metrics.ObserveQueue(queue, up, code)
	}
}

func (p *Poller) observeEvent(kind Kind, outcome string) {
	if p.opts.Metrics != nil {
		p.opts.Metrics.ObserveEvent(string(cmp.Or(kind, "unknown")), cmp.Or(outcome, "handled"))
	}
}

// errorCode names an SQS error for operators without its text: the AWS
// error code, or "unreachable" when no answer came.
func errorCode(err error) string {
	var apiErr smithy.APIError
	if errors.As(err, &apiErr) {
		return apiErr.ErrorCode()
	}
	return "unreachable"
}

// backoff doubles from least for each failure, up to most, with jitter so
// that replicas do not retry in step.
func backoff(least, most time.Duration, failures int) time.Duration {
	d := least
	for i := 1; i < failures && d < most; i++ {
		d *= 2
	}
	d = min(d, most)
	return d/2 + rand.N(d/2+1)
}

func sleep(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}
