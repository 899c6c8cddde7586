package app

import (
	"cmp"
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"slices"
	"strings"
	"time"

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
	// AuditBuffered reports how many audit entries wait in memory for the
	// store; AuditDropped counts one dropped because the buffer was full.
	AuditBuffered(n int)
	AuditDropped()
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
	// AuditBuffer is how many audit entries are kept in memory while the
	// store cannot take them (default 10000); AuditRetry is how often
	// they are offered to it again (default 5s).
	AuditBuffer int
	AuditRetry  time.Duration
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
	approvals        *expiryTimers
	audits           *auditBuffer
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
	if o.AuditBuffer < 0 {
		problems = append(problems, fmt.Sprintf("audit buffer cannot be negative (%d)", o.AuditBuffer))
	}
	for name, d := range map[string]time.Duration{
		"session TTL": o.SessionTTL, "inventory TTL": o.InventoryTTL, "progress interval": o.ProgressInterval,
		"action timeout": o.ActionTimeout, "approval TTL": o.ApprovalTTL, "groups TTL": o.GroupsTTL,
		"audit retry": o.AuditRetry,
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
	d := &Dispatcher{
		log:              o.Log,
		store:            o.Store,
		fleet:            o.Fleet,
		clients:          o.Clients,
		respond:          slackclient.ResponseURLs{HTTP: o.HTTPClient},
		metrics:          o.Metrics,
		slashCommand:     o.SlashCommand,
		now:              o.Now,
		sessionTTL:       cmp.Or(o.SessionTTL, 24*time.Hour),
		progressInterval: cmp.Or(o.ProgressInterval, 2*time.Second),
		actionTimeout:    cmp.Or(o.ActionTimeout, 15*time.Minute),
		workers: newWorkers(cmp.Or(o.Workers, 16), cmp.Or(o.Queue, 256), func(ctx context.Context, v any, stack []byte) {
			o.Log.ErrorContext(ctx, "panic in background job", "request_id", reqctx.ID(ctx), "panic", fmt.Sprint(v), "stack", string(stack))
		}),
		policy:        o.Policy,
		strictTenancy: o.StrictTenancy,
		auditChannel:  o.AuditChannel,
		approvalTTL:   cmp.Or(o.ApprovalTTL, 30*time.Minute),
		groups:        slackclient.NewGroups(o.Clients, o.Log, cmp.Or(o.GroupsTTL, 5*time.Minute), o.Now),
		approvals:     &expiryTimers{timers: map[string]*time.Timer{}},
	}
	if o.Fleet != nil {
		d.inventory = newInventory(o.Fleet, cmp.Or(o.InventoryTTL, 30*time.Second), o.Now)
	}
	d.commands = d.catalogue()
	d.routes = d.routeTable()
	d.audits = newAuditBuffer(d, cmp.Or(o.AuditBuffer, 10000), cmp.Or(o.AuditRetry, 5*time.Second))
	return d, nil
}

// Close waits (until ctx ends) for background work such as actions that
// are waiting for their instance to reach its state, then offers the
// store the audit entries it could not take yet, once more.
func (d *Dispatcher) Close(ctx context.Context) error {
	d.approvals.stopAll()
	err := d.workers.Close(ctx)
	d.audits.close(ctx)
	return err
}
