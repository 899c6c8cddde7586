package sealed_test

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/alicebob/miniredis/v2"

	"github.com/charlize-app/charlize/store"
	"github.com/charlize-app/charlize/store/sealed"
	"github.com/charlize-app/charlize/store/storetest"
)

var epoch = time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC)

func testKey(b byte) []byte { return bytes.Repeat([]byte{b}, sealed.KeySize) }

func mustSeal(t *testing.T, inner store.Store, current []byte, old ...[]byte) *sealed.Store {
	t.Helper()
	s, err := sealed.New(inner, current, old...)
	if err != nil {
		t.Fatalf("sealed.New: %v", err)
	}
	return s
}

func mustOpenEmbedded(t *testing.T, dir string, opts store.EmbeddedOptions) *store.Embedded {
	t.Helper()
	e, err := store.OpenEmbedded(dir, opts)
	if err != nil {
		t.Fatalf("OpenEmbedded: %v", err)
	}
	return e
}

// The wrapper is a store.Store like any other.
func TestSealedConformance(t *testing.T) {
	storetest.Run(t, func(t *testing.T) storetest.Harness {
		clock := storetest.NewClock(epoch)
		e := mustOpenEmbedded(t, t.TempDir(), store.EmbeddedOptions{Now: clock.Now, AuditLimit: 5})
		t.Cleanup(func() { e.Close() })
		return storetest.Harness{Store: mustSeal(t, e, testKey(1)), Advance: clock.Advance, AuditLimit: 5}
	})
}

func installation(team string) store.Installation {
	return store.Installation{
		Key: store.TeamKey(team), TeamID: team, BotUserID: "U0BOT",
		BotToken: "xoxb-secret-bot-" + team, RefreshToken: "xoxe-1-secret-refresh-" + team,
		BotTokenExpiresAt: epoch.Add(12 * time.Hour), InstalledAt: epoch,
	}
}

// Neither the embedded file nor Redis ever holds a token in clear.
func TestNoTokenInClear(t *testing.T) {
	ctx := context.Background()
	inst := installation("T0001")

	t.Run("embedded", func(t *testing.T) {
		dir := t.TempDir()
		e := mustOpenEmbedded(t, dir, store.EmbeddedOptions{})
		s := mustSeal(t, e, testKey(1))
		if err := s.SaveInstallation(ctx, inst); err != nil {
			t.Fatal(err)
		}
		got, err := s.Installation(ctx, inst.Key)
		if err != nil || got.BotToken != inst.BotToken || got.RefreshToken != inst.RefreshToken {
			t.Fatalf("Installation = %+v, %v; want the tokens back", got, err)
		}
		if err := e.Close(); err != nil {
			t.Fatal(err)
		}
		raw, err := os.ReadFile(filepath.Join(dir, store.EmbeddedFile))
		if err != nil {
			t.Fatal(err)
		}
		for _, secret := range []string{inst.BotToken, inst.RefreshToken, "secret"} {
			if bytes.Contains(raw, []byte(secret)) {
				t.Errorf("the bbolt file holds %q in clear", secret)
			}
		}
		if !bytes.Contains(raw, []byte("sealed:v1:")) {
			t.Error("the bbolt file holds no sealed token at all")
		}
	})

	t.Run("redis", func(t *testing.T) {
		mr := miniredis.RunT(t)
		r, err := store.OpenRedis("redis://"+mr.Addr(), store.RedisOptions{})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { r.Close() })
		s := mustSeal(t, r, testKey(1))
		if err := s.SaveInstallation(ctx, inst); err != nil {
			t.Fatal(err)
		}
		var b strings.Builder
		for _, k := range mr.Keys() {
			b.WriteString(k + "\n")
			if v, err := mr.Get(k); err == nil { // installations are string keys
				b.WriteString(v + "\n")
			}
		}
		dump := b.String()
		if !strings.Contains(dump, "sealed:v1:") {
			t.Fatalf("no sealed token in miniredis:\n%s", dump)
		}
		if strings.Contains(dump, "secret") {
			t.Errorf("Redis holds a token in clear:\n%s", dump)
		}
	})
}

