package handlers_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/alicebob/miniredis/v2"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/jonboulle/clockwork"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/slack-go/slack"

	"github.com/charlize-app/charlize/ec2ops"
	"github.com/charlize-app/charlize/ec2ops/ec2sim"
	"github.com/charlize-app/charlize/handlers"
	"github.com/charlize-app/charlize/handlers/app"
	"github.com/charlize-app/charlize/handlers/policy"
	"github.com/charlize-app/charlize/handlers/schedule"
	"github.com/charlize-app/charlize/handlers/slackclient"
	"github.com/charlize-app/charlize/handlers/slacktest"
	"github.com/charlize-app/charlize/store"
)

const (
	acctProd = "111111111111"
	acctDev  = "222222222222"
	team     = "T0001"
	alice    = "U0ALICE"
	bob      = "U0BOB"
	channel  = "C2147483705"
)

// world is Charlize's HTTP handlers wired to working fakes: the EC2/STS
// simulator over HTTP through the real AWS SDK, a fake Slack Web API, and a
// real store.
type world struct {
	t      testing.TB
	sim    *ec2sim.Sim
	simURL string // where the simulator listens
	slack  *slacktest.API
	store  store.Store
	server *httptest.Server
	fleet  *ec2ops.Fleet
	// dispatcher is closed at cleanup; tests may close it earlier to act
	// out a shutdown.
	dispatcher        *app.Dispatcher
	dispatcherOptions app.Options
	stopRun           func() // ends the dispatcher's takeover loop
}

// restartDispatcher acts out a replica going away and another starting on
// the same store and Slack: the first one's timers die with it, the new one
// resumes what the store says is open.
func (w *world) restartDispatcher() *app.Dispatcher {
	w.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_ = w.dispatcher.Close(ctx)
	w.stopRun()
	d := mustDispatcher(w.t, w.dispatcherOptions)
	w.stopRun = startRun(w.t, d)
	w.t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		_ = d.Close(ctx)
	})
	w.dispatcher = d
	return d
}

// addReplica starts another replica named name on w's store, running its
// takeover loop and scheduler until the test ends.
func (w *world) addReplica(name string) *app.Dispatcher {
	w.t.Helper()
	o := w.dispatcherOptions
	o.Replica = name
	d := mustDispatcher(w.t, o)
	startRun(w.t, d)
	w.t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		_ = d.Close(ctx)
	})
	return d
}

// startRun runs d's takeover loop, as run does beside the server, until the
// returned stop (or the test's end).
func startRun(t testing.TB, d *app.Dispatcher) (stop func()) {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		_ = d.Run(ctx)
	}()
	var once sync.Once
	stop = func() { once.Do(func() { cancel(); <-done }) }
	t.Cleanup(stop)
	return stop
}

type worldOptions struct {
	redis       bool // a Redis store (REDIS_URL, else miniredis) instead of the embedded one
	transition  time.Duration
	fixture     ec2sim.Fixture
	approvalTTL time.Duration
	logs        io.Writer // where the app logs (JSON); nil discards
	groupsTTL   time.Duration
	policy      string // policy YAML; "" = everyone may do everything (the flow tests' world); defaultPolicy = policy.Default()
	// strictTenancy shows a workspace only the accounts whose workspaces
	// name it; workspaces sets those lists by account name.
	strictTenancy bool
	workspaces    map[string][]string
	auditChannel  string // app.Options.AuditChannel
	// redisURL points the Redis store elsewhere (a proxy in front of it).
	redisURL string
	// reportDeadline is app.Options.ReportDeadline.
	reportDeadline time.Duration
	// wrapSim wraps the simulator's handler (to hold a call until a test
	// lets it go, say).
	wrapSim  func(http.Handler) http.Handler
	graphTTL time.Duration // app.Options.GraphTTL
	schedule func(context.Context, ec2ops.Instance) string
	cardTags []string
	// awsEndpoint sends the fleet's AWS calls there instead of to the
	// simulator (a closed loopback port, say), retrying without backoff.
	awsEndpoint string
	// fastRetry makes the SDK retry throttled and failed calls without
	// backoff, so a test of persistent failures does not wait for it.
	fastRetry bool
	// wrapStore wraps the store the app uses (to make it fail, say); the
	// world's store field stays the real one.
	wrapStore func(store.Store) store.Store
	// auditBuffer and auditRetry are the Dispatcher's AuditBuffer and AuditRetry.
	auditBuffer int
	auditRetry  time.Duration
	// Schedules: the scheduler's fake clock (nil = the real one), its
	// channel, warning and grace, and schedules as from the file.
	clock           *clockwork.FakeClock
	scheduleChannel string
	scheduleWarning time.Duration
	scheduleGrace   time.Duration
	schedules       []schedule.Schedule
	// tune changes the dispatcher's options last.
	tune func(*app.Options)
	// organization, when set, discovers the accounts from the fixture's
	// organization instead of listing the fixture's accounts.
	organization *ec2ops.Organization
	latency      time.Duration // the simulator's, on every AWS call
	concurrency  int           // ec2ops.Options.Concurrency (0: its default)
	managedTag   *ec2ops.Tag   // every account's ManagedTag
}

