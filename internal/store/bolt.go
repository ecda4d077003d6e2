//go:build !js

package store

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/synkhq/synk/protocol"
	"github.com/vmihailenco/msgpack/v5"
	bolt "go.etcd.io/bbolt"
)

// Bolt is the Backend of a server with a data directory: the rooms'
// objects and change logs in a bbolt file. A write
// is fsync'd before the client's OK is sent; bbolt's Batch joins the
// writes that arrive together into one transaction and one fsync (group
// commit). Presence is never stored.
//
// Layout: bucket "objects" holds a bucket per room, object id → [record];
// bucket "log" a bucket per room, big-endian offset → [change]; bucket
// "rooms", room → [roomMeta]; bucket "server", key "open" while a server
// has the file open. A server that finds "open" set at start did not stop
// cleanly: frames it sent may never have reached the disk, so every room
// starts a new epoch and clients resume from a fresh snapshot.
type Bolt struct{ db *bolt.DB }

var (
	bucketObjects = []byte("objects")
	bucketLog     = []byte("log")
	bucketRooms   = []byte("rooms")
	bucketServer  = []byte("server")
	keyOpen       = []byte("open")
)

// Open opens (creating) the store in dir and marks it open. It
// reports whether the last server to use it stopped cleanly.
func Open(dir string) (*Bolt, bool, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, false, fmt.Errorf("store: data directory: %w", err)
	}
	db, err := bolt.Open(filepath.Join(dir, "synk.db"), 0o600, &bolt.Options{Timeout: 2 * time.Second})
	if err != nil {
		return nil, false, fmt.Errorf("store: open store in %s: %w", dir, err)
	}
	// Batch waits this long for more writes to join a commit; bbolt's 10 ms
	// default would cap a lone writer at ~90 writes/s.
	db.MaxBatchDelay = time.Millisecond
	clean := true
	err = db.Update(func(tx *bolt.Tx) error {
		for _, name := range [][]byte{bucketObjects, bucketLog, bucketRooms, bucketServer} {
			if _, err := tx.CreateBucketIfNotExists(name); err != nil {
				return err
			}
		}
		srv := tx.Bucket(bucketServer)
		clean = srv.Get(keyOpen) == nil
		return srv.Put(keyOpen, []byte{1})
	})
	if err != nil {
		db.Close()
		return nil, false, fmt.Errorf("store: init store: %w", err)
	}
	return &Bolt{db: db}, clean, nil
}

func seqKey(seq uint64) []byte { return binary.BigEndian.AppendUint64(nil, seq) }

// Put stores rec for object id of room, unless a newer write is stored,
// and the change that made it. epoch is the room's, stored with its first
// write.
func (st *Bolt) Put(room, id string, epoch uint64, rec *Record, ch *Change) error {
	val, logVal, err := EncodeWrite(rec, ch)
	if err != nil {
		return err
	}
	return st.db.Batch(func(tx *bolt.Tx) error {
		b, err := tx.Bucket(bucketObjects).CreateBucketIfNotExists([]byte(room))
		if err != nil {
			return err
		}
		if !Supersedes(b.Get([]byte(id)), rec) {
			if err := b.Put([]byte(id), val); err != nil {
				return err
			}
		}
		lb, err := tx.Bucket(bucketLog).CreateBucketIfNotExists([]byte(room))
		if err != nil {
			return err
		}
		if err := lb.Put(seqKey(ch.Seq), logVal); err != nil {
			return err
		}
		return updateMeta(tx, room, func(m *Meta) {
			if m.Epoch == 0 {
				m.Epoch = epoch
			}
			m.Seq = max(m.Seq, rec.Seq)
		})
	})
}

// Meta returns the stored position of room, if any.
func (st *Bolt) Meta(room string) (Meta, bool, error) {
	var m Meta
	var ok bool
	err := st.db.View(func(tx *bolt.Tx) error {
		v := tx.Bucket(bucketRooms).Get([]byte(room))
		if v == nil {
			return nil
		}
		ok = true
		return DecodeMeta(v, &m)
	})
	return m, ok, err
}

func updateMeta(tx *bolt.Tx, room string, fn func(*Meta)) error {
	b := tx.Bucket(bucketRooms)
	var m Meta
	if v := b.Get([]byte(room)); v != nil {
		if err := DecodeMeta(v, &m); err != nil {
			return err
		}
	}
	fn(&m)
	if m.Epoch == 0 {
		return errors.New("room meta: no epoch")
	}
	v, err := msgpack.Marshal(&m)
	if err != nil {
		return err
	}
	return b.Put([]byte(room), v)
}

