package handlers_test

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jonboulle/clockwork"
	"github.com/slack-go/slack"

	"github.com/charlize-app/charlize/ec2ops"
	"github.com/charlize-app/charlize/ec2ops/action"
	"github.com/charlize-app/charlize/ec2ops/ec2sim"
	"github.com/charlize-app/charlize/handlers/schedule"
	"github.com/charlize-app/charlize/handlers/slacktest"
	"github.com/charlize-app/charlize/store"
)

// The schedule tests run the scheduler on a fake clock: Monday 1 June
// 2026, 18:30 in Warsaw (16:30 UTC). office-hours stops at 19:00 Warsaw
// (17:00 UTC) and warns 15 minutes before.
var (
	scheduleStart = time.Date(2026, 6, 1, 16, 30, 0, 0, time.UTC)
	stopUTC       = time.Date(2026, 6, 1, 17, 0, 0, 0, time.UTC)
)

const officeHours = "schedule new office-hours mon-fri 08:00-19:00 Europe/Warsaw"

// advanceTo moves the scheduler's clock to at and returns once each of the
// n schedulers sharing it has ticked there and sleeps again.
func advanceTo(t *testing.T, clock *clockwork.FakeClock, n int, at time.Time) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := clock.BlockUntilContext(ctx, n); err != nil {
		t.Fatalf("schedulers not waiting before %s: %v", at, err)
	}
	clock.Advance(at.Sub(clock.Now()))
	if err := clock.BlockUntilContext(ctx, n); err != nil {
		t.Fatalf("schedulers did not tick at %s: %v", at, err)
	}
}

// mustCommandSays runs a command and waits for its answer to contain want
// (in the ack or through the response_url).
func (w *world) mustCommandSays(user, text, want string) {
	w.t.Helper()
	id := "cmd-" + strings.ReplaceAll(text, " ", "_")
	_, ack := w.command(user, text, id)
	if strings.Contains(messageText(ack), want) {
		return
	}
	if !strings.Contains(messageText(ack), "Looking up") {
		w.t.Fatalf("%s: ack %s, want %q", text, messageText(ack), want)
	}
	w.waitForText(slacktest.MethodResponseURL, want, 10*time.Second)
}

// occurrenceMessage is the latest content of the channel message whose
// first post contained want: its ts and blocks after every edit so far.
func (w *world) occurrenceMessage(want string) (string, []slack.Block) {
	w.t.Helper()
	post := w.waitForText("chat.postMessage", want, 10*time.Second)
	blocks := post.Blocks
	for _, c := range w.slack.Calls("chat.update") {
		if c.Form.Get("ts") == post.TS {
			blocks = c.Blocks
		}
	}
	return post.TS, blocks
}

