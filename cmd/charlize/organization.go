package main

import (
	"context"
	"log/slog"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/charlize-app/charlize/ec2ops"
)

// firstDiscoveryTimeout bounds the organization listing at start-up
// (ListAccounts pages of 20: 25 calls for 500 accounts); past it Charlize
// serves the file's accounts and the background refresh keeps trying.
const firstDiscoveryTimeout = 30 * time.Second

// organizationDiscovery keeps a Fleet's organization accounts current
// under the run context, observable as a log line per refresh that
// changed something or failed and two metrics.
type organizationDiscovery struct {
	fleet     *ec2ops.Fleet
	log       *slog.Logger
	accounts  prometheus.Gauge
	refreshes *prometheus.CounterVec
}

func newOrganizationDiscovery(fleet *ec2ops.Fleet, log *slog.Logger, reg prometheus.Registerer) *organizationDiscovery {
	d := &organizationDiscovery{
		fleet: fleet,
		log:   log,
		accounts: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "charlize_aws_accounts", Help: "AWS accounts Charlize operates, the organization's discovered ones included.",
		}),
		refreshes: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "charlize_organization_refreshes_total", Help: "Listings of the AWS Organization's accounts, by outcome.",
		}, []string{"outcome"}),
	}
	reg.MustRegister(d.accounts, d.refreshes)
	d.accounts.Set(float64(len(fleet.Accounts())))
	return d
}

// start lists the organization once before Charlize serves, so the first
// command sees its accounts, then refreshes it in the background until
// ctx ends. A failure does not stop the start: the file's accounts are
// served meanwhile.
func (d *organizationDiscovery) start(ctx context.Context) {
	first, cancel := context.WithTimeout(ctx, firstDiscoveryTimeout)
	res, err := d.fleet.Discover(first)
	cancel()
	d.report(res, err)
	go d.fleet.RunDiscovery(ctx, err, d.report)
}

func (d *organizationDiscovery) report(res ec2ops.Discovery, err error) {
	if err != nil {
		d.refreshes.WithLabelValues("error").Inc()
		d.log.Warn("AWS Organization: listing its accounts failed; the last known accounts stay", "err", err,
			"accounts", len(d.fleet.Accounts()))
		return
	}
	d.refreshes.WithLabelValues("ok").Inc()
	d.accounts.Set(float64(res.Accounts))
	d.log.Info("AWS Organization accounts listed", "active", res.Listed, "selected", res.Discovered,
		"overridden_by_file", res.Overridden, "accounts", res.Accounts, "took", res.Took.Round(time.Millisecond).String())
}
