package ec2sim_test

import (
	"context"
	"errors"
	"fmt"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/credentials/stscreds"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/ec2/types"
	"github.com/aws/aws-sdk-go-v2/service/sts"
	"github.com/aws/smithy-go"
	"github.com/google/go-cmp/cmp"

	"github.com/charlize-app/charlize/ec2ops/ec2sim"
)

const (
	acctA  = "111111111111"
	acctB  = "222222222222"
	region = "us-east-1"
)

// fakeClock is a settable clock for the simulator. It starts at the real
// time because the SDK's credential cache judges AssumeRole expirations
// (computed from the simulator's clock) against the real clock.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func newFakeClock() *fakeClock {
	return &fakeClock{t: time.Now().UTC().Truncate(time.Second)}
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// env is a simulator behind an httptest server.
type env struct {
	sim   *ec2sim.Sim
	clock *fakeClock
	url   string
}

func mustStart(t *testing.T, opts ec2sim.Options, f ec2sim.Fixture) *env {
	t.Helper()
	clock := newFakeClock()
	if opts.Now == nil {
		opts.Now = clock.Now
	}
	sim := ec2sim.New(opts)
	if err := sim.Load(f); err != nil {
		t.Fatalf("Load: %v", err)
	}
	return &env{sim: sim, clock: clock, url: startServer(t, sim)}
}

func startServer(tb testing.TB, sim *ec2sim.Sim) string {
	tb.Helper()
	srv := httptest.NewServer(sim)
	tb.Cleanup(srv.Close)
	return srv.URL
}

// noBackoff retries at once, so retry tests do not sleep.
func noBackoff() aws.Retryer {
	return retry.NewStandard(func(o *retry.StandardOptions) {
		o.Backoff = retry.BackoffDelayerFunc(func(int, error) (time.Duration, error) { return 0, nil })
	})
}

// baseConfig is an SDK config with static (ambient) credentials pointed at
// the simulator.
func (e *env) baseConfig(r string) aws.Config {
	return aws.Config{
		Region:       r,
		Credentials:  credentials.NewStaticCredentialsProvider("AKIDTEST", "secret", ""),
		BaseEndpoint: aws.String(e.url),
		Retryer:      noBackoff,
	}
}

// assumedConfig is a config whose credentials come from AssumeRole.
func (e *env) assumedConfig(r, roleARN string, opt func(*stscreds.AssumeRoleOptions)) aws.Config {
	base := e.baseConfig(r)
	cfg := base.Copy()
	cfg.Credentials = aws.NewCredentialsCache(stscreds.NewAssumeRoleProvider(sts.NewFromConfig(base), roleARN, func(o *stscreds.AssumeRoleOptions) {
		o.RoleSessionName = "charlize-test"
		if opt != nil {
			opt(o)
		}
	}))
	return cfg
}

func roleARN(acct string) string { return "arn:aws:iam::" + acct + ":role/charlize" }

// testFixture: account A has a small mixed fleet in two regions and
// requires an external id; account B has one instance and denies
// SourceIdentity.
func testFixture() ec2sim.Fixture {
	launched := time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC)
	return ec2sim.Fixture{Accounts: []ec2sim.FixtureAccount{
		{
			ID:         acctA,
			ExternalID: "ext-a",
			Regions: map[string][]ec2sim.Instance{
				region: {
					{ID: "i-0000000000000000a", Type: "t3.micro", State: "running", AZ: "us-east-1a", PrivateIP: "10.0.0.10", PublicIP: "3.3.3.10", LaunchTime: launched, Tags: map[string]string{"Name": "web-1", "env": "prod"}},
					{ID: "i-0000000000000000b", Type: "t3.small", State: "running", AZ: "us-east-1b", PrivateIP: "10.0.0.11", LaunchTime: launched, Tags: map[string]string{"Name": "web-2", "env": "prod"}},
					{ID: "i-0000000000000000c", Type: "m5.large", State: "stopped", AZ: "us-east-1a", PrivateIP: "10.0.0.12", LaunchTime: launched, Tags: map[string]string{"Name": "db-1", "env": "staging", "backup": "daily"}},
					{ID: "i-0000000000000000d", Type: "t3.micro", State: "running", AZ: "us-east-1c", PrivateIP: "10.0.0.13", LaunchTime: launched, Platform: "windows", Tags: map[string]string{"Name": "win-1", "env": "dev"}},
					{ID: "i-0000000000000000e", Type: "t3.micro", State: "running", LaunchTime: launched, DisableAPITermination: true, Tags: map[string]string{"Name": "protected", "env": "prod"}},
					{ID: "i-0000000000000000f", Type: "t3.micro", State: "terminated", LaunchTime: launched, Tags: map[string]string{"Name": "gone"}},
				},
				"eu-west-1": {
					{ID: "i-00000000000000e01", Tags: map[string]string{"Name": "eu-1"}},
				},
			},
		},
		{
			ID:                 acctB,
			DenySourceIdentity: true,
			Regions: map[string][]ec2sim.Instance{
				region: {{ID: "i-000000000000000b1", Tags: map[string]string{"Name": "b-only"}}},
			},
		},
	}}
}

// withExternalID sets the external id account A requires.
func withExternalID(o *stscreds.AssumeRoleOptions) { o.ExternalID = aws.String("ext-a") }

func mustEC2(t *testing.T, e *env) *ec2.Client {
	t.Helper()
	return ec2.NewFromConfig(e.assumedConfig(region, roleARN(acctA), withExternalID))
}

// ids lists the instance ids in a DescribeInstances answer.
func ids(out *ec2.DescribeInstancesOutput) []string {
	var got []string
	for _, r := range out.Reservations {
		for _, i := range r.Instances {
			got = append(got, aws.ToString(i.InstanceId))
		}
	}
	return got
}

func errorCode(err error) string {
	var ae smithy.APIError
	if errors.As(err, &ae) {
		return ae.ErrorCode()
	}
	return ""
}

