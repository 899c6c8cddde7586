package ec2ops_test

import (
	"context"
	"fmt"
	"net/http/httptest"
	"slices"
	"testing"
	"time"

	"github.com/charlize-app/charlize/ec2ops"
	"github.com/charlize-app/charlize/ec2ops/ec2sim"
)

// Benchmark shape from the issue: 20 accounts x 4 regions x 50 instances,
// 100 ms of latency on every AWS call.
const (
	benchAccounts  = 20
	benchRegions   = 4
	benchPerRegion = 50
	benchLatency   = 100 * time.Millisecond
	// lowerBound is the critical path of a cold listing: one AssumeRole and
	// one DescribeInstances page. A warm listing's bound is half of it.
	lowerBound = 2 * benchLatency
)

// BenchmarkList lists the whole fleet with pool bounds 1 (sequential), 16
// (the first fixed pool), 64 (the previous default) and 128 (the default,
// more than the 80 account-regions), on a cold credential cache (a new Fleet per listing) and
// a warm one. Custom metrics: x-bound is wall time over the critical path
// (cold: AssumeRole + one page, 200 ms; warm: one page); assumes/op counts AssumeRole calls, which
// must be one per account cold and none warm.
//
// With a bound of 16 the 80 account-regions need 5 rounds; with 64, two;
// with 128, one.
func BenchmarkList(b *testing.B) {
	// 50 instances a region is the fleet, whose XML (decoded by
	// the SDK, encoded by the simulator on the same 2 cores) makes the
	// listing CPU-bound; 2 a region shows the fan-out alone.
	for _, perRegion := range []int{benchPerRegion, 2} {
		b.Run(fmt.Sprintf("instances=%d", benchAccounts*benchRegions*perRegion), func(b *testing.B) { benchmarkList(b, perRegion) })
	}
}

func benchmarkList(b *testing.B, perRegion int) {
	fixture := ec2sim.Generate(benchAccounts, benchRegions, perRegion)
	var accounts []ec2ops.Account
	for i, fa := range fixture.Accounts {
		regions := make([]string, 0, len(fa.Regions))
		for r := range fa.Regions {
			regions = append(regions, r)
		}
		slices.Sort(regions)
		accounts = append(accounts, ec2ops.Account{
			Name:    fmt.Sprintf("acct-%02d", i+1),
			ID:      fa.ID,
			RoleARN: "arn:aws:iam::" + fa.ID + ":role/charlize",
			Regions: regions,
		})
	}
	sim := ec2sim.New(ec2sim.Options{Latency: benchLatency})
	if err := sim.Load(fixture); err != nil {
		b.Fatal(err)
	}
	srv := httptest.NewServer(sim)
	b.Cleanup(srv.Close)
	cfg := testConfig(srv.URL)
	want := benchAccounts * benchRegions * perRegion

	list := func(b *testing.B, f *ec2ops.Fleet) {
		res, err := f.List(context.Background(), ec2ops.Query{})
		if err != nil || len(res.Failures) > 0 || len(res.Instances) != want {
			b.Fatalf("List = %d instances, failures %v, %v; want %d", len(res.Instances), res.Failures, err, want)
		}
	}
	newFleet := func(b *testing.B, pool int) *ec2ops.Fleet {
		f, err := ec2ops.New(cfg, accounts, ec2ops.Options{Concurrency: pool})
		if err != nil {
			b.Fatal(err)
		}
		return f
	}
	report := func(b *testing.B, elapsed, bound time.Duration) {
		perOp := elapsed / time.Duration(b.N)
		b.ReportMetric(float64(perOp)/float64(bound), "x-bound")
		b.ReportMetric(float64(sim.Calls("AssumeRole"))/float64(b.N), "assumes/op")
	}

	for _, pool := range []int{1, 16, 64, ec2ops.DefaultConcurrency} {
		b.Run(fmt.Sprintf("cold/pool=%d", pool), func(b *testing.B) {
			var elapsed time.Duration
			sim.Reset()
			for b.Loop() {
				b.StopTimer()
				f := newFleet(b, pool)
				b.StartTimer()
				start := time.Now()
				list(b, f)
				elapsed += time.Since(start)
			}
			report(b, elapsed, lowerBound)
		})
		b.Run(fmt.Sprintf("warm/pool=%d", pool), func(b *testing.B) {
			f := newFleet(b, pool)
			list(b, f) // fills the credential cache and the connection pool
			sim.Reset()
			start := time.Now()
			for b.Loop() {
				list(b, f)
			}
			report(b, time.Since(start), lowerBound/2)
		})
	}
}
