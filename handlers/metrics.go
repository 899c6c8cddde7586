package handlers

import (
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// Metrics are Charlize's Prometheus series. They are registered on a
// registry built in run, never on the global one.
type Metrics struct {
	requests             *prometheus.CounterVec
	latency              *prometheus.HistogramVec
	verificationFailures *prometheus.CounterVec
	awsCalls             *prometheus.CounterVec
	awsLatency           *prometheus.HistogramVec
	actions              *prometheus.CounterVec
	slackCalls           *prometheus.CounterVec
	slackLatency         *prometheus.HistogramVec
	slackRateLimits      *prometheus.CounterVec
	slackRetryAfter      *prometheus.HistogramVec
	auditBuffered        prometheus.Gauge
	auditDropped         prometheus.Counter
	scheduleSteps        *prometheus.CounterVec
	queueUp              *prometheus.GaugeVec
	queueErrors          *prometheus.CounterVec
	events               *prometheus.CounterVec
}

// NewMetrics creates the series and registers them on reg.
func NewMetrics(reg prometheus.Registerer) *Metrics {
	m := &Metrics{
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "charlize_http_requests_total", Help: "HTTP requests by route and status.",
		}, []string{"route", "status"}),
		latency: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "charlize_http_request_duration_seconds", Help: "HTTP request latency by route.",
			Buckets: []float64{.005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5},
		}, []string{"route"}),
		verificationFailures: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "charlize_slack_verification_failures_total", Help: "Slack requests refused for their signature, by reason.",
		}, []string{"reason"}),
		awsCalls: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "charlize_aws_calls_total", Help: "AWS API calls by operation and outcome.",
		}, []string{"operation", "outcome"}),
		awsLatency: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "charlize_aws_call_duration_seconds", Help: "AWS API call latency by operation.",
		}, []string{"operation"}),
		actions: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "charlize_actions_total", Help: "EC2 actions by kind and result.",
		}, []string{"action", "result"}),
		slackCalls: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "charlize_slack_calls_total", Help: "HTTP calls to Slack (Web API methods, response_url, file_upload) by method and outcome.",
		}, []string{"method", "outcome"}),
		slackLatency: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "charlize_slack_call_duration_seconds", Help: "Latency of HTTP calls to Slack by method.",
			Buckets: []float64{.025, .05, .1, .25, .5, 1, 2.5, 5, 15},
		}, []string{"method"}),
		slackRateLimits: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "charlize_slack_rate_limited_total", Help: "Calls to Slack answered 429 (rate limited), by method.",
		}, []string{"method"}),
		slackRetryAfter: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "charlize_slack_retry_after_seconds", Help: "Retry-After that Slack asked for when rate limiting, by method.",
			Buckets: []float64{1, 2, 5, 10, 30, 60},
		}, []string{"method"}),
		auditBuffered: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "charlize_audit_buffered", Help: "Audit entries kept in memory until the store answers again.",
		}),
		auditDropped: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "charlize_audit_dropped_total", Help: "Audit entries never written to the store: the in-memory buffer was full during a store outage.",
		}),
		scheduleSteps: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "charlize_schedule_steps_total", Help: "Schedule steps (tick, warn, act, missed, snooze) by outcome.",
		}, []string{"step", "outcome"}),
		queueUp: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "charlize_event_queue_up", Help: "1 when the last receive from an events queue worked, 0 when it failed.",
		}, []string{"queue"}),
		queueErrors: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "charlize_event_queue_errors_total", Help: "Failed receives from events queues, by queue and error code.",
		}, []string{"queue", "code"}),
		events: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "charlize_events_total", Help: "AWS events from the queues by kind and outcome (posted, edited, grouped, duplicate, own_change, malformed, failed, …).",
		}, []string{"kind", "outcome"}),
	}
	reg.MustRegister(m.requests, m.latency, m.verificationFailures, m.awsCalls, m.awsLatency, m.actions,
		m.slackCalls, m.slackLatency, m.slackRateLimits, m.slackRetryAfter, m.auditBuffered, m.auditDropped, m.scheduleSteps,
		m.queueUp, m.queueErrors, m.events)
	return m
}

// RegisterBuildInfo publishes charlize_build_info{version, revision,
// goversion} 1, so dashboards can tell which build each replica runs.
func RegisterBuildInfo(reg prometheus.Registerer, version, revision, goVersion string) {
	g := prometheus.NewGauge(prometheus.GaugeOpts{
		Name:        "charlize_build_info",
		Help:        "Always 1; the labels say which build of Charlize this is.",
		ConstLabels: prometheus.Labels{"version": version, "revision": revision, "goversion": goVersion},
	})
	g.Set(1)
	reg.MustRegister(g)
}

// ObserveSlack records one HTTP call to Slack; slackclient's HTTP client
// calls it (slackclient.CallObserver).
func (m *Metrics) ObserveSlack(method, outcome string, took, retryAfter time.Duration) {
	m.slackCalls.WithLabelValues(method, outcome).Inc()
	m.slackLatency.WithLabelValues(method).Observe(took.Seconds())
	if outcome == "rate_limited" {
		m.slackRateLimits.WithLabelValues(method).Inc()
		if retryAfter > 0 {
			m.slackRetryAfter.WithLabelValues(method).Observe(retryAfter.Seconds())
		}
	}
}

// ObserveAWS records one AWS call; ec2ops calls it through its Observe hook.
func (m *Metrics) ObserveAWS(op, outcome string, d time.Duration) {
	m.awsCalls.WithLabelValues(op, outcome).Inc()
	m.awsLatency.WithLabelValues(op).Observe(d.Seconds())
}

// ObserveSchedule records one step of the scheduler and how it went.
func (m *Metrics) ObserveSchedule(step, outcome string) {
	m.scheduleSteps.WithLabelValues(step, outcome).Inc()
}

// ObserveAction records one EC2 action's result.
func (m *Metrics) ObserveAction(action, result string) {
	m.actions.WithLabelValues(action, result).Inc()
}

// AuditBuffered sets how many audit entries wait in memory for the store.
func (m *Metrics) AuditBuffered(n int) { m.auditBuffered.Set(float64(n)) }

// AuditDropped counts an audit entry dropped from the full buffer.
func (m *Metrics) AuditDropped() { m.auditDropped.Inc() }

// ObserveQueue records whether a receive from an events queue worked.
func (m *Metrics) ObserveQueue(queue string, up bool, code string) {
	if up {
		m.queueUp.WithLabelValues(queue).Set(1)
		return
	}
	m.queueUp.WithLabelValues(queue).Set(0)
	m.queueErrors.WithLabelValues(queue, code).Inc()
}

// ObserveEvent counts one AWS event by kind and outcome.
func (m *Metrics) ObserveEvent(kind, outcome string) {
	m.events.WithLabelValues(kind, outcome).Inc()
}
