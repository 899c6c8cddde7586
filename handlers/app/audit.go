package app

import (
	"context"
	"fmt"
	"log/slog"
	"strconv"
	"strings"
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

// audit records e in the store's bounded log, as a JSON log line for log
// shippers, and in the audit channel when the action changes something.
func (d *Dispatcher) audit(ctx context.Context, e store.AuditEntry) {
	ctx = context.WithoutCancel(ctx)
	if err := d.store.AppendAudit(ctx, e); err != nil {
		d.log.ErrorContext(ctx, "audit append failed", "request_id", e.RequestID, "err", err)
	}
	d.logAudit(ctx, e)
	if d.auditChannel == "" || !e.Action.Mutates() || e.Result == store.ResultPending {
		return
	}
	msg := blocks.AuditPost(auditView(e))
	team := slackclient.Team{ID: e.TeamID}
	err := d.workers.Go(ctx, func(ctx context.Context) {
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
		Rule: ruleWithApprover(e.Rule, e.ApprovedBy), Result: e.Result, Error: e.Error, Duration: e.Duration,
	}
}

// ruleWithApprover names the second person of a two-person action beside
// the rule, since the audit view has no column of its own for it.
func ruleWithApprover(rule, approver string) string {
	if approver == "" {
		return rule
	}
	if rule == "" {
		return "approved by <@" + approver + ">"
	}
	return rule + ", approved by <@" + approver + ">"
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
