package store

import (
	"bytes"
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"time"

	bolt "go.etcd.io/bbolt"
	bolterrors "go.etcd.io/bbolt/errors"
)

var _ Store = (*Embedded)(nil)

// EmbeddedOptions configures an embedded store.
type EmbeddedOptions struct {
	// Now is the clock used for TTLs. Default time.Now.
	Now func() time.Time
	// AuditLimit bounds the audit log. Default DefaultAuditLimit.
	AuditLimit int
	// SweepInterval is how often expired sessions, claims and OAuth
	// states are deleted from the file. Default one minute.
	SweepInterval time.Duration
}

// Embedded is a Store in a single bbolt file, for running without Redis.
// Only one process can open a given file at a time.
type Embedded struct {
	db         *bolt.DB
	sessions   *bolt.DB // sessions.db: see embedded_sessions.go
	now        func() time.Time
	auditLimit uint64
	writers    atomic.Int32 // writes in flight, to batch only when they meet

	stop      chan struct{}
	done      chan struct{}
	closeOnce sync.Once
	closeErr  error
}

const (
	// EmbeddedFile is the name of the database file inside the directory.
	EmbeddedFile = "charlize.db"
	// lockTimeout bounds the wait for the file lock, so a second process
	// fails with a clear error instead of hanging.
	lockTimeout = time.Second
)

var (
	bucketInstallations = []byte("installations")
	bucketSessions      = []byte("sessions")
	bucketTeamSessions  = []byte("team_sessions") // teamID NUL sessionID -> empty
	bucketClaims        = []byte("claims")
	bucketOAuthStates   = []byte("oauth_states")
	bucketAudit         = []byte("audit") // big-endian sequence -> entry
	bucketActions       = []byte("actions")
	bucketSchedules     = []byte("schedules")
	bucketSnoozes       = []byte("snoozes")

	bucketNotices  = []byte("notices")
	bucketGroups   = []byte("groups")
	bucketCounters = []byte("counters")

	allBuckets = [][]byte{bucketInstallations, bucketClaims, bucketOAuthStates, bucketAudit, bucketActions,
		bucketSchedules, bucketSnoozes, bucketNotices, bucketGroups, bucketCounters}
)

// Records with a lifetime share the expires_at field, which sweep reads.
type (
	sessionRecord struct {
		Session   Session   `json:"session"`
		ExpiresAt time.Time `json:"expires_at"`
	}
	claimRecord struct {
		Holder    string    `json:"holder"`
		ExpiresAt time.Time `json:"expires_at"`
	}
	oauthRecord struct {
		Data      []byte    `json:"data"`
		ExpiresAt time.Time `json:"expires_at"`
	}
	actionRecord struct {
		Action    ActionRecord `json:"action"`
		ExpiresAt time.Time    `json:"expires_at"`
	}
	snoozeRecord struct {
		Snooze    Snooze    `json:"snooze"`
		ExpiresAt time.Time `json:"expires_at"`
	}
)

// OpenEmbedded opens (creating if needed) dir/charlize.db and
// dir/sessions.db and starts the background sweep; Close stops it.
func OpenEmbedded(dir string, opts EmbeddedOptions) (*Embedded, error) {
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.AuditLimit <= 0 {
		opts.AuditLimit = DefaultAuditLimit
	}
	if opts.SweepInterval <= 0 {
		opts.SweepInterval = time.Minute
	}
	// Owner-only permissions: installations hold bot tokens.
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("store.OpenEmbedded %s: %w", dir, err)
	}
	path := filepath.Join(dir, EmbeddedFile)
	db, err := bolt.Open(path, 0o600, &bolt.Options{Timeout: lockTimeout})
	if err != nil {
		if errors.Is(err, bolterrors.ErrTimeout) {
			return nil, fmt.Errorf("store.OpenEmbedded %s: file is locked, is another Charlize using it? %w", path, err)
		}
		return nil, fmt.Errorf("store.OpenEmbedded %s: %w", path, err)
	}
	err = db.Update(func(tx *bolt.Tx) error {
		for _, name := range allBuckets {
			if _, err := tx.CreateBucketIfNotExists(name); err != nil {
				return fmt.Errorf("bucket %s: %w", name, err)
			}
		}
		// Sessions lived here before they got a file of their own.
		for _, name := range [][]byte{bucketSessions, bucketTeamSessions} {
			if err := tx.DeleteBucket(name); err != nil && !errors.Is(err, bolterrors.ErrBucketNotFound) {
				return fmt.Errorf("bucket %s: %w", name, err)
			}
		}
		return nil
	})
	if err != nil {
		_ = db.Close()
		return nil, fmt.Errorf("store.OpenEmbedded %s: %w", path, err)
	}
	sessions, err := openSessions(dir)
	if err != nil {
		_ = db.Close()
		return nil, fmt.Errorf("store.OpenEmbedded: %w", err)
	}
	// A lone write waits at most this long for company before it commits.
	db.MaxBatchDelay = 2 * time.Millisecond
	e := &Embedded{
		db:         db,
		sessions:   sessions,
		now:        opts.Now,
		auditLimit: uint64(opts.AuditLimit),
		stop:       make(chan struct{}),
		done:       make(chan struct{}),
	}
	go e.sweepLoop(opts.SweepInterval)
	return e, nil
}

