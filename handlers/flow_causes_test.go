package handlers_test

import (
	"net"
	"strings"
	"testing"

	"github.com/charlize-app/charlize/ec2ops/ec2sim"
)

// closedLoopbackURL is an endpoint on a loopback port nothing listens on.
func closedLoopbackURL(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	return "http://" + addr
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
	for _, want := range []string{"acme-prod/eu-west-1", "acme-dev/us-east-1", "can't reach AWS", "the connection was refused", "check its network access to AWS"} {
		if !strings.Contains(text, want) {
			t.Errorf("list with AWS unreachable = %s, want %q", short(text), want)
		}
	}
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
	for _, want := range []string{"dev-1", "acme-dev (us-east-1)", "check the role's trust policy and external id"} {
		if !strings.Contains(text, want) {
			t.Errorf("status dev-1 = %s, want %q", short(text), want)
		}
	}
	if strings.Contains(text, "acme-prod (") {
		t.Errorf("status dev-1 = %s names acme-prod, which was read", short(text))
	}
}

// An action whose AWS call is cut off says AWS could not be reached, not
// "something went wrong", and names the account.
func TestActionCutOffIsWordedAsUnreachable(t *testing.T) {
	t.Parallel()
	w := newWorld(t, worldOptions{})
	stop := mustButton(t, w.instanceCard("web-1", "cut-card"), "act:stop", "")
	w.sim.AddFault(ec2sim.Fault{Action: "StopInstances", Drop: true})
	w.click(alice, stop, "cut-click")
	failed := callText(w.waitForText("chat.update", "could not stop", waitResult))
	for _, want := range []string{"can't reach AWS", "acme-prod (eu-west-1)"} {
		if !strings.Contains(failed, want) {
			t.Errorf("result = %s, want %q", short(failed), want)
		}
	}
	if strings.Contains(failed, "Something went wrong") {
		t.Errorf("result = %s, want the cause, not a reference", short(failed))
	}
}