// After a key rotation the old key still opens tokens until they are saved
// again; a save reseals them with the new key, after which the old key can
// be dropped.
func TestKeyRotation(t *testing.T) {
	ctx := context.Background()
	oldKey, newKey := testKey(1), testKey(2)
	inner := mustOpenEmbedded(t, t.TempDir(), store.EmbeddedOptions{})
	t.Cleanup(func() { inner.Close() })
	inst := installation("T0001")

	if err := mustSeal(t, inner, oldKey).SaveInstallation(ctx, inst); err != nil {
		t.Fatal(err)
	}
	rawBefore, _ := inner.Installation(ctx, inst.Key)

	// New key without the old one: the token cannot be opened, and the
	// error says so without leaking anything.
	if _, err := mustSeal(t, inner, newKey).Installation(ctx, inst.Key); !errors.Is(err, sealed.ErrKey) {
		t.Fatalf("Installation with only the new key = %v, want ErrKey", err)
	}

	rotated := mustSeal(t, inner, newKey, oldKey)
	got, err := rotated.Installation(ctx, inst.Key)
	if err != nil || got.BotToken != inst.BotToken || got.RefreshToken != inst.RefreshToken {
		t.Fatalf("Installation with new+old keys = %+v, %v; want the tokens", got, err)
	}
	if err := rotated.SaveInstallation(ctx, got); err != nil {
		t.Fatal(err)
	}
	rawAfter, _ := inner.Installation(ctx, inst.Key)
	if rawAfter.BotToken == rawBefore.BotToken || rawAfter.BotToken == inst.BotToken {
		t.Fatalf("saving did not reseal the token: %q", rawAfter.BotToken)
	}

	got, err = mustSeal(t, inner, newKey).Installation(ctx, inst.Key)
	if err != nil || got.BotToken != inst.BotToken {
		t.Fatalf("Installation with only the new key after resave = %+v, %v", got, err)
	}
	if _, err := mustSeal(t, inner, oldKey).Installation(ctx, inst.Key); !errors.Is(err, sealed.ErrKey) {
		t.Errorf("Installation with only the old key after resave = %v, want ErrKey", err)
	}
}

// A sealed token moved into another installation's record does not open.
func TestTamperedValues(t *testing.T) {
	ctx := context.Background()
	inner := mustOpenEmbedded(t, t.TempDir(), store.EmbeddedOptions{})
	t.Cleanup(func() { inner.Close() })
	s := mustSeal(t, inner, testKey(1))
	a, b := installation("T000A"), installation("T000B")
	for _, inst := range []store.Installation{a, b} {
		if err := s.SaveInstallation(ctx, inst); err != nil {
			t.Fatal(err)
		}
	}
	rawA, _ := inner.Installation(ctx, a.Key)
	rawB, _ := inner.Installation(ctx, b.Key)
	// Two characters replaced by others (random ciphertext may end in AA).
	flipped := rawB.BotToken[:len(rawB.BotToken)-2] + "AA"
	if flipped == rawB.BotToken {
		flipped = rawB.BotToken[:len(rawB.BotToken)-2] + "BB"
	}

	tests := []struct {
		name  string
		token string
		want  error
	}{
		{"swapped between installations", rawA.BotToken, sealed.ErrKey},
		{"flipped byte", flipped, sealed.ErrKey},
		{"in clear", "xoxb-planted", sealed.ErrNotSealed},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			planted := rawB
			planted.BotToken = tt.token
			if err := inner.SaveInstallation(ctx, planted); err != nil {
				t.Fatal(err)
			}
			if _, err := s.Installation(ctx, b.Key); !errors.Is(err, tt.want) {
				t.Errorf("Installation = %v, want %v", err, tt.want)
			}
		})
	}
}

// A whole installation record copied under another workspace's key (by
// anyone who can write to Redis) does not open: that workspace would act
// with the first one's token.
func TestRecordCopiedUnderAnotherKey(t *testing.T) {
	ctx := context.Background()
	mr := miniredis.RunT(t)
	inner, err := store.OpenRedis("redis://"+mr.Addr(), store.RedisOptions{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { inner.Close() })
	s := mustSeal(t, inner, testKey(1))
	a, b := installation("T000A"), installation("T000B")
	if err := s.SaveInstallation(ctx, a); err != nil {
		t.Fatal(err)
	}
	copied := 0
	for _, k := range mr.Keys() {
		if v, err := mr.Get(k); err == nil && strings.HasSuffix(k, a.Key) {
			if err := mr.Set(strings.TrimSuffix(k, a.Key)+b.Key, v); err != nil {
				t.Fatal(err)
			}
			copied++
		}
	}
	if copied != 1 {
		t.Fatalf("installation records of %s in Redis = %d (keys %v), want 1", a.Key, copied, mr.Keys())
	}
	if got, err := s.Installation(ctx, b.Key); !errors.Is(err, sealed.ErrKey) {
		t.Errorf("Installation(%s) = bot token %q, %v; want ErrKey (the record is %s's)", b.Key, got.BotToken, err, a.Key)
	}
	if got, err := s.Installation(ctx, a.Key); err != nil || got.BotToken != a.BotToken {
		t.Errorf("Installation(%s) = %q, %v; want its own token", a.Key, got.BotToken, err)
	}
}

func TestNewRejectsBadKeys(t *testing.T) {
	for _, n := range []int{0, 16, 31, 33} {
		if _, err := sealed.New(nil, make([]byte, n)); err == nil {
			t.Errorf("sealed.New with a %d-byte key succeeded", n)
		}
	}
	if _, err := sealed.New(nil, testKey(1), make([]byte, 5)); err == nil {
		t.Error("sealed.New with a bad old key succeeded")
	}
}
