package ec2ops_test

import (
	"context"
	"errors"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/charlize-app/charlize/ec2ops"
	"github.com/charlize-app/charlize/ec2ops/action"
	"github.com/charlize-app/charlize/ec2ops/ec2sim"
)

// Instances from testFixture.
const (
	web1 = "i-0000000000000a001" // running
	web2 = "i-0000000000000a002" // stopped
	db1  = "i-0000000000000a003" // running, termination protected
)

func prodReq(action action.Action, id string) ec2ops.ActionRequest {
	return ec2ops.ActionRequest{Action: action, Account: "acme-prod", Region: "eu-west-1", InstanceID: id, Actor: "U42 (alice)"}
}

// mutatingCalls returns the sim's mutating EC2 calls.
func mutatingCalls(sim *ec2sim.Sim) []ec2sim.Call {
	return slices.DeleteFunc(sim.CallLog(), func(c ec2sim.Call) bool {
		if c.DryRun {
			return true
		}
		switch c.Action {
		case "StartInstances", "StopInstances", "RebootInstances", "TerminateInstances":
			return false
		}
		return true
	})
}

func TestDo(t *testing.T) {
	tests := []struct {
		action    action.Action
		id        string
		wantState string
		wantCalls []string // mutating calls in order
		wantSeen  []string // states progress must report, in order (others may be between)
	}{
		{action.Start, web2, "running", []string{"StartInstances"}, []string{"pending", "running"}},
		{action.Stop, web1, "stopped", []string{"StopInstances"}, []string{"stopping", "stopped"}},
		{action.Reboot, web1, "running", []string{"RebootInstances"}, nil},
		{action.Restart, web1, "running", []string{"StopInstances", "StartInstances"}, []string{"stopping", "stopped", "pending", "running"}},
		{action.Terminate, web1, "terminated", []string{"TerminateInstances"}, []string{"shutting-down", "terminated"}},
		{action.Status, web1, "running", nil, nil},
	}
	for _, tt := range tests {
		t.Run(string(tt.action), func(t *testing.T) {
			env := mustEnv(t, envConfig{})
			var progress []ec2ops.Progress
			res, err := env.fleet.Do(context.Background(), prodReq(tt.action, tt.id), func(p ec2ops.Progress) {
				progress = append(progress, p)
			})
			if err != nil {
				t.Fatalf("Do(%s %s) = %v", tt.action, tt.id, err)
			}
			if res.Instance.State != tt.wantState || res.Instance.ID != tt.id {
				t.Errorf("Do(%s).Instance = %s %s, want %s %s", tt.action, res.Instance.ID, res.Instance.State, tt.id, tt.wantState)
			}
			if got, _ := env.sim.Get(prodID, "eu-west-1", tt.id); got.State != tt.wantState {
				t.Errorf("simulator state after %s = %s, want %s", tt.action, got.State, tt.wantState)
			}
			var calls []string
			for _, c := range mutatingCalls(env.sim) {
				calls = append(calls, c.Action)
				// CloudTrail must show who clicked.
				if c.SessionName != "slack-U42__alice_" || c.SourceIdentity != "slack-U42__alice_" {
					t.Errorf("%s ran as session %q source identity %q, want the acting user", c.Action, c.SessionName, c.SourceIdentity)
				}
				if !slices.Equal(c.InstanceIDs, []string{tt.id}) {
					t.Errorf("%s instance ids = %v, want [%s]", c.Action, c.InstanceIDs, tt.id)
				}
			}
			if diff := cmp.Diff(tt.wantCalls, calls); diff != "" {
				t.Errorf("mutating calls (-want +got):\n%s", diff)
			}
			// Reads stay on the shared session.
			for _, c := range env.sim.CallLog() {
				if strings.HasPrefix(c.Action, "Describe") && c.SessionName != "charlize" {
					t.Errorf("%s used session %q, want the shared read session", c.Action, c.SessionName)
				}
			}
			var seen []string
			for i, p := range progress {
				if len(seen) == 0 || seen[len(seen)-1] != p.State {
					seen = append(seen, p.State)
				}
				if i > 0 && p.Elapsed < progress[i-1].Elapsed {
					t.Errorf("progress elapsed went backwards: %v", progress)
				}
			}
			if !containsInOrder(seen, tt.wantSeen) {
				t.Errorf("progress states %v, want to see %v in order", seen, tt.wantSeen)
			}
		})
	}
}

