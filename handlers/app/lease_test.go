package app

import (
	"context"
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"github.com/charlize-app/charlize/store"
)

// syncingStore is a store whose renewals each take a disk sync's time, and
// which counts the renewals and those that found the claim lapsed.
type syncingStore struct {
	store.Store
	sync             time.Duration
	renewals, lapsed atomic.Int64
}

func (s *syncingStore) RenewClaim(ctx context.Context, key, holder string, ttl time.Duration) (bool, error) {
	time.Sleep(s.sync)
	ok, err := s.Store.RenewClaim(ctx, key, holder, ttl)
	if err == nil && !ok {
		s.lapsed.Add(1)
	}
	s.renewals.Add(1)
	return ok, err
}

// A replica running many actions holds two claims for each; renewing them
// one after another took longer than a lease lives once there were enough
// of them (a thousand actions on a disk that syncs in 3 ms), and leases
// lapsed while their actions ran, free for another replica to take over.
func TestLeasesOfManyActionsDoNotLapse(t *testing.T) {
	const held, ttl = 200, 600 * time.Millisecond
	embedded := embeddedStore(t)
	st := &syncingStore{Store: embedded, sync: 20 * time.Millisecond} // 4 s for all, one by one
	ctx := context.Background()
	l := newLeases(st, ttl, true, func(string, ...any) {})
	t.Cleanup(l.close)
	for i := range held {
		key := fmt.Sprintf("lease:%d", i)
		if ok, _, err := st.Claim(ctx, key, "replica-a", ttl); !ok || err != nil {
			t.Fatalf("Claim(%s) = %v, %v", key, ok, err)
		}
		l.hold(key, "replica-a", nil)
	}
	deadline := time.Now().Add(30 * time.Second)
	for st.renewals.Load() < 2*held && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	if got := st.renewals.Load(); got < 2*held {
		t.Fatalf("%d renewals in 30 s, want two rounds of %d", got, held)
	}
	if got := st.lapsed.Load(); got != 0 {
		t.Errorf("%d of %d renewals found their lease lapsed, want none", got, st.renewals.Load())
	}
}

// pausedStore holds each renewal of one key, before it reaches the store,
// until resume is closed, telling paused when one is held.
type pausedStore struct {
	store.Store
	key    string
	paused chan struct{}
	resume chan struct{}
}

func (s *pausedStore) RenewClaim(ctx context.Context, key, holder string, ttl time.Duration) (bool, error) {
	if key == s.key {
		select {
		case s.paused <- struct{}{}:
		default:
		}
		<-s.resume
	}
	return s.Store.RenewClaim(ctx, key, holder, ttl)
}

// renewalInFlight claims key for holder, holds it, and returns once a
// renewal of it has started and is held back from the store.
func renewalInFlight(t *testing.T, key, holder string, ttl time.Duration, lost func()) (*pausedStore, *leases) {
	t.Helper()
	embedded := embeddedStore(t)
	st := &pausedStore{Store: embedded, key: key, paused: make(chan struct{}, 1), resume: make(chan struct{})}
	l := newLeases(st, ttl, true, func(string, ...any) {})
	t.Cleanup(l.close)
	if ok, _, err := st.Claim(context.Background(), key, holder, ttl); !ok || err != nil {
		t.Fatalf("Claim(%s) = %v, %v", key, ok, err)
	}
	l.hold(key, holder, lost)
	select {
	case <-st.paused:
	case <-time.After(5 * time.Second):
		t.Fatal("no renewal started")
	}
	return st, l
}

// whileHeldBack runs letGo (a drop or forget) while the renewal is held
// back, lets the renewal reach the store, and waits for letGo to return.
func whileHeldBack(t *testing.T, st *pausedStore, letGo func()) {
	t.Helper()
	returned := make(chan struct{})
	go func() { letGo(); close(returned) }()
	time.Sleep(20 * time.Millisecond) // letGo is under way
	close(st.resume)
	select {
	case <-returned:
	case <-time.After(5 * time.Second):
		t.Fatal("still letting go after the renewal reached the store")
	}
}

