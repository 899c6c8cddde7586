package app

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/slack-go/slack"

	"github.com/charlize-app/charlize/blocks"
	"github.com/charlize-app/charlize/ec2ops"
	"github.com/charlize-app/charlize/ec2ops/action"
	"github.com/charlize-app/charlize/handlers/policy"
	"github.com/charlize-app/charlize/handlers/reqctx"
	"github.com/charlize-app/charlize/handlers/schedule"
	"github.com/charlize-app/charlize/handlers/slackclient"
	"github.com/charlize-app/charlize/store"
)

// The schedule flow: `/charlize schedules`, `schedule new`, `schedule
// <instance> <name>`, `unschedule`, the new-schedule modal, and the snooze
// buttons of a warning. The scheduler itself is in scheduler.go.

// schedulesCommand answers `/charlize schedules`: every schedule, how many
// instances follow it (from the cached inventory) and what it does next.
func (d *Dispatcher) schedulesCommand(ctx context.Context, cmd slack.SlashCommand, _ string) (Ack, error) {
	v := d.viewerOf(ctx, slackclient.Team{ID: cmd.TeamID, EnterpriseID: cmd.EnterpriseID}, cmd.UserID, cmd.ChannelID)
	err := d.later(ctx, "schedules", d.replyToCommand(cmd), func(ctx context.Context) (slack.WebhookMessage, error) {
		return d.schedulesMessage(ctx, v)
	})
	if err != nil {
		return Ack{}, err
	}
	return Ack{Body: ephemeral("🗓 Looking up schedules…")}, nil
}

func (d *Dispatcher) schedulesMessage(ctx context.Context, v viewer) (slack.WebhookMessage, error) {
	scheds, err := d.schedules(ctx)
	if err != nil {
		return slack.WebhookMessage{}, err
	}
	counts := map[string]int{}
	known := d.inventory != nil
	if known {
		for _, inst := range d.inventory.get(ctx, d.visibleAccounts(v.team.ID), inventoryWait) {
			if name, ok := inst.Tags[schedule.Tag]; ok && inst.State != ec2ops.StateTerminated {
				counts[name]++
			}
		}
	}
	now := d.sched.clock.Now()
	view := blocks.SchedulesView{Command: d.slashCommand}
	if d.mayScheduleSomewhere(v) {
		view.NewValue = "new"
	}
	for _, s := range scheds {
		line := blocks.ScheduleLine{Name: s.Name, Periods: s.Days.String() + " " + s.Start.String() + "-" + s.Stop.String(),
			Zone: s.ZoneName(), Instances: -1, ReadOnly: s.ReadOnly}
		if known {
			line.Instances = counts[s.Name]
		}
		if o, ok := s.Next(now); ok {
			line.Next, line.NextDoes = o.At, o.Action
		}
		view.Schedules = append(view.Schedules, line)
	}
	return blocks.Schedules(view), nil
}

// mayScheduleSomewhere reports whether v may create schedules: the
// policy grants schedule on some account this workspace sees.
func (d *Dispatcher) mayScheduleSomewhere(v viewer) bool {
	for _, a := range d.visibleAccounts(v.team.ID) {
		if d.policy.Decide(v.who, action.Schedule, policy.Target{Account: a, AnyInstance: true}).Allowed {
			return true
		}
	}
	return d.fleet == nil && d.policy.Decide(v.who, action.Schedule, policy.Target{AnyInstance: true}).Allowed
}

