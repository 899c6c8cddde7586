package app

import (
	"context"
	"fmt"
	"log/slog"
	"net/http/httptest"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/alicebob/miniredis/v2"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/slack-go/slack"

	"github.com/charlize-app/charlize/ec2ops"
	"github.com/charlize-app/charlize/ec2ops/action"
	"github.com/charlize-app/charlize/ec2ops/ec2sim"
	"github.com/charlize-app/charlize/handlers/policy"
	"github.com/charlize-app/charlize/handlers/slackclient"
	"github.com/charlize-app/charlize/handlers/slacktest"
	"github.com/charlize-app/charlize/store"
)

const (
	prodAccount = "111111111111"
	web1        = "i-0000000000000a001"
	testChannel = "C2147483705"
)

// takeoverEnv is a store, the simulator and a fake Slack, with an action
// that a replica which has just died left behind: it had sent StopInstances
// (the instance is stopping), posted its progress, and held the action's
// lease and the instance lock when it stopped renewing them.
type takeoverEnv struct {
	store store.Store
	sim   *ec2sim.Sim
	slack *slacktest.API
	fleet *ec2ops.Fleet
	rec   *actionRecord
	ts    string // the progress message
	// expire lets the dead replica's lease run out: miniredis moves its
	// clock only when told; the other stores keep real time.
	expire func(d time.Duration)
}

func newTakeoverEnv(t *testing.T, redis bool, deadLease time.Duration) *takeoverEnv {
	t.Helper()
	sim := ec2sim.New(ec2sim.Options{TransitionTime: 300 * time.Millisecond})
	launch := time.Now().Add(-time.Hour).UTC().Truncate(time.Second)
	if err := sim.Load(ec2sim.Fixture{Accounts: []ec2sim.FixtureAccount{{ID: prodAccount, Regions: map[string][]ec2sim.Instance{
		"eu-west-1": {{ID: web1, Type: "t3.micro", State: "running", LaunchTime: launch, Tags: map[string]string{"Name": "web-1"}}},
	}}}}); err != nil {
		t.Fatal(err)
	}
	simServer := httptest.NewServer(sim)
	t.Cleanup(simServer.Close)
	fleet, err := ec2ops.New(aws.Config{Region: "eu-west-1", BaseEndpoint: aws.String(simServer.URL),
		Credentials: credentials.NewStaticCredentialsProvider("AKID", "secret", "")},
		[]ec2ops.Account{{Name: "acme-prod", ID: prodAccount, RoleARN: "arn:aws:iam::" + prodAccount + ":role/charlize", Regions: []string{"eu-west-1"}}},
		ec2ops.Options{WaitPollInterval: 50 * time.Millisecond, WaitTimeout: 20 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	var st store.Store
	expire := time.Sleep
	if redis {
		m := miniredis.RunT(t)
		expire = m.FastForward
		st, err = store.OpenRedis("redis://"+m.Addr(), store.RedisOptions{})
	} else {
		st, err = store.OpenEmbedded(t.TempDir(), store.EmbeddedOptions{})
	}
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	api := slacktest.NewAPI(t)
	ctx := context.Background()

	// What the dead replica had done: the progress message, the StopInstances.
	_, ts, err := api.Client(slacktest.BotToken).PostMessageContext(ctx, testChannel, slack.MsgOptionText("⏳ Stopping web-1", false))
	if err != nil {
		t.Fatal(err)
	}
	inst, _ := sim.Get(prodAccount, "eu-west-1", web1)
	inst.State = ec2sim.StateStopping
	sim.Put(prodAccount, "eu-west-1", inst)

	rec := &actionRecord{
		Kind: recordKind, ID: "2f0d8c52-6a7e-4d1b-9c3a-0b1d2e3f4a5b", State: stateWaiting, Phase: action.Stop, Action: action.Stop,
		Instance: ec2ops.Instance{ID: web1, Name: "web-1", Account: "acme-prod", Region: "eu-west-1", State: "stopping"},
		TeamID:   slacktest.TeamID, Requester: "U0ALICE", Channel: testChannel,
		Origin: origin{ChannelID: testChannel, TS: ts}, Progress: origin{ChannelID: testChannel, TS: ts},
		ClickKey: store.ClickKey("00000000-0000-4000-8000-000000000001", 0, action.Stop), RequestedAt: time.Now(),
	}
	d0, err := New(Options{Store: st})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = d0.Close(ctx) })
	if err := d0.saveRecord(ctx, rec); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		key, holder string
		ttl         time.Duration
	}{
		{rec.ClickKey, rec.holder(), time.Hour},
		{store.InstanceLockKey("acme-prod", "eu-west-1", web1), rec.holder(), deadLease},
		{store.LeaseKey(rec.ID), "dead-replica", deadLease},
	} {
		if won, _, err := st.Claim(ctx, c.key, c.holder, c.ttl); err != nil || !won {
			t.Fatalf("Claim(%s) = %v, %v", c.key, won, err)
		}
	}
	return &takeoverEnv{store: st, sim: sim, slack: api, fleet: fleet, rec: rec, ts: ts, expire: expire}
}

