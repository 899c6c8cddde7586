package handlers

import (
	"context"
	"log/slog"
	"strconv"
	"sync"
	"time"

	"github.com/labstack/echo/v4"
)

// requestInfo collects what the one log line of a request says about who
// asked for what. Flows fill it through annotate without seeing echo.
type requestInfo struct {
	mu             sync.Mutex
	id             string
	received       time.Time // when the request reached Charlize
	team, user, op string
}

type requestInfoKey struct{}

func withRequestInfo(ctx context.Context, info *requestInfo) context.Context {
	return context.WithValue(ctx, requestInfoKey{}, info)
}

// annotate records the team, user and operation of the current request.
func annotate(ctx context.Context, team, user, op string) {
	info, ok := ctx.Value(requestInfoKey{}).(*requestInfo)
	if !ok {
		return
	}
	info.mu.Lock()
	defer info.mu.Unlock()
	info.team, info.user, info.op = team, user, op
}

// RequestIDFrom returns the id of the request ctx belongs to, or "".
func RequestIDFrom(ctx context.Context) string {
	if info, ok := ctx.Value(requestInfoKey{}).(*requestInfo); ok {
		return info.id
	}
	return ""
}

// WithRequestID returns a context carrying id, for work that does not come
// through the HTTP middleware (Socket Mode, background jobs).
func WithRequestID(ctx context.Context, id string) context.Context {
	return withRequestInfo(ctx, &requestInfo{id: id, received: time.Now()})
}

// receivedAt is when the request ctx belongs to reached Charlize (zero
// when unknown): Slack's 3-second clocks started about then.
func receivedAt(ctx context.Context) time.Time {
	if info, ok := ctx.Value(requestInfoKey{}).(*requestInfo); ok {
		return info.received
	}
	return time.Time{}
}

// observe writes one log line and the metrics of every request.
func (s *Server) observe(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		start := s.now()
		info := &requestInfo{id: requestID(c), received: start}
		r := c.Request()
		c.SetRequest(r.WithContext(withRequestInfo(r.Context(), info)))
		if err := next(c); err != nil {
			c.Error(err) // settle the status before it is recorded
		}
		elapsed := s.now().Sub(start)
		route := c.Path()
		if route == "" {
			route = "unmatched"
		}
		status := c.Response().Status
		s.metrics.requests.WithLabelValues(route, strconv.Itoa(status)).Inc()
		s.metrics.latency.WithLabelValues(route).Observe(elapsed.Seconds())

		level := slog.LevelInfo
		if status >= 500 {
			level = slog.LevelError
		}
		info.mu.Lock()
		defer info.mu.Unlock()
		s.log.LogAttrs(r.Context(), level, "request",
			slog.String("request_id", info.id),
			slog.String("method", r.Method),
			slog.String("route", route),
			slog.Int("status", status),
			slog.Duration("duration", elapsed),
			slog.String("team", info.team),
			slog.String("user", info.user),
			slog.String("op", info.op),
		)
		return nil
	}
}

// logPanic is echo's Recover hook: the stack goes to the operator's log.
func (s *Server) logPanic(c echo.Context, err error, stack []byte) error {
	s.log.ErrorContext(c.Request().Context(), "panic",
		"request_id", requestID(c), "path", c.Path(), "err", err, "stack", string(stack))
	return err
}