// containsInOrder reports whether want is a subsequence of got.
func containsInOrder(got, want []string) bool {
	i := 0
	for _, g := range got {
		if i < len(want) && g == want[i] {
			i++
		}
	}
	return i == len(want)
}

func TestDoRefusals(t *testing.T) {
	tests := []struct {
		name    string
		req     ec2ops.ActionRequest
		fault   *ec2sim.Fault
		kind    ec2ops.Kind
		message string
	}{
		{name: "already stopped", req: prodReq(action.Stop, web2), kind: ec2ops.KindInvalidState,
			message: "web-2 in acme-prod (eu-west-1) is already stopped"},
		{name: "already running", req: prodReq(action.Start, web1), kind: ec2ops.KindInvalidState,
			message: "web-1 in acme-prod (eu-west-1) is already running"},
		{name: "reboot stopped", req: prodReq(action.Reboot, web2), kind: ec2ops.KindInvalidState,
			message: "web-2 in acme-prod (eu-west-1) is stopped; start it instead"},
		{name: "termination protection", req: prodReq(action.Terminate, db1), kind: ec2ops.KindProtected,
			message: "termination protection is on for db-1 in acme-prod (eu-west-1) — turn it off with `aws ec2 modify-instance-attribute --region eu-west-1 --instance-id " + db1 + " --no-disable-api-termination` or in the console, then try again"},
		{name: "not found", req: prodReq(action.Stop, "i-0000000000000ffff"), kind: ec2ops.KindNotFound,
			message: "there is no instance i-0000000000000ffff in acme-prod (eu-west-1) that Charlize can see — check the id, account and region"},
		{name: "unauthorized", req: prodReq(action.Stop, web1), kind: ec2ops.KindAccessDenied,
			fault:   &ec2sim.Fault{Action: "StopInstances", Code: "UnauthorizedOperation"},
			message: "the role " + prodRole + " lacks ec2:StopInstances in acme-prod (eu-west-1) — an AWS admin can grant it in the role's IAM policy"},
		{name: "incorrect state from AWS", req: prodReq(action.Stop, web1), kind: ec2ops.KindInvalidState,
			fault:   &ec2sim.Fault{Action: "StopInstances", Code: "IncorrectInstanceState"},
			message: "web-1 in acme-prod (eu-west-1) is not in a state that allows stop"},
		{name: "operation not permitted", req: prodReq(action.Stop, web1), kind: ec2ops.KindNotPermitted,
			fault:   &ec2sim.Fault{Action: "StopInstances", Code: "OperationNotPermitted", Message: "Instances with instance store volumes cannot be stopped."},
			message: "AWS does not allow stop on web-1 in acme-prod (eu-west-1): Instances with instance store volumes cannot be stopped."},
		{name: "protection turned on after the check", req: prodReq(action.Terminate, web1), kind: ec2ops.KindProtected,
			fault:   &ec2sim.Fault{Action: "TerminateInstances", Code: "OperationNotPermitted"},
			message: "termination protection is on for web-1 in acme-prod (eu-west-1) — turn it off with `aws ec2 modify-instance-attribute --region eu-west-1 --instance-id " + web1 + " --no-disable-api-termination` or in the console, then try again"},
		{name: "throttled", req: prodReq(action.Start, web2), kind: ec2ops.KindThrottled,
			fault:   &ec2sim.Fault{Action: "StartInstances", Code: "RequestLimitExceeded"},
			message: "AWS is throttling Charlize's requests in acme-prod (eu-west-1); try again in a minute"},
		{name: "actor's assume role denied", req: prodReq(action.Stop, web1), kind: ec2ops.KindAssumeRole,
			fault:   &ec2sim.Fault{Action: "AssumeRole", Code: "AccessDenied"},
			message: "Charlize could not assume the role " + prodRole + " for acme-prod (eu-west-1) — AWS refused sts:AssumeRole; check the role's trust policy and external id"},
		{name: "expired token on assume role", req: prodReq(action.Stop, web1), kind: ec2ops.KindExpired,
			fault:   &ec2sim.Fault{Action: "AssumeRole", Code: "ExpiredToken"},
			message: "Charlize's own AWS credentials have expired, so it cannot reach acme-prod (eu-west-1); whoever runs Charlize needs to renew them"},
		{name: "no actor", req: ec2ops.ActionRequest{Action: action.Stop, Account: "acme-prod", Region: "eu-west-1", InstanceID: web1},
			kind: ec2ops.KindInvalidRequest, message: "an action needs the acting user, for the audit trail"},
		{name: "unknown account", req: ec2ops.ActionRequest{Action: action.Stop, Account: "nope", Region: "eu-west-1", InstanceID: web1, Actor: "a"},
			kind: ec2ops.KindInvalidRequest, message: `there is no account named "nope"`},
		{name: "region not configured", req: ec2ops.ActionRequest{Action: action.Stop, Account: "acme-prod", Region: "ap-south-1", InstanceID: web1, Actor: "a"},
			kind: ec2ops.KindInvalidRequest, message: `account acme-prod is not configured for region "ap-south-1"`},
		{name: "malformed id", req: prodReq(action.Stop, "web-1"), kind: ec2ops.KindInvalidRequest,
			message: `"web-1" is not an instance id (i-…)`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			env := mustEnv(t, envConfig{})
			ctx := context.Background()
			if tt.fault != nil && tt.fault.Action == "AssumeRole" {
				// Warm the shared read session so only the actor's AssumeRole fails.
				if _, err := env.fleet.List(ctx, mustParse(t, "acme-prod")); err != nil {
					t.Fatal(err)
				}
			}
			if tt.fault != nil {
				env.sim.AddFault(*tt.fault)
			}
			_, err := env.fleet.Do(ctx, tt.req, nil)
			var e *ec2ops.Error
			if !errors.As(err, &e) {
				t.Fatalf("Do(%+v) = %v (%T), want *ec2ops.Error", tt.req, err, err)
			}
			if !errors.Is(err, tt.kind) {
				t.Errorf("Do error kind = %v, want %v (%v)", e.Kind, tt.kind, err)
			}
			if got := e.UserMessage(); got != tt.message {
				t.Errorf("UserMessage() = %q, want %q", got, tt.message)
			}
			assertNoRequestID(t, e.UserMessage())
			if !strings.HasPrefix(e.Error(), "ec2ops.Do "+string(tt.req.Action)) || !strings.Contains(e.Error(), tt.kind.String()) {
				t.Errorf("Error() = %q, want op and kind", e.Error())
			}
			if tt.fault == nil {
				if calls := mutatingCalls(env.sim); len(calls) > 0 {
					t.Errorf("refused action still called %v", calls)
				}
			}
		})
	}
}