// survivor is a replica on env that has not started its takeover loop.
func (e *takeoverEnv) survivor(t *testing.T, singleProcess bool) *Dispatcher {
	t.Helper()
	d, err := New(Options{Log: testLog(), Store: e.store, Fleet: e.fleet, Replica: "survivor", LeaseTTL: 300 * time.Millisecond,
		SingleProcess: singleProcess, ProgressInterval: time.Millisecond,
		Clients: slackclient.SingleWorkspace{API: slackclient.NewClient(slacktest.BotToken, e.slack.APIURL(), nil)}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		closeCtx, stop := context.WithTimeout(context.Background(), 10*time.Second)
		defer stop()
		_ = d.Close(closeCtx)
	})
	return d
}

// start runs a replica on env until the test ends.
func (e *takeoverEnv) start(t *testing.T, singleProcess bool) *Dispatcher {
	t.Helper()
	d := e.survivor(t, singleProcess)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); _ = d.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		<-done
	})
	return d
}

// waitFinished waits for the progress message to be edited into the result.
func (e *takeoverEnv) waitFinished(t *testing.T) string {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		for _, c := range e.slack.Calls("chat.update") {
			if c.Form.Get("ts") == e.ts && strings.Contains(c.Form.Get("blocks"), "web-1* stopped") {
				return c.Form.Get("blocks")
			}
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Fatalf("the progress message %s was never edited into the result; chat.update calls: %d", e.ts, len(e.slack.Calls("chat.update")))
	return ""
}

// A replica that died mid-wait: once its lease runs out another replica
// takes the action over, sends nothing again (the stop was sent), finishes
// the message, and frees the instance.
func TestTakeoverAfterTheLeaseRunsOut(t *testing.T) {
	eachStore(t, func(t *testing.T, redis bool) {
		e := newTakeoverEnv(t, redis, 500*time.Millisecond)
		e.start(t, false)
		e.expire(600 * time.Millisecond)
		e.waitFinished(t)
		if n := e.sim.Calls("StopInstances"); n != 0 {
			t.Errorf("StopInstances after the takeover = %d, want 0 (the dead replica had sent it)", n)
		}
		a, err := e.store.Action(context.Background(), e.rec.ID)
		if err != nil || a.Open {
			t.Errorf("the action after the takeover = %+v, %v, want settled", a, err)
		}
		lock := store.InstanceLockKey("acme-prod", "eu-west-1", web1)
		if won, holder, err := e.store.Claim(context.Background(), lock, "next-action", time.Minute); err != nil || !won {
			t.Errorf("the instance is still locked (by %q, %v) after the action ended", holder, err)
		}
		entries, _ := e.store.RecentAudit(context.Background(), 5)
		if len(entries) == 0 || entries[0].Result != store.ResultDone || entries[0].UserID != "U0ALICE" {
			t.Errorf("audit after the takeover = %+v, want alice's stop done", entries)
		}
	})
}

// On a single-process store the survivor is the dead process restarted: it
// takes the action over at start, without waiting for the lease.
func TestTakeoverAtRestartOnOneProcess(t *testing.T) {
	e := newTakeoverEnv(t, false, time.Hour)
	start := time.Now()
	e.start(t, true)
	e.waitFinished(t)
	if waited := time.Since(start); waited > 30*time.Second {
		t.Errorf("took %s", waited)
	}
	if n := e.sim.Calls("StopInstances"); n != 0 {
		t.Errorf("StopInstances = %d, want 0", n)
	}
}

// While the lease is live, the action is not taken over: its replica may
// be slow, not dead.
func TestNoTakeoverOfALiveLease(t *testing.T) {
	e := newTakeoverEnv(t, true, time.Hour)
	d := e.start(t, false)
	d.takeOver(context.Background(), false) // one look, synchronously
	time.Sleep(100 * time.Millisecond)      // a taken-over action would have edited by now
	for _, c := range e.slack.Calls("chat.update") {
		if c.Form.Get("ts") == e.ts {
			t.Fatalf("the action was taken over while its lease was live: %s", c.Form.Get("blocks"))
		}
	}
	if a, err := e.store.Action(context.Background(), e.rec.ID); err != nil || !a.Open {
		t.Errorf("the action = %+v, %v, want still open", a, err)
	}
}

// testLog writes the app's log to stderr when CHARLIZE_TEST_LOG is set.
func testLog() *slog.Logger {
	if os.Getenv("CHARLIZE_TEST_LOG") == "" {
		return slog.New(slog.DiscardHandler)
	}
	return slog.New(slog.NewTextHandler(os.Stderr, nil))
}

// asksForApproval turns env's action into one a replica accepted and died
// before asking the second person about: queued, the stop never sent.
func (e *takeoverEnv) asksForApproval(t *testing.T) {
	t.Helper()
	inst, _ := e.sim.Get(prodAccount, "eu-west-1", web1)
	inst.State = ec2sim.StateRunning
	e.sim.Put(prodAccount, "eu-west-1", inst)
	rec := *e.rec
	rec.State, rec.Phase, rec.Progress = stateQueued, "", origin{}
	rec.Instance.State = "running"
	rec.Approval = &policy.Approval{ID: "approval[0]", Says: "stop on acme-prod needs a second person's approval"}
	d, err := New(Options{Store: e.store})
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close(context.Background())
	if err := d.saveRecord(context.Background(), &rec); err != nil {
		t.Fatal(err)
	}
	e.rec = &rec
}

// approvalRequests are the requests for approval posted in the channel.
func (e *takeoverEnv) approvalRequests() int {
	n := 0
	for _, c := range e.slack.Calls("chat.postMessage") {
		if strings.Contains(c.Form.Get("blocks"), "approval:approve") {
			n++
		}
	}
	return n
}

// waitLeaseFree waits until nobody holds the action's lease: the run that
// took it has given it back.
func (e *takeoverEnv) waitLeaseFree(t *testing.T) {
	t.Helper()
	ctx, key := context.Background(), store.LeaseKey(e.rec.ID)
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
		won, _, err := e.store.Claim(ctx, key, "probe", time.Minute)
		if err != nil {
			t.Fatal(err)
		}
		if won {
			if err := e.store.ReleaseClaim(ctx, key, "probe"); err != nil {
				t.Fatal(err)
			}
			return
		}
	}
	t.Fatal("the action's lease was never given back")
}

