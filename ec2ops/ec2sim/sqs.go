package ec2sim

import (
	"context"
	"crypto/md5"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"
)

// The SQS side of the simulator: queues that tests (or the demo) fill with
// SendMessage, read by Charlize's real SQS client over the AWS JSON 1.0
// protocol (POST /, X-Amz-Target: AmazonSQS.<Operation>), which is what
// aws-sdk-go-v2's SQS client sends. ReceiveMessage (with long polling,
// visibility timeouts, ApproximateReceiveCount and a redrive policy),
// DeleteMessage and ChangeMessageVisibility are served; the queue is named
// by the QueueUrl in the body, as with the real service.

// QueueSpec describes a simulated queue.
type QueueSpec struct {
	Account, Region, Name string
	// VisibilityTimeout is the queue's default (30s when zero).
	VisibilityTimeout time.Duration
	// MaxReceiveCount and DeadLetter are the redrive policy: a message
	// received more often than MaxReceiveCount moves to the queue named
	// DeadLetter (in the same account and region) instead.
	MaxReceiveCount int
	DeadLetter      string
	// AllowAccounts may also read the queue (a queue policy granting
	// another account); the owner always may.
	AllowAccounts []string
}

// QueuedMessage is a message in a simulated queue, as Messages reports it.
type QueuedMessage struct {
	ID       string
	Body     string
	Receives int
	Deleted  bool
}

type queue struct {
	spec     QueueSpec
	url      string
	messages []*queuedMessage // in send order; deleted ones stay, marked
}

type queuedMessage struct {
	QueuedMessage
	sent      time.Time
	visibleAt time.Time
	handle    string // of the latest receive
}

// QueueURL is the URL of the queue account/region/name, shaped as AWS's.
func QueueURL(account, region, name string) string {
	return "https://sqs." + region + ".amazonaws.com/" + account + "/" + name
}

// CreateQueue adds a queue (replacing one of the same URL) and returns its
// URL.
func (s *Sim) CreateQueue(spec QueueSpec) string {
	if spec.VisibilityTimeout == 0 {
		spec.VisibilityTimeout = 30 * time.Second
	}
	u := QueueURL(spec.Account, spec.Region, spec.Name)
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.queues == nil {
		s.queues = map[string]*queue{}
	}
	s.queues[u] = &queue{spec: spec, url: u}
	return u
}

// SendMessage enqueues body on the queue at url and returns the message id.
func (s *Sim) SendMessage(queueURL, body string) (string, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	q, ok := s.queues[queueURL]
	if !ok {
		return "", fmt.Errorf("ec2sim.SendMessage: no queue %s", queueURL)
	}
	s.seq++
	m := &queuedMessage{QueuedMessage: QueuedMessage{ID: fmt.Sprintf("%08x-0000-4000-8000-%012x", s.seq, s.seq), Body: body}, sent: s.now()}
	q.messages = append(q.messages, m)
	s.wakeLocked()
	return m.ID, nil
}

// Messages returns the messages of the queue at url, deleted ones included
// (marked), in send order.
func (s *Sim) Messages(queueURL string) []QueuedMessage {
	s.mu.Lock()
	defer s.mu.Unlock()
	q, ok := s.queues[queueURL]
	if !ok {
		return nil
	}
	out := make([]QueuedMessage, len(q.messages))
	for i, m := range q.messages {
		out[i] = m.QueuedMessage
	}
	return out
}

// wakeLocked wakes every long poll waiting for a message.
func (s *Sim) wakeLocked() {
	if s.arrived != nil {
		close(s.arrived)
	}
	s.arrived = make(chan struct{})
}

// arrivals is closed when a message arrives or becomes visible again.
func (s *Sim) arrivals() <-chan struct{} {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.arrived == nil {
		s.arrived = make(chan struct{})
	}
	return s.arrived
}

// sqsRequest is the JSON body of the operations served; each uses some.
type sqsRequest struct {
	QueueURL            string `json:"QueueUrl"`
	MaxNumberOfMessages int    `json:"MaxNumberOfMessages"`
	VisibilityTimeout   *int   `json:"VisibilityTimeout"`
	WaitTimeSeconds     int    `json:"WaitTimeSeconds"`
	ReceiptHandle       string `json:"ReceiptHandle"`
}

