// Package store keeps a server's rooms' objects and change logs: the
// records and changes it writes, the Backend that holds them (Bolt, a
// bbolt file in a data directory; at the edge, a Durable Object's storage,
// in the server package), and how a server settles what it loads.
// Presence is never stored.
package store

import (
	"crypto/rand"
	"encoding/binary"
	"errors"
	"fmt"

	"github.com/synkhq/synk/protocol"
	"github.com/vmihailenco/msgpack/v5"
)

// Backend keeps the rooms' objects and change logs: a bbolt file in a
// data directory (Bolt), or a Durable Object's storage at the edge.
type Backend interface {
	// Put stores an object's record and the change that made it, and
	// returns once they are durable; a record older than the one stored
	// (by Seq) leaves it as it is.
	Put(room, id string, epoch uint64, rec *Record, ch *Change) error
	// Meta returns a room's stored position, and whether there is one.
	Meta(room string) (Meta, bool, error)
	// Compact drops a room's changes up to upTo, and the tombstones of the
	// objects they deleted.
	Compact(room string, upTo uint64) error
	// Load reads every room, settled (SettleLoaded) for a server that
	// stopped cleanly or not.
	Load(clean bool) (map[string]*Room, error)
	// Close closes the store, marking it closed cleanly if clean.
	Close(clean bool) error
}

// Record is an object as stored, or a tombstone. Seq orders the writes of
// one room, so that a late write never overwrites a newer one.
type Record struct {
	Seq     uint64                        `msgpack:"s"`
	Deleted bool                          `msgpack:"d,omitempty"`
	Kind    string                        `msgpack:"y,omitempty"`
	Area    string                        `msgpack:"a,omitempty"`
	Version uint64                        `msgpack:"v,omitempty"`
	Fields  map[string]msgpack.RawMessage `msgpack:"f,omitempty"`
	Op      string                        `msgpack:"p,omitempty"` // client op id of the write
}

// Meta is a room's change log position as stored: its epoch, the
// highest offset written, and the offset up to which the log is compacted.
type Meta struct {
	Epoch uint64 `msgpack:"e"`
	Seq   uint64 `msgpack:"s"`
	Start uint64 `msgpack:"c,omitempty"`
}

// Room is one room as loaded from the store.
type Room struct {
	Meta    Meta
	Objects map[string]*Record
	Log     []Change // after Meta.Start, oldest first
}

// DecodeChecked decodes a stored value or a cluster peer's message into v
// after checking that it is one well-formed msgpack value, as frames are:
// msgpack v5.4 allocates a list as long as its header says
// (vmihailenco/msgpack#401), so damaged bytes must give an error, not a
// huge allocation.
func DecodeChecked(b []byte, v any) error {
	if err := protocol.Check(b, protocol.MaxDepth); err != nil {
		return err
	}
	return msgpack.Unmarshal(b, v)
}

func DecodeMeta(v []byte, m *Meta) error {
	if err := DecodeChecked(v, m); err != nil {
		return fmt.Errorf("room meta: %w", err)
	}
	if m.Epoch == 0 || m.Start > m.Seq {
		return errors.New("room meta: epoch 0 or compacted past its offset")
	}
	return nil
}

// EncodeWrite returns the stored forms of an object write and its change.
func EncodeWrite(rec *Record, ch *Change) (val, logVal []byte, err error) {
	if val, err = msgpack.Marshal(rec); err != nil {
		return nil, nil, err
	}
	logVal, err = msgpack.Marshal(ch)
	return val, logVal, err
}

// Supersedes reports whether old, a stored record (nil if none), is at
// least as new as rec: a late write must not overwrite it.
func Supersedes(old []byte, rec *Record) bool {
	var prev Record
	return old != nil && DecodeChecked(old, &prev) == nil && prev.Seq >= rec.Seq
}

// SettleLoaded makes the rooms read from a backend ready to serve: each
// room's offset covers its objects and log, its log runs without a gap up
// to that offset, and after an unclean stop (clean false) it starts a new
// epoch with no log. The backend then stores the metas back.
func SettleLoaded(rooms map[string]*Room, clean bool) {
	for _, r := range rooms {
		r.Meta.Seq = max(r.Meta.Seq, r.Meta.Start)
		if n := len(r.Log); n > 0 {
			r.Meta.Seq = max(r.Meta.Seq, r.Log[n-1].Seq)
		}
		// The log must run without a gap up to the offset; keep the
		// part that does.
		next := r.Meta.Seq
		for i := len(r.Log) - 1; i >= 0; i-- {
			if r.Log[i].Seq != next {
				r.Log = r.Log[i+1:]
				break
			}
			next--
		}
		if len(r.Log) == 0 || !clean {
			r.Log = nil
			r.Meta.Start = r.Meta.Seq
		} else {
			r.Meta.Start = r.Log[0].Seq - 1
		}
		if !clean || r.Meta.Epoch == 0 {
			r.Meta.Epoch = NewEpoch()
		}
	}
}

// Change is one entry of a room's change log. It holds what a resume
// needs to tell a client at an earlier position which objects changed and
// how: the object's existence and area before the change, and the fields
// it touched. Values are not kept: a resume sends the current ones.
type Change struct {
	Seq     uint64            `msgpack:"s"`
	At      int64             `msgpack:"t"` // unix milliseconds, for the age bound
	ID      string            `msgpack:"o"`
	Op      protocol.ObjectOp `msgpack:"k"`
	Existed bool              `msgpack:"e,omitempty"` // the object existed before
	Area    string            `msgpack:"a,omitempty"` // its area before
	Keys    []string          `msgpack:"f,omitempty"` // fields stored or removed (update)
	OpID    string            `msgpack:"p,omitempty"` // client op id of the write
	Version uint64            `msgpack:"v,omitempty"` // the object's version after
}

// NewEpoch returns a random epoch, never 0.
func NewEpoch() uint64 {
	var b [8]byte
	for {
		_, _ = rand.Read(b[:])
		if e := binary.BigEndian.Uint64(b[:]); e != 0 {
			return e
		}
	}
}