// Defect: an action that needed a second person's approval, accepted by a
// replica that died before posting the request, was taken over and run
// without anyone approving it. The replica that takes it over asks for
// the approval; while another run holds the request's posting (still
// posting, or dead and not yet lapsed) it waits, so the request is posted
// once.
func TestTakeoverAsksForAnApprovalNotYetAskedFor(t *testing.T) {
	eachStore(t, func(t *testing.T, redis bool) {
		ctx := context.Background()
		e := newTakeoverEnv(t, redis, 500*time.Millisecond)
		e.asksForApproval(t)
		posting := store.ApprovalDecisionKey(e.rec.ID)
		if won, _, err := e.store.Claim(ctx, posting, postingHolder, time.Hour); err != nil || !won {
			t.Fatalf("Claim(posting) = %v, %v", won, err)
		}
		e.expire(600 * time.Millisecond)
		d := e.survivor(t, false)

		d.takeOver(ctx, false)
		e.waitLeaseFree(t)
		if n := e.approvalRequests(); n != 0 {
			t.Errorf("requests posted while another run held the posting = %d, want 0", n)
		}

		if err := e.store.ReleaseClaim(ctx, posting, postingHolder); err != nil {
			t.Fatal(err)
		}
		d.takeOver(ctx, false)
		// The run frees the lease before it posts: wait for the post,
		// then for the run to end.
		for deadline := time.Now().Add(10 * time.Second); e.approvalRequests() == 0 && time.Now().Before(deadline); {
			time.Sleep(10 * time.Millisecond)
		}
		closeCtx, stop := context.WithTimeout(ctx, 10*time.Second)
		defer stop()
		if err := d.Close(closeCtx); err != nil {
			t.Fatal(err)
		}
		if n := e.approvalRequests(); n != 1 {
			t.Errorf("requests posted = %d, want 1", n)
		}
		if n := e.sim.Calls("StopInstances"); n != 0 {
			t.Errorf("StopInstances = %d before anyone approved, want 0", n)
		}
		if inst, _ := e.sim.Get(prodAccount, "eu-west-1", web1); inst.State != ec2sim.StateRunning {
			t.Errorf("web-1 is %s before anyone approved, want running", inst.State)
		}
		a, err := e.store.Action(ctx, e.rec.ID)
		if err != nil || !a.Open || !strings.Contains(string(a.Data), string(stateAwaitingApproval)) {
			t.Errorf("the action after the takeover = %s, %v, want open and awaiting approval", a.Data, err)
		}
	})
}

