package store

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"
)

var _ Store = (*Redis)(nil)

// RedisOptions configures a Redis store.
type RedisOptions struct {
	// Prefix is prepended to every key so several deployments (or test
	// runs) can share one database. Default "charlize:".
	Prefix string
	// AuditLimit bounds the audit stream. Default DefaultAuditLimit.
	AuditLimit int
}

// Redis is a Store backed by Redis (or anything speaking its protocol).
// Every operation touches a single key per command or script, so it also
// works against Redis Cluster through a redis.UniversalClient.
type Redis struct {
	client     redis.UniversalClient
	prefix     string
	auditLimit int64
}

// NewRedis returns a Store using client. The store owns client from then
// on: Close closes it.
func NewRedis(client redis.UniversalClient, opts RedisOptions) *Redis {
	if opts.Prefix == "" {
		opts.Prefix = "charlize:"
	}
	if opts.AuditLimit <= 0 {
		opts.AuditLimit = DefaultAuditLimit
	}
	return &Redis{client: client, prefix: opts.Prefix, auditLimit: int64(opts.AuditLimit)}
}

// OpenRedis connects to the redis:// or rediss:// URL. It does not dial:
// an unreachable server shows up in Ping (readiness), not at startup.
func OpenRedis(rawURL string, opts RedisOptions) (*Redis, error) {
	o, err := redis.ParseURL(rawURL)
	if err != nil {
		// url.Error repeats the whole URL, password included.
		if uerr, ok := errors.AsType[*url.Error](err); ok {
			err = uerr.Err
		}
		return nil, fmt.Errorf("store.OpenRedis: parse URL: %w", err)
	}
	// Without this go-redis ignores context deadlines on a connection that
	// hangs, and a request waits for its 3 s read timeout.
	o.ContextTimeoutEnabled = true
	return NewRedis(redis.NewClient(o), opts), nil
}

// Lua scripts run atomically on the server; each touches only KEYS[1].
var (
	// claimScript returns {1, holder} when it set the key, or {0, owner}.
	claimScript = redis.NewScript(`
if redis.call('SET', KEYS[1], ARGV[1], 'NX', 'PX', ARGV[2]) then
	return {1, ARGV[1]}
end
return {0, redis.call('GET', KEYS[1])}`)

	// releaseScript deletes the claim only if ARGV[1] still holds it.
	releaseScript = redis.NewScript(`
if redis.call('GET', KEYS[1]) == ARGV[1] then
	return redis.call('DEL', KEYS[1])
end
return 0`)

	// renewScript extends the claim only if ARGV[1] still holds it.
	renewScript = redis.NewScript(`
if redis.call('GET', KEYS[1]) == ARGV[1] then
	return redis.call('PEXPIRE', KEYS[1], ARGV[2])
end
return 0`)

	// indexScript adds a session id to its team's set and keeps the set
	// alive at least as long as the session, so the index never outlives
	// its members by more than the longest TTL.
	indexScript = redis.NewScript(`
redis.call('SADD', KEYS[1], ARGV[1])
if redis.call('PTTL', KEYS[1]) < tonumber(ARGV[2]) then
	redis.call('PEXPIRE', KEYS[1], ARGV[2])
end
return 1`)

	// unindexScript deletes a session only if it still belongs to the
	// team, in case its id was reused by another team meanwhile.
	unindexScript = redis.NewScript(`
local v = redis.call('GET', KEYS[1])
if not v then return 0 end
local ok, s = pcall(cjson.decode, v)
if ok and s['team_id'] == ARGV[1] then
	return redis.call('DEL', KEYS[1])
end
return 0`)
)

func (r *Redis) key(kind, id string) string { return r.prefix + kind + ":" + id }

