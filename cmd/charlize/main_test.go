package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/alicebob/miniredis/v2"
	"github.com/google/go-cmp/cmp"
	"github.com/slack-go/slack"

	"github.com/charlize-app/charlize/ec2ops/ec2sim"
	"github.com/charlize-app/charlize/handlers/slacktest"
)

const testSecret = "main-test-signing-secret"

// syncBuffer is an io.Writer the app logs into while the test reads it.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// process is Charlize started through run, as main starts it.
type process struct {
	url    string
	logs   *syncBuffer
	stop   context.CancelFunc
	exited chan error
}

// mustStart runs the app with env on a free port and waits until /healthz
// answers.
func mustStart(t *testing.T, env map[string]string) *process {
	t.Helper()
	base := map[string]string{
		"SLACK_SIGNING_SECRET": testSecret,
		"CHARLIZE_ADDR":        "127.0.0.1:0",
		"CHARLIZE_DATA_DIR":    t.TempDir(),
		"LOG_FORMAT":           "json",
	}
	for k, v := range env {
		base[k] = v
	}
	ctx, cancel := context.WithCancel(context.Background())
	a := &process{logs: &syncBuffer{}, stop: cancel, exited: make(chan error, 1)}
	go func() {
		a.exited <- run(ctx, []string{"serve"}, func(k string) string { return base[k] }, io.Discard, a.logs)
	}()
	t.Cleanup(func() {
		cancel()
		select {
		case <-a.exited:
		case <-time.After(15 * time.Second):
			t.Error("app did not stop within 15s")
		}
	})

	deadline := time.Now().Add(10 * time.Second)
	for a.url == "" {
		if time.Now().After(deadline) {
			t.Fatalf("app did not start; logs:\n%s", a.logs)
		}
		select {
		case err := <-a.exited:
			t.Fatalf("run exited early: %v; logs:\n%s", err, a.logs)
		case <-time.After(20 * time.Millisecond):
		}
		sc := bufio.NewScanner(strings.NewReader(a.logs.String()))
		for sc.Scan() {
			var line struct{ Msg, Addr string }
			if json.Unmarshal(sc.Bytes(), &line) == nil && line.Msg == "charlize listening" {
				a.url = "http://" + line.Addr
			}
		}
	}
	for {
		resp, err := http.Get(a.url + "/healthz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return a
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("/healthz never answered 200: %v", err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// agents remembers the User-Agent headers a server saw.
type agents struct {
	mu  sync.Mutex
	all []string
}

func (a *agents) add(ua string) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.all = append(a.all, ua)
}

func (a *agents) last() string {
	a.mu.Lock()
	defer a.mu.Unlock()
	if len(a.all) == 0 {
		return ""
	}
	return a.all[len(a.all)-1]
}

func mustGetBody(t *testing.T, url string) string {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return string(body)
}

func mustGetStatus(t *testing.T, url string) int {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	resp.Body.Close()
	return resp.StatusCode
}

func TestServeAnswersSignedHelp(t *testing.T) {
	a := mustStart(t, nil)
	req := slacktest.FormRequest(a.url+"/slack/commands", testSecret, slacktest.Command("T0001", "U0001", "help", "http://127.0.0.1:1/r"))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var msg slack.WebhookMessage
	if err := json.NewDecoder(resp.Body).Decode(&msg); err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("help = %d, decode err %v", resp.StatusCode, err)
	}
	if msg.ResponseType != "ephemeral" || msg.Blocks == nil || len(msg.Blocks.BlockSet) == 0 {
		t.Errorf("help = %+v, want an ephemeral Block Kit message", msg)
	}
	unsigned, _ := http.NewRequest(http.MethodPost, a.url+"/slack/commands", strings.NewReader("text=help"))
	resp2, err := http.DefaultClient.Do(unsigned)
	if err != nil {
		t.Fatal(err)
	}
	resp2.Body.Close()
	if resp2.StatusCode != http.StatusUnauthorized {
		t.Errorf("unsigned command = %d, want 401", resp2.StatusCode)
	}
	if got := mustGetStatus(t, a.url+"/readyz"); got != http.StatusOK {
		t.Errorf("/readyz on the embedded store = %d, want 200", got)
	}
	if got := mustGetStatus(t, a.url+"/metrics"); got != http.StatusOK {
		t.Errorf("/metrics = %d, want 200", got)
	}
}

func TestGracefulShutdown(t *testing.T) {
	a := mustStart(t, nil)
	a.stop()
	select {
	case err := <-a.exited:
		if err != nil {
			t.Errorf("run after cancel = %v, want nil (exit 0)", err)
		}
	case <-time.After(15 * time.Second):
		t.Fatal("run did not return after its context was cancelled")
	}
	a.exited <- nil // let Cleanup's wait return
	if _, err := http.Get(a.url + "/healthz"); err == nil {
		t.Error("server still accepting after shutdown")
	}
}

// /readyz follows Redis going away and coming back, with no restart.
func TestReadyzFollowsRedis(t *testing.T) {
	mr := miniredis.RunT(t)
	a := mustStart(t, map[string]string{"REDIS_URL": "redis://" + mr.Addr()})
	if got := mustGetStatus(t, a.url+"/readyz"); got != http.StatusOK {
		t.Fatalf("/readyz with Redis up = %d, want 200", got)
	}
	mr.Close()
	if got := mustGetStatus(t, a.url+"/readyz"); got != http.StatusServiceUnavailable {
		t.Errorf("/readyz with Redis down = %d, want 503", got)
	}
	if err := mr.Restart(); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(5 * time.Second)
	for mustGetStatus(t, a.url+"/readyz") != http.StatusOK {
		if time.Now().After(deadline) {
			t.Fatal("/readyz did not return to 200 after Redis came back")
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func TestConfigErrorsListEverything(t *testing.T) {
	env := map[string]string{
		"SLACK_BOT_TOKEN":        "xoxp-user-token",
		"REDIS_URL":              "http://nope",
		"LOG_LEVEL":              "loud",
		"LOG_FORMAT":             "xml",
		"SLACK_API_URL":          "ftp://x",
		"CHARLIZE_AUDIT_CHANNEL": "#ops",
		"CHARLIZE_AUDIT_LIMIT":   "-3",
		"CHARLIZE_APPROVAL_TTL":  "soon",
		"CHARLIZE_TIME_ZONE":     "Local",
	}
	err := run(context.Background(), nil, func(k string) string { return env[k] }, io.Discard, io.Discard)
	if err == nil {
		t.Fatal("run with bad configuration succeeded")
	}
	for _, name := range []string{"SLACK_SIGNING_SECRET", "SLACK_BOT_TOKEN", "REDIS_URL", "LOG_LEVEL", "LOG_FORMAT", "SLACK_API_URL",
		"CHARLIZE_AUDIT_CHANNEL", "CHARLIZE_AUDIT_LIMIT", "CHARLIZE_APPROVAL_TTL", "CHARLIZE_TIME_ZONE"} {
		if !strings.Contains(err.Error(), name) {
			t.Errorf("config error does not name %s:\n%v", name, err)
		}
	}
	if strings.Contains(err.Error(), "xoxp-user-token") {
		t.Error("config error repeats a token")
	}
}

func TestSubcommands(t *testing.T) {
	tests := []struct {
		args     []string
		wantOut  string
		wantExit int
	}{
		{args: []string{"version"}, wantOut: "charlize dev"},
		{args: []string{"--version"}, wantOut: "charlize dev"},
		{args: []string{"serve", "--help"}, wantOut: "LOG_REQUESTS"},
		{args: []string{"serve", "--help"}, wantOut: "files:write"},
		{args: []string{"--help"}, wantOut: "charlize doctor"},
		{args: []string{"help"}, wantOut: "charlize version"},
		{args: []string{"demo", "--help"}, wantOut: "loopback only"},
		{args: []string{"doctor", "--help"}, wantOut: "--json"},
		{args: []string{"healthcheck", "--help"}, wantOut: "--url"},
		{args: []string{"frobnicate"}, wantExit: 2},
		{args: []string{"serve", "--no-such-flag"}, wantExit: 2},
		{args: []string{"serve", "extra"}, wantExit: 2},
		{args: []string{"version", "extra"}, wantExit: 2},
		{args: []string{"manifest"}, wantExit: 2},
		{args: []string{"simulate", "--latency", "soon"}, wantExit: 2},
		// A configuration error is not a usage error.
		{args: []string{"serve"}, wantExit: 1},
		{args: []string{"healthcheck", "--url", "http://127.0.0.1:1/healthz"}, wantExit: 1},
	}
	for _, tt := range tests {
		t.Run(strings.Join(tt.args, " "), func(t *testing.T) {
			var out bytes.Buffer
			err := run(context.Background(), tt.args, func(string) string { return "" }, &out, &out)
			if got := exitCode(err); got != tt.wantExit {
				t.Fatalf("exitCode(run(%q)) = %d (err %v), want %d", tt.args, got, err, tt.wantExit)
			}
			if !strings.Contains(out.String(), tt.wantOut) {
				t.Errorf("run(%q) printed %q, want %q in it", tt.args, out.String(), tt.wantOut)
			}
		})
	}
}

// --help names every subcommand run dispatches, each once.
func TestHelpListsEverySubcommand(t *testing.T) {
	var out bytes.Buffer
	if err := run(context.Background(), []string{"--help"}, func(string) string { return "" }, &out, io.Discard); err != nil {
		t.Fatal(err)
	}
	for _, sub := range []string{"[serve]", "demo", "doctor", "healthcheck", "manifest", "simulate", "version", "events-template"} {
		if n := strings.Count(out.String(), "\n  charlize "+sub+" "); n != 1 {
			t.Errorf("--help lists %s %d times, want once:\n%s", sub, n, out.String())
		}
	}
}

// healthcheck, as the Dockerfile's HEALTHCHECK runs it, finds the server
// from CHARLIZE_ADDR and exits 0 while it is alive.
func TestHealthcheckAsksTheServer(t *testing.T) {
	a := mustStart(t, nil)
	addr := strings.TrimPrefix(a.url, "http://")
	var out bytes.Buffer
	err := run(context.Background(), []string{"healthcheck"}, func(k string) string {
		return map[string]string{"CHARLIZE_ADDR": addr}[k]
	}, &out, &out)
	if err != nil || !strings.Contains(out.String(), "ok") {
		t.Errorf("healthcheck against a live server = %v, printed %q; want exit 0 and ok", err, out.String())
	}
}

// logLines returns the JSON log lines whose msg is "request".
func requestLines(t *testing.T, logs string) []map[string]any {
	t.Helper()
	var out []map[string]any
	sc := bufio.NewScanner(strings.NewReader(logs))
	for sc.Scan() {
		var line map[string]any
		if json.Unmarshal(sc.Bytes(), &line) == nil && line["route"] != nil && line["status"] != nil {
			out = append(out, line)
		}
	}
	return out
}

func TestRequestLogs(t *testing.T) {
	for _, mode := range []string{"all", "errors", "off"} {
		t.Run(mode, func(t *testing.T) {
			a := mustStart(t, map[string]string{"LOG_REQUESTS": mode, "LOG_LEVEL": "info"})
			mustGetStatus(t, a.url+"/healthz")
			mustGetStatus(t, a.url+"/readyz")
			mustGetStatus(t, a.url+"/metrics")
			req := slacktest.FormRequest(a.url+"/slack/commands", testSecret, slacktest.Command("T0001", "U0001", "help", "http://127.0.0.1:1/r"))
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			unsigned, _ := http.Post(a.url+"/slack/commands", "application/x-www-form-urlencoded", strings.NewReader("text=help"))
			unsigned.Body.Close()
			// The last request's line is written before its answer is sent.
			routes := map[string]string{}
			for _, l := range requestLines(t, a.logs.String()) {
				routes[fmt.Sprint(l["route"], " ", l["status"])] = fmt.Sprint(l["level"])
			}
			want := map[string]map[string]string{
				"all":    {"/slack/commands 200": "INFO", "/slack/commands 401": "WARN"},
				"errors": {"/slack/commands 401": "WARN"},
				"off":    {},
			}[mode]
			if !cmp.Equal(routes, want) {
				t.Errorf("LOG_REQUESTS=%s: logged %v, want %v (probes and /metrics never at INFO)", mode, routes, want)
			}
		})
	}
}

// The whole app, started as main starts it, lists instances from the EC2
// simulator (through the real AWS SDK) and posts to the fake Slack API.
func TestServeListsFromSimulator(t *testing.T) {
	sim := ec2sim.New(ec2sim.Options{})
	if err := sim.Load(ec2sim.Fixture{Accounts: []ec2sim.FixtureAccount{{
		ID: ec2sim.DefaultAccountID,
		Regions: map[string][]ec2sim.Instance{"eu-west-1": {
			{ID: "i-0000000000000a001", State: "running", Tags: map[string]string{"Name": "web-1"}},
		}},
	}}}); err != nil {
		t.Fatal(err)
	}
	awsAgents := &agents{}
	simServer := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		awsAgents.add(r.UserAgent())
		sim.ServeHTTP(w, r)
	}))
	defer simServer.Close()
	api := slacktest.NewAPI(t)

	a := mustStart(t, map[string]string{
		"SLACK_BOT_TOKEN":       slacktest.BotToken,
		"SLACK_API_URL":         api.APIURL(),
		"AWS_ENDPOINT_URL":      simServer.URL,
		"AWS_REGION":            "eu-west-1",
		"AWS_ACCESS_KEY_ID":     "AKIDMAINTEST",
		"AWS_SECRET_ACCESS_KEY": "main-test-secret-key",
	})
	req := slacktest.FormRequest(a.url+"/slack/commands", testSecret, slacktest.Command("T0001", "U0001", "list running", api.ResponseURL("main-list")))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("list = %d, want 200", resp.StatusCode)
	}
	posted := api.WaitFor(t, slacktest.MethodResponseURL, 1, 10*time.Second)[0]
	raw, _ := json.Marshal(posted.Message)
	if !strings.Contains(string(raw), "web-1") {
		t.Errorf("list posted %s, want web-1 in it", raw)
	}
	if sim.Calls("DescribeInstances") == 0 {
		t.Error("no DescribeInstances reached the simulator")
	}
	wantUA := "charlize/dev"
	if ua := posted.UserAgent; !strings.HasPrefix(ua, wantUA) {
		t.Errorf("response_url post User-Agent = %q, want %s", ua, wantUA)
	}
	if ua := awsAgents.last(); !strings.Contains(ua, wantUA) {
		t.Errorf("AWS User-Agent = %q, want it to contain %s", ua, wantUA)
	}
	// The fake Slack records the post before it answers, and the call is
	// counted once the answer is back: wait for the count.
	wantMetrics := []string{
		`charlize_build_info{goversion="go`,
		`charlize_slack_calls_total{method="response_url",outcome="ok"} 1`,
		`charlize_slack_call_duration_seconds_count{method="response_url"} 1`,
	}
	var missing []string
	for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		metrics := mustGetBody(t, a.url+"/metrics")
		missing = missing[:0]
		for _, want := range wantMetrics {
			if !strings.Contains(metrics, want) {
				missing = append(missing, want)
			}
		}
		if len(missing) == 0 || time.Now().After(deadline) {
			break
		}
	}
	for _, want := range missing {
		t.Errorf("/metrics lacks %s", want)
	}
	if logs := a.logs.String(); strings.Contains(logs, "main-test-secret-key") || strings.Contains(logs, slacktest.BotToken) || strings.Contains(logs, testSecret) {
		t.Error("logs contain a secret")
	}
}