// defaultPolicy asks newWorld for policy.Default(), what Charlize runs
// with when no policy file is configured.
const defaultPolicy = "<default policy>"

// allowAll lets every user do every action, so flow tests exercise flows;
// the authorization tests pass their own policies.
const allowAll = `rules:
  - name: everyone-everything
    who: {users: ["*"]}
    actions: [list, status, start, stop, reboot, restart, terminate, audit, schedule]
`

func newWorld(t testing.TB, o worldOptions) *world {
	t.Helper()
	if o.transition == 0 {
		o.transition = 150 * time.Millisecond
	}
	sim := ec2sim.New(ec2sim.Options{TransitionTime: o.transition, Latency: o.latency})
	if len(o.fixture.Accounts) == 0 {
		o.fixture = defaultFixture()
	}
	if err := sim.Load(o.fixture); err != nil {
		t.Fatal(err)
	}
	var simHandler http.Handler = sim
	if o.wrapSim != nil {
		simHandler = o.wrapSim(sim)
	}
	simServer := httptest.NewServer(simHandler)
	t.Cleanup(simServer.Close)

	var accounts []ec2ops.Account
	for _, a := range o.fixture.Accounts {
		name := map[string]string{acctProd: "acme-prod", acctDev: "acme-dev"}[a.ID]
		if name == "" {
			name = "acct-" + a.ID
		}
		var regions []string
		for r := range a.Regions {
			regions = append(regions, r)
		}
		accounts = append(accounts, ec2ops.Account{Name: name, ID: a.ID, RoleARN: "arn:aws:iam::" + a.ID + ":role/charlize",
			ExternalID: a.ExternalID, Regions: regions, Workspaces: o.workspaces[name], ManagedTag: o.managedTag})
	}
	awsCfg := aws.Config{
		Region:       "eu-west-1",
		Credentials:  credentials.NewStaticCredentialsProvider("AKIDCHARLIZE", "secret", ""),
		BaseEndpoint: aws.String(simServer.URL),
	}
	if o.awsEndpoint != "" {
		awsCfg.BaseEndpoint = aws.String(o.awsEndpoint)
		o.fastRetry = true
	}
	if o.fastRetry {
		awsCfg.Retryer = func() aws.Retryer {
			return retry.NewStandard(func(o *retry.StandardOptions) {
				o.Backoff = retry.BackoffDelayerFunc(func(int, error) (time.Duration, error) { return time.Millisecond, nil })
			})
		}
	}
	if o.organization != nil {
		accounts = []ec2ops.Account{}
	}
	fleet, err := ec2ops.New(awsCfg, accounts, ec2ops.Options{WaitPollInterval: 50 * time.Millisecond, WaitTimeout: 20 * time.Second,
		Organization: o.organization, Concurrency: o.concurrency})
	if err != nil {
		t.Fatal(err)
	}
	if o.organization != nil {
		if _, err := fleet.Discover(context.Background()); err != nil {
			t.Fatal(err)
		}
	}

	if o.policy == "" {
		o.policy = allowAll
	}
	pol := policy.Default()
	if o.policy != defaultPolicy {
		var err error
		if pol, err = policy.Parse([]byte(o.policy)); err != nil {
			t.Fatalf("policy: %v", err)
		}
	}
	var st store.Store
	switch {
	case o.redisURL != "":
		o.redis = true
		st = openRedisAt(t, o.redisURL)
	default:
		st = openStore(t, o.redis)
	}
	appStore := st
	if o.wrapStore != nil {
		appStore = o.wrapStore(st)
	}
	api := slacktest.NewAPI(t)
	log := slog.New(slog.DiscardHandler)
	if o.logs != nil {
		log = slog.New(slog.NewJSONHandler(o.logs, nil))
	}
	if os.Getenv("CHARLIZE_TEST_LOG") != "" {
		log = slog.New(slog.NewTextHandler(os.Stderr, nil))
	}
	reg := prometheus.NewRegistry()
	metrics := handlers.NewMetrics(reg)
	dopts := app.Options{
		Log: log, Store: appStore, Fleet: fleet, Metrics: metrics,
		Clients:          slackclient.SingleWorkspace{API: slackclient.NewClient(slacktest.BotToken, api.APIURL(), nil)},
		Policy:           pol,
		ApprovalTTL:      o.approvalTTL,
		GroupsTTL:        o.groupsTTL,
		StrictTenancy:    o.strictTenancy,
		AuditChannel:     o.auditChannel,
		ProgressInterval: time.Millisecond,
		// Short leases so takeovers happen within a test's patience, not so
		// short that a busy machine (-race, CI) lets one lapse mid-action.
		LeaseTTL:        3 * time.Second,
		SingleProcess:   !o.redis,
		ReportDeadline:  o.reportDeadline,
		GraphTTL:        o.graphTTL,
		Schedule:        o.schedule,
		CardTags:        o.cardTags,
		AuditBuffer:     o.auditBuffer,
		AuditRetry:      o.auditRetry,
		ScheduleChannel: o.scheduleChannel,
		ScheduleWarning: o.scheduleWarning,
		ScheduleGrace:   o.scheduleGrace,
		Schedules:       o.schedules,
	}
	if o.clock != nil {
		dopts.SchedulerClock = o.clock
	}
	if o.tune != nil {
		o.tune(&dopts)
	}
	d := mustDispatcher(t, dopts)
	stopRun := startRun(t, d)
	e := handlers.NewServer(handlers.Config{SigningSecret: secret}, log, appStore, d, reg, metrics)
	srv := httptest.NewServer(e)
	t.Cleanup(func() {
		srv.Close()
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		_ = d.Close(ctx)
	})
	return &world{t: t, sim: sim, simURL: simServer.URL, slack: api, store: st, server: srv, fleet: fleet, dispatcher: d, dispatcherOptions: dopts, stopRun: stopRun}
}

