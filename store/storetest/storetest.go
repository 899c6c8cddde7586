// Package storetest is the conformance suite that every store.Store
// implementation must pass, plus shared benchmarks and a manual clock.
// It holds no implementation of its own; each implementation's tests call
// Run with a function that opens a fresh, empty store.
package storetest

import (
	"errors"
	"fmt"
	"slices"
	"sort"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/charlize-app/charlize/store"
)

// Harness is one fresh, empty store under test.
type Harness struct {
	Store store.Store
	// Advance moves the store's clock forward by d: a fake clock, a
	// miniredis FastForward, or a real sleep.
	Advance func(d time.Duration)
	// AuditLimit is the audit bound the store was opened with. Keep it
	// small (say 5) so the bound test stays quick.
	AuditLimit int
}

// Lifetimes used by the suite. shortTTL is short because against a real
// Redis Advance sleeps; longTTL outlives any test.
const (
	shortTTL = 500 * time.Millisecond
	pastTTL  = shortTTL + 100*time.Millisecond
	longTTL  = time.Hour
)

// Run runs every conformance test against stores made by open. Each test
// gets its own store and may run in parallel with the others, so open
// must be safe to call concurrently, return an isolated store, and
// arrange (with t.Cleanup) to close it.
func Run(t *testing.T, open func(t *testing.T) Harness) {
	tests := []struct {
		name string
		fn   func(t *testing.T, h Harness)
	}{
		{"InstallationRoundTrip", testInstallationRoundTrip},
		{"InstallationOverwrite", testInstallationOverwrite},
		{"InstallationDelete", testInstallationDelete},
		{"InstallationNotFound", testInstallationNotFound},
		{"InstallationEnterpriseKeyDistinct", testInstallationEnterpriseKeyDistinct},
		{"SessionRoundTrip", testSessionRoundTrip},
		{"SessionNotFound", testSessionNotFound},
		{"SessionExpiry", testSessionExpiry},
		{"SessionDelete", testSessionDelete},
		{"DeleteTeamSessions", testDeleteTeamSessions},
		{"ClaimFirstWins", testClaimFirstWins},
		{"ClaimExpiry", testClaimExpiry},
		{"ReleaseClaim", testReleaseClaim},
		{"ClaimRace", testClaimRace},
		{"LeaseRenewal", testLeaseRenewal},
		{"LeaseTakeover", testLeaseTakeover},
		{"LeaseOneOwnerRace", testLeaseOneOwnerRace},
		{"ActionRoundTrip", testActionRoundTrip},
		{"ActionExpiry", testActionExpiry},
		{"OpenActions", testOpenActions},
		{"Schedules", testSchedules},
		{"Snoozes", testSnoozes},
		{"SnoozeExpiry", testSnoozeExpiry},
		{"NoticeRoundTrip", testNoticeRoundTrip},
		{"NoticeExpiry", testNoticeExpiry},
		{"GroupAppendOrder", testGroupAppendOrder},
		{"GroupExpiryFromFirstItem", testGroupExpiryFromFirstItem},
		{"GroupAppendRace", testGroupAppendRace},
		{"TakeNumberFrom", testTakeNumberFrom},
		{"TakeNumberExpiry", testTakeNumberExpiry},
		{"TakeNumberRace", testTakeNumberRace},
		{"OAuthStateConsumeOnce", testOAuthStateConsumeOnce},
		{"OAuthStateUnknown", testOAuthStateUnknown},
		{"OAuthStateExpired", testOAuthStateExpired},
		{"OAuthStateRace", testOAuthStateRace},
		{"AuditRoundTrip", testAuditRoundTrip},
		{"AuditFewerThanAsked", testAuditFewerThanAsked},
		{"AuditBound", testAuditBound},
		{"Ping", testPing},
		{"ClockGoesOn", testClockGoesOn},
		{"ConcurrentMixedUse", testConcurrentMixedUse},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			tc.fn(t, open(t))
		})
	}
}

// atOnce runs call(0) … call(n-1), each on its own goroutine, released
// together, and returns when all have returned.
func atOnce(n int, call func(i int)) {
	start := make(chan struct{})
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			<-start
			call(i)
		})
	}
	close(start)
	wg.Wait()
}

// opts compares stored values: times by instant (JSON round trips change
// the location and drop the monotonic reading), nil and empty alike.
var opts = cmp.Options{
	cmp.Comparer(func(a, b time.Time) bool { return a.Equal(b) }),
	cmpopts.EquateEmpty(),
}

func testInstallationRoundTrip(t *testing.T, h Harness) {
	want := fullInstallation("T1")
	mustSaveInstallation(t, h.Store, want)
	got := mustInstallation(t, h.Store, want.Key)
	if diff := cmp.Diff(want, got, opts); diff != "" {
		t.Errorf("Installation(%q) mismatch (-want +got):\n%s", want.Key, diff)
	}
}

