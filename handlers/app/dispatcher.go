package app

import (
	"cmp"
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/slack-go/slack"
	"github.com/slack-go/slack/slackevents"

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

// DispatcherOptions are the Dispatcher's collaborators and settings.
type DispatcherOptions struct {
	Log     *slog.Logger
	Store   store.Store
	Fleet   Fleet
	Clients slackclient.Clients
	// HTTPClient posts to response_urls (default http.DefaultClient).
	HTTPClient *http.Client
	Metrics    Metrics // may be nil
	// SlashCommand is the command as installed, shown in help ("/charlize").
	SlashCommand string
	Now          func() time.Time
	// SessionTTL is how long buttons and pickers keep working (default 24h).
	SessionTTL time.Duration
	// Workers bounds concurrent background jobs (default 16); Queue bounds
	// jobs waiting for a worker (default 256).
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
	policy           *policy.Policy
	strictTenancy    bool
	auditChannel     string
	approvalTTL      time.Duration
	groups           *slackclient.Groups
	approvals        *expiryTimers
}

// NewDispatcher builds a Dispatcher.
func NewDispatcher(o DispatcherOptions) *Dispatcher {
	if o.SlashCommand == "" {
		o.SlashCommand = "/charlize"
	}
	if o.Log == nil {
		o.Log = slog.New(slog.DiscardHandler)
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.HTTPClient == nil {
		o.HTTPClient = http.DefaultClient
	}
	if o.Clients == nil {
		o.Clients = slackclient.SingleWorkspace{}
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
		workers: newWorkers(max(o.Workers, 16), max(o.Queue, 256), func(ctx context.Context, v any, stack []byte) {
			o.Log.ErrorContext(ctx, "panic in background job", "request_id", reqctx.ID(ctx), "panic", fmt.Sprint(v), "stack", string(stack))
		}),
	}
	d.policy = o.Policy
	if d.policy == nil {
		d.policy = policy.Default()
	}
	d.strictTenancy = o.StrictTenancy
	d.auditChannel = o.AuditChannel
	d.approvalTTL = cmp.Or(o.ApprovalTTL, 30*time.Minute)
	d.groups = slackclient.NewGroups(o.Clients, o.Log, cmp.Or(o.GroupsTTL, 5*time.Minute), o.Now)
	d.approvals = &expiryTimers{timers: map[string]*time.Timer{}}
	if o.Fleet != nil {
		d.inventory = newInventory(o.Fleet, cmp.Or(o.InventoryTTL, 30*time.Second), o.Now)
	}
	d.commands = d.catalogue()
	return d
}

// Close waits (until ctx ends) for background work such as actions that
// are waiting for their instance to reach its state.
func (d *Dispatcher) Close(ctx context.Context) error {
	d.approvals.stopAll()
	return d.workers.Close(ctx)
}

// Command answers a slash command.
func (d *Dispatcher) Command(ctx context.Context, cmd slack.SlashCommand) Ack {
	verb, args := splitCommand(cmd.Text)
	reqctx.Annotate(ctx, cmd.TeamID, cmd.UserID, "command:"+opName(verb))
	ack, err := d.command(ctx, cmd, verb, args)
	if err != nil {
		return Ack{Body: d.failure(ctx, "command "+opName(verb), err)}
	}
	return ack
}

func (d *Dispatcher) command(ctx context.Context, cmd slack.SlashCommand, verb, args string) (Ack, error) {
	if err := d.installed(ctx, slackclient.Team{ID: cmd.TeamID, EnterpriseID: cmd.EnterpriseID}); err != nil {
		return Ack{}, err
	}
	if verb == "" {
		return d.openPickerCommand(ctx, cmd)
	}
	sc, ok := d.lookup(verb)
	if !ok {
		return d.unknown(cmd.Text), nil
	}
	return sc.run(ctx, cmd, args)
}

// Interaction answers block_actions, view_submission and view_closed.
func (d *Dispatcher) Interaction(ctx context.Context, cb slack.InteractionCallback) Ack {
	op := string(cb.Type)
	switch cb.Type {
	case slack.InteractionTypeBlockActions:
		if len(cb.ActionCallback.BlockActions) > 0 {
			op = "action:" + cb.ActionCallback.BlockActions[0].ActionID
		}
	case slack.InteractionTypeViewSubmission, slack.InteractionTypeViewClosed:
		op = "view:" + cb.View.CallbackID
	}
	reqctx.Annotate(ctx, cb.Team.ID, cb.User.ID, op)

	var (
		ack Ack
		err error
	)
	err = d.installed(ctx, slackclient.Team{ID: cb.Team.ID, EnterpriseID: cb.Enterprise.ID})
	switch {
	case err != nil: // answered below like any refusal
	case cb.Type == slack.InteractionTypeBlockActions:
		ack, err = d.blockActions(ctx, cb)
	case cb.Type == slack.InteractionTypeViewSubmission:
		ack, err = d.viewSubmission(ctx, cb)
	default:
		return Ack{} // view_closed and others need no answer
	}
	if err != nil {
		msg := d.failure(ctx, op, err)
		if cb.Type == slack.InteractionTypeViewSubmission {
			// Only a view answer reaches a modal: keep it open with the reason.
			return Ack{Body: slack.NewErrorsViewSubmissionResponse(map[string]string{firstInputBlock(cb.View): msg.Text})}
		}
		d.tell(ctx, cb.ResponseURL, msg)
		return Ack{}
	}
	return ack
}

// Options answers block_suggestion (external select type-ahead).
func (d *Dispatcher) Options(ctx context.Context, cb slack.InteractionCallback) Ack {
	reqctx.Annotate(ctx, cb.Team.ID, cb.User.ID, "options:"+cb.ActionID)
	if err := d.installed(ctx, slackclient.Team{ID: cb.Team.ID, EnterpriseID: cb.Enterprise.ID}); err != nil {
		d.failure(ctx, "options", err) // logs it; a menu has no room for the reason
		return Ack{Body: optionsAnswer{Options: []*slack.OptionBlockObject{}}}
	}
	return Ack{Body: d.suggest(ctx, cb)}
}

// Event answers an Events API delivery; retry is X-Slack-Retry-Num (0 for
// the first delivery).
func (d *Dispatcher) Event(ctx context.Context, ev slackevents.EventsAPIEvent, retry int) Ack {
	reqctx.Annotate(ctx, ev.TeamID, "", "event:"+ev.Type+":"+ev.InnerEvent.Type)
	switch ev.Type {
	case slackevents.URLVerification:
		if v, ok := ev.Data.(*slackevents.EventsAPIURLVerificationEvent); ok {
			return Ack{Body: v.Challenge}
		}
	case slackevents.CallbackEvent:
		if err := d.callbackEvent(ctx, ev, retry); err != nil {
			d.log.ErrorContext(ctx, "event failed", "request_id", reqctx.ID(ctx), "team", ev.TeamID, "err", err)
		}
	}
	return Ack{}
}

// splitCommand separates the subcommand from its arguments.
func splitCommand(text string) (verb, args string) {
	fields := strings.FieldsFunc(strings.TrimSpace(text), isSpace)
	if len(fields) == 0 {
		return "", ""
	}
	rest := strings.TrimSpace(strings.TrimPrefix(strings.TrimSpace(text), fields[0]))
	return strings.ToLower(fields[0]), rest
}

func isSpace(r rune) bool {
	return r == ' ' || r == '\t' || r == '\n' || r == '\r' || r == '\u00a0'
}

// opName bounds what an arbitrary word can put into logs.
func opName(verb string) string {
	if verb == "" {
		return "picker"
	}
	if len(verb) > 32 {
		return verb[:32]
	}
	return verb
}

func firstInputBlock(v slack.View) string {
	for _, b := range v.Blocks.BlockSet {
		if in, ok := b.(*slack.InputBlock); ok {
			return in.BlockID
		}
	}
	return blocks.TerminateInputBlock
}