// SaveInstallation stores inst under inst.Key, replacing any previous one.
func (r *Redis) SaveInstallation(ctx context.Context, inst Installation) error {
	if inst.Key == "" {
		return fmt.Errorf("store.Redis.SaveInstallation: %w", errEmptyKey)
	}
	b, err := json.Marshal(inst)
	if err != nil {
		return fmt.Errorf("store.Redis.SaveInstallation %s: %w", inst.Key, err)
	}
	if err := r.client.Set(ctx, r.key("installation", inst.Key), b, 0).Err(); err != nil {
		return fmt.Errorf("store.Redis.SaveInstallation %s: %w", inst.Key, redisErr(err))
	}
	return nil
}

// Installation returns the installation saved under key.
func (r *Redis) Installation(ctx context.Context, key string) (Installation, error) {
	b, err := r.client.Get(ctx, r.key("installation", key)).Bytes()
	if err != nil {
		return Installation{}, fmt.Errorf("store.Redis.Installation %s: %w", key, redisErr(err))
	}
	var inst Installation
	if err := json.Unmarshal(b, &inst); err != nil {
		return Installation{}, fmt.Errorf("store.Redis.Installation %s: decode: %w", key, err)
	}
	return inst, nil
}

// DeleteInstallation removes the installation saved under key, if any.
func (r *Redis) DeleteInstallation(ctx context.Context, key string) error {
	if err := r.client.Del(ctx, r.key("installation", key)).Err(); err != nil {
		return fmt.Errorf("store.Redis.DeleteInstallation %s: %w", key, redisErr(err))
	}
	return nil
}

// PutSession stores s for ttl and indexes it under its team.
func (r *Redis) PutSession(ctx context.Context, s Session, ttl time.Duration) error {
	if s.ID == "" {
		return fmt.Errorf("store.Redis.PutSession: %w", errEmptyKey)
	}
	if err := checkTTL(ttl); err != nil {
		return fmt.Errorf("store.Redis.PutSession %s: %w", s.ID, err)
	}
	b, err := json.Marshal(s)
	if err != nil {
		return fmt.Errorf("store.Redis.PutSession %s: %w", s.ID, err)
	}
	ms := millis(ttl)
	// Index first: if the SET then fails, a dangling member is harmless,
	// whereas an unindexed session would survive DeleteTeamSessions. Eval
	// (not EvalSha) because a pipeline cannot retry on NOSCRIPT.
	_, err = r.client.Pipelined(ctx, func(p redis.Pipeliner) error {
		indexScript.Eval(ctx, p, []string{r.key("team-sessions", s.TeamID)}, s.ID, ms)
		p.Set(ctx, r.key("session", s.ID), b, time.Duration(ms)*time.Millisecond)
		return nil
	})
	if err != nil {
		return fmt.Errorf("store.Redis.PutSession %s: %w", s.ID, redisErr(err))
	}
	return nil
}

// Session returns the live session id.
func (r *Redis) Session(ctx context.Context, id string) (Session, error) {
	b, err := r.client.Get(ctx, r.key("session", id)).Bytes()
	if err != nil {
		return Session{}, fmt.Errorf("store.Redis.Session %s: %w", id, redisErr(err))
	}
	var s Session
	if err := json.Unmarshal(b, &s); err != nil {
		return Session{}, fmt.Errorf("store.Redis.Session %s: decode: %w", id, err)
	}
	return s, nil
}

// DeleteSession removes session id. Its team-set member is left behind:
// DeleteTeamSessions tolerates members without a session, and the set
// expires on its own.
func (r *Redis) DeleteSession(ctx context.Context, id string) error {
	if err := r.client.Del(ctx, r.key("session", id)).Err(); err != nil {
		return fmt.Errorf("store.Redis.DeleteSession %s: %w", id, redisErr(err))
	}
	return nil
}

// DeleteTeamSessions removes every session indexed under teamID.
func (r *Redis) DeleteTeamSessions(ctx context.Context, teamID string) error {
	setKey := r.key("team-sessions", teamID)
	ids, err := r.client.SMembers(ctx, setKey).Result()
	if err != nil {
		return fmt.Errorf("store.Redis.DeleteTeamSessions %s: %w", teamID, redisErr(err))
	}
	if len(ids) == 0 {
		return nil
	}
	members := make([]any, len(ids))
	_, err = r.client.Pipelined(ctx, func(p redis.Pipeliner) error {
		for i, id := range ids {
			unindexScript.Eval(ctx, p, []string{r.key("session", id)}, teamID)
			members[i] = id
		}
		// SREM, not DEL, so a session indexed meanwhile stays indexed.
		p.SRem(ctx, setKey, members...)
		return nil
	})
	if err != nil {
		return fmt.Errorf("store.Redis.DeleteTeamSessions %s: %w", teamID, redisErr(err))
	}
	return nil
}

