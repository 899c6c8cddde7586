package store_test

import (
	"context"
	"errors"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/alicebob/miniredis/v2"
	"github.com/google/uuid"
	"github.com/redis/go-redis/v9"

	"github.com/charlize-app/charlize/store"
	"github.com/charlize-app/charlize/store/storetest"
)

func TestMiniredis(t *testing.T) {
	storetest.Run(t, func(t *testing.T) storetest.Harness {
		mr := miniredis.RunT(t)
		s := mustNewMiniredis(t, mr, 5)
		return storetest.Harness{Store: s, Advance: mr.FastForward, AuditLimit: 5}
	})
}

// TestRedis runs the suite against the real Redis at REDIS_URL. It skips
// without one, unless CHARLIZE_REQUIRE_REDIS=1 (CI) makes that a failure.
func TestRedis(t *testing.T) {
	url := realRedisURL(t)
	storetest.Run(t, func(t *testing.T) storetest.Harness {
		// Real Redis expires by wall clock, hence the sleep.
		return storetest.Harness{Store: mustOpenRealRedis(t, url, 5), Advance: time.Sleep, AuditLimit: 5}
	})
}

func TestRedisPingUnavailable(t *testing.T) {
	mr := miniredis.RunT(t)
	s, err := store.OpenRedis("redis://"+mr.Addr()+"/0", store.RedisOptions{})
	if err != nil {
		t.Fatalf("OpenRedis = %v", err)
	}
	t.Cleanup(func() { s.Close() })
	ctx := t.Context()
	if err := s.Ping(ctx); err != nil {
		t.Fatalf("Ping with server up = %v, want nil", err)
	}

	mr.Close()
	if err := s.Ping(ctx); !errors.Is(err, store.ErrUnavailable) {
		t.Errorf("Ping with server down = %v, want ErrUnavailable", err)
	}
	if _, err := s.Session(ctx, "s1"); !errors.Is(err, store.ErrUnavailable) || errors.Is(err, store.ErrNotFound) {
		t.Errorf("Session with server down = %v, want ErrUnavailable (not ErrNotFound)", err)
	}

	// Same client, same address: /readyz must recover by itself.
	if err := mr.Restart(); err != nil {
		t.Fatalf("miniredis Restart = %v", err)
	}
	if err := s.Ping(ctx); err != nil {
		t.Errorf("Ping after server restart = %v, want nil", err)
	}
}

func TestOpenRedis(t *testing.T) {
	mr := miniredis.RunT(t)
	tests := []struct {
		name    string
		url     string
		wantErr bool
	}{
		{"redis scheme", "redis://" + mr.Addr() + "/0", false},
		{"with password", "redis://:secret-pw@" + mr.Addr(), false},
		{"wrong scheme", "http://" + mr.Addr(), true},
		{"bad database", "redis://" + mr.Addr() + "/notanumber", true},
		{"unparsable, password must not leak", "redis://user:secret-pw@host:port%zz/0", true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s, err := store.OpenRedis(tc.url, store.RedisOptions{})
			if gotErr := err != nil; gotErr != tc.wantErr {
				t.Fatalf("OpenRedis(%q) error = %v, want error %v", tc.url, err, tc.wantErr)
			}
			if err != nil {
				if strings.Contains(err.Error(), "secret-pw") {
					t.Errorf("OpenRedis error %q contains the password", err)
				}
				return
			}
			s.Close()
		})
	}
}

func TestRedisKeyPrefix(t *testing.T) {
	mr := miniredis.RunT(t)
	tests := []struct {
		prefix, want string
	}{
		{"", "charlize:installation:team:T1"},
		{"tenant-a/", "tenant-a/installation:team:T1"},
	}
	for _, tc := range tests {
		t.Run(tc.want, func(t *testing.T) {
			mr.FlushAll()
			s := store.NewRedis(redis.NewClient(&redis.Options{Addr: mr.Addr()}), store.RedisOptions{Prefix: tc.prefix})
			defer s.Close()
			if err := s.SaveInstallation(t.Context(), store.Installation{Key: store.TeamKey("T1")}); err != nil {
				t.Fatalf("SaveInstallation = %v", err)
			}
			if keys := mr.Keys(); len(keys) != 1 || keys[0] != tc.want {
				t.Errorf("keys with prefix %q = %v, want [%s]", tc.prefix, keys, tc.want)
			}
		})
	}
}

