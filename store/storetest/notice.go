package storetest

import (
	"errors"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/charlize-app/charlize/store"
)

// A notice is replaced whole, and unknown keys are not found.
func testNoticeRoundTrip(t *testing.T, h Harness) {
	ctx := t.Context()
	want := store.Notice{Key: "alarm:acme-prod/eu-west-1/cpu-high", Data: []byte(`{"ts":"1700000000.000100"}`)}
	if err := h.Store.SaveNotice(ctx, want, longTTL); err != nil {
		t.Fatalf("SaveNotice = %v", err)
	}
	got, err := h.Store.Notice(ctx, want.Key)
	if err != nil {
		t.Fatalf("Notice(%s) = %v", want.Key, err)
	}
	if diff := cmp.Diff(want, got, opts); diff != "" {
		t.Errorf("Notice mismatch (-want +got):\n%s", diff)
	}
	want.Data = []byte(`{"ts":"1700000000.000100","resolved":true}`)
	if err := h.Store.SaveNotice(ctx, want, longTTL); err != nil {
		t.Fatalf("SaveNotice (replace) = %v", err)
	}
	if got, _ := h.Store.Notice(ctx, want.Key); string(got.Data) != string(want.Data) {
		t.Errorf("Notice after replacing = %s, want %s", got.Data, want.Data)
	}
	if _, err := h.Store.Notice(ctx, "unknown"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("Notice(unknown) = %v, want ErrNotFound", err)
	}
	if err := h.Store.SaveNotice(ctx, store.Notice{}, longTTL); err == nil {
		t.Errorf("SaveNotice with an empty key = nil, want an error")
	}
}

func testNoticeExpiry(t *testing.T, h Harness) {
	ctx := t.Context()
	if err := h.Store.SaveNotice(ctx, store.Notice{Key: "n1", Data: []byte("x")}, shortTTL); err != nil {
		t.Fatal(err)
	}
	h.Advance(pastTTL)
	if _, err := h.Store.Notice(ctx, "n1"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("Notice(n1) after its TTL = %v, want ErrNotFound", err)
	}
}

// Items come back in append order, and each append reports the new length.
func testGroupAppendOrder(t *testing.T, h Harness) {
	ctx := t.Context()
	if _, err := h.Store.Group(ctx, "g1"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("Group(g1) before any append = %v, want ErrNotFound", err)
	}
	var want [][]byte
	for i := range 3 {
		item := fmt.Appendf(nil, "item-%d", i)
		want = append(want, item)
		n, err := h.Store.AppendGroup(ctx, "g1", item, longTTL)
		if err != nil || n != i+1 {
			t.Fatalf("AppendGroup(g1, %s) = %d, %v, want %d", item, n, err, i+1)
		}
	}
	if n, err := h.Store.AppendGroup(ctx, "g2", []byte("other"), longTTL); err != nil || n != 1 {
		t.Errorf("AppendGroup(g2) = %d, %v, want 1: groups are separate", n, err)
	}
	got, err := h.Store.Group(ctx, "g1")
	if err != nil {
		t.Fatalf("Group(g1) = %v", err)
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("Group(g1) mismatch (-want +got):\n%s", diff)
	}
}

// A group is a window: it ends a TTL after its first item, however many
// follow, and the next append starts a new one.
func testGroupExpiryFromFirstItem(t *testing.T, h Harness) {
	ctx := t.Context()
	if _, err := h.Store.AppendGroup(ctx, "w", []byte("first"), shortTTL); err != nil {
		t.Fatal(err)
	}
	h.Advance(shortTTL / 2)
	if _, err := h.Store.AppendGroup(ctx, "w", []byte("second"), shortTTL); err != nil {
		t.Fatal(err)
	}
	h.Advance(shortTTL/2 + 100*time.Millisecond)
	if items, err := h.Store.Group(ctx, "w"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("Group(w) a TTL after its first item = %q, %v, want ErrNotFound", items, err)
	}
	if n, err := h.Store.AppendGroup(ctx, "w", []byte("next window"), shortTTL); err != nil || n != 1 {
		t.Errorf("AppendGroup after the window = %d, %v, want 1 (a new group)", n, err)
	}
}