// Claim makes holder the owner of key for ttl unless it is already owned.
func (r *Redis) Claim(ctx context.Context, key, holder string, ttl time.Duration) (bool, string, error) {
	if key == "" {
		return false, "", fmt.Errorf("store.Redis.Claim: %w", errEmptyKey)
	}
	if holder == "" {
		return false, "", fmt.Errorf("store.Redis.Claim %s: %w", key, errEmptyHolder)
	}
	if err := checkTTL(ttl); err != nil {
		return false, "", fmt.Errorf("store.Redis.Claim %s: %w", key, err)
	}
	res, err := claimScript.Run(ctx, r.client, []string{r.key("claim", key)}, holder, millis(ttl)).Slice()
	if err != nil {
		return false, "", fmt.Errorf("store.Redis.Claim %s: %w", key, redisErr(err))
	}
	if len(res) != 2 {
		return false, "", fmt.Errorf("store.Redis.Claim %s: unexpected reply %v", key, res)
	}
	won, _ := res[0].(int64)
	current, _ := res[1].(string)
	return won == 1, current, nil
}

// ReleaseClaim frees key if holder still owns it.
func (r *Redis) ReleaseClaim(ctx context.Context, key, holder string) error {
	if err := releaseScript.Run(ctx, r.client, []string{r.key("claim", key)}, holder).Err(); err != nil {
		return fmt.Errorf("store.Redis.ReleaseClaim %s: %w", key, redisErr(err))
	}
	return nil
}

// RenewClaim extends holder's live claim on key to ttl from now.
func (r *Redis) RenewClaim(ctx context.Context, key, holder string, ttl time.Duration) (bool, error) {
	if err := checkTTL(ttl); err != nil {
		return false, fmt.Errorf("store.Redis.RenewClaim %s: %w", key, err)
	}
	n, err := renewScript.Run(ctx, r.client, []string{r.key("claim", key)}, holder, millis(ttl)).Int64()
	if err != nil {
		return false, fmt.Errorf("store.Redis.RenewClaim %s: %w", key, redisErr(err))
	}
	return n == 1, nil
}