// SaveInstallation stores inst under inst.Key, replacing any previous one.
func (e *Embedded) SaveInstallation(ctx context.Context, inst Installation) error {
	if inst.Key == "" {
		return fmt.Errorf("store.Embedded.SaveInstallation: %w", errEmptyKey)
	}
	b, err := json.Marshal(inst)
	if err != nil {
		return fmt.Errorf("store.Embedded.SaveInstallation %s: %w", inst.Key, err)
	}
	err = e.update(ctx, func(tx *bolt.Tx) error {
		return tx.Bucket(bucketInstallations).Put([]byte(inst.Key), b)
	})
	if err != nil {
		return fmt.Errorf("store.Embedded.SaveInstallation %s: %w", inst.Key, err)
	}
	return nil
}

// Installation returns the installation saved under key.
func (e *Embedded) Installation(ctx context.Context, key string) (Installation, error) {
	var inst Installation
	err := e.view(ctx, func(tx *bolt.Tx) error {
		v := tx.Bucket(bucketInstallations).Get([]byte(key))
		if v == nil {
			return ErrNotFound
		}
		return json.Unmarshal(v, &inst)
	})
	if err != nil {
		return Installation{}, fmt.Errorf("store.Embedded.Installation %s: %w", key, err)
	}
	return inst, nil
}

// DeleteInstallation removes the installation saved under key, if any.
func (e *Embedded) DeleteInstallation(ctx context.Context, key string) error {
	err := e.update(ctx, func(tx *bolt.Tx) error {
		return tx.Bucket(bucketInstallations).Delete([]byte(key))
	})
	if err != nil {
		return fmt.Errorf("store.Embedded.DeleteInstallation %s: %w", key, err)
	}
	return nil
}

// PutSession stores s until now+ttl and indexes it under its team.
func (e *Embedded) PutSession(ctx context.Context, s Session, ttl time.Duration) error {
	if s.ID == "" {
		return fmt.Errorf("store.Embedded.PutSession: %w", errEmptyKey)
	}
	if err := checkTTL(ttl); err != nil {
		return fmt.Errorf("store.Embedded.PutSession %s: %w", s.ID, err)
	}
	b, err := json.Marshal(sessionRecord{Session: s, ExpiresAt: e.now().Add(ttl)})
	if err != nil {
		return fmt.Errorf("store.Embedded.PutSession %s: %w", s.ID, err)
	}
	err = e.updateSessions(ctx, func(tx *bolt.Tx) error {
		sessions, index := tx.Bucket(bucketSessions), tx.Bucket(bucketTeamSessions)
		// A session moving to another team must leave the old team's index.
		if old, ok, err := getSession(sessions, s.ID); err != nil {
			return err
		} else if ok && old.Session.TeamID != s.TeamID {
			if err := index.Delete(teamIndexKey(old.Session.TeamID, s.ID)); err != nil {
				return err
			}
		}
		if err := index.Put(teamIndexKey(s.TeamID, s.ID), []byte{}); err != nil {
			return err
		}
		return sessions.Put([]byte(s.ID), b)
	})
	if err != nil {
		return fmt.Errorf("store.Embedded.PutSession %s: %w", s.ID, err)
	}
	return nil
}

