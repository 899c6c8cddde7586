package app

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/google/uuid"
	"github.com/jonboulle/clockwork"

	"github.com/charlize-app/charlize/blocks"
	"github.com/charlize-app/charlize/ec2ops"
	"github.com/charlize-app/charlize/ec2ops/action"
	"github.com/charlize-app/charlize/handlers/reqctx"
	"github.com/charlize-app/charlize/handlers/schedule"
	"github.com/charlize-app/charlize/handlers/slackclient"
	"github.com/charlize-app/charlize/store"
)

// The scheduler: it warns before scheduled stops, starts and stops the
// instances that follow a schedule (the tag charlize:schedule=<name>), and
// honours snoozes. Each step of each occurrence (its warning, its acting)
// is claimed in the store, so across replicas it happens once; each
// instance's start or stop is an action record like a click's, run through
// execute and settle, so it is leased, taken over, audited and reported.

// schedulerActor is who the audit log says acted.
const schedulerActor = "charlize scheduler"

const (
	// scheduleMaxWait bounds the scheduler's sleep, so schedules and snoozes
	// saved by other replicas are seen within it.
	scheduleMaxWait = 30 * time.Second
	// scheduleLookback is how far back missed occurrences are reported.
	scheduleLookback = 24 * time.Hour
	// scheduleStepTTL keeps a finished step's claim past any lookback.
	scheduleStepTTL = scheduleLookback + 24*time.Hour
)

// scheduler holds the scheduler's settings and what it remembers between
// ticks, which only saves store calls: the store decides.
type scheduler struct {
	clock   clockwork.Clock
	warning time.Duration
	grace   time.Duration
	channel string
	zone    *time.Location
	file    []schedule.Schedule

	mu sync.Mutex
	// done holds step keys not to ask the store about again before the
	// time given: finished here (for ever), or held by another replica
	// (until its lease would have run out).
	done  map[string]time.Time
	epoch time.Time
}

// appSchedule is a schedule with where it came from.
type appSchedule struct {
	schedule.Schedule
	TeamID    string
	CreatedBy string
	CreatedAt time.Time
	ReadOnly  bool // from the schedules file
}

// storedSchedule is a schedule as the store keeps it.
type storedSchedule struct {
	Name      string    `json:"name"`
	Days      string    `json:"days"`
	Start     string    `json:"start,omitempty"`
	Stop      string    `json:"stop,omitempty"`
	Zone      string    `json:"zone"`
	TeamID    string    `json:"team_id,omitempty"`
	CreatedBy string    `json:"created_by,omitempty"`
	CreatedAt time.Time `json:"created_at"`
}

// schedules are the file's and the store's, by name; a stored schedule
// that no longer reads is logged and skipped.
func (d *Dispatcher) schedules(ctx context.Context) ([]appSchedule, error) {
	var out []appSchedule
	for _, s := range d.sched.file {
		out = append(out, appSchedule{Schedule: s, ReadOnly: true})
	}
	recs, err := d.store.Schedules(ctx)
	if err != nil {
		return out, fmt.Errorf("load schedules: %w", err)
	}
	for _, r := range recs {
		var st storedSchedule
		if err := json.Unmarshal(r.Data, &st); err != nil {
			d.log.WarnContext(ctx, "unreadable schedule", "schedule", r.Name, "err", err)
			continue
		}
		s, err := schedule.Build(st.Name, st.Days, st.Start, st.Stop, st.Zone, d.sched.zone)
		if err != nil {
			d.log.WarnContext(ctx, "stored schedule no longer reads", "schedule", r.Name, "err", err)
			continue
		}
		if slices.ContainsFunc(out, func(a appSchedule) bool { return a.Name == s.Name }) {
			continue // the file's wins
		}
		out = append(out, appSchedule{Schedule: s, TeamID: st.TeamID, CreatedBy: st.CreatedBy, CreatedAt: st.CreatedAt})
	}
	slices.SortFunc(out, func(a, b appSchedule) int { return cmp.Compare(a.Name, b.Name) })
	return out, nil
}

