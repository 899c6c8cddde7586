package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/charlize-app/charlize/ec2ops/ec2sim"
	"github.com/charlize-app/charlize/handlers/console"
)

// The people of the demo workspace, and what the demo policy lets them do.
var demoUsers = []console.User{
	{ID: "U0DEMOALICE", Name: "alice", Title: "SRE: acts everywhere; terminating in acme-prod needs an approval"},
	{ID: "U0DEMOBOB", Name: "bob", Title: "developer: acts on acme-staging only"},
	{ID: "U0DEMOCAROL", Name: "carol", Title: "SRE lead: approves, reads the audit log"},
}

// demoPolicy gives the demo's people different rights, so that refusals
// and two-person approval can be tried.
const demoPolicy = `# Written by charlize demo.
rules:
  - name: sre
    who: {users: [U0DEMOALICE, U0DEMOCAROL]}
    actions: [list, status, start, stop, reboot, restart, terminate]
  - name: sre-lead-audit
    who: {users: [U0DEMOCAROL]}
    actions: [audit]
  - name: developers-on-staging
    who: {users: [U0DEMOBOB]}
    accounts: [acme-staging]
    actions: [list, status, start, stop, reboot, restart]
  - name: everyone-reads
    who: {users: ["*"]}
    actions: [list, status]
approval:
  - actions: [terminate]
    accounts: [acme-prod]
`

// The CI runner that comes and goes on its own, as autoscaled machines
// do, so that the fleet changes while one watches.
const (
	demoRunnerAccount = "210987654321" // acme-staging
	demoRunnerRegion  = "us-east-1"
	demoRunnerID      = "i-0f1e2d3c4b5a60099"
)

// demoCommand runs everything `charlize demo` needs in one process: the
// EC2/STS simulator with the demo fleet, Charlize on the embedded store in
// a temporary folder, and the console (a local stand-in for Slack) that
// Charlize's Web API calls go to.
func demoCommand(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("demo", flag.ContinueOnError)
	fs.SetOutput(stderr)
	addr := fs.String("addr", "127.0.0.1:3000", "where the console page is served (loopback only)")
	transition := fs.Duration("transition", 5*time.Second, "how long pending, stopping and shutting-down last in the simulator")
	latency := fs.Duration("latency", 0, "added to every AWS call, to see Charlize under a slow AWS")
	life := fs.Duration("life", 45*time.Second, "how often the demo's CI runner starts or stops by itself (0: never)")
	logLevel := fs.String("log-level", "warn", "Charlize's log level (debug, info, warn, error)")
	record := fs.String("record", "", "folder that receives every message and view Charlize sends, one JSON file each (for Block Kit Builder or a checker)")
	fs.Usage = func() {
		fmt.Fprintln(fs.Output(), `Usage: charlize demo [flags]

Try Charlize without Slack or AWS: starts the EC2/STS simulator with a demo
fleet, Charlize itself, and a local web page at http://127.0.0.1:3000/ that
stands in for a Slack channel. Type /charlize list there, press buttons,
switch between alice, bob and carol to see refusals and approvals.
Nothing leaves this machine; state is thrown away on exit.

Flags:`)
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return flagErr(err)
	}
	if fs.NArg() > 0 {
		return usageErrorf("demo: unexpected argument %q", fs.Arg(0))
	}
	if err := loopbackOnly(*addr); err != nil {
		return err
	}
	if *record != "" {
		if err := os.MkdirAll(*record, 0o755); err != nil {
			return fmt.Errorf("demo: --record: %w", err)
		}
	}
	return runDemo(ctx, demoOptions{addr: *addr, transition: *transition, latency: *latency, life: *life, logLevel: *logLevel, record: *record}, stdout, stderr)
}

type demoOptions struct {
	addr                      string
	transition, latency, life time.Duration
	logLevel, record          string
}