func TestDescribeInstancesThroughAssumedRole(t *testing.T) {
	e := mustStart(t, ec2sim.Options{}, testFixture())
	out, err := mustEC2(t, e).DescribeInstances(context.Background(), &ec2.DescribeInstancesInput{
		InstanceIds: []string{"i-0000000000000000a"},
	})
	if err != nil {
		t.Fatalf("DescribeInstances: %v", err)
	}
	if len(out.Reservations) != 1 || len(out.Reservations[0].Instances) != 1 {
		t.Fatalf("DescribeInstances = %d reservations, want 1 with 1 instance", len(out.Reservations))
	}
	if got, want := aws.ToString(out.Reservations[0].OwnerId), acctA; got != want {
		t.Errorf("OwnerId = %s, want %s", got, want)
	}
	in := out.Reservations[0].Instances[0]
	got := map[string]string{
		"id":    aws.ToString(in.InstanceId),
		"type":  string(in.InstanceType),
		"state": string(in.State.Name),
		"code":  fmt.Sprint(aws.ToInt32(in.State.Code)),
		"az":    aws.ToString(in.Placement.AvailabilityZone),
		"priv":  aws.ToString(in.PrivateIpAddress),
		"pub":   aws.ToString(in.PublicIpAddress),
		"time":  aws.ToTime(in.LaunchTime).Format(time.RFC3339),
	}
	for _, tag := range in.Tags {
		got["tag:"+aws.ToString(tag.Key)] = aws.ToString(tag.Value)
	}
	want := map[string]string{
		"id": "i-0000000000000000a", "type": "t3.micro", "state": "running", "code": "16",
		"az": "us-east-1a", "priv": "10.0.0.10", "pub": "3.3.3.10", "time": "2025-01-02T03:04:05Z",
		"tag:Name": "web-1", "tag:env": "prod",
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("DescribeInstances instance mismatch (-want +got):\n%s", diff)
	}
	calls := e.sim.CallLog()
	if len(calls) != 2 || calls[0].Action != "AssumeRole" || calls[1].Action != "DescribeInstances" {
		t.Fatalf("CallLog actions = %v, want [AssumeRole DescribeInstances]", calls)
	}
	if calls[0].RoleARN != roleARN(acctA) || calls[0].ExternalID != "ext-a" || calls[0].SessionName != "charlize-test" || calls[0].Account != acctA {
		t.Errorf("AssumeRole call = %+v", calls[0])
	}
	if c := calls[1]; c.Account != acctA || c.SessionName != "charlize-test" || c.Region != region || !slices.Equal(c.InstanceIDs, []string{"i-0000000000000000a"}) || c.AccessKeyID == "AKIDTEST" {
		t.Errorf("DescribeInstances call = %+v", c)
	}
}