func testInstallationOverwrite(t *testing.T, h Harness) {
	first := fullInstallation("T1")
	mustSaveInstallation(t, h.Store, first)
	second := first
	second.BotToken = "xoxb-rotated"
	second.Scopes = []string{"commands"}
	mustSaveInstallation(t, h.Store, second)
	got := mustInstallation(t, h.Store, first.Key)
	if diff := cmp.Diff(second, got, opts); diff != "" {
		t.Errorf("Installation(%q) after overwrite mismatch (-want +got):\n%s", first.Key, diff)
	}
}

func testInstallationDelete(t *testing.T, h Harness) {
	inst := fullInstallation("T1")
	mustSaveInstallation(t, h.Store, inst)
	if err := h.Store.DeleteInstallation(t.Context(), inst.Key); err != nil {
		t.Fatalf("DeleteInstallation(%q) = %v, want nil", inst.Key, err)
	}
	if _, err := h.Store.Installation(t.Context(), inst.Key); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("Installation(%q) after delete = %v, want ErrNotFound", inst.Key, err)
	}
	if err := h.Store.DeleteInstallation(t.Context(), inst.Key); err != nil {
		t.Errorf("DeleteInstallation(%q) twice = %v, want nil", inst.Key, err)
	}
}

func testInstallationNotFound(t *testing.T, h Harness) {
	for _, key := range []string{store.TeamKey("T404"), store.EnterpriseKey("E404")} {
		if _, err := h.Store.Installation(t.Context(), key); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("Installation(%q) = %v, want ErrNotFound", key, err)
		}
	}
}

func testInstallationEnterpriseKeyDistinct(t *testing.T, h Harness) {
	// The same id as team and as enterprise must be two installations.
	team := fullInstallation("X1")
	org := fullInstallation("X1")
	org.Key = store.EnterpriseKey("X1")
	org.IsEnterpriseInstall = true
	org.BotToken = "xoxb-org"
	mustSaveInstallation(t, h.Store, team)
	mustSaveInstallation(t, h.Store, org)

	if got := mustInstallation(t, h.Store, team.Key); got.BotToken != team.BotToken {
		t.Errorf("Installation(%q).BotToken = %q, want %q", team.Key, got.BotToken, team.BotToken)
	}
	if got := mustInstallation(t, h.Store, org.Key); got.BotToken != org.BotToken {
		t.Errorf("Installation(%q).BotToken = %q, want %q", org.Key, got.BotToken, org.BotToken)
	}
	if err := h.Store.DeleteInstallation(t.Context(), team.Key); err != nil {
		t.Fatalf("DeleteInstallation(%q) = %v, want nil", team.Key, err)
	}
	if _, err := h.Store.Installation(t.Context(), org.Key); err != nil {
		t.Errorf("Installation(%q) after deleting %q = %v, want nil", org.Key, team.Key, err)
	}
}

func testSessionRoundTrip(t *testing.T, h Harness) {
	want := store.Session{ID: "s1", TeamID: "T1", Data: []byte(`{"page":2}` + "\x00\xff")}
	mustPutSession(t, h.Store, want, longTTL)
	got := mustSession(t, h.Store, want.ID)
	if diff := cmp.Diff(want, got, opts); diff != "" {
		t.Errorf("Session(%q) mismatch (-want +got):\n%s", want.ID, diff)
	}
}

func testSessionNotFound(t *testing.T, h Harness) {
	if _, err := h.Store.Session(t.Context(), "nope"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("Session(%q) = %v, want ErrNotFound", "nope", err)
	}
}

func testSessionExpiry(t *testing.T, h Harness) {
	s := store.Session{ID: "s1", TeamID: "T1", Data: []byte("x")}
	mustPutSession(t, h.Store, s, shortTTL)
	mustSession(t, h.Store, s.ID)
	h.Advance(pastTTL)
	if _, err := h.Store.Session(t.Context(), s.ID); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("Session(%q) after its TTL = %v, want ErrNotFound", s.ID, err)
	}
}

func testSessionDelete(t *testing.T, h Harness) {
	s := store.Session{ID: "s1", TeamID: "T1"}
	mustPutSession(t, h.Store, s, longTTL)
	if err := h.Store.DeleteSession(t.Context(), s.ID); err != nil {
		t.Fatalf("DeleteSession(%q) = %v, want nil", s.ID, err)
	}
	if _, err := h.Store.Session(t.Context(), s.ID); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("Session(%q) after delete = %v, want ErrNotFound", s.ID, err)
	}
	if err := h.Store.DeleteSession(t.Context(), "never-existed"); err != nil {
		t.Errorf("DeleteSession(%q) = %v, want nil", "never-existed", err)
	}
}

