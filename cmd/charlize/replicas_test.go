package main

import (
	"bufio"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/slack-go/slack"

	"github.com/charlize-app/charlize/ec2ops/ec2sim"
	"github.com/charlize-app/charlize/handlers/slacktest"
	"github.com/charlize-app/charlize/store"
	"github.com/charlize-app/charlize/store/sealed"
)

// Several Charlize processes, as production runs them: each test binary
// re-executes itself as a replica (TestMain), so the replicas are real
// processes that a test can kill -9.

// TestMain runs the binary as one Charlize replica when asked to.
func TestMain(m *testing.M) {
	if os.Getenv("CHARLIZE_TEST_REPLICA") == "1" {
		ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
		err := run(ctx, []string{"serve"}, os.Getenv, os.Stdout, os.Stderr)
		stop()
		if err != nil {
			fmt.Fprintln(os.Stderr, "charlize:", err)
			os.Exit(1)
		}
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// replica is one Charlize process.
type replica struct {
	cmd  *exec.Cmd
	url  string
	logs *syncBuffer
	done chan struct{}
}

func startReplica(t *testing.T, env map[string]string) *replica {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = []string{"CHARLIZE_TEST_REPLICA=1", "PATH=" + os.Getenv("PATH"), "HOME=" + os.Getenv("HOME")}
	for k, v := range env {
		cmd.Env = append(cmd.Env, k+"="+v)
	}
	r := &replica{cmd: cmd, logs: &syncBuffer{}, done: make(chan struct{})}
	cmd.Stdout, cmd.Stderr = r.logs, r.logs
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { _ = cmd.Wait(); close(r.done) }()
	t.Cleanup(func() { r.stop() })
	deadline := time.Now().Add(20 * time.Second)
	for r.url == "" {
		select {
		case <-r.done:
			t.Fatalf("replica exited at start; logs:\n%s", r.logs)
		case <-time.After(20 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			t.Fatalf("replica did not start; logs:\n%s", r.logs)
		}
		sc := bufio.NewScanner(strings.NewReader(r.logs.String()))
		for sc.Scan() {
			var line struct{ Msg, Addr string }
			if json.Unmarshal(sc.Bytes(), &line) == nil && line.Msg == "charlize listening" {
				r.url = "http://" + line.Addr
			}
		}
	}
	return r
}

// kill ends the process as kill -9, an OOM kill or a drain out of grace do:
// nothing of it runs after.
func (r *replica) kill() {
	_ = r.cmd.Process.Kill()
	<-r.done
}

// stop ends it gracefully (SIGTERM), bounded.
func (r *replica) stop() {
	select {
	case <-r.done:
		return
	default:
	}
	_ = r.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-r.done:
	case <-time.After(15 * time.Second):
		r.kill()
	}
}

// startRedis starts a redis-server of its own on a free loopback port;
// without redis-server the test is skipped, unless CI requires Redis.
func startRedis(t *testing.T) string {
	t.Helper()
	bin, err := exec.LookPath("redis-server")
	if err != nil {
		if os.Getenv("CHARLIZE_REQUIRE_REDIS") != "" {
			t.Fatal("redis-server is required (CHARLIZE_REQUIRE_REDIS) but not installed")
		}
		t.Skip("redis-server not installed")
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := ln.Addr().(*net.TCPAddr).Port
	ln.Close()
	dir := t.TempDir()
	cmd := exec.Command(bin, "--port", fmt.Sprint(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no", "--dir", dir)
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	addr := fmt.Sprintf("127.0.0.1:%d", port)
	for deadline := time.Now().Add(10 * time.Second); ; {
		if c, err := net.Dial("tcp", addr); err == nil {
			c.Close()
			return "redis://" + addr
		}
		if time.Now().After(deadline) {
			t.Fatal("redis-server did not start")
		}
		time.Sleep(20 * time.Millisecond)
	}
}

const replicasAccount = "123456789012"

// fleetEnv is what replicas share: the simulator (one account, instances
// web-1…web-8, 3 s transitions), a fake Slack, and their configuration.
type fleetEnv struct {
	sim   *ec2sim.Sim
	slack *slacktest.API
	env   map[string]string
}

func newFleetEnv(t *testing.T, extra map[string]string) *fleetEnv {
	t.Helper()
	sim := ec2sim.New(ec2sim.Options{TransitionTime: 3 * time.Second})
	var insts []ec2sim.Instance
	for i := 1; i <= 8; i++ {
		insts = append(insts, ec2sim.Instance{ID: instID(i), Type: "t3.micro", State: "running",
			LaunchTime: time.Now().Add(-time.Hour).UTC().Truncate(time.Second), Tags: map[string]string{"Name": fmt.Sprintf("web-%d", i)}})
	}
	if err := sim.Load(ec2sim.Fixture{Accounts: []ec2sim.FixtureAccount{{ID: replicasAccount,
		Regions: map[string][]ec2sim.Instance{"eu-west-1": insts}}}}); err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(sim)
	t.Cleanup(srv.Close)
	accounts := filepath.Join(t.TempDir(), "accounts.yaml")
	if err := os.WriteFile(accounts, []byte(`accounts:
  - name: acme-prod
    id: "`+replicasAccount+`"
    role_arn: arn:aws:iam::`+replicasAccount+`:role/charlize
    regions: [eu-west-1]
    workspaces: [T0001]
`), 0o600); err != nil {
		t.Fatal(err)
	}
	api := slacktest.NewAPI(t)
	env := map[string]string{
		"SLACK_SIGNING_SECRET":   testSecret,
		"SLACK_BOT_TOKEN":        slacktest.BotToken,
		"SLACK_API_URL":          api.APIURL(),
		"AWS_ENDPOINT_URL":       srv.URL,
		"AWS_REGION":             "eu-west-1",
		"AWS_ACCESS_KEY_ID":      "AKIDREPLICAS",
		"AWS_SECRET_ACCESS_KEY":  "replicas-secret",
		"CHARLIZE_ACCOUNTS_FILE": accounts,
		"CHARLIZE_ADDR":          "127.0.0.1:0",
		"CHARLIZE_ACTION_LEASE":  "2s",
		"LOG_FORMAT":             "json",
	}
	for k, v := range extra {
		env[k] = v
	}
	return &fleetEnv{sim: sim, slack: api, env: env}
}

// mutations counts the simulator's calls of op on instance id (not
// the dry runs with which cards check permissions).
func (f *fleetEnv) mutations(op, id string) int {
	n := 0
	for _, c := range f.sim.CallLog() {
		if c.Action == op && !c.DryRun && slices.Contains(c.InstanceIDs, id) {
			n++
		}
	}
	return n
}

// card asks replica r for the card of name and returns its button of kind.
func (f *fleetEnv) card(t *testing.T, r *replica, user, name, kind string) map[string]any {
	t.Helper()
	id := "card-" + name + "-" + user
	form := slacktest.Command("T0001", user, "status "+name, f.slack.ResponseURL(id))
	form.Set("channel_id", "C0OPS")
	resp, err := http.DefaultClient.Do(slacktest.FormRequest(r.url+"/slack/commands", testSecret, form))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	posts := f.waitURL(t, id, "act:"+kind)
	for _, b := range posts.Blocks.BlockSet {
		ab, ok := b.(*slack.ActionBlock)
		if !ok {
			continue
		}
		for _, el := range ab.Elements.ElementSet {
			if btn, ok := el.(*slack.ButtonBlockElement); ok && strings.HasPrefix(btn.ActionID, "act:"+kind) {
				return map[string]any{"action_id": btn.ActionID, "block_id": ab.BlockID, "value": btn.Value}
			}
		}
	}
	t.Fatalf("no %s button on %s's card", kind, name)
	return nil
}

// waitURL waits for a post to response_url id containing want.
func (f *fleetEnv) waitURL(t *testing.T, id, want string) slack.WebhookMessage {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		for _, c := range f.slack.Calls(slacktest.MethodResponseURL) {
			if c.ResponseURLID == id {
				raw, _ := json.Marshal(c.Message)
				if strings.Contains(string(raw), want) {
					return c.Message
				}
			}
		}
		if time.Now().After(deadline) {
			var seen []string
			for _, c := range f.slack.Calls(slacktest.MethodResponseURL) {
				if c.ResponseURLID == id {
					raw, _ := json.Marshal(c.Message)
					seen = append(seen, string(raw))
				}
			}
			t.Fatalf("no post to response_url %s containing %q; saw %q", id, want, seen)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// click presses button b as user, from an in-channel message at ts (""
// for an ephemeral one), on replica r.
func (f *fleetEnv) click(r *replica, user string, b map[string]any, responseID, ts string) (*http.Response, error) {
	payload := map[string]any{
		"type": "block_actions", "user": map[string]any{"id": user, "team_id": "T0001"},
		"team": map[string]any{"id": "T0001"}, "api_app_id": "A1", "trigger_id": "1.2.3",
		"container":    map[string]any{"type": "message", "message_ts": ts, "channel_id": "C0OPS", "is_ephemeral": ts == ""},
		"channel":      map[string]any{"id": "C0OPS"},
		"response_url": f.slack.ResponseURL(responseID),
		"actions": []map[string]any{{"type": "button", "action_id": b["action_id"], "block_id": b["block_id"],
			"value": b["value"], "action_ts": fmt.Sprint(time.Now().UnixMicro())}},
	}
	resp, err := http.DefaultClient.Do(slacktest.PayloadRequest(r.url+"/slack/interactions", testSecret, payload))
	if err == nil {
		resp.Body.Close()
	}
	return resp, err
}

// postedWith waits for a chat.postMessage containing want and returns it.
func (f *fleetEnv) postedWith(t *testing.T, want string) slacktest.Call {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		for _, c := range f.slack.Calls("chat.postMessage") {
			if c.Error == "" && strings.Contains(c.Form.Get("blocks"), want) {
				return c
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("no chat.postMessage containing %q", want)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// editedTo waits until message ts has been edited to contain want.
func (f *fleetEnv) editedTo(t *testing.T, ts, want string, within time.Duration) time.Time {
	t.Helper()
	deadline := time.Now().Add(within)
	for {
		for _, c := range f.slack.Calls("chat.update") {
			if c.Error == "" && c.Form.Get("ts") == ts && strings.Contains(c.Form.Get("blocks"), want) {
				return c.Time
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("message %s was not edited to %q within %s", ts, want, within)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// killMidStop has victim stop web-n and kills it (kill -9) once the
// StopInstances has gone out, while it waits for stopped; it returns the
// progress message and when the kill happened.
func (f *fleetEnv) killMidStop(t *testing.T, victim *replica, n int) (slacktest.Call, time.Time) {
	t.Helper()
	name := fmt.Sprintf("web-%d", n)
	stop := f.card(t, victim, "U0ALICE", name, "stop")
	if _, err := f.click(victim, "U0ALICE", stop, "kill-"+name, ""); err != nil {
		t.Fatal(err)
	}
	progress := f.postedWith(t, "Stopping *"+name+"*")
	for deadline := time.Now().Add(10 * time.Second); f.mutations("StopInstances", instID(n)) == 0; {
		if time.Now().After(deadline) {
			t.Fatal("StopInstances never came")
		}
		time.Sleep(10 * time.Millisecond)
	}
	victim.kill()
	return progress, time.Now()
}

// Three replicas on one real Redis: duplicate clicks spread over them act
// once and are all answered; two users on two replicas make one action; a
// replica killed mid-wait is taken over; an approval asked on one replica
// is approved on another; an approval request expires once.
func TestThreeReplicas(t *testing.T) {
	redisURL := startRedis(t)
	policy := filepath.Join(t.TempDir(), "policy.yaml")
	if err := os.WriteFile(policy, []byte(`rules:
  - name: operators
    who: {users: ["*"]}
    actions: [list, status, start, stop, reboot]
approval:
  - actions: [reboot]
`), 0o600); err != nil {
		t.Fatal(err)
	}
	f := newFleetEnv(t, map[string]string{"REDIS_URL": redisURL, "CHARLIZE_POLICY_FILE": policy, "CHARLIZE_APPROVAL_TTL": "3s"})
	var rs []*replica
	for range 3 {
		rs = append(rs, startReplica(t, f.env))
	}

	t.Run("1000 duplicate clicks", func(t *testing.T) {
		stop := f.card(t, rs[0], "U0ALICE", "web-1", "stop")
		const clicks = 1000
		var wg sync.WaitGroup
		var failed atomic.Int32
		sem := make(chan struct{}, 48)
		for i := range clicks {
			wg.Go(func() {
				sem <- struct{}{}
				defer func() { <-sem }()
				resp, err := f.click(rs[i%3], "U0ALICE", stop, fmt.Sprintf("dup%d", i), "")
				if err != nil || resp.StatusCode != http.StatusOK {
					failed.Add(1)
				}
			})
		}
		wg.Wait()
		if n := failed.Load(); n != 0 {
			t.Fatalf("%d clicks not acknowledged", n)
		}
		var answered, acting int
		deadline := time.Now().Add(60 * time.Second)
		for {
			answered, acting = 0, 0
			seen := map[string]bool{}
			for _, c := range f.slack.Calls(slacktest.MethodResponseURL) {
				if !strings.HasPrefix(c.ResponseURLID, "dup") || seen[c.ResponseURLID] {
					continue
				}
				raw, _ := json.Marshal(c.Message)
				switch s := string(raw); {
				case strings.Contains(s, "already in progress") || strings.Contains(s, "was already stopped"):
					answered++
					seen[c.ResponseURLID] = true
				case strings.Contains(s, "Stopping"):
					acting++
					seen[c.ResponseURLID] = true
				}
			}
			if answered+acting == clicks || time.Now().After(deadline) {
				break
			}
			time.Sleep(100 * time.Millisecond)
		}
		calls := f.mutations("StopInstances", instID(1))
		t.Logf("replicas figure: %d clicks over 3 replicas → %d AWS call(s), %d answered 'taken', %d acting", clicks, calls, answered, acting)
		if calls != 1 || answered != clicks-1 || acting != 1 {
			t.Errorf("%d clicks: %d StopInstances, %d told taken, %d acting; want 1, %d, 1", clicks, calls, answered, acting, clicks-1)
		}
	})

	t.Run("two users on two replicas", func(t *testing.T) {
		stop := f.card(t, rs[1], "U0ALICE", "web-2", "stop")
		var wg sync.WaitGroup
		for i, user := range []string{"U0ALICE", "U0BOB"} {
			wg.Go(func() { _, _ = f.click(rs[i], user, stop, "two-"+user, "") })
		}
		wg.Wait()
		deadline := time.Now().Add(20 * time.Second)
		var told string
		for told == "" && time.Now().Before(deadline) {
			for _, c := range f.slack.Calls(slacktest.MethodResponseURL) {
				raw, _ := json.Marshal(c.Message)
				if strings.HasPrefix(c.ResponseURLID, "two-") && strings.Contains(string(raw), "already") {
					told = string(raw)
				}
			}
			time.Sleep(20 * time.Millisecond)
		}
		if !strings.Contains(told, `\u003c@U0`) {
			t.Errorf("the second user was told %q, want by whom", told)
		}
		time.Sleep(500 * time.Millisecond)
		if n := f.mutations("StopInstances", instID(2)); n != 1 {
			t.Errorf("StopInstances on web-2 = %d, want 1", n)
		}
	})

	t.Run("kill -9 while waiting", func(t *testing.T) {
		victim := startReplica(t, f.env) // a fourth, to keep three for what follows
		progress, killed := f.killMidStop(t, victim, 3)
		done := f.editedTo(t, progress.TS, "web-3* stopped", 30*time.Second)
		t.Logf("replicas figure: killed mid-wait; another replica finished the message %s after the kill (lease 2s, instance transition 3s)", done.Sub(killed).Round(100*time.Millisecond))
		if n := f.mutations("StopInstances", instID(3)); n != 1 {
			t.Errorf("StopInstances on web-3 = %d, want exactly 1", n)
		}
	})

	t.Run("approved on another replica", func(t *testing.T) {
		reboot := f.card(t, rs[0], "U0ALICE", "web-4", "reboot")
		if _, err := f.click(rs[0], "U0ALICE", reboot, "appr1", ""); err != nil {
			t.Fatal(err)
		}
		req := f.postedWith(t, "asks to *reboot* *web-4*")
		var approve map[string]any
		for _, b := range req.Blocks {
			if ab, ok := b.(*slack.ActionBlock); ok {
				for _, el := range ab.Elements.ElementSet {
					if btn, ok := el.(*slack.ButtonBlockElement); ok && btn.ActionID == "approval:approve" {
						approve = map[string]any{"action_id": btn.ActionID, "block_id": ab.BlockID, "value": btn.Value}
					}
				}
			}
		}
		if approve == nil {
			t.Fatal("no Approve button")
		}
		if _, err := f.click(rs[2], "U0BOB", approve, "appr2", req.TS); err != nil {
			t.Fatal(err)
		}
		f.editedTo(t, req.TS, "web-4* rebooted", 20*time.Second)
		if n := f.mutations("RebootInstances", instID(4)); n != 1 {
			t.Errorf("RebootInstances on web-4 = %d, want 1", n)
		}
	})

	t.Run("approval expiry once", func(t *testing.T) {
		reboot := f.card(t, rs[1], "U0ALICE", "web-5", "reboot")
		if _, err := f.click(rs[1], "U0ALICE", reboot, "exp1", ""); err != nil {
			t.Fatal(err)
		}
		req := f.postedWith(t, "asks to *reboot* *web-5*")
		f.editedTo(t, req.TS, "expired without approval", 20*time.Second)
		time.Sleep(2 * time.Second) // every replica has looked again by now
		n := 0
		for _, c := range f.slack.Calls("chat.update") {
			if c.Form.Get("ts") == req.TS {
				n++
			}
		}
		if n != 1 {
			t.Errorf("the request was edited %d times, want once", n)
		}
	})
}

// On the embedded store a process killed mid-wait finishes the action when
// it starts again, with one AWS call.
func TestKillDuringWaitThenRestart(t *testing.T) {
	f := newFleetEnv(t, map[string]string{"CHARLIZE_DATA_DIR": t.TempDir()})
	progress, killed := f.killMidStop(t, startReplica(t, f.env), 6)
	startReplica(t, f.env)
	done := f.editedTo(t, progress.TS, "web-6* stopped", 30*time.Second)
	t.Logf("restart figure: killed mid-wait; the restarted process finished the message %s after the kill", done.Sub(killed).Round(100*time.Millisecond))
	if n := f.mutations("StopInstances", instID(6)); n != 1 {
		t.Errorf("StopInstances on web-6 = %d, want exactly 1", n)
	}
}

// instID is the simulator's id of web-n.
func instID(n int) string { return fmt.Sprintf("i-%017d", n) }

// In multi-workspace mode, three replicas that all find a workspace's token
// about to expire refresh it once between them.
func TestThreeReplicasRefreshOnce(t *testing.T) {
	redisURL := startRedis(t)
	key := make([]byte, 32)
	for i := range key {
		key[i] = byte(i + 1)
	}
	f := newFleetEnv(t, map[string]string{
		"REDIS_URL": redisURL, "SLACK_BOT_TOKEN": "", "SLACK_CLIENT_ID": "4242.1717", "SLACK_CLIENT_SECRET": "replicas-client-secret",
		"CHARLIZE_ENCRYPTION_KEY": base64.StdEncoding.EncodeToString(key),
	})
	delete(f.env, "SLACK_BOT_TOKEN")
	raw, err := store.OpenRedis(redisURL, store.RedisOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer raw.Close()
	st, err := sealed.New(raw, key)
	if err != nil {
		t.Fatal(err)
	}
	if err := st.SaveInstallation(t.Context(), store.Installation{
		Key: store.TeamKey("T0001"), TeamID: "T0001", BotUserID: slacktest.BotUserID, BotToken: "xoxb-old",
		RefreshToken: "xoxe-1-old", BotTokenExpiresAt: time.Now().Add(time.Minute), InstalledAt: time.Now().Add(-time.Hour),
	}); err != nil {
		t.Fatal(err)
	}
	var rs []*replica
	for range 3 {
		rs = append(rs, startReplica(t, f.env))
	}
	var wg sync.WaitGroup
	for i := range 30 {
		wg.Go(func() {
			// The picker opens with views.open: a Web API call, so a client,
			// which refreshes the token first.
			form := slacktest.Command("T0001", "U0ALICE", "", f.slack.ResponseURL(fmt.Sprintf("refresh%d", i)))
			form.Set("channel_id", "C0OPS")
			resp, err := http.DefaultClient.Do(slacktest.FormRequest(rs[i%3].url+"/slack/commands", testSecret, form))
			if err == nil {
				resp.Body.Close()
			}
		})
	}
	wg.Wait()
	if n := len(f.slack.WaitFor(t, "views.open", 30, 10*time.Second)); n != 30 {
		t.Errorf("views.open = %d, want 30 (one picker per command)", n)
	}
	// Replicas that lose the refresh claim use the old token while it is
	// still valid; every picker opened.
	for _, c := range f.slack.Calls("views.open") {
		if c.Error != "" {
			t.Errorf("views.open answered %s", c.Error)
		}
	}
	if n := len(f.slack.Calls("oauth.v2.access")); n != 1 {
		t.Errorf("oauth.v2.access (token refresh) called %d times across three replicas, want 1", n)
	}
	t.Logf("replicas figure: 30 commands over 3 replicas with an expiring token → %d refresh", len(f.slack.Calls("oauth.v2.access")))
}
