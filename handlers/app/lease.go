package app

import (
	"context"
	"sync"
	"time"

	"github.com/charlize-app/charlize/store"
)

// leases keeps alive the claims this replica holds for as long as it
// works on them: the lease of each action it runs and the instance lock of
// that action. A replica that dies stops renewing, so its leases expire
// and another replica (or this one, restarted) takes its actions over. An
// instance lock lives twice as long as a lease, so that the replica that
// takes a dead one's action over finds the instance still locked for it,
// not taken by another action in between.
type leases struct {
	store store.Store
	ttl   time.Duration
	warn  func(msg string, args ...any)
	// retakeLapsed says a claim that lapsed (a renewal too slow) may be
	// claimed again when it is free: only when no other process shares the
	// store. Otherwise another replica may have taken it over meanwhile,
	// finished and let it go (a replica cut off from Redis for a lease's
	// time came back and took a settled action's lease and lock again,
	// running on and refusing the next action on its instance), so a
	// lapsed claim is lost, and the takeover resumes its action from the
	// record.
	retakeLapsed bool

	mu   sync.Mutex
	held map[string]heldClaim

	stop chan struct{}
	done chan struct{}
}

type heldClaim struct {
	holder string
	ttl    time.Duration
	lost   func() // called (once) when a renewal finds the claim gone
	*renewal
}

// renewal lets whoever stops holding a claim wait for its renewal in
// flight: a renewal that reached the store after a release re-created the
// lock the action had just freed (the next action on the instance was
// refused), and one that ended after the scheduler had marked a step done
// for hours cut the mark back to a lease TTL (the step ran twice).
type renewal struct {
	mu   sync.Mutex
	over bool // no longer held: a renewal must not touch the store
}

// retire waits for a renewal in flight and stops any later one.
func (r *renewal) retire() {
	r.mu.Lock()
	r.over = true
	r.mu.Unlock()
}

func newLeases(s store.Store, ttl time.Duration, retakeLapsed bool, warn func(string, ...any)) *leases {
	l := &leases{store: s, ttl: ttl, retakeLapsed: retakeLapsed, warn: warn, held: map[string]heldClaim{},
		stop: make(chan struct{}), done: make(chan struct{})}
	go l.loop()
	return l
}

// hold renews key for holder, a lease TTL at a time, until drop; lost may
// be nil.
func (l *leases) hold(key, holder string, lost func()) { l.holdFor(key, holder, l.ttl, lost) }

// holdFor renews key for holder, ttl (at least a lease TTL) at a time.
func (l *leases) holdFor(key, holder string, ttl time.Duration, lost func()) {
	l.mu.Lock()
	old, had := l.held[key]
	l.held[key] = heldClaim{holder: holder, ttl: ttl, lost: lost, renewal: &renewal{}}
	l.mu.Unlock()
	if had {
		old.retire()
	}
}

// drop stops renewing key and releases it.
func (l *leases) drop(ctx context.Context, key string) {
	l.mu.Lock()
	c, ok := l.held[key]
	delete(l.held, key)
	l.mu.Unlock()
	if !ok {
		return
	}
	c.retire()
	if err := l.store.ReleaseClaim(context.WithoutCancel(ctx), key, c.holder); err != nil {
		l.warn("could not release lease", "key", key, "err", err)
	}
}

// holds reports whether this replica keeps key alive.
func (l *leases) holds(key string) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	_, ok := l.held[key]
	return ok
}

// forget stops renewing key and leaves it to expire (or to whoever holds it
// under the same name next).
func (l *leases) forget(key string) {
	l.mu.Lock()
	c, ok := l.held[key]
	delete(l.held, key)
	l.mu.Unlock()
	if ok {
		c.retire()
	}
}

// interval is how often leases are renewed: three times per TTL, so one
// slow or failed renewal does not lose a lease.
func (l *leases) interval() time.Duration { return l.ttl / 3 }

func (l *leases) loop() {
	defer close(l.done)
	t := time.NewTicker(l.interval())
	defer t.Stop()
	for {
		select {
		case <-l.stop:
			return
		case <-t.C:
			l.renew()
		}
	}
}

// renewers bounds the renewals in flight at once. In sequence, a replica
// running a thousand actions (a lease and an instance lock each) spent its
// whole renewal interval on the embedded store's disk syncs, one per
// renewal, and its leases lapsed; concurrent writes to the embedded store
// share one sync, and Redis answers them over the pool's connections.
const renewers = 32

func (l *leases) renew() {
	l.mu.Lock()
	keys := make(map[string]heldClaim, len(l.held))
	for k, c := range l.held {
		keys[k] = c
	}
	l.mu.Unlock()
	slots := make(chan struct{}, renewers)
	var wg sync.WaitGroup
	for key, c := range keys {
		slots <- struct{}{}
		wg.Go(func() {
			defer func() { <-slots }()
			l.renewOne(key, c)
		})
	}
	wg.Wait()
}

func (l *leases) renewOne(key string, c heldClaim) {
	if l.renewHeld(key, c) && c.lost != nil {
		// Outside the claim's lock: the run it tells may drop or forget.
		c.lost()
	}
}

// renewHeld renews one claim unless it was dropped or forgotten meanwhile,
// and reports whether this claim (not a later holding of the same key) was
// lost.
func (l *leases) renewHeld(key string, c heldClaim) (lost bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.over {
		return false
	}
	ctx, cancel := context.WithTimeout(context.Background(), l.ttl/2)
	defer cancel()
	ok, err := l.store.RenewClaim(ctx, key, c.holder, c.ttl)
	if err == nil && !ok && l.retakeLapsed {
		// Lapsed (a slow renewal) rather than taken: nobody else can
		// claim it, so if it is free it is still ours.
		var current string
		ok, current, err = l.store.Claim(ctx, key, c.holder, c.ttl)
		ok = ok || current == c.holder
	}
	switch {
	case err != nil:
		// The store may be back before the lease runs out.
		l.warn("could not renew lease", "key", key, "err", err)
		return false
	case ok:
		return false
	}
	c.over = true
	l.mu.Lock()
	cur, held := l.held[key]
	held = held && cur.renewal == c.renewal
	if held {
		delete(l.held, key)
	}
	l.mu.Unlock()
	if held { // otherwise the run is letting it go already
		l.warn("lease lost: another replica has taken over", "key", key)
	}
	return held
}

// close stops renewing; what is held expires on its own.
func (l *leases) close() {
	select {
	case <-l.stop:
	default:
		close(l.stop)
	}
	<-l.done
}