func testDeleteTeamSessions(t *testing.T, h Harness) {
	ctx := t.Context()
	for _, s := range []store.Session{
		{ID: "a1", TeamID: "TA"},
		{ID: "a2", TeamID: "TA"},
		{ID: "b1", TeamID: "TB"},
		{ID: "deleted", TeamID: "TA"},
		{ID: "moved", TeamID: "TA"},
	} {
		mustPutSession(t, h.Store, s, longTTL)
	}
	mustPutSession(t, h.Store, store.Session{ID: "expired", TeamID: "TA"}, shortTTL)
	// An id reused by another team belongs to that team now.
	mustPutSession(t, h.Store, store.Session{ID: "moved", TeamID: "TB"}, longTTL)
	if err := h.Store.DeleteSession(ctx, "deleted"); err != nil {
		t.Fatalf("DeleteSession(%q) = %v, want nil", "deleted", err)
	}
	// Index entries whose session expired or was deleted must not trip it.
	h.Advance(pastTTL)

	if err := h.Store.DeleteTeamSessions(ctx, "TA"); err != nil {
		t.Fatalf("DeleteTeamSessions(%q) = %v, want nil", "TA", err)
	}
	for _, id := range []string{"a1", "a2", "expired", "deleted"} {
		if _, err := h.Store.Session(ctx, id); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("Session(%q) after DeleteTeamSessions(TA) = %v, want ErrNotFound", id, err)
		}
	}
	for _, id := range []string{"b1", "moved"} {
		if _, err := h.Store.Session(ctx, id); err != nil {
			t.Errorf("Session(%q) of team TB after DeleteTeamSessions(TA) = %v, want nil", id, err)
		}
	}
	if err := h.Store.DeleteTeamSessions(ctx, "T-none"); err != nil {
		t.Errorf("DeleteTeamSessions(%q) = %v, want nil", "T-none", err)
	}
}

func testClaimFirstWins(t *testing.T, h Harness) {
	steps := []struct {
		key, holder string
		wantWon     bool
		wantCurrent string
	}{
		{"k1", "alice", true, "alice"},
		{"k1", "bob", false, "alice"},
		{"k2", "bob", true, "bob"}, // keys are independent
		{"k1", "carol", false, "alice"},
	}
	for _, st := range steps {
		mustClaim(t, h.Store, st.key, st.holder, longTTL, st.wantWon, st.wantCurrent)
	}
}

func testClaimExpiry(t *testing.T, h Harness) {
	mustClaim(t, h.Store, "k", "alice", shortTTL, true, "alice")
	mustClaim(t, h.Store, "k", "bob", shortTTL, false, "alice")
	h.Advance(pastTTL)
	mustClaim(t, h.Store, "k", "bob", longTTL, true, "bob")
}

func testReleaseClaim(t *testing.T, h Harness) {
	ctx := t.Context()
	mustClaim(t, h.Store, "k", "alice", longTTL, true, "alice")
	if err := h.Store.ReleaseClaim(ctx, "k", "mallory"); err != nil {
		t.Fatalf("ReleaseClaim(k, mallory) = %v, want nil", err)
	}
	mustClaim(t, h.Store, "k", "bob", longTTL, false, "alice")
	if err := h.Store.ReleaseClaim(ctx, "k", "alice"); err != nil {
		t.Fatalf("ReleaseClaim(k, alice) = %v, want nil", err)
	}
	mustClaim(t, h.Store, "k", "bob", longTTL, true, "bob")
	if err := h.Store.ReleaseClaim(ctx, "unclaimed", "alice"); err != nil {
		t.Errorf("ReleaseClaim(unclaimed, alice) = %v, want nil", err)
	}
}

func testClaimRace(t *testing.T, h Harness) {
	const n = 50
	type result struct {
		holder, current string
		won             bool
		err             error
	}
	results := make([]result, n)
	atOnce(n, func(i int) {
		holder := "holder-" + strconv.Itoa(i)
		won, current, err := h.Store.Claim(t.Context(), "contended", holder, longTTL)
		results[i] = result{holder: holder, current: current, won: won, err: err}
	})

	var winners []string
	for _, r := range results {
		if r.err != nil {
			t.Fatalf("Claim(contended, %s) = %v, want nil error", r.holder, r.err)
		}
		if r.won {
			winners = append(winners, r.holder)
		}
	}
	if len(winners) != 1 {
		t.Fatalf("%d concurrent Claims: winners = %v, want exactly one", n, winners)
	}
	for _, r := range results {
		if r.current != winners[0] {
			t.Errorf("Claim(contended, %s) current = %q, want winner %q", r.holder, r.current, winners[0])
		}
	}
}

