package ec2ops

import (
	"context"
	"errors"
	"slices"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/ec2/types"
)

// statePolls lets the waits of one account and region share their
// DescribeInstances polls. Every action waits for its instance with the
// SDK's waiter, which polls every 5-15 s: a schedule stopping 200 instances
// would poll 20 times a second, as much as EC2 refills an account's budget
// for describe calls, a budget the account's owners share with their other
// tools (Terraform, autoscaling, consoles), and every throttled poll slows
// every wait. Polls that come while a shared call is due are asked together
// in it, and shared calls start at least spacing apart (a second, by
// default): one DescribeInstances a second at most, however many waits. A
// lone wait's poll goes at once.
//
// It is the waiters' DescribeInstancesAPIClient, so the SDK still decides
// when to poll and what a state means; each waiter reads an answer holding
// only its own instances.
type statePolls struct {
	client  ec2.DescribeInstancesAPIClient
	spacing time.Duration
	timeout time.Duration // of a shared call

	mu      sync.Mutex
	queue   []*statePoll
	running bool      // a goroutine is asking for the queue
	last    time.Time // when the last shared call started (the real clock: it paces AWS calls)
}

// statePoll is one waiter's poll, answered by a shared call.
type statePoll struct {
	ids  []string
	opts []func(*ec2.Options)
	done chan struct{}
	out  *ec2.DescribeInstancesOutput
	err  error
}

// maxSharedPollIDs bounds the instance ids a shared call asks for: a round
// with more makes more calls.
const maxSharedPollIDs = 200

// errPollAlone tells a waiter to ask on its own: the shared call it was in
// failed for an instance that may not be its own.
var errPollAlone = errors.New("ec2ops: poll alone")

// refusedForOneID are the errors with which EC2 refuses a whole call for
// one of its instance ids: unknown, or not an instance id at all.
var refusedForOneID = map[string]bool{"InvalidInstanceID.NotFound": true, "InvalidInstanceID.Malformed": true}

func newStatePolls(client ec2.DescribeInstancesAPIClient, spacing, timeout time.Duration) *statePolls {
	return &statePolls{client: client, spacing: spacing, timeout: timeout}
}

// DescribeInstances answers a poll by instance ids from the next shared
// call; any other request goes to EC2 as it is.
func (p *statePolls) DescribeInstances(ctx context.Context, in *ec2.DescribeInstancesInput, optFns ...func(*ec2.Options)) (*ec2.DescribeInstancesOutput, error) {
	if len(in.InstanceIds) == 0 || len(in.InstanceIds) > maxSharedPollIDs || len(in.Filters) > 0 ||
		in.NextToken != nil || in.MaxResults != nil || aws.ToBool(in.DryRun) {
		return p.client.DescribeInstances(ctx, in, optFns...)
	}
	poll := &statePoll{ids: in.InstanceIds, opts: optFns, done: make(chan struct{})}
	p.mu.Lock()
	p.queue = append(p.queue, poll)
	if !p.running {
		p.running = true
		go p.run()
	}
	p.mu.Unlock()
	select {
	case <-poll.done:
	case <-ctx.Done():
		p.mu.Lock()
		p.queue = slices.DeleteFunc(p.queue, func(q *statePoll) bool { return q == poll })
		p.mu.Unlock()
		return nil, ctx.Err()
	}
	if errors.Is(poll.err, errPollAlone) {
		return p.client.DescribeInstances(ctx, in, optFns...)
	}
	return poll.out, poll.err
}

// run asks for the queued polls, a round at a time, until none are left.
func (p *statePolls) run() {
	for {
		p.mu.Lock()
		wait := p.spacing - time.Since(p.last)
		p.mu.Unlock()
		if wait > 0 {
			time.Sleep(wait) // polls arriving meanwhile join this round
		}
		p.mu.Lock()
		round := p.queue
		p.queue = nil
		if len(round) == 0 {
			p.running = false
			p.mu.Unlock()
			return
		}
		p.last = time.Now()
		p.mu.Unlock()
		for len(round) > 0 {
			n, ids := 0, 0
			for n < len(round) && ids+len(round[n].ids) <= maxSharedPollIDs {
				ids += len(round[n].ids)
				n++
			}
			p.ask(round[:n])
			round = round[n:]
		}
	}
}

// ask makes one shared call for polls and answers each of them.
func (p *statePolls) ask(polls []*statePoll) {
	var ids []string
	for _, poll := range polls {
		for _, id := range poll.ids {
			if !slices.Contains(ids, id) {
				ids = append(ids, id)
			}
		}
	}
	// No one waiter's context: the call answers them all, and a waiter
	// that gives up stops waiting for it. The waiters' call options are
	// alike (they are the SDK's waiters'): the first poll's go.
	ctx, cancel := context.WithTimeout(context.Background(), p.timeout)
	defer cancel()
	out, err := p.client.DescribeInstances(ctx, &ec2.DescribeInstancesInput{InstanceIds: ids}, polls[0].opts...)
	if err != nil && len(polls) > 1 && refusedForOneID[apiCode(err)] {
		// EC2 refuses the whole call for one instance id; each waiter
		// learns about its own.
		err = errPollAlone
	}
	byID := map[string]types.Reservation{}
	if err == nil {
		for _, r := range out.Reservations {
			for _, inst := range r.Instances {
				own := r
				own.Instances = []types.Instance{inst}
				byID[aws.ToString(inst.InstanceId)] = own
			}
		}
	}
	for _, poll := range polls {
		poll.err = err
		if err == nil {
			poll.out = &ec2.DescribeInstancesOutput{ResultMetadata: out.ResultMetadata}
			for _, id := range poll.ids {
				if r, ok := byID[id]; ok {
					poll.out.Reservations = append(poll.out.Reservations, r)
				}
			}
		}
		close(poll.done)
	}
}
