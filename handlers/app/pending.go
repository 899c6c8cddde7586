package app

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/google/uuid"

	"github.com/charlize-app/charlize/handlers/reqctx"
	"github.com/charlize-app/charlize/store"
)

// Open approval requests are listed in one store session, so that a
// replica that starts (or restarts) can close the ones whose time runs out
// while nobody clicks; the expiry claim keeps that to once across replicas.
const (
	pendingApprovalsID = "charlize:pending-approvals"
	pendingLockKey     = "lock:pending-approvals"
	pendingLockTTL     = 5 * time.Second
	pendingLockWait    = 3 * time.Second
)

// pendingApprovals maps approval session ids to when they expire.
type pendingApprovals map[string]time.Time

// updatePending changes the list under a short store lock, as replicas
// may change it at once.
func (d *Dispatcher) updatePending(ctx context.Context, change func(pendingApprovals)) error {
	holder := uuid.NewString()
	deadline := time.Now().Add(pendingLockWait)
	for {
		won, _, err := d.store.Claim(ctx, pendingLockKey, holder, pendingLockTTL)
		if err != nil {
			return fmt.Errorf("lock pending approvals: %w", err)
		}
		if won {
			break
		}
		if time.Now().After(deadline) {
			return errors.New("lock pending approvals: still held by another replica")
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(20 * time.Millisecond):
		}
	}
	defer d.releaseClaim(ctx, pendingLockKey, holder)

	pending, err := d.loadPending(ctx)
	if err != nil {
		return err
	}
	change(pending)
	data, err := json.Marshal(pending)
	if err != nil {
		return fmt.Errorf("encode pending approvals: %w", err)
	}
	// Outlives every request it lists (each lasts approvalTTL).
	ttl := d.approvalTTL + 24*time.Hour
	if err := d.store.PutSession(ctx, store.Session{ID: pendingApprovalsID, Data: data}, ttl); err != nil {
		return fmt.Errorf("save pending approvals: %w", err)
	}
	return nil
}

func (d *Dispatcher) loadPending(ctx context.Context) (pendingApprovals, error) {
	pending := pendingApprovals{}
	s, err := d.store.Session(ctx, pendingApprovalsID)
	if errors.Is(err, store.ErrNotFound) {
		return pending, nil
	}
	if err != nil {
		return nil, fmt.Errorf("load pending approvals: %w", err)
	}
	if err := json.Unmarshal(s.Data, &pending); err != nil {
		return nil, fmt.Errorf("decode pending approvals: %w", err)
	}
	return pending, nil
}

// trackApproval lists an open request and arms its expiry.
func (d *Dispatcher) trackApproval(ctx context.Context, id string, expires time.Time) {
	if err := d.updatePending(ctx, func(p pendingApprovals) { p[id] = expires }); err != nil {
		// The request still expires here, and on any late click.
		d.log.WarnContext(ctx, "could not list the approval request", "request_id", reqctx.ID(ctx), "err", err)
	}
	d.armExpiry(ctx, id, expires)
}

// untrackApproval drops a decided or expired request from the list.
func (d *Dispatcher) untrackApproval(ctx context.Context, id string) {
	d.approvals.stop(id)
	if err := d.updatePending(context.WithoutCancel(ctx), func(p pendingApprovals) { delete(p, id) }); err != nil {
		d.log.WarnContext(ctx, "could not unlist the approval request", "request_id", reqctx.ID(ctx), "err", err)
	}
}

func (d *Dispatcher) armExpiry(ctx context.Context, id string, expires time.Time) {
	d.approvals.schedule(id, max(0, expires.Sub(d.now())), func() {
		_ = d.workers.Go(context.WithoutCancel(ctx), func(ctx context.Context) { d.expireApproval(ctx, id) })
	})
}

// ResumeApprovals arms the expiry of every open approval request, so that
// requests opened before a restart (or by another replica that stopped)
// still close and say so on time. run calls it once at start.
func (d *Dispatcher) ResumeApprovals(ctx context.Context) error {
	pending, err := d.loadPending(ctx)
	if err != nil {
		return err
	}
	for id, expires := range pending {
		d.armExpiry(ctx, id, expires)
	}
	return nil
}
