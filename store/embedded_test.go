package store_test

import (
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	bolt "go.etcd.io/bbolt"
	bolterrors "go.etcd.io/bbolt/errors"

	"github.com/charlize-app/charlize/store"
	"github.com/charlize-app/charlize/store/storetest"
)

var epoch = time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC)

func TestEmbedded(t *testing.T) {
	storetest.Run(t, func(t *testing.T) storetest.Harness {
		clock := storetest.NewClock(epoch)
		s := mustOpenEmbedded(t, t.TempDir(), store.EmbeddedOptions{Now: clock.Now, AuditLimit: 5})
		return storetest.Harness{Store: s, Advance: clock.Advance, AuditLimit: 5}
	})
}

func TestEmbeddedRestart(t *testing.T) {
	ctx := t.Context()
	dir := t.TempDir()
	clock := storetest.NewClock(epoch)
	opts := store.EmbeddedOptions{Now: clock.Now}

	s := mustOpenEmbedded(t, dir, opts)
	inst := store.Installation{Key: store.TeamKey("T1"), TeamID: "T1", BotToken: "xoxb-1", InstalledAt: epoch}
	if err := s.SaveInstallation(ctx, inst); err != nil {
		t.Fatalf("SaveInstallation = %v", err)
	}
	if err := s.AppendAudit(ctx, store.AuditEntry{Action: "stop", RequestID: "r1", Time: epoch}); err != nil {
		t.Fatalf("AppendAudit = %v", err)
	}
	if err := s.PutSession(ctx, store.Session{ID: "short", TeamID: "T1"}, time.Minute); err != nil {
		t.Fatalf("PutSession(short) = %v", err)
	}
	if err := s.PutSession(ctx, store.Session{ID: "long", TeamID: "T1"}, time.Hour); err != nil {
		t.Fatalf("PutSession(long) = %v", err)
	}
	if _, _, err := s.Claim(ctx, "job", "alice", time.Hour); err != nil {
		t.Fatalf("Claim = %v", err)
	}
	if err := s.Close(); err != nil {
		t.Fatalf("Close = %v", err)
	}

	// Expiry is absolute, so time spent down counts against TTLs.
	clock.Advance(2 * time.Minute)
	s = mustOpenEmbedded(t, dir, opts)

	got, err := s.Installation(ctx, inst.Key)
	if err != nil {
		t.Fatalf("Installation after reopen = %v, want nil", err)
	}
	if diff := cmp.Diff(inst, got, cmp.Comparer(func(a, b time.Time) bool { return a.Equal(b) })); diff != "" {
		t.Errorf("Installation after reopen mismatch (-want +got):\n%s", diff)
	}
	audit, err := s.RecentAudit(ctx, 10)
	if err != nil || len(audit) != 1 || audit[0].RequestID != "r1" {
		t.Errorf("RecentAudit after reopen = %+v, %v, want [r1], nil", audit, err)
	}
	if _, err := s.Session(ctx, "long"); err != nil {
		t.Errorf("Session(long) after reopen = %v, want nil", err)
	}
	if _, err := s.Session(ctx, "short"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("Session(short) after reopen past its TTL = %v, want ErrNotFound", err)
	}
	if won, current, err := s.Claim(ctx, "job", "bob", time.Hour); err != nil || won || current != "alice" {
		t.Errorf("Claim(job, bob) after reopen = %v, %q, %v, want false, alice, nil", won, current, err)
	}
	// A new entry must sort after the old one: the sequence survived too.
	if err := s.AppendAudit(ctx, store.AuditEntry{Action: "start", RequestID: "r2"}); err != nil {
		t.Fatalf("AppendAudit = %v", err)
	}
	if audit, err := s.RecentAudit(ctx, 1); err != nil || len(audit) != 1 || audit[0].RequestID != "r2" {
		t.Errorf("RecentAudit(1) after reopen and append = %+v, %v, want [r2], nil", audit, err)
	}
}

