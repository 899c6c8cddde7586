package handlers_test

import (
	"fmt"
	"net/http"
	"testing"
	"time"

	"github.com/jonboulle/clockwork"

	"github.com/charlize-app/charlize/ec2ops"
	"github.com/charlize-app/charlize/ec2ops/ec2sim"
	"github.com/charlize-app/charlize/handlers/app"
)

// twentyStopping is a world of twenty running instances, app-00 to app-19,
// whose Stop buttons alice has pressed; it returns once every stop has
// reached AWS, none queued behind another's wait.
func twentyStopping(t *testing.T, o worldOptions) *world {
	t.Helper()
	const n = 20
	launch := time.Now().Add(-72 * time.Hour).UTC().Truncate(time.Second)
	var fleet []ec2sim.Instance
	for i := range n {
		fleet = append(fleet, ec2sim.Instance{ID: fmt.Sprintf("i-%017x", 0xe000+i), Type: "t3.micro", State: "running",
			PrivateIP: "10.0.0.1", LaunchTime: launch, Tags: map[string]string{"Name": fmt.Sprintf("app-%02d", i), "env": "prod"}})
	}
	o.fixture = ec2sim.Fixture{Accounts: []ec2sim.FixtureAccount{{ID: acctProd, Regions: map[string][]ec2sim.Instance{"eu-west-1": fleet}}}}
	w := newWorld(t, o)
	if status, _ := w.command(alice, "list app-*", "list"); status != http.StatusOK {
		t.Fatalf("list = %d", status)
	}
	listed := w.urlPost("list", 10*time.Second)
	for i := range n {
		name := fmt.Sprintf("app-%02d", i)
		if status := w.click(alice, mustButtonOf(t, listed, name, "act:stop"), "stop-"+name); status != http.StatusOK {
			t.Fatalf("stop %s = %d", name, status)
		}
	}
	for deadline := time.Now().Add(10 * time.Second); w.sim.Calls("StopInstances") < n; time.Sleep(10 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("StopInstances calls = %d after 10s with %d stops asked for, want every stop under way", w.sim.Calls("StopInstances"), n)
		}
	}
	return w
}

// pickerOpensInTime sends a bare /charlize and fails unless its picker
// opens within 2 s, what Slack's 3 s trigger_id leaves once Slack has
// taken its share.
func pickerOpensInTime(t *testing.T, w *world, behind string) {
	t.Helper()
	before := len(w.slack.Calls("views.open"))
	asked := time.Now()
	if status, _ := w.command(bob, "", "picker"); status != http.StatusOK {
		t.Fatalf("/charlize = %d", status)
	}
	w.slack.WaitFor(t, "views.open", before+1, 20*time.Second)
	if took := time.Since(asked); took > 2*time.Second {
		t.Errorf("the picker opened %v after /charlize, too late for its trigger_id, behind %s", took.Round(100*time.Millisecond), behind)
	}
}

// While many stops wait for their instances to stop (minutes in EC2), a
// bare /charlize still opens its picker in time: the waits hold neither
// the workers the picker needs nor each other.
func TestPickerOpensWhileManyActionsWait(t *testing.T) {
	w := twentyStopping(t, worldOptions{transition: 8 * time.Second})
	pickerOpensInTime(t, w, "20 stops waiting for their instances")
}

// Twenty stops end together and each posts its line in the audit channel,
// which Slack paces (429 with Retry-After). Those posts wait out the rate
// limit apart from the workers the picker needs.
func TestPickerOpensWhileAuditPostsWaitForSlack(t *testing.T) {
	const auditChan = "C0AUDIT"
	w := twentyStopping(t, worldOptions{transition: 2 * time.Second, auditChannel: auditChan})
	// Every progress message is up (posted before its StopInstances); from
	// now on chat.postMessage is the audit channel's, and Slack paces it.
	w.slack.RateLimit("chat.postMessage", 2*time.Second, 40)
	auditPosts := func() int {
		k := 0
		for _, c := range w.slack.Calls("chat.postMessage") {
			if c.Form.Get("channel") == auditChan {
				k++
			}
		}
		return k
	}
	for deadline := time.Now().Add(15 * time.Second); auditPosts() < 16; time.Sleep(10 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("audit channel posts = %d, want the stops ending", auditPosts())
		}
	}
	pickerOpensInTime(t, w, "audit channel posts waiting out Slack's rate limit")
}

// A schedule's stop of more instances than actions may run or wait at once
// stops every one: those past the queue are left queued, durable, and
// carried out as room frees, instead of failing as "busy".
func TestScheduledStopsPastTheActionQueueAreAllCarriedOut(t *testing.T) {
	clock := clockwork.NewFakeClockAt(scheduleStart)
	w := newWorld(t, worldOptions{clock: clock, scheduleChannel: channel, tune: func(o *app.Options) {
		o.ActionWorkers, o.ActionQueue = 1, 1
	}})
	w.mustCommandSays(alice, officeHours, "Schedule *office-hours* created")
	for _, name := range []string{"web-1", "web-2", "db-1"} {
		w.mustCommandSays(alice, "schedule "+name+" office-hours", name+" now follows *office-hours*")
	}
	advanceTo(t, clock, 1, stopUTC.Add(-15*time.Minute))
	ts, _ := w.occurrenceMessage("acme-prod")
	advanceTo(t, clock, 1, stopUTC)
	w.waitForEdit(ts, "stopped 3 of 3 instances")
	for _, id := range []string{"i-0000000000000a001", "i-0000000000000a002", "i-0000000000000d001"} {
		if got := w.state("acme-prod", "eu-west-1", id); got != ec2ops.StateStopped {
			t.Errorf("%s is %s after the schedule's stop, want stopped", id, got)
		}
	}
}
