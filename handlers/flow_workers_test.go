package handlers_test

import (
	"fmt"
	"net/http"
	"testing"
	"time"

	"github.com/charlize-app/charlize/ec2ops/ec2sim"
)

// While many stops wait for their instances to stop (minutes in EC2), a
// bare /charlize still opens its picker within the trigger_id's 3 s: the
// waits do not hold the workers the picker needs.
func TestPickerOpensWhileManyActionsWait(t *testing.T) {
	launch := time.Now().Add(-72 * time.Hour).UTC().Truncate(time.Second)
	var fleet []ec2sim.Instance
	const n = 20
	for i := range n {
		fleet = append(fleet, ec2sim.Instance{ID: fmt.Sprintf("i-%017x", 0xe000+i), Type: "t3.micro", State: "running",
			PrivateIP: "10.0.0.1", LaunchTime: launch, Tags: map[string]string{"Name": fmt.Sprintf("app-%02d", i), "env": "prod"}})
	}
	w := newWorld(t, worldOptions{transition: 8 * time.Second, fixture: ec2sim.Fixture{Accounts: []ec2sim.FixtureAccount{
		{ID: acctProd, Regions: map[string][]ec2sim.Instance{"eu-west-1": fleet}},
	}}})
	if status, _ := w.command(alice, "list app-*", "list"); status != http.StatusOK {
		t.Fatalf("list = %d", status)
	}
	listed := w.urlPost("list", 10*time.Second)
	for i := range 20 {
		name := fmt.Sprintf("app-%02d", i)
		if status := w.click(alice, mustButtonOf(t, listed, name, "act:stop"), "stop-"+name); status != http.StatusOK {
			t.Fatalf("stop %s = %d", name, status)
		}
	}
	waitStops := func(n int) bool {
		for deadline := time.Now().Add(10 * time.Second); w.sim.Calls("StopInstances") < n; time.Sleep(10 * time.Millisecond) {
			if time.Now().After(deadline) {
				return false
			}
		}
		return true
	}
	waitStops(16) // at least as many waits as there are workers for pickers
	before := len(w.slack.Calls("views.open"))
	asked := time.Now()
	if status, _ := w.command(bob, "", "picker"); status != http.StatusOK {
		t.Fatalf("/charlize = %d", status)
	}
	w.slack.WaitFor(t, "views.open", before+1, 2*time.Second)
	t.Logf("picker opened %v after /charlize, with 20 stops waiting", time.Since(asked))
	// And no stop waited for another's wait to end before it started.
	if !waitStops(20) {
		t.Errorf("StopInstances calls = %d with every stop asked for, want 20", w.sim.Calls("StopInstances"))
	}
}
