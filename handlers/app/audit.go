package app

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/slack-go/slack"

	"github.com/charlize-app/charlize/blocks"
	"github.com/charlize-app/charlize/ec2ops"
	"github.com/charlize-app/charlize/ec2ops/action"
	"github.com/charlize-app/charlize/handlers/policy"
	"github.com/charlize-app/charlize/handlers/reqctx"
	"github.com/charlize-app/charlize/handlers/slackclient"
	"github.com/charlize-app/charlize/store"
)

// Bounds of `/charlize audit [n]`, and how far back a filtered query looks.
const (
	defaultAuditShown = 20
	maxAuditShown     = 100
	auditScan         = 5000
)

// auditEntry starts an entry for something v attempted on inst.
func auditEntry(ctx context.Context, now time.Time, v viewer, inst ec2ops.Instance, a action.Action, decision store.Decision, result store.Result, errText string) store.AuditEntry {
	return store.AuditEntry{
		Time: now, RequestID: reqctx.ID(ctx), TeamID: v.team.ID, ChannelID: v.channel, UserID: v.user,
		Account: inst.Account, Region: inst.Region, InstanceID: inst.ID, InstanceName: inst.Name,
		Action: a, Decision: decision, Result: result, Error: errText,
	}
}

// auditWrongFlow audits a value refused because another flow saved it: a
// forged or replayed button value or modal metadata is an attempt worth
// recording, not only a user mistake.
func (d *Dispatcher) auditWrongFlow(ctx context.Context, cb slack.InteractionCallback, err error) {
	wrong, ok := errors.AsType[*wrongFlowError](err)
	if !ok {
		return
	}
	v := viewer{team: slackclient.Team{ID: cb.Team.ID, EnterpriseID: cb.Enterprise.ID}, user: cb.User.ID, channel: channelOf(cb)}
	what := "a value"
	if wrong.got != "" {
		what = "a " + string(wrong.got) + "'s value"
	}
	presented := "another flow"
	if wrong.action != "" {
		presented = string(wrong.action)
	}
	d.audit(ctx, auditEntry(ctx, d.now(), v, ec2ops.Instance{}, wrong.action, store.DecisionRefused, store.ResultRefused,
		fmt.Sprintf("button refused as unreadable: %s was presented for %s", what, presented)))
}

// audit records e in the store's bounded log, as a JSON log line for log
// shippers, and in the audit channel when the action changes something.
// While the store cannot take entries, they wait in memory (auditBuffer)
// and are written, oldest first, when it answers again.
func (d *Dispatcher) audit(ctx context.Context, e store.AuditEntry) {
	ctx = context.WithoutCancel(ctx)
	d.logAudit(ctx, e)
	d.audits.append(ctx, e)
	if d.auditChannel == "" || !e.Action.Mutates() || e.Result == store.ResultPending {
		return
	}
	msg := blocks.AuditPost(auditView(e))
	team := slackclient.Team{ID: e.TeamID}
	// Apart from the workers: Slack paces a channel's posts, and a burst
	// of actions ending together would wait out its rate limit on the
	// workers a picker needs within its 3 s.
	err := d.auditPosts.Go(ctx, func(ctx context.Context) {
		api, err := d.clients.Client(ctx, team)
		if err == nil {
			_, err = slackclient.PostMessage(ctx, api, d.auditChannel, msg)
		}
		if err != nil {
			d.log.WarnContext(ctx, "could not post to the audit channel", "request_id", e.RequestID, "slack_error", slackclient.ErrorCode(err), "err", err)
		}
	})
	if err != nil {
		d.log.WarnContext(ctx, "could not queue the audit channel post", "request_id", e.RequestID, "err", err)
	}
}

// logAudit writes e as one JSON log line for log shippers. The line's time
// is the entry's, so it carries one "time" key.
func (d *Dispatcher) logAudit(ctx context.Context, e store.AuditEntry) {
	if !d.log.Enabled(ctx, slog.LevelInfo) {
		return
	}
	r := slog.NewRecord(e.Time, slog.LevelInfo, "audit", 0)
	r.AddAttrs(slog.String("request_id", e.RequestID), slog.String("team", e.TeamID),
		slog.String("channel", e.ChannelID), slog.String("user", e.UserID), slog.String("account", e.Account),
		slog.String("region", e.Region), slog.String("instance_id", e.InstanceID), slog.String("instance_name", e.InstanceName), slog.String("alarm", e.Alarm),
		slog.String("action", string(e.Action)), slog.String("decision", string(e.Decision)), slog.String("rule", e.Rule),
		slog.String("approved_by", e.ApprovedBy), slog.String("result", string(e.Result)), slog.String("error", e.Error),
		slog.String("detail", e.Detail),
		slog.Duration("duration", e.Duration))
	if err := d.log.Handler().Handle(ctx, r); err != nil {
		d.log.WarnContext(ctx, "could not write audit log line", "request_id", e.RequestID, "err", err)
	}
}