func TestCheck(t *testing.T) {
	env := mustEnv(t, envConfig{})
	ctx := context.Background()
	d, err := env.fleet.Check(ctx, prodReq(action.Stop, web1))
	if err != nil || d.Name != "web-1" || d.State != "running" {
		t.Errorf("Check(stop web-1) = %+v, %v", d, err)
	}
	if _, err := env.fleet.Check(ctx, prodReq(action.Terminate, db1)); !errors.Is(err, ec2ops.KindProtected) {
		t.Errorf("Check(terminate db-1) = %v, want KindProtected", err)
	}
	if _, err := env.fleet.Check(ctx, prodReq(action.Stop, web2)); !errors.Is(err, ec2ops.KindInvalidState) {
		t.Errorf("Check(stop web-2) = %v, want KindInvalidState", err)
	}
	if calls := mutatingCalls(env.sim); len(calls) > 0 {
		t.Errorf("Check made mutating calls %v", calls)
	}
	det, err := env.fleet.Describe(ctx, "acme-prod", "eu-west-1", db1)
	if err != nil || !det.TerminationProtected || det.Name != "db-1" {
		t.Errorf("Describe(db-1) = %+v, %v, want termination protected", det, err)
	}
}

func TestDoSourceIdentityDenied(t *testing.T) {
	fixture := testFixture()
	fixture.Accounts[0].DenySourceIdentity = true
	env := mustEnv(t, envConfig{fixture: fixture})
	ctx := context.Background()
	for _, actor := range []string{"alice", "bob"} {
		req := prodReq(action.Reboot, web1)
		req.Actor = actor
		if _, err := env.fleet.Do(ctx, req, nil); err != nil {
			t.Fatalf("Do(reboot as %s) = %v", actor, err)
		}
	}
	var assumes []string
	for _, c := range env.sim.CallLog() {
		if c.Action == "AssumeRole" {
			assumes = append(assumes, c.SessionName+"/"+c.SourceIdentity)
		}
	}
	// The read session; alice with SourceIdentity (denied) and without;
	// bob straight without, since the role is known to refuse it.
	want := []string{"charlize/", "slack-alice/slack-alice", "slack-alice/", "slack-bob/"}
	if diff := cmp.Diff(want, assumes); diff != "" {
		t.Errorf("AssumeRole session/source identity (-want +got):\n%s", diff)
	}
	var reboots []string
	for _, c := range mutatingCalls(env.sim) {
		reboots = append(reboots, c.SessionName)
	}
	if diff := cmp.Diff([]string{"slack-alice", "slack-bob"}, reboots); diff != "" {
		t.Errorf("RebootInstances sessions (-want +got):\n%s", diff)
	}
}

