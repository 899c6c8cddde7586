package handlers_test

import (
	"fmt"
	"net/http"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/slack-go/slack"

	"github.com/charlize-app/charlize/blocks"
	"github.com/charlize-app/charlize/ec2ops"
	"github.com/charlize-app/charlize/ec2ops/ec2sim"
	"github.com/charlize-app/charlize/handlers/slacktest"
)

// The organization: 500 accounts x 2 regions, each region with
// orgPerRegion instances, 50 ms on every AWS call.
const (
	orgAccounts  = 500
	orgRegions   = 2
	orgPerRegion = 2
	orgLatency   = 50 * time.Millisecond
)

// orgWorld is a world whose accounts are all discovered from a simulated
// organization managed by its first account, reached through a
// management role, at latency per AWS call.
//
// include is the organization's Include; a pattern on OU paths makes
// discovery walk the OU tree.
func orgWorld(t testing.TB, accounts, regions, perRegion int, latency time.Duration, concurrency int, include ...string) *world {
	t.Helper()
	f := ec2sim.Generate(accounts, regions, perRegion)
	management := f.Accounts[0].ID
	f.Organization = &ec2sim.FixtureOrganization{ManagementAccount: management}
	for i, a := range f.Accounts {
		ou := "/Prod"
		if i%2 == 1 {
			ou = "/Dev"
		}
		f.Organization.Accounts = append(f.Organization.Accounts, ec2sim.FixtureMember{ID: a.ID, Name: fmt.Sprintf("Team %03d", i+1), OU: ou})
	}
	var names []string
	for r := range f.Accounts[0].Regions {
		names = append(names, r)
	}
	return newWorld(t, worldOptions{fixture: f, latency: latency, organization: &ec2ops.Organization{
		ManagementRoleARN: "arn:aws:iam::" + management + ":role/charlize-org-reader",
		RoleName:          "charlize", Regions: names, Refresh: time.Hour, Include: include,
	}, concurrency: concurrency})
}

// listRunning runs `/charlize list running` and waits for its first page,
// returning how long that took.
func (w *world) listRunning(responseID string) (time.Duration, string) {
	w.t.Helper()
	start := time.Now()
	if status, _ := w.command(alice, "list running", responseID); status != http.StatusOK {
		w.t.Fatalf("list running = %d", status)
	}
	msg := w.urlPost(responseID, 30*time.Second)
	return time.Since(start), messageText(msg)
}

// TestList500Accounts is the 500-account listing: the accounts are
// discovered from the organization (25 ListAccounts pages), a cold
// `/charlize list running` assumes each account's role once and asks each
// account-region once, a warm one assumes none; both show the first page
// of the running instances. Times are logged, not asserted:
// BenchmarkList500 measures them.
func TestList500Accounts(t *testing.T) {
	if testing.Short() {
		t.Skip("500 accounts at 50 ms per call")
	}
	w := orgWorld(t, orgAccounts, orgRegions, orgPerRegion, orgLatency, 0)
	if n := len(w.fleet.Accounts()); n != orgAccounts {
		t.Fatalf("discovered %d accounts, want %d", n, orgAccounts)
	}
	if n := w.sim.Calls("ListAccounts"); n != orgAccounts/20 {
		t.Errorf("ListAccounts calls = %d, want %d pages of 20", n, orgAccounts/20)
	}
	running := 0
	for i := range orgAccounts * orgRegions * orgPerRegion {
		if (i+1)%10 != 0 { // Generate stops every tenth instance
			running++
		}
	}

	for _, run := range []struct {
		name    string
		assumes int
	}{{"cold", orgAccounts}, {"warm", 0}} {
		w.sim.Reset()
		took, text := w.listRunning("list500-" + run.name)
		if n := w.sim.Calls("AssumeRole"); n != run.assumes {
			t.Errorf("%s listing: AssumeRole calls = %d, want %d", run.name, n, run.assumes)
		}
		if n := w.sim.Calls("DescribeInstances"); n != orgAccounts*orgRegions {
			t.Errorf("%s listing: DescribeInstances calls = %d, want one per account-region (%d)", run.name, n, orgAccounts*orgRegions)
		}
		if want := fmt.Sprintf("%d instances", running); !strings.Contains(text, want) || !strings.Contains(text, "page 1/90") {
			t.Errorf("%s listing = %s, want %q on page 1/90", run.name, short(text), want)
		}
		t.Logf("%s /charlize list running over %d accounts x %d regions at %s per call: first page after %s",
			run.name, orgAccounts, orgRegions, orgLatency, took.Round(time.Millisecond))
	}
}

