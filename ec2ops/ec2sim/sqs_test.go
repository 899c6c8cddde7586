package ec2sim_test

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/aws/aws-sdk-go-v2/service/sqs/types"
	"github.com/aws/smithy-go"

	"github.com/charlize-app/charlize/ec2ops/ec2sim"
)

// The SQS tests drive the simulator with aws-sdk-go-v2's own SQS client,
// which speaks AWS JSON 1.0.

func receive(t *testing.T, c *sqs.Client, url string, wait int32) []types.Message {
	t.Helper()
	out, err := c.ReceiveMessage(t.Context(), &sqs.ReceiveMessageInput{
		QueueUrl: aws.String(url), MaxNumberOfMessages: 10, WaitTimeSeconds: wait,
		MessageSystemAttributeNames: []types.MessageSystemAttributeName{types.MessageSystemAttributeNameApproximateReceiveCount},
	})
	if err != nil {
		t.Fatalf("ReceiveMessage(%s) = %v", url, err)
	}
	return out.Messages
}

func TestSQSReceiveDeleteAndVisibility(t *testing.T) {
	e := mustStart(t, ec2sim.Options{}, testFixture())
	url := e.sim.CreateQueue(ec2sim.QueueSpec{Account: ec2sim.DefaultAccountID, Region: region, Name: "events", VisibilityTimeout: time.Minute})
	c := sqs.NewFromConfig(e.baseConfig(region))
	if _, err := e.sim.SendMessage(url, `{"id":"1"}`); err != nil {
		t.Fatal(err)
	}

	got := receive(t, c, url, 0)
	if len(got) != 1 || aws.ToString(got[0].Body) != `{"id":"1"}` || got[0].Attributes["ApproximateReceiveCount"] != "1" {
		t.Fatalf("ReceiveMessage = %+v, want the message, received once", got)
	}
	if again := receive(t, c, url, 0); len(again) != 0 {
		t.Errorf("ReceiveMessage within the visibility timeout = %d messages, want none", len(again))
	}
	e.clock.Advance(time.Minute)
	got = receive(t, c, url, 0)
	if len(got) != 1 || got[0].Attributes["ApproximateReceiveCount"] != "2" {
		t.Fatalf("ReceiveMessage after the visibility timeout = %+v, want it again, count 2", got)
	}
	// A shorter visibility makes it come back sooner.
	if _, err := c.ChangeMessageVisibility(t.Context(), &sqs.ChangeMessageVisibilityInput{
		QueueUrl: aws.String(url), ReceiptHandle: got[0].ReceiptHandle, VisibilityTimeout: 5,
	}); err != nil {
		t.Fatalf("ChangeMessageVisibility = %v", err)
	}
	e.clock.Advance(5 * time.Second)
	got = receive(t, c, url, 0)
	if len(got) != 1 {
		t.Fatalf("ReceiveMessage after ChangeMessageVisibility(5s) and 5s = %d messages, want 1", len(got))
	}
	if _, err := c.DeleteMessage(t.Context(), &sqs.DeleteMessageInput{QueueUrl: aws.String(url), ReceiptHandle: got[0].ReceiptHandle}); err != nil {
		t.Fatalf("DeleteMessage = %v", err)
	}
	e.clock.Advance(time.Hour)
	if left := receive(t, c, url, 0); len(left) != 0 {
		t.Errorf("ReceiveMessage after DeleteMessage = %d messages, want none", len(left))
	}
	if msgs := e.sim.Messages(url); len(msgs) != 1 || !msgs[0].Deleted || msgs[0].Receives != 3 {
		t.Errorf("Messages = %+v, want one, deleted after 3 receives", msgs)
	}
}

// A long poll returns as soon as a message arrives.
func TestSQSLongPollWakesOnSend(t *testing.T) {
	e := mustStart(t, ec2sim.Options{Now: time.Now}, testFixture())
	url := e.sim.CreateQueue(ec2sim.QueueSpec{Account: ec2sim.DefaultAccountID, Region: region, Name: "events"})
	c := sqs.NewFromConfig(e.baseConfig(region))
	done := make(chan []types.Message)
	go func() {
		out, err := c.ReceiveMessage(t.Context(), &sqs.ReceiveMessageInput{QueueUrl: aws.String(url), WaitTimeSeconds: 20})
		if err != nil {
			t.Error(err)
		}
		done <- out.Messages
	}()
	for e.sim.Calls("ReceiveMessage") == 0 {
		time.Sleep(time.Millisecond)
	}
	if _, err := e.sim.SendMessage(url, "hello"); err != nil {
		t.Fatal(err)
	}
	if got := <-done; len(got) != 1 || aws.ToString(got[0].Body) != "hello" {
		t.Errorf("long poll = %+v, want the message sent while it waited", got)
	}
}