// A claim renewed by its holder is a lease: it outlives its first TTL
// while renewed, nobody else can renew it, and it ends when renewals stop.
func testLeaseRenewal(t *testing.T, h Harness) {
	ctx := t.Context()
	mustClaim(t, h.Store, "lease", "replica-a", shortTTL, true, "replica-a")
	if ok, err := h.Store.RenewClaim(ctx, "lease", "replica-b", longTTL); err != nil || ok {
		t.Fatalf("RenewClaim(lease, replica-b) = %v, %v, want false: only the holder renews", ok, err)
	}
	h.Advance(shortTTL / 2)
	if ok, err := h.Store.RenewClaim(ctx, "lease", "replica-a", shortTTL); err != nil || !ok {
		t.Fatalf("RenewClaim(lease, replica-a) = %v, %v, want true", ok, err)
	}
	h.Advance(shortTTL/2 + shortTTL/4)
	// Past the first TTL, inside the renewed one.
	mustClaim(t, h.Store, "lease", "replica-b", shortTTL, false, "replica-a")
	if ok, err := h.Store.RenewClaim(ctx, "unclaimed", "replica-a", shortTTL); err != nil || ok {
		t.Errorf("RenewClaim(unclaimed) = %v, %v, want false", ok, err)
	}
}

// A lease whose holder stopped renewing (it died) can be taken over, and
// the dead holder cannot renew it back.
func testLeaseTakeover(t *testing.T, h Harness) {
	ctx := t.Context()
	mustClaim(t, h.Store, "lease", "dead", shortTTL, true, "dead")
	h.Advance(pastTTL)
	if ok, err := h.Store.RenewClaim(ctx, "lease", "dead", longTTL); err != nil || ok {
		t.Fatalf("RenewClaim of an expired lease = %v, %v, want false", ok, err)
	}
	mustClaim(t, h.Store, "lease", "taker", longTTL, true, "taker")
	if ok, err := h.Store.RenewClaim(ctx, "lease", "taker", longTTL); err != nil || !ok {
		t.Errorf("RenewClaim by the taker = %v, %v, want true", ok, err)
	}
}

// Of many replicas taking over one expired lease at once, one owns it.
func testLeaseOneOwnerRace(t *testing.T, h Harness) {
	mustClaim(t, h.Store, "lease", "dead", shortTTL, true, "dead")
	h.Advance(pastTTL)
	const n = 20
	var owners atomic.Int32
	atOnce(n, func(i int) {
		won, _, err := h.Store.Claim(t.Context(), "lease", "replica-"+strconv.Itoa(i), longTTL)
		if err != nil {
			t.Errorf("Claim = %v", err)
		}
		if won {
			owners.Add(1)
		}
	})
	if got := owners.Load(); got != 1 {
		t.Errorf("%d replicas own the lease after a takeover race, want 1", got)
	}
}

func testActionRoundTrip(t *testing.T, h Harness) {
	ctx := t.Context()
	want := store.ActionRecord{ID: "a1", TeamID: "T1", Open: true, Data: []byte(`{"state":"acting"}`)}
	if err := h.Store.SaveAction(ctx, want, longTTL); err != nil {
		t.Fatalf("SaveAction = %v", err)
	}
	got, err := h.Store.Action(ctx, "a1")
	if err != nil {
		t.Fatalf("Action(a1) = %v", err)
	}
	if diff := cmp.Diff(want, got, opts); diff != "" {
		t.Errorf("Action(a1) mismatch (-want +got):\n%s", diff)
	}
	want.Open, want.Data = false, []byte(`{"state":"settled"}`)
	if err := h.Store.SaveAction(ctx, want, longTTL); err != nil {
		t.Fatalf("SaveAction (settled) = %v", err)
	}
	if got, _ := h.Store.Action(ctx, "a1"); got.Open || string(got.Data) != `{"state":"settled"}` {
		t.Errorf("Action(a1) after settling = %+v", got)
	}
	if _, err := h.Store.Action(ctx, "unknown"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("Action(unknown) = %v, want ErrNotFound", err)
	}
}

func testActionExpiry(t *testing.T, h Harness) {
	ctx := t.Context()
	if err := h.Store.SaveAction(ctx, store.ActionRecord{ID: "a1", TeamID: "T1", Open: true}, shortTTL); err != nil {
		t.Fatal(err)
	}
	h.Advance(pastTTL)
	if _, err := h.Store.Action(ctx, "a1"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("Action(a1) after its TTL = %v, want ErrNotFound", err)
	}
	open, err := h.Store.OpenActions(ctx)
	if err != nil || len(open) != 0 {
		t.Errorf("OpenActions after expiry = %+v, %v, want none", open, err)
	}
}

// OpenActions lists what has not ended, whoever saved it, and drops an
// action once it is saved closed.
func testOpenActions(t *testing.T, h Harness) {
	ctx := t.Context()
	for _, a := range []store.ActionRecord{
		{ID: "a1", TeamID: "T1", Open: true, Data: []byte("1")},
		{ID: "a2", TeamID: "T2", Open: true, Data: []byte("2")},
		{ID: "a3", TeamID: "T1", Open: false, Data: []byte("3")},
	} {
		if err := h.Store.SaveAction(ctx, a, longTTL); err != nil {
			t.Fatal(err)
		}
	}
	ids := func() []string {
		t.Helper()
		open, err := h.Store.OpenActions(ctx)
		if err != nil {
			t.Fatalf("OpenActions = %v", err)
		}
		var out []string
		for _, a := range open {
			out = append(out, a.ID+"="+string(a.Data))
		}
		sort.Strings(out)
		return out
	}
	if got, want := ids(), []string{"a1=1", "a2=2"}; !slices.Equal(got, want) {
		t.Errorf("OpenActions = %v, want %v", got, want)
	}
	if err := h.Store.SaveAction(ctx, store.ActionRecord{ID: "a1", TeamID: "T1", Open: false, Data: []byte("1")}, longTTL); err != nil {
		t.Fatal(err)
	}
	if got, want := ids(), []string{"a2=2"}; !slices.Equal(got, want) {
		t.Errorf("OpenActions after closing a1 = %v, want %v", got, want)
	}
}

