package ec2ops_test

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/charlize-app/charlize/ec2ops"
	"github.com/charlize-app/charlize/ec2ops/action"
	"github.com/charlize-app/charlize/ec2ops/ec2sim"
)

// manyRunning is a fixture of n running instances in acme-prod's eu-west-1.
func manyRunning(n int) (ec2sim.Fixture, []ec2ops.Account, []string) {
	var insts []ec2sim.Instance
	var ids []string
	for i := range n {
		id := fmt.Sprintf("i-00000000000f%05d", i)
		insts = append(insts, ec2sim.Instance{ID: id, Type: "t3.micro", State: "running"})
		ids = append(ids, id)
	}
	fixture := ec2sim.Fixture{Accounts: []ec2sim.FixtureAccount{{ID: prodID, Regions: map[string][]ec2sim.Instance{"eu-west-1": insts}}}}
	accounts := []ec2ops.Account{{Name: "acme-prod", ID: prodID, RoleARN: prodRole, Regions: []string{"eu-west-1"}}}
	return fixture, accounts, ids
}

// stopAll stops ids at once; progress(id) hears the wait for id.
func stopAll(t *testing.T, env *testEnv, ids []string, progress func(id string) func(ec2ops.Progress)) {
	t.Helper()
	var wg sync.WaitGroup
	for _, id := range ids {
		wg.Go(func() {
			res, err := env.fleet.Do(context.Background(), prodReq(action.Stop, id), progress(id))
			switch {
			case err != nil:
				t.Errorf("Do(stop %s) = %v", id, err)
			case res.Instance.State != ec2ops.StateStopped:
				t.Errorf("Do(stop %s) ended %s, want stopped", id, res.Instance.State)
			}
		})
	}
	wg.Wait()
}

// A schedule's stop of dozens of instances in one account and region
// waits for all of them: their polls share DescribeInstances calls, at most
// one per spacing, instead of each polling EC2 on its own (which spends the
// account's API budget that its owners' other tools share).
func TestDoWaitsShareTheirPolls(t *testing.T) {
	const n, spacing = 40, 100 * time.Millisecond
	fixture, accounts, ids := manyRunning(n)
	env := mustEnv(t, envConfig{fixture: fixture, accounts: accounts,
		sim:  ec2sim.Options{TransitionTime: 600 * time.Millisecond},
		opts: ec2ops.Options{WaitPollInterval: 20 * time.Millisecond, WaitPollSpacing: spacing}})
	// Counted once every stop waits: before that, stops still starting
	// make their own describes, which are not polls.
	var waits, before atomic.Int64
	var started atomic.Pointer[time.Time]
	stopAll(t, env, ids, func(string) func(ec2ops.Progress) {
		var once sync.Once
		return func(ec2ops.Progress) {
			once.Do(func() {
				if waits.Add(1) == n {
					now := time.Now()
					started.Store(&now)
					before.Store(int64(env.sim.Calls("DescribeInstances")))
				}
			})
		}
	})
	if started.Load() == nil {
		t.Fatalf("%d of %d stops reported waiting", waits.Load(), n)
	}
	took := time.Since(*started.Load())
	polls := env.sim.Calls("DescribeInstances") - int(before.Load())
	// On their own, 40 waits polling every 20-60 ms for 600 ms would make
	// several hundred calls.
	if most := int(took/spacing) + 2; polls > most {
		t.Errorf("%d waits made %d DescribeInstances calls in %v, want at most %d (one per %v)", n, polls, took.Round(time.Millisecond), most, spacing)
	}
	shared := 0
	for _, c := range env.sim.CallLog() {
		if c.Action == "DescribeInstances" && len(c.InstanceIDs) > 1 {
			shared++
		}
	}
	if shared == 0 {
		t.Errorf("no DescribeInstances asked for more than one instance")
	}
}

// EC2 refuses a whole DescribeInstances when it does not know one of its
// instances: the waits of a refused shared call each ask on their own, and
// every stop still ends stopped.
func TestDoWaitsSharedPollRefusedAskAlone(t *testing.T) {
	const n = 12
	fixture, accounts, ids := manyRunning(n)
	env := mustEnv(t, envConfig{fixture: fixture, accounts: accounts,
		sim:  ec2sim.Options{TransitionTime: 400 * time.Millisecond},
		opts: ec2ops.Options{WaitPollInterval: 20 * time.Millisecond, WaitPollSpacing: 100 * time.Millisecond}})
	var waits atomic.Int64
	stopAll(t, env, ids, func(string) func(ec2ops.Progress) {
		var once sync.Once
		return func(ec2ops.Progress) {
			once.Do(func() {
				if waits.Add(1) == n {
					// Every stop is waiting: the next poll is a shared one.
					env.sim.AddFault(ec2sim.Fault{Action: "DescribeInstances", Code: "InvalidInstanceID.NotFound", Times: 1})
				}
			})
		}
	})
	if waits.Load() != n {
		t.Errorf("%d of %d stops reported waiting", waits.Load(), n)
	}
}

// stopAllFaulted stops n instances at once and, when every stop is
// waiting, injects fault: the next poll is a shared one.
func stopAllFaulted(t *testing.T, n int, opts ec2ops.Options, fault ec2sim.Fault) {
	t.Helper()
	fixture, accounts, ids := manyRunning(n)
	opts.WaitPollInterval, opts.WaitPollSpacing = 20*time.Millisecond, 100*time.Millisecond
	env := mustEnv(t, envConfig{fixture: fixture, accounts: accounts,
		sim: ec2sim.Options{TransitionTime: 400 * time.Millisecond}, opts: opts})
	var waits atomic.Int64
	stopAll(t, env, ids, func(string) func(ec2ops.Progress) {
		var once sync.Once
		return func(ec2ops.Progress) {
			once.Do(func() {
				if waits.Add(1) == int64(n) {
					env.sim.AddFault(fault)
				}
			})
		}
	})
}

// One shared poll that EC2 failed (a 500 on each of the SDK's three
// attempts) failed every stop waiting in it, although each had gone out:
// 12 of 12 reported failed. A poll failed on EC2's side is polled again.
func TestDoWaitsOutlastAFailedSharedPoll(t *testing.T) {
	stopAllFaulted(t, 12, ec2ops.Options{}, ec2sim.Fault{Action: "DescribeInstances", Code: "InternalError", Times: 3})
}

// A shared poll slower than its own bound (30 s; EC2 slow, a stalled
// connection) failed its waits as if their ten minutes had passed: "not
// stopped after 10m0s", 30 s in. It is polled again.
func TestDoWaitsOutlastASharedPollsTimeout(t *testing.T) {
	stopAllFaulted(t, 4, ec2ops.Options{WaitPollTimeout: 200 * time.Millisecond},
		ec2sim.Fault{Action: "DescribeInstances", Delay: time.Second, Times: 1})
}