type sqsMessage struct {
	MessageID     string            `json:"MessageId"`
	ReceiptHandle string            `json:"ReceiptHandle"`
	MD5OfBody     string            `json:"MD5OfBody"`
	Body          string            `json:"Body"`
	Attributes    map[string]string `json:"Attributes,omitempty"`
}

// longPollTick is how often a long poll looks again for messages whose
// visibility timeout ran out on the simulator's clock.
const longPollTick = 20 * time.Millisecond

// serveSQS answers one SQS operation; call is the recorded request.
func (s *Sim) serveSQS(ctx context.Context, req *request, call Call) (any, *apiError) {
	var in sqsRequest
	if err := json.Unmarshal(req.json, &in); err != nil {
		return nil, errorf(http.StatusBadRequest, "InvalidParameterValue", "The request body is not valid JSON.")
	}
	// Admitted before any queue is touched, as the other services are; the
	// lock is not held on, since a receive may long-poll.
	s.mu.Lock()
	err := s.admitLocked(req, call)
	s.mu.Unlock()
	if err != nil {
		return nil, err
	}
	switch req.action {
	case "ReceiveMessage":
		return s.receiveMessage(ctx, in, call)
	case "DeleteMessage":
		return s.withMessage(in, call, func(q *queue, m *queuedMessage) {
			m.Deleted = true
		})
	case "ChangeMessageVisibility":
		if in.VisibilityTimeout == nil || *in.VisibilityTimeout < 0 || *in.VisibilityTimeout > 43200 {
			return nil, errorf(http.StatusBadRequest, "InvalidParameterValue", "VisibilityTimeout must be 0 to 43200 seconds.")
		}
		return s.withMessage(in, call, func(q *queue, m *queuedMessage) {
			m.visibleAt = s.now().Add(time.Duration(*in.VisibilityTimeout) * time.Second)
			s.wakeLocked()
		})
	}
	return nil, errorf(http.StatusBadRequest, "InvalidAction", "The action %s is not simulated.", req.action)
}

// queueLocked finds the queue and checks that the caller may use it.
func (s *Sim) queueLocked(queueURL string, call Call) (*queue, *apiError) {
	q, ok := s.queues[queueURL]
	if !ok {
		return nil, &apiError{Status: http.StatusBadRequest, Code: "QueueDoesNotExist", Message: "The specified queue does not exist."}
	}
	if call.Account != q.spec.Account && !slices.Contains(q.spec.AllowAccounts, call.Account) {
		return nil, &apiError{Status: http.StatusForbidden, Code: "AccessDenied",
			Message: fmt.Sprintf("User: arn:aws:sts::%s:assumed-role is not authorized to perform: sqs:%s on resource: %s", call.Account, call.Action, q.url)}
	}
	return q, nil
}

func (s *Sim) receiveMessage(ctx context.Context, in sqsRequest, call Call) (any, *apiError) {
	limit := in.MaxNumberOfMessages
	switch {
	case limit == 0:
		limit = 1
	case limit < 1 || limit > 10:
		return nil, errorf(http.StatusBadRequest, "InvalidParameterValue", "MaxNumberOfMessages must be 1 to 10.")
	}
	if in.WaitTimeSeconds < 0 || in.WaitTimeSeconds > 20 {
		return nil, errorf(http.StatusBadRequest, "InvalidParameterValue", "WaitTimeSeconds must be 0 to 20.")
	}
	deadline := time.Now().Add(time.Duration(in.WaitTimeSeconds) * time.Second)
	for {
		arrived := s.arrivals()
		got, err := s.takeVisible(in, call, limit)
		if err != nil || len(got) > 0 || !time.Now().Before(deadline) {
			return map[string]any{"Messages": got}, err
		}
		t := time.NewTimer(min(longPollTick, time.Until(deadline)))
		select {
		case <-ctx.Done():
			t.Stop()
			return nil, errorf(http.StatusBadRequest, "RequestCanceled", "The client went away.")
		case <-arrived:
		case <-t.C:
		}
		t.Stop()
	}
}

