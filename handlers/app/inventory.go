package app

import (
	"context"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/charlize-app/charlize/ec2ops"
)

// inventory caches whole listings briefly, per set of visible accounts, so
// type-ahead and name resolution answer in well under a second without an
// AWS fan-out per keystroke.
type inventory struct {
	fleet Fleet
	ttl   time.Duration
	now   func() time.Time

	mu      sync.Mutex
	entries map[string]*inventoryEntry
}

type inventoryEntry struct {
	at        time.Time
	instances []ec2ops.Instance
	loading   chan struct{} // closed when the running refresh ends; nil when idle
}

func newInventory(f Fleet, ttl time.Duration, now func() time.Time) *inventory {
	return &inventory{fleet: f, ttl: ttl, now: now, entries: map[string]*inventoryEntry{}}
}

// refreshTimeout bounds one background listing.
const refreshTimeout = time.Minute

// get returns the instances of accounts, refreshing when stale, waiting at
// most wait for a refresh; a slow AWS gives the stale (or empty) listing.
func (inv *inventory) get(ctx context.Context, accounts []string, wait time.Duration) []ec2ops.Instance {
	key := strings.Join(accounts, ",")
	inv.mu.Lock()
	e := inv.entries[key]
	if e == nil {
		e = &inventoryEntry{}
		inv.entries[key] = e
	}
	if !e.at.IsZero() && inv.now().Sub(e.at) < inv.ttl {
		out := e.instances
		inv.mu.Unlock()
		return out
	}
	if e.loading == nil {
		e.loading = make(chan struct{})
		go inv.refresh(context.WithoutCancel(ctx), key, slices.Clone(accounts), e)
	}
	loading := e.loading
	inv.mu.Unlock()

	t := time.NewTimer(wait)
	defer t.Stop()
	select {
	case <-loading:
	case <-t.C:
	case <-ctx.Done():
	}
	inv.mu.Lock()
	defer inv.mu.Unlock()
	return e.instances
}

func (inv *inventory) refresh(ctx context.Context, key string, accounts []string, e *inventoryEntry) {
	ctx, cancel := context.WithTimeout(ctx, refreshTimeout)
	defer cancel()
	res, err := inv.fleet.List(ctx, ec2ops.Query{Accounts: accounts})
	inv.mu.Lock()
	defer inv.mu.Unlock()
	if err == nil {
		e.instances, e.at = res.Instances, inv.now()
	}
	close(e.loading)
	e.loading = nil
}
