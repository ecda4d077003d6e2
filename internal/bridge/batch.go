package bridge

import (
	"encoding/binary"
	"errors"

	"github.com/synkhq/synk/client"
	"github.com/synkhq/synk/internal/mpw"
	"github.com/synkhq/synk/protocol"
)

// kinds are the "kind" of each event as synk.d.ts names it; object events
// are "object" with the operation in "op".
var kinds = [...]string{
	client.EventJoin:         "join",
	client.EventChange:       "change",
	client.EventLeave:        "leave",
	client.EventDisconnected: "disconnected",
	client.EventReconnected:  "reconnected",
	client.EventRoomClosed:   "closed",
	client.EventClosed:       "closed",
	client.EventObjectPut:    "object",
	client.EventObjectUpdate: "object",
	client.EventObjectMove:   "object",
	client.EventObjectRemove: "object",
	client.EventObjectDelete: "object",
	client.EventObjectsReset: "reset",
	client.EventWritten:      "written",
	client.EventMessage:      "message",
}

// ops are the "op" of object events.
var ops = [...]string{
	client.EventObjectPut:    "put",
	client.EventObjectUpdate: "update",
	client.EventObjectMove:   "move",
	client.EventObjectRemove: "remove",
	client.EventObjectDelete: "delete",
}

// writeOps are the "op" of pending writes, by protocol.ObjectOp.
var writeOps = [...]string{
	protocol.OpCreate: "create",
	protocol.OpUpdate: "update",
	protocol.OpMove:   "move",
	protocol.OpDelete: "delete",
}

// Batch is a msgpack array of events and room states under construction.
// The zero Batch is empty and ready; Reset empties it for reuse.
type Batch struct {
	b []byte // a 5-byte array32 header, then the items
	n int
}

// Reset empties the batch, keeping its memory.
func (bt *Batch) Reset() { bt.b, bt.n = bt.b[:0], 0 }

// Len returns the number of items in the batch.
func (bt *Batch) Len() int { return bt.n }

// Size returns the batch's size in bytes.
func (bt *Batch) Size() int { return len(bt.b) }

// Bytes returns the batch as one msgpack array. It stays valid until the
// next call on bt.
func (bt *Batch) Bytes() []byte {
	if len(bt.b) == 0 {
		return []byte{0x90}
	}
	bt.b[0] = 0xdd
	binary.BigEndian.PutUint32(bt.b[1:5], uint32(bt.n))
	return bt.b
}

func (bt *Batch) start() {
	if len(bt.b) == 0 {
		bt.b = append(bt.b, 0xdd, 0, 0, 0, 0)
	}
	bt.n++
}

// Event appends e as synk.d.ts declares it: SynkEvent for presence and the
// connection's state, ObjectEvent, ResetEvent or WrittenEvent. kind is the
// object's kind (what Create was given) for a put, which the page's cache
// keeps; "" leaves it out.
func (bt *Batch) Event(e client.Event, kind string) {
	bt.start()
	b := bt.b
	if int(e.Kind) >= len(kinds) || kinds[e.Kind] == "" {
		b = mpw.AppendMapLen(b, 1)
		bt.b = mpw.AppendStr(mpw.AppendStr(b, "kind"), "unknown")
		return
	}
	n := 1
	if e.Room != "" {
		n++
	}
	if e.Err != nil {
		n++
	}
	var isObject bool
	switch e.Kind {
	case client.EventObjectsReset:
	case client.EventWritten:
		n += 2
	case client.EventMessage:
		n += 3 // client, topic, data
		if e.Direct {
			n++
		}
		if e.Area != "" {
			n++
		}
	case client.EventObjectPut, client.EventObjectUpdate, client.EventObjectMove, client.EventObjectRemove, client.EventObjectDelete:
		isObject = true
		n += 5 // op, object, version, fields, deleted
		if e.Area != "" {
			n++
		}
		if kind != "" {
			n++
		}
	default:
		n += 2 // entries, deleted
		if e.Client != "" {
			n++
		}
	}
	b = mpw.AppendMapLen(b, n)
	b = mpw.AppendStr(mpw.AppendStr(b, "kind"), kinds[e.Kind])
	if e.Room != "" {
		b = mpw.AppendStr(mpw.AppendStr(b, "room"), e.Room)
	}
	if e.Err != nil {
		b = appendError(mpw.AppendStr(b, "error"), e.Err)
	}
	switch {
	case e.Kind == client.EventObjectsReset:
	case e.Kind == client.EventWritten:
		b = mpw.AppendStr(mpw.AppendStr(b, "object"), e.Object)
		b = mpw.AppendUint(mpw.AppendStr(b, "version"), e.Version)
	case e.Kind == client.EventMessage:
		b = mpw.AppendStr(mpw.AppendStr(b, "client"), e.Client)
		b = mpw.AppendStr(mpw.AppendStr(b, "topic"), e.Topic)
		b = mpw.AppendRaw(mpw.AppendStr(b, "data"), e.Data)
		if e.Direct {
			b = mpw.AppendBool(mpw.AppendStr(b, "direct"), true)
		}
		if e.Area != "" {
			b = mpw.AppendStr(mpw.AppendStr(b, "area"), e.Area)
		}
	case isObject:
		b = mpw.AppendStr(mpw.AppendStr(b, "op"), ops[e.Kind])
		b = mpw.AppendStr(mpw.AppendStr(b, "object"), e.Object)
		if e.Area != "" {
			b = mpw.AppendStr(mpw.AppendStr(b, "area"), e.Area)
		}
		if kind != "" {
			b = mpw.AppendStr(mpw.AppendStr(b, "objectKind"), kind)
		}
		b = mpw.AppendUint(mpw.AppendStr(b, "version"), e.Version)
		b = appendValues(mpw.AppendStr(b, "fields"), e.Fields)
		b = appendStrings(mpw.AppendStr(b, "deleted"), e.Deleted)
	default:
		if e.Client != "" {
			b = mpw.AppendStr(mpw.AppendStr(b, "client"), e.Client)
		}
		b = appendValues(mpw.AppendStr(b, "entries"), e.Entries)
		b = appendStrings(mpw.AppendStr(b, "deleted"), e.Deleted)
	}
	bt.b = b
}

