package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"runtime/debug"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/redis/go-redis/v9"

	"github.com/charlize-app/charlize/ec2ops"
	"github.com/charlize-app/charlize/handlers"
	"github.com/charlize-app/charlize/handlers/app"
	"github.com/charlize-app/charlize/handlers/policy"
	"github.com/charlize-app/charlize/handlers/schedule"
	"github.com/charlize-app/charlize/handlers/slackclient"
	"github.com/charlize-app/charlize/store"
)

// run is the whole program; main only supplies the process's environment.
// It returns a *usageError for a wrong command line (exit 2) and any other
// error for a failure (exit 1); see exitCode.
func run(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	sub := "serve"
	if len(args) > 0 {
		switch args[0] {
		case "-h", "-help", "--help":
			usage(stdout)
			return nil
		case "-version", "--version":
			return versionCommand(nil, stdout, stderr)
		}
		if !strings.HasPrefix(args[0], "-") {
			sub, args = args[0], args[1:]
		}
	}
	switch sub {
	case "serve":
		return serveCommand(ctx, args, getenv, stdout, stderr)
	case "demo":
		return demoCommand(ctx, args, stdout, stderr)
	case "doctor":
		return doctorCommand(ctx, args, getenv, stdout, stderr)
	case "healthcheck":
		return healthcheckCommand(ctx, args, getenv, stdout, stderr)
	case "version":
		return versionCommand(args, stdout, stderr)
	case "manifest":
		return manifestCommand(args, getenv, stdout, stderr)
	case "simulate":
		return simulateCommand(ctx, args, stdout, stderr)
	case "events-template":
		return eventsTemplateCommand(args, stdout, stderr)
	case "help":
		usage(stdout)
		return nil
	default:
		usage(stderr)
		return usageErrorf("unknown command %q (see charlize --help)", sub)
	}
}

func usage(w io.Writer) {
	fmt.Fprint(w, `Charlize operates AWS EC2 from Slack.

Usage:
  charlize [serve]      run the server (the default); configuration comes from
                        the environment (charlize serve --help lists it)
  charlize demo         try Charlize in a browser: a simulated AWS, and a local
                        page standing in for Slack at http://127.0.0.1:3000/
  charlize doctor [--json]
                        check a configuration before going live
  charlize healthcheck  exit 0 when a running Charlize answers /healthz
  charlize manifest --url https://charlize.example.com [--socket-mode] [--token-rotation]
                        print the Slack app manifest
  charlize simulate     serve the EC2/STS simulator, to try Charlize without AWS
  charlize version      print the version (also: charlize --version)
  charlize events-template [--queue-account ID]
                        print the CloudFormation template that sends AWS events to Charlize
  charlize <command> --help

Exit status: 0 done, 1 failed (configuration, checks, runtime), 2 wrong command line.
`)
}

func serveCommand(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	fs.SetOutput(stdout)
	fs.Usage = func() {
		fmt.Fprintln(fs.Output(), "Usage: charlize serve\n\nRuns the Slack app. Configuration comes from the environment:")
		for _, v := range envVars {
			fmt.Fprintf(fs.Output(), "  %-24s %s\n", v.name, v.meaning)
		}
	}
	if err := fs.Parse(args); err != nil {
		return flagErr(err)
	}
	if fs.NArg() > 0 {
		return usageErrorf("serve: unexpected argument %q", fs.Arg(0))
	}
	cfg, err := loadConfig(getenv)
	if err != nil {
		return err
	}
	return serve(ctx, cfg, stderr)
}