// waitForEdit waits until the message ts (as posted, or as last edited)
// contains all of want.
func (w *world) waitForEdit(ts string, want ...string) string {
	w.t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		var last string
		for _, c := range w.slack.Calls("chat.postMessage") {
			if c.TS == ts {
				last = blocksText(c.Blocks)
			}
		}
		for _, c := range w.slack.Calls("chat.update") {
			if c.Form.Get("ts") != ts {
				continue
			}
			last = blocksText(c.Blocks)
		}
		ok := last != ""
		for _, s := range want {
			ok = ok && strings.Contains(last, s)
		}
		if ok {
			return last
		}
		if time.Now().After(deadline) {
			w.t.Fatalf("message %s never said %q; last edit:\n%s", ts, want, last)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func blocksText(bs []slack.Block) string {
	raw, _ := json.Marshal(bs)
	return strings.NewReplacer(`\u003c`, "<", `\u003e`, ">", `\u0026`, "&").Replace(string(raw))
}

// snoozeButton finds the button with text on the line of instance name.
func snoozeButton(t *testing.T, bs []slack.Block, name, text string) button {
	t.Helper()
	for i, b := range bs {
		sec, ok := b.(*slack.SectionBlock)
		if !ok || sec.Text == nil || !strings.Contains(sec.Text.Text, "*"+name+"*") || i+1 >= len(bs) {
			continue
		}
		for _, btn := range buttons(bs[i+1 : i+2]) {
			if btn.text == text {
				return btn
			}
		}
	}
	t.Fatalf("no %q button for %s in %s", text, name, blocksText(bs))
	return button{}
}

func (w *world) state(account, region, id string) string {
	w.t.Helper()
	d, err := w.fleet.Describe(context.Background(), account, region, id)
	if err != nil {
		w.t.Fatal(err)
	}
	return d.State
}

// stops lists the instances StopInstances was sent for, with the session.
func stops(sim *ec2sim.Sim, call string) []string {
	var out []string
	for _, c := range sim.CallLog() {
		if c.Action == call {
			out = append(out, strings.Join(c.InstanceIDs, ",")+"@"+c.SessionName)
		}
	}
	return out
}

func mustAudit(t *testing.T, st store.Store) []store.AuditEntry {
	t.Helper()
	es, err := st.RecentAudit(context.Background(), 100)
	if err != nil {
		t.Fatal(err)
	}
	return es
}

// auditHas reports whether some entry matches all of the given fields.
func auditHas(es []store.AuditEntry, match func(store.AuditEntry) bool) bool {
	return slices.ContainsFunc(es, match)
}

// A mon-fri schedule warns before its stop in each account's channel; a
// Snooze 1h keeps one instance up, a Skip another; the rest stop at the
// minute, under the schedule's own role session; the snoozed one gets its
// own warning and stop when the snooze ends; every step is audited.
func TestScheduleWarnSnoozeSkipStop(t *testing.T) {
	clock := clockwork.NewFakeClockAt(scheduleStart)
	w := newWorld(t, worldOptions{clock: clock, scheduleChannel: channel})
	w.mustCommandSays(alice, officeHours, "Schedule *office-hours* created")
	for _, name := range []string{"web-1", "web-2", "old-1", "dev-1"} {
		w.mustCommandSays(alice, "schedule "+name+" office-hours", name+" now follows *office-hours*")
	}

	advanceTo(t, clock, 1, stopUTC.Add(-15*time.Minute))
	prodTS, prod := w.occurrenceMessage("acme-prod")
	devTS, dev := w.occurrenceMessage("acme-dev")
	if text := blocksText(prod); !strings.Contains(text, "will stop 2 instances in acme-prod") || strings.Contains(text, "old-1") {
		t.Errorf("acme-prod warning = %s, want web-1 and web-2 (old-1 is stopped)", text)
	}
	if n := len(w.slack.Calls("chat.postMessage")); n != 2 {
		t.Errorf("%d messages posted at the warning, want one per account (2)", n)
	}
	if got := w.clickFrom(bob, snoozeButton(t, prod, "web-2", "Snooze 1h"), "snooze-web-2", clickFrom{messageTS: prodTS}); got.status != 200 {
		t.Fatalf("Snooze = %d", got.status)
	}
	w.waitForEdit(prodTS, "snoozed by <@U0BOB> until <!date^"+itoa(stopUTC.Add(time.Hour).Unix()))
	w.clickFrom(alice, snoozeButton(t, dev, "dev-1", "Skip tonight"), "skip-dev-1", clickFrom{messageTS: devTS})
	w.waitForEdit(devTS, "skipped this time by <@U0ALICE>")

	advanceTo(t, clock, 1, stopUTC)
	text := w.waitForEdit(prodTS, "Schedule *office-hours* stopped 1 of 2 instances in acme-prod", "web-1", "✅ stopped", "snoozed by <@U0BOB>")
	if strings.Contains(text, "snooze:") {
		t.Errorf("result kept snooze buttons: %s", text)
	}
	w.waitForEdit(devTS, "stopped 0 of 1 instance", "skipped this time by <@U0ALICE>")
	if got := w.state("acme-prod", "eu-west-1", "i-0000000000000a001"); got != ec2ops.StateStopped {
		t.Errorf("web-1 is %s after the stop, want stopped", got)
	}
	for name, id := range map[string]string{"web-2": "i-0000000000000a002", "dev-1": "i-0000000000000c001"} {
		region := "eu-west-1"
		acct := "acme-prod"
		if name == "dev-1" {
			region, acct = "us-east-1", "acme-dev"
		}
		if got := w.state(acct, region, id); got != ec2ops.StateRunning {
			t.Errorf("%s is %s after the stop, want running (snoozed or skipped)", name, got)
		}
	}
	if got, want := stops(w.sim, "StopInstances"), []string{"i-0000000000000a001@charlize-schedule-office-hours"}; !slices.Equal(got, want) {
		t.Errorf("StopInstances = %v, want %v", got, want)
	}

	// The snooze ends at 18:00 UTC: its own warning 15 minutes before, then the stop.
	advanceTo(t, clock, 1, stopUTC.Add(45*time.Minute))
	snoozeTS, _ := w.occurrenceMessage("The snooze of *web-2* ends")
	advanceTo(t, clock, 1, stopUTC.Add(time.Hour))
	w.waitForEdit(snoozeTS, "stopped 1 of 1 instance", "web-2")
	if got := w.state("acme-prod", "eu-west-1", "i-0000000000000a002"); got != ec2ops.StateStopped {
		t.Errorf("web-2 is %s after its snooze ended, want stopped", got)
	}

	dumpMessages(t, w.slack)
	es := mustAudit(t, w.store)
	for what, match := range map[string]func(store.AuditEntry) bool{
		"web-1 stopped by the scheduler": func(e store.AuditEntry) bool {
			return e.InstanceName == "web-1" && e.Action == action.Stop && e.UserID == "charlize scheduler" &&
				e.Rule == "schedule office-hours" && e.Result == store.ResultDone
		},
		"web-2 skipped, snoozed by bob": func(e store.AuditEntry) bool {
			return e.InstanceName == "web-2" && e.Result == store.ResultSkipped && strings.Contains(e.Detail, "snoozed by "+bob)
		},
		"bob's snooze": func(e store.AuditEntry) bool {
			return e.InstanceName == "web-2" && e.Action == action.Snooze && e.UserID == bob && strings.Contains(e.Detail, "until 2026-06-01T18:00:00Z")
		},
		"alice's skip": func(e store.AuditEntry) bool {
			return e.InstanceName == "dev-1" && e.Action == action.Snooze && e.UserID == alice && strings.HasPrefix(e.Detail, "skip")
		},
		"web-2 stopped when the snooze ended": func(e store.AuditEntry) bool {
			return e.InstanceName == "web-2" && e.Action == action.Stop && e.UserID == "charlize scheduler" && e.Result == store.ResultDone
		},
		"the schedule attached": func(e store.AuditEntry) bool {
			return e.InstanceName == "old-1" && e.Action == action.Schedule && e.Detail == "attached office-hours"
		},
	} {
		if !auditHas(es, match) {
			t.Errorf("no audit entry for %s", what)
		}
	}
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }

// scheduleFixture is one account whose instances carry schedule tags.
func scheduleFixture(insts ...ec2sim.Instance) ec2sim.Fixture {
	return ec2sim.Fixture{Accounts: []ec2sim.FixtureAccount{{ID: acctProd, Regions: map[string][]ec2sim.Instance{"eu-west-1": insts}}}}
}

func tagged(id, name, state, sched string) ec2sim.Instance {
	return ec2sim.Instance{ID: id, Type: "t3.micro", State: state, LaunchTime: scheduleStart.Add(-time.Hour),
		Tags: map[string]string{"Name": name, "charlize:schedule": sched}}
}

func mustSchedule(t *testing.T, name, text string) schedule.Schedule {
	t.Helper()
	s, err := schedule.Parse(name, text, time.UTC)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// A stop-only schedule stops a machine someone started by hand, every
// night; a start-only one starts stopped machines and leaves terminated
// ones alone. Both come from the schedules file.
func TestScheduleStopOnlyStartOnlyEnforced(t *testing.T) {
	clock := clockwork.NewFakeClockAt(time.Date(2026, 6, 1, 18, 50, 0, 0, time.UTC))
	w := newWorld(t, worldOptions{clock: clock, scheduleChannel: channel, scheduleWarning: -1,
		schedules: []schedule.Schedule{mustSchedule(t, "nightly", "daily -19:00 UTC"), mustSchedule(t, "mornings", "daily 08:00- UTC")},
		fixture: scheduleFixture(
			tagged("i-0000000000000e001", "build-1", "running", "nightly"),
			tagged("i-0000000000000e002", "lab-1", "stopped", "mornings"),
			tagged("i-0000000000000e003", "lab-2", "terminated", "mornings"),
			tagged("i-0000000000000e004", "lab-3", "running", "mornings"),
		)})
	ctx := context.Background()
	day1 := time.Date(2026, 6, 1, 19, 0, 0, 0, time.UTC)
	advanceTo(t, clock, 1, day1)
	ts, _ := w.occurrenceMessage("nightly")
	w.waitForEdit(ts, "stopped 1 of 1 instance", "build-1")
	if got := w.state("acme-prod", "eu-west-1", "i-0000000000000e001"); got != ec2ops.StateStopped {
		t.Fatalf("build-1 is %s at 19:00, want stopped", got)
	}

	// The next morning: mornings starts lab-1; lab-2 is terminated and
	// lab-3 already runs, so neither is touched.
	advanceTo(t, clock, 1, day1.Add(13*time.Hour))
	ts, _ = w.occurrenceMessage("mornings")
	text := w.waitForEdit(ts, "started 1 of 1 instance", "lab-1")
	if strings.Contains(text, "lab-2") || strings.Contains(text, "lab-3") {
		t.Errorf("the start spoke of instances it must leave alone: %s", text)
	}
	if got := stops(w.sim, "StartInstances"); !slices.Equal(got, []string{"i-0000000000000e002@charlize-schedule-mornings"}) {
		t.Errorf("StartInstances = %v, want lab-1 alone", got)
	}

	// Someone starts build-1 by hand during the day; at 19:00 it stops again.
	if _, err := w.fleet.Do(ctx, ec2ops.ActionRequest{Action: action.Start, Account: "acme-prod", Region: "eu-west-1",
		InstanceID: "i-0000000000000e001", Actor: alice}, nil); err != nil {
		t.Fatal(err)
	}
	advanceTo(t, clock, 1, day1.Add(24*time.Hour))
	posts := w.slack.Calls("chat.postMessage")
	ts = posts[len(posts)-1].TS
	w.waitForEdit(ts, "stopped 1 of 1 instance", "build-1")
	if got := w.state("acme-prod", "eu-west-1", "i-0000000000000e001"); got != ec2ops.StateStopped {
		t.Errorf("build-1 is %s on the second night, want stopped again", got)
	}
	if got := len(stops(w.sim, "StopInstances")); got != 2 {
		t.Errorf("%d StopInstances over two nights, want 2", got)
	}
	es := mustAudit(t, w.store)
	n := 0
	for _, e := range es {
		if e.InstanceName == "build-1" && e.Action == action.Stop && e.UserID == "charlize scheduler" && e.Rule == "schedule nightly" && e.Result == store.ResultDone {
			n++
		}
	}
	if n != 2 {
		t.Errorf("%d audited scheduled stops of build-1, want 2", n)
	}
}

// After Charlize was down, an occurrence missed within the grace is
// carried out and reported late; one older than the grace is reported as
// skipped and not carried out.
func TestScheduleDowntime(t *testing.T) {
	tests := []struct {
		name     string
		down     time.Duration // past the stop when Charlize is back
		stopped  bool
		says     string
		auditHas func(store.AuditEntry) bool
	}{
		{"inside the grace", 12 * time.Minute, true, "Late by 12 min", func(e store.AuditEntry) bool {
			return e.Result == store.ResultDone && e.Detail == "late by 12 min"
		}},
		{"outside the grace", 45 * time.Minute, false, "passed while Charlize was not running", func(e store.AuditEntry) bool {
			return e.Result == store.ResultSkipped && strings.HasPrefix(e.Detail, "missed: Charlize was not running")
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			clock := clockwork.NewFakeClockAt(stopUTC.Add(-5 * time.Minute))
			w := newWorld(t, worldOptions{clock: clock, scheduleChannel: channel, scheduleWarning: -1,
				schedules: []schedule.Schedule{mustSchedule(t, "office-hours", "mon-fri 08:00-19:00 Europe/Warsaw")},
				fixture:   scheduleFixture(tagged("i-0000000000000e001", "web-1", "running", "office-hours"))})
			// The scheduler has run before the stop (the epoch is set), then
			// Charlize goes down over it.
			advanceTo(t, clock, 1, stopUTC.Add(-4*time.Minute))
			w.stopRun()
			clock.Advance(stopUTC.Add(tc.down).Sub(clock.Now()))
			w.restartDispatcher()
			ts, _ := w.occurrenceMessage("office-hours")
			w.waitForEdit(ts, tc.says)
			want := ec2ops.StateRunning
			if tc.stopped {
				want = ec2ops.StateStopped
				w.waitForEdit(ts, "stopped 1 of 1 instance")
			}
			if got := w.state("acme-prod", "eu-west-1", "i-0000000000000e001"); got != want {
				t.Errorf("web-1 is %s, want %s", got, want)
			}
			if !auditHas(mustAudit(t, w.store), func(e store.AuditEntry) bool {
				return e.InstanceName == "web-1" && e.Action == action.Stop && e.UserID == "charlize scheduler" && tc.auditHas(e)
			}) {
				t.Errorf("no audit entry for the %s stop: %+v", tc.name, mustAudit(t, w.store))
			}
		})
	}
}

// listings are the DescribeInstances calls that listed (not described one
// instance), each with its filters.
func listings(sim *ec2sim.Sim) []ec2sim.Call {
	var out []ec2sim.Call
	for _, c := range sim.CallLog() {
		if c.Action == "DescribeInstances" && len(c.InstanceIDs) == 0 {
			out = append(out, c)
		}
	}
	return out
}

// Three replicas on one Redis share a fake clock: one warning is posted,
// each instance is stopped once, and the occurrence lists the account's
// instances once.
func TestScheduleThreeReplicasOnRedis(t *testing.T) {
	clock := clockwork.NewFakeClockAt(scheduleStart)
	var insts []ec2sim.Instance
	for i := range 6 {
		insts = append(insts, tagged("i-0000000000000e00"+strconv.Itoa(i), "web-"+strconv.Itoa(i), "running", "office-hours"))
	}
	w := newWorld(t, worldOptions{redis: true, clock: clock, scheduleChannel: channel,
		schedules: []schedule.Schedule{mustSchedule(t, "office-hours", "mon-fri 08:00-19:00 Europe/Warsaw")},
		fixture:   scheduleFixture(insts...)})
	for _, name := range []string{"replica-2", "replica-3"} {
		w.addReplica(name)
	}
	advanceTo(t, clock, 3, stopUTC.Add(-15*time.Minute))
	ts, _ := w.occurrenceMessage("will stop 6 instances")
	advanceTo(t, clock, 3, stopUTC)
	w.waitForEdit(ts, "stopped 6 of 6 instances")
	if n := len(w.slack.Calls("chat.postMessage")); n != 1 {
		t.Errorf("%d messages posted, want the one warning", n)
	}
	got := stops(w.sim, "StopInstances")
	slices.Sort(got)
	if len(got) != 6 || len(slices.Compact(got)) != 6 {
		t.Errorf("StopInstances = %v, want each of the 6 instances once", got)
	}
	if n := len(listings(w.sim)); n != 1 {
		t.Errorf("%d listings for the occurrence across three replicas, want 1", n)
	}
	done := 0
	for _, e := range mustAudit(t, w.store) {
		if e.Action == action.Stop && e.UserID == "charlize scheduler" && e.Result == store.ResultDone {
			done++
		}
	}
	if done != 6 {
		t.Errorf("%d audited scheduled stops, want 6", done)
	}
}

// 20 accounts × 4 regions with schedules: one occurrence (its warning and
// its stop) costs one listing per account-region, filtered by the tag on
// the AWS side.
func TestScheduleListingCost(t *testing.T) {
	clock := clockwork.NewFakeClockAt(scheduleStart)
	var fx ec2sim.Fixture
	regions := []string{"eu-west-1", "eu-central-1", "us-east-1", "us-west-2"}
	for a := range 20 {
		id := "3000000000" + strconv.Itoa(10+a)
		acct := ec2sim.FixtureAccount{ID: id, Regions: map[string][]ec2sim.Instance{}}
		for r, region := range regions {
			n := strconv.Itoa(a*10 + r)
			acct.Regions[region] = []ec2sim.Instance{
				tagged("i-00000000000f"+strings.Repeat("0", 5-len(n))+n, "app-"+n, "running", "office-hours"),
				{ID: "i-00000000000a" + strings.Repeat("0", 5-len(n)) + n, State: "running", Tags: map[string]string{"Name": "other-" + n}},
			}
		}
		fx.Accounts = append(fx.Accounts, acct)
	}
	w := newWorld(t, worldOptions{clock: clock, scheduleChannel: channel, fixture: fx,
		schedules: []schedule.Schedule{mustSchedule(t, "office-hours", "mon-fri 08:00-19:00 Europe/Warsaw")}})
	w.sim.Reset()
	advanceTo(t, clock, 1, stopUTC.Add(-15*time.Minute))
	for i := range 20 {
		w.occurrenceMessage("acct-3000000000" + strconv.Itoa(10+i))
	}
	advanceTo(t, clock, 1, stopUTC)
	deadline := time.Now().Add(60 * time.Second)
	for len(stops(w.sim, "StopInstances")) < 80 && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	if n := len(stops(w.sim, "StopInstances")); n != 80 {
		t.Fatalf("%d StopInstances, want 80 (one tagged instance per account-region)", n)
	}
	ls := listings(w.sim)
	if len(ls) != 80 {
		t.Errorf("%d listings for one occurrence, want 80 (one per account-region)", len(ls))
	}
	for _, c := range ls {
		if !slices.Contains(c.Filters, "tag:charlize:schedule=office-hours") {
			t.Errorf("listing in %s/%s without the tag filter: %v", c.Account, c.Region, c.Filters)
			break
		}
	}
	// Between occurrences the scheduler asks AWS nothing.
	before := len(w.sim.CallLog())
	advanceTo(t, clock, 1, stopUTC.Add(30*time.Minute))
	advanceTo(t, clock, 1, stopUTC.Add(2*time.Hour))
	if extra := len(listings(w.sim)) - len(ls); extra != 0 {
		t.Errorf("%d listings between occurrences, want none (calls before %d)", extra, before)
	}
}

// dumpMessages writes every message the fake Slack received to
// $BLOCKKIT_DUMP, one JSON file each, for the Block Kit checker in
// /work/shared/blockkit-check; without the variable it does nothing.
func dumpMessages(t *testing.T, api *slacktest.API) {
	dir := os.Getenv("BLOCKKIT_DUMP")
	if dir == "" {
		return
	}
	for _, method := range []string{"chat.postMessage", "chat.update", slacktest.MethodResponseURL} {
		for i, c := range api.Calls(method) {
			msg := map[string]any{"text": c.Form.Get("text"), "blocks": c.Blocks}
			if method == slacktest.MethodResponseURL {
				msg = map[string]any{"text": c.Message.Text, "blocks": c.Blocks}
			}
			if c.Blocks == nil {
				delete(msg, "blocks") // a text-only answer
			}
			raw, _ := json.Marshal(msg)
			name := filepath.Join(dir, t.Name()+"-"+method+"-"+strconv.Itoa(i)+".json")
			if err := os.WriteFile(name, raw, 0o644); err != nil {
				t.Fatal(err)
			}
		}
	}
}

// What people type is answered: bad schedules with what was wrong and an
// example, names that exist or do not, the list with counts and the next
// action, detaching, and the file's schedules read-only.
func TestScheduleCommands(t *testing.T) {
	clock := clockwork.NewFakeClockAt(scheduleStart)
	w := newWorld(t, worldOptions{clock: clock, scheduleChannel: channel,
		schedules: []schedule.Schedule{mustSchedule(t, "from-git", "daily -22:00 UTC")}})
	for text, want := range map[string]string{
		"schedule new office-hours mon-fry 08:00-19:00":               "That schedule's days is wrong: \\\"mon-fry\\\" is not a day name",
		"schedule new office-hours mon-fri 08:00-19:00 Europe/Warsw":  "time zone is wrong",
		"schedule new Office mon-fri 08:00-19:00":                     "lower-case",
		"schedule new from-git daily -23:00":                          "comes from the schedules file",
		"schedule delete from-git":                                    "comes from the schedules file",
		"schedule web-1 nope":                                         "There is no schedule named *nope*",
		"schedule new office-hours mon-fri 25:00-19:00 Europe/Warsaw": "Example: `office-hours mon-fri 08:00-19:00 Europe/Warsaw`",
	} {
		_, ack := w.command(alice, text, "bad")
		if got := messageText(ack); !strings.Contains(got, want) {
			t.Errorf("%s = %s, want %q", text, got, want)
		}
	}
	w.mustCommandSays(alice, officeHours, "Schedule *office-hours* created")
	_, ack := w.command(alice, officeHours, "again")
	if got := messageText(ack); !strings.Contains(got, "already exists") {
		t.Errorf("second create = %s, want already exists", got)
	}
	w.mustCommandSays(alice, "schedule web-1 office-hours", "web-1 now follows *office-hours*")
	w.command(alice, "schedules", "list")
	list := w.waitForURLText("list", "office-hours", 10*time.Second)
	text := messageText(list)
	for _, want := range []string{"mon-fri 08:00-19:00 (Europe/Warsaw) · 1 instance · next: stop", "from-git", "from the schedules file", "schedule_new"} {
		if !strings.Contains(text, want) {
			t.Errorf("schedules list lacks %q: %s", want, text)
		}
	}
	checkRendered(t, list)

	w.mustCommandSays(alice, "unschedule web-1", "web-1 no longer follows a schedule")
	if n := w.sim.Calls("DeleteTags"); n != 1 {
		t.Errorf("%d DeleteTags, want 1", n)
	}
	d, _ := w.fleet.Describe(context.Background(), "acme-prod", "eu-west-1", "i-0000000000000a001")
	if _, ok := d.Tags["charlize:schedule"]; ok {
		t.Errorf("web-1 still carries the tag: %v", d.Tags)
	}
	w.mustCommandSays(alice, "unschedule web-1", "web-1 follows no schedule")
	w.mustCommandSays(alice, "schedule delete office-hours", "Schedule *office-hours* deleted")
}

// Several people creating the same schedule at once: one is told it was
// created, the others that it exists, and the audit log says created once.
func TestScheduleCreatedOnceWhenSeveralCreateIt(t *testing.T) {
	clock := clockwork.NewFakeClockAt(scheduleStart)
	w := newWorld(t, worldOptions{clock: clock, scheduleChannel: channel})
	const n = 6
	answers := make([]string, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			_, ack := w.command(alice, officeHours, fmt.Sprintf("create%d", i))
			answers[i] = messageText(ack)
		})
	}
	wg.Wait()
	created, exists := 0, 0
	for _, a := range answers {
		switch {
		case strings.Contains(a, "Schedule *office-hours* created"):
			created++
		case strings.Contains(a, "already exists"):
			exists++
		default:
			t.Errorf("a create answered %s", a)
		}
	}
	if created != 1 || exists != n-1 {
		t.Errorf("%d told created, %d told it exists; want 1 and %d", created, exists, n-1)
	}
	entries, err := w.store.RecentAudit(context.Background(), 100)
	if err != nil {
		t.Fatal(err)
	}
	audited := 0
	for _, e := range entries {
		if strings.HasPrefix(e.Detail, "created office-hours") {
			audited++
		}
	}
	if audited != 1 {
		t.Errorf("%d audit entries of the creation, want 1", audited)
	}
}

// The New schedule button opens a modal; a wrong field is refused beside
// it, a right one creates the schedule.
func TestScheduleModal(t *testing.T) {
	clock := clockwork.NewFakeClockAt(scheduleStart)
	w := newWorld(t, worldOptions{clock: clock, scheduleChannel: channel})
	w.command(alice, "schedules", "list")
	list := w.waitForURLText("list", "No schedules yet", 10*time.Second)
	if got := w.clickFrom(alice, mustButton(t, list, "schedule_new", "New schedule"), "list", clickFrom{}); got.status != 200 {
		t.Fatalf("New schedule = %d", got.status)
	}
	v := w.openedView("views.open", 1)
	values := func(zone string) map[string]map[string]any {
		return map[string]map[string]any{
			"schedule_name":  {"schedule_name": textInput("office-hours")},
			"schedule_days":  {"schedule_days": textInput("mon-fri")},
			"schedule_times": {"schedule_times": textInput("08:00-19:00")},
			"schedule_zone":  {"schedule_zone": textInput(zone)},
		}
	}
	var bad struct {
		ResponseAction string            `json:"response_action"`
		Errors         map[string]string `json:"errors"`
	}
	w.submitView(alice, v, values("Mars/Olympus")).json(t, &bad)
	if bad.ResponseAction != "errors" || !strings.Contains(bad.Errors["schedule_zone"], "Mars/Olympus") {
		t.Errorf("bad zone answered %+v, want an error on the zone field", bad)
	}
	if got := w.submitView(alice, v, values("Europe/Warsaw")); got.status != 200 || len(got.body) != 0 {
		t.Errorf("good submission = %d %s, want an empty ack (the modal closes)", got.status, got.body)
	}
	scheds, err := w.store.Schedules(context.Background())
	if err != nil || len(scheds) != 1 || scheds[0].Name != "office-hours" {
		t.Errorf("store schedules = %+v, %v, want office-hours", scheds, err)
	}
}

// Snoozing needs schedule or start on the instance: someone with neither
// is refused, audited, and the warning stays as it was.
func TestScheduleSnoozeNeedsScheduleOrStart(t *testing.T) {
	clock := clockwork.NewFakeClockAt(scheduleStart)
	w := newWorld(t, worldOptions{clock: clock, scheduleChannel: channel, policy: `rules:
  - name: alice-all
    who: {users: [U0ALICE]}
    actions: [list, status, start, stop, schedule]
  - name: bob-reads
    who: {users: [U0BOB]}
    actions: [list, status]
`})
	w.mustCommandSays(alice, officeHours, "created")
	w.mustCommandSays(alice, "schedule web-1 office-hours", "now follows")
	advanceTo(t, clock, 1, stopUTC.Add(-10*time.Minute))
	ts, bs := w.occurrenceMessage("acme-prod")
	w.clickFrom(bob, snoozeButton(t, bs, "web-1", "Snooze 4h"), "bob-snooze", clickFrom{messageTS: ts})
	w.waitForURLText("bob-snooze", "snoozing needs schedule or start on it", 10*time.Second)
	w.clickFrom(alice, snoozeButton(t, bs, "web-1", "Snooze 4h"), "alice-snooze", clickFrom{messageTS: ts})
	w.waitForEdit(ts, "snoozed by <@U0ALICE> until <!date^"+itoa(stopUTC.Add(4*time.Hour).Unix()))
	es := mustAudit(t, w.store)
	if !auditHas(es, func(e store.AuditEntry) bool {
		return e.Action == action.Snooze && e.UserID == bob && e.Result == store.ResultRefused
	}) || !auditHas(es, func(e store.AuditEntry) bool {
		return e.Action == action.Snooze && e.UserID == alice && e.Rule == "alice-all" && e.Result == store.ResultDone
	}) {
		t.Errorf("audit lacks bob's refused and alice's done snooze: %+v", es)
	}
	// After the stop the buttons are too late.
	advanceTo(t, clock, 1, stopUTC)
	w.waitForEdit(ts, "stopped 0 of 1 instance")
	w.clickFrom(alice, snoozeButton(t, bs, "web-1", "Snooze 1h"), "late-snooze", clickFrom{messageTS: ts})
	w.waitForURLText("late-snooze", "Too late to snooze web-1", 10*time.Second)
}

// The card shows the schedule its instance follows and what it does next.
func TestScheduleOnTheCard(t *testing.T) {
	clock := clockwork.NewFakeClockAt(scheduleStart)
	w := newWorld(t, worldOptions{clock: clock, scheduleChannel: channel})
	w.mustCommandSays(alice, officeHours, "Schedule *office-hours* created")
	w.mustCommandSays(alice, "schedule web-1 office-hours", "web-1 now follows *office-hours*")
	card := messageText(w.instanceCard("web-1", "card1"))
	for _, want := range []string{"🗓 office-hours (mon-fri 08:00-19:00 Europe/Warsaw)", "· next: stop"} {
		if !strings.Contains(card, want) {
			t.Errorf("card lacks %q: %s", want, short(card))
		}
	}
	if other := messageText(w.instanceCard("web-2", "card2")); strings.Contains(other, "🗓") {
		t.Errorf("web-2 follows no schedule, its card shows one: %s", short(other))
	}
}
