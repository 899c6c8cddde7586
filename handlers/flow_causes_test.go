package handlers_test

import (
	"strings"
	"testing"

	"github.com/charlize-app/charlize/ec2ops/ec2sim"
)

// closedLoopbackURL is an endpoint on a loopback port that refuses every
// connection for as long as the test runs.
func closedLoopbackURL(t *testing.T) string {
	t.Helper()
	endpoint, closeEndpoint, err := ec2sim.RefusingEndpoint()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { closeEndpoint() })
	return endpoint
}

// wantAll checks that got says every one of wants.
func wantAll(t *testing.T, desc, got string, wants ...string) {
	t.Helper()
	for _, want := range wants {
		if !strings.Contains(got, want) {
			t.Errorf("%s %s, want %q", desc, short(got), want)
		}
	}
}

// Defect: with AWS unreachable, users were told to check the role's trust
// policy and external id. They are told AWS cannot be reached, where, and
// who should look at what.
func TestUnreachableAWSIsWordedAsUnreachable(t *testing.T) {
	t.Parallel()
	w := newWorld(t, worldOptions{awsEndpoint: closedLoopbackURL(t)})
	w.command(alice, "list", "list-down")
	got := w.waitForURLText("list-down", "Could not list", waitResult)
	checkRendered(t, got)
	text := messageText(got)
	wantAll(t, "list with AWS unreachable", text, "acme-prod/eu-west-1", "acme-dev/us-east-1", "can't reach AWS",
		"the connection was refused", "check its network access to AWS")
	if strings.Contains(text, "trust policy") {
		t.Errorf("list with AWS unreachable blames the trust policy: %s", short(text))
	}
}

// Defect: `/charlize status X` for an instance in an account whose listing
// failed said "No instance matches". It names the account that could not
// be read, and why.
func TestStatusInUnreadableAccount(t *testing.T) {
	t.Parallel()
	w := newWorld(t, worldOptions{})
	w.sim.AddFault(ec2sim.Fault{Account: acctDev, Action: "AssumeRole", Code: "AccessDenied"})
	w.command(alice, "status dev-1", "status-dev")
	got := w.urlPost("status-dev", waitResult)
	text := messageText(got)
	if strings.Contains(text, "No instance matches") {
		t.Errorf("status dev-1 = %s, want the unread account named, not no match", short(text))
	}
	wantAll(t, "status dev-1", text, "dev-1", "acme-dev (us-east-1)", "check the role's trust policy and external id")
	if strings.Contains(text, "acme-prod (") {
		t.Errorf("status dev-1 = %s names acme-prod, which was read", short(text))
	}
}

// Every kind of AWS failure, produced for real (the simulator, or a
// loopback port nothing listens on) and met through a user's command or
// click, reaches Slack in its own words: the account, the region, what to
// do, and nothing of the SDK's error text or AWS's request id.
func TestAWSFailuresAreWordedForUsers(t *testing.T) {
	type trigger int
	const (
		status      trigger = iota // `/charlize status web-1`
		stopRefused                // Stop on web-1's card, refused before acting
		stopFailed                 // Stop on web-1's card, failed while acting
		terminate                  // Terminate on db-1's card: the modal says why
	)
	for _, tt := range []struct {
		name     string
		endpoint bool // AWS is a closed loopback port
		fault    *ec2sim.Fault
		setup    func(w *world) // after the card is shown
		trigger  trigger
		next     string
	}{
		{name: "unreachable", endpoint: true, trigger: status, next: "the connection was refused; whoever runs Charlize should check its network access"},
		{name: "connection cut", fault: &ec2sim.Fault{Action: "StopInstances", Drop: true}, trigger: stopFailed, next: "check its network access to AWS"},
		{name: "throttled", fault: &ec2sim.Fault{Action: "StopInstances", Code: "RequestLimitExceeded"}, trigger: stopFailed, next: "try again in a minute"},
		{name: "AssumeRole refused", fault: &ec2sim.Fault{Account: acctProd, Action: "AssumeRole", Code: "AccessDenied"}, trigger: status,
			next: "check the role's trust policy and external id"},
		{name: "action denied", fault: &ec2sim.Fault{Action: "StopInstances", Code: "UnauthorizedOperation"}, trigger: stopFailed,
			next: "lacks ec2:StopInstances in acme-prod (eu-west-1) — an AWS admin can grant it"},
		{name: "Charlize's credentials expired", fault: &ec2sim.Fault{Account: acctProd, Action: "AssumeRole", Code: "ExpiredToken"}, trigger: status,
			next: "needs to renew them"},
		{name: "session expired", setup: func(w *world) { w.sim.AddFault(ec2sim.Fault{Action: "DescribeInstances", Code: "ExpiredToken"}) },
			trigger: stopRefused, next: "try again in a minute"},
		{name: "invalid id", setup: func(w *world) {
			w.sim.AddFault(ec2sim.Fault{Action: "DescribeInstances", Code: "InvalidInstanceID.NotFound"})
		},
			trigger: stopRefused, next: "check the id, account and region"},
		{name: "wrong state", setup: func(w *world) {
			inst, _ := w.sim.Get(acctProd, "eu-west-1", "i-0000000000000a001")
			inst.State = ec2sim.StateStopped
			w.sim.Put(acctProd, "eu-west-1", inst)
		}, trigger: stopRefused, next: "is already stopped"},
		{name: "termination protection", trigger: terminate, next: "--no-disable-api-termination` or in the console, then try again"},
		{name: "not permitted", fault: &ec2sim.Fault{Action: "StopInstances", Code: "OperationNotPermitted", Message: "Instances with instance store volumes cannot be stopped."},
			trigger: stopFailed, next: "cannot be stopped"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			o := worldOptions{fastRetry: true}
			if tt.endpoint {
				o.awsEndpoint = closedLoopbackURL(t)
			}
			w := newWorld(t, o)
			var got string
			switch tt.trigger {
			case status:
				if tt.fault != nil {
					w.sim.AddFault(*tt.fault)
				}
				w.command(alice, "status web-1", "kind-status")
				got = messageText(w.urlPost("kind-status", waitResult))
			case terminate:
				w.click(alice, mustButton(t, w.instanceCard("db-1", "kind-card"), "act:terminate", ""), "kind-click")
				got = viewText(w.openedView("views.update", 1))
			default:
				stop := mustButton(t, w.instanceCard("web-1", "kind-card"), "act:stop", "")
				if tt.fault != nil {
					w.sim.AddFault(*tt.fault)
				}
				if tt.setup != nil {
					tt.setup(w)
				}
				w.click(alice, stop, "kind-click")
				if tt.trigger == stopRefused {
					got = messageText(w.urlPost("kind-click", waitResult))
				} else {
					got = callText(w.waitForText("chat.update", "could not stop", waitResult))
				}
			}
			wantAll(t, "Slack got", got, "acme-prod", "eu-west-1", tt.next)
			for _, leak := range []string{"operation error", "StatusCode", "RequestID", "api error", "dial tcp", "Something went wrong"} {
				if strings.Contains(got, leak) {
					t.Errorf("Slack got %s, which shows %q", short(got), leak)
				}
			}
			if tt.name != "AssumeRole refused" && strings.Contains(got, "trust policy") {
				t.Errorf("Slack got %s, which blames the trust policy", short(got))
			}
		})
	}
}
