package ec2sim_test

import (
	"context"
	"encoding/base64"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatch"
	cwtypes "github.com/aws/aws-sdk-go-v2/service/cloudwatch/types"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/ec2/types"

	"github.com/charlize-app/charlize/ec2ops/ec2sim"
)

// What the instance card reads: stop protection, console output and
// CloudWatch metrics, each through the real SDK client.

func TestStopProtection(t *testing.T) {
	e := mustStart(t, ec2sim.Options{TransitionTime: -1}, testFixture())
	client := mustEC2(t, e)
	ctx := context.Background()
	const id = "i-0000000000000000a"
	read := func() bool {
		t.Helper()
		out, err := client.DescribeInstanceAttribute(ctx, &ec2.DescribeInstanceAttributeInput{
			InstanceId: aws.String(id), Attribute: types.InstanceAttributeNameDisableApiStop})
		if err != nil {
			t.Fatalf("DescribeInstanceAttribute disableApiStop: %v", err)
		}
		return aws.ToBool(out.DisableApiStop.Value)
	}
	if read() {
		t.Fatal("disableApiStop = true before it was set")
	}
	if _, err := client.ModifyInstanceAttribute(ctx, &ec2.ModifyInstanceAttributeInput{
		InstanceId: aws.String(id), DisableApiStop: &types.AttributeBooleanValue{Value: aws.Bool(true)}}); err != nil {
		t.Fatalf("ModifyInstanceAttribute: %v", err)
	}
	if !read() {
		t.Fatal("disableApiStop = false after it was set")
	}
	_, err := client.StopInstances(ctx, &ec2.StopInstancesInput{InstanceIds: []string{id}})
	if got := errorCode(err); got != "OperationNotPermitted" || !strings.Contains(err.Error(), "disableApiStop") {
		t.Fatalf("StopInstances on a stop-protected instance = %v, want OperationNotPermitted naming disableApiStop", err)
	}
	if got := stateOf(t, client, id); got != "running" {
		t.Errorf("state after refused stop = %s, want running", got)
	}
	// Reboot and terminate are not what stop protection guards.
	if _, err := client.RebootInstances(ctx, &ec2.RebootInstancesInput{InstanceIds: []string{id}}); err != nil {
		t.Errorf("RebootInstances on a stop-protected instance: %v", err)
	}
}

func TestDenyRefusesDryRunToo(t *testing.T) {
	e := mustStart(t, ec2sim.Options{}, testFixture())
	client := mustEC2(t, e)
	ctx := context.Background()
	in := &ec2.StopInstancesInput{InstanceIds: []string{"i-0000000000000000a"}, DryRun: aws.Bool(true)}
	if _, err := client.StopInstances(ctx, in); errorCode(err) != "DryRunOperation" {
		t.Fatalf("dry-run stop with the permission = %v, want DryRunOperation", err)
	}
	lift := e.sim.Deny(acctA, "StopInstances")
	_, err := client.StopInstances(ctx, in)
	if errorCode(err) != "UnauthorizedOperation" || !strings.Contains(err.Error(), "ec2:StopInstances") {
		t.Fatalf("dry-run stop without the permission = %v, want UnauthorizedOperation naming ec2:StopInstances", err)
	}
	if _, err := client.StartInstances(ctx, &ec2.StartInstancesInput{InstanceIds: []string{"i-0000000000000000c"}, DryRun: aws.Bool(true)}); errorCode(err) != "DryRunOperation" {
		t.Errorf("Deny(StopInstances) also refused a start: %v", err)
	}
	lift()
	if _, err := client.StopInstances(ctx, in); errorCode(err) != "DryRunOperation" {
		t.Fatalf("dry-run stop after lifting = %v, want DryRunOperation", err)
	}
}

func TestGetConsoleOutput(t *testing.T) {
	e := mustStart(t, ec2sim.Options{}, testFixture())
	client := mustEC2(t, e)
	ctx := context.Background()
	get := func(id string) *ec2.GetConsoleOutputOutput {
		t.Helper()
		out, err := client.GetConsoleOutput(ctx, &ec2.GetConsoleOutputInput{InstanceId: aws.String(id)})
		if err != nil {
			t.Fatalf("GetConsoleOutput %s: %v", id, err)
		}
		return out
	}
	out := get("i-0000000000000000a")
	raw, err := base64.StdEncoding.DecodeString(aws.ToString(out.Output))
	if err != nil {
		t.Fatalf("output is not base64: %v", err)
	}
	if !strings.Contains(string(raw), "Linux version") || !strings.Contains(string(raw), "web-1 login:") {
		t.Errorf("generated console = %q, want a boot log naming web-1", raw)
	}
	if aws.ToTime(out.Timestamp).IsZero() {
		t.Error("no capture timestamp")
	}
	if again := get("i-0000000000000000a"); aws.ToString(again.Output) != aws.ToString(out.Output) {
		t.Error("console output is not deterministic")
	}

	if !e.sim.SetConsoleOutput(acctA, region, "i-0000000000000000b", nil) {
		t.Fatal("SetConsoleOutput: instance not found")
	}
	if got := get("i-0000000000000000b"); got.Output != nil {
		t.Errorf("empty console output = %q, want no output element", aws.ToString(got.Output))
	}
	binary := []byte("ok\x00\x1b[31mred\x1b[0m\xff\xfe")
	e.sim.SetConsoleOutput(acctA, region, "i-0000000000000000b", binary)
	if got, _ := base64.StdEncoding.DecodeString(aws.ToString(get("i-0000000000000000b").Output)); string(got) != string(binary) {
		t.Errorf("binary console = %q, want %q", got, binary)
	}
}

