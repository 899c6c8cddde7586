package app

import (
	"bytes"
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"iter"
	"log/slog"
	"net/http"
	"os"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/google/uuid"
	"github.com/jonboulle/clockwork"

	"github.com/charlize-app/charlize/blocks"
	"github.com/charlize-app/charlize/ec2ops"
	"github.com/charlize-app/charlize/handlers/policy"
	"github.com/charlize-app/charlize/handlers/reqctx"
	"github.com/charlize-app/charlize/handlers/schedule"
	"github.com/charlize-app/charlize/handlers/slackclient"
	"github.com/charlize-app/charlize/store"
)

// Fleet is what the flows need of ec2ops.
type Fleet interface {
	Accounts() []ec2ops.Account
	AllAccounts() iter.Seq[ec2ops.Account] // read only, not copied
	List(ctx context.Context, q ec2ops.Query) (ec2ops.ListResult, error)
	Describe(ctx context.Context, account, region, id string) (ec2ops.Detail, error)
	Check(ctx context.Context, req ec2ops.ActionRequest) (ec2ops.Detail, error)
	Do(ctx context.Context, req ec2ops.ActionRequest, progress func(ec2ops.Progress)) (ec2ops.Result, error)
	// The card's extras: a dry run of its buttons, its graph, the console.
	DryRun(ctx context.Context, req ec2ops.ActionRequest) error
	Metrics(ctx context.Context, inst ec2ops.Instance, window time.Duration) (ec2ops.Metrics, error)
	ConsoleOutput(ctx context.Context, inst ec2ops.Instance) (ec2ops.Console, error)
	CreateTags(ctx context.Context, req ec2ops.TagRequest) (ec2ops.Instance, error)
	DeleteTags(ctx context.Context, req ec2ops.TagRequest) (ec2ops.Instance, error)
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
	// Redeliver says the request was not handled (a store outage): the
	// transport answers so that Slack delivers it again (HTTP 503; no
	// Socket Mode ack) instead of acknowledging it as done.
	Redeliver bool
}

// EncodedPieces is an answer already encoded as JSON, in pieces to be sent
// one after another: an answer made of a large part encoded once and a
// small part of its own, which joining would copy on every request.
type EncodedPieces [][]byte