// runScheduler ticks until ctx ends: at each tick it carries out what is
// due, then sleeps until the next warning or occurrence (at most
// scheduleMaxWait) on the scheduler's clock, which tests move.
func (d *Dispatcher) runScheduler(ctx context.Context) {
	ctx = reqctx.WithID(ctx, "scheduler")
	for {
		next := d.scheduleTick(ctx)
		wait := min(max(d.sched.clock.Until(next), 0), scheduleMaxWait)
		select {
		case <-ctx.Done():
			return
		case <-d.sched.clock.After(wait):
		}
	}
}

// occurrence is one thing the scheduler does at one time: a schedule's
// start or stop, or the stop of one instance whose snooze ends.
type occurrence struct {
	schedule.Occurrence
	sched  appSchedule
	snooze *snoozeRecord // the snooze that ends, for its own stop
}

func (o occurrence) key() string {
	if o.snooze != nil {
		return o.Schedule + snoozeKeyPart + instanceKey(o.snooze.Instance) + "/" + o.At.UTC().Format("2006-01-02T15:04:05Z")
	}
	return o.Key()
}

// snoozeKeyPart marks the key of a snooze's own stop.
const snoozeKeyPart = "/snooze/"

// snoozeStop is the stop of sc that snooze sn postpones its instance to.
func snoozeStop(sn *snoozeRecord, sc appSchedule) occurrence {
	return occurrence{Occurrence: schedule.Occurrence{Schedule: sn.Schedule, Action: action.Stop, At: sn.Until,
		Local: sn.Until.UTC().Format("2006-01-02 15:04")}, sched: sc, snooze: sn}
}

// scheduleTick carries out every step due at the scheduler's now and
// returns when the next one is due.
func (d *Dispatcher) scheduleTick(ctx context.Context) time.Time {
	s := d.sched
	now := s.clock.Now()
	next := now.Add(scheduleMaxWait)
	if d.closing() {
		return next
	}
	scheds, err := d.schedules(ctx)
	if err != nil {
		d.log.WarnContext(ctx, "scheduler: could not read schedules", "err", err)
		d.observeSchedule("tick", "store_error")
		return next
	}
	snoozes, err := d.snoozes(ctx)
	if err != nil {
		d.log.WarnContext(ctx, "scheduler: could not read snoozes", "err", err)
		d.observeSchedule("tick", "store_error")
		return next
	}
	epoch := d.schedulerEpoch(ctx, now)
	soon := func(t time.Time) {
		if t.After(now) && t.Before(next) {
			next = t
		}
	}
	for _, sc := range scheds {
		from := now.Add(-scheduleLookback)
		if from.Before(epoch) {
			from = epoch
		}
		if sc.CreatedAt.After(from) {
			from = sc.CreatedAt
		}
		for _, o := range sc.Between(from, now.Add(s.warning)) {
			d.runOccurrence(ctx, occurrence{Occurrence: o, sched: sc}, now)
		}
		if o, ok := sc.Next(now); ok {
			soon(o.At)
			if o.Action == action.Stop {
				soon(o.At.Add(-s.warning))
			}
		}
	}
	for _, sn := range snoozes {
		i := slices.IndexFunc(scheds, func(a appSchedule) bool { return a.Name == sn.Schedule })
		if i < 0 {
			// Its schedule was deleted: instances that followed it are
			// left alone, snoozed ones too.
			d.endSnooze(ctx, sn)
			continue
		}
		sc := scheds[i]
		if strings.Contains(sn.Occurrence, snoozeKeyPart) {
			// Pressed on a snooze's own warning, it replaced that snooze:
			// the stop that warning announced still ends, as snoozed or
			// skipped, so its message settles and it is audited.
			was := *sn
			was.Until, was.Skip = sn.At, false
			if now.Before(sn.At) {
				soon(sn.At)
			} else {
				d.runOccurrence(ctx, snoozeStop(&was, sc), now)
			}
		}
		if sn.Skip || sn.Until.IsZero() {
			continue
		}
		o := snoozeStop(sn, sc)
		if !now.Before(sn.Until.Add(-s.warning)) {
			d.runOccurrence(ctx, o, now)
		}
		soon(sn.Until)
		soon(sn.Until.Add(-s.warning))
	}
	d.observeSchedule("tick", "ok")
	return next
}