// Compact forgets room's changes up to and including upTo, with the
// tombstones of objects those changes deleted.
func (st *Bolt) Compact(room string, upTo uint64) error {
	return st.db.Update(func(tx *bolt.Tx) error {
		objs := tx.Bucket(bucketObjects).Bucket([]byte(room))
		if lb := tx.Bucket(bucketLog).Bucket([]byte(room)); lb != nil {
			cur := lb.Cursor()
			end := seqKey(upTo)
			for k, v := cur.First(); k != nil && bytes.Compare(k, end) <= 0; k, v = cur.First() {
				if err := dropTombstone(objs, v, upTo); err != nil {
					return err
				}
				if err := cur.Delete(); err != nil {
					return err
				}
			}
		}
		return updateMeta(tx, room, func(m *Meta) { m.Start = max(m.Start, min(upTo, m.Seq)) })
	})
}

// dropTombstone deletes from objs the tombstone of the object a log
// change (stored as v) deleted, once the log no longer reaches it: the
// change compacted away was the delete, and the record is still that
// tombstone (seq at most upTo), not a later create.
func dropTombstone(objs *bolt.Bucket, v []byte, upTo uint64) error {
	var ch Change
	if objs == nil || DecodeChecked(v, &ch) != nil || ch.Op != protocol.OpDelete {
		return nil
	}
	rv := objs.Get([]byte(ch.ID))
	var rec Record
	if rv == nil || DecodeChecked(rv, &rec) != nil || !rec.Deleted || rec.Seq > upTo {
		return nil
	}
	return objs.Delete([]byte(ch.ID))
}

// Load reads every room. After an unclean stop (clean false) each room
// gets a new epoch and an empty log, both stored before load returns.
func (st *Bolt) Load(clean bool) (map[string]*Room, error) {
	rooms := make(map[string]*Room)
	get := func(name []byte) *Room {
		r := rooms[string(name)]
		if r == nil {
			r = &Room{Objects: make(map[string]*Record)}
			rooms[string(name)] = r
		}
		return r
	}
	err := st.db.View(func(tx *bolt.Tx) error {
		err := tx.Bucket(bucketRooms).ForEach(func(name, v []byte) error {
			r := get(name)
			if err := DecodeMeta(v, &r.Meta); err != nil {
				return fmt.Errorf("room %s: %w", name, err)
			}
			return nil
		})
		if err != nil {
			return err
		}
		err = tx.Bucket(bucketObjects).ForEachBucket(func(name []byte) error {
			r := get(name)
			return tx.Bucket(bucketObjects).Bucket(name).ForEach(func(k, v []byte) error {
				var rec Record
				if err := DecodeChecked(v, &rec); err != nil {
					return fmt.Errorf("object %s/%s: %w", name, k, err)
				}
				r.Meta.Seq = max(r.Meta.Seq, rec.Seq)
				r.Objects[string(k)] = &rec
				return nil
			})
		})
		if err != nil || !clean {
			return err
		}
		return tx.Bucket(bucketLog).ForEachBucket(func(name []byte) error {
			r := get(name)
			return tx.Bucket(bucketLog).Bucket(name).ForEach(func(k, v []byte) error {
				var ch Change
				if err := DecodeChecked(v, &ch); err != nil || len(k) != 8 || binary.BigEndian.Uint64(k) != ch.Seq {
					return fmt.Errorf("change %s/%x: bad record (%v)", name, k, err)
				}
				if ch.Seq > r.Meta.Start {
					r.Log = append(r.Log, ch)
				}
				return nil
			})
		})
	})
	if err != nil {
		return nil, fmt.Errorf("store: load store: %w", err)
	}
	SettleLoaded(rooms, clean)
	return rooms, st.db.Update(func(tx *bolt.Tx) error {
		if !clean {
			if err := tx.DeleteBucket(bucketLog); err != nil {
				return err
			}
			if _, err := tx.CreateBucket(bucketLog); err != nil {
				return err
			}
		}
		for name, r := range rooms {
			v, err := msgpack.Marshal(&r.Meta)
			if err != nil {
				return err
			}
			if err := tx.Bucket(bucketRooms).Put([]byte(name), v); err != nil {
				return err
			}
		}
		return nil
	})
}

// Close marks a clean stop, unless clean is false (a write failed, so
// memory and disk may differ), and closes the file.
func (st *Bolt) Close(clean bool) error {
	var err error
	if clean {
		err = st.db.Update(func(tx *bolt.Tx) error { return tx.Bucket(bucketServer).Delete(keyOpen) })
	}
	return errors.Join(err, st.db.Close())
}

// Counts reports how many changes and object records the store holds of
// room.
func (st *Bolt) Counts(room string) (changes, records int, err error) {
	err = st.db.View(func(tx *bolt.Tx) error {
		if b := tx.Bucket(bucketLog).Bucket([]byte(room)); b != nil {
			changes = b.Stats().KeyN
		}
		if b := tx.Bucket(bucketObjects).Bucket([]byte(room)); b != nil {
			records = b.Stats().KeyN
		}
		return nil
	})
	return changes, records, err
}