// scheduleCommand answers `/charlize schedule new <name> <days>
// <start>-<stop> [<zone>]`, `schedule delete <name>` and `schedule
// <instance> <name>`.
func (d *Dispatcher) scheduleCommand(ctx context.Context, cmd slack.SlashCommand, args string) (Ack, error) {
	v := d.viewerOf(ctx, slackclient.Team{ID: cmd.TeamID, EnterpriseID: cmd.EnterpriseID}, cmd.UserID, cmd.ChannelID)
	fields := strings.Fields(args)
	if len(fields) == 0 {
		return Ack{Body: ephemeral(fmt.Sprintf("Usage: `%s schedule new %s`, `%s schedule <instance> <name>`, `%s schedules`.",
			d.slashCommand, schedule.Example, d.slashCommand, d.slashCommand))}, nil
	}
	switch strings.ToLower(fields[0]) {
	case "new":
		if len(fields) < 2 {
			return Ack{}, &schedule.Error{Field: "name", Problem: "give the schedule a name"}
		}
		name, rest := fields[1], strings.Join(fields[2:], " ")
		s, err := schedule.Parse(name, rest, d.sched.zone)
		if err != nil {
			return Ack{}, err
		}
		msg, err := d.createSchedule(ctx, v, s)
		if err != nil {
			return Ack{}, err
		}
		return Ack{Body: msg}, nil
	case "delete":
		if len(fields) != 2 {
			return Ack{Body: ephemeral(fmt.Sprintf("Which schedule? `%s schedule delete <name>`.", d.slashCommand))}, nil
		}
		msg, err := d.deleteSchedule(ctx, v, fields[1])
		if err != nil {
			return Ack{}, err
		}
		return Ack{Body: msg}, nil
	}
	if len(fields) < 2 {
		return Ack{Body: ephemeral(fmt.Sprintf("Which schedule? `%s schedule <instance> <name>`, e.g. `%s schedule web-1 office-hours`.",
			d.slashCommand, d.slashCommand))}, nil
	}
	name := fields[len(fields)-1]
	query := strings.Join(fields[:len(fields)-1], " ")
	return d.tagCommand(ctx, cmd, v, query, name)
}

// unscheduleCommand answers `/charlize unschedule <instance>`.
func (d *Dispatcher) unscheduleCommand(ctx context.Context, cmd slack.SlashCommand, args string) (Ack, error) {
	v := d.viewerOf(ctx, slackclient.Team{ID: cmd.TeamID, EnterpriseID: cmd.EnterpriseID}, cmd.UserID, cmd.ChannelID)
	if strings.TrimSpace(args) == "" {
		return Ack{Body: ephemeral(fmt.Sprintf("Which instance? `%s unschedule web-1`.", d.slashCommand))}, nil
	}
	return d.tagCommand(ctx, cmd, v, args, "")
}

// createSchedule saves s, made by v, when the policy lets them and no
// schedule has its name.
func (d *Dispatcher) createSchedule(ctx context.Context, v viewer, s schedule.Schedule) (slack.WebhookMessage, error) {
	if !d.mayScheduleSomewhere(v) {
		return slack.WebhookMessage{}, &deniedError{action: action.Schedule, what: "create schedules", reason: "no rule grants schedule to you"}
	}
	// The check and the save below are one step for each name: a second
	// person creating it meanwhile waits, then finds it exists.
	lock, holder := store.ScheduleLockKey(s.Name), d.replica+"/schedule/"+uuid.NewString()
	won, _, err := d.claimWaiting(ctx, lock, holder, 30*time.Second, 20, 100*time.Millisecond, nil)
	if err != nil {
		return slack.WebhookMessage{}, err
	}
	if !won {
		return slack.WebhookMessage{}, fmt.Errorf("create schedule %s: being created: %w", s.Name, ErrBusy)
	}
	defer d.releaseClaim(ctx, lock, holder)
	existing, err := d.schedules(ctx)
	if err != nil {
		return slack.WebhookMessage{}, err
	}
	for _, e := range existing {
		if e.Name == s.Name {
			return slack.WebhookMessage{}, &scheduleExistsError{name: s.Name, readOnly: e.ReadOnly}
		}
	}
	rec := storedSchedule{Name: s.Name, Days: s.Days.String(), Start: s.Start.String(), Stop: s.Stop.String(), Zone: s.ZoneName(),
		TeamID: v.team.ID, CreatedBy: v.user, CreatedAt: d.sched.clock.Now()}
	data, err := json.Marshal(rec)
	if err != nil {
		return slack.WebhookMessage{}, fmt.Errorf("encode schedule: %w", err)
	}
	if err := d.store.SaveSchedule(ctx, store.ScheduleRecord{Name: s.Name, Data: data}); err != nil {
		return slack.WebhookMessage{}, fmt.Errorf("save schedule: %w", err)
	}
	d.audit(ctx, store.AuditEntry{Time: d.now(), RequestID: reqctx.ID(ctx), TeamID: v.team.ID, ChannelID: v.channel, UserID: v.user,
		Action: action.Schedule, Decision: store.DecisionAllowed, Result: store.ResultDone, Detail: "created " + s.Name + ": " + s.String()})
	next := ""
	if o, ok := s.Next(d.sched.clock.Now()); ok {
		next = fmt.Sprintf(" Next: %s %s.", o.Action, blocks.Date(o.At))
	}
	return ephemeral(fmt.Sprintf("✅ Schedule *%s* created: %s.%s Instances follow it once tagged: `%s schedule <instance> %s`.",
		blocks.Escape(s.Name), blocks.Escape(s.String()), next, d.slashCommand, blocks.Escape(s.Name))), nil
}