// runOccurrence takes the step of o that is due at now: the warning before
// a stop, or acting once its time has come (which reports a missed one).
func (d *Dispatcher) runOccurrence(ctx context.Context, o occurrence, now time.Time) {
	switch {
	case now.Before(o.At) && o.Action == action.Stop && d.sched.warning > 0:
		d.step(ctx, "warn", o, func(ctx context.Context) error { return d.warn(ctx, o) })
	case !now.Before(o.At):
		d.step(ctx, "act", o, func(ctx context.Context) error { return d.act(ctx, o, now) })
	}
}

// step runs do once across replicas: the step's claim is a lease while it
// runs (another replica takes the step over if this one dies), then is
// kept, so the step is done.
func (d *Dispatcher) step(ctx context.Context, kind string, o occurrence, do func(context.Context) error) {
	key := store.ScheduleKey(kind, o.key(), "")
	s := d.sched
	s.mu.Lock()
	until, seen := s.done[key]
	s.mu.Unlock()
	if seen && (until.IsZero() || time.Now().Before(until)) {
		return
	}
	won, _, err := d.store.Claim(ctx, key, d.replica, d.leaseTTL)
	if err != nil {
		d.log.WarnContext(ctx, "scheduler: could not claim a step", "step", kind, "occurrence", o.key(), "err", err)
		d.observeSchedule(kind, "store_error")
		return
	}
	if !won {
		s.remember(key, time.Now().Add(2*d.leaseTTL))
		return
	}
	d.leases.hold(key, d.replica, nil)
	err = do(reqctx.WithID(ctx, "schedule-"+kind+"-"+uuid.NewString()[:8]))
	if err != nil {
		// Let the step be taken again, here or elsewhere, at the next tick.
		d.leases.drop(ctx, key)
		d.log.WarnContext(ctx, "scheduler: step failed", "step", kind, "occurrence", o.key(), "err", err)
		d.observeSchedule(kind, "error")
		return
	}
	d.leases.forget(key)
	if _, err := d.store.RenewClaim(ctx, key, d.replica, scheduleStepTTL); err != nil {
		d.log.WarnContext(ctx, "scheduler: could not mark a step done", "step", kind, "occurrence", o.key(), "err", err)
	}
	s.remember(key, time.Time{})
	d.observeSchedule(kind, "ok")
}

func (s *scheduler) remember(key string, until time.Time) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.done) > 100_000 {
		clear(s.done) // the store still knows; this only saves calls
	}
	s.done[key] = until
}

// schedulerEpoch is when a scheduler first ran on this store: occurrences
// before it were never Charlize's to carry out, so they are not reported
// as missed. The first replica's claim sets it, once.
func (d *Dispatcher) schedulerEpoch(ctx context.Context, now time.Time) time.Time {
	s := d.sched
	s.mu.Lock()
	epoch := s.epoch
	s.mu.Unlock()
	if !epoch.IsZero() {
		return epoch
	}
	_, holder, err := d.store.Claim(ctx, "scheduler:epoch", now.UTC().Format(time.RFC3339), 10*365*24*time.Hour)
	if err != nil {
		return now
	}
	epoch, err = time.Parse(time.RFC3339, holder)
	if err != nil {
		return now
	}
	s.mu.Lock()
	s.epoch = epoch
	s.mu.Unlock()
	return epoch
}

func (d *Dispatcher) observeSchedule(step, outcome string) {
	if m, ok := d.metrics.(interface{ ObserveSchedule(step, outcome string) }); ok {
		m.ObserveSchedule(step, outcome)
	}
}

