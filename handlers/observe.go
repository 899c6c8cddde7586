package handlers

import (
	"log/slog"
	"strconv"

	"github.com/labstack/echo/v4"

	"github.com/charlize-app/charlize/handlers/reqctx"
)

// observe writes one log line and the metrics of every request.
func (s *Server) observe(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		start := s.now()
		r := c.Request()
		ctx, info := reqctx.New(r.Context(), requestID(c), start)
		c.SetRequest(r.WithContext(ctx))
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

		if level, ok := s.requestLogLevel(route, status); ok {
			info.LogLine(ctx, s.log, level, route, slog.Int("status", status), elapsed, slog.String("method", r.Method))
		}
		return nil
	}
}

// logPanic is echo's Recover hook: the stack goes to the operator's log.
func (s *Server) logPanic(c echo.Context, err error, stack []byte) error {
	s.log.ErrorContext(c.Request().Context(), "panic",
		"request_id", requestID(c), "path", c.Path(), "err", err, "stack", string(stack))
	return err
}

// quietRoutes are asked every few seconds by machines (probes, Prometheus);
// a line each at INFO would drown the requests people make.
var quietRoutes = map[string]bool{"/healthz": true, "/readyz": true, "/metrics": true}

// requestLogLevel says whether, and at which level, a request answered
// with status is logged under LOG_REQUESTS.
func (s *Server) requestLogLevel(route string, status int) (slog.Level, bool) {
	level := slog.LevelInfo
	switch {
	case status >= 500:
		level = slog.LevelError
	case status >= 400:
		level = slog.LevelWarn
	case quietRoutes[route]:
		level = slog.LevelDebug
	}
	switch s.cfg.LogRequests {
	case LogRequestsOff:
		return level, false
	case LogRequestsErrors:
		return level, status >= 400
	}
	return level, true
}