func TestEmbeddedSweep(t *testing.T) {
	ctx := t.Context()
	dir := t.TempDir()
	clock := storetest.NewClock(epoch)
	s := mustOpenEmbedded(t, dir, store.EmbeddedOptions{Now: clock.Now, SweepInterval: 5 * time.Millisecond})

	for _, step := range []struct {
		name string
		err  error
	}{
		{"PutSession(gone)", s.PutSession(ctx, store.Session{ID: "gone", TeamID: "T1"}, time.Minute)},
		{"PutSession(kept)", s.PutSession(ctx, store.Session{ID: "kept", TeamID: "T1"}, time.Hour)},
		{"PutOAuthState", s.PutOAuthState(ctx, "state", []byte("x"), time.Minute)},
		{"Claim", func() error { _, _, err := s.Claim(ctx, "job", "alice", time.Minute); return err }()},
	} {
		if step.err != nil {
			t.Fatalf("%s = %v", step.name, step.err)
		}
	}
	clock.Advance(2 * time.Minute)

	// Only the unexpired session (and its team index entry) may remain.
	want := map[string]int{"sessions": 1, "team_sessions": 1, "claims": 0, "oauth_states": 0}
	deadline := time.Now().Add(10 * time.Second)
	for {
		got, err := s.RawCounts()
		if err != nil {
			t.Fatalf("RawCounts = %v", err)
		}
		if cmp.Equal(want, got) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("background sweep never ran: raw counts = %v, want %v", got, want)
		}
		time.Sleep(5 * time.Millisecond)
	}
	if err := s.Close(); err != nil {
		t.Fatalf("Close = %v", err)
	}
	got, err := store.FileCounts(dir)
	if err != nil {
		t.Fatalf("FileCounts = %v", err)
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("keys in file after sweep (-want +got):\n%s", diff)
	}
}

func TestEmbeddedSweepKeepsLive(t *testing.T) {
	ctx := t.Context()
	clock := storetest.NewClock(epoch)
	// A long interval keeps the background sweep out of the way.
	s := mustOpenEmbedded(t, t.TempDir(), store.EmbeddedOptions{Now: clock.Now, SweepInterval: time.Hour})
	if err := s.PutSession(ctx, store.Session{ID: "s", TeamID: "T1"}, time.Minute); err != nil {
		t.Fatalf("PutSession = %v", err)
	}
	if _, _, err := s.Claim(ctx, "job", "alice", time.Minute); err != nil {
		t.Fatalf("Claim = %v", err)
	}
	tests := []struct {
		name    string
		advance time.Duration
		want    int
	}{
		{"before expiry", 30 * time.Second, 0},
		{"at expiry", 30 * time.Second, 2},
		{"nothing left", time.Minute, 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			clock.Advance(tc.advance)
			if n, err := s.Sweep(); err != nil || n != tc.want {
				t.Errorf("Sweep() = %d, %v, want %d, nil", n, err, tc.want)
			}
		})
	}
}

func TestOpenEmbeddedLocked(t *testing.T) {
	dir := t.TempDir()
	mustOpenEmbedded(t, dir, store.EmbeddedOptions{})
	s, err := store.OpenEmbedded(dir, store.EmbeddedOptions{})
	if err == nil {
		s.Close()
		t.Fatalf("OpenEmbedded(%q) while open = nil error, want a lock timeout", dir)
	}
	if !errors.Is(err, bolterrors.ErrTimeout) {
		t.Errorf("OpenEmbedded(%q) while open = %v, want bbolt ErrTimeout", dir, err)
	}
}

func TestOpenEmbeddedCreatesDir(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "state", "charlize")
	mustOpenEmbedded(t, dir, store.EmbeddedOptions{})
	fi, err := os.Stat(filepath.Join(dir, store.EmbeddedFile))
	if err != nil {
		t.Fatalf("Stat(db file) = %v, want nil", err)
	}
	if perm := fi.Mode().Perm(); perm&0o077 != 0 {
		t.Errorf("db file mode = %v, want owner-only (it holds bot tokens)", perm)
	}
}