// takeVisible receives up to limit visible messages, applying the redrive
// policy to those received too often.
func (s *Sim) takeVisible(in sqsRequest, call Call, limit int) ([]sqsMessage, *apiError) {
	s.mu.Lock()
	defer s.mu.Unlock()
	q, err := s.queueLocked(in.QueueURL, call)
	if err != nil {
		return nil, err
	}
	now := s.now()
	visibility := q.spec.VisibilityTimeout
	if in.VisibilityTimeout != nil {
		visibility = time.Duration(*in.VisibilityTimeout) * time.Second
	}
	got := []sqsMessage{}
	for _, m := range q.messages {
		if len(got) == limit {
			break
		}
		if m.Deleted || now.Before(m.visibleAt) {
			continue
		}
		if q.spec.MaxReceiveCount > 0 && m.Receives >= q.spec.MaxReceiveCount {
			// Redrive: the message leaves for the dead-letter queue.
			m.Deleted = true
			if dlq, ok := s.queues[QueueURL(q.spec.Account, q.spec.Region, q.spec.DeadLetter)]; ok {
				moved := &queuedMessage{QueuedMessage: QueuedMessage{ID: m.ID, Body: m.Body, Receives: m.Receives}, sent: m.sent}
				dlq.messages = append(dlq.messages, moved)
			}
			continue
		}
		m.Receives++
		m.visibleAt = now.Add(visibility)
		m.handle = newReceiptHandle()
		sum := md5.Sum([]byte(m.Body))
		got = append(got, sqsMessage{
			MessageID: m.ID, ReceiptHandle: m.handle, MD5OfBody: hex.EncodeToString(sum[:]), Body: m.Body,
			Attributes: map[string]string{
				"ApproximateReceiveCount": strconv.Itoa(m.Receives),
				"SentTimestamp":           strconv.FormatInt(m.sent.UnixMilli(), 10),
			},
		})
	}
	return got, nil
}

// withMessage applies fn to the message whose latest receipt handle
// in.ReceiptHandle is. A handle from an earlier receive changes nothing,
// as SQS documents for deletes with a stale handle.
func (s *Sim) withMessage(in sqsRequest, call Call, fn func(*queue, *queuedMessage)) (any, *apiError) {
	s.mu.Lock()
	defer s.mu.Unlock()
	q, err := s.queueLocked(in.QueueURL, call)
	if err != nil {
		return nil, err
	}
	if !strings.HasPrefix(in.ReceiptHandle, receiptHandlePrefix) {
		return nil, &apiError{Status: http.StatusNotFound, Code: "ReceiptHandleIsInvalid",
			Message: "The input receipt handle is invalid."}
	}
	for _, m := range q.messages {
		if m.handle == in.ReceiptHandle && !m.Deleted {
			fn(q, m)
		}
	}
	return map[string]any{}, nil
}

const receiptHandlePrefix = "AQEB"

func newReceiptHandle() string {
	var b [24]byte
	_, _ = rand.Read(b[:])
	return receiptHandlePrefix + base64.RawURLEncoding.EncodeToString(b[:])
}

// readSQSRequest reads an AWS JSON 1.0 request: the operation from
// X-Amz-Target, the body as JSON.
func readSQSRequest(hr *http.Request, req *request) *apiError {
	target := hr.Header.Get("X-Amz-Target")
	op, ok := strings.CutPrefix(target, "AmazonSQS.")
	if !ok {
		return errorf(http.StatusBadRequest, "UnknownOperationException", "Unknown target %q.", target)
	}
	req.action = op
	body, err := io.ReadAll(io.LimitReader(hr.Body, 1<<20))
	if err != nil {
		return errorf(http.StatusBadRequest, "InvalidParameterValue", "%v", err)
	}
	req.json = body
	return nil
}

// writeSQS answers in AWS JSON 1.0.
func writeSQS(w http.ResponseWriter, requestID string, status int, body any) {
	w.Header().Set("Content-Type", "application/x-amz-json-1.0")
	w.Header().Set("X-Amzn-RequestId", requestID)
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(body)
}

// writeSQSError answers an error as SQS does: the code in __type, and the
// query-protocol code the SDK prefers in x-amzn-query-error.
func writeSQSError(w http.ResponseWriter, requestID string, e *apiError) {
	queryCode := map[string]string{
		"QueueDoesNotExist":      "AWS.SimpleQueueService.NonExistentQueue",
		"ReceiptHandleIsInvalid": "ReceiptHandleIsInvalid",
	}[e.Code]
	if queryCode != "" {
		fault := "Sender"
		if e.Status >= 500 {
			fault = "Receiver"
		}
		w.Header().Set("X-Amzn-Query-Error", queryCode+";"+fault)
	}
	writeSQS(w, requestID, e.Status, map[string]string{"__type": e.Code, "message": e.Message})
}
