package store

import (
	"errors"
	"time"
)

// errBadTTL rejects lifetimes that would store an already-dead value;
// Redis refuses PX 0 and a zero TTL is almost certainly a caller bug.
var errBadTTL = errors.New("ttl must be positive")

// errEmptyKey rejects empty keys and ids, which would collide in both
// implementations' key spaces, and empty claim holders, which could not
// be told apart from "no owner".
var errEmptyKey = errors.New("empty key")
var errEmptyHolder = errors.New("empty holder")

func checkTTL(ttl time.Duration) error {
	if ttl <= 0 {
		return errBadTTL
	}
	return nil
}

// millis rounds ttl up to whole milliseconds (Redis's PX resolution) so a
// sub-millisecond TTL never becomes zero.
func millis(ttl time.Duration) int64 {
	ms := int64((ttl + time.Millisecond - 1) / time.Millisecond)
	if ms < 1 {
		ms = 1
	}
	return ms
}