func TestDoActorSessionsCached(t *testing.T) {
	env := mustEnv(t, envConfig{})
	ctx := context.Background()
	for _, a := range []action.Action{action.Stop, action.Start, action.Reboot} {
		if _, err := env.fleet.Do(ctx, prodReq(a, web1), nil); err != nil {
			t.Fatalf("Do(%s) = %v", a, err)
		}
	}
	if got := env.sim.Calls("AssumeRole"); got != 2 {
		t.Errorf("AssumeRole calls = %d, want 2 (shared read session + one for the actor)", got)
	}
}

// TestDoConcurrentActors races actions by different users: each mutating
// call must carry its own user's session.
func TestDoConcurrentActors(t *testing.T) {
	var insts []ec2sim.Instance
	for i := range 8 {
		insts = append(insts, ec2sim.Instance{ID: "i-0000000000000e00" + string(rune('0'+i)), State: "running"})
	}
	fixture := ec2sim.Fixture{Accounts: []ec2sim.FixtureAccount{{ID: prodID, Regions: map[string][]ec2sim.Instance{"eu-west-1": insts}}}}
	env := mustEnv(t, envConfig{fixture: fixture, accounts: []ec2ops.Account{{Name: "acme-prod", ID: prodID, RoleARN: prodRole, Regions: []string{"eu-west-1"}}}})
	var wg sync.WaitGroup
	for i, inst := range insts {
		wg.Go(func() {
			req := prodReq(action.Stop, inst.ID)
			req.Actor = "user" + string(rune('0'+i%3))
			if _, err := env.fleet.Do(context.Background(), req, nil); err != nil {
				t.Errorf("Do(stop %s) = %v", inst.ID, err)
			}
		})
	}
	wg.Wait()
	for _, c := range mutatingCalls(env.sim) {
		n := c.InstanceIDs[0][len(c.InstanceIDs[0])-1] - '0'
		if want := "slack-user" + string(rune('0'+n%3)); c.SessionName != want {
			t.Errorf("stop of %s ran as %q, want %q", c.InstanceIDs[0], c.SessionName, want)
		}
	}
	if got := env.sim.Calls("AssumeRole"); got != 4 {
		t.Errorf("AssumeRole calls = %d, want 4 (read session + 3 users)", got)
	}
}

