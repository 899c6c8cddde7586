// Package reqctx carries what Charlize knows about the Slack request a piece
// of work belongs to (its id, when it arrived, who asked for what) through a
// context, so that the transports write one log line per request and the
// flows annotate it without seeing either transport.
package reqctx

import (
	"context"
	"log/slog"
	"sync"
	"time"
)

// Info is what the one log line of a request says about who asked for
// what. Flows fill it through Annotate.
type Info struct {
	mu             sync.Mutex
	id             string
	received       time.Time // when the request reached Charlize
	team, user, op string
	memo           map[string]memoEntry
}

type memoEntry struct {
	value any
	until time.Time
}

type infoKey struct{}

// New returns a context carrying a fresh Info for the request id that
// arrived at received, and that Info.
func New(ctx context.Context, id string, received time.Time) (context.Context, *Info) {
	info := &Info{id: id, received: received}
	return context.WithValue(ctx, infoKey{}, info), info
}

// WithID returns a context carrying id, for work that does not come through
// a transport (background jobs, tests).
func WithID(ctx context.Context, id string) context.Context {
	ctx, _ = New(ctx, id, time.Now())
	return ctx
}

func from(ctx context.Context) *Info {
	info, _ := ctx.Value(infoKey{}).(*Info)
	return info
}

// Annotate records the team, user and operation of the current request.
func Annotate(ctx context.Context, team, user, op string) {
	info := from(ctx)
	if info == nil {
		return
	}
	info.mu.Lock()
	defer info.mu.Unlock()
	info.team, info.user, info.op = team, user, op
}

// ID returns the id of the request ctx belongs to, or "".
func ID(ctx context.Context) string {
	if info := from(ctx); info != nil {
		return info.id
	}
	return ""
}

// ReceivedAt is when the request ctx belongs to reached Charlize (zero
// when unknown): Slack's 3-second clocks started about then.
func ReceivedAt(ctx context.Context) time.Time {
	if info := from(ctx); info != nil {
		return info.received
	}
	return time.Time{}
}

// Remember returns what load returns, calling it once per request (and
// the work that request starts) for up to d: a request that needs the same
// thing several times (its workspace's installation) reads it once. Errors
// are not remembered; without a request in ctx it just calls load.
func Remember[T any](ctx context.Context, key string, d time.Duration, load func() (T, error)) (T, error) {
	info := from(ctx)
	if info == nil {
		return load()
	}
	now := time.Now()
	info.mu.Lock()
	if e, ok := info.memo[key]; ok && now.Before(e.until) {
		info.mu.Unlock()
		if v, ok := e.value.(T); ok {
			return v, nil
		}
	} else {
		info.mu.Unlock()
	}
	v, err := load()
	if err != nil {
		return v, err
	}
	info.mu.Lock()
	if info.memo == nil {
		info.memo = map[string]memoEntry{}
	}
	info.memo[key] = memoEntry{value: v, until: now.Add(d)}
	info.mu.Unlock()
	return v, nil
}

// Forget drops what Remember keeps under key for ctx's request.
func Forget(ctx context.Context, key string) {
	if info := from(ctx); info != nil {
		info.mu.Lock()
		delete(info.memo, key)
		info.mu.Unlock()
	}
}

// LogLine writes the one line of a finished request: the route, how it
// ended and how long it took, then who asked for what. Both transports
// call it, so their lines read the same. It hands the record to the
// handler itself: Logger.LogAttrs would also walk the stack for a source
// position no line of Charlize's shows, on every request.
func (info *Info) LogLine(ctx context.Context, log *slog.Logger, level slog.Level, route string, status slog.Attr, elapsed time.Duration, extra ...slog.Attr) {
	h := log.Handler()
	if !h.Enabled(ctx, level) {
		return
	}
	r := slog.NewRecord(time.Now(), level, "request", 0)
	info.mu.Lock()
	r.AddAttrs(
		slog.String("request_id", info.id),
		slog.String("route", route),
		status,
		slog.Duration("duration", elapsed),
		slog.String("team", info.team),
		slog.String("user", info.user),
		slog.String("op", info.op),
	)
	info.mu.Unlock()
	r.AddAttrs(extra...)
	_ = h.Handle(ctx, r) // as Logger does: a line that cannot be written has nowhere to be told
}