// State appends a room's state for the page's copy of it, as an item of
// kind "sync": members, objects and pending writes, each left out when
// nil (pending alone after a write is answered, all three after a
// reconnect or a reset). The page replaces its copy of what is present.
func (bt *Batch) State(room string, members []client.Member, objects []client.Object, pending []client.Pending) {
	bt.start()
	bt.b = AppendState(bt.b, room, members, objects, pending)
}

// AppendState appends a room's state as [Batch.State] does, as a value of
// its own: the answer to a join.
func AppendState(b []byte, room string, members []client.Member, objects []client.Object, pending []client.Pending) []byte {
	n := 2
	if members != nil {
		n++
	}
	if objects != nil {
		n++
	}
	if pending != nil {
		n++
	}
	b = mpw.AppendMapLen(b, n)
	b = mpw.AppendStr(mpw.AppendStr(b, "kind"), "sync")
	b = mpw.AppendStr(mpw.AppendStr(b, "room"), room)
	if members != nil {
		b = mpw.AppendArrayLen(mpw.AppendStr(b, "members"), len(members))
		for _, m := range members {
			b = mpw.AppendMapLen(b, 2)
			b = mpw.AppendStr(mpw.AppendStr(b, "client"), m.Client)
			b = appendValues(mpw.AppendStr(b, "entries"), m.Entries)
		}
	}
	if objects != nil {
		b = mpw.AppendArrayLen(mpw.AppendStr(b, "objects"), len(objects))
		for _, o := range objects {
			b = mpw.AppendMapLen(b, 5)
			b = mpw.AppendStr(mpw.AppendStr(b, "id"), o.ID)
			b = mpw.AppendStr(mpw.AppendStr(b, "kind"), o.Kind)
			b = mpw.AppendStr(mpw.AppendStr(b, "area"), o.Area)
			b = mpw.AppendUint(mpw.AppendStr(b, "version"), o.Version)
			b = appendValues(mpw.AppendStr(b, "fields"), o.Fields)
		}
	}
	if pending != nil {
		b = AppendPending(mpw.AppendStr(b, "pending"), pending)
	}
	return b
}

// AppendPending appends writes not yet answered as synk.d.ts's
// PendingWrite list.
func AppendPending(b []byte, pending []client.Pending) []byte {
	b = mpw.AppendArrayLen(b, len(pending))
	for _, p := range pending {
		op := "unknown"
		if int(p.Op) < len(writeOps) && writeOps[p.Op] != "" {
			op = writeOps[p.Op]
		}
		n := 2
		if p.Area != "" {
			n++
		}
		b = mpw.AppendMapLen(b, n)
		b = mpw.AppendStr(mpw.AppendStr(b, "op"), op)
		b = mpw.AppendStr(mpw.AppendStr(b, "object"), p.Object)
		if p.Area != "" {
			b = mpw.AppendStr(mpw.AppendStr(b, "area"), p.Area)
		}
	}
	return b
}

// appendError appends err as {message, code, codeName, pending}: the
// fields of a SynkError; codeName and pending only when they apply.
func appendError(b []byte, err error) []byte {
	code := protocol.ErrorCode(err)
	pending := errors.Is(err, client.ErrPending)
	n := 2
	if code != 0 {
		n++
	}
	if pending {
		n++
	}
	b = mpw.AppendMapLen(b, n)
	b = mpw.AppendStr(mpw.AppendStr(b, "message"), err.Error())
	b = mpw.AppendUint(mpw.AppendStr(b, "code"), uint64(code))
	if code != 0 {
		b = mpw.AppendStr(mpw.AppendStr(b, "codeName"), code.String())
	}
	if pending {
		b = mpw.AppendBool(mpw.AppendStr(b, "pending"), true)
	}
	return b
}