// MarshalJSON is the pieces joined, for a transport that encodes its
// payload (Socket Mode).
func (p EncodedPieces) MarshalJSON() ([]byte, error) { return bytes.Join(p, nil), nil }

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
	// Workers is how many background jobs (pickers, cards, lists, AWS
	// calls and answers after the ack) run at once (default 16); Queue is
	// how many more may wait for a worker before users are told Charlize
	// is busy (default 256).
	Workers, Queue int
	// ActionWorkers is how many actions run at once (default 256), each an
	// AWS call and then a wait for its instance's state, minutes in EC2;
	// ActionQueue how many more may wait their turn (default 1024; each
	// holds its lease, renewed every third of a lease). Apart
	// from Workers, so that stops waiting for their instances never hold
	// up a picker, whose trigger_id lives 3 s, nor a schedule's other stops.
	ActionWorkers, ActionQueue int
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
	// GraphWindow is how far back the card's CPU graph looks (default 3h);
	// GraphTTL is how long one instance's graph is reused (default 5m).
	GraphWindow, GraphTTL time.Duration
	// CardTags are tag keys the card shows after env, owner and team.
	CardTags []string
	// Schedule, when set, says what the instance's schedule is, for its
	// card ("" for none); by default the schedule its tag names.
	Schedule func(ctx context.Context, inst ec2ops.Instance) string
	// AuditBuffer is how many audit entries are kept in memory while the
	// store cannot take them (default 10000); AuditRetry is how often
	// they are offered to it again (default 5s).
	AuditBuffer int
	AuditRetry  time.Duration

	// SchedulerClock is the scheduler's time, which it reads and sleeps on
	// (default the real clock); tests move a fake one.
	SchedulerClock clockwork.Clock
	// ScheduleWarning is how long before a scheduled stop the warning is
	// posted (default 15m; negative: no warning). ScheduleGrace is how late
	// an occurrence missed while Charlize was down is still carried out
	// (default 30m).
	ScheduleWarning, ScheduleGrace time.Duration
	// ScheduleChannel is where schedules speak of an account that names no
	// channel of its own.
	ScheduleChannel string
	// TimeZone is the zone of schedules that name none (default UTC).
	TimeZone *time.Location
	// Schedules come from the schedules file; they are read-only in Slack.
	Schedules []schedule.Schedule

	// EventsChannel receives the AWS events of accounts that name no
	// channel of their own (notify.go).
	EventsChannel string
	// NotifyPace is the least time between two notification posts in one
	// channel, across replicas (default 1s, Slack's rate for a channel).
	NotifyPace time.Duration
	// More than BurstSize state changes of one account within BurstWindow
	// become one summary message (defaults 3 and 1m), edited at most once
	// per SummaryEvery (default 2s).
	BurstWindow  time.Duration
	BurstSize    int
	SummaryEvery time.Duration
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
	actions          *workers // actions: their AWS call and their wait
	auditPosts       *workers // the audit channel's posts, which Slack paces
	inventory        *inventory
	commands         []subcommand
	routes           routeTable
	policy           *policy.Policy
	strictTenancy    bool
	auditChannel     string
	approvalTTL      time.Duration
	groups           *slackclient.Groups
	helpView         blocks.HelpView // the commands, as help lists them
	verbs            []string        // every subcommand name and alias, for "did you mean"
	helpAck          json.RawMessage // the help message, encoded
	unknownAck       encodedView     // the answer to an unknown command, cut where its first line goes
	pickerMu         sync.Mutex
	pickerViews      map[string]encodedView // the picker by visible accounts
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
	graphs         *graphs
	cardTags       []string
	schedule       func(context.Context, ec2ops.Instance) string
	superseded     *supersededCards
	audits         *auditBuffer
	sched          *scheduler

	// notify.go
	eventsChannel string
	notifyPace    time.Duration
	burstWindow   time.Duration
	burstSize     int
	summaryEvery  time.Duration
	botTeam       botTeam
	summaries     summaryLocks
}