func auditView(e store.AuditEntry) blocks.AuditEntryView {
	if e.Alarm != "" {
		// An acknowledgement is about the alarm; its instance id stays.
		e.InstanceName = "alarm " + e.Alarm
	}
	return blocks.AuditEntryView{
		Time: e.Time, User: e.UserID, Channel: e.ChannelID, Account: e.Account, Region: e.Region,
		InstanceID: e.InstanceID, InstanceName: e.InstanceName, Action: e.Action, Decision: e.Decision,
		Rule: e.Rule, ApprovedBy: e.ApprovedBy, Result: e.Result, Error: e.Error, Duration: e.Duration,
	}
}

// auditCommand answers `/charlize audit [n] [instance|user|account]` with
// this workspace's latest entries, to users the policy allows.
func (d *Dispatcher) auditCommand(ctx context.Context, cmd slack.SlashCommand, args string) (Ack, error) {
	v := d.viewerOf(ctx, slackclient.Team{ID: cmd.TeamID, EnterpriseID: cmd.EnterpriseID}, cmd.UserID, cmd.ChannelID)
	if dec := d.policy.Decide(v.who, "audit", policy.Target{AnyInstance: true}); !dec.Allowed {
		return Ack{}, &deniedError{action: "audit", reason: dec.Reason}
	}
	n, filter := parseAuditArgs(args)
	entries, err := d.store.RecentAudit(ctx, auditScan)
	if err != nil {
		return Ack{}, fmt.Errorf("read audit log: %w", err)
	}
	var views []blocks.AuditEntryView
	for _, e := range entries {
		if len(views) == n {
			break
		}
		if e.TeamID != cmd.TeamID || !auditMatches(e, filter) {
			continue // one workspace never reads another's log
		}
		views = append(views, auditView(e))
	}
	msg := blocks.Audit(blocks.AuditView{Entries: views, Filter: filter, Limit: n, Now: d.now()})
	msg.ResponseType = slack.ResponseTypeEphemeral
	return Ack{Body: msg}, nil
}

// parseAuditArgs reads "[n] [filter]" in either order.
func parseAuditArgs(args string) (n int, filter string) {
	n = defaultAuditShown
	var rest []string
	for _, f := range strings.Fields(args) {
		if v, err := strconv.Atoi(f); err == nil && v > 0 {
			n = min(v, maxAuditShown)
			continue
		}
		rest = append(rest, f)
	}
	return n, strings.Join(rest, " ")
}

// auditMatches reports whether e concerns filter: an instance id or name,
// a user (id or <@mention>) or an account name.
func auditMatches(e store.AuditEntry, filter string) bool {
	if filter == "" {
		return true
	}
	f := filter
	if strings.HasPrefix(f, "<@") && strings.HasSuffix(f, ">") {
		f, _, _ = strings.Cut(strings.TrimSuffix(strings.TrimPrefix(f, "<@"), ">"), "|")
	}
	for _, v := range []string{e.InstanceID, e.InstanceName, e.UserID, e.ApprovedBy, e.Account, e.Alarm} {
		if v != "" && strings.EqualFold(v, f) {
			return true
		}
	}
	return false
}

// auditBuffer writes audit entries to the store, and keeps those the store
// cannot take in memory, in order, until it answers again. It is bounded:
// when full, the oldest entry is dropped (its JSON log line remains) and
// counted. Entries still waiting when the process stops are lost to the
// store, not to the log.
type auditBuffer struct {
	d     *Dispatcher
	max   int
	retry time.Duration
	wake  chan struct{} // a flush is wanted
	stop  chan struct{} // closed by close
	done  chan struct{} // closed when the flusher has stopped
	once  sync.Once

	mu      sync.Mutex
	waiting []bufferedAudit // oldest first
	seq     uint64
}