func (d *Dispatcher) deleteSchedule(ctx context.Context, v viewer, name string) (slack.WebhookMessage, error) {
	if !d.mayScheduleSomewhere(v) {
		return slack.WebhookMessage{}, &deniedError{action: action.Schedule, what: "delete schedules", reason: "no rule grants schedule to you"}
	}
	s, err := d.findSchedule(ctx, name)
	if err != nil {
		return slack.WebhookMessage{}, err
	}
	if s.ReadOnly {
		return slack.WebhookMessage{}, &scheduleExistsError{name: name, readOnly: true}
	}
	// Deleting a schedule stops its enforcement on every instance that
	// follows it, in any account: only someone who may schedule in each
	// account this workspace sees, in the workspace that created it.
	refuse := func(reason string) (slack.WebhookMessage, error) {
		d.audit(ctx, store.AuditEntry{Time: d.now(), RequestID: reqctx.ID(ctx), TeamID: v.team.ID, ChannelID: v.channel, UserID: v.user,
			Action: action.Schedule, Decision: store.DecisionRefused, Result: store.ResultRefused, Detail: "delete " + name + ": " + reason})
		return slack.WebhookMessage{}, &deniedError{action: action.Schedule, what: "delete schedule " + name, reason: reason}
	}
	if s.TeamID != "" && s.TeamID != v.team.ID {
		return refuse("it was created in another workspace")
	}
	for _, a := range d.visibleAccounts(v.team.ID) {
		if !d.policy.Decide(v.who, action.Schedule, policy.Target{Account: a, AnyInstance: true}).Allowed {
			return refuse("instances in every account may follow it, and no rule grants schedule on " + a + " to you")
		}
	}
	if err := d.store.DeleteSchedule(ctx, name); err != nil {
		return slack.WebhookMessage{}, fmt.Errorf("delete schedule: %w", err)
	}
	if err := d.workers.Go(ctx, func(ctx context.Context) { d.cancelWarnings(ctx, s, v.user) }); err != nil {
		d.log.WarnContext(ctx, "could not end a deleted schedule's warnings", "schedule", name, "err", err)
	}
	d.audit(ctx, store.AuditEntry{Time: d.now(), RequestID: reqctx.ID(ctx), TeamID: v.team.ID, ChannelID: v.channel, UserID: v.user,
		Action: action.Schedule, Decision: store.DecisionAllowed, Result: store.ResultDone, Detail: "deleted " + name})
	return ephemeral(fmt.Sprintf("🗑 Schedule *%s* deleted. Instances still tagged with it are left alone.", blocks.Escape(name))), nil
}