// An action settling frees its instance lock. A renewal already in flight
// then found the lock gone, took it for lapsed and claimed it again, so the
// next action on that instance was refused as if the first still ran.
func TestDroppedLockStaysFreeDespiteARenewalInFlight(t *testing.T) {
	const key, ttl = "lock:i-1", 300 * time.Millisecond
	st, l := renewalInFlight(t, key, "act-1/alice", ttl, nil)
	whileHeldBack(t, st, func() { l.drop(context.Background(), key) })
	time.Sleep(50 * time.Millisecond)
	if won, holder, err := st.Claim(context.Background(), key, "act-2/bob", ttl); !won || err != nil {
		t.Errorf("next action's Claim(%s) = %v (held by %q), %v; want it free after the first settled", key, won, holder, err)
	}
}

// The scheduler stops renewing a step it has done and marks it done for
// hours; a renewal in flight reached the store after the mark and cut it
// back to a lease, so another replica took the step and ran it again.
func TestStepMarkedDoneOutlivesARenewalInFlight(t *testing.T) {
	const key, ttl = "sched:stop:slot", 300 * time.Millisecond
	st, l := renewalInFlight(t, key, "replica-a", ttl, nil)
	ctx := context.Background()
	whileHeldBack(t, st, func() {
		l.forget(key)
		if ok, err := st.Store.RenewClaim(ctx, key, "replica-a", time.Hour); !ok || err != nil {
			t.Errorf("marking the step done: %v, %v", ok, err)
		}
	})
	time.Sleep(3 * ttl)
	if won, _, _ := st.Claim(ctx, key, "replica-b", ttl); won {
		t.Errorf("a step marked done for an hour was taken by another replica %v later", 3*ttl)
	}
}

// A run that hands its action off and a run that takes it back hold the
// same key one after the other. A renewal of the first, in flight, that
// found the lease taken told the first run (gone already) and stopped
// renewing for the second, which ran on without knowing another replica
// had the action.
func TestLostLeaseToldToTheRunHoldingItNow(t *testing.T) {
	const key, ttl = "lease:a1", 300 * time.Millisecond
	var firstLost, secondLost atomic.Bool
	st, l := renewalInFlight(t, key, "replica-a", ttl, func() { firstLost.Store(true) })
	ctx := context.Background()
	whileHeldBack(t, st, func() {
		l.forget(key)
		l.hold(key, "replica-a", func() { secondLost.Store(true) })
	})
	st.ReleaseClaim(ctx, key, "replica-a")
	if won, _, err := st.Claim(ctx, key, "replica-b", time.Hour); !won || err != nil {
		t.Fatalf("replica-b's Claim = %v, %v", won, err)
	}
	deadline := time.Now().Add(5 * time.Second)
	for !secondLost.Load() && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	if !secondLost.Load() {
		t.Error("the run holding the lease now was not told another replica took it")
	}
	if firstLost.Load() {
		t.Error("the run that had handed the lease off was told it lost it")
	}
}

// cutOffStore is one replica's way to a shared store: while cut off, every
// claim call fails, as across a network partition from Redis.
type cutOffStore struct {
	store.Store
	cutOff atomic.Bool
}

func (s *cutOffStore) RenewClaim(ctx context.Context, key, holder string, ttl time.Duration) (bool, error) {
	if s.cutOff.Load() {
		return false, store.ErrUnavailable
	}
	return s.Store.RenewClaim(ctx, key, holder, ttl)
}

func (s *cutOffStore) Claim(ctx context.Context, key, holder string, ttl time.Duration) (bool, string, error) {
	if s.cutOff.Load() {
		return false, "", store.ErrUnavailable
	}
	return s.Store.Claim(ctx, key, holder, ttl)
}

