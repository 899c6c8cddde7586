package main

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/slack-go/slack"

	"github.com/charlize-app/charlize/ec2ops/ec2sim"
	"github.com/charlize-app/charlize/handlers/slacktest"
)

// The whole app through run, on the real clock, against the simulator: a
// schedule from the schedules file stops its instances two minutes from
// now, with CHARLIZE_SCHEDULE_WARNING=1m. The warning is posted within 60 s
// of its time, a Snooze pressed on it keeps one instance running, and the
// others are stopped within 60 s of the minute. It takes about three
// minutes of real time.
func TestScheduleEndToEnd(t *testing.T) {
	if testing.Short() {
		t.Skip("runs on the real clock for about three minutes")
	}
	t.Parallel()
	const channel = "C0SCHEDULE1"
	ids := []string{"i-0000000000000e001", "i-0000000000000e002", "i-0000000000000e003"}
	var insts []ec2sim.Instance
	for i, id := range ids {
		insts = append(insts, ec2sim.Instance{ID: id, State: "running", Tags: map[string]string{"Name": fmt.Sprintf("web-%d", i+1), "charlize:schedule": "e2e"}})
	}
	sim := ec2sim.New(ec2sim.Options{TransitionTime: time.Second})
	if err := sim.Load(ec2sim.Fixture{Accounts: []ec2sim.FixtureAccount{{ID: ec2sim.DefaultAccountID,
		Regions: map[string][]ec2sim.Instance{"eu-west-1": insts}}}}); err != nil {
		t.Fatal(err)
	}
	simServer := httptest.NewServer(sim)
	defer simServer.Close()
	api := slacktest.NewAPI(t)

	// The stop is on the minute at least two minutes from now.
	stopAt := time.Now().UTC().Add(2 * time.Minute).Truncate(time.Minute).Add(time.Minute)
	warnAt := stopAt.Add(-time.Minute)
	file := filepath.Join(t.TempDir(), "schedules.yaml")
	if err := os.WriteFile(file, []byte(fmt.Sprintf("schedules:\n  - name: e2e\n    days: daily\n    stop: %q\n    time_zone: UTC\n",
		stopAt.Format("15:04"))), 0o600); err != nil {
		t.Fatal(err)
	}
	a := mustStart(t, map[string]string{
		"SLACK_BOT_TOKEN":           slacktest.BotToken,
		"SLACK_API_URL":             api.APIURL(),
		"AWS_ENDPOINT_URL":          simServer.URL,
		"AWS_REGION":                "eu-west-1",
		"AWS_ACCESS_KEY_ID":         "AKIDMAINTEST",
		"AWS_SECRET_ACCESS_KEY":     "main-test-secret-key",
		"CHARLIZE_SCHEDULES_FILE":   file,
		"CHARLIZE_SCHEDULE_WARNING": "1m",
		"CHARLIZE_SCHEDULE_CHANNEL": channel,
	})

	warning := api.WaitFor(t, "chat.postMessage", 1, time.Until(warnAt)+90*time.Second)[0]
	if late := warning.Time.Sub(warnAt); late < 0 || late > 60*time.Second {
		t.Errorf("warning posted at %s, %s from its time %s; want within 60 s after", warning.Time.Format(time.TimeOnly), late, warnAt.Format(time.TimeOnly))
	}
	t.Logf("warning posted %s after its time", warning.Time.Sub(warnAt).Round(time.Millisecond))
	if warning.Form.Get("channel") != channel || !strings.Contains(warning.Form.Get("blocks"), "will stop 3 instances") {
		t.Fatalf("warning = %s in %s", warning.Form.Get("blocks"), warning.Form.Get("channel"))
	}
	snooze := snoozeOf(t, warning.Blocks, "web-2")
	payload := map[string]any{
		"type": "block_actions", "user": map[string]any{"id": "U0BOB", "team_id": "T0001"}, "team": map[string]any{"id": "T0001"},
		"api_app_id": "A1", "trigger_id": "1.2.3",
		"container":    map[string]any{"type": "message", "message_ts": warning.TS, "channel_id": channel},
		"channel":      map[string]any{"id": channel},
		"response_url": api.ResponseURL("e2e-snooze"),
		"actions":      []map[string]any{{"type": "button", "block_id": "occ_acts:1", "action_id": snooze.ActionID, "value": snooze.Value, "action_ts": "1"}},
	}
	resp, err := http.DefaultClient.Do(slacktest.PayloadRequest(a.url+"/slack/interactions", testSecret, payload))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("snooze click = %d", resp.StatusCode)
	}
	if !waitForUpdate(api, warning.TS, time.Minute, "snoozed by") {
		t.Fatalf("the warning never showed the snooze; logs:\n%s", a.logs)
	}

	if !waitForUpdate(api, warning.TS, time.Until(stopAt)+90*time.Second, "stopped 2 of 3 instances") {
		t.Fatalf("the warning never became the result; logs:\n%s", a.logs)
	}
	result := lastUpdate(api, warning.TS)
	var stopped []string
	for _, c := range sim.CallLog() {
		if c.Action != "StopInstances" {
			continue
		}
		stopped = append(stopped, c.InstanceIDs...)
		t.Logf("StopInstances %v %s after the stop minute", c.InstanceIDs, c.Time.Sub(stopAt).Round(time.Millisecond))
		if late := c.Time.Sub(stopAt); late < 0 || late > 60*time.Second {
			t.Errorf("StopInstances %v at %s, %s from the stop minute; want within 60 s after", c.InstanceIDs, c.Time.Format(time.TimeOnly), late)
		}
	}
	slices.Sort(stopped)
	if want := []string{ids[0], ids[2]}; !slices.Equal(stopped, want) {
		t.Errorf("stopped %v, want %v (web-2 is snoozed)", stopped, want)
	}
	if !strings.Contains(result, "snoozed by <@U0BOB>") {
		t.Errorf("the result does not say who snoozed web-2: %s", result)
	}
}

