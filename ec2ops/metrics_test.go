package ec2ops_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/charlize-app/charlize/ec2ops"
)

func TestMetrics(t *testing.T) {
	env := mustEnv(t, envConfig{})
	ctx := context.Background()
	m, err := env.fleet.Metrics(ctx, instanceOf(t, env, web1), 3*time.Hour)
	if err != nil {
		t.Fatalf("Metrics = %v", err)
	}
	if m.Period != 5*time.Minute || m.End.Sub(m.Start) != 3*time.Hour {
		t.Errorf("Metrics window %s–%s period %s, want 3 h in 5-minute periods", m.Start, m.End, m.Period)
	}
	for name, s := range map[string][]ec2ops.Point{"cpu": m.CPU, "in": m.NetworkIn, "out": m.NetworkOut, "status": m.StatusCheckFailed} {
		if len(s) < 30 {
			t.Errorf("%s has %d points, want 3 h of 5-minute points", name, len(s))
		}
		for i := 1; i < len(s); i++ {
			if !s[i].Time.After(s[i-1].Time) {
				t.Errorf("%s not oldest first at %d", name, i)
			}
		}
	}
	if m.Empty() {
		t.Error("Empty() for a running instance")
	}

	// web-2 has been stopped since before the window.
	stopped, err := env.fleet.Metrics(ctx, instanceOf(t, env, web2), 3*time.Hour)
	if err != nil || !stopped.Empty() {
		t.Errorf("Metrics(stopped for hours) = %d CPU points, %v; want none", len(stopped.CPU), err)
	}

	env.sim.Deny(prodID, "GetMetricData")
	_, err = env.fleet.Metrics(ctx, instanceOf(t, env, web1), 3*time.Hour)
	var e *ec2ops.Error
	if !errors.As(err, &e) || e.Kind != ec2ops.KindAccessDenied || !strings.Contains(e.UserMessage(), "cloudwatch:GetMetricData") {
		t.Errorf("denied Metrics = %v, want access denied naming cloudwatch:GetMetricData", err)
	}
}

func TestMetricsPeriod(t *testing.T) {
	env := mustEnv(t, envConfig{})
	m, err := env.fleet.Metrics(context.Background(), instanceOf(t, env, web1), 24*time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	if m.Period != 12*time.Minute || len(m.CPU) > 120 {
		t.Errorf("24 h window: period %s, %d points; want 12 min and at most 120", m.Period, len(m.CPU))
	}
}
