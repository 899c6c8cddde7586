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
		m.queueUp, m.queueErrors, m.events)
	return m
}

// ObserveAWS records one AWS call; ec2ops calls it through its Observe hook.
func (m *Metrics) ObserveAWS(op, outcome string, d time.Duration) {
	m.awsCalls.WithLabelValues(op, outcome).Inc()
	m.awsLatency.WithLabelValues(op).Observe(d.Seconds())
}

// ObserveAction records one EC2 action's result.
func (m *Metrics) ObserveAction(action, result string) {
	m.actions.WithLabelValues(action, result).Inc()
}

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