// cancelWarnings ends the warnings of s's coming stops once s is deleted,
// its snoozes' own stops too: its instances are left alone now, so each
// reads as skipped by whoever deleted it, and the Snooze buttons go.
func (d *Dispatcher) cancelWarnings(ctx context.Context, s appSchedule, by string) {
	now := d.sched.clock.Now()
	var ids []string
	for _, o := range s.Between(now, now.Add(d.sched.warning)) {
		if o.Action == action.Stop {
			ids = append(ids, occurrenceID(occurrence{Occurrence: o, sched: s}.key()))
		}
	}
	snoozes, err := d.snoozes(ctx)
	if err != nil {
		d.log.WarnContext(ctx, "could not read a deleted schedule's snoozes", "schedule", s.Name, "err", err)
	}
	for _, sn := range snoozes {
		if sn.Schedule == s.Name && !sn.Skip && sn.Until.After(now) && !sn.Until.After(now.Add(d.sched.warning)) {
			ids = append(ids, occurrenceID(snoozeStop(sn, s).key()))
		}
	}
	for _, id := range ids {
		unlock := d.lockMessage(ctx, id)
		st, found, err := d.loadOccurrence(ctx, id)
		cancelled := err == nil && found && st.Phase == "warned"
		if cancelled {
			st.Phase, st.DeletedBy = "cancelled", by
			for i := range st.Items {
				if it := &st.Items[i]; it.Outcome == blocks.OutcomeDue {
					it.Outcome, it.By = blocks.OutcomeSkipped, by
				}
			}
			err = d.saveOccurrence(ctx, st)
		}
		unlock()
		switch {
		case err != nil:
			d.log.WarnContext(ctx, "could not end a deleted schedule's warning", "schedule", s.Name, "occurrence", id, "err", err)
		case cancelled:
			d.showOccurrence(ctx, id)
		}
	}
}

func (d *Dispatcher) findSchedule(ctx context.Context, name string) (appSchedule, error) {
	all, err := d.schedules(ctx)
	if err != nil {
		return appSchedule{}, err
	}
	for _, s := range all {
		if s.Name == name {
			return s, nil
		}
	}
	return appSchedule{}, &noScheduleError{name: name}
}

// tagCommand attaches schedule name to the one instance query names
// (ec2:CreateTags), or detaches the instance's schedule when name is ""
// (ec2:DeleteTags), after the ack.
func (d *Dispatcher) tagCommand(ctx context.Context, cmd slack.SlashCommand, v viewer, query, name string) (Ack, error) {
	q, err := ec2ops.ParseQuery(query)
	if err != nil {
		return Ack{}, err
	}
	var s appSchedule
	if name != "" {
		if s, err = d.findSchedule(ctx, name); err != nil {
			return Ack{}, err
		}
	}
	err = d.later(ctx, "schedule tag", d.replyToCommand(cmd), func(ctx context.Context) (slack.WebhookMessage, error) {
		res, err := d.list(ctx, v, q)
		if err != nil {
			return slack.WebhookMessage{}, err
		}
		switch len(res.Instances) {
		case 0:
			return blocks.NoMatch(query, nil), nil
		case 1:
		default:
			return slack.WebhookMessage{}, &ambiguousInstanceError{query: query, n: len(res.Instances)}
		}
		inst := res.Instances[0]
		if _, err := d.require(v, action.Schedule, inst); err != nil {
			return slack.WebhookMessage{}, err
		}
		req := ec2ops.TagRequest{Account: inst.Account, Region: inst.Region, InstanceID: inst.ID, Actor: v.user}
		detail := "attached " + name
		if name == "" {
			old, ok := inst.Tags[schedule.Tag]
			if !ok {
				return ephemeral(fmt.Sprintf("%s follows no schedule.", blocks.Escape(displayName(inst)))), nil
			}
			req.Keys, detail = []string{schedule.Tag}, "detached "+old
			_, err = d.fleet.DeleteTags(ctx, req)
		} else {
			req.Tags = map[string]string{schedule.Tag: name}
			_, err = d.fleet.CreateTags(ctx, req)
		}
		e := auditEntry(ctx, d.now(), v, inst, action.Schedule, store.DecisionAllowed, store.ResultDone, "")
		e.Detail = detail
		if err != nil {
			e.Result, e.Error = store.ResultFailed, d.failureText(ctx, "schedule tag", err).String()
			d.audit(ctx, e)
			return slack.WebhookMessage{}, err
		}
		d.audit(ctx, e)
		if name == "" {
			return ephemeral(fmt.Sprintf("✅ %s no longer follows a schedule (tag `%s` removed).", blocks.Escape(displayName(inst)), schedule.Tag)), nil
		}
		next := ""
		if o, ok := s.Next(d.sched.clock.Now()); ok {
			next = fmt.Sprintf(" Next: %s %s.", o.Action, blocks.Date(o.At))
		}
		return ephemeral(fmt.Sprintf("✅ %s now follows *%s* (%s; tag `%s=%s`).%s", blocks.Escape(displayName(inst)), blocks.Escape(name),
			blocks.Escape(s.String()), schedule.Tag, blocks.Escape(name), next)), nil
	})
	if err != nil {
		return Ack{}, err
	}
	return Ack{Body: ephemeral("🔎 Looking up " + blocks.Code(query, 100) + "…")}, nil
}

