package store_test

import (
	"errors"
	"net"
	"testing"
	"time"

	"github.com/charlize-app/charlize/store"
	"github.com/charlize-app/charlize/store/storetest"
)

// A bounded store behaves as the store it wraps.
func TestBoundedConforms(t *testing.T) {
	storetest.Run(t, func(t *testing.T) storetest.Harness {
		clock := storetest.NewClock(epoch)
		s := mustOpenEmbedded(t, t.TempDir(), store.EmbeddedOptions{Now: clock.Now, AuditLimit: 5})
		return storetest.Harness{Store: store.Bounded(s, time.Minute), Advance: clock.Advance, AuditLimit: 5}
	})
}

// hungRedis accepts connections and never answers, as a Redis in a long
// DEBUG SLEEP (or behind a stalled network) does.
func hungRedis(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var conns []net.Conn
	t.Cleanup(func() {
		ln.Close()
		for _, c := range conns {
			c.Close()
		}
	})
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			conns = append(conns, c) // held open, never read
		}
	}()
	return ln.Addr().String()
}

// While Redis hangs, every call ends within the bound with ErrUnavailable.
func TestBoundedHungRedis(t *testing.T) {
	r, err := store.OpenRedis("redis://"+hungRedis(t), store.RedisOptions{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { r.Close() })
	s := store.Bounded(r, 200*time.Millisecond)
	done := make(chan error, 3)
	go func() { done <- s.Ping(t.Context()) }()
	go func() { _, err := s.Session(t.Context(), "s1"); done <- err }()
	go func() { _, _, err := s.Claim(t.Context(), "k", "h", time.Minute); done <- err }()
	for range 3 {
		select {
		case err := <-done:
			if !errors.Is(err, store.ErrUnavailable) {
				t.Errorf("call on a hung Redis = %v, want ErrUnavailable", err)
			}
		case <-time.After(5 * time.Second):
			t.Fatal("a call on a hung Redis did not return within 5 s; the bound is 200 ms")
		}
	}
}