// occurrenceState is one occurrence's instances and its messages (one per
// account), kept as a session whose id the snooze buttons carry. Its id
// is derived from the occurrence, so every replica finds it.
type occurrenceState struct {
	Kind     string        `json:"kind"` // occurrenceKind
	ID       string        `json:"id"`
	Key      string        `json:"key"`
	Schedule string        `json:"schedule"`
	Action   action.Action `json:"action"`
	At       time.Time     `json:"at"`
	TeamID   string        `json:"team_id"`
	Snooze   bool          `json:"snooze,omitempty"` // the stop of one snoozed instance
	// Phase is "warned" (buttons work), "acted", "missed" or "cancelled"
	// (its schedule deleted, by DeletedBy, before its time).
	Phase     string              `json:"phase"`
	DeletedBy string              `json:"deleted_by,omitempty"`
	Late      time.Duration       `json:"late,omitempty"`
	Items     []occurrenceItem    `json:"items"`
	Messages  []occurrenceMessage `json:"messages,omitempty"`
	Failures  []string            `json:"failures,omitempty"`
}

const occurrenceKind = "schedule-occurrence"

type occurrenceItem struct {
	Instance ec2ops.Instance `json:"instance"`
	Outcome  blocks.Outcome  `json:"outcome"`
	RecordID string          `json:"record_id,omitempty"` // the action record of its start or stop
	By       string          `json:"by,omitempty"`
	Until    time.Time       `json:"until,omitzero"`
}

type occurrenceMessage struct {
	Account string `json:"account"`
	Channel string `json:"channel"`
	TS      string `json:"ts,omitempty"`
}

// occurrenceNamespace derives occurrence ids from occurrence keys.
var occurrenceNamespace = uuid.MustParse("7f0f3c52-5d1a-4a53-9a55-6f2b0c2f9e11")

func occurrenceID(key string) string { return uuid.NewSHA1(occurrenceNamespace, []byte(key)).String() }

// occurrenceTTL keeps an occurrence's state while its buttons may be
// pressed and its result edited.
const occurrenceTTL = 48 * time.Hour

func (d *Dispatcher) saveOccurrence(ctx context.Context, st *occurrenceState) error {
	st.Kind = occurrenceKind
	data, err := json.Marshal(st)
	if err != nil {
		return fmt.Errorf("encode occurrence %s: %w", st.Key, err)
	}
	if err := d.store.PutSession(ctx, store.Session{ID: st.ID, TeamID: st.TeamID, Data: data}, occurrenceTTL); err != nil {
		return fmt.Errorf("save occurrence %s: %w", st.Key, err)
	}
	return nil
}

// loadOccurrence returns the state id names; found is false when there is
// none (yet, or any more).
func (d *Dispatcher) loadOccurrence(ctx context.Context, id string) (*occurrenceState, bool, error) {
	s, err := d.store.Session(ctx, id)
	if errors.Is(err, store.ErrNotFound) {
		return nil, false, nil
	}
	if err != nil {
		return nil, false, fmt.Errorf("load occurrence: %w", err)
	}
	var st occurrenceState
	if err := json.Unmarshal(s.Data, &st); err != nil || st.Kind != occurrenceKind || st.ID != id {
		return nil, false, errBadValue
	}
	return &st, true, nil
}

// due lists the instances o acts on: those that follow its schedule (a
// listing filtered by the tag on the AWS side, one per account-region) and
// are not already where it takes them; a snooze's stop is its instance.
func (d *Dispatcher) due(ctx context.Context, o occurrence) (*occurrenceState, error) {
	st := &occurrenceState{ID: occurrenceID(o.key()), Key: o.key(), Schedule: o.Schedule, Action: o.Action, At: o.At,
		TeamID: o.sched.TeamID, Snooze: o.snooze != nil}
	if o.snooze != nil {
		st.TeamID = o.snooze.TeamID
		st.Items = []occurrenceItem{{Instance: o.snooze.Instance, Outcome: blocks.OutcomeDue}}
		return st, nil
	}
	if d.fleet == nil {
		return st, nil
	}
	res, err := d.fleet.List(ctx, ec2ops.Query{Tags: []ec2ops.Tag{{Key: schedule.Tag, Value: o.Schedule}}})
	if err != nil {
		return nil, err
	}
	for _, f := range res.Failures {
		st.Failures = append(st.Failures, f.Account+"/"+f.Region+": "+d.failureText(ctx, "schedule list", f.Err).String())
	}
	for _, inst := range res.Instances {
		if inst.Tags[schedule.Tag] != o.Schedule || !wants(o.Action, inst.State) {
			continue
		}
		st.Items = append(st.Items, occurrenceItem{Instance: inst, Outcome: blocks.OutcomeDue})
	}
	return st, nil
}

