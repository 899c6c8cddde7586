package store

import (
	"context"
	"errors"
	"fmt"
	"time"
)

// Bounded wraps s so that every call gives up after timeout and reports
// ErrUnavailable. A store that hangs (not down: hangs, as a Redis in a long
// DEBUG SLEEP or behind a stalled network does) then costs a request a
// bounded wait instead of Slack's whole 3 seconds. Close is not bounded.
func Bounded(s Store, timeout time.Duration) Store {
	return &bounded{s: s, timeout: timeout}
}

type bounded struct {
	s       Store
	timeout time.Duration
}

// call runs fn under the bound; a deadline that passes during it means
// the store did not answer in time, which callers read as ErrUnavailable.
func call[T any](b *bounded, ctx context.Context, fn func(context.Context) (T, error)) (T, error) {
	ctx, cancel := context.WithTimeout(ctx, b.timeout)
	defer cancel()
	v, err := fn(ctx)
	if err != nil && errors.Is(err, context.DeadlineExceeded) && !errors.Is(err, ErrUnavailable) {
		err = fmt.Errorf("%w: no answer within %s: %w", ErrUnavailable, b.timeout, err)
	}
	return v, err
}

func do(b *bounded, ctx context.Context, fn func(context.Context) error) error {
	_, err := call(b, ctx, func(ctx context.Context) (struct{}, error) { return struct{}{}, fn(ctx) })
	return err
}

func (b *bounded) SaveInstallation(ctx context.Context, inst Installation) error {
	return do(b, ctx, func(ctx context.Context) error { return b.s.SaveInstallation(ctx, inst) })
}

func (b *bounded) Installation(ctx context.Context, key string) (Installation, error) {
	return call(b, ctx, func(ctx context.Context) (Installation, error) { return b.s.Installation(ctx, key) })
}

func (b *bounded) DeleteInstallation(ctx context.Context, key string) error {
	return do(b, ctx, func(ctx context.Context) error { return b.s.DeleteInstallation(ctx, key) })
}

func (b *bounded) PutSession(ctx context.Context, s Session, ttl time.Duration) error {
	return do(b, ctx, func(ctx context.Context) error { return b.s.PutSession(ctx, s, ttl) })
}

func (b *bounded) Session(ctx context.Context, id string) (Session, error) {
	return call(b, ctx, func(ctx context.Context) (Session, error) { return b.s.Session(ctx, id) })
}

func (b *bounded) DeleteSession(ctx context.Context, id string) error {
	return do(b, ctx, func(ctx context.Context) error { return b.s.DeleteSession(ctx, id) })
}

func (b *bounded) DeleteTeamSessions(ctx context.Context, teamID string) error {
	return do(b, ctx, func(ctx context.Context) error { return b.s.DeleteTeamSessions(ctx, teamID) })
}

func (b *bounded) Claim(ctx context.Context, key, holder string, ttl time.Duration) (bool, string, error) {
	type claim struct {
		won     bool
		current string
	}
	c, err := call(b, ctx, func(ctx context.Context) (claim, error) {
		won, current, err := b.s.Claim(ctx, key, holder, ttl)
		return claim{won, current}, err
	})
	return c.won, c.current, err
}

func (b *bounded) ReleaseClaim(ctx context.Context, key, holder string) error {
	return do(b, ctx, func(ctx context.Context) error { return b.s.ReleaseClaim(ctx, key, holder) })
}

func (b *bounded) RenewClaim(ctx context.Context, key, holder string, ttl time.Duration) (bool, error) {
	return call(b, ctx, func(ctx context.Context) (bool, error) { return b.s.RenewClaim(ctx, key, holder, ttl) })
}

func (b *bounded) SaveAction(ctx context.Context, a ActionRecord, ttl time.Duration) error {
	return do(b, ctx, func(ctx context.Context) error { return b.s.SaveAction(ctx, a, ttl) })
}