// New checks o and builds a Dispatcher.
func New(o Options) (*Dispatcher, error) {
	var problems []string
	if o.Store == nil {
		problems = append(problems, "a store is required")
	}
	if o.BurstSize < 0 {
		problems = append(problems, fmt.Sprintf("burst size (%d) cannot be negative", o.BurstSize))
	}
	if o.Workers < 0 || o.Queue < 0 {
		problems = append(problems, fmt.Sprintf("workers (%d) and queue (%d) cannot be negative", o.Workers, o.Queue))
	}
	if o.ActionWorkers < 0 || o.ActionQueue < 0 {
		problems = append(problems, fmt.Sprintf("action workers (%d) and queue (%d) cannot be negative", o.ActionWorkers, o.ActionQueue))
	}
	if o.AuditBuffer < 0 {
		problems = append(problems, fmt.Sprintf("audit buffer cannot be negative (%d)", o.AuditBuffer))
	}
	for name, d := range map[string]time.Duration{
		"session TTL": o.SessionTTL, "inventory TTL": o.InventoryTTL, "progress interval": o.ProgressInterval,
		"action timeout": o.ActionTimeout, "approval TTL": o.ApprovalTTL, "groups TTL": o.GroupsTTL,
		"lease TTL": o.LeaseTTL, "store timeout": o.StoreTimeout, "report deadline": o.ReportDeadline,
		"graph window": o.GraphWindow, "graph TTL": o.GraphTTL,
		"audit retry":    o.AuditRetry,
		"schedule grace": o.ScheduleGrace,
		"notify pace":    o.NotifyPace, "burst window": o.BurstWindow, "summary interval": o.SummaryEvery,
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
		actions:          newWorkers(cmp.Or(o.ActionWorkers, 256), cmp.Or(o.ActionQueue, 1024), onPanic),
		answers:          newWorkers(32, 100_000, onPanic),
		auditPosts:       newWorkers(4, 100_000, onPanic),
		leases: newLeases(st, leaseTTL, o.SingleProcess, func(msg string, args ...any) {
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
		cardTags:       cardTags(o.CardTags),
		schedule:       o.Schedule, // nil: the card asks the scheduler (below)
		superseded:     &supersededCards{at: map[string]time.Time{}},
		eventsChannel:  o.EventsChannel,
		notifyPace:     cmp.Or(o.NotifyPace, defaultNotifyPace),
		burstWindow:    cmp.Or(o.BurstWindow, defaultBurstWindow),
		burstSize:      cmp.Or(o.BurstSize, defaultBurstSize),
		summaryEvery:   cmp.Or(o.SummaryEvery, defaultSummaryEvery),
	}
	d.sched = &scheduler{clock: o.SchedulerClock, warning: cmp.Or(o.ScheduleWarning, 15*time.Minute),
		grace: cmp.Or(o.ScheduleGrace, 30*time.Minute), channel: o.ScheduleChannel, zone: o.TimeZone,
		file: o.Schedules, done: map[string]time.Time{}}
	if d.sched.clock == nil {
		d.sched.clock = clockwork.NewRealClock()
	}
	if d.sched.zone == nil {
		d.sched.zone = time.UTC
	}
	if d.sched.warning < 0 {
		d.sched.warning = 0
	}
	if o.Fleet != nil {
		d.inventory = newInventory(o.Fleet, cmp.Or(o.InventoryTTL, 30*time.Second), o.Now)
		d.graphs = newGraphs(d, cmp.Or(o.GraphWindow, 3*time.Hour), cmp.Or(o.GraphTTL, 5*time.Minute))
	}
	if d.schedule == nil {
		d.schedule = d.cardSchedule
	}
	d.pickerViews = map[string]encodedView{}
	d.commands = d.catalogue()
	d.routes = d.routeTable()
	d.audits = newAuditBuffer(d, cmp.Or(o.AuditBuffer, 10000), cmp.Or(o.AuditRetry, 5*time.Second))
	// The help is the same for everyone and follows every "did you mean":
	// rendered and encoded once, not on each of those requests.
	d.helpView = blocks.HelpView{Command: d.slashCommand}
	for _, sc := range d.commands {
		d.helpView.Commands = append(d.helpView.Commands, sc.help)
		d.verbs = append(append(d.verbs, sc.name), sc.help.Aliases...)
	}
	var err error
	if d.helpAck, err = json.Marshal(blocks.Help(d.helpView)); err != nil {
		return nil, fmt.Errorf("app.New: help: %w", err)
	}
	unknown, err := blocks.AppendMessage(nil, blocks.UnknownWith(unknownLineMark, blocks.UnknownView{Help: d.helpView}))
	if err != nil {
		return nil, fmt.Errorf("app.New: unknown: %w", err)
	}
	if d.unknownAck, err = cutAtMark(unknown, unknownLineMark); err != nil {
		return nil, fmt.Errorf("app.New: unknown: %w", err)
	}
	return d, nil
}

// Close waits (until ctx ends) for background work such as actions that
// are waiting for their instance to reach its state; what is cut short is
// handed on to the next replica. Answers still queued are sent, and the
// store is offered the audit entries it could not take yet, once more.
func (d *Dispatcher) Close(ctx context.Context) error {
	d.approvals.stopAll()
	// Actions first: ending one may queue work (its answer) on the workers.
	err := d.actions.Close(ctx)
	if werr := d.workers.Close(ctx); err == nil {
		err = werr
	}
	_ = d.auditPosts.Close(ctx)
	_ = d.answers.Close(ctx)
	d.leases.close()
	d.audits.close(ctx)
	return err
}

// closing reports whether Close has begun cutting jobs short.
func (d *Dispatcher) closing() bool {
	return d.actions.ctx.Err() != nil || d.workers.ctx.Err() != nil
}
