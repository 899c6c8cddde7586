package ec2ops_test

import (
	"context"
	"errors"
	"fmt"
	"net"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"

	"github.com/charlize-app/charlize/ec2ops"
	"github.com/charlize-app/charlize/ec2ops/action"
	"github.com/charlize-app/charlize/ec2ops/ec2sim"
)

func TestErrorKinds(t *testing.T) {
	inner := errors.New("boom")
	err := fmt.Errorf("handlers.act: %w", &ec2ops.Error{Kind: ec2ops.KindNotFound, Op: "ec2ops.Do stop",
		Account: "acme-prod", Region: "eu-west-1", InstanceID: "i-0123abcd", Err: inner})
	if !errors.Is(err, ec2ops.KindNotFound) {
		t.Error("errors.Is(err, KindNotFound) = false")
	}
	if errors.Is(err, ec2ops.KindAccessDenied) {
		t.Error("errors.Is(err, KindAccessDenied) = true")
	}
	if !errors.Is(err, inner) {
		t.Error("the wrapped error is not reachable")
	}
	if got := ec2ops.KindOf(err); got != ec2ops.KindNotFound {
		t.Errorf("KindOf = %v, want KindNotFound", got)
	}
	if got := ec2ops.KindOf(inner); got != ec2ops.KindUnknown {
		t.Errorf("KindOf(plain) = %v, want KindUnknown", got)
	}
	if got, want := err.Error(), "handlers.act: ec2ops.Do stop acme-prod/eu-west-1/i-0123abcd: not found: boom"; got != want {
		t.Errorf("Error() = %q, want %q", got, want)
	}
}

func TestUserMessage(t *testing.T) {
	for _, tt := range []struct {
		err  ec2ops.Error
		want string
	}{
		{ec2ops.Error{Kind: ec2ops.KindAccessDenied, Account: "acme-prod", IAMAction: "ec2:StopInstances", RoleARN: "arn:aws:iam::123456789012:role/charlize"},
			"the role arn:aws:iam::123456789012:role/charlize lacks ec2:StopInstances in acme-prod — an AWS admin can grant it in the role's IAM policy"},
		{ec2ops.Error{Kind: ec2ops.KindAccessDenied, Account: "default", IAMAction: "ec2:DescribeInstances"},
			"Charlize's AWS credentials lack ec2:DescribeInstances in default — an AWS admin can grant it in the role's IAM policy"},
		{ec2ops.Error{Kind: ec2ops.KindInvalidState, Name: "web-1", Action: action.Stop, State: "stopped"},
			"web-1 is already stopped"},
		{ec2ops.Error{Kind: ec2ops.KindInvalidState, InstanceID: "i-0123abcd", Action: action.Reboot, State: "stopped"},
			"i-0123abcd is stopped; start it instead"},
		{ec2ops.Error{Kind: ec2ops.KindCanceled}, "the request was canceled"},
		{ec2ops.Error{Kind: ec2ops.KindInvalidQuery, Term: "account:secret"}, "I couldn't use `account:secret` in that query"},
		{ec2ops.Error{Kind: ec2ops.KindUnknown, Err: errors.New("secret detail RequestID: abc")}, "something went wrong talking to AWS"},
	} {
		if got := tt.err.UserMessage(); got != tt.want {
			t.Errorf("%v.UserMessage() = %q, want %q", tt.err.Kind, got, tt.want)
		}
	}
}

// closedUDPPort is a loopback UDP address nothing reads: a DNS server that
// is not there.
func closedUDPPort(t *testing.T) string {
	t.Helper()
	c, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := c.LocalAddr().String()
	c.Close()
	return addr
}

// refusingEndpoint sends the fleet's AWS calls to a closed loopback port.
func refusingEndpoint(t *testing.T) func(*aws.Config) {
	endpoint, closeEndpoint, err := ec2sim.RefusingEndpoint()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { closeEndpoint() })
	return func(c *aws.Config) { c.BaseEndpoint = aws.String(endpoint) }
}