// Concurrent appends all land, and every caller sees a different length.
func testGroupAppendRace(t *testing.T, h Harness) {
	const n = 50
	lengths := make([]int, n)
	errs := make([]error, n)
	atOnce(n, func(i int) {
		lengths[i], errs[i] = h.Store.AppendGroup(t.Context(), "burst", fmt.Appendf(nil, "%d", i), longTTL)
	})
	for i, err := range errs {
		if err != nil {
			t.Fatalf("AppendGroup #%d = %v", i, err)
		}
	}
	slices.Sort(lengths)
	for i, l := range lengths {
		if l != i+1 {
			t.Fatalf("lengths seen by %d concurrent appends = %v, want 1..%d once each", n, lengths, n)
		}
	}
	items, err := h.Store.Group(t.Context(), "burst")
	if err != nil || len(items) != n {
		t.Errorf("Group(burst) = %d items, %v, want %d", len(items), err, n)
	}
}

// A counter hands out numbers in order from where it is or from where the
// caller says, whichever is later, never one twice.
func testTakeNumberFrom(t *testing.T, h Harness) {
	ctx := t.Context()
	take := func(key string, from int64) int64 {
		t.Helper()
		n, err := h.Store.TakeNumber(ctx, key, from, longTTL)
		if err != nil {
			t.Fatalf("TakeNumber(%s, %d) = %v", key, from, err)
		}
		return n
	}
	const slot = 1_764_876_000_123 // a millisecond slot of today: beyond a float's printing
	for i, c := range []struct {
		from, want int64
	}{{slot, slot}, {slot, slot + 1}, {slot - 5, slot + 2}, {slot + 10, slot + 10}, {0, slot + 11}} {
		if got := take("c1", c.from); got != c.want {
			t.Errorf("take #%d of c1 from %d = %d, want %d", i+1, c.from, got, c.want)
		}
	}
	if got := take("c2", 7); got != 7 {
		t.Errorf("TakeNumber(c2, 7) = %d, want 7: counters are separate", got)
	}
	if _, err := h.Store.TakeNumber(ctx, "", 1, longTTL); err == nil {
		t.Error("TakeNumber with an empty key = nil, want an error")
	}
}

// A counter untouched for its TTL starts over from the caller's number.
func testTakeNumberExpiry(t *testing.T, h Harness) {
	ctx := t.Context()
	for range 3 {
		if _, err := h.Store.TakeNumber(ctx, "c", 100, shortTTL); err != nil {
			t.Fatal(err)
		}
	}
	h.Advance(shortTTL / 2)
	if n, _ := h.Store.TakeNumber(ctx, "c", 0, shortTTL); n != 103 {
		t.Errorf("TakeNumber within the TTL = %d, want 103", n)
	}
	h.Advance(pastTTL)
	if n, err := h.Store.TakeNumber(ctx, "c", 5, shortTTL); err != nil || n != 5 {
		t.Errorf("TakeNumber a TTL after the last take = %d, %v, want 5 (a counter anew)", n, err)
	}
}

// Concurrent takes all get different numbers, with none skipped.
func testTakeNumberRace(t *testing.T, h Harness) {
	const n = 50
	taken := make([]int64, n)
	errs := make([]error, n)
	atOnce(n, func(i int) {
		taken[i], errs[i] = h.Store.TakeNumber(t.Context(), "burst", 1000, longTTL)
	})
	for i, err := range errs {
		if err != nil {
			t.Fatalf("TakeNumber #%d = %v", i, err)
		}
	}
	slices.Sort(taken)
	for i, got := range taken {
		if got != 1000+int64(i) {
			t.Fatalf("numbers taken by %d concurrent callers = %v, want 1000..%d once each", n, taken, 1000+n-1)
		}
	}
}