// A message received more often than maxReceiveCount moves to the
// dead-letter queue.
func TestSQSRedrive(t *testing.T) {
	e := mustStart(t, ec2sim.Options{}, testFixture())
	dlq := e.sim.CreateQueue(ec2sim.QueueSpec{Account: ec2sim.DefaultAccountID, Region: region, Name: "events-dlq"})
	url := e.sim.CreateQueue(ec2sim.QueueSpec{Account: ec2sim.DefaultAccountID, Region: region, Name: "events",
		VisibilityTimeout: time.Second, MaxReceiveCount: 2, DeadLetter: "events-dlq"})
	c := sqs.NewFromConfig(e.baseConfig(region))
	if _, err := e.sim.SendMessage(url, "poison"); err != nil {
		t.Fatal(err)
	}
	for i := range 2 {
		if got := receive(t, c, url, 0); len(got) != 1 {
			t.Fatalf("receive #%d = %d messages, want 1", i+1, len(got))
		}
		e.clock.Advance(time.Second)
	}
	if got := receive(t, c, url, 0); len(got) != 0 {
		t.Errorf("third receive = %d messages, want none (redriven)", len(got))
	}
	if got := e.sim.Messages(dlq); len(got) != 1 || got[0].Body != "poison" {
		t.Errorf("dead-letter queue = %+v, want the message", got)
	}
}

func TestSQSAccessAndErrors(t *testing.T) {
	e := mustStart(t, ec2sim.Options{}, testFixture())
	own := e.sim.CreateQueue(ec2sim.QueueSpec{Account: acctA, Region: region, Name: "a-events"})
	shared := e.sim.CreateQueue(ec2sim.QueueSpec{Account: acctA, Region: region, Name: "central", AllowAccounts: []string{acctB}})
	asB := sqs.NewFromConfig(e.assumedConfig(region, roleARN(acctB), nil))

	_, err := asB.ReceiveMessage(t.Context(), &sqs.ReceiveMessageInput{QueueUrl: aws.String(own)})
	var apiErr smithy.APIError
	if !errors.As(err, &apiErr) || apiErr.ErrorCode() != "AccessDenied" {
		t.Errorf("ReceiveMessage on another account's queue = %v, want AccessDenied", err)
	}
	if _, err := asB.ReceiveMessage(t.Context(), &sqs.ReceiveMessageInput{QueueUrl: aws.String(shared)}); err != nil {
		t.Errorf("ReceiveMessage on a queue whose policy allows the account = %v", err)
	}
	_, err = asB.ReceiveMessage(t.Context(), &sqs.ReceiveMessageInput{QueueUrl: aws.String(ec2sim.QueueURL(acctB, region, "nope"))})
	var missing *types.QueueDoesNotExist
	if !errors.As(err, &missing) {
		t.Errorf("ReceiveMessage on a missing queue = %v, want *types.QueueDoesNotExist", err)
	}
	_, err = asB.DeleteMessage(t.Context(), &sqs.DeleteMessageInput{QueueUrl: aws.String(shared), ReceiptHandle: aws.String("garbage")})
	var badHandle *types.ReceiptHandleIsInvalid
	if !errors.As(err, &badHandle) {
		t.Errorf("DeleteMessage with a garbage handle = %v, want *types.ReceiptHandleIsInvalid", err)
	}
	remove := e.sim.AddFault(ec2sim.Fault{Action: "ReceiveMessage", Code: "ServiceUnavailable"})
	defer remove()
	c := sqs.NewFromConfig(e.baseConfig(region), func(o *sqs.Options) { o.Retryer = aws.NopRetryer{} })
	if _, err := c.ReceiveMessage(t.Context(), &sqs.ReceiveMessageInput{QueueUrl: aws.String(shared)}); !errors.As(err, &apiErr) || apiErr.ErrorCode() != "ServiceUnavailable" {
		t.Errorf("ReceiveMessage under an injected fault = %v, want ServiceUnavailable", err)
	}
}

// Deny reaches SQS as it reaches EC2: the poller's permissions can be
// taken away, and SQS says which.
func TestSQSDenied(t *testing.T) {
	e := mustStart(t, ec2sim.Options{}, testFixture())
	url := e.sim.CreateQueue(ec2sim.QueueSpec{Account: ec2sim.DefaultAccountID, Region: region, Name: "events"})
	c := sqs.NewFromConfig(e.baseConfig(region))
	lift := e.sim.Deny(ec2sim.DefaultAccountID, "ReceiveMessage")
	_, err := c.ReceiveMessage(t.Context(), &sqs.ReceiveMessageInput{QueueUrl: aws.String(url)})
	var api smithy.APIError
	if !errors.As(err, &api) || api.ErrorCode() != "AccessDenied" || !strings.Contains(api.ErrorMessage(), "sqs:ReceiveMessage") {
		t.Fatalf("ReceiveMessage while denied = %v, want AccessDenied naming sqs:ReceiveMessage", err)
	}
	lift()
	if got := receive(t, c, url, 0); len(got) != 0 {
		t.Errorf("ReceiveMessage after lifting = %d messages, want none (and no error)", len(got))
	}
}
