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
	embedded, err := store.OpenEmbedded(t.TempDir(), store.EmbeddedOptions{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { embedded.Close() })
	st := &syncingStore{Store: embedded, sync: 20 * time.Millisecond} // 4 s for all, one by one
	ctx := context.Background()
	l := newLeases(st, ttl, func(string, ...any) {})
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