func TestDescribeInstancesFilters(t *testing.T) {
	e := mustStart(t, ec2sim.Options{}, testFixture())
	client := mustEC2(t, e)
	filter := func(name string, values ...string) types.Filter {
		return types.Filter{Name: aws.String(name), Values: values}
	}
	tests := []struct {
		name    string
		ids     []string
		filters []types.Filter
		want    []string
	}{
		{name: "no filter lists all, terminated included", want: []string{"i-0000000000000000a", "i-0000000000000000b", "i-0000000000000000c", "i-0000000000000000d", "i-0000000000000000e", "i-0000000000000000f"}},
		{name: "instance-state-name", filters: []types.Filter{filter("instance-state-name", "stopped")}, want: []string{"i-0000000000000000c"}},
		{name: "instance-state-name several values", filters: []types.Filter{filter("instance-state-name", "stopped", "terminated")}, want: []string{"i-0000000000000000c", "i-0000000000000000f"}},
		{name: "instance-state-code", filters: []types.Filter{filter("instance-state-code", "48")}, want: []string{"i-0000000000000000f"}},
		{name: "instance-id", filters: []types.Filter{filter("instance-id", "i-0000000000000000b", "i-nope")}, want: []string{"i-0000000000000000b"}},
		{name: "instance-id wildcard", filters: []types.Filter{filter("instance-id", "*[cd]", "*0e")}, want: []string{"i-0000000000000000e"}},
		{name: "instance-type wildcard", filters: []types.Filter{filter("instance-type", "t3.s*")}, want: []string{"i-0000000000000000b"}},
		{name: "tag:Name with ?", filters: []types.Filter{filter("tag:Name", "web-?")}, want: []string{"i-0000000000000000a", "i-0000000000000000b"}},
		{name: "tag:Name is case-sensitive", filters: []types.Filter{filter("tag:Name", "WEB-*")}},
		{name: "tag value", filters: []types.Filter{filter("tag:env", "prod")}, want: []string{"i-0000000000000000a", "i-0000000000000000b", "i-0000000000000000e"}},
		{name: "tag-key", filters: []types.Filter{filter("tag-key", "backup")}, want: []string{"i-0000000000000000c"}},
		{name: "tag-value", filters: []types.Filter{filter("tag-value", "dai*")}, want: []string{"i-0000000000000000c"}},
		{name: "availability-zone", filters: []types.Filter{filter("availability-zone", "us-east-1a")}, want: []string{"i-0000000000000000a", "i-0000000000000000c", "i-0000000000000000e", "i-0000000000000000f"}},
		{name: "platform", filters: []types.Filter{filter("platform", "windows")}, want: []string{"i-0000000000000000d"}},
		{name: "filters are ANDed", filters: []types.Filter{filter("tag:env", "prod"), filter("instance-type", "t3.micro")}, want: []string{"i-0000000000000000a", "i-0000000000000000e"}},
		{name: "escaped wildcard is literal", filters: []types.Filter{filter("tag:Name", `web\*`)}},
		{name: "ids and filters", ids: []string{"i-0000000000000000a", "i-0000000000000000c"}, filters: []types.Filter{filter("instance-state-name", "running")}, want: []string{"i-0000000000000000a"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out, err := client.DescribeInstances(context.Background(), &ec2.DescribeInstancesInput{InstanceIds: tt.ids, Filters: tt.filters})
			if err != nil {
				t.Fatalf("DescribeInstances: %v", err)
			}
			if diff := cmp.Diff(tt.want, ids(out)); diff != "" {
				t.Errorf("DescribeInstances ids mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

func TestDescribeInstancesErrors(t *testing.T) {
	e := mustStart(t, ec2sim.Options{}, testFixture())
	client := mustEC2(t, e)
	tests := []struct {
		name string
		in   *ec2.DescribeInstancesInput
		code string
	}{
		{name: "unknown id", in: &ec2.DescribeInstancesInput{InstanceIds: []string{"i-0000000000000000a", "i-0123456789abcdef0"}}, code: "InvalidInstanceID.NotFound"},
		{name: "malformed id", in: &ec2.DescribeInstancesInput{InstanceIds: []string{"web-1"}}, code: "InvalidInstanceID.Malformed"},
		{name: "MaxResults with ids", in: &ec2.DescribeInstancesInput{InstanceIds: []string{"i-0000000000000000a"}, MaxResults: aws.Int32(5)}, code: "InvalidParameterCombination"},
		{name: "MaxResults too small", in: &ec2.DescribeInstancesInput{MaxResults: aws.Int32(4)}, code: "InvalidParameterValue"},
		{name: "MaxResults too large", in: &ec2.DescribeInstancesInput{MaxResults: aws.Int32(1001)}, code: "InvalidParameterValue"},
		{name: "unknown filter", in: &ec2.DescribeInstancesInput{Filters: []types.Filter{{Name: aws.String("colour"), Values: []string{"red"}}}}, code: "InvalidParameterValue"},
		{name: "bad NextToken", in: &ec2.DescribeInstancesInput{MaxResults: aws.Int32(5), NextToken: aws.String("garbage!")}, code: "InvalidPaginationToken"},
		{name: "DryRun", in: &ec2.DescribeInstancesInput{DryRun: aws.Bool(true)}, code: "DryRunOperation"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := client.DescribeInstances(context.Background(), tt.in)
			if got := errorCode(err); got != tt.code {
				t.Errorf("DescribeInstances error = %v (code %q), want code %q", err, got, tt.code)
			}
		})
	}
}

func TestDescribeInstancesPaginator(t *testing.T) {
	f := ec2sim.Generate(1, 2, 23)
	acct := f.Accounts[0].ID
	e := mustStart(t, ec2sim.Options{DefaultAccount: acct}, f) // ambient credentials see acct
	client := ec2.NewFromConfig(e.baseConfig("eu-west-1"))

	var got []string
	pages := 0
	p := ec2.NewDescribeInstancesPaginator(client, &ec2.DescribeInstancesInput{MaxResults: aws.Int32(5)})
	for p.HasMorePages() {
		out, err := p.NextPage(context.Background())
		if err != nil {
			t.Fatalf("NextPage: %v", err)
		}
		if n := len(ids(out)); n > 5 {
			t.Errorf("page %d has %d instances, want at most 5", pages, n)
		}
		got = append(got, ids(out)...)
		pages++
	}
	var want []string
	for _, in := range f.Accounts[0].Regions["eu-west-1"] {
		want = append(want, in.ID)
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("paginated ids mismatch (-want +got):\n%s", diff)
	}
	if pages != 5 {
		t.Errorf("pages = %d, want 5", pages)
	}
	if n := e.sim.Calls("DescribeInstances"); n != 5 {
		t.Errorf("Calls(DescribeInstances) = %d, want 5", n)
	}

	// Filters apply before paging.
	p = ec2.NewDescribeInstancesPaginator(client, &ec2.DescribeInstancesInput{
		MaxResults: aws.Int32(5),
		Filters:    []types.Filter{{Name: aws.String("instance-state-name"), Values: []string{"stopped"}}},
	})
	var stopped []string
	for p.HasMorePages() {
		out, err := p.NextPage(context.Background())
		if err != nil {
			t.Fatalf("NextPage: %v", err)
		}
		stopped = append(stopped, ids(out)...)
	}
	var wantStopped []string
	for _, in := range f.Accounts[0].Regions["eu-west-1"] {
		if in.State == "stopped" {
			wantStopped = append(wantStopped, in.ID)
		}
	}
	if diff := cmp.Diff(wantStopped, stopped); diff != "" {
		t.Errorf("filtered paginated ids mismatch (-want +got):\n%s", diff)
	}
}

// stateOf describes one instance and returns its state name.
func stateOf(t *testing.T, client *ec2.Client, id string) string {
	t.Helper()
	out, err := client.DescribeInstances(context.Background(), &ec2.DescribeInstancesInput{InstanceIds: []string{id}})
	if err != nil {
		t.Fatalf("DescribeInstances(%s): %v", id, err)
	}
	in := out.Reservations[0].Instances[0]
	if want := map[string]int32{"pending": 0, "running": 16, "shutting-down": 32, "terminated": 48, "stopping": 64, "stopped": 80}[string(in.State.Name)]; aws.ToInt32(in.State.Code) != want {
		t.Errorf("state %s has code %d, want %d", in.State.Name, aws.ToInt32(in.State.Code), want)
	}
	return string(in.State.Name)
}

func stateChange(t *testing.T, sc []types.InstanceStateChange) (prev, cur string) {
	t.Helper()
	if len(sc) != 1 {
		t.Fatalf("state changes = %d, want 1", len(sc))
	}
	return string(sc[0].PreviousState.Name), string(sc[0].CurrentState.Name)
}

func TestTransitions(t *testing.T) {
	ctx := context.Background()
	tests := []struct {
		name      string
		id        string
		act       func(c *ec2.Client, id string) ([]types.InstanceStateChange, error)
		wantPrev  string
		wantMid   string
		wantFinal string
	}{
		{
			name: "stop running",
			id:   "i-0000000000000000a",
			act: func(c *ec2.Client, id string) ([]types.InstanceStateChange, error) {
				out, err := c.StopInstances(ctx, &ec2.StopInstancesInput{InstanceIds: []string{id}})
				if err != nil {
					return nil, err
				}
				return out.StoppingInstances, nil
			},
			wantPrev: "running", wantMid: "stopping", wantFinal: "stopped",
		},
		{
			name: "force stop running",
			id:   "i-0000000000000000b",
			act: func(c *ec2.Client, id string) ([]types.InstanceStateChange, error) {
				out, err := c.StopInstances(ctx, &ec2.StopInstancesInput{InstanceIds: []string{id}, Force: aws.Bool(true)})
				if err != nil {
					return nil, err
				}
				return out.StoppingInstances, nil
			},
			wantPrev: "running", wantMid: "stopping", wantFinal: "stopped",
		},
		{
			name: "start stopped",
			id:   "i-0000000000000000c",
			act: func(c *ec2.Client, id string) ([]types.InstanceStateChange, error) {
				out, err := c.StartInstances(ctx, &ec2.StartInstancesInput{InstanceIds: []string{id}})
				if err != nil {
					return nil, err
				}
				return out.StartingInstances, nil
			},
			wantPrev: "stopped", wantMid: "pending", wantFinal: "running",
		},
		{
			name: "terminate running",
			id:   "i-0000000000000000d",
			act: func(c *ec2.Client, id string) ([]types.InstanceStateChange, error) {
				out, err := c.TerminateInstances(ctx, &ec2.TerminateInstancesInput{InstanceIds: []string{id}})
				if err != nil {
					return nil, err
				}
				return out.TerminatingInstances, nil
			},
			wantPrev: "running", wantMid: "shutting-down", wantFinal: "terminated",
		},
		{
			name: "terminate stopped",
			id:   "i-0000000000000000c",
			act: func(c *ec2.Client, id string) ([]types.InstanceStateChange, error) {
				out, err := c.TerminateInstances(ctx, &ec2.TerminateInstancesInput{InstanceIds: []string{id}})
				if err != nil {
					return nil, err
				}
				return out.TerminatingInstances, nil
			},
			wantPrev: "stopped", wantMid: "shutting-down", wantFinal: "terminated",
		},
		{
			name: "terminate terminated is a no-op",
			id:   "i-0000000000000000f",
			act: func(c *ec2.Client, id string) ([]types.InstanceStateChange, error) {
				out, err := c.TerminateInstances(ctx, &ec2.TerminateInstancesInput{InstanceIds: []string{id}})
				if err != nil {
					return nil, err
				}
				return out.TerminatingInstances, nil
			},
			wantPrev: "terminated", wantMid: "terminated", wantFinal: "terminated",
		},
		{
			name: "stop stopped is a no-op",
			id:   "i-0000000000000000c",
			act: func(c *ec2.Client, id string) ([]types.InstanceStateChange, error) {
				out, err := c.StopInstances(ctx, &ec2.StopInstancesInput{InstanceIds: []string{id}})
				if err != nil {
					return nil, err
				}
				return out.StoppingInstances, nil
			},
			wantPrev: "stopped", wantMid: "stopped", wantFinal: "stopped",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := mustStart(t, ec2sim.Options{TransitionTime: 2 * time.Second}, testFixture())
			client := mustEC2(t, e)
			sc, err := tt.act(client, tt.id)
			if err != nil {
				t.Fatalf("action: %v", err)
			}
			if prev, cur := stateChange(t, sc); prev != tt.wantPrev || cur != tt.wantMid {
				t.Errorf("state change = %s → %s, want %s → %s", prev, cur, tt.wantPrev, tt.wantMid)
			}
			e.clock.Advance(2*time.Second - time.Millisecond)
			if got := stateOf(t, client, tt.id); got != tt.wantMid {
				t.Errorf("state just before TransitionTime = %s, want %s", got, tt.wantMid)
			}
			e.clock.Advance(time.Millisecond)
			if got := stateOf(t, client, tt.id); got != tt.wantFinal {
				t.Errorf("state at TransitionTime = %s, want %s", got, tt.wantFinal)
			}
			if got, ok := e.sim.Get(acctA, region, tt.id); !ok || got.State != tt.wantFinal {
				t.Errorf("Get(%s) = %q, %v, want state %s", tt.id, got.State, ok, tt.wantFinal)
			}
		})
	}
}

func TestStopThenStart(t *testing.T) {
	ctx := context.Background()
	e := mustStart(t, ec2sim.Options{}, testFixture())
	client := mustEC2(t, e)
	const id = "i-0000000000000000a"

	if _, err := client.StopInstances(ctx, &ec2.StopInstancesInput{InstanceIds: []string{id}}); err != nil {
		t.Fatalf("StopInstances: %v", err)
	}
	e.clock.Advance(time.Minute)
	if got := stateOf(t, client, id); got != "stopped" {
		t.Fatalf("state after stop = %s, want stopped", got)
	}
	startAt := e.clock.Now()
	out, err := client.StartInstances(ctx, &ec2.StartInstancesInput{InstanceIds: []string{id}})
	if err != nil {
		t.Fatalf("StartInstances: %v", err)
	}
	if prev, cur := stateChange(t, out.StartingInstances); prev != "stopped" || cur != "pending" {
		t.Errorf("StartInstances state change = %s → %s, want stopped → pending", prev, cur)
	}
	e.clock.Advance(time.Minute)
	if got := stateOf(t, client, id); got != "running" {
		t.Errorf("state after start = %s, want running", got)
	}
	if got, _ := e.sim.Get(acctA, region, id); !got.LaunchTime.Equal(startAt) {
		t.Errorf("LaunchTime after start = %v, want %v (EC2 resets it)", got.LaunchTime, startAt)
	}
	// Reboot keeps a running instance running.
	if _, err := client.RebootInstances(ctx, &ec2.RebootInstancesInput{InstanceIds: []string{id}}); err != nil {
		t.Fatalf("RebootInstances: %v", err)
	}
	if got := stateOf(t, client, id); got != "running" {
		t.Errorf("state after reboot = %s, want running", got)
	}
}

func TestIncorrectInstanceState(t *testing.T) {
	ctx := context.Background()
	e := mustStart(t, ec2sim.Options{}, testFixture())
	client := mustEC2(t, e)
	// Put one instance in each transitional state.
	e.sim.Put(acctA, region, ec2sim.Instance{ID: "i-00000000000000001", State: "stopping"})
	e.sim.Put(acctA, region, ec2sim.Instance{ID: "i-00000000000000002", State: "pending"})
	e.sim.Put(acctA, region, ec2sim.Instance{ID: "i-00000000000000003", State: "shutting-down"})

	start := func(id string) error {
		_, err := client.StartInstances(ctx, &ec2.StartInstancesInput{InstanceIds: []string{id}})
		return err
	}
	stop := func(id string) error {
		_, err := client.StopInstances(ctx, &ec2.StopInstancesInput{InstanceIds: []string{id}})
		return err
	}
	reboot := func(id string) error {
		_, err := client.RebootInstances(ctx, &ec2.RebootInstancesInput{InstanceIds: []string{id}})
		return err
	}
	tests := []struct {
		name string
		call func(string) error
		id   string
		code string
	}{
		{"start terminated", start, "i-0000000000000000f", "IncorrectInstanceState"},
		{"start stopping", start, "i-00000000000000001", "IncorrectInstanceState"},
		{"start shutting-down", start, "i-00000000000000003", "IncorrectInstanceState"},
		{"stop terminated", stop, "i-0000000000000000f", "IncorrectInstanceState"},
		{"stop pending", stop, "i-00000000000000002", "IncorrectInstanceState"},
		{"reboot stopped", reboot, "i-0000000000000000c", "IncorrectInstanceState"},
		{"start unknown", start, "i-0123456789abcdef0", "InvalidInstanceID.NotFound"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := errorCode(tt.call(tt.id)); got != tt.code {
				t.Errorf("%s(%s) error code = %q, want %q", tt.name, tt.id, got, tt.code)
			}
		})
	}

	t.Run("all or nothing", func(t *testing.T) {
		err := stop("i-0000000000000000a")
		if err != nil {
			t.Fatalf("setup: %v", err)
		}
		e.clock.Advance(time.Hour)
		_, err = client.StopInstances(ctx, &ec2.StopInstancesInput{InstanceIds: []string{"i-0000000000000000b", "i-0000000000000000f"}})
		if got := errorCode(err); got != "IncorrectInstanceState" {
			t.Fatalf("StopInstances(running, terminated) code = %q, want IncorrectInstanceState", got)
		}
		if got := stateOf(t, client, "i-0000000000000000b"); got != "running" {
			t.Errorf("running instance after refused batch = %s, want running", got)
		}
	})
}

func TestTerminationProtection(t *testing.T) {
	ctx := context.Background()
	e := mustStart(t, ec2sim.Options{}, testFixture())
	client := mustEC2(t, e)
	const id = "i-0000000000000000e"

	_, err := client.TerminateInstances(ctx, &ec2.TerminateInstancesInput{InstanceIds: []string{id}})
	var ae smithy.APIError
	if !errors.As(err, &ae) || ae.ErrorCode() != "OperationNotPermitted" {
		t.Fatalf("TerminateInstances(protected) = %v, want OperationNotPermitted", err)
	}
	if want := "The instance '" + id + "' may not be terminated. Modify its 'disableApiTermination' instance attribute and try again."; ae.ErrorMessage() != want {
		t.Errorf("message = %q, want %q", ae.ErrorMessage(), want)
	}
	if got := stateOf(t, client, id); got != "running" {
		t.Errorf("protected instance state = %s, want running", got)
	}

	attr, err := client.DescribeInstanceAttribute(ctx, &ec2.DescribeInstanceAttributeInput{InstanceId: aws.String(id), Attribute: types.InstanceAttributeNameDisableApiTermination})
	if err != nil {
		t.Fatalf("DescribeInstanceAttribute: %v", err)
	}
	if !aws.ToBool(attr.DisableApiTermination.Value) {
		t.Errorf("DescribeInstanceAttribute disableApiTermination = false, want true")
	}
	if _, err := client.ModifyInstanceAttribute(ctx, &ec2.ModifyInstanceAttributeInput{InstanceId: aws.String(id), DisableApiTermination: &types.AttributeBooleanValue{Value: aws.Bool(false)}}); err != nil {
		t.Fatalf("ModifyInstanceAttribute: %v", err)
	}
	attr, err = client.DescribeInstanceAttribute(ctx, &ec2.DescribeInstanceAttributeInput{InstanceId: aws.String(id), Attribute: types.InstanceAttributeNameDisableApiTermination})
	if err != nil {
		t.Fatalf("DescribeInstanceAttribute: %v", err)
	}
	if aws.ToBool(attr.DisableApiTermination.Value) {
		t.Errorf("DescribeInstanceAttribute disableApiTermination after modify = true, want false")
	}
	out, err := client.TerminateInstances(ctx, &ec2.TerminateInstancesInput{InstanceIds: []string{id}})
	if err != nil {
		t.Fatalf("TerminateInstances after unprotect: %v", err)
	}
	if _, cur := stateChange(t, out.TerminatingInstances); cur != "shutting-down" {
		t.Errorf("TerminateInstances current state = %s, want shutting-down", cur)
	}
	// The attribute form (Attribute=…&Value=…) works too.
	if _, err := client.ModifyInstanceAttribute(ctx, &ec2.ModifyInstanceAttributeInput{InstanceId: aws.String("i-0000000000000000a"), Attribute: types.InstanceAttributeNameDisableApiTermination, Value: aws.String("true")}); err != nil {
		t.Fatalf("ModifyInstanceAttribute(Attribute form): %v", err)
	}
	if got, _ := e.sim.Get(acctA, region, "i-0000000000000000a"); !got.DisableAPITermination {
		t.Errorf("Get after Attribute-form modify: DisableAPITermination = false, want true")
	}
	_, err = client.TerminateInstances(ctx, &ec2.TerminateInstancesInput{InstanceIds: []string{"i-0000000000000000a"}, DryRun: aws.Bool(true)})
	if got := errorCode(err); got != "OperationNotPermitted" {
		t.Errorf("TerminateInstances(protected, DryRun) code = %q, want OperationNotPermitted", got)
	}
	_, err = client.StopInstances(ctx, &ec2.StopInstancesInput{InstanceIds: []string{"i-0000000000000000a"}, DryRun: aws.Bool(true)})
	if got := errorCode(err); got != "DryRunOperation" {
		t.Errorf("StopInstances(DryRun) code = %q, want DryRunOperation", got)
	}
	if got := stateOf(t, client, "i-0000000000000000a"); got != "running" {
		t.Errorf("state after DryRun stop = %s, want running", got)
	}
}

func TestAssumeRole(t *testing.T) {
	tests := []struct {
		name string
		role string
		opt  func(*stscreds.AssumeRoleOptions)
		code string // "" means success
	}{
		{name: "with external id", role: roleARN(acctA), opt: withExternalID},
		{name: "missing external id", role: roleARN(acctA), code: "AccessDenied"},
		{name: "wrong external id", role: roleARN(acctA), opt: func(o *stscreds.AssumeRoleOptions) { o.ExternalID = aws.String("nope") }, code: "AccessDenied"},
		{name: "no external id required", role: roleARN(acctB)},
		{name: "external id sent but not required", role: roleARN(acctB), opt: withExternalID},
		{name: "unknown account", role: roleARN("333333333333"), code: "AccessDenied"},
		{name: "malformed role arn", role: "arn:aws:iam::12:role/x", code: "ValidationError"},
		{name: "source identity allowed", role: roleARN(acctA), opt: func(o *stscreds.AssumeRoleOptions) {
			withExternalID(o)
			o.SourceIdentity = aws.String("U123ABC")
		}},
		{name: "source identity denied", role: roleARN(acctB), opt: func(o *stscreds.AssumeRoleOptions) { o.SourceIdentity = aws.String("U123ABC") }, code: "AccessDenied"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := mustStart(t, ec2sim.Options{}, testFixture())
			cfg := e.assumedConfig(region, tt.role, tt.opt)
			creds, err := cfg.Credentials.Retrieve(context.Background())
			if got := errorCode(err); got != tt.code {
				t.Fatalf("Retrieve() error = %v (code %q), want code %q", err, got, tt.code)
			}
			if tt.code != "" {
				return
			}
			if !creds.CanExpire || !creds.Expires.Equal(e.clock.Now().Add(15*time.Minute)) {
				t.Errorf("Expires = %v (CanExpire %v), want now+15m (stscreds sends DurationSeconds=900)", creds.Expires, creds.CanExpire)
			}
			// The issued key identifies the role's account.
			id, err := sts.NewFromConfig(cfg).GetCallerIdentity(context.Background(), &sts.GetCallerIdentityInput{})
			if err != nil {
				t.Fatalf("GetCallerIdentity: %v", err)
			}
			wantAcct, _, _ := strings.Cut(strings.TrimPrefix(tt.role, "arn:aws:iam::"), ":")
			if got := aws.ToString(id.Account); got != wantAcct {
				t.Errorf("GetCallerIdentity account = %s, want %s", got, wantAcct)
			}
			if got, want := aws.ToString(id.Arn), "arn:aws:sts::"+wantAcct+":assumed-role/charlize/charlize-test"; got != want {
				t.Errorf("GetCallerIdentity arn = %s, want %s", got, want)
			}
			log := e.sim.CallLog()
			last := log[len(log)-1]
			if last.AccessKeyID != creds.AccessKeyID || last.Account != wantAcct || last.SessionName != "charlize-test" {
				t.Errorf("last call = %+v, want key %s in account %s", last, creds.AccessKeyID, wantAcct)
			}
			if tt.opt != nil {
				var o stscreds.AssumeRoleOptions
				tt.opt(&o)
				if got, want := last.SourceIdentity, aws.ToString(o.SourceIdentity); got != want {
					t.Errorf("SourceIdentity recorded on later calls = %q, want %q", got, want)
				}
			}
		})
	}
}

func TestCredentialTTL(t *testing.T) {
	e := mustStart(t, ec2sim.Options{CredentialTTL: 5 * time.Minute, EnforceCredentialExpiry: true}, testFixture())
	base := e.baseConfig(region)
	stsClient := sts.NewFromConfig(base)
	out, err := stsClient.AssumeRole(context.Background(), &sts.AssumeRoleInput{
		RoleArn: aws.String(roleARN(acctB)), RoleSessionName: aws.String("ttl"), DurationSeconds: aws.Int32(3600),
	})
	if err != nil {
		t.Fatalf("AssumeRole: %v", err)
	}
	if got, want := aws.ToTime(out.Credentials.Expiration), e.clock.Now().Add(5*time.Minute); !got.Equal(want) {
		t.Errorf("Expiration = %v, want %v (CredentialTTL overrides DurationSeconds)", got, want)
	}
	cfg := base.Copy()
	cfg.Credentials = credentials.NewStaticCredentialsProvider(aws.ToString(out.Credentials.AccessKeyId), aws.ToString(out.Credentials.SecretAccessKey), aws.ToString(out.Credentials.SessionToken))
	client := ec2.NewFromConfig(cfg)
	if _, err := client.DescribeInstances(context.Background(), &ec2.DescribeInstancesInput{}); err != nil {
		t.Fatalf("DescribeInstances with fresh credentials: %v", err)
	}
	e.clock.Advance(5 * time.Minute)
	_, err = client.DescribeInstances(context.Background(), &ec2.DescribeInstancesInput{})
	if got := errorCode(err); got != "ExpiredToken" {
		t.Errorf("DescribeInstances with expired credentials: code %q, want ExpiredToken", got)
	}
}

func TestAccountIsolation(t *testing.T) {
	ctx := context.Background()
	e := mustStart(t, ec2sim.Options{}, testFixture())
	clientA := mustEC2(t, e)
	clientB := ec2.NewFromConfig(e.assumedConfig(region, roleARN(acctB), nil))
	ambient := ec2.NewFromConfig(e.baseConfig(region))

	outB, err := clientB.DescribeInstances(ctx, &ec2.DescribeInstancesInput{})
	if err != nil {
		t.Fatalf("DescribeInstances(B): %v", err)
	}
	if diff := cmp.Diff([]string{"i-000000000000000b1"}, ids(outB)); diff != "" {
		t.Errorf("account B sees (-want +got):\n%s", diff)
	}
	_, err = clientA.DescribeInstances(ctx, &ec2.DescribeInstancesInput{InstanceIds: []string{"i-000000000000000b1"}})
	if got := errorCode(err); got != "InvalidInstanceID.NotFound" {
		t.Errorf("A describing B's instance: code %q, want InvalidInstanceID.NotFound", got)
	}
	_, err = clientA.StopInstances(ctx, &ec2.StopInstancesInput{InstanceIds: []string{"i-000000000000000b1"}})
	if got := errorCode(err); got != "InvalidInstanceID.NotFound" {
		t.Errorf("A stopping B's instance: code %q, want InvalidInstanceID.NotFound", got)
	}
	outAmb, err := ambient.DescribeInstances(ctx, &ec2.DescribeInstancesInput{})
	if err != nil {
		t.Fatalf("DescribeInstances(ambient): %v", err)
	}
	if got := ids(outAmb); len(got) != 0 {
		t.Errorf("ambient (default account) sees %v, want nothing", got)
	}
	// Regions are isolated too.
	euA := ec2.NewFromConfig(e.assumedConfig("eu-west-1", roleARN(acctA), withExternalID))
	outEU, err := euA.DescribeInstances(ctx, &ec2.DescribeInstancesInput{})
	if err != nil {
		t.Fatalf("DescribeInstances(A, eu-west-1): %v", err)
	}
	if diff := cmp.Diff([]string{"i-00000000000000e01"}, ids(outEU)); diff != "" {
		t.Errorf("account A in eu-west-1 sees (-want +got):\n%s", diff)
	}
	for _, c := range e.sim.CallLog() {
		if c.Action == "DescribeInstances" && c.Region == "eu-west-1" && c.Account != acctA {
			t.Errorf("eu-west-1 call recorded for account %s, want %s", c.Account, acctA)
		}
	}
}

func TestDescribeRegions(t *testing.T) {
	e := mustStart(t, ec2sim.Options{}, testFixture())
	tests := []struct {
		name   string
		client *ec2.Client
		want   []string
	}{
		{"account A", mustEC2(t, e), []string{"eu-west-1", "us-east-1"}},
		{"account B", ec2.NewFromConfig(e.assumedConfig(region, roleARN(acctB), nil)), []string{"us-east-1"}},
		{"default account", ec2.NewFromConfig(e.baseConfig(region)), nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out, err := tt.client.DescribeRegions(context.Background(), &ec2.DescribeRegionsInput{})
			if err != nil {
				t.Fatalf("DescribeRegions: %v", err)
			}
			var got []string
			for _, r := range out.Regions {
				got = append(got, aws.ToString(r.RegionName))
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("DescribeRegions mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

func TestThrottlingIsRetried(t *testing.T) {
	tests := []struct {
		name, action, code string
		status             int
	}{
		{"RequestLimitExceeded on DescribeInstances", "DescribeInstances", "RequestLimitExceeded", 503},
		{"Throttling on AssumeRole", "AssumeRole", "Throttling", 400},
		{"InternalError on StopInstances", "StopInstances", "InternalError", 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := mustStart(t, ec2sim.Options{}, testFixture())
			client := mustEC2(t, e)
			e.sim.AddFault(ec2sim.Fault{Action: tt.action, Code: tt.code, Status: tt.status, Times: 2})
			if _, err := client.DescribeInstances(context.Background(), &ec2.DescribeInstancesInput{}); err != nil {
				t.Fatalf("DescribeInstances: %v", err)
			}
			if _, err := client.StopInstances(context.Background(), &ec2.StopInstancesInput{InstanceIds: []string{"i-0000000000000000a"}}); err != nil {
				t.Fatalf("StopInstances: %v", err)
			}
			if got := e.sim.Calls(tt.action); got != 3 {
				t.Errorf("Calls(%s) = %d, want 3 (two faulted, one retried success)", tt.action, got)
			}
		})
	}

	t.Run("persistent throttling gives up after max attempts", func(t *testing.T) {
		e := mustStart(t, ec2sim.Options{}, testFixture())
		client := mustEC2(t, e)
		remove := e.sim.AddFault(ec2sim.Fault{Account: acctA, Region: region, Action: "DescribeInstances", Code: "RequestLimitExceeded"})
		_, err := client.DescribeInstances(context.Background(), &ec2.DescribeInstancesInput{})
		if got := errorCode(err); got != "RequestLimitExceeded" {
			t.Errorf("DescribeInstances code = %q, want RequestLimitExceeded", got)
		}
		if got := e.sim.Calls("DescribeInstances"); got != retry.DefaultMaxAttempts {
			t.Errorf("Calls(DescribeInstances) = %d, want %d", got, retry.DefaultMaxAttempts)
		}
		remove()
		if _, err := client.DescribeInstances(context.Background(), &ec2.DescribeInstancesInput{}); err != nil {
			t.Errorf("DescribeInstances after remove: %v", err)
		}
	})
}

func TestAccessDeniedFaults(t *testing.T) {
	ctx := context.Background()
	e := mustStart(t, ec2sim.Options{}, testFixture())

	removeSTS := e.sim.AddFault(ec2sim.Fault{Account: acctB, Action: "AssumeRole", Code: "AccessDenied", Message: "not today"})
	clientB := ec2.NewFromConfig(e.assumedConfig(region, roleARN(acctB), nil))
	_, err := clientB.DescribeInstances(ctx, &ec2.DescribeInstancesInput{})
	var ae smithy.APIError
	if !errors.As(err, &ae) || ae.ErrorCode() != "AccessDenied" || ae.ErrorMessage() != "not today" {
		t.Errorf("DescribeInstances with denied AssumeRole = %v, want AccessDenied: not today", err)
	}
	if got := e.sim.Calls("AssumeRole"); got != 1 {
		t.Errorf("Calls(AssumeRole) = %d, want 1 (AccessDenied is not retried)", got)
	}
	if got := e.sim.Calls("DescribeInstances"); got != 0 {
		t.Errorf("Calls(DescribeInstances) = %d, want 0", got)
	}
	removeSTS()

	// A fault scoped to account B leaves account A alone.
	e.sim.AddFault(ec2sim.Fault{Account: acctB, Action: "StopInstances", Code: "UnauthorizedOperation"})
	if _, err := mustEC2(t, e).StopInstances(ctx, &ec2.StopInstancesInput{InstanceIds: []string{"i-0000000000000000a"}}); err != nil {
		t.Errorf("StopInstances(A) with a fault on B: %v", err)
	}
	_, err = clientB.StopInstances(ctx, &ec2.StopInstancesInput{InstanceIds: []string{"i-000000000000000b1"}})
	if got := errorCode(err); got != "UnauthorizedOperation" {
		t.Errorf("StopInstances(B) code = %q, want UnauthorizedOperation", got)
	}
	var re interface{ HTTPStatusCode() int }
	if !errors.As(err, &re) || re.HTTPStatusCode() != 403 {
		t.Errorf("StopInstances(B) HTTP status = %v, want 403", err)
	}
	if got, _ := e.sim.Get(acctB, region, "i-000000000000000b1"); got.State != "running" {
		t.Errorf("faulted stop changed the instance to %s", got.State)
	}
}

func TestInstanceStoppedWaiter(t *testing.T) {
	// The waiter sleeps for real, so this test runs on the real clock with
	// a short transition.
	e := mustStart(t, ec2sim.Options{Now: time.Now, TransitionTime: 50 * time.Millisecond}, testFixture())
	client := mustEC2(t, e)
	in := &ec2.DescribeInstancesInput{InstanceIds: []string{"i-0000000000000000a", "i-0000000000000000b"}}
	if _, err := client.StopInstances(context.Background(), &ec2.StopInstancesInput{InstanceIds: in.InstanceIds}); err != nil {
		t.Fatalf("StopInstances: %v", err)
	}
	w := ec2.NewInstanceStoppedWaiter(client, func(o *ec2.InstanceStoppedWaiterOptions) {
		o.MinDelay = 10 * time.Millisecond
		o.MaxDelay = 20 * time.Millisecond
	})
	if err := w.Wait(context.Background(), in, 30*time.Second); err != nil {
		t.Fatalf("InstanceStoppedWaiter.Wait: %v", err)
	}
	for _, id := range in.InstanceIds {
		if got, _ := e.sim.Get(acctA, region, id); got.State != "stopped" {
			t.Errorf("Get(%s).State = %s after waiter, want stopped", id, got.State)
		}
	}
	// The waiter fails fast on a terminated instance.
	err := w.Wait(context.Background(), &ec2.DescribeInstancesInput{InstanceIds: []string{"i-0000000000000000f"}}, 30*time.Second)
	if err == nil {
		t.Errorf("InstanceStoppedWaiter on a terminated instance = nil, want failure")
	}
}

func TestLatencyHonoursCancellation(t *testing.T) {
	e := mustStart(t, ec2sim.Options{}, testFixture())
	e.sim.SetLatency(time.Hour)
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	client := ec2.NewFromConfig(e.baseConfig(region))
	if _, err := client.DescribeInstances(ctx, &ec2.DescribeInstancesInput{}); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("DescribeInstances with 1h latency = %v, want context.DeadlineExceeded", err)
	}
	e.sim.SetLatency(0)
	if _, err := client.DescribeInstances(context.Background(), &ec2.DescribeInstancesInput{}); err != nil {
		t.Errorf("DescribeInstances after SetLatency(0): %v", err)
	}
}

// A delayed fault holds the request past the client's deadline, a dropped
// one closes the connection unanswered: what an unreachable or cut-off
// endpoint looks like to the SDK. Other accounts are answered as usual.
func TestDelayAndDropFaults(t *testing.T) {
	e := mustStart(t, ec2sim.Options{}, testFixture())
	clientA := mustEC2(t, e)
	clientB := ec2.NewFromConfig(e.assumedConfig(region, roleARN(acctB), nil))

	remove := e.sim.AddFault(ec2sim.Fault{Account: acctA, Action: "DescribeInstances", Delay: time.Hour})
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	_, err := clientA.DescribeInstances(ctx, &ec2.DescribeInstancesInput{})
	cancel()
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("DescribeInstances held for an hour = %v, want context.DeadlineExceeded", err)
	}
	if _, err := clientB.DescribeInstances(context.Background(), &ec2.DescribeInstancesInput{}); err != nil {
		t.Errorf("DescribeInstances in the other account: %v", err)
	}
	remove()

	e.sim.AddFault(ec2sim.Fault{Account: acctA, Action: "DescribeInstances", Delay: 10 * time.Millisecond, Times: 1})
	if _, err := clientA.DescribeInstances(context.Background(), &ec2.DescribeInstancesInput{}); err != nil {
		t.Errorf("DescribeInstances delayed 10ms without a code = %v, want it served", err)
	}

	e.sim.AddFault(ec2sim.Fault{Account: acctA, Action: "DescribeInstances", Drop: true})
	_, err = clientA.DescribeInstances(context.Background(), &ec2.DescribeInstancesInput{})
	var apiErr smithy.APIError
	if err == nil || errors.As(err, &apiErr) {
		t.Errorf("DescribeInstances on a dropped connection = %v, want a transport error, not an AWS answer", err)
	}
	if got := e.sim.Calls("DescribeInstances"); got < 2+retry.DefaultMaxAttempts {
		t.Errorf("Calls(DescribeInstances) = %d; the SDK should retry a dropped connection", got)
	}
}

func TestRawProtocolErrors(t *testing.T) {
	e := mustStart(t, ec2sim.Options{}, testFixture())
	post := func(t *testing.T, service, body string) (int, string) {
		t.Helper()
		req := httptest.NewRequest("POST", "/", strings.NewReader(body))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		if service != "" {
			req.Header.Set("Authorization", "AWS4-HMAC-SHA256 Credential=AKIDTEST/20250601/us-east-1/"+service+"/aws4_request, SignedHeaders=host, Signature=00")
		}
		rec := httptest.NewRecorder()
		e.sim.ServeHTTP(rec, req)
		return rec.Code, rec.Body.String()
	}
	tests := []struct {
		name, service, body string
		status              int
		contains            []string
	}{
		{"unknown EC2 action", "ec2", "Action=LaunchRockets&Version=2016-11-15", 400,
			[]string{"<Response><Errors><Error><Code>InvalidAction</Code>", "<RequestID>"}},
		{"unknown STS action", "sts", "Action=GetSessionToken&Version=2011-06-15", 400,
			[]string{"<ErrorResponse", "<Type>Sender</Type><Code>InvalidAction</Code>", "<RequestId>"}},
		{"unsigned", "", "Action=DescribeInstances", 401, []string{"<Code>MissingAuthenticationToken</Code>"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			status, body := post(t, tt.service, tt.body)
			if status != tt.status {
				t.Errorf("status = %d, want %d", status, tt.status)
			}
			for _, s := range tt.contains {
				if !strings.Contains(body, s) {
					t.Errorf("body %s does not contain %q", body, s)
				}
			}
		})
	}
	if got := e.sim.Calls("LaunchRockets"); got != 1 {
		t.Errorf("Calls(LaunchRockets) = %d, want 1", got)
	}
	e.sim.Reset()
	if got := len(e.sim.CallLog()); got != 0 {
		t.Errorf("CallLog after Reset has %d calls, want 0", got)
	}
	if _, ok := e.sim.Get(acctA, region, "i-0000000000000000a"); !ok {
		t.Errorf("Reset cleared the fleet")
	}
}

func TestConcurrentUse(t *testing.T) {
	e := mustStart(t, ec2sim.Options{TransitionTime: -1}, ec2sim.Generate(2, 2, 20))
	ctx := context.Background()
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			acct := fmt.Sprintf("%012d", 100000000001+g%2)
			client := ec2.NewFromConfig(e.assumedConfig("us-east-1", roleARN(acct), nil))
			out, err := client.DescribeInstances(ctx, &ec2.DescribeInstancesInput{})
			if err != nil {
				t.Errorf("DescribeInstances: %v", err)
				return
			}
			for i, id := range ids(out) {
				if i%3 != g%3 {
					continue
				}
				// Concurrent stops and starts of the same instances may race
				// into IncorrectInstanceState; only unexpected codes fail.
				if _, err := client.StopInstances(ctx, &ec2.StopInstancesInput{InstanceIds: []string{id}}); err != nil && errorCode(err) != "IncorrectInstanceState" {
					t.Errorf("StopInstances(%s): %v", id, err)
				}
				if _, err := client.StartInstances(ctx, &ec2.StartInstancesInput{InstanceIds: []string{id}}); err != nil && errorCode(err) != "IncorrectInstanceState" {
					t.Errorf("StartInstances(%s): %v", id, err)
				}
			}
		}()
	}
	for g := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 50 {
				remove := e.sim.AddFault(ec2sim.Fault{Account: "999999999999", Code: "Throttling"})
				e.sim.Put("100000000001", "eu-west-1", ec2sim.Instance{ID: fmt.Sprintf("i-%017x", 0xf00000+g*100+i)})
				_ = e.sim.List("100000000001", "us-east-1")
				_ = e.sim.CallLog()
				_ = e.sim.Calls("StopInstances")
				remove()
			}
		}()
	}
	wg.Wait()
	if got := len(e.sim.List("100000000001", "eu-west-1")); got != 20+4*50 {
		t.Errorf("List after concurrent Puts = %d instances, want %d", got, 20+4*50)
	}
}
