package main

import (
	"bytes"
	"fmt"
	"strings"
	"testing"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/charlize-app/charlize/ec2ops/ec2sim"
	"github.com/charlize-app/charlize/handlers/slacktest"
)

const eventsChannel = "C0EVENTS01"

func replicaAlarmEvent(id, name, state string, at time.Time) string {
	ts := at.UTC().Format("2006-01-02T15:04:05.000+0000")
	return fmt.Sprintf(`{"version":"0","id":%q,"detail-type":"CloudWatch Alarm State Change","source":"aws.cloudwatch","account":%q,`+
		`"time":%q,"region":"eu-west-1","resources":[],"detail":{"alarmName":%q,"configuration":{"metrics":[]},`+
		`"previousState":{"value":"OK","timestamp":%q},"state":{"value":%q,"reason":"Threshold Crossed","timestamp":%q}}}`,
		id, replicasAccount, at.UTC().Format(time.RFC3339), name, ts, state, ts)
}

func replicaStateEvent(id, instance, state string) string {
	return fmt.Sprintf(`{"version":"0","id":%q,"detail-type":"EC2 Instance State-change Notification","source":"aws.ec2","account":%q,`+
		`"time":%q,"region":"eu-west-1","resources":[],"detail":{"instance-id":%q,"state":%q}}`,
		id, replicasAccount, time.Now().UTC().Format(time.RFC3339), instance, state)
}

// Two replicas on one Redis poll the same queue: every event, each
// delivered twice, is posted once, and the burst of state changes makes
// one summary between them.
func TestTwoReplicasPostEachEventOnce(t *testing.T) {
	redisURL := startRedis(t)
	f := newFleetEnv(t, map[string]string{"REDIS_URL": redisURL})
	f.sim.CreateQueue(ec2sim.QueueSpec{Account: ec2sim.DefaultAccountID, Region: "eu-west-1", Name: "charlize-events-dlq"})
	queue := f.sim.CreateQueue(ec2sim.QueueSpec{Account: ec2sim.DefaultAccountID, Region: "eu-west-1", Name: "charlize-events",
		MaxReceiveCount: 5, DeadLetter: "charlize-events-dlq"})
	f.env["CHARLIZE_EVENTS_QUEUE_URL"] = queue
	f.env["CHARLIZE_EVENTS_CHANNEL"] = eventsChannel
	rs := []*replica{startReplica(t, f.env), startReplica(t, f.env)}

	alarms := []string{"cpu-high", "disk-full", "mem-high", "net-low"}
	var bodies []string
	for i, name := range alarms {
		bodies = append(bodies, replicaAlarmEvent(fmt.Sprintf("alarm-%d", i), name, "ALARM", time.Now()))
	}
	for i := 1; i <= 5; i++ {
		bodies = append(bodies, replicaStateEvent(fmt.Sprintf("state-%d", i), instID(i), "stopped"))
	}
	// EventBridge and SQS deliver at least once: every event comes twice.
	for _, b := range append(bodies, bodies...) {
		if _, err := f.sim.SendMessage(queue, b); err != nil {
			t.Fatal(err)
		}
	}

	deadline := time.Now().Add(90 * time.Second)
	for {
		left := 0
		for _, m := range f.sim.Messages(queue) {
			if !m.Deleted {
				left++
			}
		}
		if left == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d of %d messages still in the queue; logs:\n%s\n%s", left, 2*len(bodies), rs[0].logs, rs[1].logs)
		}
		time.Sleep(50 * time.Millisecond)
	}

	posts := func(method, want string) []slacktest.Call {
		var out []slacktest.Call
		for _, c := range f.slack.Calls(method) {
			if c.Error == "" && c.Form.Get("channel") == eventsChannel && strings.Contains(c.Form.Get("text"), want) {
				out = append(out, c)
			}
		}
		return out
	}
	for _, name := range alarms {
		if n := len(posts("chat.postMessage", name+" is in ALARM")); n != 1 {
			t.Errorf("alarm %s posted %d times, want once", name, n)
		}
	}
	cards, summaries := posts("chat.postMessage", "is now"), posts("chat.postMessage", "changed state")
	if len(cards) != 3 || len(summaries) != 1 {
		t.Errorf("state changes: %d cards and %d summaries, want 3 and 1", len(cards), len(summaries))
	}
	final := ""
	if len(summaries) == 1 {
		final = summaries[0].Form.Get("text")
	}
	if edits := posts("chat.update", "changed state"); len(edits) > 0 {
		final = edits[len(edits)-1].Form.Get("text")
	}
	if !strings.Contains(final, "5 instances") {
		t.Errorf("final summary %q, want the 5 instances", final)
	}
	// Both replicas poll the queue; which one receives which delivery is
	// SQS's choice.
	var posted []int
	for i, r := range rs {
		if !strings.Contains(r.logs.String(), `"msg":"polling AWS events"`) {
			t.Errorf("replica %d does not poll the queue", i)
		}
		posted = append(posted, bytes.Count([]byte(r.logs.String()), []byte(`"msg":"event"`)))
	}
	t.Logf("two replicas: %d messages (%d events, each twice) → %d posts (by replica: %v), %d edits",
		2*len(bodies), len(bodies), len(posts("chat.postMessage", "")), posted, len(posts("chat.update", "")))
}

// charlize events-template prints CloudFormation YAML with the rule, the
// queue and its policy; a bad account id is refused.
func TestEventsTemplateCommand(t *testing.T) {
	for _, args := range [][]string{{"events-template"}, {"events-template", "--queue-account", "123456789012"}} {
		var out, errOut bytes.Buffer
		if err := run(t.Context(), args, func(string) string { return "" }, &out, &errOut); err != nil {
			t.Fatalf("run %v = %v (%s)", args, err, errOut.String())
		}
		var tpl struct {
			Resources map[string]struct {
				Type string `yaml:"Type"`
			} `yaml:"Resources"`
		}
		if err := yaml.Unmarshal(out.Bytes(), &tpl); err != nil {
			t.Fatalf("run %v output does not parse as YAML: %v", args, err)
		}
		types := map[string]bool{}
		for _, r := range tpl.Resources {
			types[r.Type] = true
		}
		for _, want := range []string{"AWS::Events::Rule", "AWS::SQS::Queue", "AWS::SQS::QueuePolicy"} {
			if !types[want] {
				t.Errorf("run %v: no %s in %v", args, want, types)
			}
		}
	}
	var out, errOut bytes.Buffer
	if err := run(t.Context(), []string{"events-template", "--queue-account", "acme"}, func(string) string { return "" }, &out, &errOut); err == nil {
		t.Errorf("events-template --queue-account acme = nil error")
	}
}

func TestEventsConfigErrors(t *testing.T) {
	env := map[string]string{
		"SLACK_SIGNING_SECRET":      testSecret,
		"CHARLIZE_EVENTS_QUEUE_URL": "https://sqs.eu-west-1.amazonaws.com/charlize-events",
		"CHARLIZE_EVENTS_CHANNEL":   "#ops",
	}
	err := run(t.Context(), nil, func(k string) string { return env[k] }, &bytes.Buffer{}, &bytes.Buffer{})
	if err == nil {
		t.Fatal("run with bad events configuration succeeded")
	}
	for _, name := range []string{"CHARLIZE_EVENTS_QUEUE_URL", "CHARLIZE_EVENTS_CHANNEL"} {
		if !strings.Contains(err.Error(), name) {
			t.Errorf("config error does not name %s:\n%v", name, err)
		}
	}
}