func TestGetMetricData(t *testing.T) {
	e := mustStart(t, ec2sim.Options{}, testFixture())
	cw := cloudwatch.NewFromConfig(e.assumedConfig(region, roleARN(acctA), withExternalID))
	ctx := context.Background()
	now := e.clock.Now()
	query := func(id string, names ...string) *cloudwatch.GetMetricDataOutput {
		t.Helper()
		in := &cloudwatch.GetMetricDataInput{StartTime: aws.Time(now.Add(-3 * time.Hour)), EndTime: aws.Time(now), ScanBy: cwtypes.ScanByTimestampAscending}
		for i, n := range names {
			in.MetricDataQueries = append(in.MetricDataQueries, cwtypes.MetricDataQuery{
				Id: aws.String("m" + string(rune('0'+i))),
				MetricStat: &cwtypes.MetricStat{
					Metric: &cwtypes.Metric{Namespace: aws.String("AWS/EC2"), MetricName: aws.String(n),
						Dimensions: []cwtypes.Dimension{{Name: aws.String("InstanceId"), Value: aws.String(id)}}},
					Period: aws.Int32(300), Stat: aws.String("Average"),
				},
			})
		}
		out, err := cw.GetMetricData(ctx, in)
		if err != nil {
			t.Fatalf("GetMetricData: %v", err)
		}
		return out
	}
	out := query("i-0000000000000000a", "CPUUtilization", "NetworkIn")
	if len(out.MetricDataResults) != 2 {
		t.Fatalf("GetMetricData = %d results, want 2", len(out.MetricDataResults))
	}
	cpu := out.MetricDataResults[0]
	if n := len(cpu.Values); n < 30 || n != len(cpu.Timestamps) {
		t.Fatalf("CPU = %d values, %d timestamps; want 3 h of 5-minute points", n, len(cpu.Timestamps))
	}
	for i, v := range cpu.Values {
		if v < 0 || v > 100 {
			t.Errorf("CPU[%d] = %v, not a percentage", i, v)
		}
		if i > 0 && !cpu.Timestamps[i].After(cpu.Timestamps[i-1]) {
			t.Errorf("timestamps not ascending at %d", i)
		}
	}
	if again := query("i-0000000000000000a", "CPUUtilization"); len(again.MetricDataResults[0].Values) != len(cpu.Values) || again.MetricDataResults[0].Values[3] != cpu.Values[3] {
		t.Error("the series is not deterministic")
	}
	if stopped := query("i-0000000000000000c", "CPUUtilization"); len(stopped.MetricDataResults[0].Values) != 0 {
		t.Errorf("an instance stopped for hours has %d datapoints, want none", len(stopped.MetricDataResults[0].Values))
	}
	if unknown := query("i-00000000000000999", "CPUUtilization"); len(unknown.MetricDataResults[0].Values) != 0 {
		t.Error("an unknown instance has datapoints")
	}

	e.sim.Deny(acctA, "GetMetricData")
	_, err := cw.GetMetricData(ctx, &cloudwatch.GetMetricDataInput{StartTime: aws.Time(now.Add(-time.Hour)), EndTime: aws.Time(now),
		MetricDataQueries: []cwtypes.MetricDataQuery{{Id: aws.String("m"), MetricStat: &cwtypes.MetricStat{
			Metric: &cwtypes.Metric{Namespace: aws.String("AWS/EC2"), MetricName: aws.String("CPUUtilization")}, Period: aws.Int32(300), Stat: aws.String("Average")}}}})
	if errorCode(err) != "AccessDenied" || !strings.Contains(err.Error(), "cloudwatch:GetMetricData") {
		t.Fatalf("denied GetMetricData = %v, want AccessDenied naming cloudwatch:GetMetricData", err)
	}
	if got := e.sim.Calls("GetMetricData"); got != 5 {
		t.Errorf("Calls(GetMetricData) = %d, want 5", got)
	}
}