// The requester of an action taken over before it started hears how it
// went through their click's response_url: here the instance stopped
// meanwhile, so the stop is refused, as it would have been before the
// replica died (with or without a second person's approval to ask for).
func TestTakeoverOfARefusedActionTellsTheRequester(t *testing.T) {
	for _, approval := range []bool{false, true} {
		t.Run(fmt.Sprintf("approval=%t", approval), func(t *testing.T) {
			ctx := context.Background()
			e := newTakeoverEnv(t, false, 500*time.Millisecond)
			e.asksForApproval(t)
			if !approval {
				e.rec.Approval = nil
			}
			e.rec.Origin.ResponseURL = e.slack.ResponseURL("req1")
			d := e.survivor(t, false)
			if err := d.saveRecord(ctx, e.rec); err != nil {
				t.Fatal(err)
			}
			inst, _ := e.sim.Get(prodAccount, "eu-west-1", web1)
			inst.State = ec2sim.StateStopped
			e.sim.Put(prodAccount, "eu-west-1", inst)
			e.expire(600 * time.Millisecond)

			d.takeOver(ctx, false)
			told := e.slack.WaitFor(t, slacktest.MethodResponseURL, 1, 10*time.Second)
			if got := told[0].Message.Text; !strings.Contains(got, "already stopped") || told[0].ResponseURLID != "req1" {
				t.Errorf("the requester was told %q on %s, want the stop refused (web-1 is already stopped) on req1", got, told[0].ResponseURLID)
			}
			if n := e.approvalRequests(); n != 0 {
				t.Errorf("requests posted = %d for a refused stop, want 0", n)
			}
			if n := e.sim.Calls("StopInstances"); n != 0 {
				t.Errorf("StopInstances = %d, want 0", n)
			}
		})
	}
}

// eachStore runs f on the embedded store and on Redis (miniredis).
func eachStore(t *testing.T, f func(t *testing.T, redis bool)) {
	for _, tc := range []struct {
		name  string
		redis bool
	}{{"embedded", false}, {"redis", true}} {
		t.Run(tc.name, func(t *testing.T) { f(t, tc.redis) })
	}
}
