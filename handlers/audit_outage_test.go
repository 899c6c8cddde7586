package handlers_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/alicebob/miniredis/v2"

	"github.com/charlize-app/charlize/store"
)

// auditOutage is a store whose audit log can be taken away: AppendAudit
// answers ErrUnavailable while down, as a store that cannot be reached
// does; everything else is the real store.
type auditOutage struct {
	store.Store
	down    atomic.Bool
	refused atomic.Int64
}

func (s *auditOutage) AppendAudit(ctx context.Context, e store.AuditEntry) error {
	if s.down.Load() {
		s.refused.Add(1)
		return fmt.Errorf("append audit: %w", store.ErrUnavailable)
	}
	return s.Store.AppendAudit(ctx, e)
}

// metric reads one unlabelled series from /metrics.
func (w *world) metric(name string) string {
	w.t.Helper()
	resp, err := http.Get(w.server.URL + "/metrics")
	if err != nil {
		w.t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	for _, line := range strings.Split(string(body), "\n") {
		if v, ok := strings.CutPrefix(line, name+" "); ok {
			return v
		}
	}
	w.t.Fatalf("/metrics has no %s", name)
	return ""
}

// refusedStarts presses Start on each running instance named: each is
// refused (it is running) and audited; it returns once each refusal was
// answered, which is after its audit entry was offered to the store.
func (w *world) refusedStarts(t *testing.T, names ...string) {
	t.Helper()
	w.command(alice, "list", "outage-list")
	list := w.urlPost("outage-list", waitResult)
	for _, name := range names {
		id := "outage-" + name
		w.click(alice, as(mustButtonOf(t, list, name, "act:stop"), "start"), id)
		w.waitForURLText(id, "already running", waitResult)
	}
}

// Defect: audit entries written while the store was unreachable existed
// only in the log. They wait in memory and are written, oldest first with
// their original times, once the store answers again.
func TestAuditEntriesSurviveStoreOutage(t *testing.T) {
	eachStore(t, func(t *testing.T, redis bool) {
		outage := &auditOutage{}
		w := newWorld(t, worldOptions{redis: redis, auditRetry: 10 * time.Millisecond,
			wrapStore: func(s store.Store) store.Store { outage.Store = s; return outage }})
		outage.down.Store(true)
		w.refusedStarts(t, "web-1", "web-2")
		if n := outage.refused.Load(); n < 2 {
			t.Fatalf("the store refused %d audit entries, want the 2 refusals offered to it", n)
		}
		if got := w.metric("charlize_audit_buffered"); got != "2" {
			t.Errorf("charlize_audit_buffered = %s during the outage, want 2", got)
		}
		if es := w.audits(); len(es) != 0 {
			t.Fatalf("audit log during the outage = %s, want nothing written", auditDump(es))
		}

		up := time.Now()
		outage.down.Store(false)
		w.waitAudit("the second refusal", func(e store.AuditEntry) bool { return e.InstanceName == "web-2" })
		es := w.audits()
		if len(es) != 2 || es[1].InstanceName != "web-1" || es[0].InstanceName != "web-2" {
			t.Fatalf("audit log after the outage = %s, want web-1's then web-2's refusal", auditDump(es))
		}
		for _, e := range es {
			if !e.Time.Before(up) || e.Result != store.ResultRefused || !strings.Contains(e.Error, "already running") {
				t.Errorf("entry %+v, want its refusal at its original time (before %s)", e, up)
			}
		}
		if !es[1].Time.Before(es[0].Time) && !es[1].Time.Equal(es[0].Time) {
			t.Errorf("entries out of order: %s then %s", es[1].Time, es[0].Time)
		}
		// The gauge is set once the write returns, just after the entry
		// is readable in the store.
		got := w.metric("charlize_audit_buffered")
		for deadline := time.Now().Add(2 * time.Second); got != "0" && time.Now().Before(deadline); got = w.metric("charlize_audit_buffered") {
			time.Sleep(10 * time.Millisecond)
		}
		if got != "0" {
			t.Errorf("charlize_audit_buffered = %s after the outage, want 0", got)
		}
		if got := w.metric("charlize_audit_dropped_total"); got != "0" {
			t.Errorf("charlize_audit_dropped_total = %s, want 0", got)
		}
	})
}

// The buffer is bounded: past it, the oldest entry goes, and is counted.
func TestAuditBufferDropsOldestAndCounts(t *testing.T) {
	t.Parallel()
	outage := &auditOutage{}
	w := newWorld(t, worldOptions{auditBuffer: 2, auditRetry: 10 * time.Millisecond,
		wrapStore: func(s store.Store) store.Store { outage.Store = s; return outage }})
	outage.down.Store(true)
	w.refusedStarts(t, "web-1", "web-2", "db-1")
	if got := w.metric("charlize_audit_dropped_total"); got != "1" {
		t.Errorf("charlize_audit_dropped_total = %s, want 1", got)
	}
	outage.down.Store(false)
	w.waitAudit("db-1's refusal", func(e store.AuditEntry) bool { return e.InstanceName == "db-1" })
	es := w.audits()
	if len(es) != 2 || es[1].InstanceName != "web-2" || es[0].InstanceName != "db-1" {
		t.Errorf("audit log = %s, want web-2's and db-1's (web-1's, the oldest, dropped)", auditDump(es))
	}
}

// A real outage: Redis goes away while an action runs and comes back after
// it ended. Its audit entry reaches Redis, with the time it was taken.
func TestAuditSurvivesRedisGoingAway(t *testing.T) {
	t.Parallel()
	redis := miniredis.RunT(t)
	// No retries: a call to the absent Redis fails at once rather than
	// after go-redis' backoff, so the action ends while it is away.
	w := newWorld(t, worldOptions{redisURL: "redis://" + redis.Addr() + "/?max_retries=-1&dial_timeout=100ms",
		transition: 500 * time.Millisecond, auditRetry: 20 * time.Millisecond})
	stop := mustButton(t, w.instanceCard("web-1", "away-card"), "act:stop", "")
	w.click(alice, stop, "away-click")
	w.waitForText("chat.postMessage", "Stopping", waitResult)
	redis.Close()
	w.waitForText("chat.update", "stopped in", waitResult)
	if got := w.metric("charlize_audit_buffered"); got != "1" {
		t.Errorf("charlize_audit_buffered = %s while Redis is away, want 1 (the stop)", got)
	}
	back := time.Now()
	if err := redis.Restart(); err != nil {
		t.Fatal(err)
	}
	// The client may take a moment to find Redis again.
	var (
		e     store.AuditEntry
		found bool
	)
	for deadline := time.Now().Add(waitResult); !found; {
		es, err := w.store.RecentAudit(context.Background(), 10)
		for _, got := range es {
			if entry(alice, "stop", "allowed", "done")(got) {
				e, found = got, true
			}
		}
		if !found && time.Now().After(deadline) {
			t.Fatalf("no stop in the audit log after Redis came back: %s (%v)", auditDump(es), err)
		}
		time.Sleep(20 * time.Millisecond)
	}
	if !e.Time.Before(back) || e.InstanceName != "web-1" {
		t.Errorf("entry %+v, want web-1's stop at the time it started (before %s)", e, back)
	}
}
