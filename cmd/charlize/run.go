package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"runtime/debug"
	"strings"
	"time"

	awsconfig "github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/redis/go-redis/v9"
	"github.com/slack-go/slack"

	"github.com/charlize-app/charlize/ec2ops"
	"github.com/charlize-app/charlize/handlers"
	"github.com/charlize-app/charlize/handlers/app"
	"github.com/charlize-app/charlize/handlers/policy"
	"github.com/charlize-app/charlize/handlers/slackclient"
	"github.com/charlize-app/charlize/store"
)

// version is set at build time with -ldflags "-X main.version=…".
var version = "dev"

// run is the whole program; main only supplies the process's environment.
func run(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	sub := "serve"
	if len(args) > 0 && !strings.HasPrefix(args[0], "-") {
		sub, args = args[0], args[1:]
	}
	switch sub {
	case "serve":
		return serveCommand(ctx, args, getenv, stdout, stderr)
	case "version":
		return versionCommand(args, stdout, stderr)
	case "manifest":
		return manifestCommand(args, getenv, stdout, stderr)
	case "simulate":
		return simulateCommand(ctx, args, stdout, stderr)
	case "help":
		usage(stdout)
		return nil
	default:
		usage(stderr)
		return fmt.Errorf("unknown command %q", sub)
	}
}

func usage(w io.Writer) {
	fmt.Fprint(w, `Charlize operates AWS EC2 from Slack.

Usage:
  charlize [serve]    run the server (the default)
  charlize version    print the version
  charlize manifest --url https://charlize.example.com [--socket-mode]
                      print the Slack app manifest
  charlize simulate   serve an EC2/STS simulator, to try Charlize without AWS
  charlize <command> --help
`)
}

func versionCommand(args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("version", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() { fmt.Fprintln(fs.Output(), "Usage: charlize version\n\nPrints the version and Go runtime.") }
	if err := fs.Parse(args); err != nil {
		return flagErr(err)
	}
	goVersion := "unknown"
	if bi, ok := debug.ReadBuildInfo(); ok {
		goVersion = bi.GoVersion
	}
	fmt.Fprintf(stdout, "charlize %s (%s)\n", version, goVersion)
	return nil
}

// flagErr turns --help into a clean exit.
func flagErr(err error) error {
	if errors.Is(err, flag.ErrHelp) {
		return nil
	}
	return err
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
	cfg, err := loadConfig(getenv)
	if err != nil {
		return err
	}
	log := newLogger(cfg, stderr)

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

	fleet, err := openFleet(ctx, cfg, log, metrics, reg)
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
	dispatcher, err := app.New(app.Options{
		Log:           log,
		Store:         st,
		Fleet:         fleet,
		Clients:       slackClients(cfg, st, log),
		Metrics:       metrics,
		Policy:        pol,
		StrictTenancy: cfg.multiWorkspace(),
		AuditChannel:  cfg.AuditChannel,
		ApprovalTTL:   cfg.ApprovalTTL,
		LeaseTTL:      cfg.LeaseTTL,
		// The embedded store is one process's: what it finds open at start
		// was left by this process's previous run.
		SingleProcess: cfg.RedisURL == "",
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
	oauth, err := newOAuth(cfg, st, log)
	if err != nil {
		return err
	}
	e := handlers.NewServer(handlers.Config{SigningSecret: cfg.SigningSecret, OAuth: oauth}, log, st, dispatcher, reg, metrics)

	ln, err := net.Listen("tcp", cfg.Addr)
	if err != nil {
		return fmt.Errorf("listen on %s: %w", cfg.Addr, err)
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
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()
	log.Info("charlize listening", "addr", ln.Addr().String(), "store", storeKind(cfg), "version", version)
	socketDone := startSocketMode(ctx, cfg, log, dispatcher, metrics)

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
func openFleet(ctx context.Context, cfg config, log *slog.Logger, m *handlers.Metrics, reg prometheus.Registerer) (app.Fleet, error) {
	if cfg.AccountsFile == "" && len(cfg.Regions) == 0 {
		log.Warn("no AWS accounts: set CHARLIZE_ACCOUNTS_FILE, or CHARLIZE_REGIONS / AWS_REGION for the ambient account")
		return nil, nil
	}
	file, err := ec2ops.LoadAccountsFile(cfg.AccountsFile, cfg.Regions)
	if err != nil {
		return nil, err
	}
	accounts := file.Accounts
	opts := []func(*awsconfig.LoadOptions) error{}
	region := cfg.AWSRegion
	switch {
	case region != "":
	case len(accounts) > 0:
		region = accounts[0].Regions[0]
	default:
		region = file.Organization.Regions[0]
	}
	opts = append(opts, awsconfig.WithRegion(region))
	if cfg.AWSEndpointURL != "" {
		opts = append(opts, awsconfig.WithBaseEndpoint(cfg.AWSEndpointURL))
	}
	if cfg.AWSAccessKeyID != "" {
		opts = append(opts, awsconfig.WithCredentialsProvider(
			credentials.NewStaticCredentialsProvider(cfg.AWSAccessKeyID, cfg.AWSSecretAccessKey, cfg.AWSSessionToken)))
	}
	awsCfg, err := awsconfig.LoadDefaultConfig(ctx, opts...)
	if err != nil {
		return nil, fmt.Errorf("load AWS configuration: %w", err)
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
func slackClients(cfg config, st store.Store, log *slog.Logger) slackclient.Clients {
	if cfg.multiWorkspace() {
		return slackclient.NewInstallations(slackclient.InstallationsOptions{
			Store: st, APIURL: cfg.SlackAPIURL, ClientID: cfg.ClientID, ClientSecret: cfg.ClientSecret, Log: log,
		})
	}
	if cfg.BotToken == "" {
		return slackclient.SingleWorkspace{}
	}
	return slackclient.SingleWorkspace{API: slack.New(cfg.BotToken, slack.OptionAPIURL(cfg.SlackAPIURL), slack.OptionHTTPClient(slackclient.NewHTTPClient()))}
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