// unresolvableEndpoint sends the fleet's AWS calls to a host name whose
// lookup fails: its resolver asks a DNS server on a closed loopback port,
// so no query leaves the machine.
func unresolvableEndpoint(t *testing.T) func(*aws.Config) {
	dns := closedUDPPort(t)
	resolver := &net.Resolver{PreferGo: true, Dial: func(ctx context.Context, _, _ string) (net.Conn, error) {
		var d net.Dialer
		return d.DialContext(ctx, "udp", dns)
	}}
	return func(c *aws.Config) {
		c.BaseEndpoint = aws.String("http://ec2sim.charlize.invalid")
		c.HTTPClient = awshttp.NewBuildableClient().WithDialerOptions(func(d *net.Dialer) { d.Resolver = resolver })
	}
}

// sdkText is what the SDK's own error text looks like; none of it may
// reach a user.
var sdkText = regexp.MustCompile(`(?i)operation error|https? response error|StatusCode|RequestID|request id|api error|dial tcp|read udp|lookup |` + uuidRE.String())

// Every kind of AWS failure Charlize explains is produced for real (the
// simulator over HTTP through the SDK, or a loopback endpoint that cannot
// be reached) and gets its own wording, which names the account and region
// and what to do, and carries nothing of the SDK's error text.
func TestErrorKindsThroughSimulator(t *testing.T) {
	list := func(ctx context.Context, f *ec2ops.Fleet) error {
		res, err := f.List(ctx, ec2ops.Query{Accounts: []string{"acme-prod"}, Regions: []string{"eu-west-1"}})
		if err != nil {
			return err
		}
		if len(res.Failures) == 0 {
			return nil
		}
		return res.Failures[0].Err
	}
	do := func(a action.Action, id string) func(context.Context, *ec2ops.Fleet) error {
		return func(ctx context.Context, f *ec2ops.Fleet) error {
			_, err := f.Do(ctx, prodReq(a, id), nil)
			return err
		}
	}
	describe := func(id string) func(context.Context, *ec2ops.Fleet) error {
		return func(ctx context.Context, f *ec2ops.Fleet) error {
			_, err := f.Describe(ctx, "acme-prod", "eu-west-1", id)
			return err
		}
	}
	tests := []struct {
		name    string
		cfg     func(t *testing.T) envConfig
		fault   *ec2sim.Fault
		op      func(context.Context, *ec2ops.Fleet) error
		kind    ec2ops.Kind
		network ec2ops.NetworkFailure
		// next is the part of the message that says what to do.
		next string
	}{
		{name: "unreachable: connection refused", op: list, kind: ec2ops.KindUnreachable, network: ec2ops.NetworkRefused,
			cfg:  func(t *testing.T) envConfig { return envConfig{aws: refusingEndpoint(t)} },
			next: "connection was refused; whoever runs Charlize should check its network access to AWS"},
		{name: "unreachable: DNS", op: list, kind: ec2ops.KindUnreachable, network: ec2ops.NetworkDNS,
			cfg:  func(t *testing.T) envConfig { return envConfig{aws: unresolvableEndpoint(t)} },
			next: "does not resolve (DNS); whoever runs Charlize should check its network access to AWS"},
		{name: "unreachable: no answer in time", op: list, kind: ec2ops.KindUnreachable, network: ec2ops.NetworkTimeout,
			cfg: func(*testing.T) envConfig {
				return envConfig{opts: ec2ops.Options{RegionTimeout: 200 * time.Millisecond}}
			},
			fault: &ec2sim.Fault{Action: "DescribeInstances", Delay: time.Hour},
			next:  "did not answer in time for acme-prod (eu-west-1); try again in a minute"},
		{name: "unreachable: connection cut", op: list, kind: ec2ops.KindUnreachable, network: ec2ops.NetworkOther,
			fault: &ec2sim.Fault{Action: "DescribeInstances", Drop: true},
			next:  "check its network access to AWS"},
		{name: "throttled", op: list, kind: ec2ops.KindThrottled,
			fault: &ec2sim.Fault{Action: "DescribeInstances", Code: "RequestLimitExceeded"},
			next:  "try again in a minute"},
		{name: "AssumeRole denied", op: list, kind: ec2ops.KindAssumeRole,
			fault: &ec2sim.Fault{Action: "AssumeRole", Code: "AccessDenied"},
			next:  "check the role's trust policy and external id"},
		{name: "action denied", op: do(action.Stop, web1), kind: ec2ops.KindAccessDenied,
			fault: &ec2sim.Fault{Action: "StopInstances", Code: "UnauthorizedOperation"},
			next:  "lacks ec2:StopInstances in acme-prod (eu-west-1) — an AWS admin can grant it"},
		{name: "Charlize's credentials expired", op: list, kind: ec2ops.KindExpired,
			fault: &ec2sim.Fault{Action: "AssumeRole", Code: "ExpiredToken"},
			next:  "whoever runs Charlize needs to renew them"},
		{name: "the account's session expired", op: list, kind: ec2ops.KindExpired,
			fault: &ec2sim.Fault{Action: "DescribeInstances", Code: "ExpiredToken"},
			next:  "try again in a minute"},
		{name: "clock off", op: list, kind: ec2ops.KindExpired,
			fault: &ec2sim.Fault{Action: "DescribeInstances", Code: "RequestExpired"},
			next:  "should check its time sync"},
		{name: "invalid id", op: describe("i-0000000000000ffff"), kind: ec2ops.KindNotFound,
			next: "check the id, account and region"},
		{name: "wrong state", op: do(action.Reboot, web2), kind: ec2ops.KindInvalidState,
			next: "start it instead"},
		{name: "termination protection", op: do(action.Terminate, db1), kind: ec2ops.KindProtected,
			next: "--no-disable-api-termination` or in the console, then try again"},
		{name: "operation not permitted", op: do(action.Stop, web1), kind: ec2ops.KindNotPermitted,
			fault: &ec2sim.Fault{Action: "StopInstances", Code: "OperationNotPermitted", Message: "Instances with instance store volumes cannot be stopped."},
			next:  "cannot be stopped"},
		{name: "gave up waiting", op: do(action.Stop, web1), kind: ec2ops.KindTimeout,
			cfg: func(*testing.T) envConfig {
				return envConfig{sim: ec2sim.Options{TransitionTime: time.Hour}, opts: ec2ops.Options{WaitTimeout: 50 * time.Millisecond}}
			},
			next: "look at its status again in a few minutes"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var cfg envConfig
			if tt.cfg != nil {
				cfg = tt.cfg(t)
			}
			env := mustEnv(t, cfg)
			if tt.fault != nil {
				env.sim.AddFault(*tt.fault)
			}
			err := tt.op(context.Background(), env.fleet)
			e, ok := errors.AsType[*ec2ops.Error](err)
			if !ok {
				t.Fatalf("error = %v (%T), want *ec2ops.Error", err, err)
			}
			if e.Kind != tt.kind || tt.kind == ec2ops.KindUnreachable && e.Network != tt.network {
				t.Fatalf("kind = %v (network %d), want %v (network %d): %v", e.Kind, e.Network, tt.kind, tt.network, err)
			}
			msg := e.UserMessage()
			t.Logf("%v: %s", e.Kind, msg)
			for _, want := range []string{"acme-prod", "eu-west-1", tt.next} {
				if !strings.Contains(msg, want) {
					t.Errorf("UserMessage() = %q, want it to say %q", msg, want)
				}
			}
			if m := sdkText.FindString(msg); m != "" {
				t.Errorf("UserMessage() = %q carries SDK text %q", msg, m)
			}
			if strings.Contains(msg, "trust policy") && tt.kind != ec2ops.KindAssumeRole {
				t.Errorf("UserMessage() = %q blames the trust policy for a %v", msg, tt.kind)
			}
		})
	}
}
