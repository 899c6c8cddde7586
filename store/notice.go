package store

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/redis/go-redis/v9"
	bolt "go.etcd.io/bbolt"
)

// Notices and groups, in both implementations: a notice is one value with
// a lifetime, a group an append-only list whose lifetime starts with its
// first item (a window of events).

type (
	noticeRecord struct {
		Notice    Notice    `json:"notice"`
		ExpiresAt time.Time `json:"expires_at"`
	}
	groupRecord struct {
		Items     [][]byte  `json:"items"`
		ExpiresAt time.Time `json:"expires_at"`
	}
	counterRecord struct {
		Next      int64     `json:"next"`
		ExpiresAt time.Time `json:"expires_at"`
	}
)

// SaveNotice stores n until now+ttl.
func (e *Embedded) SaveNotice(ctx context.Context, n Notice, ttl time.Duration) error {
	if n.Key == "" {
		return fmt.Errorf("store.Embedded.SaveNotice: %w", errEmptyKey)
	}
	if err := checkTTL(ttl); err != nil {
		return fmt.Errorf("store.Embedded.SaveNotice %s: %w", n.Key, err)
	}
	b, err := json.Marshal(noticeRecord{Notice: n, ExpiresAt: e.now().Add(ttl)})
	if err != nil {
		return fmt.Errorf("store.Embedded.SaveNotice %s: %w", n.Key, err)
	}
	err = e.update(ctx, func(tx *bolt.Tx) error {
		return tx.Bucket(bucketNotices).Put([]byte(n.Key), b)
	})
	if err != nil {
		return fmt.Errorf("store.Embedded.SaveNotice %s: %w", n.Key, err)
	}
	return nil
}

// Notice returns the live notice key.
func (e *Embedded) Notice(ctx context.Context, key string) (Notice, error) {
	var rec noticeRecord
	if err := e.getLive(ctx, bucketNotices, key, &rec, func() time.Time { return rec.ExpiresAt }); err != nil {
		return Notice{}, fmt.Errorf("store.Embedded.Notice %s: %w", key, err)
	}
	return rec.Notice, nil
}

// AppendGroup appends item in one transaction, which bbolt serializes.
func (e *Embedded) AppendGroup(ctx context.Context, key string, item []byte, ttl time.Duration) (int, error) {
	if key == "" {
		return 0, fmt.Errorf("store.Embedded.AppendGroup: %w", errEmptyKey)
	}
	if err := checkTTL(ttl); err != nil {
		return 0, fmt.Errorf("store.Embedded.AppendGroup %s: %w", key, err)
	}
	n := 0
	err := e.update(ctx, func(tx *bolt.Tx) error {
		b := tx.Bucket(bucketGroups)
		now := e.now()
		var rec groupRecord
		if v := b.Get([]byte(key)); v != nil {
			if err := json.Unmarshal(v, &rec); err != nil || !now.Before(rec.ExpiresAt) {
				rec = groupRecord{}
			}
		}
		if rec.ExpiresAt.IsZero() {
			rec.ExpiresAt = now.Add(ttl)
		}
		rec.Items = append(rec.Items, item)
		n = len(rec.Items)
		v, err := json.Marshal(rec)
		if err != nil {
			return err
		}
		return b.Put([]byte(key), v)
	})
	if err != nil {
		return 0, fmt.Errorf("store.Embedded.AppendGroup %s: %w", key, err)
	}
	return n, nil
}

// TakeNumber takes key's next number in one transaction, which bbolt
// serializes.
func (e *Embedded) TakeNumber(ctx context.Context, key string, from int64, ttl time.Duration) (int64, error) {
	if key == "" {
		return 0, fmt.Errorf("store.Embedded.TakeNumber: %w", errEmptyKey)
	}
	if err := checkTTL(ttl); err != nil {
		return 0, fmt.Errorf("store.Embedded.TakeNumber %s: %w", key, err)
	}
	var taken int64
	err := e.update(ctx, func(tx *bolt.Tx) error {
		b := tx.Bucket(bucketCounters)
		now := e.now()
		var rec counterRecord
		if v := b.Get([]byte(key)); v != nil {
			if err := json.Unmarshal(v, &rec); err != nil || !now.Before(rec.ExpiresAt) {
				rec = counterRecord{}
			}
		}
		if rec.ExpiresAt.IsZero() || rec.Next < from {
			rec.Next = from
		}
		taken = rec.Next
		rec.Next, rec.ExpiresAt = taken+1, now.Add(ttl)
		v, err := json.Marshal(rec)
		if err != nil {
			return err
		}
		return b.Put([]byte(key), v)
	})
	if err != nil {
		return 0, fmt.Errorf("store.Embedded.TakeNumber %s: %w", key, err)
	}
	return taken, nil
}

// Group returns the live group key.
func (e *Embedded) Group(ctx context.Context, key string) ([][]byte, error) {
	var rec groupRecord
	if err := e.getLive(ctx, bucketGroups, key, &rec, func() time.Time { return rec.ExpiresAt }); err != nil {
		return nil, fmt.Errorf("store.Embedded.Group %s: %w", key, err)
	}
	return rec.Items, nil
}

