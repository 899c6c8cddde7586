package store

import (
	bolt "go.etcd.io/bbolt"
)

// Test hooks for the embedded store's sweep, which is otherwise only
// observable by reading the file.

// SweepBuckets names the buckets holding values with a lifetime.
var SweepBuckets = []string{
	string(bucketSessions), string(bucketTeamSessions), string(bucketClaims), string(bucketOAuthStates),
}

// Sweep runs one sweep now.
func (e *Embedded) Sweep() (int, error) { return e.sweep() }

// RawCounts counts the keys in each sweepable bucket, expired or not.
func (e *Embedded) RawCounts() (map[string]int, error) {
	counts := map[string]int{}
	err := e.db.View(func(tx *bolt.Tx) error { return countKeys(tx, counts) })
	return counts, err
}

// FileCounts is RawCounts for a closed store's file at path.
func FileCounts(path string) (map[string]int, error) {
	db, err := bolt.Open(path, 0o600, &bolt.Options{ReadOnly: true, Timeout: lockTimeout})
	if err != nil {
		return nil, err
	}
	defer db.Close()
	counts := map[string]int{}
	err = db.View(func(tx *bolt.Tx) error { return countKeys(tx, counts) })
	return counts, err
}

func countKeys(tx *bolt.Tx, counts map[string]int) error {
	for _, name := range SweepBuckets {
		counts[name] = tx.Bucket([]byte(name)).Stats().KeyN
	}
	return nil
}