func (b *bounded) Action(ctx context.Context, id string) (ActionRecord, error) {
	return call(b, ctx, func(ctx context.Context) (ActionRecord, error) { return b.s.Action(ctx, id) })
}

func (b *bounded) SaveNotice(ctx context.Context, n Notice, ttl time.Duration) error {
	return do(b, ctx, func(ctx context.Context) error { return b.s.SaveNotice(ctx, n, ttl) })
}

func (b *bounded) Notice(ctx context.Context, key string) (Notice, error) {
	return call(b, ctx, func(ctx context.Context) (Notice, error) { return b.s.Notice(ctx, key) })
}

func (b *bounded) AppendGroup(ctx context.Context, key string, item []byte, ttl time.Duration) (int, error) {
	return call(b, ctx, func(ctx context.Context) (int, error) { return b.s.AppendGroup(ctx, key, item, ttl) })
}

func (b *bounded) TakeNumber(ctx context.Context, key string, from int64, ttl time.Duration) (int64, error) {
	return call(b, ctx, func(ctx context.Context) (int64, error) { return b.s.TakeNumber(ctx, key, from, ttl) })
}

func (b *bounded) Group(ctx context.Context, key string) ([][]byte, error) {
	return call(b, ctx, func(ctx context.Context) ([][]byte, error) { return b.s.Group(ctx, key) })
}

func (b *bounded) OpenActions(ctx context.Context) ([]ActionRecord, error) {
	return call(b, ctx, func(ctx context.Context) ([]ActionRecord, error) { return b.s.OpenActions(ctx) })
}

func (b *bounded) SaveSchedule(ctx context.Context, s ScheduleRecord) error {
	return do(b, ctx, func(ctx context.Context) error { return b.s.SaveSchedule(ctx, s) })
}

func (b *bounded) Schedules(ctx context.Context) ([]ScheduleRecord, error) {
	return call(b, ctx, func(ctx context.Context) ([]ScheduleRecord, error) { return b.s.Schedules(ctx) })
}

func (b *bounded) DeleteSchedule(ctx context.Context, name string) error {
	return do(b, ctx, func(ctx context.Context) error { return b.s.DeleteSchedule(ctx, name) })
}

func (b *bounded) SaveSnooze(ctx context.Context, s Snooze, ttl time.Duration) error {
	return do(b, ctx, func(ctx context.Context) error { return b.s.SaveSnooze(ctx, s, ttl) })
}

func (b *bounded) Snoozes(ctx context.Context) ([]Snooze, error) {
	return call(b, ctx, func(ctx context.Context) ([]Snooze, error) { return b.s.Snoozes(ctx) })
}

func (b *bounded) DeleteSnooze(ctx context.Context, instance string) error {
	return do(b, ctx, func(ctx context.Context) error { return b.s.DeleteSnooze(ctx, instance) })
}

func (b *bounded) PutOAuthState(ctx context.Context, state string, data []byte, ttl time.Duration) error {
	return do(b, ctx, func(ctx context.Context) error { return b.s.PutOAuthState(ctx, state, data, ttl) })
}

func (b *bounded) ConsumeOAuthState(ctx context.Context, state string) ([]byte, error) {
	return call(b, ctx, func(ctx context.Context) ([]byte, error) { return b.s.ConsumeOAuthState(ctx, state) })
}

func (b *bounded) AppendAudit(ctx context.Context, e AuditEntry) error {
	return do(b, ctx, func(ctx context.Context) error { return b.s.AppendAudit(ctx, e) })
}

func (b *bounded) RecentAudit(ctx context.Context, n int) ([]AuditEntry, error) {
	return call(b, ctx, func(ctx context.Context) ([]AuditEntry, error) { return b.s.RecentAudit(ctx, n) })
}

func (b *bounded) Clock(ctx context.Context) (time.Time, error) {
	return call(b, ctx, b.s.Clock)
}

func (b *bounded) Ping(ctx context.Context) error {
	return do(b, ctx, b.s.Ping)
}

func (b *bounded) Close() error { return b.s.Close() }

var _ Store = (*bounded)(nil)