func TestDoWaitTimeout(t *testing.T) {
	env := mustEnv(t, envConfig{
		sim:  ec2sim.Options{TransitionTime: time.Hour},
		opts: ec2ops.Options{WaitTimeout: 100 * time.Millisecond, WaitPollInterval: 10 * time.Millisecond},
	})
	_, err := env.fleet.Do(context.Background(), prodReq(action.Stop, web1), nil)
	var e *ec2ops.Error
	if !errors.As(err, &e) || e.Kind != ec2ops.KindTimeout {
		t.Fatalf("Do(stop) = %v, want KindTimeout", err)
	}
	if want := "gave up waiting for web-1 in acme-prod (eu-west-1) to be stopped after 100ms; it was last seen stopping — it may still get there: look at its status again in a few minutes"; e.UserMessage() != want {
		t.Errorf("UserMessage() = %q, want %q", e.UserMessage(), want)
	}
}

// TestDoUnexpectedState: the instance is terminated by someone else while
// we wait for it to start.
func TestDoUnexpectedState(t *testing.T) {
	env := mustEnv(t, envConfig{sim: ec2sim.Options{TransitionTime: 200 * time.Millisecond}})
	once := sync.Once{}
	_, err := env.fleet.Do(context.Background(), prodReq(action.Start, web2), func(p ec2ops.Progress) {
		once.Do(func() {
			inst, _ := env.sim.Get(prodID, "eu-west-1", web2)
			inst.State = "shutting-down"
			env.sim.Put(prodID, "eu-west-1", inst)
		})
	})
	var e *ec2ops.Error
	if !errors.As(err, &e) || e.Kind != ec2ops.KindInvalidState {
		t.Fatalf("Do(start) = %v, want KindInvalidState", err)
	}
	if want := "web-2 in acme-prod (eu-west-1) became shutting-down while Charlize was waiting for it to be running; look at its status to see where it is now"; e.UserMessage() != want {
		t.Errorf("UserMessage() = %q, want %q", e.UserMessage(), want)
	}
}

// A stop that someone turns back (the instance started again while it was
// stopping) ends by saying so, not by waiting out WaitTimeout.
func TestDoTurnedBack(t *testing.T) {
	env := mustEnv(t, envConfig{sim: ec2sim.Options{TransitionTime: 500 * time.Millisecond}})
	var once sync.Once
	_, err := env.fleet.Do(context.Background(), prodReq(action.Stop, web1), func(p ec2ops.Progress) {
		if p.State != ec2ops.StateStopping {
			return
		}
		once.Do(func() {
			inst, _ := env.sim.Get(prodID, "eu-west-1", web1)
			inst.State = ec2sim.StateRunning
			env.sim.Put(prodID, "eu-west-1", inst)
		})
	})
	var e *ec2ops.Error
	if !errors.As(err, &e) || e.Kind != ec2ops.KindInvalidState || e.State != ec2ops.StateRunning {
		t.Fatalf("Do(stop) turned back = %v, want KindInvalidState, now running", err)
	}
	if !strings.Contains(e.UserMessage(), "became running while Charlize was waiting for it to be stopped") {
		t.Errorf("UserMessage() = %q", e.UserMessage())
	}
}

func TestDoCanceled(t *testing.T) {
	env := mustEnv(t, envConfig{sim: ec2sim.Options{TransitionTime: time.Hour}})
	ctx, cancel := context.WithCancel(context.Background())
	_, err := env.fleet.Do(ctx, prodReq(action.Stop, web1), func(ec2ops.Progress) { cancel() })
	if !errors.Is(err, ec2ops.KindCanceled) {
		t.Errorf("Do(stop) after cancel = %v, want KindCanceled", err)
	}
}