// TestAccountsPagesThroughTheOrganization pages `/charlize accounts`
// through 60 discovered accounts and narrows it by OU.
func TestAccountsPagesThroughTheOrganization(t *testing.T) {
	w := orgWorld(t, 60, 1, 1, 0, 0, "/*")
	_, msg := w.command(alice, "accounts", "accounts-p1")
	checkRendered(t, msg)
	text := messageText(msg)
	if !strings.Contains(text, "60 accounts") || !strings.Contains(text, "page 1 of 3") || !strings.Contains(text, "team-001") ||
		strings.Contains(text, "team-026") || !strings.Contains(text, "organization") {
		t.Fatalf("accounts page 1 = %s, want team-001..025 of 60", short(text))
	}
	next := mustButton(t, msg, "accounts_page", "Next ▶")
	w.click(alice, next, "accounts-p2")
	page2 := w.waitForURLText("accounts-p2", "page 2 of 3", 5*time.Second)
	checkRendered(t, page2)
	if text := messageText(page2); !strings.Contains(text, "team-026") || strings.Contains(text, "team-001") {
		t.Errorf("accounts page 2 = %s, want team-026..050", short(text))
	}

	_, msg = w.command(alice, "accounts /dev/", "accounts-dev")
	if text := messageText(msg); !strings.Contains(text, "30 accounts matching") || !strings.Contains(text, "team-002") ||
		strings.Contains(text, "team-001") || !strings.Contains(text, "page 1 of 2") {
		t.Errorf("accounts /dev/ = %s, want the 30 accounts of OU Dev", short(text))
	}
	_, msg = w.command(alice, "accounts nothing-like-this", "accounts-none")
	if text := messageText(msg); !strings.Contains(text, "No account matches") {
		t.Errorf("accounts nothing-like-this = %s, want no match", short(text))
	}
}

// BenchmarkList500 measures the figures: a cold and a warm
// `/charlize list running` over 500 discovered accounts x 2 regions at
// 50 ms per AWS call, from the command to its first page, with the
// previous default bound of 64 account-regions at once, the default (128)
// and 256. Metrics:
// ms-to-page, assumes/op, and heap-MB (live heap after the listing, the
// simulator's and the fake Slack's included).
func BenchmarkList500(b *testing.B) {
	for _, pool := range []int{64, ec2ops.DefaultConcurrency, 256} {
		measure := func(b *testing.B, w func() *world) {
			var took time.Duration
			assumes := 0
			for i := 0; b.Loop(); i++ {
				b.StopTimer()
				world := w()
				world.sim.Reset()
				b.StartTimer()
				d, _ := world.listRunning(fmt.Sprintf("bench500-%d-%d", pool, i))
				took += d
				assumes += world.sim.Calls("AssumeRole")
			}
			b.ReportMetric(float64(took.Milliseconds())/float64(b.N), "ms-to-page")
			b.ReportMetric(float64(assumes)/float64(b.N), "assumes/op")
			var ms runtime.MemStats
			runtime.GC()
			runtime.ReadMemStats(&ms)
			b.ReportMetric(float64(ms.HeapInuse)/(1<<20), "heap-MB")
		}
		// Cold: a new process's worth of state for every listing, so no
		// credentials are cached (the discovery is not timed).
		b.Run(fmt.Sprintf("pool=%d/cold", pool), func(b *testing.B) {
			measure(b, func() *world { return orgWorld(b, orgAccounts, orgRegions, orgPerRegion, orgLatency, pool) })
		})
		b.Run(fmt.Sprintf("pool=%d/warm", pool), func(b *testing.B) {
			w := orgWorld(b, orgAccounts, orgRegions, orgPerRegion, orgLatency, pool)
			w.listRunning(fmt.Sprintf("bench500-%d-warmup", pool))
			measure(b, func() *world { return w })
		})
	}
}

// TestPickerFindsAccountsOfALargeOrganization opens the picker over 150
// accounts, more than a static select holds: the account select is filled
// as the user types.
func TestPickerFindsAccountsOfALargeOrganization(t *testing.T) {
	w := orgWorld(t, 150, 1, 1, 0, 0)
	if status, _ := w.command(alice, "", "picker-org"); status != http.StatusOK {
		t.Fatalf("/charlize = %d", status)
	}
	v := w.openedView("views.open", 1)
	external := false
	for _, b := range v.Blocks.BlockSet {
		if in, ok := b.(*slack.InputBlock); ok && in.BlockID == blocks.PickerAccountBlock {
			sel, ok := in.Element.(*slack.SelectBlockElement)
			external = ok && sel.Type == slack.OptTypeExternal && sel.ActionID == blocks.PickerAccountAction
		}
	}
	if !external {
		t.Fatalf("picker over 150 accounts = %s, want an external account select", viewText(v))
	}
	payload := map[string]any{
		"type": "block_suggestion", "action_id": blocks.PickerAccountAction, "block_id": blocks.PickerAccountBlock, "value": "Team-14",
		"user": map[string]any{"id": alice, "team_id": team}, "team": map[string]any{"id": team, "domain": "example"},
		"api_app_id": "A123456", "container": map[string]any{"type": "view", "view_id": v.ID},
		"view": map[string]any{"id": v.ID, "type": "modal", "callback_id": blocks.PickerCallbackID, "private_metadata": v.PrivateMetadata},
	}
	var answer struct {
		Options []struct{ Value string } `json:"options"`
	}
	w.mustSend(slacktest.PayloadRequest("/slack/options", secret, payload)).json(t, &answer)
	var got []string
	for _, o := range answer.Options {
		got = append(got, o.Value)
	}
	if len(got) != 10 || got[0] != "team-140" || got[9] != "team-149" {
		t.Errorf("accounts suggested for %q = %v, want team-140 … team-149", "Team-14", got)
	}
	w.mustSend(slacktest.PayloadRequest("/slack/options", secret, func() map[string]any { payload["value"] = ""; return payload }())).json(t, &answer)
	if len(answer.Options) != blocks.MaxOptions {
		t.Errorf("accounts suggested for nothing typed = %d, want the first %d", len(answer.Options), blocks.MaxOptions)
	}
}