func BenchmarkMiniredis(b *testing.B) {
	storetest.Benchmark(b, func(tb testing.TB) store.Store {
		return mustNewMiniredis(tb, miniredis.RunT(tb), 0)
	})
}

func BenchmarkRedis(b *testing.B) {
	url := realRedisURL(b)
	storetest.Benchmark(b, func(tb testing.TB) store.Store {
		return mustOpenRealRedis(tb, url, 0)
	})
}

func mustNewMiniredis(tb testing.TB, mr *miniredis.Miniredis, auditLimit int) *store.Redis {
	tb.Helper()
	s := store.NewRedis(redis.NewClient(&redis.Options{Addr: mr.Addr()}), store.RedisOptions{AuditLimit: auditLimit})
	tb.Cleanup(func() { s.Close() })
	return s
}

// realRedisURL returns REDIS_URL once it answers a PING, skipping the
// test otherwise; with CHARLIZE_REQUIRE_REDIS=1 it fails instead.
func realRedisURL(tb testing.TB) string {
	tb.Helper()
	skip := tb.Skipf
	if os.Getenv("CHARLIZE_REQUIRE_REDIS") == "1" {
		skip = func(format string, args ...any) {
			tb.Helper()
			tb.Fatalf("CHARLIZE_REQUIRE_REDIS=1: "+format, args...)
		}
	}
	url := os.Getenv("REDIS_URL")
	if url == "" {
		skip("REDIS_URL is not set")
	}
	// OpenRedis, not redis.ParseURL, so a bad URL's password stays out of the log.
	s, err := store.OpenRedis(url, store.RedisOptions{})
	if err != nil {
		skip("REDIS_URL: %v", err)
	}
	defer s.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	if err := s.Ping(ctx); err != nil {
		skip("Redis at REDIS_URL is unreachable: %v", err)
	}
	return url
}

// mustOpenRealRedis returns a store under a fresh random prefix, so
// parallel runs sharing one Redis never collide, and deletes its keys
// when the test ends.
func mustOpenRealRedis(tb testing.TB, url string, auditLimit int) *store.Redis {
	tb.Helper()
	opts, err := redis.ParseURL(url)
	if err != nil {
		tb.Fatalf("ParseURL(REDIS_URL) = %v", err)
	}
	prefix := "charlize-test:" + uuid.NewString() + ":"
	client := redis.NewClient(opts)
	s := store.NewRedis(client, store.RedisOptions{Prefix: prefix, AuditLimit: auditLimit})
	tb.Cleanup(func() {
		defer s.Close()
		// The test's context is already cancelled when cleanups run.
		ctx := context.Background()
		var keys []string
		iter := client.Scan(ctx, 0, prefix+"*", 1000).Iterator()
		for iter.Next(ctx) {
			keys = append(keys, iter.Val())
		}
		if err := iter.Err(); err != nil {
			tb.Errorf("scanning test keys under %s: %v", prefix, err)
			return
		}
		if len(keys) > 0 {
			if err := client.Del(ctx, keys...).Err(); err != nil {
				tb.Errorf("deleting test keys under %s: %v", prefix, err)
			}
		}
	})
	return s
}

// The Redis store's clock is the server's (TIME), whatever this process's
// says: what replicas with different clocks agree on.
func TestRedisClockIsTheServers(t *testing.T) {
	mr := miniredis.RunT(t)
	s := mustNewMiniredis(t, mr, 5)
	server := time.Date(2026, 12, 4, 20, 0, 0, 123456000, time.UTC)
	mr.SetTime(server)
	if got, err := s.Clock(t.Context()); err != nil || !got.Equal(server) {
		t.Errorf("Clock() = %v, %v; want the server's %v", got, err, server)
	}
	if url := os.Getenv("REDIS_URL"); url != "" {
		real := mustOpenRealRedis(t, url, 5)
		if got, err := real.Clock(t.Context()); err != nil || got.Sub(time.Now()).Abs() > 2*time.Second {
			t.Errorf("real Redis Clock() = %v, %v; want within 2 s of this machine's", got, err)
		}
	}
}