// newScheduleButton opens the new-schedule modal.
func (d *Dispatcher) newScheduleButton(ctx context.Context, cb slack.InteractionCallback, _ pressed) error {
	api, err := d.clients.Client(ctx, slackclient.Team{ID: cb.Team.ID, EnterpriseID: cb.Enterprise.ID})
	if err != nil {
		return err
	}
	if _, err := api.OpenViewContext(ctx, cb.TriggerID, blocks.ScheduleModal(blocks.ScheduleModalView{Zone: d.sched.zone.String()})); err != nil {
		return d.viewsOpenError(ctx, "schedule modal", err)
	}
	return nil
}

// submitSchedule creates the schedule the modal describes; what is wrong
// is shown beside the field.
func (d *Dispatcher) submitSchedule(ctx context.Context, cb slack.InteractionCallback) (Ack, error) {
	value := func(block string) string {
		return strings.TrimSpace(cb.View.State.Values[block][block].Value)
	}
	start, stop, ok := strings.Cut(value(blocks.ScheduleTimesBlock), "-")
	if !ok {
		return Ack{Body: slack.NewErrorsViewSubmissionResponse(map[string]string{blocks.ScheduleTimesBlock: "Give <start>-<stop>: 08:00-19:00, -19:00 (stop only) or 08:00- (start only)."})}, nil
	}
	s, err := schedule.Build(value(blocks.ScheduleNameBlock), value(blocks.ScheduleDaysBlock), strings.TrimSpace(start), strings.TrimSpace(stop),
		value(blocks.ScheduleZoneBlock), d.sched.zone)
	if e, ok := errors.AsType[*schedule.Error](err); ok {
		block := map[string]string{"name": blocks.ScheduleNameBlock, "days": blocks.ScheduleDaysBlock, "time zone": blocks.ScheduleZoneBlock}[e.Field]
		if block == "" {
			block = blocks.ScheduleTimesBlock
		}
		return Ack{Body: slack.NewErrorsViewSubmissionResponse(map[string]string{block: blocks.Truncate(e.Problem, 150)})}, nil
	}
	if err != nil {
		return Ack{}, err
	}
	team := slackclient.Team{ID: cb.Team.ID, EnterpriseID: cb.Enterprise.ID}
	v := d.viewerOf(ctx, team, cb.User.ID, "")
	msg, err := d.createSchedule(ctx, v, s)
	if err != nil {
		return Ack{}, err
	}
	d.tellPrivately(ctx, team, cb.User.ID, cb.User.ID, msg)
	return Ack{}, nil
}

// snoozeRecord postpones an instance's scheduled stop until Until, or, with
// Skip, skips one occurrence.
type snoozeRecord struct {
	Instance   ec2ops.Instance `json:"instance"`
	Schedule   string          `json:"schedule"`
	Occurrence string          `json:"occurrence"` // the occurrence it postponed
	At         time.Time       `json:"at"`         // that occurrence's time
	Until      time.Time       `json:"until,omitzero"`
	Skip       bool            `json:"skip,omitempty"`
	By         string          `json:"by"`
	TeamID     string          `json:"team_id,omitempty"`
}

// covers reports whether sn keeps o from stopping its instance: a skip of
// that very occurrence, or a snooze that ends after it.
func (sn *snoozeRecord) covers(o occurrence) bool {
	if sn == nil {
		return false
	}
	if sn.Skip {
		return sn.Occurrence == o.key()
	}
	return sn.Until.After(o.At)
}