func TestEmbeddedClosed(t *testing.T) {
	s := mustOpenEmbedded(t, t.TempDir(), store.EmbeddedOptions{})
	if err := s.Close(); err != nil {
		t.Fatalf("Close = %v, want nil", err)
	}
	if err := s.Close(); err != nil {
		t.Errorf("second Close = %v, want nil", err)
	}
	if err := s.Ping(t.Context()); !errors.Is(err, store.ErrUnavailable) {
		t.Errorf("Ping after Close = %v, want ErrUnavailable", err)
	}
	if _, err := s.Session(t.Context(), "s"); !errors.Is(err, store.ErrUnavailable) {
		t.Errorf("Session after Close = %v, want ErrUnavailable", err)
	}
}

func BenchmarkEmbedded(b *testing.B) {
	storetest.Benchmark(b, func(tb testing.TB) store.Store {
		return mustOpenEmbedded(tb, tb.TempDir(), store.EmbeddedOptions{})
	})
}

// mustOpenEmbedded opens a store that is closed when the test ends.
func mustOpenEmbedded(tb testing.TB, dir string, opts store.EmbeddedOptions) *store.Embedded {
	tb.Helper()
	s, err := store.OpenEmbedded(dir, opts)
	if err != nil {
		tb.Fatalf("OpenEmbedded(%q) = %v", dir, err)
	}
	tb.Cleanup(func() {
		if err := s.Close(); err != nil {
			tb.Errorf("Close = %v", err)
		}
	})
	return s
}

// TestEmbeddedSessionsFile: sessions survive a clean restart; a sessions
// file damaged by a machine crash is started afresh at open, with
// everything in charlize.db kept.
func TestEmbeddedSessionsFile(t *testing.T) {
	ctx := t.Context()
	dir := t.TempDir()
	s := mustOpenEmbedded(t, dir, store.EmbeddedOptions{})
	if err := s.PutSession(ctx, store.Session{ID: "s1", TeamID: "T1", Data: []byte("picker")}, time.Hour); err != nil {
		t.Fatal(err)
	}
	if _, _, err := s.Claim(ctx, "job", "alice", time.Hour); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	s = mustOpenEmbedded(t, dir, store.EmbeddedOptions{})
	if got, err := s.Session(ctx, "s1"); err != nil || string(got.Data) != "picker" {
		t.Fatalf("Session after a clean restart = %q, %v; want it kept", got.Data, err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}

	// As after kill -9: the file was not marked closed, so it is checked,
	// and kept since it is sound.
	path := filepath.Join(dir, store.SessionsFile)
	db, err := bolt.Open(path, 0o600, nil)
	if err == nil {
		err = db.Update(func(tx *bolt.Tx) error { return tx.Bucket([]byte("meta")).Delete([]byte("clean")) })
		err = errors.Join(err, db.Close())
	}
	if err != nil {
		t.Fatal(err)
	}
	s = mustOpenEmbedded(t, dir, store.EmbeddedOptions{})
	if got, err := s.Session(ctx, "s1"); err != nil || string(got.Data) != "picker" {
		t.Fatalf("Session after an unclean stop = %q, %v; want it kept", got.Data, err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}

	if err := os.WriteFile(path, []byte("not a bbolt file, as after a torn write"), 0o600); err != nil {
		t.Fatal(err)
	}
	s = mustOpenEmbedded(t, dir, store.EmbeddedOptions{})
	if _, err := s.Session(ctx, "s1"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("Session after the sessions file was damaged = %v, want ErrNotFound", err)
	}
	if ok, holder, err := s.Claim(ctx, "job", "bob", time.Hour); err != nil || ok || holder != "alice" {
		t.Errorf("Claim after the sessions file was started afresh = %v, %q, %v; want alice's claim kept", ok, holder, err)
	}
	if err := s.PutSession(ctx, store.Session{ID: "s2", TeamID: "T1"}, time.Hour); err != nil {
		t.Errorf("PutSession on the fresh sessions file = %v", err)
	}
}