// wants reports whether an instance in state is one a scheduled a acts on:
// stops stop what runs (or is starting, or stopping), starts start what is
// stopped; terminated instances are skipped.
func wants(a action.Action, state string) bool {
	switch a {
	case action.Stop:
		return state == ec2ops.StateRunning || state == ec2ops.StatePending
	case action.Start:
		return state == ec2ops.StateStopped
	}
	return false
}

// warn posts, before a stop, one message per account listing the
// instances that will stop, each with Snooze 1h, Snooze 4h and Skip.
func (d *Dispatcher) warn(ctx context.Context, o occurrence) error {
	st, fresh, err := d.occurrenceState(ctx, o)
	if err != nil {
		return err
	}
	if fresh {
		// The listing may have taken long: meanwhile the stop's own step
		// (another replica) may have acted and saved its state, which this
		// warning must not replace; and past the stop, a warning is news
		// of nothing.
		unlock := d.lockMessage(ctx, st.ID)
		cur, found, err := d.loadOccurrence(ctx, st.ID)
		switch {
		case err != nil:
		case found && cur.Phase != "warned":
			unlock()
			return nil // acted on already: its own step shows it
		case found:
			// An earlier run of this step saved it and may have died
			// before posting: posting (or editing) it is all that is left.
		case !d.sched.clock.Now().Before(o.At):
			unlock()
			return nil
		default:
			st.Phase = "warned"
			err = d.saveOccurrence(ctx, st)
		}
		unlock()
		if err != nil {
			return err
		}
	}
	d.showOccurrence(ctx, st.ID)
	return nil
}

// occurrenceState is o's state as its warning left it, or, fresh, the
// instances due now.
func (d *Dispatcher) occurrenceState(ctx context.Context, o occurrence) (st *occurrenceState, fresh bool, err error) {
	st, found, err := d.loadOccurrence(ctx, occurrenceID(o.key()))
	if err != nil || found {
		return st, false, err
	}
	st, err = d.due(ctx, o)
	return st, true, err
}