func (d *Dispatcher) snoozes(ctx context.Context) (map[string]*snoozeRecord, error) {
	all, err := d.store.Snoozes(ctx)
	if err != nil {
		return nil, err
	}
	out := make(map[string]*snoozeRecord, len(all))
	for _, s := range all {
		var sn snoozeRecord
		if err := json.Unmarshal(s.Data, &sn); err != nil {
			d.log.WarnContext(ctx, "unreadable snooze", "instance", s.Instance, "err", err)
			continue
		}
		out[s.Instance] = &sn
	}
	return out, nil
}

// endSnooze forgets sn once its stop has been taken, unless it was
// extended meanwhile.
func (d *Dispatcher) endSnooze(ctx context.Context, sn *snoozeRecord) {
	key := instanceKey(sn.Instance)
	cur, err := d.snoozes(ctx)
	if err != nil {
		return
	}
	if now := cur[key]; now != nil && now.Until.Equal(sn.Until) && !now.Skip {
		if err := d.store.DeleteSnooze(ctx, key); err != nil {
			d.log.WarnContext(ctx, "could not end a snooze", "instance", key, "err", err)
		}
	}
}

// snoozeLanded reports whether sn is in the store after all: a save whose
// answer timed out may have landed, and the stop would honour it, so the
// person is told it is done (and it is audited) rather than not.
func (d *Dispatcher) snoozeLanded(ctx context.Context, sn snoozeRecord) bool {
	cur, err := d.snoozes(ctx)
	if err != nil {
		return false
	}
	got := cur[instanceKey(sn.Instance)]
	return got != nil && got.By == sn.By && got.Occurrence == sn.Occurrence && got.Skip == sn.Skip && got.Until.Equal(sn.Until)
}

