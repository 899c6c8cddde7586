package app

import (
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/slack-go/slack"

	"github.com/charlize-app/charlize/blocks"
	"github.com/charlize-app/charlize/ec2ops"
	"github.com/charlize-app/charlize/handlers/policy"
	"github.com/charlize-app/charlize/handlers/reqctx"
	"github.com/charlize-app/charlize/handlers/slackclient"
	"github.com/charlize-app/charlize/store"
)

// Fleet is what the flows need of ec2ops.
type Fleet interface {
	Accounts() []ec2ops.Account
	List(ctx context.Context, q ec2ops.Query) (ec2ops.ListResult, error)
	Describe(ctx context.Context, account, region, id string) (ec2ops.Detail, error)
	Check(ctx context.Context, req ec2ops.ActionRequest) (ec2ops.Detail, error)
	Do(ctx context.Context, req ec2ops.ActionRequest, progress func(ec2ops.Progress)) (ec2ops.Result, error)
}

// Metrics counts what the flows do; handlers.Metrics implements it.
type Metrics interface {
	ObserveAction(action, result string)
}

// Ack is a transport-neutral answer to one Slack request: the HTTP adapter
// writes Body as the response, Socket Mode sends it as the ack payload.
// A nil Body is an empty acknowledgement; a string is sent as plain text.
type Ack struct {
	Body any
}

// Options are the Dispatcher's collaborators and settings. Zero values
// take the defaults given; New refuses values that cannot work.
type Options struct {
	Log   *slog.Logger // default: discard
	Store store.Store  // required
	// Fleet reaches AWS; nil means no accounts are configured, which users
	// are told.
	Fleet   Fleet
	Clients slackclient.Clients // default: no Slack token (every flow says so)
	// HTTPClient posts to response_urls (default slackclient.NewHTTPClient).
	HTTPClient *http.Client
	Metrics    Metrics // may be nil
	// SlashCommand is the command as installed, shown in help ("/charlize").
	SlashCommand string
	Now          func() time.Time
	// SessionTTL is how long buttons and pickers keep working (default 24h).
	SessionTTL time.Duration
	// Workers is how many background jobs (AWS calls, waits, answers after
	// the ack) run at once (default 16); Queue is how many more may wait
	// for a worker before users are told Charlize is busy (default 256).
	Workers, Queue int
	// InventoryTTL is how long the type-ahead inventory is reused (default 30s).
	InventoryTTL time.Duration
	// ProgressInterval is the least time between two progress updates of
	// one message (default 2s), to stay inside Slack's chat.update limits.
	ProgressInterval time.Duration
	// ActionTimeout bounds one action including its wait (default 15m).
	ActionTimeout time.Duration
	// Policy decides who may do what (default policy.Default()).
	Policy *policy.Policy
	// StrictTenancy (multi-workspace mode) shows a workspace only the
	// accounts whose workspaces list names it.
	StrictTenancy bool
	// AuditChannel, when set, receives a post for every mutating action.
	AuditChannel string
	// ApprovalTTL is how long a two-person approval request stays open
	// (default 30m).
	ApprovalTTL time.Duration
	// GroupsTTL is how long user group memberships are reused (default 5m).
	GroupsTTL time.Duration
	// LeaseTTL is how long an action stays with a replica that stops
	// renewing its lease (it died) before another takes it over (default
	// 15s); leases are renewed three times per TTL.
	LeaseTTL time.Duration
	// SingleProcess says no other process can share the store (the
	// embedded store locks its file): at start, every action still open
	// belonged to a process that has died, and is taken over at once.
	SingleProcess bool
	// Replica names this process in leases (default: host, pid and a random
	// suffix).
	Replica string
	// StoreTimeout bounds every store call (default 1s), so that a store
	// that hangs costs a request a bounded wait, not Slack's 3 seconds.
	StoreTimeout time.Duration
	// ReportDeadline bounds how long an action's final message is retried
	// while Slack rate-limits it (default 2m); then the requester is told
	// privately.
	ReportDeadline time.Duration
}

// Dispatcher routes every decoded Slack request to its flow. It is shared
// by the HTTP and Socket Mode transports.
type Dispatcher struct {
	log              *slog.Logger
	store            store.Store
	fleet            Fleet
	clients          slackclient.Clients
	respond          slackclient.ResponseURLs
	metrics          Metrics
	slashCommand     string
	now              func() time.Time
	sessionTTL       time.Duration
	progressInterval time.Duration
	actionTimeout    time.Duration
	workers          *workers
	inventory        *inventory
	commands         []subcommand
	routes           routeTable
	policy           *policy.Policy
	strictTenancy    bool
	auditChannel     string
	approvalTTL      time.Duration
	groups           *slackclient.Groups
	helpAck          json.RawMessage // the help message, encoded
	helpBlocks       []slack.Block   // the help's blocks, frozen for Unknown
	approvals        *expiryTimers
	// answers posts answers after the ack (refusals, "already in
	// progress") apart from the job queue, so that a full queue never
	// leaves a click unanswered.
	answers        *workers
	leases         *leases
	leaseTTL       time.Duration
	replica        string
	singleProcess  bool
	reportDeadline time.Duration
}