// act carries out o: each due instance not snoozed gets its action record,
// run like any other; snoozed and skipped ones are recorded as such; an
// occurrence whose time passed beyond the grace is reported, not done.
func (d *Dispatcher) act(ctx context.Context, o occurrence, now time.Time) error {
	st, _, err := d.occurrenceState(ctx, o)
	if err != nil {
		return err
	}
	// A snooze decides under the message lock on the phase saved here:
	// it lands before the snoozes are read, or finds this stop under way.
	unlock := d.lockMessage(ctx, st.ID)
	locked := true
	release := func() {
		if locked {
			unlock()
			locked = false
		}
	}
	defer release()
	if cur, found, err := d.loadOccurrence(ctx, st.ID); err != nil {
		return err
	} else if found {
		st = cur
	}
	// Read again rather than trust the tick's: a snooze pressed a moment
	// before the stop counts.
	snoozes, err := d.snoozes(ctx)
	if err != nil {
		return err
	}
	late := now.Sub(o.At)
	missed := late > d.sched.grace
	if late > time.Minute {
		st.Late = late
	}
	type start struct {
		i   int
		rec *actionRecord
	}
	var starts []start
	for i := range st.Items {
		it := &st.Items[i]
		inst := it.Instance
		base := store.AuditEntry{Time: d.now(), RequestID: reqctx.ID(ctx), TeamID: st.TeamID, ChannelID: d.scheduleChannel(inst.Account),
			UserID: schedulerActor, Account: inst.Account, Region: inst.Region, InstanceID: inst.ID, InstanceName: inst.Name,
			Action: o.Action, Decision: store.DecisionAllowed, Rule: "schedule " + o.Schedule, Result: store.ResultSkipped}
		switch {
		case it.RecordID != "":
			// Named by an earlier run of this step that died or failed:
			// one whose record exists has started (the takeover loop
			// carries it on) or ended; one without is started now, unless
			// its time has passed.
			_, err := d.loadRecord(ctx, it.RecordID, "")
			switch {
			case err == nil:
			case !errors.Is(err, errExpired):
				return err
			case missed:
				it.Outcome = blocks.OutcomeMissed
				base.Detail = fmt.Sprintf("missed: Charlize could not start it at %s (grace %s)", o.At.UTC().Format(time.RFC3339), d.sched.grace)
				d.audit(ctx, base)
			default:
				starts = append(starts, start{i, d.scheduledRecord(o, st, inst, it.RecordID)})
			}
		case missed:
			it.Outcome = blocks.OutcomeMissed
			base.Detail = fmt.Sprintf("missed: Charlize was not running at %s (grace %s)", o.At.UTC().Format(time.RFC3339), d.sched.grace)
			d.audit(ctx, base)
		case o.Action == action.Stop && snoozes[instanceKey(inst)].covers(o):
			sn := snoozes[instanceKey(inst)]
			it.By, it.Until = sn.By, sn.Until
			it.Outcome = blocks.OutcomeSnoozed
			base.Detail = fmt.Sprintf("snoozed by %s until %s", sn.By, sn.Until.UTC().Format(time.RFC3339))
			if sn.Skip {
				it.Outcome, it.Until = blocks.OutcomeSkipped, time.Time{}
				base.Detail = "skipped this time by " + sn.By
			}
			d.audit(ctx, base)
		default:
			rec := d.scheduledRecord(o, st, inst, uuid.NewString())
			it.RecordID, it.Outcome = rec.ID, blocks.OutcomeActing
			starts = append(starts, start{i, rec})
		}
	}
	st.Phase = "acted"
	if missed {
		st.Phase = "missed"
	}
	// The state names every record before any runs, so that whichever
	// settles first finds itself in it.
	if err := d.saveOccurrence(ctx, st); err != nil {
		return err
	}
	release()
	var failed error
	for _, s := range starts {
		if err := d.startScheduled(ctx, s.rec); err != nil && failed == nil {
			failed = err
		}
	}
	if failed != nil {
		// The step is taken again at the next tick, which starts only
		// what has no record yet.
		d.showOccurrence(ctx, st.ID)
		return failed
	}
	if o.snooze != nil {
		d.endSnooze(ctx, o.snooze)
	}
	d.showOccurrence(ctx, st.ID)
	return nil
}

// scheduledRecord is the action record of o on inst.
func (d *Dispatcher) scheduledRecord(o occurrence, st *occurrenceState, inst ec2ops.Instance, id string) *actionRecord {
	return &actionRecord{
		ID: id, State: stateQueued, Action: o.Action, Instance: inst, TeamID: d.scheduleTeam(inst.Account, st.TeamID),
		Requester: schedulerActor, Channel: d.scheduleChannel(inst.Account), Rule: "schedule " + o.Schedule,
		ClickKey: store.ScheduleKey("act", o.key(), instanceKey(inst)), RequestedAt: d.now(),
		Scheduled: &scheduledAction{Schedule: o.Schedule, Occurrence: o.key(), Message: st.ID, Late: st.Late},
	}
}