// Session returns the live session id.
func (e *Embedded) Session(ctx context.Context, id string) (Session, error) {
	var rec sessionRecord
	err := e.viewSessions(ctx, func(tx *bolt.Tx) error {
		r, ok, err := getSession(tx.Bucket(bucketSessions), id)
		if err != nil {
			return err
		}
		// Expired but not yet swept counts as gone.
		if !ok || !e.now().Before(r.ExpiresAt) {
			return ErrNotFound
		}
		rec = r
		return nil
	})
	if err != nil {
		return Session{}, fmt.Errorf("store.Embedded.Session %s: %w", id, err)
	}
	return rec.Session, nil
}

// DeleteSession removes session id and its index entry.
func (e *Embedded) DeleteSession(ctx context.Context, id string) error {
	err := e.updateSessions(ctx, func(tx *bolt.Tx) error {
		return deleteSession(tx, id)
	})
	if err != nil {
		return fmt.Errorf("store.Embedded.DeleteSession %s: %w", id, err)
	}
	return nil
}

// DeleteTeamSessions removes every session of teamID.
func (e *Embedded) DeleteTeamSessions(ctx context.Context, teamID string) error {
	err := e.updateSessions(ctx, func(tx *bolt.Tx) error {
		prefix := teamIndexKey(teamID, "")
		var ids []string
		c := tx.Bucket(bucketTeamSessions).Cursor()
		for k, _ := c.Seek(prefix); k != nil && bytes.HasPrefix(k, prefix); k, _ = c.Next() {
			ids = append(ids, string(k[len(prefix):]))
		}
		// Delete after the scan: mutating under a live cursor can skip keys.
		sessions := tx.Bucket(bucketSessions)
		for _, id := range ids {
			rec, ok, err := getSession(sessions, id)
			if err == nil && ok && rec.Session.TeamID == teamID {
				if err := sessions.Delete([]byte(id)); err != nil {
					return err
				}
			}
			if err := tx.Bucket(bucketTeamSessions).Delete(teamIndexKey(teamID, id)); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("store.Embedded.DeleteTeamSessions %s: %w", teamID, err)
	}
	return nil
}

// Claim makes holder the owner of key until now+ttl unless a live claim
// exists. bbolt runs one write transaction at a time, which is what makes
// the check-then-set exactly-once.
func (e *Embedded) Claim(ctx context.Context, key, holder string, ttl time.Duration) (bool, string, error) {
	if key == "" {
		return false, "", fmt.Errorf("store.Embedded.Claim: %w", errEmptyKey)
	}
	if holder == "" {
		return false, "", fmt.Errorf("store.Embedded.Claim %s: %w", key, errEmptyHolder)
	}
	if err := checkTTL(ttl); err != nil {
		return false, "", fmt.Errorf("store.Embedded.Claim %s: %w", key, err)
	}
	// Losing is common (double clicks, retries) and a write transaction
	// costs an fsync even when it changes nothing, so look first; the
	// write transaction below checks again before it sets.
	var current string
	err := e.view(ctx, func(tx *bolt.Tx) error {
		var err error
		current, err = liveClaim(tx, key, e.now())
		return err
	})
	if err != nil {
		return false, "", fmt.Errorf("store.Embedded.Claim %s: %w", key, err)
	}
	if current != "" {
		return false, current, nil
	}
	var won bool
	err = e.update(ctx, func(tx *bolt.Tx) error {
		now := e.now()
		var err error
		if current, err = liveClaim(tx, key, now); err != nil || current != "" {
			return err
		}
		b, err := json.Marshal(claimRecord{Holder: holder, ExpiresAt: now.Add(ttl)})
		if err != nil {
			return err
		}
		won, current = true, holder
		return tx.Bucket(bucketClaims).Put([]byte(key), b)
	})
	if err != nil {
		return false, "", fmt.Errorf("store.Embedded.Claim %s: %w", key, err)
	}
	return won, current, nil
}

// liveClaim returns the holder of key's unexpired claim, or "".
func liveClaim(tx *bolt.Tx, key string, now time.Time) (string, error) {
	v := tx.Bucket(bucketClaims).Get([]byte(key))
	if v == nil {
		return "", nil
	}
	var rec claimRecord
	if err := json.Unmarshal(v, &rec); err != nil {
		return "", fmt.Errorf("decode: %w", err)
	}
	if !now.Before(rec.ExpiresAt) {
		return "", nil
	}
	return rec.Holder, nil
}

// ReleaseClaim frees key if holder still owns it.
func (e *Embedded) ReleaseClaim(ctx context.Context, key, holder string) error {
	err := e.update(ctx, func(tx *bolt.Tx) error {
		claims := tx.Bucket(bucketClaims)
		v := claims.Get([]byte(key))
		if v == nil {
			return nil
		}
		var rec claimRecord
		if err := json.Unmarshal(v, &rec); err != nil {
			return fmt.Errorf("decode: %w", err)
		}
		if rec.Holder != holder {
			return nil
		}
		return claims.Delete([]byte(key))
	})
	if err != nil {
		return fmt.Errorf("store.Embedded.ReleaseClaim %s: %w", key, err)
	}
	return nil
}

// RenewClaim extends holder's live claim on key to now+ttl.
func (e *Embedded) RenewClaim(ctx context.Context, key, holder string, ttl time.Duration) (bool, error) {
	if err := checkTTL(ttl); err != nil {
		return false, fmt.Errorf("store.Embedded.RenewClaim %s: %w", key, err)
	}
	var renewed bool
	err := e.update(ctx, func(tx *bolt.Tx) error {
		now := e.now()
		current, err := liveClaim(tx, key, now)
		if err != nil || current != holder {
			return err
		}
		b, err := json.Marshal(claimRecord{Holder: holder, ExpiresAt: now.Add(ttl)})
		if err != nil {
			return err
		}
		renewed = true
		return tx.Bucket(bucketClaims).Put([]byte(key), b)
	})
	if err != nil {
		return false, fmt.Errorf("store.Embedded.RenewClaim %s: %w", key, err)
	}
	return renewed, nil
}

// SaveAction stores a until now+ttl.
func (e *Embedded) SaveAction(ctx context.Context, a ActionRecord, ttl time.Duration) error {
	if a.ID == "" {
		return fmt.Errorf("store.Embedded.SaveAction: %w", errEmptyKey)
	}
	if err := checkTTL(ttl); err != nil {
		return fmt.Errorf("store.Embedded.SaveAction %s: %w", a.ID, err)
	}
	b, err := json.Marshal(actionRecord{Action: a, ExpiresAt: e.now().Add(ttl)})
	if err != nil {
		return fmt.Errorf("store.Embedded.SaveAction %s: %w", a.ID, err)
	}
	err = e.update(ctx, func(tx *bolt.Tx) error {
		return tx.Bucket(bucketActions).Put([]byte(a.ID), b)
	})
	if err != nil {
		return fmt.Errorf("store.Embedded.SaveAction %s: %w", a.ID, err)
	}
	return nil
}

// Action returns the live action id.
func (e *Embedded) Action(ctx context.Context, id string) (ActionRecord, error) {
	var rec actionRecord
	err := e.view(ctx, func(tx *bolt.Tx) error {
		v := tx.Bucket(bucketActions).Get([]byte(id))
		if v == nil {
			return ErrNotFound
		}
		if err := json.Unmarshal(v, &rec); err != nil {
			return fmt.Errorf("decode: %w", err)
		}
		if !e.now().Before(rec.ExpiresAt) {
			return ErrNotFound
		}
		return nil
	})
	if err != nil {
		return ActionRecord{}, fmt.Errorf("store.Embedded.Action %s: %w", id, err)
	}
	return rec.Action, nil
}

// OpenActions returns every unexpired action saved open. Open actions are
// few (those running or waiting for approval), so a scan is cheap.
func (e *Embedded) OpenActions(ctx context.Context) ([]ActionRecord, error) {
	var out []ActionRecord
	err := e.view(ctx, func(tx *bolt.Tx) error {
		now := e.now()
		return tx.Bucket(bucketActions).ForEach(func(_, v []byte) error {
			var rec actionRecord
			if err := json.Unmarshal(v, &rec); err != nil {
				return nil // never readable either; the sweep removes it
			}
			if rec.Action.Open && now.Before(rec.ExpiresAt) {
				out = append(out, rec.Action)
			}
			return nil
		})
	})
	if err != nil {
		return nil, fmt.Errorf("store.Embedded.OpenActions: %w", err)
	}
	return out, nil
}

// SaveSchedule stores s under its name.
func (e *Embedded) SaveSchedule(ctx context.Context, s ScheduleRecord) error {
	if s.Name == "" {
		return fmt.Errorf("store.Embedded.SaveSchedule: %w", errEmptyKey)
	}
	b, err := json.Marshal(s)
	if err != nil {
		return fmt.Errorf("store.Embedded.SaveSchedule %s: %w", s.Name, err)
	}
	err = e.update(ctx, func(tx *bolt.Tx) error {
		return tx.Bucket(bucketSchedules).Put([]byte(s.Name), b)
	})
	if err != nil {
		return fmt.Errorf("store.Embedded.SaveSchedule %s: %w", s.Name, err)
	}
	return nil
}

// Schedules returns every schedule, ordered by name (bbolt keeps keys sorted).
func (e *Embedded) Schedules(ctx context.Context) ([]ScheduleRecord, error) {
	var out []ScheduleRecord
	err := e.view(ctx, func(tx *bolt.Tx) error {
		return tx.Bucket(bucketSchedules).ForEach(func(k, v []byte) error {
			var s ScheduleRecord
			if err := json.Unmarshal(v, &s); err != nil {
				return fmt.Errorf("decode %s: %w", k, err)
			}
			out = append(out, s)
			return nil
		})
	})
	if err != nil {
		return nil, fmt.Errorf("store.Embedded.Schedules: %w", err)
	}
	return out, nil
}

// DeleteSchedule removes schedule name, if any.
func (e *Embedded) DeleteSchedule(ctx context.Context, name string) error {
	err := e.update(ctx, func(tx *bolt.Tx) error {
		return tx.Bucket(bucketSchedules).Delete([]byte(name))
	})
	if err != nil {
		return fmt.Errorf("store.Embedded.DeleteSchedule %s: %w", name, err)
	}
	return nil
}

// SaveSnooze stores s until now+ttl.
func (e *Embedded) SaveSnooze(ctx context.Context, s Snooze, ttl time.Duration) error {
	if s.Instance == "" {
		return fmt.Errorf("store.Embedded.SaveSnooze: %w", errEmptyKey)
	}
	if err := checkTTL(ttl); err != nil {
		return fmt.Errorf("store.Embedded.SaveSnooze %s: %w", s.Instance, err)
	}
	b, err := json.Marshal(snoozeRecord{Snooze: s, ExpiresAt: e.now().Add(ttl)})
	if err != nil {
		return fmt.Errorf("store.Embedded.SaveSnooze %s: %w", s.Instance, err)
	}
	err = e.update(ctx, func(tx *bolt.Tx) error {
		return tx.Bucket(bucketSnoozes).Put([]byte(s.Instance), b)
	})
	if err != nil {
		return fmt.Errorf("store.Embedded.SaveSnooze %s: %w", s.Instance, err)
	}
	return nil
}

// Snoozes returns every unexpired snooze.
func (e *Embedded) Snoozes(ctx context.Context) ([]Snooze, error) {
	var out []Snooze
	err := e.view(ctx, func(tx *bolt.Tx) error {
		now := e.now()
		return tx.Bucket(bucketSnoozes).ForEach(func(_, v []byte) error {
			var rec snoozeRecord
			if err := json.Unmarshal(v, &rec); err != nil {
				return nil // never readable either; the sweep removes it
			}
			if now.Before(rec.ExpiresAt) {
				out = append(out, rec.Snooze)
			}
			return nil
		})
	})
	if err != nil {
		return nil, fmt.Errorf("store.Embedded.Snoozes: %w", err)
	}
	return out, nil
}

// DeleteSnooze removes the instance's snooze, if any.
func (e *Embedded) DeleteSnooze(ctx context.Context, instance string) error {
	err := e.update(ctx, func(tx *bolt.Tx) error {
		return tx.Bucket(bucketSnoozes).Delete([]byte(instance))
	})
	if err != nil {
		return fmt.Errorf("store.Embedded.DeleteSnooze %s: %w", instance, err)
	}
	return nil
}

// PutOAuthState stores a single-use state value until now+ttl. The state
// is a CSRF secret, so it never appears in errors.
func (e *Embedded) PutOAuthState(ctx context.Context, state string, data []byte, ttl time.Duration) error {
	if state == "" {
		return fmt.Errorf("store.Embedded.PutOAuthState: %w", errEmptyKey)
	}
	if err := checkTTL(ttl); err != nil {
		return fmt.Errorf("store.Embedded.PutOAuthState: %w", err)
	}
	b, err := json.Marshal(oauthRecord{Data: data, ExpiresAt: e.now().Add(ttl)})
	if err != nil {
		return fmt.Errorf("store.Embedded.PutOAuthState: %w", err)
	}
	err = e.update(ctx, func(tx *bolt.Tx) error {
		return tx.Bucket(bucketOAuthStates).Put([]byte(state), b)
	})
	if err != nil {
		return fmt.Errorf("store.Embedded.PutOAuthState: %w", err)
	}
	return nil
}

// ConsumeOAuthState returns state's data and deletes it in the same
// transaction, so two concurrent callbacks cannot both succeed.
func (e *Embedded) ConsumeOAuthState(ctx context.Context, state string) ([]byte, error) {
	var (
		rec   oauthRecord
		found bool
	)
	// Not-found is decided after the transaction so that deleting an
	// expired state is committed rather than rolled back.
	err := e.update(ctx, func(tx *bolt.Tx) error {
		states := tx.Bucket(bucketOAuthStates)
		v := states.Get([]byte(state))
		if v == nil {
			return nil
		}
		if err := json.Unmarshal(v, &rec); err != nil {
			return fmt.Errorf("decode: %w", err)
		}
		found = e.now().Before(rec.ExpiresAt)
		return states.Delete([]byte(state))
	})
	if err != nil {
		return nil, fmt.Errorf("store.Embedded.ConsumeOAuthState: %w", err)
	}
	if !found {
		return nil, fmt.Errorf("store.Embedded.ConsumeOAuthState: %w", ErrNotFound)
	}
	return rec.Data, nil
}

// AppendAudit adds e to the log and drops the oldest entries past the limit.
func (e *Embedded) AppendAudit(ctx context.Context, entry AuditEntry) error {
	b, err := json.Marshal(entry)
	if err != nil {
		return fmt.Errorf("store.Embedded.AppendAudit: %w", err)
	}
	err = e.update(ctx, func(tx *bolt.Tx) error {
		audit := tx.Bucket(bucketAudit)
		seq, err := audit.NextSequence()
		if err != nil {
			return err
		}
		if err := audit.Put(seqKey(seq), b); err != nil {
			return err
		}
		// Keys are contiguous because only the oldest are ever deleted, so
		// everything at or below seq-limit is past the bound. A fresh
		// cursor each time: deleting invalidates the old one's position.
		if seq <= e.auditLimit {
			return nil
		}
		cutoff := seq - e.auditLimit
		for {
			k, _ := audit.Cursor().First()
			if k == nil || binary.BigEndian.Uint64(k) > cutoff {
				return nil
			}
			if err := audit.Delete(k); err != nil {
				return err
			}
		}
	})
	if err != nil {
		return fmt.Errorf("store.Embedded.AppendAudit: %w", err)
	}
	return nil
}

// RecentAudit returns at most n entries, newest first.
func (e *Embedded) RecentAudit(ctx context.Context, n int) ([]AuditEntry, error) {
	if n <= 0 {
		return nil, nil
	}
	var out []AuditEntry
	err := e.view(ctx, func(tx *bolt.Tx) error {
		c := tx.Bucket(bucketAudit).Cursor()
		for k, v := c.Last(); k != nil && len(out) < n; k, v = c.Prev() {
			var entry AuditEntry
			if err := json.Unmarshal(v, &entry); err != nil {
				return fmt.Errorf("decode entry %d: %w", binary.BigEndian.Uint64(k), err)
			}
			out = append(out, entry)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("store.Embedded.RecentAudit: %w", err)
	}
	return out, nil
}

// Ping reports ErrUnavailable once the store is closed.
func (e *Embedded) Ping(ctx context.Context) error {
	if err := e.view(ctx, func(*bolt.Tx) error { return nil }); err != nil {
		if !errors.Is(err, ErrUnavailable) {
			err = fmt.Errorf("%w: %w", ErrUnavailable, err)
		}
		return fmt.Errorf("store.Embedded.Ping: %w", err)
	}
	return nil
}

// Close stops the sweep and closes the file. Calling it again is a no-op.
func (e *Embedded) Close() error {
	e.closeOnce.Do(func() {
		close(e.stop)
		<-e.done
		if err := errors.Join(closeSessions(e.sessions), e.db.Close()); err != nil {
			e.closeErr = fmt.Errorf("store.Embedded.Close: %w", err)
		}
	})
	return e.closeErr
}

func (e *Embedded) sweepLoop(interval time.Duration) {
	defer close(e.done)
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-e.stop:
			return
		case <-t.C:
			// A failed sweep is harmless: reads ignore expired values and
			// the next tick tries again.
			_, _ = e.sweep()
		}
	}
}

// sweep deletes expired sessions (with their index entries), claims,
// OAuth states, actions, snoozes, notices and groups, and reports how many
// it deleted.
func (e *Embedded) sweep() (int, error) {
	n, err := sweepBuckets(e.sessions, e.now(), bucketSessions)
	if err != nil {
		return 0, fmt.Errorf("store.Embedded.sweep: %w", boltErr(err))
	}
	m, err := sweepBuckets(e.db, e.now(), bucketClaims, bucketOAuthStates, bucketActions, bucketSnoozes, bucketNotices, bucketGroups, bucketCounters)
	if err != nil {
		return 0, fmt.Errorf("store.Embedded.sweep: %w", boltErr(err))
	}
	return n + m, nil
}

// sweepBuckets deletes the records of db's buckets that expired by now.
func sweepBuckets(db *bolt.DB, now time.Time, buckets ...[]byte) (int, error) {
	n := 0
	err := db.Update(func(tx *bolt.Tx) error {
		for _, name := range buckets {
			var expired [][]byte
			c := tx.Bucket(name).Cursor()
			for k, v := c.First(); k != nil; k, v = c.Next() {
				var rec struct {
					ExpiresAt time.Time `json:"expires_at"`
				}
				// An undecodable record would never be readable either.
				if err := json.Unmarshal(v, &rec); err != nil || !now.Before(rec.ExpiresAt) {
					expired = append(expired, append([]byte(nil), k...))
				}
			}
			for _, k := range expired {
				var err error
				if bytes.Equal(name, bucketSessions) {
					err = deleteSession(tx, string(k))
				} else {
					err = tx.Bucket(name).Delete(k)
				}
				if err != nil {
					return err
				}
			}
			n += len(expired)
		}
		return nil
	})
	return n, err
}

// update and view check ctx first (bbolt itself ignores contexts) and
// give bbolt's errors the store's kinds.
//
// A write that meets others in flight goes through bbolt's Batch, so
// concurrent writers share one transaction and one fsync instead of
// queueing for one each; a lone write commits at once. Either way it is on
// disk when update returns. fn may run more than once (when another write
// in its batch fails) and only sets values it also reads back.
func (e *Embedded) update(ctx context.Context, fn func(*bolt.Tx) error) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if e.writers.Add(1) > 1 {
		defer e.writers.Add(-1)
		return boltErr(e.db.Batch(fn))
	}
	defer e.writers.Add(-1)
	return boltErr(e.db.Update(fn))
}

func (e *Embedded) view(ctx context.Context, fn func(*bolt.Tx) error) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	return boltErr(e.db.View(fn))
}