// Schedules are listed by name; saving a name again replaces it; deleting
// a missing one is no error.
func testSchedules(t *testing.T, h Harness) {
	ctx := t.Context()
	for _, sc := range []store.ScheduleRecord{
		{Name: "office-hours", Data: []byte("1")},
		{Name: "nightly", Data: []byte("2")},
		{Name: "office-hours", Data: []byte("3")},
	} {
		if err := h.Store.SaveSchedule(ctx, sc); err != nil {
			t.Fatalf("SaveSchedule(%s) = %v", sc.Name, err)
		}
	}
	names := func() []string {
		t.Helper()
		all, err := h.Store.Schedules(ctx)
		if err != nil {
			t.Fatalf("Schedules = %v", err)
		}
		var out []string
		for _, sc := range all {
			out = append(out, sc.Name+"="+string(sc.Data))
		}
		return out
	}
	if got, want := names(), []string{"nightly=2", "office-hours=3"}; !slices.Equal(got, want) {
		t.Errorf("Schedules = %v, want %v", got, want)
	}
	if err := h.Store.DeleteSchedule(ctx, "nightly"); err != nil {
		t.Fatalf("DeleteSchedule = %v", err)
	}
	if err := h.Store.DeleteSchedule(ctx, "never-was"); err != nil {
		t.Errorf("DeleteSchedule(never-was) = %v, want nil", err)
	}
	if got, want := names(), []string{"office-hours=3"}; !slices.Equal(got, want) {
		t.Errorf("Schedules after delete = %v, want %v", got, want)
	}
	if err := h.Store.SaveSchedule(ctx, store.ScheduleRecord{}); err == nil {
		t.Errorf("SaveSchedule without a name = nil, want an error")
	}
}

// One snooze per instance: saving again replaces it, deleting ends it.
func testSnoozes(t *testing.T, h Harness) {
	ctx := t.Context()
	for _, sn := range []store.Snooze{
		{Instance: "acme/eu-west-1/i-1", Data: []byte("1h")},
		{Instance: "acme/eu-west-1/i-2", Data: []byte("skip")},
		{Instance: "acme/eu-west-1/i-1", Data: []byte("4h")},
	} {
		if err := h.Store.SaveSnooze(ctx, sn, longTTL); err != nil {
			t.Fatalf("SaveSnooze(%s) = %v", sn.Instance, err)
		}
	}
	list := func() []string {
		t.Helper()
		all, err := h.Store.Snoozes(ctx)
		if err != nil {
			t.Fatalf("Snoozes = %v", err)
		}
		var out []string
		for _, sn := range all {
			out = append(out, sn.Instance+"="+string(sn.Data))
		}
		sort.Strings(out)
		return out
	}
	if got, want := list(), []string{"acme/eu-west-1/i-1=4h", "acme/eu-west-1/i-2=skip"}; !slices.Equal(got, want) {
		t.Errorf("Snoozes = %v, want %v", got, want)
	}
	if err := h.Store.DeleteSnooze(ctx, "acme/eu-west-1/i-1"); err != nil {
		t.Fatalf("DeleteSnooze = %v", err)
	}
	if err := h.Store.DeleteSnooze(ctx, "acme/eu-west-1/i-9"); err != nil {
		t.Errorf("DeleteSnooze(unknown) = %v, want nil", err)
	}
	if got, want := list(), []string{"acme/eu-west-1/i-2=skip"}; !slices.Equal(got, want) {
		t.Errorf("Snoozes after delete = %v, want %v", got, want)
	}
}

// A snooze ends by itself: past its TTL it is not listed.
func testSnoozeExpiry(t *testing.T, h Harness) {
	ctx := t.Context()
	if err := h.Store.SaveSnooze(ctx, store.Snooze{Instance: "a/r/i-1", Data: []byte("x")}, shortTTL); err != nil {
		t.Fatal(err)
	}
	if err := h.Store.SaveSnooze(ctx, store.Snooze{Instance: "a/r/i-2", Data: []byte("y")}, longTTL); err != nil {
		t.Fatal(err)
	}
	h.Advance(pastTTL)
	all, err := h.Store.Snoozes(ctx)
	if err != nil || len(all) != 1 || all[0].Instance != "a/r/i-2" {
		t.Errorf("Snoozes after one expired = %+v, %v, want a/r/i-2 alone", all, err)
	}
}