type bufferedAudit struct {
	seq   uint64
	entry store.AuditEntry
}

// auditWriteTimeout bounds one write of a buffered entry.
const auditWriteTimeout = 10 * time.Second

func newAuditBuffer(d *Dispatcher, max int, retry time.Duration) *auditBuffer {
	b := &auditBuffer{d: d, max: max, retry: retry,
		wake: make(chan struct{}, 1), stop: make(chan struct{}), done: make(chan struct{})}
	go b.flusher()
	return b
}

// append writes e to the store, or, while entries wait (so that order is
// kept) or when the store fails, buffers it.
func (b *auditBuffer) append(ctx context.Context, e store.AuditEntry) {
	if b.push(ctx, e, true) {
		b.signal()
		return
	}
	err := b.d.store.AppendAudit(ctx, e)
	if err == nil {
		return
	}
	b.d.log.WarnContext(ctx, "audit entry kept in memory until the store answers", "request_id", e.RequestID, "err", err)
	b.push(ctx, e, false)
	b.signal()
}

// push adds e behind the waiting entries; with onlyBehind it does so only
// when some are waiting, and reports whether it did.
func (b *auditBuffer) push(ctx context.Context, e store.AuditEntry, onlyBehind bool) bool {
	b.mu.Lock()
	if onlyBehind && len(b.waiting) == 0 {
		b.mu.Unlock()
		return false
	}
	var dropped *store.AuditEntry
	if len(b.waiting) >= b.max {
		dropped = &b.waiting[0].entry
		b.waiting = b.waiting[1:]
	}
	b.seq++
	b.waiting = append(b.waiting, bufferedAudit{seq: b.seq, entry: e})
	n := len(b.waiting)
	b.mu.Unlock()

	if dropped != nil {
		b.d.log.ErrorContext(ctx, "audit entry dropped: the store is unavailable and the buffer is full",
			"request_id", reqctx.ID(ctx), "dropped_request_id", dropped.RequestID, "dropped_time", dropped.Time, "buffer", b.max)
		if b.d.metrics != nil {
			b.d.metrics.AuditDropped()
		}
	}
	b.report(n)
	return true
}

func (b *auditBuffer) report(n int) {
	if b.d.metrics != nil {
		b.d.metrics.AuditBuffered(n)
	}
}

func (b *auditBuffer) signal() {
	select {
	case b.wake <- struct{}{}:
	default:
	}
}

// flusher offers the waiting entries to the store whenever one is added
// and every retry interval, until close.
func (b *auditBuffer) flusher() {
	defer close(b.done)
	tick := time.NewTicker(b.retry)
	defer tick.Stop()
	for {
		select {
		case <-b.stop:
			return
		case <-b.wake:
		case <-tick.C:
		}
		b.flush(context.Background())
	}
}

// flush writes waiting entries oldest first, with their original times,
// and stops at the first the store refuses.
func (b *auditBuffer) flush(ctx context.Context) {
	for {
		b.mu.Lock()
		if len(b.waiting) == 0 {
			b.mu.Unlock()
			return
		}
		next := b.waiting[0]
		b.mu.Unlock()

		wctx, cancel := context.WithTimeout(ctx, auditWriteTimeout)
		err := b.d.store.AppendAudit(wctx, next.entry)
		cancel()
		if err != nil {
			return // still down: the next tick tries again
		}
		b.mu.Lock()
		// Unless the entry was dropped meanwhile, it is still the oldest.
		if len(b.waiting) > 0 && b.waiting[0].seq == next.seq {
			b.waiting = b.waiting[1:]
		}
		n := len(b.waiting)
		b.mu.Unlock()
		b.report(n)
		if n == 0 {
			b.d.log.InfoContext(ctx, "audit entries kept during the store outage are written")
		}
	}
}

// close stops the flusher after one last flush within ctx, and says how
// many entries the store never got. Later calls do nothing.
func (b *auditBuffer) close(ctx context.Context) {
	first := false
	b.once.Do(func() { first = true; close(b.stop) })
	if !first {
		return
	}
	<-b.done
	b.flush(ctx)
	b.mu.Lock()
	n := len(b.waiting)
	b.mu.Unlock()
	if n > 0 {
		b.d.log.ErrorContext(ctx, "audit entries not written to the store at shutdown; they are in the audit log lines", "entries", n)
	}
}