// startScheduled claims rec's (schedule, instance, occurrence) once, takes
// its lease, records it and queues it, as a click does. A claim or a save
// the store did not answer is an error, for the step to be taken again: a
// claim already rec's own is one that landed, or a run that died before
// the record; a record that landed anyway is carried on by the takeover
// loop (it holds the claim) and not started again by the step.
func (d *Dispatcher) startScheduled(ctx context.Context, rec *actionRecord) error {
	won, holder, err := d.store.Claim(ctx, rec.ClickKey, rec.holder(), scheduleStepTTL)
	if err != nil {
		return fmt.Errorf("scheduler: claim %s: %w", rec.ClickKey, err)
	}
	if !won && holder != rec.holder() {
		return nil // another record acts on this instance for this occurrence
	}
	r := d.newRun(rec, nil)
	r.claimed = true
	if err := r.takeLease(ctx); err != nil {
		if errors.Is(err, errLeaseHeld) {
			return nil // running on another replica
		}
		return err
	}
	if err := d.saveRecord(ctx, rec); err != nil {
		r.dropLease(ctx)
		return err
	}
	r.saved = true
	if err := d.actions.Go(ctx, r.execute); err != nil {
		// Shutting down, or every action worker and queue place taken (a
		// stop of more instances than that): the record stays queued, its
		// step's claim its own, and the takeover loop carries it out when
		// room frees, within the schedule's grace.
		if !d.closing() {
			d.log.InfoContext(ctx, "scheduler: no room for the action yet; it is carried out when some frees",
				"action_id", rec.ID, "instance", rec.Instance.ID, "schedule", rec.Scheduled.Schedule)
		}
		r.dropLease(ctx)
	}
	return nil
}

// scheduledAction is what an action record keeps of the schedule that
// started it.
type scheduledAction struct {
	Schedule   string        `json:"schedule"`
	Occurrence string        `json:"occurrence"`
	Message    string        `json:"message"` // the occurrence state's id
	Late       time.Duration `json:"late,omitempty"`
}

// roleSession is the AWS session name of a scheduled action, so CloudTrail
// shows which schedule acted.
func (s *scheduledAction) roleSession() string {
	if s == nil {
		return ""
	}
	return "charlize-schedule-" + s.Schedule
}

// follows refuses an instance that no longer carries the schedule's tag:
// someone detached it after its warning listed it.
func (s *scheduledAction) follows(inst ec2ops.Instance) error {
	if inst.Tags[schedule.Tag] != s.Schedule {
		return &unfollowedError{name: displayName(inst), schedule: s.Schedule}
	}
	return nil
}

// detail is what the audit log says of a scheduled action.
func (s *scheduledAction) detail() string {
	if s == nil || s.Late == 0 {
		return ""
	}
	return "late by " + blocks.Duration(s.Late)
}

// scheduleChannel is where the scheduler speaks of an account's instances.
func (d *Dispatcher) scheduleChannel(account string) string {
	if d.fleet != nil {
		for a := range d.fleet.AllAccounts() {
			if a.Name == account && a.Channel != "" {
				return a.Channel
			}
		}
	}
	return d.sched.channel
}

// scheduleTeam is the workspace whose token speaks of an account's
// instances: the first the account names (multi-workspace mode), else the
// schedule's.
func (d *Dispatcher) scheduleTeam(account, fallback string) string {
	if d.fleet != nil {
		for a := range d.fleet.AllAccounts() {
			if a.Name == account && len(a.Workspaces) > 0 {
				return a.Workspaces[0]
			}
		}
	}
	return fallback
}

// scheduledSettled is settle's report for a scheduled action: the
// occurrence's message shows it among the others.
func (d *Dispatcher) scheduledSettled(ctx context.Context, rec *actionRecord) {
	d.showOccurrence(ctx, rec.Scheduled.Message)
}