// snooze handles Snooze 1h, Snooze 4h and Skip tonight on a warning. It
// needs schedule or start on the instance. Its action_id is
// "snooze:<1h|4h|skip>:<n>", its value "<occurrence id>.<n>".
func (d *Dispatcher) snooze(ctx context.Context, cb slack.InteractionCallback, p pressed) error {
	choice, _, _ := strings.Cut(p.sub, ":")
	var by time.Duration
	switch choice {
	case blocks.Snooze1h:
		by = time.Hour
	case blocks.Snooze4h:
		by = 4 * time.Hour
	case blocks.SnoozeSkip:
	default:
		return errBadValue
	}
	id, n, err := parseItemValue(p.value)
	if err != nil {
		return err
	}
	st, found, err := d.loadOccurrence(ctx, id)
	switch {
	case err != nil:
		return err
	case !found:
		return errExpired
	case n >= len(st.Items):
		return errBadValue
	}
	inst := st.Items[n].Instance
	// The warning goes to the workspace its account is shared with, which
	// need not be the one that created the schedule.
	if !slices.Contains(d.visibleAccounts(cb.Team.ID), inst.Account) {
		return errForeignTeam
	}
	v := d.viewerOfCallback(ctx, cb)
	dec := d.decide(v, action.Schedule, inst)
	if !dec.Allowed {
		if dec = d.decide(v, action.Start, inst); !dec.Allowed {
			e := auditEntry(ctx, d.now(), v, inst, action.Snooze, store.DecisionRefused, store.ResultRefused, "")
			d.audit(ctx, e)
			return &deniedError{action: action.Snooze, target: displayName(inst), reason: "snoozing needs schedule or start on it, and " + dec.Reason}
		}
	}
	// The stop decides under this lock too, on the phase it saves: a
	// snooze lands before the stop reads the snoozes, or finds the stop
	// under way. The wait is short, for the click's 3 s.
	unlock, locked, err := d.lockMessageWithin(ctx, id, time.Second)
	if err != nil {
		// The store did not answer: nobody is holding the warning.
		return fmt.Errorf("snooze: lock message %s: %w", id, err)
	}
	if !locked {
		return fmt.Errorf("snooze: message %s locked: %w", id, &warningBusyError{name: displayName(inst)})
	}
	defer unlock()
	if st, found, err = d.loadOccurrence(ctx, id); err != nil {
		return err
	} else if !found || n >= len(st.Items) {
		return errExpired
	}
	now := d.sched.clock.Now()
	if st.Phase != "warned" || !now.Before(st.At) {
		return &tooLateError{name: displayName(inst)}
	}
	sn := snoozeRecord{Instance: inst, Schedule: st.Schedule, Occurrence: st.Key, At: st.At, By: cb.User.ID, TeamID: st.TeamID}
	detail := fmt.Sprintf("skip %s of %s", st.At.UTC().Format(time.RFC3339), st.Schedule)
	ttl := st.At.Sub(now) + d.sched.grace + time.Hour
	if by > 0 {
		base := st.At
		if it := st.Items[n]; it.Outcome == blocks.OutcomeSnoozed && it.Until.After(base) {
			base = it.Until
		}
		sn.Until = base.Add(by)
		ttl = sn.Until.Sub(now) + d.sched.grace + time.Hour
		detail = fmt.Sprintf("until %s (%s)", sn.Until.UTC().Format(time.RFC3339), st.Schedule)
	} else {
		sn.Skip = true
	}
	data, err := json.Marshal(sn)
	if err != nil {
		return fmt.Errorf("encode snooze: %w", err)
	}
	if err := d.store.SaveSnooze(ctx, store.Snooze{Instance: instanceKey(inst), Data: data}, ttl); err != nil && !d.snoozeLanded(ctx, sn) {
		return fmt.Errorf("save snooze: %w", err)
	}
	// A save slow enough to outlast the lock may have come after the stop
	// read the snoozes: then it is too late, and the snooze goes.
	if cur, found, err := d.loadOccurrence(ctx, id); err == nil && found && cur.Phase != "warned" {
		if d.snoozeLanded(ctx, sn) {
			if err := d.store.DeleteSnooze(ctx, instanceKey(inst)); err != nil {
				d.log.WarnContext(ctx, "could not take back a snooze that came too late", "instance", instanceKey(inst), "err", err)
			}
		}
		return &tooLateError{name: displayName(inst)}
	}
	e := auditEntry(ctx, d.now(), v, inst, action.Snooze, store.DecisionAllowed, store.ResultDone, "")
	e.Rule, e.Detail = dec.Rule, detail
	d.audit(ctx, e)
	return d.workers.Go(ctx, func(ctx context.Context) {
		unlock := d.lockMessage(ctx, id)
		st, found, err := d.loadOccurrence(ctx, id)
		if err == nil && found && n < len(st.Items) {
			it := &st.Items[n]
			it.By, it.Until, it.Outcome = sn.By, sn.Until, blocks.OutcomeSnoozed
			if sn.Skip {
				it.Outcome, it.Until = blocks.OutcomeSkipped, time.Time{}
			}
			err = d.saveOccurrence(ctx, st)
		}
		unlock()
		if err != nil {
			d.log.WarnContext(ctx, "could not record a snooze on its message", "request_id", reqctx.ID(ctx), "err", err)
		}
		d.showOccurrence(ctx, id)
	})
}

// cardSchedule is the card's schedule line: the schedule the instance
// follows, what it does next and when, and a snooze that holds it.
func (d *Dispatcher) cardSchedule(ctx context.Context, inst ec2ops.Instance) string {
	name := inst.Tags[schedule.Tag]
	if name == "" {
		return ""
	}
	all, err := d.schedules(ctx)
	i := slices.IndexFunc(all, func(s appSchedule) bool { return s.Name == name })
	if err != nil || i < 0 {
		return name + " (no such schedule)"
	}
	s, now := all[i], d.sched.clock.Now()
	zone := cmp.Or(s.Zone, time.UTC)
	line := s.Name + " (" + s.String() + ")"
	if next, ok := s.Next(now); ok {
		line += fmt.Sprintf(" · next: %s %s", next.Action, next.At.In(zone).Format("Mon 02 Jan 15:04 MST"))
	}
	if snoozes, err := d.snoozes(ctx); err == nil {
		if sn := snoozes[instanceKey(inst)]; sn != nil && (sn.Skip || sn.Until.After(now)) {
			if sn.Skip {
				line += " · the next stop is skipped"
			} else {
				line += " · snoozed until " + sn.Until.In(zone).Format("Mon 15:04 MST")
			}
		}
	}
	return line
}