// loopbackOnly refuses to serve the console beyond this machine: it acts
// as anyone in the demo workspace, with no login.
func loopbackOnly(addr string) error {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return usageErrorf("demo: --addr %q: %v", addr, err)
	}
	if host == "localhost" {
		return nil
	}
	if ip := net.ParseIP(host); ip == nil || !ip.IsLoopback() {
		return usageErrorf("demo: --addr must be a loopback address such as 127.0.0.1:3000 (the console has no login)")
	}
	return nil
}

func runDemo(ctx context.Context, o demoOptions, stdout, stderr io.Writer) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	log := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))

	dir, err := os.MkdirTemp("", "charlize-demo-")
	if err != nil {
		return fmt.Errorf("demo: %w", err)
	}
	defer os.RemoveAll(dir)

	// The simulated AWS.
	sim := ec2sim.New(ec2sim.Options{TransitionTime: o.transition, Latency: o.latency})
	resetFleet := func() error {
		fleet, err := ec2sim.Demo()
		if err != nil {
			return err
		}
		if err := sim.Load(fleet); err != nil {
			return err
		}
		sim.Put(demoRunnerAccount, demoRunnerRegion, demoRunner(ec2sim.StatePending))
		return nil
	}
	if err := resetFleet(); err != nil {
		return fmt.Errorf("demo: %w", err)
	}
	simLn, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return fmt.Errorf("demo: simulator: %w", err)
	}
	simURL := "http://" + simLn.Addr().String()

	// The stand-in for Slack.
	consoleLn, err := net.Listen("tcp", o.addr)
	if err != nil {
		return fmt.Errorf("demo: listen on %s: %w", o.addr, err)
	}
	consoleURL := "http://" + consoleLn.Addr().String()
	secret := randomHex(32)
	var app *demoApp // set below; Reset comes from the page, which opens after
	con := console.New(console.Options{
		SigningSecret: secret, BaseURL: consoleURL, Users: demoUsers, Log: log, RecordDir: o.record,
		Reset: func() error {
			if err := resetFleet(); err != nil {
				return err
			}
			return app.restart()
		},
		Notice: "Charlize runs on its embedded store in a temporary folder, thrown away on exit",
	})

	// Charlize, configured as an operator would, through its environment.
	accounts := filepath.Join(dir, "accounts.yaml")
	policyFile := filepath.Join(dir, "policy.yaml")
	if err := os.WriteFile(accounts, ec2sim.DemoAccounts(), 0o600); err != nil {
		return fmt.Errorf("demo: %w", err)
	}
	if err := os.WriteFile(policyFile, []byte(demoPolicy), 0o600); err != nil {
		return fmt.Errorf("demo: %w", err)
	}
	env := map[string]string{
		"SLACK_SIGNING_SECRET":   secret,
		"SLACK_BOT_TOKEN":        console.BotToken,
		"SLACK_API_URL":          con.APIURL(),
		"CHARLIZE_ADDR":          "127.0.0.1:0",
		"CHARLIZE_ACCOUNTS_FILE": accounts,
		"CHARLIZE_POLICY_FILE":   policyFile,
		"AWS_ENDPOINT_URL":       simURL,
		"AWS_ACCESS_KEY_ID":      "demo",
		"AWS_SECRET_ACCESS_KEY":  "demo",
		"AWS_REGION":             "us-east-1",
		"LOG_FORMAT":             "text",
		"LOG_LEVEL":              o.logLevel,
		"LOG_REQUESTS":           "errors",
	}
	app = &demoApp{ctx: ctx, dir: dir, env: env, con: con, stderr: stderr, failed: make(chan error, 1)}
	if err := app.start(); err != nil {
		return err
	}

	servers := []*http.Server{
		{Handler: sim, ReadHeaderTimeout: 10 * time.Second},
		{Handler: con.Handler(), ReadHeaderTimeout: 10 * time.Second},
	}
	go func() { _ = servers[0].Serve(simLn) }()
	go func() { _ = servers[1].Serve(consoleLn) }()
	defer func() {
		for _, s := range servers {
			_ = s.Close() // event streams never end by themselves
		}
	}()
	if o.life > 0 {
		go fleetLife(ctx, sim, o.life)
	}

	fmt.Fprintf(stdout, "Charlize demo: open %s/ in your browser (Ctrl-C stops it).\n", consoleURL)
	select {
	case <-ctx.Done():
		app.stop()
		return nil
	case err := <-app.failed:
		return err
	}
}