func testOAuthStateConsumeOnce(t *testing.T, h Harness) {
	ctx := t.Context()
	want := []byte(`{"redirect":"/done"}`)
	if err := h.Store.PutOAuthState(ctx, "st1", want, longTTL); err != nil {
		t.Fatalf("PutOAuthState = %v, want nil", err)
	}
	got, err := h.Store.ConsumeOAuthState(ctx, "st1")
	if err != nil {
		t.Fatalf("ConsumeOAuthState first = %v, want nil", err)
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("ConsumeOAuthState data mismatch (-want +got):\n%s", diff)
	}
	if _, err := h.Store.ConsumeOAuthState(ctx, "st1"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("ConsumeOAuthState second = %v, want ErrNotFound", err)
	}
}

func testOAuthStateUnknown(t *testing.T, h Harness) {
	if _, err := h.Store.ConsumeOAuthState(t.Context(), "unknown"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("ConsumeOAuthState(unknown) = %v, want ErrNotFound", err)
	}
}

func testOAuthStateExpired(t *testing.T, h Harness) {
	if err := h.Store.PutOAuthState(t.Context(), "st1", []byte("x"), shortTTL); err != nil {
		t.Fatalf("PutOAuthState = %v, want nil", err)
	}
	h.Advance(pastTTL)
	if _, err := h.Store.ConsumeOAuthState(t.Context(), "st1"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("ConsumeOAuthState(expired) = %v, want ErrNotFound", err)
	}
}

func testOAuthStateRace(t *testing.T, h Harness) {
	const n = 20
	if err := h.Store.PutOAuthState(t.Context(), "st1", []byte("x"), longTTL); err != nil {
		t.Fatalf("PutOAuthState = %v, want nil", err)
	}
	var consumed atomic.Int32
	atOnce(n, func(int) {
		_, err := h.Store.ConsumeOAuthState(t.Context(), "st1")
		switch {
		case err == nil:
			consumed.Add(1)
		case !errors.Is(err, store.ErrNotFound):
			t.Errorf("ConsumeOAuthState = %v, want nil or ErrNotFound", err)
		}
	})
	if got := consumed.Load(); got != 1 {
		t.Errorf("%d concurrent ConsumeOAuthState: %d succeeded, want 1", n, got)
	}
}

func testAuditRoundTrip(t *testing.T, h Harness) {
	base := time.Date(2025, 3, 14, 15, 9, 26, 535897932, time.FixedZone("CET", 3600))
	var want []store.AuditEntry
	for i := range 3 {
		e := store.AuditEntry{
			Time:         base.Add(time.Duration(i) * time.Second),
			RequestID:    "req-" + strconv.Itoa(i),
			TeamID:       "T1",
			ChannelID:    "C1",
			UserID:       "U1",
			Account:      "123456789012",
			Region:       "eu-west-1",
			InstanceID:   "i-0abc",
			InstanceName: "web-1",
			Action:       "stop",
			Decision:     "approved",
			Rule:         "prod-needs-approval",
			Result:       "failed",
			Error:        "UnauthorizedOperation: ec2:StopInstances",
			Duration:     1234567891 * time.Nanosecond,
		}
		mustAppendAudit(t, h.Store, e)
		want = append([]store.AuditEntry{e}, want...) // newest first
	}
	got := mustRecentAudit(t, h.Store, 3)
	if diff := cmp.Diff(want, got, opts); diff != "" {
		t.Errorf("RecentAudit(3) mismatch (-want +got):\n%s", diff)
	}
}

func testAuditFewerThanAsked(t *testing.T, h Harness) {
	if got := mustRecentAudit(t, h.Store, 10); len(got) != 0 {
		t.Errorf("RecentAudit(10) on empty log = %d entries, want 0", len(got))
	}
	mustAppendAudit(t, h.Store, store.AuditEntry{Action: "list", RequestID: "r0"})
	mustAppendAudit(t, h.Store, store.AuditEntry{Action: "list", RequestID: "r1"})
	tests := []struct {
		n    int
		want []string
	}{
		{n: 10, want: []string{"r1", "r0"}},
		{n: 1, want: []string{"r1"}},
		{n: 0, want: nil},
	}
	for _, tc := range tests {
		got := requestIDs(mustRecentAudit(t, h.Store, tc.n))
		if diff := cmp.Diff(tc.want, got, cmpopts.EquateEmpty()); diff != "" {
			t.Errorf("RecentAudit(%d) request ids mismatch (-want +got):\n%s", tc.n, diff)
		}
	}
}

func testAuditBound(t *testing.T, h Harness) {
	limit := h.AuditLimit
	if limit <= 0 || limit > 1000 {
		t.Fatalf("Harness.AuditLimit = %d, want a small positive bound", limit)
	}
	total := limit + 7
	for i := range total {
		mustAppendAudit(t, h.Store, store.AuditEntry{Action: "stop", RequestID: "r" + strconv.Itoa(i)})
	}
	var want []string
	for i := total - 1; i >= total-limit; i-- {
		want = append(want, "r"+strconv.Itoa(i))
	}
	got := requestIDs(mustRecentAudit(t, h.Store, total+100))
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("RecentAudit after %d appends with limit %d (-want +got):\n%s", total, limit, diff)
	}
}

