package ec2ops

import (
	"context"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/ec2"

	"github.com/charlize-app/charlize/ec2ops/ec2sim"
)

// simPolls is a statePolls asking a simulator holding instance id.
func simPolls(t *testing.T, id string, spacing time.Duration) (*statePolls, *ec2sim.Sim) {
	t.Helper()
	sim := ec2sim.New(ec2sim.Options{})
	fixture := ec2sim.Fixture{Accounts: []ec2sim.FixtureAccount{{ID: "000000000000",
		Regions: map[string][]ec2sim.Instance{"eu-west-1": {{ID: id, Type: "t3.micro", State: "running"}}}}}}
	if err := sim.Load(fixture); err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(sim)
	t.Cleanup(srv.Close)
	client := ec2.NewFromConfig(aws.Config{Region: "eu-west-1", BaseEndpoint: aws.String(srv.URL),
		Credentials: credentials.NewStaticCredentialsProvider("AKIDCHARLIZETEST", "secret", "")})
	return newStatePolls(client, spacing, 10*time.Second), sim
}

const pollID = "i-0000000000000b001"

// A dry run asks whether the call is allowed: merged into a shared call
// it was sent as a real one, and answered with data.
func TestSharedPollsLeaveDryRunsAlone(t *testing.T) {
	p, sim := simPolls(t, pollID, 50*time.Millisecond)
	_, err := p.DescribeInstances(context.Background(), &ec2.DescribeInstancesInput{InstanceIds: []string{pollID}, DryRun: aws.Bool(true)})
	if apiCode(err) != "DryRunOperation" || sim.DryRuns("DescribeInstances") != 1 {
		t.Errorf("dry run = %v, the simulator saw %d dry runs; want DryRunOperation from one", err, sim.DryRuns("DescribeInstances"))
	}
}

// EC2 refuses a whole call for an id that is no instance id: the poll
// sharing the call with it got that refusal for its own instance.
func TestSharedPollMalformedIDIsNotAnothersError(t *testing.T) {
	p, _ := simPolls(t, pollID, 300*time.Millisecond)
	ctx := context.Background()
	// The first poll goes at once; the next two share the next call.
	if _, err := p.DescribeInstances(ctx, &ec2.DescribeInstancesInput{InstanceIds: []string{pollID}}); err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	var out *ec2.DescribeInstancesOutput
	var err, bogusErr error
	wg.Go(func() {
		out, err = p.DescribeInstances(ctx, &ec2.DescribeInstancesInput{InstanceIds: []string{pollID}})
	})
	wg.Go(func() {
		time.Sleep(20 * time.Millisecond)
		_, bogusErr = p.DescribeInstances(ctx, &ec2.DescribeInstancesInput{InstanceIds: []string{"bogus-id"}})
	})
	wg.Wait()
	if err != nil || len(out.Reservations) != 1 {
		t.Errorf("poll of %s beside a malformed id = %v (code %s); want its instance", pollID, err, apiCode(err))
	}
	if apiCode(bogusErr) != "InvalidInstanceID.Malformed" {
		t.Errorf("poll of a malformed id = %v, want InvalidInstanceID.Malformed", bogusErr)
	}
}

// The waiters' call options (their User-Agent, a caller's retryer) reach
// the shared call.
func TestSharedPollKeepsCallOptions(t *testing.T) {
	p, _ := simPolls(t, pollID, 50*time.Millisecond)
	applied := false
	_, err := p.DescribeInstances(context.Background(), &ec2.DescribeInstancesInput{InstanceIds: []string{pollID}},
		func(*ec2.Options) { applied = true })
	if err != nil || !applied {
		t.Errorf("poll = %v, its option applied: %v; want it applied", err, applied)
	}
}
