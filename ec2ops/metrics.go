package ec2ops

import (
	"context"
	"errors"
	"slices"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatch"
	cwtypes "github.com/aws/aws-sdk-go-v2/service/cloudwatch/types"
)

// Point is one metric datapoint.
type Point struct {
	Time  time.Time
	Value float64
}

// Metrics is what CloudWatch recorded of an instance over a window, each
// series oldest first; a series is empty when CloudWatch has no data for
// it (a new instance, one stopped for the whole window).
type Metrics struct {
	Start, End time.Time
	Period     time.Duration
	CPU        []Point // CPUUtilization, percent (average per period)
	NetworkIn  []Point // bytes received per period
	NetworkOut []Point // bytes sent per period
	// StatusCheckFailed is the worst status check result per period: 1
	// when an instance or system check failed.
	StatusCheckFailed []Point
}

// Empty reports whether CloudWatch had nothing at all for the window.
func (m Metrics) Empty() bool {
	return len(m.CPU) == 0 && len(m.NetworkIn) == 0 && len(m.NetworkOut) == 0 && len(m.StatusCheckFailed) == 0
}

// minPeriod is basic monitoring's resolution: EC2 reports every 5 minutes
// unless detailed monitoring is paid for.
const minPeriod = 5 * time.Minute

// maxPoints bounds a series, so a long window still draws legibly.
const maxPoints = 120

// metricPeriod is the period that fits window into at most maxPoints,
// in whole minutes as CloudWatch requires, and at least minPeriod.
func metricPeriod(window time.Duration) time.Duration {
	p := (window/maxPoints + time.Minute - 1).Truncate(time.Minute)
	return max(p, minPeriod)
}

// Metrics reads the instance's CPU, network and status-check metrics for
// the window ending now (cloudwatch:GetMetricData, with the account's
// shared credentials, in the instance's region). inst comes from List or
// Describe; an instance outside the account's managed-tag scope is reported
// as not found.
func (f *Fleet) Metrics(ctx context.Context, inst Instance, window time.Duration) (Metrics, error) {
	const op = "ec2ops.Metrics"
	a, terr := f.scoped(op, inst)
	if terr != nil {
		return Metrics{}, terr
	}
	if window <= 0 {
		return Metrics{}, &Error{Kind: KindInvalidRequest, Op: op, Err: errors.New("the metrics window must be positive")}
	}
	period := metricPeriod(window)
	end := f.opts.Now().UTC().Truncate(time.Minute)
	m := Metrics{Start: end.Add(-window), End: end, Period: period}
	series := []struct {
		id, metric, stat string
		dst              *[]Point
	}{
		{"cpu", "CPUUtilization", "Average", &m.CPU},
		{"net_in", "NetworkIn", "Sum", &m.NetworkIn},
		{"net_out", "NetworkOut", "Sum", &m.NetworkOut},
		{"status", "StatusCheckFailed", "Maximum", &m.StatusCheckFailed},
	}
	in := &cloudwatch.GetMetricDataInput{
		StartTime: aws.Time(m.Start), EndTime: aws.Time(m.End),
		ScanBy: cwtypes.ScanByTimestampAscending,
	}
	dims := []cwtypes.Dimension{{Name: aws.String("InstanceId"), Value: aws.String(inst.ID)}}
	for _, s := range series {
		in.MetricDataQueries = append(in.MetricDataQueries, cwtypes.MetricDataQuery{
			Id: aws.String(s.id),
			MetricStat: &cwtypes.MetricStat{
				Metric: &cwtypes.Metric{Namespace: aws.String("AWS/EC2"), MetricName: aws.String(s.metric), Dimensions: dims},
				Period: aws.Int32(int32(period / time.Second)), Stat: aws.String(s.stat),
			},
		})
	}
	byID := map[string]*[]Point{}
	for _, s := range series {
		byID[s.id] = s.dst
	}
	p := cloudwatch.NewGetMetricDataPaginator(a.cw[inst.Region], in)
	for p.HasMorePages() {
		out, err := p.NextPage(ctx)
		if err != nil {
			e := f.awsErr(op, a, inst.Region, inst.ID, err)
			e.Name = inst.Name
			return Metrics{}, e
		}
		for _, r := range out.MetricDataResults {
			dst := byID[aws.ToString(r.Id)]
			if dst == nil {
				continue
			}
			for i, t := range r.Timestamps {
				if i < len(r.Values) {
					*dst = append(*dst, Point{Time: t.UTC(), Value: r.Values[i]})
				}
			}
		}
	}
	for _, s := range series {
		// Pages may split a series; whatever the order, oldest first.
		slices.SortFunc(*s.dst, func(a, b Point) int { return a.Time.Compare(b.Time) })
	}
	return m, nil
}