func testPing(t *testing.T, h Harness) {
	if err := h.Store.Ping(t.Context()); err != nil {
		t.Errorf("Ping() = %v, want nil", err)
	}
}

// The store's clock answers, and does not go back as time passes.
func testClockGoesOn(t *testing.T, h Harness) {
	first, err := h.Store.Clock(t.Context())
	if err != nil || first.IsZero() {
		t.Fatalf("Clock() = %v, %v", first, err)
	}
	h.Advance(shortTTL)
	if then, err := h.Store.Clock(t.Context()); err != nil || then.Before(first) {
		t.Errorf("Clock() after %v = %v, %v; want no earlier than %v", shortTTL, then, err, first)
	}
}

// testConcurrentMixedUse is for -race: every operation at once, with
// shared keys, and only the outcomes the contract allows.
func testConcurrentMixedUse(t *testing.T, h Harness) {
	const workers, rounds = 8, 15
	ctx := t.Context()
	s := h.Store
	var wg sync.WaitGroup
	for w := range workers {
		wg.Go(func() {
			for r := range rounds {
				me := fmt.Sprintf("w%d-r%d", w, r)
				check := func(op string, err error, allowNotFound bool) {
					if err != nil && !(allowNotFound && errors.Is(err, store.ErrNotFound)) {
						t.Errorf("%s (%s) = %v", op, me, err)
					}
				}
				shared := store.TeamKey("T" + strconv.Itoa(r%3))
				inst := fullInstallation("T" + strconv.Itoa(r%3))
				inst.Key = shared
				check("SaveInstallation", s.SaveInstallation(ctx, inst), false)
				_, err := s.Installation(ctx, shared)
				check("Installation", err, true) // another worker may have deleted it
				if r%4 == 0 {
					check("DeleteInstallation", s.DeleteInstallation(ctx, shared), false)
				}

				check("PutSession", s.PutSession(ctx, store.Session{ID: me, TeamID: "T" + strconv.Itoa(w%2)}, longTTL), false)
				_, err = s.Session(ctx, me)
				check("Session", err, true) // DeleteTeamSessions may race it
				if r%5 == 0 {
					check("DeleteTeamSessions", s.DeleteTeamSessions(ctx, "T"+strconv.Itoa(w%2)), false)
				} else {
					check("DeleteSession", s.DeleteSession(ctx, me), false)
				}

				key := "job-" + strconv.Itoa(r%4)
				won, current, err := s.Claim(ctx, key, me, longTTL)
				check("Claim", err, false)
				if won != (current == me) {
					t.Errorf("Claim(%s, %s) = %v, %q: won must mean current is the caller", key, me, won, current)
				}
				if won {
					check("ReleaseClaim", s.ReleaseClaim(ctx, key, me), false)
				}

				check("PutOAuthState", s.PutOAuthState(ctx, me, []byte(me), longTTL), false)
				data, err := s.ConsumeOAuthState(ctx, me)
				check("ConsumeOAuthState", err, false)
				if string(data) != me {
					t.Errorf("ConsumeOAuthState(%s) = %q, want %q", me, data, me)
				}

				check("AppendAudit", s.AppendAudit(ctx, store.AuditEntry{Action: "mix", RequestID: me}), false)
				_, err = s.RecentAudit(ctx, 3)
				check("RecentAudit", err, false)
				check("Ping", s.Ping(ctx), false)
			}
		})
	}
	wg.Wait()
	want := min(workers*rounds, h.AuditLimit)
	if got := len(mustRecentAudit(t, s, workers*rounds)); got != want {
		t.Errorf("RecentAudit after %d concurrent appends = %d entries, want %d", workers*rounds, got, want)
	}
}