// New checks o and builds a Dispatcher.
func New(o Options) (*Dispatcher, error) {
	var problems []string
	if o.Store == nil {
		problems = append(problems, "a store is required")
	}
	if o.Workers < 0 || o.Queue < 0 {
		problems = append(problems, fmt.Sprintf("workers (%d) and queue (%d) cannot be negative", o.Workers, o.Queue))
	}
	for name, d := range map[string]time.Duration{
		"session TTL": o.SessionTTL, "inventory TTL": o.InventoryTTL, "progress interval": o.ProgressInterval,
		"action timeout": o.ActionTimeout, "approval TTL": o.ApprovalTTL, "groups TTL": o.GroupsTTL,
		"lease TTL": o.LeaseTTL, "store timeout": o.StoreTimeout, "report deadline": o.ReportDeadline,
	} {
		if d < 0 {
			problems = append(problems, fmt.Sprintf("%s cannot be negative (%s)", name, d))
		}
	}
	if o.SlashCommand != "" && !strings.HasPrefix(o.SlashCommand, "/") {
		problems = append(problems, fmt.Sprintf("slash command %q must start with /", o.SlashCommand))
	}
	if len(problems) > 0 {
		slices.Sort(problems)
		return nil, fmt.Errorf("app.New: %s", strings.Join(problems, "; "))
	}
	o.SlashCommand = cmp.Or(o.SlashCommand, "/charlize")
	o.HTTPClient, o.Log, o.Now = slackclient.Defaults(o.HTTPClient, o.Log, o.Now)
	if o.Clients == nil {
		o.Clients = slackclient.SingleWorkspace{}
	}
	if o.Policy == nil {
		o.Policy = policy.Default()
	}
	if o.Replica == "" {
		host, _ := os.Hostname()
		o.Replica = fmt.Sprintf("%s-%d-%s", host, os.Getpid(), uuid.NewString()[:8])
	}
	onPanic := func(ctx context.Context, v any, stack []byte) {
		o.Log.ErrorContext(ctx, "panic in background job", "request_id", reqctx.ID(ctx), "panic", fmt.Sprint(v), "stack", string(stack))
	}
	st := store.Bounded(o.Store, cmp.Or(o.StoreTimeout, time.Second))
	leaseTTL := cmp.Or(o.LeaseTTL, 15*time.Second)
	d := &Dispatcher{
		log:              o.Log,
		store:            st,
		fleet:            o.Fleet,
		clients:          o.Clients,
		respond:          slackclient.ResponseURLs{HTTP: o.HTTPClient},
		metrics:          o.Metrics,
		slashCommand:     o.SlashCommand,
		now:              o.Now,
		sessionTTL:       cmp.Or(o.SessionTTL, 24*time.Hour),
		progressInterval: cmp.Or(o.ProgressInterval, 2*time.Second),
		actionTimeout:    cmp.Or(o.ActionTimeout, 15*time.Minute),
		workers:          newWorkers(cmp.Or(o.Workers, 16), cmp.Or(o.Queue, 256), onPanic),
		answers:          newWorkers(32, 100_000, onPanic),
		leases: newLeases(st, leaseTTL, func(msg string, args ...any) {
			o.Log.Warn(msg, args...)
		}),
		leaseTTL:       leaseTTL,
		replica:        o.Replica,
		singleProcess:  o.SingleProcess,
		reportDeadline: cmp.Or(o.ReportDeadline, 2*time.Minute),
		policy:         o.Policy,
		strictTenancy:  o.StrictTenancy,
		auditChannel:   o.AuditChannel,
		approvalTTL:    cmp.Or(o.ApprovalTTL, 30*time.Minute),
		groups:         slackclient.NewGroups(o.Clients, o.Log, cmp.Or(o.GroupsTTL, 5*time.Minute), o.Now),
		approvals:      &expiryTimers{timers: map[string]*time.Timer{}},
	}
	if o.Fleet != nil {
		d.inventory = newInventory(o.Fleet, cmp.Or(o.InventoryTTL, 30*time.Second), o.Now)
	}
	d.commands = d.catalogue()
	d.routes = d.routeTable()
	// The help is the same for everyone and follows every "did you mean":
	// rendered and encoded once, not on each of those requests.
	var err error
	if d.helpAck, err = json.Marshal(blocks.Help(d.helpView())); err != nil {
		return nil, fmt.Errorf("app.New: help: %w", err)
	}
	if d.helpBlocks, err = blocks.Freeze(blocks.HelpBlocks(d.helpView())); err != nil {
		return nil, fmt.Errorf("app.New: %w", err)
	}
	return d, nil
}

// Close waits (until ctx ends) for background work such as actions that
// are waiting for their instance to reach its state; what is cut short is
// handed on to the next replica. Answers still queued are sent.
func (d *Dispatcher) Close(ctx context.Context) error {
	d.approvals.stopAll()
	err := d.workers.Close(ctx)
	_ = d.answers.Close(ctx)
	d.leases.close()
	return err
}

// closing reports whether Close has begun cutting jobs short.
func (d *Dispatcher) closing() bool { return d.workers.ctx.Err() != nil }