// serve runs Charlize with cfg until ctx ends; demo calls it too, with a
// listener of its own in cfg.
func serve(ctx context.Context, cfg config, stderr io.Writer) error {
	log := newLogger(cfg, stderr)
	build := readBuildInfo()

	st, err := openStore(cfg, log)
	if err != nil {
		return err
	}
	defer st.Close()
	if st, err = sealStore(cfg, st); err != nil {
		return err
	}
	logInstallMode(cfg, log)

	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	metrics := handlers.NewMetrics(reg)
	handlers.RegisterBuildInfo(reg, build.Version, build.Revision, build.GoVersion)
	// One client for every call to Slack: named, timed and counted.
	slackHTTP := slackclient.NewHTTPClientWith(slackclient.HTTPOptions{UserAgent: userAgent(build), Observe: metrics.ObserveSlack})

	fleet, err := openFleet(ctx, cfg, build, log, metrics, reg)
	if err != nil {
		return err
	}
	pol, err := policy.Load(cfg.PolicyFile)
	if err != nil {
		return err
	}
	log.Info("policy loaded", "policy", pol.Summary())
	for _, w := range pol.Warnings() {
		log.Warn("policy: "+w, "policy", cfg.PolicyFile)
	}
	var schedules []schedule.Schedule
	if cfg.SchedulesFile != "" {
		if schedules, err = schedule.LoadFile(cfg.SchedulesFile, cfg.TimeZone); err != nil {
			return err
		}
		log.Info("schedules loaded", "file", cfg.SchedulesFile, "schedules", len(schedules))
	}
	dispatcher, err := app.New(app.Options{
		Log:           log,
		Store:         st,
		Fleet:         fleet,
		Clients:       slackClients(cfg, st, log, slackHTTP),
		HTTPClient:    slackHTTP,
		Metrics:       metrics,
		Policy:        pol,
		StrictTenancy: cfg.multiWorkspace(),
		AuditChannel:  cfg.AuditChannel,
		EventsChannel: cfg.EventsChannel,
		ApprovalTTL:   cfg.ApprovalTTL,
		LeaseTTL:      cfg.LeaseTTL,
		// The embedded store is one process's: what it finds open at start
		// was left by this process's previous run.
		SingleProcess:   cfg.RedisURL == "",
		GraphWindow:     cfg.GraphWindow,
		CardTags:        cfg.CardTags,
		Schedules:       schedules,
		ScheduleWarning: cfg.ScheduleWarning,
		ScheduleGrace:   cfg.ScheduleGrace,
		ScheduleChannel: cfg.ScheduleChannel,
		TimeZone:        cfg.TimeZone,
	})
	if err != nil {
		return err
	}
	// Actions left open by a replica that died (or by this process before a
	// restart) are carried on, and open approval requests expire on time.
	runDone := make(chan struct{})
	go func() {
		defer close(runDone)
		_ = dispatcher.Run(ctx)
	}()
	// AWS events from SQS are polled under the same context, and stop
	// with it.
	poller, err := openEvents(cfg, fleet, dispatcher, log, metrics)
	if err != nil {
		return err
	}
	eventsDone := make(chan struct{})
	go func() {
		defer close(eventsDone)
		if poller != nil {
			poller.Run(ctx)
		}
	}()
	oauth, err := newOAuth(cfg, st, log, slackHTTP)
	if err != nil {
		return err
	}
	serverCfg := handlers.Config{SigningSecret: cfg.SigningSecret, OAuth: oauth, LogRequests: cfg.LogRequests}
	if poller != nil {
		serverCfg.Events = poller
	}
	e := handlers.NewServer(serverCfg, log, st, dispatcher, reg, metrics)

	ln := cfg.listener
	if ln == nil {
		if ln, err = net.Listen("tcp", cfg.Addr); err != nil {
			return fmt.Errorf("listen on %s: %w", cfg.Addr, err)
		}
	}
	// A client that sends its request slowly (or promises more body than
	// it sends) is cut off, so one client cannot hold connections; Slack
	// sends whole requests in milliseconds and wants its ack within 3 s.
	srv := &http.Server{
		Handler:           e,
		ReadHeaderTimeout: min(2*time.Second, cfg.ReadTimeout),
		ReadTimeout:       cfg.ReadTimeout,
		WriteTimeout:      cfg.ReadTimeout + 10*time.Second,
		IdleTimeout:       90 * time.Second,
	}
	// What start-up parsed and built (configuration, AWS's settings, the
	// encoders' caches) is garbage now; give its pages back before serving
	// rather than minutes later, when the scavenger would.
	debug.FreeOSMemory()
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()
	log.Info("charlize listening", "addr", ln.Addr().String(), "store", storeKind(cfg), "version", build.Version)
	socketDone := startSocketMode(ctx, cfg, log, dispatcher, metrics, slackHTTP)

	select {
	case err := <-served:
		return fmt.Errorf("serve: %w", err)
	case <-ctx.Done():
	}
	// Stop accepting, let in-flight requests finish (bounded), then the
	// deferred Close releases the store.
	log.Info("shutting down")
	shutdownCtx, cancel := context.WithTimeout(context.Background(), cfg.ShutdownTimeout)
	defer cancel()
	if err := srv.Shutdown(shutdownCtx); err != nil {
		return fmt.Errorf("shutdown: %w", err)
	}
	<-socketDone
	<-runDone
	<-eventsDone
	// Actions already acked keep running until they finish or time runs
	// out; what is cut short is handed on to the next replica.
	if err := dispatcher.Close(shutdownCtx); err != nil {
		log.Warn("background work cut short by shutdown", "err", err)
	}
	return nil
}