// Benchmark measures the hot paths of the stores made by open: winning a
// fresh claim, losing a held one, and reading a session.
func Benchmark(b *testing.B, open func(tb testing.TB) store.Store) {
	b.Run("Claim", func(b *testing.B) {
		s := open(b)
		i := 0
		for b.Loop() {
			i++
			if won, _, err := s.Claim(b.Context(), "bench-"+strconv.Itoa(i), "h", longTTL); err != nil || !won {
				b.Fatalf("Claim(bench-%d) = %v, %v, want true, nil", i, won, err)
			}
		}
	})
	b.Run("ClaimHeld", func(b *testing.B) {
		s := open(b)
		if _, _, err := s.Claim(b.Context(), "held", "owner", longTTL); err != nil {
			b.Fatalf("Claim(held) = %v", err)
		}
		for b.Loop() {
			if won, _, err := s.Claim(b.Context(), "held", "h", longTTL); err != nil || won {
				b.Fatalf("Claim(held) = %v, %v, want false, nil", won, err)
			}
		}
	})
	b.Run("Session", func(b *testing.B) {
		s := open(b)
		sess := store.Session{ID: "bench", TeamID: "T1", Data: make([]byte, 512)}
		if err := s.PutSession(b.Context(), sess, longTTL); err != nil {
			b.Fatalf("PutSession = %v", err)
		}
		for b.Loop() {
			if _, err := s.Session(b.Context(), sess.ID); err != nil {
				b.Fatalf("Session = %v", err)
			}
		}
	})
	b.Run("PutSessionParallel", func(b *testing.B) {
		// What the picker path does under load: many users' flows saved at once.
		s := open(b)
		var n atomic.Int64
		data := make([]byte, 512)
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				id := "bench-" + strconv.FormatInt(n.Add(1), 10)
				if err := s.PutSession(b.Context(), store.Session{ID: id, TeamID: "T1", Data: data}, longTTL); err != nil {
					b.Errorf("PutSession = %v", err)
					return
				}
			}
		})
	})
	b.Run("ClaimParallel", func(b *testing.B) {
		s := open(b)
		var n atomic.Int64
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				if _, _, err := s.Claim(b.Context(), "bench-"+strconv.FormatInt(n.Add(1), 10), "h", longTTL); err != nil {
					b.Errorf("Claim = %v", err)
					return
				}
			}
		})
	})
	b.Run("SessionParallel", func(b *testing.B) {
		s := open(b)
		sess := store.Session{ID: "bench", TeamID: "T1", Data: make([]byte, 512)}
		if err := s.PutSession(b.Context(), sess, longTTL); err != nil {
			b.Fatalf("PutSession = %v", err)
		}
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				if _, err := s.Session(b.Context(), sess.ID); err != nil {
					b.Errorf("Session = %v", err)
					return
				}
			}
		})
	})
}

func fullInstallation(teamID string) store.Installation {
	return store.Installation{
		Key:               store.TeamKey(teamID),
		TeamID:            teamID,
		TeamName:          "Acme " + teamID,
		EnterpriseID:      "E1",
		AppID:             "A1",
		BotUserID:         "UBOT",
		BotToken:          "xoxb-" + teamID,
		BotTokenExpiresAt: time.Date(2025, 6, 1, 12, 0, 0, 123456789, time.UTC),
		RefreshToken:      "xoxe-1-" + teamID,
		Scopes:            []string{"commands", "chat:write"},
		InstallerUserID:   "U1",
		InstalledAt:       time.Date(2025, 5, 1, 9, 30, 0, 0, time.FixedZone("PDT", -7*3600)),
	}
}

func requestIDs(es []store.AuditEntry) []string {
	var ids []string
	for _, e := range es {
		ids = append(ids, e.RequestID)
	}
	return ids
}

func mustSaveInstallation(t *testing.T, s store.Store, inst store.Installation) {
	t.Helper()
	if err := s.SaveInstallation(t.Context(), inst); err != nil {
		t.Fatalf("SaveInstallation(%q) = %v, want nil", inst.Key, err)
	}
}

func mustInstallation(t *testing.T, s store.Store, key string) store.Installation {
	t.Helper()
	inst, err := s.Installation(t.Context(), key)
	if err != nil {
		t.Fatalf("Installation(%q) = %v, want nil", key, err)
	}
	return inst
}

func mustPutSession(t *testing.T, s store.Store, sess store.Session, ttl time.Duration) {
	t.Helper()
	if err := s.PutSession(t.Context(), sess, ttl); err != nil {
		t.Fatalf("PutSession(%q, %v) = %v, want nil", sess.ID, ttl, err)
	}
}

func mustSession(t *testing.T, s store.Store, id string) store.Session {
	t.Helper()
	sess, err := s.Session(t.Context(), id)
	if err != nil {
		t.Fatalf("Session(%q) = %v, want nil", id, err)
	}
	return sess
}

func mustClaim(t *testing.T, s store.Store, key, holder string, ttl time.Duration, wantWon bool, wantCurrent string) {
	t.Helper()
	won, current, err := s.Claim(t.Context(), key, holder, ttl)
	if err != nil || won != wantWon || current != wantCurrent {
		t.Fatalf("Claim(%q, %q) = %v, %q, %v, want %v, %q, nil", key, holder, won, current, err, wantWon, wantCurrent)
	}
}

func mustAppendAudit(t *testing.T, s store.Store, e store.AuditEntry) {
	t.Helper()
	if err := s.AppendAudit(t.Context(), e); err != nil {
		t.Fatalf("AppendAudit(%q) = %v, want nil", e.RequestID, err)
	}
}

func mustRecentAudit(t *testing.T, s store.Store, n int) []store.AuditEntry {
	t.Helper()
	es, err := s.RecentAudit(t.Context(), n)
	if err != nil {
		t.Fatalf("RecentAudit(%d) = %v, want nil", n, err)
	}
	return es
}
