package server

import (
	"errors"
	"fmt"

	"github.com/synkhq/synk/protocol"
	"github.com/vmihailenco/msgpack/v5"
)

// backend keeps the rooms' objects and change logs: a bbolt file in a
// data directory (store_bolt.go), or a Durable Object's storage at the
// edge. Presence is never stored. put returns once the write is durable.
type backend interface {
	put(room, id string, epoch uint64, rec *record, ch *change) error
	meta(room string) (roomMeta, bool, error)
	compact(room string, upTo uint64) error
	load(clean bool) (map[string]*stored, error)
	close(clean bool) error
}

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

// roomMeta is a room's change log position as stored: its epoch, the
// highest offset written, and the offset up to which the log is compacted.
type roomMeta struct {
	Epoch uint64 `msgpack:"e"`
	Seq   uint64 `msgpack:"s"`
	Start uint64 `msgpack:"c,omitempty"`
}

// stored is one room as loaded from the store.
type stored struct {
	meta    roomMeta
	objects map[string]*record
	log     []change // after meta.Start, oldest first
}

// decodeChecked decodes a stored value or a cluster peer's message into v
// after checking that it is one well-formed msgpack value, as frames are:
// msgpack v5.4 allocates a list as long as its header says
// (vmihailenco/msgpack#401), so damaged bytes must give an error, not a
// huge allocation.
func decodeChecked(b []byte, v any) error {
	if err := protocol.Check(b, protocol.MaxDepth); err != nil {
		return err
	}
	return msgpack.Unmarshal(b, v)
}

func decodeMeta(v []byte, m *roomMeta) error {
	if err := decodeChecked(v, m); err != nil {
		return fmt.Errorf("room meta: %w", err)
	}
	if m.Epoch == 0 || m.Start > m.Seq {
		return errors.New("room meta: epoch 0 or compacted past its offset")
	}
	return nil
}

// encodeWrite returns the stored forms of an object write and its change.
func encodeWrite(rec *record, ch *change) (val, logVal []byte, err error) {
	if val, err = msgpack.Marshal(rec); err != nil {
		return nil, nil, err
	}
	logVal, err = msgpack.Marshal(ch)
	return val, logVal, err
}

// supersedes reports whether old, a stored record (nil if none), is at
// least as new as rec: a late write must not overwrite it.
func supersedes(old []byte, rec *record) bool {
	var prev record
	return old != nil && decodeChecked(old, &prev) == nil && prev.Seq >= rec.Seq
}

// settleLoaded makes the rooms read from a backend ready to serve: each
// room's offset covers its objects and log, its log runs without a gap up
// to that offset, and after an unclean stop (clean false) it starts a new
// epoch with no log. The backend then stores the metas back.
func settleLoaded(rooms map[string]*stored, clean bool) {
	for _, r := range rooms {
		r.meta.Seq = max(r.meta.Seq, r.meta.Start)
		if n := len(r.log); n > 0 {
			r.meta.Seq = max(r.meta.Seq, r.log[n-1].Seq)
		}
		// The log must run without a gap up to the offset; keep the
		// part that does.
		next := r.meta.Seq
		for i := len(r.log) - 1; i >= 0; i-- {
			if r.log[i].Seq != next {
				r.log = r.log[i+1:]
				break
			}
			next--
		}
		if len(r.log) == 0 || !clean {
			r.log = nil
			r.meta.Start = r.meta.Seq
		} else {
			r.meta.Start = r.log[0].Seq - 1
		}
		if !clean || r.meta.Epoch == 0 {
			r.meta.Epoch = newEpoch()
		}
	}
}