// showOccurrence renders an occurrence's messages from its state and its
// records, posting those not yet posted and editing the others. Replicas
// and settling actions edit the same messages, so one at a time holds the
// message lock while it reads and edits; whoever edits last read last.
func (d *Dispatcher) showOccurrence(ctx context.Context, id string) {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), reportTimeout)
	defer cancel()
	unlock := d.lockMessage(ctx, id)
	defer unlock()
	st, found, err := d.loadOccurrence(ctx, id)
	if err != nil || !found {
		if err != nil {
			d.log.WarnContext(ctx, "scheduler: could not load an occurrence", "occurrence", id, "err", err)
		}
		return
	}
	texts := map[string]string{}
	for i := range st.Items {
		it := &st.Items[i]
		if it.RecordID == "" {
			continue
		}
		rec, err := d.loadRecord(ctx, it.RecordID, "")
		if err != nil || rec.State != stateSettled {
			continue // not saved yet, or running: acting
		}
		switch rec.Result {
		case store.ResultDone:
			it.Outcome = blocks.OutcomeDone
		default:
			it.Outcome, texts[it.RecordID] = blocks.OutcomeFailed, rec.Outcome
			if rec.Outcome == "" {
				texts[it.RecordID] = string(rec.Result)
			}
		}
	}
	accounts := []string{}
	for _, it := range st.Items {
		if !slices.Contains(accounts, it.Instance.Account) {
			accounts = append(accounts, it.Instance.Account)
		}
	}
	changed := false
	for _, acct := range accounts {
		channel := d.scheduleChannel(acct)
		i := slices.IndexFunc(st.Messages, func(m occurrenceMessage) bool { return m.Account == acct })
		if i < 0 {
			st.Messages = append(st.Messages, occurrenceMessage{Account: acct, Channel: channel})
			i, changed = len(st.Messages)-1, true
		}
		m := &st.Messages[i]
		msg := blocks.Occurrence(d.occurrenceView(st, acct, texts))
		api, err := d.clients.Client(ctx, slackclient.Team{ID: d.scheduleTeam(acct, st.TeamID)})
		switch {
		case err != nil:
		case m.Channel == "":
			err = errNoScheduleChannel
		case m.TS == "":
			m.TS, err = slackclient.PostMessage(ctx, api, m.Channel, msg)
			changed = changed || err == nil
		default:
			err = slackclient.UpdateMessage(ctx, api, m.Channel, m.TS, msg)
		}
		if err != nil {
			d.log.WarnContext(ctx, "scheduler: could not show an occurrence", "occurrence", st.Key, "account", acct,
				"channel", m.Channel, "slack_error", slackclient.ErrorCode(err), "err", err)
			d.observeSchedule("message", "error")
		}
	}
	if changed {
		if err := d.saveOccurrence(ctx, st); err != nil {
			d.log.WarnContext(ctx, "scheduler: could not save an occurrence", "occurrence", st.Key, "err", err)
		}
	}
}

// occurrenceView is the view of st's message in account.
func (d *Dispatcher) occurrenceView(st *occurrenceState, account string, texts map[string]string) blocks.OccurrenceView {
	v := blocks.OccurrenceView{Schedule: st.Schedule, Action: st.Action, At: st.At, Account: account,
		Warning: st.Phase == "warned", Late: st.Late, Grace: d.sched.grace, Snoozed: st.Snooze, Failures: st.Failures, DeletedBy: st.DeletedBy}
	for n, it := range st.Items {
		if it.Instance.Account != account {
			continue
		}
		item := blocks.OccurrenceItem{Instance: instanceView(it.Instance, ""), Outcome: it.Outcome, By: it.By, Until: it.Until,
			Message: texts[it.RecordID]}
		if v.Warning && it.Outcome != blocks.OutcomeSkipped {
			item.Value = itemValue(st.ID, n)
		}
		v.Items = append(v.Items, item)
	}
	return v
}

// lockMessage holds the message lock of occurrence id (waiting up to a few
// seconds for it); the returned func frees it. Without the lock after the
// wait, it goes on: an edit out of order is better than none.
func (d *Dispatcher) lockMessage(ctx context.Context, id string) func() {
	unlock, _, _ := d.lockMessageWithin(ctx, id, 3*time.Second)
	return unlock
}

// lockMessageWithin is lockMessage waiting at most wait; locked is false
// (and unlock does nothing) when it could not take the lock: held by
// someone else, or err when the store did not answer.
func (d *Dispatcher) lockMessageWithin(ctx context.Context, id string, wait time.Duration) (unlock func(), locked bool, err error) {
	const poll = 20 * time.Millisecond
	key, holder := store.ScheduleMessageLockKey(id), uuid.NewString()
	won, _, err := d.claimWaiting(ctx, key, holder, 5*time.Second, int(wait/poll), poll, nil)
	if err != nil || !won {
		return func() {}, false, err
	}
	return func() { d.releaseClaim(ctx, key, holder) }, true, nil
}