// Authorize sees the instance as just described, after the checks, and a
// refusal from it stops the action before any mutating call.
func TestDoAuthorize(t *testing.T) {
	env := mustEnv(t, envConfig{})
	ctx := context.Background()
	refused := errors.New("policy says no")
	var seen ec2ops.Detail
	req := prodReq(action.Stop, web1)
	req.Authorize = func(d ec2ops.Detail) error { seen = d; return refused }
	if _, err := env.fleet.Do(ctx, req, nil); !errors.Is(err, refused) {
		t.Errorf("Do with a refusing Authorize = %v, want its error", err)
	}
	if seen.Name != "web-1" || seen.State != "running" || seen.Tags["Name"] != "web-1" {
		t.Errorf("Authorize saw %+v, want web-1 running with its tags", seen)
	}
	if calls := mutatingCalls(env.sim); len(calls) > 0 {
		t.Errorf("refused Do made mutating calls %v", calls)
	}
	called := false
	req = prodReq(action.Stop, web2) // already stopped: the checks refuse first
	req.Authorize = func(ec2ops.Detail) error { called = true; return nil }
	if _, err := env.fleet.Do(ctx, req, nil); !errors.Is(err, ec2ops.KindInvalidState) || called {
		t.Errorf("Do(stop a stopped instance) = %v, Authorize called %v; want KindInvalidState before Authorize", err, called)
	}
}

// A resumed Do (its first run was cut off) sends only what has not taken
// effect: the state AWS shows now decides.
func TestDoResume(t *testing.T) {
	tests := []struct {
		name      string
		action    action.Action
		id        string
		setState  string // the state the first run left the instance in
		resumeAt  action.Action
		wantState string
		wantCalls []string
	}{
		{"stop sent, stopping", action.Stop, web1, "stopping", action.Stop, "stopped", nil},
		{"stop announced, not sent", action.Stop, web1, "", action.Stop, "stopped", []string{"StopInstances"}},
		{"start sent", action.Start, web2, "pending", action.Start, "running", nil},
		{"terminate sent", action.Terminate, web1, "shutting-down", action.Terminate, "terminated", nil},
		{"reboot announced counts as sent", action.Reboot, web1, "", action.Reboot, "running", nil},
		{"restart stopped, start not sent", action.Restart, web1, "stopped", action.Stop, "running", []string{"StartInstances"}},
		{"restart stopping", action.Restart, web1, "stopping", action.Stop, "running", []string{"StartInstances"}},
		{"restart start sent", action.Restart, web1, "pending", action.Start, "running", nil},
		{"never announced", action.Stop, web1, "", "", "stopped", []string{"StopInstances"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			env := mustEnv(t, envConfig{})
			if tt.setState != "" {
				inst, _ := env.sim.Get(prodID, "eu-west-1", tt.id)
				inst.State = tt.setState
				env.sim.Put(prodID, "eu-west-1", inst)
			}
			req := prodReq(tt.action, tt.id)
			req.Resume, req.ResumeAt = true, tt.resumeAt
			var announced []action.Action
			req.Sending = func(a action.Action) { announced = append(announced, a) }
			res, err := env.fleet.Do(context.Background(), req, nil)
			if err != nil {
				t.Fatalf("resumed Do = %v", err)
			}
			if res.Instance.State != tt.wantState {
				t.Errorf("resumed Do ends %s, want %s", res.Instance.State, tt.wantState)
			}
			var calls []string
			for _, c := range mutatingCalls(env.sim) {
				calls = append(calls, c.Action)
			}
			if !slices.Equal(calls, tt.wantCalls) {
				t.Errorf("mutating calls = %v, want %v", calls, tt.wantCalls)
			}
			if len(announced) != len(tt.wantCalls) {
				t.Errorf("Sending announced %v for calls %v", announced, calls)
			}
		})
	}
}