// mustDispatcher is app.New for tests.
func mustDispatcher(t testing.TB, o app.Options) *app.Dispatcher {
	t.Helper()
	d, err := app.New(o)
	if err != nil {
		t.Fatal(err)
	}
	return d
}

func openStore(t testing.TB, redis bool) store.Store {
	t.Helper()
	if !redis {
		s, err := store.OpenEmbedded(t.TempDir(), store.EmbeddedOptions{})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { s.Close() })
		return s
	}
	u := os.Getenv("REDIS_URL")
	if u == "" {
		u = "redis://" + miniredis.RunT(t).Addr()
	}
	return openRedisAt(t, u)
}

// openRedisAt is a Redis store at u, its keys prefixed for this test.
func openRedisAt(t testing.TB, u string) store.Store {
	t.Helper()
	s, err := store.OpenRedis(u, store.RedisOptions{Prefix: "charlize-e2e:" + strings.ReplaceAll(t.Name(), "/", "_") + ":" + time.Now().Format("150405.000000") + ":"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func defaultFixture() ec2sim.Fixture {
	launch := time.Now().Add(-72 * time.Hour).UTC().Truncate(time.Second)
	inst := func(id, name, state string, protected bool) ec2sim.Instance {
		return ec2sim.Instance{ID: id, Type: "t3.micro", State: state, PrivateIP: "10.0.0.1", LaunchTime: launch,
			Tags: map[string]string{"Name": name, "env": "prod"}, DisableAPITermination: protected}
	}
	return ec2sim.Fixture{Accounts: []ec2sim.FixtureAccount{
		{ID: acctProd, Regions: map[string][]ec2sim.Instance{
			"eu-west-1": {
				inst("i-0000000000000a001", "web-1", "running", false),
				inst("i-0000000000000a002", "web-2", "running", false),
				inst("i-0000000000000d001", "db-1", "running", true),
				inst("i-0000000000000b001", "old-1", "stopped", false),
			},
		}},
		{ID: acctDev, Regions: map[string][]ec2sim.Instance{
			"us-east-1": {inst("i-0000000000000c001", "dev-1", "running", false)},
		}},
	}}
}

// do sends a request and returns the response, failing on transport errors.
func (w *world) do(r *http.Request) *http.Response {
	w.t.Helper()
	u, _ := url.Parse(w.server.URL)
	r.URL.Scheme, r.URL.Host, r.Host = u.Scheme, u.Host, u.Host
	resp, err := http.DefaultClient.Do(r)
	if err != nil {
		w.t.Fatal(err)
	}
	w.t.Cleanup(func() { resp.Body.Close() })
	return resp
}

// command runs `/charlize text` as user and returns the ack.
func (w *world) command(user, text, responseID string) (int, slack.WebhookMessage) {
	w.t.Helper()
	form := slacktest.Command(team, user, text, w.slack.ResponseURL(responseID))
	form.Set("channel_id", channel)
	resp := w.do(slacktest.FormRequest("/slack/commands", secret, form))
	var msg slack.WebhookMessage
	_ = json.NewDecoder(resp.Body).Decode(&msg)
	return resp.StatusCode, msg
}

// click presses a button as user, from an ephemeral message whose
// response_url is responseID.
func (w *world) click(user string, b button, responseID string) int {
	w.t.Helper()
	payload := map[string]any{
		"type":         "block_actions",
		"user":         map[string]any{"id": user, "username": user, "team_id": team},
		"team":         map[string]any{"id": team, "domain": "example"},
		"api_app_id":   "A123456",
		"trigger_id":   "12466734323.1395872398.b2c6f3b5a2e8c4d0a1f0e9d8c7b6a5f4",
		"container":    map[string]any{"type": "message", "message_ts": "", "channel_id": channel, "is_ephemeral": true},
		"channel":      map[string]any{"id": channel, "name": "ops"},
		"response_url": w.slack.ResponseURL(responseID),
		"actions": []map[string]any{{
			"type": "button", "action_id": b.actionID, "block_id": b.blockID, "value": b.value,
			"action_ts": time.Now().Format("1504.000000"),
		}},
	}
	resp := w.do(slacktest.PayloadRequest("/slack/interactions", secret, payload))
	return resp.StatusCode
}

// button is a rendered interactive element.
type button struct {
	actionID, blockID, value, text string
	confirm                        bool
}

// buttons lists a message's buttons.
func buttons(bs []slack.Block) []button {
	var out []button
	for _, b := range bs {
		ab, ok := b.(*slack.ActionBlock)
		if !ok || ab.Elements == nil {
			continue
		}
		for _, el := range ab.Elements.ElementSet {
			if btn, ok := el.(*slack.ButtonBlockElement); ok {
				out = append(out, button{actionID: btn.ActionID, blockID: ab.BlockID, value: btn.Value, text: btn.Text.Text, confirm: btn.Confirm != nil})
			}
		}
	}
	return out
}

// mustButton finds the button whose action_id starts with prefix in the
// block rendered for the instance named name ("" = any).
func mustButton(t *testing.T, msg slack.WebhookMessage, prefix, text string) button {
	t.Helper()
	if msg.Blocks == nil {
		t.Fatalf("message has no blocks: %+v", msg)
	}
	for _, b := range buttons(msg.Blocks.BlockSet) {
		if strings.HasPrefix(b.actionID, prefix) && (text == "" || b.text == text) {
			return b
		}
	}
	raw, _ := json.Marshal(msg)
	t.Fatalf("no %q button %q in %s", prefix, text, raw)
	return button{}
}

// listFor finds the block index of instance name and the buttons after it.
func instanceButtons(t *testing.T, msg slack.WebhookMessage, name string) []button {
	t.Helper()
	bs := msg.Blocks.BlockSet
	for i, b := range bs {
		sec, ok := b.(*slack.SectionBlock)
		if !ok || sec.Text == nil || !strings.Contains(sec.Text.Text, name) || i+1 >= len(bs) {
			continue
		}
		return buttons(bs[i+1 : i+2])
	}
	raw, _ := json.Marshal(msg)
	t.Fatalf("no instance %q in %s", name, raw)
	return nil
}

func messageText(msg slack.WebhookMessage) string {
	raw, _ := json.Marshal(msg)
	return string(raw)
}

func callText(c slacktest.Call) string {
	if c.Method == slacktest.MethodResponseURL {
		return messageText(c.Message)
	}
	raw, _ := json.Marshal(c.Form)
	return string(raw)
}

// waitForText waits until some call of method contains want.
func (w *world) waitForText(method, want string, timeout time.Duration) slacktest.Call {
	w.t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		for _, c := range w.slack.Calls(method) {
			if strings.Contains(callText(c), want) {
				return c
			}
		}
		if time.Now().After(deadline) {
			var seen []string
			for _, c := range w.slack.Calls(method) {
				seen = append(seen, callText(c))
			}
			w.t.Fatalf("no %s call containing %q within %s; saw:\n%s", method, want, timeout, strings.Join(seen, "\n"))
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// logBuffer collects the app's log lines while its goroutines write them.
type logBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *logBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *logBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}
