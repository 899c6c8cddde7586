package handlers

import (
	"github.com/labstack/echo/v4"
	"github.com/labstack/echo/v4/middleware"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// routes lists every endpoint and its middleware in one place.
func (s *Server) routes(e *echo.Echo) {
	// Outermost first: a panic anywhere becomes a 500 with a log line, and
	// every request gets an id, one log line and its metrics.
	e.Use(
		middleware.RequestID(),
		s.observe,
		middleware.RecoverWithConfig(middleware.RecoverConfig{DisablePrintStack: true, LogErrorFunc: s.logPanic}),
	)

	e.GET("/healthz", s.healthz)
	e.GET("/readyz", s.readyz)
	e.GET("/metrics", echo.WrapHandler(promhttp.HandlerFor(s.registry, promhttp.HandlerOpts{})))

	// Everything Slack POSTs is size-limited, then signature-verified on the
	// raw body before any handler reads it.
	// Each is decoded (slackhttp.go) and handed to the app core, whose
	// route table (app/routes.go) leads on to the flow.
	d := s.dispatcher
	slack := e.Group("/slack", s.limitBody, s.verifySlack)
	slack.POST("/commands", commands(d.Command))
	slack.POST("/interactions", interactions(d.Interaction))
	slack.POST("/options", interactions(d.Options))
	slack.POST("/events", events(d.Event))

	// Multi-workspace installs: browsers, not Slack, call these, so there
	// is no Slack signature; the OAuth state and its cookie protect them.
	if s.cfg.OAuth != nil {
		e.GET(InstallPath, s.cfg.OAuth.Install)
		e.GET(OAuthRedirectPath, s.cfg.OAuth.Redirect)
	}
}