// stopProtect turns stop protection on for web-1 in the simulator, as an
// admin would in the console.
func stopProtect(t *testing.T, env *testEnv) {
	t.Helper()
	inst, _ := env.sim.Get(prodID, "eu-west-1", web1)
	inst.DisableAPIStop = true
	env.sim.Put(prodID, "eu-west-1", inst)
}

func TestStopProtection(t *testing.T) {
	env := mustEnv(t, envConfig{})
	stopProtect(t, env)
	ctx := context.Background()
	d, err := env.fleet.Describe(ctx, "acme-prod", "eu-west-1", web1)
	if err != nil {
		t.Fatal(err)
	}
	if !d.StopProtected || d.TerminationProtected {
		t.Fatalf("Describe = stop %v termination %v, want stop protection only", d.StopProtected, d.TerminationProtected)
	}
	const lift = "--no-disable-api-stop"
	for _, a := range []action.Action{action.Stop, action.Restart} {
		if err := d.Allows(a); !errors.Is(err, ec2ops.KindProtected) {
			t.Errorf("Allows(%s) on a stop-protected instance = %v, want KindProtected", a, err)
		}
		_, err := env.fleet.Do(ctx, prodReq(a, web1), nil)
		var e *ec2ops.Error
		if !errors.As(err, &e) || e.Kind != ec2ops.KindProtected || !strings.Contains(e.UserMessage(), "stop protection is on for web-1") || !strings.Contains(e.UserMessage(), lift) {
			t.Errorf("Do(%s) = %v, want the stop protection message with the CLI that lifts it", a, err)
		}
	}
	for _, a := range []action.Action{action.Reboot, action.Terminate, action.Status} {
		if err := d.Allows(a); err != nil {
			t.Errorf("Allows(%s) on a stop-protected instance = %v, want nil", a, err)
		}
	}
	if calls := mutatingCalls(env.sim); len(calls) != 0 {
		t.Errorf("refused stops still called AWS: %v", calls)
	}
}

// TestStopProtectionRace: protection switched on between Charlize's check
// and its call reads as protection, not as AWS's raw refusal.
func TestStopProtectionRace(t *testing.T) {
	env := mustEnv(t, envConfig{})
	req := prodReq(action.Stop, web1)
	req.Authorize = func(ec2ops.Detail) error {
		stopProtect(t, env) // after the check, before StopInstances
		return nil
	}
	_, err := env.fleet.Do(context.Background(), req, nil)
	var e *ec2ops.Error
	if !errors.As(err, &e) || e.Kind != ec2ops.KindProtected {
		t.Fatalf("Do(stop) racing stop protection = %v, want KindProtected", err)
	}
	if msg := e.UserMessage(); !strings.Contains(msg, "stop protection is on for web-1") || !strings.Contains(msg, "--no-disable-api-stop") || strings.Contains(msg, "AWS does not allow") {
		t.Errorf("UserMessage() = %q, want the stop protection message", msg)
	}
}

// A wait whose polls AWS throttles (other waits, other tools on the same
// account's API budget) keeps waiting: the stop went out, and the instance
// gets there; a throttled poll is not the stop failing.
func TestDoWaitThrottledKeepsWaiting(t *testing.T) {
	env := mustEnv(t, envConfig{sim: ec2sim.Options{TransitionTime: 300 * time.Millisecond}})
	var once sync.Once
	res, err := env.fleet.Do(context.Background(), prodReq(action.Stop, web1), func(p ec2ops.Progress) {
		// Past the SDK's own retries: nine throttled answers in a row.
		once.Do(func() {
			env.sim.AddFault(ec2sim.Fault{Action: "DescribeInstances", Code: "RequestLimitExceeded", Times: 9})
		})
	})
	if err != nil {
		t.Fatalf("Do(stop) with throttled polls = %v, want it stopped", err)
	}
	if res.Instance.State != ec2ops.StateStopped {
		t.Errorf("Do(stop) ended with web-1 %s, want stopped", res.Instance.State)
	}
}
