//go:build !js

package client

import (
	"context"
	"time"

	"github.com/synkhq/synk/internal/wraperr"
	bolt "go.etcd.io/bbolt"
)

// FileStore is a [Store] in one file, kept with bbolt: every Apply is one
// transaction, fsync'd before it returns. Create it with [OpenFile]; close
// it after the Conn that uses it.
type FileStore struct{ db *bolt.DB }

var fileBucket = []byte("synk")

// OpenFile opens the Store in the file at path, creating it if needed. A
// file is used by one program at a time: a second OpenFile of the same
// path waits up to a second, then fails. In a browser, OpenFile returns
// an error: synk.js keeps its Store in IndexedDB.
func OpenFile(path string) (*FileStore, error) {
	db, err := bolt.Open(path, 0o600, &bolt.Options{Timeout: time.Second})
	if err != nil {
		return nil, wraperr.Prefix("client: open store "+path, err)
	}
	err = db.Update(func(tx *bolt.Tx) error {
		_, err := tx.CreateBucketIfNotExists(fileBucket)
		return err
	})
	if err != nil {
		db.Close()
		return nil, wraperr.Prefix("client: open store "+path, err)
	}
	return &FileStore{db: db}, nil
}

// Load implements [Store].
func (f *FileStore) Load(ctx context.Context) (map[string][]byte, error) {
	out := make(map[string][]byte)
	err := f.db.View(func(tx *bolt.Tx) error {
		return tx.Bucket(fileBucket).ForEach(func(k, v []byte) error {
			out[string(k)] = append([]byte(nil), v...)
			return ctx.Err()
		})
	})
	return out, err
}

// Apply implements [Store].
func (f *FileStore) Apply(ctx context.Context, set map[string][]byte, del []string) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	return f.db.Update(func(tx *bolt.Tx) error {
		b := tx.Bucket(fileBucket)
		for _, k := range del {
			if err := b.Delete([]byte(k)); err != nil {
				return err
			}
		}
		for k, v := range set {
			if err := b.Put([]byte(k), v); err != nil {
				return err
			}
		}
		return nil
	})
}

// Close closes the file.
func (f *FileStore) Close() error { return f.db.Close() }
