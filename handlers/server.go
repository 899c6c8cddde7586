package handlers

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"time"

	"github.com/labstack/echo/v4"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/charlize-app/charlize/ec2ops/awsevents"
	"github.com/charlize-app/charlize/handlers/app"
)

// MaxBodyBytes bounds every Slack request body; Slack's own payloads are far
// smaller, so anything bigger is refused before it is read into memory.
const MaxBodyBytes = 1 << 20

// Pinger reports whether the state store can serve requests.
type Pinger interface {
	Ping(ctx context.Context) error
}

// Config is what the HTTP server needs besides its collaborators.
type Config struct {
	SigningSecret string
	// OAuth serves "Add to Slack" in multi-workspace mode; nil otherwise.
	OAuth *OAuth
	// LogRequests says which requests get a log line (default all).
	LogRequests LogRequests
	// Events reports the events queues' health for /readyz's detail; nil
	// when none are polled.
	Events EventQueues
}

// EventQueues is what /readyz asks of the events poller.
type EventQueues interface {
	Status() []awsevents.QueueStatus
}

// LogRequests is which requests get their one log line.
type LogRequests string

// The values of LOG_REQUESTS.
const (
	// LogRequestsAll logs every request; probes (/healthz, /readyz) and
	// /metrics scrapes that succeed are logged at DEBUG, not INFO, so they
	// do not drown the rest.
	LogRequestsAll LogRequests = "all"
	// LogRequestsErrors logs only requests answered with a 4xx or 5xx.
	LogRequestsErrors LogRequests = "errors"
	// LogRequestsOff logs no request lines; failures inside requests
	// (panics, unexpected errors) are still logged where they happen.
	LogRequestsOff LogRequests = "off"
)

// Server holds the echo instance and the collaborators its routes use.
type Server struct {
	cfg        Config
	log        *slog.Logger
	store      Pinger
	dispatcher *app.Dispatcher
	metrics    *Metrics
	registry   *prometheus.Registry
	now        func() time.Time
}

// NewServer builds an echo instance with every route and middleware.
func NewServer(cfg Config, log *slog.Logger, store Pinger, d *app.Dispatcher, reg *prometheus.Registry, m *Metrics) *echo.Echo {
	s := &Server{cfg: cfg, log: log, store: store, dispatcher: d, metrics: m, registry: reg, now: time.Now}
	e := echo.New()
	e.HideBanner = true
	e.HidePort = true
	e.HTTPErrorHandler = s.handleError
	s.routes(e)
	return e
}

// errorBody is the JSON of a refused HTTP request. Slack ignores it; people
// probing the endpoints with curl read it.
type errorBody struct {
	Error string `json:"error"`
}

// handleError is the single place an error becomes an HTTP response.
// Anything not deliberately an *echo.HTTPError is a 500 whose detail is
// logged for the operator and hidden from the caller.
func (s *Server) handleError(err error, c echo.Context) {
	if c.Response().Committed {
		return
	}
	status := http.StatusInternalServerError
	msg := "internal error, ref " + requestID(c)
	var he *echo.HTTPError
	if errors.As(err, &he) {
		status = he.Code
		if m, ok := he.Message.(string); ok {
			msg = m
		} else {
			msg = http.StatusText(status)
		}
	} else {
		s.log.ErrorContext(c.Request().Context(), "request failed",
			"request_id", requestID(c), "path", c.Path(), "err", err)
	}
	if c.Request().Method == http.MethodHead {
		_ = c.NoContent(status)
		return
	}
	_ = c.JSON(status, errorBody{Error: msg})
}

func requestID(c echo.Context) string {
	return c.Response().Header().Get(echo.HeaderXRequestID)
}
