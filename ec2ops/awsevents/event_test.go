package awsevents_test

import (
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/charlize-app/charlize/ec2ops/awsevents"
)

func mustRead(t *testing.T, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestDecode(t *testing.T) {
	at := time.Date(2026, 3, 2, 9, 15, 0, 0, time.UTC)
	threshold := 80.0
	tests := []struct {
		file string
		want awsevents.Event
	}{
		{"state-change.json", awsevents.Event{
			ID: "7bf73129-1428-4cd3-a780-95db273d1602", Kind: awsevents.KindStateChange, DetailType: awsevents.DetailTypeStateChange,
			Source: "aws.ec2", AccountID: "111111111111", Region: "eu-west-1", Time: at,
			Resources:   []string{"arn:aws:ec2:eu-west-1:111111111111:instance/i-0000000000000a001"},
			StateChange: &awsevents.StateChange{InstanceID: "i-0000000000000a001", State: "stopped"},
		}},
		{"sns-state-change.json", awsevents.Event{
			ID: "7bf73129-1428-4cd3-a780-95db273d1602", Kind: awsevents.KindStateChange, DetailType: awsevents.DetailTypeStateChange,
			Source: "aws.ec2", AccountID: "111111111111", Region: "eu-west-1", Time: at,
			Resources:   []string{"arn:aws:ec2:eu-west-1:111111111111:instance/i-0000000000000a001"},
			StateChange: &awsevents.StateChange{InstanceID: "i-0000000000000a001", State: "stopped"},
		}},
		{"alarm.json", awsevents.Event{
			ID: "c4c1c1c9-6542-e61b-6ef0-8c4d36933a92", Kind: awsevents.KindAlarm, DetailType: awsevents.DetailTypeAlarm,
			Source: "aws.cloudwatch", AccountID: "111111111111", Region: "eu-west-1", Time: at,
			Resources: []string{"arn:aws:cloudwatch:eu-west-1:111111111111:alarm:web-1-cpu-high"},
			Alarm: &awsevents.Alarm{
				Name: "web-1-cpu-high", Description: "CPU above 80% for 5 minutes", State: "ALARM", PreviousState: "OK",
				Reason:    "Threshold Crossed: 1 out of the last 1 datapoints [93.2 (02/03/26 09:10:00)] was greater than the threshold (80.0) (minimum 1 datapoint for OK -> ALARM transition).",
				StateTime: time.Date(2026, 3, 2, 9, 15, 0, 989e6, time.FixedZone("", 0)),
				Namespace: "AWS/EC2", Metric: "CPUUtilization", Statistic: "Average",
				Dimensions: map[string]string{"InstanceId": "i-0000000000000a001"}, Threshold: &threshold,
				InstanceID: "i-0000000000000a001",
			},
		}},
		{"health-retirement.json", awsevents.Event{
			ID: "3c5f9a3b-5a70-4b2a-9e3a-2b0f6b1c7d11", Kind: awsevents.KindHealth, DetailType: awsevents.DetailTypeHealth,
			Source: "aws.health", AccountID: "111111111111", Region: "eu-west-1", Time: at,
			Resources: []string{"i-0000000000000d001"},
			Health: &awsevents.Health{
				ARN:      "arn:aws:health:eu-west-1::event/EC2/AWS_EC2_INSTANCE_RETIREMENT_SCHEDULED/AWS_EC2_INSTANCE_RETIREMENT_SCHEDULED_EXAMPLE1",
				TypeCode: "AWS_EC2_INSTANCE_RETIREMENT_SCHEDULED", Category: "scheduledChange", Status: "upcoming",
				Start: time.Date(2026, 3, 6, 14, 0, 0, 0, time.UTC), End: time.Date(2026, 3, 6, 16, 0, 0, 0, time.UTC),
				Description: "EC2 has detected degradation of the underlying hardware hosting your Amazon EC2 instance. Your instance will be retired after the scheduled time.",
				Instances:   []string{"i-0000000000000d001"},
			},
		}},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			got, err := awsevents.Decode(mustRead(t, tt.file))
			if err != nil {
				t.Fatalf("Decode(%s) = %v", tt.file, err)
			}
			if diff := cmp.Diff(tt.want, got, cmp.Comparer(func(a, b time.Time) bool { return a.Equal(b) })); diff != "" {
				t.Errorf("Decode(%s) mismatch (-want +got):\n%s", tt.file, diff)
			}
		})
	}
}

// Other detail-types are read but of no kind: callers ignore them.
func TestDecodeOtherDetailType(t *testing.T) {
	got, err := awsevents.Decode([]byte(`{"id":"x1","detail-type":"EBS Snapshot Notification","source":"aws.ec2","account":"111111111111","region":"eu-west-1","time":"2026-03-02T09:15:00Z","detail":{}}`))
	if err != nil || got.Kind != "" || got.ID != "x1" {
		t.Errorf("Decode(EBS event) = %+v, %v, want an event of no kind", got, err)
	}
}

func TestDecodeMalformed(t *testing.T) {
	tests := []struct{ name, body string }{
		{"not JSON", `hello`},
		{"empty object", `{}`},
		{"no id", `{"detail-type":"EC2 Instance State-change Notification","account":"111111111111","region":"eu-west-1","time":"2026-03-02T09:15:00Z","detail":{"instance-id":"i-0000000000000a001","state":"stopped"}}`},
		{"bad account", `{"id":"1","detail-type":"EC2 Instance State-change Notification","account":"acme","region":"eu-west-1","time":"2026-03-02T09:15:00Z","detail":{"instance-id":"i-0000000000000a001","state":"stopped"}}`},
		{"bad time", `{"id":"1","detail-type":"EC2 Instance State-change Notification","account":"111111111111","region":"eu-west-1","time":"yesterday","detail":{"instance-id":"i-0000000000000a001","state":"stopped"}}`},
		{"bad instance id", `{"id":"1","detail-type":"EC2 Instance State-change Notification","account":"111111111111","region":"eu-west-1","time":"2026-03-02T09:15:00Z","detail":{"instance-id":"<script>","state":"stopped"}}`},
		{"bad state", `{"id":"1","detail-type":"EC2 Instance State-change Notification","account":"111111111111","region":"eu-west-1","time":"2026-03-02T09:15:00Z","detail":{"instance-id":"i-0000000000000a001","state":"melted"}}`},
		{"alarm without name", `{"id":"1","detail-type":"CloudWatch Alarm State Change","account":"111111111111","region":"eu-west-1","time":"2026-03-02T09:15:00Z","detail":{"state":{"value":"ALARM"}}}`},
		{"SNS without message", `{"Type":"Notification","Message":""}`},
		{"SNS of garbage", `{"Type":"Notification","Message":"not json"}`},
		{"SNS in SNS", `{"Type":"Notification","Message":"{\"Type\":\"Notification\",\"Message\":\"{}\"}"}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := awsevents.Decode([]byte(tt.body))
			var m *awsevents.MalformedError
			if !errors.As(err, &m) {
				t.Errorf("Decode(%s) = %v, want *MalformedError", tt.body, err)
			}
		})
	}
}