func boltErr(err error) error {
	if errors.Is(err, bolterrors.ErrDatabaseNotOpen) {
		return fmt.Errorf("%w: %w", ErrUnavailable, err)
	}
	return err
}

func getSession(b *bolt.Bucket, id string) (sessionRecord, bool, error) {
	v := b.Get([]byte(id))
	if v == nil {
		return sessionRecord{}, false, nil
	}
	var rec sessionRecord
	if err := json.Unmarshal(v, &rec); err != nil {
		return sessionRecord{}, false, fmt.Errorf("decode: %w", err)
	}
	return rec, true, nil
}

// deleteSession removes a session and its index entry; an undecodable
// record is still removed, its index entry is then left for
// DeleteTeamSessions to tolerate.
func deleteSession(tx *bolt.Tx, id string) error {
	sessions := tx.Bucket(bucketSessions)
	if rec, ok, err := getSession(sessions, id); err == nil && ok {
		if err := tx.Bucket(bucketTeamSessions).Delete(teamIndexKey(rec.Session.TeamID, id)); err != nil {
			return err
		}
	}
	return sessions.Delete([]byte(id))
}

// teamIndexKey is teamID NUL id; NUL cannot occur in Slack team ids, so
// one team's prefix never matches another's.
func teamIndexKey(teamID, id string) []byte {
	k := make([]byte, 0, len(teamID)+1+len(id))
	k = append(k, teamID...)
	k = append(k, 0)
	return append(k, id...)
}

func seqKey(seq uint64) []byte {
	k := make([]byte, 8)
	binary.BigEndian.PutUint64(k, seq)
	return k
}