// openFleet loads the AWS accounts. Without an accounts file and without
// a region there is nothing to operate on: Charlize still serves Slack and
// says so to users, rather than refusing to start.
func openFleet(ctx context.Context, cfg config, build buildInfo, log *slog.Logger, m *handlers.Metrics, reg prometheus.Registerer) (app.Fleet, error) {
	if cfg.AccountsFile == "" && len(cfg.Regions) == 0 {
		log.Warn("no AWS accounts: set CHARLIZE_ACCOUNTS_FILE, or CHARLIZE_REGIONS / AWS_REGION for the ambient account")
		return nil, nil
	}
	file, err := ec2ops.LoadAccountsFile(cfg.AccountsFile, cfg.Regions)
	if err != nil {
		return nil, err
	}
	accounts := file.Accounts
	region := cfg.AWSRegion
	switch {
	case region != "":
	case len(accounts) > 0:
		region = accounts[0].Regions[0]
	default:
		region = file.Organization.Regions[0]
	}
	awsCfg, err := loadAWSConfig(ctx, cfg, region, build)
	if err != nil {
		return nil, err
	}
	fleet, err := ec2ops.New(awsCfg, accounts, ec2ops.Options{Observe: m.ObserveAWS, Concurrency: cfg.AWSConcurrency,
		Organization: file.Organization})
	if err != nil {
		return nil, err
	}
	names := make([]string, len(accounts))
	for i, a := range accounts {
		names[i] = a.Name
	}
	log.Info("AWS accounts loaded", "accounts", names)
	if file.Organization != nil {
		newOrganizationDiscovery(fleet, log, reg).start(ctx)
	}
	return fleet, nil
}

// slackClients picks how requests find their Slack client: one bot
// token, or each workspace's installation.
func slackClients(cfg config, st store.Store, log *slog.Logger, hc *http.Client) slackclient.Clients {
	if cfg.multiWorkspace() {
		return slackclient.NewInstallations(slackclient.InstallationsOptions{
			Store: st, APIURL: cfg.SlackAPIURL, ClientID: cfg.ClientID, ClientSecret: cfg.ClientSecret, Log: log, HTTPClient: hc,
		})
	}
	if cfg.BotToken == "" {
		return slackclient.SingleWorkspace{}
	}
	return slackclient.SingleWorkspace{API: slackclient.NewClient(cfg.BotToken, cfg.SlackAPIURL, hc)}
}

func newLogger(cfg config, w io.Writer) *slog.Logger {
	opts := &slog.HandlerOptions{Level: cfg.LogLevel}
	if cfg.LogFormat == "text" {
		return slog.New(slog.NewTextHandler(w, opts))
	}
	return slog.New(slog.NewJSONHandler(w, opts))
}

func openStore(cfg config, log *slog.Logger) (store.Store, error) {
	if cfg.RedisURL != "" {
		// go-redis logs through a package-level logger; send it to ours so
		// the logs keep one format.
		redis.SetLogger(redisLogger{log})
		r, err := store.OpenRedis(cfg.RedisURL, store.RedisOptions{AuditLimit: cfg.AuditLimit})
		if err != nil {
			return nil, fmt.Errorf("open redis store: %w", err)
		}
		return r, nil
	}
	e, err := store.OpenEmbedded(cfg.DataDir, store.EmbeddedOptions{AuditLimit: cfg.AuditLimit})
	if err != nil {
		return nil, fmt.Errorf("open embedded store in %s: %w", cfg.DataDir, err)
	}
	return e, nil
}

// redisLogger writes go-redis's own log lines (reconnects, pool trouble)
// through the app's logger.
type redisLogger struct{ log *slog.Logger }

func (l redisLogger) Printf(ctx context.Context, format string, v ...any) {
	l.log.WarnContext(ctx, "redis: "+fmt.Sprintf(format, v...))
}

func storeKind(cfg config) string {
	if cfg.RedisURL != "" {
		return "redis"
	}
	return "embedded"
}
