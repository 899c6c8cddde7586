package store

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"

	bolt "go.etcd.io/bbolt"
	bolterrors "go.etcd.io/bbolt/errors"
)

// Sessions (what buttons, pickers and lists refer to) live in a file of
// their own, written without waiting for the disk: losing one costs a user
// a re-run ("This message has expired"), while every write that waits for
// a disk sync in charlize.db costs each picker, list and page turn
// milliseconds under load. A crash of the process loses nothing (the
// writes are in the page cache); a crash of the machine may lose the last
// seconds of sessions, and a file found damaged is started afresh.
const (
	// SessionsFile is the sessions' file inside the directory.
	SessionsFile = "sessions.db"
	// cleanKey, in bucketSessionsMeta, says the file was closed cleanly:
	// without it the file is checked before use.
	cleanKey = "clean"
)

var bucketSessionsMeta = []byte("meta")

// openSessions opens dir/sessions.db, checking it when the last process
// did not close it and starting afresh when it is damaged. Whether
// ambient writes are synced is left to the OS (NoSync).
func openSessions(dir string) (*bolt.DB, error) {
	path := filepath.Join(dir, SessionsFile)
	db, err := openSessionsFile(path)
	if err != nil && !errors.Is(err, bolterrors.ErrTimeout) {
		// Damaged beyond opening (a machine crash mid-write): the
		// sessions are disposable, the file is not worth an outage.
		if rmErr := os.Remove(path); rmErr == nil {
			db, err = openSessionsFile(path)
		}
	}
	if err != nil {
		return nil, fmt.Errorf("sessions file %s: %w", path, err)
	}
	return db, nil
}

func openSessionsFile(path string) (*bolt.DB, error) {
	db, err := bolt.Open(path, 0o600, &bolt.Options{Timeout: lockTimeout, NoSync: true, NoFreelistSync: true})
	if err != nil {
		return nil, err
	}
	damaged := false
	err = db.Update(func(tx *bolt.Tx) error {
		meta := tx.Bucket(bucketSessionsMeta)
		if meta != nil && meta.Get([]byte(cleanKey)) == nil {
			for range tx.Check() {
				damaged = true
			}
		}
		if damaged {
			return nil
		}
		for _, name := range [][]byte{bucketSessions, bucketTeamSessions, bucketSessionsMeta} {
			if _, err := tx.CreateBucketIfNotExists(name); err != nil {
				return fmt.Errorf("bucket %s: %w", name, err)
			}
		}
		// Until Close says otherwise, this process has the file open.
		return tx.Bucket(bucketSessionsMeta).Delete([]byte(cleanKey))
	})
	if err == nil && damaged {
		err = errors.New("damaged")
	}
	if err == nil {
		err = db.Sync() // the "not closed cleanly" mark must survive a machine crash
	}
	if err != nil {
		_ = db.Close()
		return nil, err
	}
	return db, nil
}

// closeSessions marks the file as closed cleanly, syncs and closes it.
func closeSessions(db *bolt.DB) error {
	err := db.Update(func(tx *bolt.Tx) error {
		return tx.Bucket(bucketSessionsMeta).Put([]byte(cleanKey), []byte{1})
	})
	if err == nil {
		err = db.Sync()
	}
	return errors.Join(err, db.Close())
}

// updateSessions and viewSessions are update and view on the sessions
// file. A write there costs no disk sync, so it is not batched: it
// commits at once.
func (e *Embedded) updateSessions(ctx context.Context, fn func(*bolt.Tx) error) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	return boltErr(e.sessions.Update(fn))
}

func (e *Embedded) viewSessions(ctx context.Context, fn func(*bolt.Tx) error) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	return boltErr(e.sessions.View(fn))
}
