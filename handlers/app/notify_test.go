package app

import (
	"testing"
	"time"
)

// A claim held by a replica that died lapses before the queue gives the
// message up: the put-backs its five receives allow (the fifth is the
// redrive's) wait out the claim, while the first comes back soon.
func TestPutBackOutlastsADeadReplicasClaim(t *testing.T) {
	const receivesBeforeRedrive = 5 // awsevents' MaxReceives, the template's maxReceiveCount
	for _, c := range []struct {
		name        string
		first, hold time.Duration
	}{
		{"event claim", 10 * time.Second, notifyLease},
		{"notice lock", 5 * time.Second, noticeLockTTL},
	} {
		if got := putBack(1, c.first, c.hold); got != c.first {
			t.Errorf("%s: first put-back after %v, want %v", c.name, got, c.first)
		}
		var waited time.Duration
		for receives := 1; receives < receivesBeforeRedrive; receives++ {
			waited += putBack(receives, c.first, c.hold)
		}
		if waited < c.hold {
			t.Errorf("%s: %d put-backs wait %v in all, less than the %v claim of a dead replica", c.name, receivesBeforeRedrive-1, waited, c.hold)
		}
	}
}