// A policy file with a bad rule stops start-up, naming the rule and field.
func TestServeRefusesBadPolicy(t *testing.T) {
	path := t.TempDir() + "/policy.yaml"
	bad := "rules:\n  - name: ops\n    who: {users: [U111]}\n    actions: [stpo]\n"
	if err := os.WriteFile(path, []byte(bad), 0o600); err != nil {
		t.Fatal(err)
	}
	env := map[string]string{
		"SLACK_SIGNING_SECRET": testSecret,
		"CHARLIZE_ADDR":        "127.0.0.1:0",
		"CHARLIZE_DATA_DIR":    t.TempDir(),
		"CHARLIZE_POLICY_FILE": path,
	}
	err := run(context.Background(), nil, func(k string) string { return env[k] }, io.Discard, io.Discard)
	if err == nil {
		t.Fatal("run with a bad policy file started")
	}
	for _, want := range []string{`"ops"`, "actions", "stpo"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("policy error %q does not mention %s", err, want)
		}
	}
}

// A policy whose approval rule nobody can satisfy is accepted, with a
// warning at start-up that names the rule.
func TestUnsatisfiableApprovalIsWarnedAtStart(t *testing.T) {
	pol := filepath.Join(t.TempDir(), "policy.yaml")
	if err := os.WriteFile(pol, []byte(`rules:
  - name: ops
    who: {users: [U0ALICE]}
    actions: [list, status, stop]
approval:
  - actions: [stop]
`), 0o600); err != nil {
		t.Fatal(err)
	}
	p := mustStart(t, map[string]string{"CHARLIZE_POLICY_FILE": pol, "SLACK_BOT_TOKEN": "xoxb-test"})
	logs := p.logs.String()
	if !strings.Contains(logs, `"level":"WARN"`) || !strings.Contains(logs, "approval[0] (stop on every account needs a second person's approval): only U0ALICE may stop there") {
		t.Errorf("no start-up warning naming approval[0]; logs:\n%s", logs)
	}
}