// snoozeOf is the Snooze 1h button on the line of instance name.
func snoozeOf(t *testing.T, bs []slack.Block, name string) *slack.ButtonBlockElement {
	t.Helper()
	for i, b := range bs {
		sec, ok := b.(*slack.SectionBlock)
		if !ok || sec.Text == nil || !strings.Contains(sec.Text.Text, "*"+name+"*") || i+1 >= len(bs) {
			continue
		}
		if ab, ok := bs[i+1].(*slack.ActionBlock); ok {
			for _, el := range ab.Elements.ElementSet {
				if btn, ok := el.(*slack.ButtonBlockElement); ok && btn.Text.Text == "Snooze 1h" {
					return btn
				}
			}
		}
	}
	t.Fatalf("no Snooze 1h for %s", name)
	return nil
}

// waitForUpdate waits for the latest chat.update of ts to contain want.
func waitForUpdate(api *slacktest.API, ts string, timeout time.Duration, want string) bool {
	deadline := time.Now().Add(timeout)
	for !strings.Contains(lastUpdate(api, ts), want) {
		if time.Now().After(deadline) {
			return false
		}
		time.Sleep(100 * time.Millisecond)
	}
	return true
}

// lastUpdate is the blocks of the latest chat.update of ts as JSON, with
// <, > and & as Slack reads them.
func lastUpdate(api *slacktest.API, ts string) string {
	last := ""
	for _, c := range api.Calls("chat.update") {
		if c.Form.Get("ts") == ts {
			raw, _ := json.Marshal(c.Blocks)
			last = strings.NewReplacer(`\u003c`, "<", `\u003e`, ">", `\u0026`, "&").Replace(string(raw))
		}
	}
	return last
}

// Three real processes on one Redis, on the real clock: a schedule from
// the file stops four instances (tagged through the replicas' own
// commands); one warning is posted and each instance is stopped once.
func TestThreeReplicasScheduleOnce(t *testing.T) {
	if testing.Short() {
		t.Skip("runs on the real clock for about two minutes")
	}
	t.Parallel()
	redisURL := startRedis(t)
	stopAt := time.Now().UTC().Add(90 * time.Second).Truncate(time.Minute).Add(time.Minute)
	file := filepath.Join(t.TempDir(), "schedules.yaml")
	if err := os.WriteFile(file, []byte(fmt.Sprintf("schedules:\n  - name: nightly\n    days: daily\n    stop: %q\n    time_zone: UTC\n",
		stopAt.Format("15:04"))), 0o600); err != nil {
		t.Fatal(err)
	}
	f := newFleetEnv(t, map[string]string{"REDIS_URL": redisURL, "CHARLIZE_SCHEDULES_FILE": file,
		"CHARLIZE_SCHEDULE_WARNING": "30s", "CHARLIZE_SCHEDULE_CHANNEL": "C0SCHED001"})
	var rs []*replica
	for range 3 {
		rs = append(rs, startReplica(t, f.env))
	}
	for i := 1; i <= 4; i++ {
		id := fmt.Sprintf("tag-%d", i)
		form := slacktest.Command("T0001", "U0ALICE", fmt.Sprintf("schedule web-%d nightly", i), f.slack.ResponseURL(id))
		form.Set("channel_id", "C0OPS")
		resp, err := http.DefaultClient.Do(slacktest.FormRequest(rs[i%3].url+"/slack/commands", testSecret, form))
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		f.waitURL(t, id, "now follows")
	}
	if time.Until(stopAt) < 30*time.Second {
		t.Fatalf("tagging took until %s, past the warning of the %s stop", time.Now().Format(time.TimeOnly), stopAt.Format(time.TimeOnly))
	}
	warning := f.slack.WaitFor(t, "chat.postMessage", 1, time.Until(stopAt)+30*time.Second)[0]
	f.editedTo(t, warning.TS, "stopped 4 of 4 instances", time.Until(stopAt)+90*time.Second)
	if n := len(f.slack.Calls("chat.postMessage")); n != 1 {
		t.Errorf("%d channel messages from three replicas, want the one warning", n)
	}
	for i := 1; i <= 4; i++ {
		if n := f.mutations("StopInstances", instID(i)); n != 1 {
			t.Errorf("web-%d: %d StopInstances, want 1", i, n)
		}
	}
	for _, c := range f.sim.CallLog() {
		if c.Action == "StopInstances" && c.SessionName != "charlize-schedule-nightly" {
			t.Errorf("StopInstances under session %q, want charlize-schedule-nightly", c.SessionName)
		}
	}
}
