package handlers

import (
	"context"
	"net/http"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/charlize-app/charlize/ec2ops/awsevents"
)

type healthBody struct {
	Status string `json:"status"`
	Reason string `json:"reason,omitempty"`
	// Events is the events queues' health: a queue that cannot be read is
	// reported here without making the replica unready, since Slack's
	// requests do not depend on it.
	Events []awsevents.QueueStatus `json:"events,omitempty"`
}

// healthz says the process is alive; it checks nothing else.
func (s *Server) healthz(c echo.Context) error {
	return c.JSON(http.StatusOK, healthBody{Status: "ok"})
}

// readyTimeout keeps /readyz inside a Kubernetes probe's 1 s default
// whatever the store does (down, or hanging).
const readyTimeout = 800 * time.Millisecond

// readyz says whether the store answers, so a load balancer stops sending
// Slack traffic to a replica that could not keep its promises.
func (s *Server) readyz(c echo.Context) error {
	ctx, cancel := context.WithTimeout(c.Request().Context(), readyTimeout)
	defer cancel()
	var events []awsevents.QueueStatus
	if s.cfg.Events != nil {
		events = s.cfg.Events.Status()
	}
	if err := s.store.Ping(ctx); err != nil {
		return c.JSON(http.StatusServiceUnavailable, healthBody{Status: "unavailable", Reason: err.Error(), Events: events})
	}
	return c.JSON(http.StatusOK, healthBody{Status: "ready", Events: events})
}