// A client whose body trickles in, or that promises more body than it
// sends, is cut off at the read timeout instead of holding a connection.
func TestSlowBodyIsCutOff(t *testing.T) {
	p := mustStart(t, map[string]string{"CHARLIZE_HTTP_READ_TIMEOUT": "1s", "SLACK_BOT_TOKEN": "xoxb-test"})
	addr := strings.TrimPrefix(p.url, "http://")
	for _, tc := range []struct {
		name    string
		trickle bool
	}{{"short body", false}, {"trickle", true}} {
		t.Run(tc.name, func(t *testing.T) {
			c, err := net.Dial("tcp", addr)
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			start := time.Now()
			fmt.Fprintf(c, "POST /slack/commands HTTP/1.1\r\nHost: charlize\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: 1000\r\n\r\nteam_id=")
			closed := make(chan error, 1)
			go func() {
				buf := make([]byte, 4096)
				for {
					if _, err := c.Read(buf); err != nil {
						closed <- err
						return
					}
				}
			}()
			tick := time.NewTicker(200 * time.Millisecond)
			defer tick.Stop()
			giveUp := time.After(10 * time.Second)
			for {
				select {
				case <-closed:
					if elapsed := time.Since(start); elapsed > 5*time.Second {
						t.Errorf("connection closed after %s, want about the 1 s read timeout", elapsed)
					}
					return
				case <-tick.C:
					if tc.trickle {
						_, _ = c.Write([]byte("x"))
					}
				case <-giveUp:
					t.Fatal("the connection was still open after 10 s")
				}
			}
		})
	}
}

// A release build's -ldflags version is what every surface shows.
func TestVersionFromLdflags(t *testing.T) {
	old := version
	version = "v1.2.3"
	t.Cleanup(func() { version = old })
	var out bytes.Buffer
	if err := run(context.Background(), []string{"--version"}, func(string) string { return "" }, &out, io.Discard); err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(out.String(), "charlize v1.2.3 (go") {
		t.Errorf("--version = %q, want charlize v1.2.3 (go…)", out.String())
	}
	if ua := userAgent(readBuildInfo()); ua != "charlize/1.2.3" {
		t.Errorf("User-Agent = %q, want charlize/1.2.3", ua)
	}
}
