package server

import (
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/vmihailenco/msgpack/v5"
	bolt "go.etcd.io/bbolt"
)

// store keeps the rooms' objects in a bbolt file, one bucket per room. A
// write is fsync'd before the client's OK is sent; bbolt's Batch joins the
// writes that arrive together into one transaction and one fsync (group
// commit). Presence is never stored.
type store struct{ db *bolt.DB }

// record is an object as stored, or a tombstone. Seq orders the writes of
// one room, so that a late write never overwrites a newer one.
type record struct {
	Seq     uint64                        `msgpack:"s"`
	Deleted bool                          `msgpack:"d,omitempty"`
	Kind    string                        `msgpack:"y,omitempty"`
	Area    string                        `msgpack:"a,omitempty"`
	Version uint64                        `msgpack:"v,omitempty"`
	Fields  map[string]msgpack.RawMessage `msgpack:"f,omitempty"`
	Op      string                        `msgpack:"p,omitempty"` // client op id of the write
}

var bucketObjects = []byte("objects")

func openStore(dir string) (*store, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("server: data directory: %w", err)
	}
	db, err := bolt.Open(filepath.Join(dir, "synk.db"), 0o600, &bolt.Options{Timeout: 2 * time.Second})
	if err != nil {
		return nil, fmt.Errorf("server: open store in %s: %w", dir, err)
	}
	// Batch waits this long for more writes to join a commit; bbolt's 10 ms
	// default would cap a lone writer at ~90 writes/s.
	db.MaxBatchDelay = time.Millisecond
	err = db.Update(func(tx *bolt.Tx) error {
		_, err := tx.CreateBucketIfNotExists(bucketObjects)
		return err
	})
	if err != nil {
		db.Close()
		return nil, fmt.Errorf("server: init store: %w", err)
	}
	return &store{db: db}, nil
}

// put stores rec for object id of room unless a newer write is stored.
func (st *store) put(room, id string, rec *record) error {
	val, err := msgpack.Marshal(rec)
	if err != nil {
		return err
	}
	return st.db.Batch(func(tx *bolt.Tx) error {
		b, err := tx.Bucket(bucketObjects).CreateBucketIfNotExists([]byte(room))
		if err != nil {
			return err
		}
		if old := b.Get([]byte(id)); old != nil {
			var prev record
			if err := msgpack.Unmarshal(old, &prev); err == nil && prev.Seq >= rec.Seq {
				return nil
			}
		}
		return b.Put([]byte(id), val)
	})
}

// load calls fn for every stored object and tombstone, and returns each
// room's highest sequence number.
func (st *store) load(fn func(room, id string, rec *record)) (map[string]uint64, error) {
	seqs := make(map[string]uint64)
	err := st.db.View(func(tx *bolt.Tx) error {
		return tx.Bucket(bucketObjects).ForEachBucket(func(room []byte) error {
			return tx.Bucket(bucketObjects).Bucket(room).ForEach(func(k, v []byte) error {
				var rec record
				if err := msgpack.Unmarshal(v, &rec); err != nil {
					return fmt.Errorf("object %s/%s: %w", room, k, err)
				}
				seqs[string(room)] = max(seqs[string(room)], rec.Seq)
				fn(string(room), string(k), &rec)
				return nil
			})
		})
	})
	if err != nil {
		return nil, fmt.Errorf("server: load store: %w", err)
	}
	return seqs, nil
}

func (st *store) close() error { return st.db.Close() }
