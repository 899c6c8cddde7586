package store

import (
	"path/filepath"

	bolt "go.etcd.io/bbolt"
)

// Test hooks for the embedded store's sweep, which is otherwise only
// observable by reading the files.

// Sweep runs one sweep now.
func (e *Embedded) Sweep() (int, error) { return e.sweep() }

// sweepable are the buckets holding values with a lifetime, by file.
var sweepable = map[string][]string{
	EmbeddedFile: {string(bucketClaims), string(bucketOAuthStates)},
	SessionsFile: {string(bucketSessions), string(bucketTeamSessions)},
}

// RawCounts counts the keys in each sweepable bucket, expired or not.
func (e *Embedded) RawCounts() (map[string]int, error) {
	counts := map[string]int{}
	err := e.db.View(func(tx *bolt.Tx) error { return countKeys(tx, sweepable[EmbeddedFile], counts) })
	if err == nil {
		err = e.sessions.View(func(tx *bolt.Tx) error { return countKeys(tx, sweepable[SessionsFile], counts) })
	}
	return counts, err
}

// FileCounts is RawCounts for a closed store's files in dir.
func FileCounts(dir string) (map[string]int, error) {
	counts := map[string]int{}
	for file, buckets := range sweepable {
		db, err := bolt.Open(filepath.Join(dir, file), 0o600, &bolt.Options{ReadOnly: true, Timeout: lockTimeout})
		if err != nil {
			return nil, err
		}
		err = db.View(func(tx *bolt.Tx) error { return countKeys(tx, buckets, counts) })
		db.Close()
		if err != nil {
			return nil, err
		}
	}
	return counts, nil
}

func countKeys(tx *bolt.Tx, buckets []string, counts map[string]int) error {
	for _, name := range buckets {
		counts[name] = tx.Bucket([]byte(name)).Stats().KeyN
	}
	return nil
}