// Found by a review: a replica cut off from the store for longer than a
// lease, whose action another replica took over, finished and let go
// meanwhile, found the lease and the instance lock free when it came back
// and took them again: its run went on as if nothing had happened (to
// report the action a second time), and the next action on the instance
// was refused. On a shared store a lapsed claim is lost.
func TestClaimsTakenOverMeanwhileAreNotRetaken(t *testing.T) {
	const ttl = 300 * time.Millisecond
	const lease, lock, lockHolder = "lease:a1", "lock:i-1", "a1/alice"
	ctx := context.Background()
	shared := embeddedStore(t)
	viaA := &cutOffStore{Store: shared}
	a := newLeases(viaA, ttl, false, func(string, ...any) {})
	t.Cleanup(a.close)
	if ok, _, err := shared.Claim(ctx, lease, "replica-a", ttl); !ok || err != nil {
		t.Fatal(ok, err)
	}
	if ok, _, err := shared.Claim(ctx, lock, lockHolder, 2*ttl); !ok || err != nil {
		t.Fatal(ok, err)
	}
	var lost atomic.Bool
	a.hold(lease, "replica-a", func() { lost.Store(true); a.forget(lock) }) // as a run ends on losing its lease
	a.holdFor(lock, lockHolder, 2*ttl, nil)

	viaA.cutOff.Store(true)
	time.Sleep(ttl + 50*time.Millisecond)
	// Replica B takes the action over (the lock is the record's), ends it
	// and lets both go.
	if won, holder, err := shared.Claim(ctx, lease, "replica-b", ttl); !won || err != nil {
		t.Fatalf("replica-b's Claim(%s) = %v (held by %q), %v", lease, won, holder, err)
	}
	if err := shared.ReleaseClaim(ctx, lock, lockHolder); err != nil {
		t.Fatal(err)
	}
	if err := shared.ReleaseClaim(ctx, lease, "replica-b"); err != nil {
		t.Fatal(err)
	}
	viaA.cutOff.Store(false)
	time.Sleep(3 * a.interval())

	if !lost.Load() || a.holds(lease) {
		t.Errorf("replica-a told it lost the action: %v, still holds its lease: %v; want told, and not", lost.Load(), a.holds(lease))
	}
	if won, holder, _ := shared.Claim(ctx, lock, "a2/bob", 2*ttl); !won {
		t.Errorf("the next action on i-1 is refused: its lock is held by %q", holder)
	}
	if won, holder, _ := shared.Claim(ctx, lease, "replica-c", ttl); !won {
		t.Errorf("the ended action's lease is held again, by %q", holder)
	}
}

// With no other process on the store, a lease that lapsed under a slow
// disk is this replica's still: it is claimed again, and its run goes on.
func TestLapsedClaimRetakenWhenNoOneElseSharesTheStore(t *testing.T) {
	const ttl = 300 * time.Millisecond
	ctx := context.Background()
	embedded := embeddedStore(t)
	slow := &cutOffStore{Store: embedded}
	l := newLeases(slow, ttl, true, func(string, ...any) {})
	t.Cleanup(l.close)
	if ok, _, err := embedded.Claim(ctx, "lease:a1", "replica-a", ttl); !ok || err != nil {
		t.Fatal(ok, err)
	}
	var lost atomic.Bool
	l.hold("lease:a1", "replica-a", func() { lost.Store(true) })
	slow.cutOff.Store(true)
	time.Sleep(ttl + 50*time.Millisecond)
	slow.cutOff.Store(false)
	time.Sleep(3 * l.interval())
	if lost.Load() || !l.holds("lease:a1") {
		t.Errorf("lost: %v, held: %v; want the lapsed lease kept", lost.Load(), l.holds("lease:a1"))
	}
	if won, holder, _ := embedded.Claim(ctx, "lease:a1", "someone", ttl); won || holder != "replica-a" {
		t.Errorf("lease:a1 won by another: %v, held by %q; want replica-a's", won, holder)
	}
}