// demoApp is the demo's Charlize. Reset starts a new one on a fresh store,
// as the fleet starts afresh: what the old one held (approvals waiting,
// actions under way, snoozes, the inventory it had seen) belongs to a
// fleet that no longer exists.
type demoApp struct {
	ctx    context.Context
	dir    string
	env    map[string]string
	con    *console.Console
	stderr io.Writer
	failed chan error // a Charlize that stopped by itself

	// mu makes start, stop and restart one at a time: two pages resetting
	// at once must not leave two Charlizes running.
	mu     sync.Mutex
	gen    int
	data   string // the running one's store
	cancel context.CancelFunc
	done   chan struct{}
}

// start runs a Charlize on a store of its own, configured as an operator
// would, through its environment.
func (a *demoApp) start() error {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.startLocked()
}

func (a *demoApp) startLocked() error {
	a.gen++
	env := maps.Clone(a.env)
	env["CHARLIZE_DATA_DIR"] = filepath.Join(a.dir, fmt.Sprintf("data-%d", a.gen))
	cfg, err := loadConfig(func(k string) string { return env[k] })
	if err != nil {
		return usageErrorf("demo: %v", err)
	}
	ln, err := net.Listen("tcp", cfg.Addr)
	if err != nil {
		return fmt.Errorf("demo: %w", err)
	}
	cfg.listener = ln
	a.con.SetAppURL("http://" + ln.Addr().String())
	ctx, cancel := context.WithCancel(a.ctx)
	done := make(chan struct{})
	a.data, a.cancel, a.done = env["CHARLIZE_DATA_DIR"], cancel, done
	go func() {
		defer close(done)
		err := serve(ctx, cfg, a.stderr)
		if ctx.Err() == nil { // not stopped by stop: it failed
			if err == nil {
				err = errors.New("demo: Charlize stopped")
			}
			select {
			case a.failed <- err:
			default:
			}
		}
	}()
	return nil
}

// stop ends the running Charlize and waits for it.
func (a *demoApp) stop() {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.stopLocked()
}

func (a *demoApp) stopLocked() {
	if a.cancel != nil {
		a.cancel()
		<-a.done
		a.cancel = nil
	}
}

// restart replaces the running Charlize with a new one on an empty store
// and removes the old store. A new one that cannot start ends the demo,
// as the first one's failure does: the page would be left with nothing
// behind it. The old store's folder is left when it cannot be removed
// (the demo's temporary folder goes on exit).
func (a *demoApp) restart() error {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.stopLocked()
	old := a.data
	if err := a.startLocked(); err != nil {
		select {
		case a.failed <- err:
		default:
		}
		return err
	}
	_ = os.RemoveAll(old)
	return nil
}

func demoRunner(state string) ec2sim.Instance {
	return ec2sim.Instance{ID: demoRunnerID, Type: "c6i.large", State: state, AZ: demoRunnerRegion + "b",
		PrivateIP: "10.20.4.99", Tags: map[string]string{"Name": "staging-ci-runner", "env": "staging", "team": "platform"}}
}

// fleetLife starts and stops the CI runner every period, as a CI system
// would, so that listings differ over time.
func fleetLife(ctx context.Context, sim *ec2sim.Sim, period time.Duration) {
	t := time.NewTicker(period)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		inst, ok := sim.Get(demoRunnerAccount, demoRunnerRegion, demoRunnerID)
		switch {
		case !ok:
			continue
		case inst.State == ec2sim.StateRunning:
			inst.State = ec2sim.StateStopping
		case inst.State == ec2sim.StateStopped:
			inst.State = ec2sim.StatePending
		default:
			continue // someone is acting on it, or it is gone
		}
		sim.Put(demoRunnerAccount, demoRunnerRegion, inst)
	}
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b) // crypto/rand.Read never fails (Go 1.24+)
	return hex.EncodeToString(b)
}