// SaveAction stores a for ttl and keeps the open index in step: an open
// action is a member of a sorted set scored by its expiry, so OpenActions
// skips (and trims) members whose record has expired.
func (r *Redis) SaveAction(ctx context.Context, a ActionRecord, ttl time.Duration) error {
	if a.ID == "" {
		return fmt.Errorf("store.Redis.SaveAction: %w", errEmptyKey)
	}
	if err := checkTTL(ttl); err != nil {
		return fmt.Errorf("store.Redis.SaveAction %s: %w", a.ID, err)
	}
	b, err := json.Marshal(a)
	if err != nil {
		return fmt.Errorf("store.Redis.SaveAction %s: %w", a.ID, err)
	}
	ms := millis(ttl)
	expires := float64(time.Now().Add(ttl).UnixMilli())
	// Index first when opening and last when closing, so a failure halfway
	// leaves an index member without an open record (skipped), never an
	// open record missing from the index.
	_, err = r.client.Pipelined(ctx, func(p redis.Pipeliner) error {
		if a.Open {
			p.ZAdd(ctx, r.prefix+"open-actions", redis.Z{Score: expires, Member: a.ID})
		}
		p.Set(ctx, r.key("action", a.ID), b, time.Duration(ms)*time.Millisecond)
		if !a.Open {
			p.ZRem(ctx, r.prefix+"open-actions", a.ID)
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("store.Redis.SaveAction %s: %w", a.ID, redisErr(err))
	}
	return nil
}

// Action returns the live action id.
func (r *Redis) Action(ctx context.Context, id string) (ActionRecord, error) {
	b, err := r.client.Get(ctx, r.key("action", id)).Bytes()
	if err != nil {
		return ActionRecord{}, fmt.Errorf("store.Redis.Action %s: %w", id, redisErr(err))
	}
	var a ActionRecord
	if err := json.Unmarshal(b, &a); err != nil {
		return ActionRecord{}, fmt.Errorf("store.Redis.Action %s: decode: %w", id, err)
	}
	return a, nil
}

// OpenActions returns every unexpired action saved open.
func (r *Redis) OpenActions(ctx context.Context) ([]ActionRecord, error) {
	index := r.prefix + "open-actions"
	now := time.Now().UnixMilli()
	if err := r.client.ZRemRangeByScore(ctx, index, "-inf", fmt.Sprint(now)).Err(); err != nil {
		return nil, fmt.Errorf("store.Redis.OpenActions: %w", redisErr(err))
	}
	ids, err := r.client.ZRange(ctx, index, 0, -1).Result()
	if err != nil {
		return nil, fmt.Errorf("store.Redis.OpenActions: %w", redisErr(err))
	}
	// One GET per id in a pipeline rather than MGET, which Redis Cluster
	// refuses across slots.
	cmds := make([]*redis.StringCmd, len(ids))
	_, err = r.client.Pipelined(ctx, func(p redis.Pipeliner) error {
		for i, id := range ids {
			cmds[i] = p.Get(ctx, r.key("action", id))
		}
		return nil
	})
	if err != nil && !errors.Is(err, redis.Nil) {
		return nil, fmt.Errorf("store.Redis.OpenActions: %w", redisErr(err))
	}
	var out []ActionRecord
	for i, cmd := range cmds {
		b, err := cmd.Bytes()
		if errors.Is(err, redis.Nil) {
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("store.Redis.OpenActions %s: %w", ids[i], redisErr(err))
		}
		var a ActionRecord
		if err := json.Unmarshal(b, &a); err != nil {
			return nil, fmt.Errorf("store.Redis.OpenActions %s: decode: %w", ids[i], err)
		}
		if a.Open {
			out = append(out, a)
		}
	}
	return out, nil
}

// SaveSchedule stores s in the schedules hash (one key, so Schedules reads
// them all in one command).
func (r *Redis) SaveSchedule(ctx context.Context, s ScheduleRecord) error {
	if s.Name == "" {
		return fmt.Errorf("store.Redis.SaveSchedule: %w", errEmptyKey)
	}
	b, err := json.Marshal(s)
	if err != nil {
		return fmt.Errorf("store.Redis.SaveSchedule %s: %w", s.Name, err)
	}
	if err := r.client.HSet(ctx, r.prefix+"schedules", s.Name, b).Err(); err != nil {
		return fmt.Errorf("store.Redis.SaveSchedule %s: %w", s.Name, redisErr(err))
	}
	return nil
}

// Schedules returns every schedule, ordered by name.
func (r *Redis) Schedules(ctx context.Context) ([]ScheduleRecord, error) {
	all, err := r.client.HGetAll(ctx, r.prefix+"schedules").Result()
	if err != nil {
		return nil, fmt.Errorf("store.Redis.Schedules: %w", redisErr(err))
	}
	out := make([]ScheduleRecord, 0, len(all))
	for name, v := range all {
		var s ScheduleRecord
		if err := json.Unmarshal([]byte(v), &s); err != nil {
			return nil, fmt.Errorf("store.Redis.Schedules %s: decode: %w", name, err)
		}
		out = append(out, s)
	}
	slices.SortFunc(out, func(a, b ScheduleRecord) int { return strings.Compare(a.Name, b.Name) })
	return out, nil
}

// DeleteSchedule removes schedule name, if any.
func (r *Redis) DeleteSchedule(ctx context.Context, name string) error {
	if err := r.client.HDel(ctx, r.prefix+"schedules", name).Err(); err != nil {
		return fmt.Errorf("store.Redis.DeleteSchedule %s: %w", name, redisErr(err))
	}
	return nil
}

// SaveSnooze stores s for ttl, indexed like open actions: a sorted set
// scored by expiry, which Snoozes trims.
func (r *Redis) SaveSnooze(ctx context.Context, s Snooze, ttl time.Duration) error {
	if s.Instance == "" {
		return fmt.Errorf("store.Redis.SaveSnooze: %w", errEmptyKey)
	}
	if err := checkTTL(ttl); err != nil {
		return fmt.Errorf("store.Redis.SaveSnooze %s: %w", s.Instance, err)
	}
	b, err := json.Marshal(s)
	if err != nil {
		return fmt.Errorf("store.Redis.SaveSnooze %s: %w", s.Instance, err)
	}
	ms := millis(ttl)
	expires := float64(time.Now().Add(ttl).UnixMilli())
	_, err = r.client.Pipelined(ctx, func(p redis.Pipeliner) error {
		p.ZAdd(ctx, r.prefix+"snoozes", redis.Z{Score: expires, Member: s.Instance})
		p.Set(ctx, r.key("snooze", s.Instance), b, time.Duration(ms)*time.Millisecond)
		return nil
	})
	if err != nil {
		return fmt.Errorf("store.Redis.SaveSnooze %s: %w", s.Instance, redisErr(err))
	}
	return nil
}

// Snoozes returns every unexpired snooze.
func (r *Redis) Snoozes(ctx context.Context) ([]Snooze, error) {
	index := r.prefix + "snoozes"
	if err := r.client.ZRemRangeByScore(ctx, index, "-inf", fmt.Sprint(time.Now().UnixMilli())).Err(); err != nil {
		return nil, fmt.Errorf("store.Redis.Snoozes: %w", redisErr(err))
	}
	ids, err := r.client.ZRange(ctx, index, 0, -1).Result()
	if err != nil {
		return nil, fmt.Errorf("store.Redis.Snoozes: %w", redisErr(err))
	}
	cmds := make([]*redis.StringCmd, len(ids))
	_, err = r.client.Pipelined(ctx, func(p redis.Pipeliner) error {
		for i, id := range ids {
			cmds[i] = p.Get(ctx, r.key("snooze", id))
		}
		return nil
	})
	if err != nil && !errors.Is(err, redis.Nil) {
		return nil, fmt.Errorf("store.Redis.Snoozes: %w", redisErr(err))
	}
	var out []Snooze
	for i, cmd := range cmds {
		b, err := cmd.Bytes()
		if errors.Is(err, redis.Nil) {
			continue // deleted, or expired before the index was trimmed
		}
		if err != nil {
			return nil, fmt.Errorf("store.Redis.Snoozes %s: %w", ids[i], redisErr(err))
		}
		var s Snooze
		if err := json.Unmarshal(b, &s); err != nil {
			return nil, fmt.Errorf("store.Redis.Snoozes %s: decode: %w", ids[i], err)
		}
		out = append(out, s)
	}
	return out, nil
}

// DeleteSnooze removes the instance's snooze, if any.
func (r *Redis) DeleteSnooze(ctx context.Context, instance string) error {
	_, err := r.client.Pipelined(ctx, func(p redis.Pipeliner) error {
		p.Del(ctx, r.key("snooze", instance))
		p.ZRem(ctx, r.prefix+"snoozes", instance)
		return nil
	})
	if err != nil {
		return fmt.Errorf("store.Redis.DeleteSnooze %s: %w", instance, redisErr(err))
	}
	return nil
}

// PutOAuthState stores a single-use state value for ttl. The state is a
// CSRF secret, so it never appears in errors.
func (r *Redis) PutOAuthState(ctx context.Context, state string, data []byte, ttl time.Duration) error {
	if state == "" {
		return fmt.Errorf("store.Redis.PutOAuthState: %w", errEmptyKey)
	}
	if err := checkTTL(ttl); err != nil {
		return fmt.Errorf("store.Redis.PutOAuthState: %w", err)
	}
	if err := r.client.Set(ctx, r.key("oauth-state", state), data, time.Duration(millis(ttl))*time.Millisecond).Err(); err != nil {
		return fmt.Errorf("store.Redis.PutOAuthState: %w", redisErr(err))
	}
	return nil
}

// ConsumeOAuthState returns state's data and deletes it in one command,
// so two concurrent callbacks cannot both succeed.
func (r *Redis) ConsumeOAuthState(ctx context.Context, state string) ([]byte, error) {
	b, err := r.client.GetDel(ctx, r.key("oauth-state", state)).Bytes()
	if err != nil {
		return nil, fmt.Errorf("store.Redis.ConsumeOAuthState: %w", redisErr(err))
	}
	return b, nil
}

// AppendAudit adds e to the audit stream, trimming it exactly to the limit.
func (r *Redis) AppendAudit(ctx context.Context, e AuditEntry) error {
	b, err := json.Marshal(e)
	if err != nil {
		return fmt.Errorf("store.Redis.AppendAudit: %w", err)
	}
	err = r.client.XAdd(ctx, &redis.XAddArgs{
		Stream: r.prefix + "audit",
		MaxLen: r.auditLimit, // exact (=): the bound is a promise, not a hint
		Values: []any{"e", b},
	}).Err()
	if err != nil {
		return fmt.Errorf("store.Redis.AppendAudit: %w", redisErr(err))
	}
	return nil
}

// RecentAudit returns at most n entries, newest first.
func (r *Redis) RecentAudit(ctx context.Context, n int) ([]AuditEntry, error) {
	if n <= 0 {
		return nil, nil
	}
	msgs, err := r.client.XRevRangeN(ctx, r.prefix+"audit", "+", "-", int64(n)).Result()
	if err != nil {
		return nil, fmt.Errorf("store.Redis.RecentAudit: %w", redisErr(err))
	}
	out := make([]AuditEntry, 0, len(msgs))
	for _, m := range msgs {
		raw, ok := m.Values["e"].(string)
		if !ok {
			return nil, fmt.Errorf("store.Redis.RecentAudit: entry %s has no payload", m.ID)
		}
		var e AuditEntry
		if err := json.Unmarshal([]byte(raw), &e); err != nil {
			return nil, fmt.Errorf("store.Redis.RecentAudit: decode entry %s: %w", m.ID, err)
		}
		out = append(out, e)
	}
	return out, nil
}

// Ping reports ErrUnavailable when Redis cannot answer. The client
// reconnects by itself, so a later Ping succeeds once Redis is back.
func (r *Redis) Ping(ctx context.Context) error {
	if err := r.client.Ping(ctx).Err(); err != nil {
		return fmt.Errorf("store.Redis.Ping: %w: %w", ErrUnavailable, err)
	}
	return nil
}

// Close closes the underlying client.
func (r *Redis) Close() error {
	if err := r.client.Close(); err != nil {
		return fmt.Errorf("store.Redis.Close: %w", err)
	}
	return nil
}

// redisErr gives go-redis errors the store's kinds: a missing key is
// ErrNotFound, and a failure to reach a serving Redis is ErrUnavailable.
func redisErr(err error) error {
	switch {
	case errors.Is(err, redis.Nil):
		return ErrNotFound
	case unreachable(err):
		return fmt.Errorf("%w: %w", ErrUnavailable, err)
	}
	return err
}

func unreachable(err error) bool {
	// The caller's own deadline or cancellation is not an outage (and
	// context.DeadlineExceeded would otherwise match net.Error).
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return false
	}
	if _, ok := errors.AsType[net.Error](err); ok {
		return true
	}
	return errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) ||
		errors.Is(err, redis.ErrClosed) || errors.Is(err, redis.ErrPoolTimeout) ||
		errors.Is(err, redis.ErrPoolExhausted) ||
		redis.IsLoadingError(err) || redis.IsMasterDownError(err) ||
		redis.IsClusterDownError(err) || redis.IsTryAgainError(err)
}