// getLive decodes bucket's value at key into rec; ErrNotFound when there
// is none or it expired (by expires, read after decoding).
func (e *Embedded) getLive(ctx context.Context, bucket []byte, key string, rec any, expires func() time.Time) error {
	return e.view(ctx, func(tx *bolt.Tx) error {
		v := tx.Bucket(bucket).Get([]byte(key))
		if v == nil {
			return ErrNotFound
		}
		if err := json.Unmarshal(v, rec); err != nil {
			return fmt.Errorf("decode: %w", err)
		}
		if !e.now().Before(expires()) {
			return ErrNotFound
		}
		return nil
	})
}

// appendGroupScript pushes ARGV[1] and, for a new list, sets its expiry
// in the same step, so no list lives without one.
var appendGroupScript = redis.NewScript(`
local n = redis.call('RPUSH', KEYS[1], ARGV[1])
if n == 1 then
	redis.call('PEXPIRE', KEYS[1], ARGV[2])
end
return n`)

// Clock is the embedded store's clock: its process's, as no other process
// shares the store.
func (e *Embedded) Clock(context.Context) (time.Time, error) { return e.now(), nil }

// Clock is the Redis server's TIME.
func (r *Redis) Clock(ctx context.Context) (time.Time, error) {
	t, err := r.client.Time(ctx).Result()
	if err != nil {
		return time.Time{}, fmt.Errorf("store.Redis.Clock: %w", redisErr(err))
	}
	return t, nil
}

// takeNumberScript moves the counter up to ARGV[1] when it is behind, then
// takes its number, in one step. The counter holds the next number; it is
// set from the argument's string, never from a Lua number, whose printing
// would round it.
var takeNumberScript = redis.NewScript(`
local next = redis.call('GET', KEYS[1])
if not next or tonumber(next) < tonumber(ARGV[1]) then
	redis.call('SET', KEYS[1], ARGV[1])
end
local taken = redis.call('INCR', KEYS[1]) - 1
redis.call('PEXPIRE', KEYS[1], ARGV[2])
return taken`)

// TakeNumber is one script, atomic on the server.
func (r *Redis) TakeNumber(ctx context.Context, key string, from int64, ttl time.Duration) (int64, error) {
	if key == "" {
		return 0, fmt.Errorf("store.Redis.TakeNumber: %w", errEmptyKey)
	}
	if err := checkTTL(ttl); err != nil {
		return 0, fmt.Errorf("store.Redis.TakeNumber %s: %w", key, err)
	}
	n, err := takeNumberScript.Run(ctx, r.client, []string{r.key("counter", key)}, from, millis(ttl)).Int64()
	if err != nil {
		return 0, fmt.Errorf("store.Redis.TakeNumber %s: %w", key, redisErr(err))
	}
	return n, nil
}

// SaveNotice stores n with a Redis expiry.
func (r *Redis) SaveNotice(ctx context.Context, n Notice, ttl time.Duration) error {
	if n.Key == "" {
		return fmt.Errorf("store.Redis.SaveNotice: %w", errEmptyKey)
	}
	if err := checkTTL(ttl); err != nil {
		return fmt.Errorf("store.Redis.SaveNotice %s: %w", n.Key, err)
	}
	b, err := json.Marshal(n)
	if err != nil {
		return fmt.Errorf("store.Redis.SaveNotice %s: %w", n.Key, err)
	}
	if err := r.client.Set(ctx, r.key("notice", n.Key), b, time.Duration(millis(ttl))*time.Millisecond).Err(); err != nil {
		return fmt.Errorf("store.Redis.SaveNotice %s: %w", n.Key, redisErr(err))
	}
	return nil
}

// Notice returns the live notice key.
func (r *Redis) Notice(ctx context.Context, key string) (Notice, error) {
	b, err := r.client.Get(ctx, r.key("notice", key)).Bytes()
	if err != nil {
		return Notice{}, fmt.Errorf("store.Redis.Notice %s: %w", key, redisErr(err))
	}
	var n Notice
	if err := json.Unmarshal(b, &n); err != nil {
		return Notice{}, fmt.Errorf("store.Redis.Notice %s: decode: %w", key, err)
	}
	return n, nil
}

// AppendGroup is RPUSH, atomic on the server.
func (r *Redis) AppendGroup(ctx context.Context, key string, item []byte, ttl time.Duration) (int, error) {
	if key == "" {
		return 0, fmt.Errorf("store.Redis.AppendGroup: %w", errEmptyKey)
	}
	if err := checkTTL(ttl); err != nil {
		return 0, fmt.Errorf("store.Redis.AppendGroup %s: %w", key, err)
	}
	n, err := appendGroupScript.Run(ctx, r.client, []string{r.key("group", key)}, item, millis(ttl)).Int()
	if err != nil {
		return 0, fmt.Errorf("store.Redis.AppendGroup %s: %w", key, redisErr(err))
	}
	return n, nil
}

// Group returns the live group key.
func (r *Redis) Group(ctx context.Context, key string) ([][]byte, error) {
	items, err := r.client.LRange(ctx, r.key("group", key), 0, -1).Result()
	if err != nil {
		return nil, fmt.Errorf("store.Redis.Group %s: %w", key, redisErr(err))
	}
	if len(items) == 0 {
		return nil, fmt.Errorf("store.Redis.Group %s: %w", key, ErrNotFound)
	}
	out := make([][]byte, len(items))
	for i, s := range items {
		out[i] = []byte(s)
	}
	return out, nil
}
