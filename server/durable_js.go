//go:build js

package server

import (
	"fmt"
	"syscall/js"

	"github.com/synkhq/synk/internal/store"
	"github.com/synkhq/synk/protocol"
	"github.com/vmihailenco/msgpack/v5"
)

// durable is the backend of an edge room: the SQL storage of the Durable
// Object that hosts it (state.storage.sql). Its calls are synchronous, and
// writes made without an await between them commit together; the Durable
// Object's output gate holds every message the room sends until the
// writes before it are durable, so an OK never outruns its write, and
// nothing sent is ever lost from storage (no epoch change after a restart).
type durable struct{ sql js.Value }

var (
	jsUint8Array  = js.Global().Get("Uint8Array")
	jsArrayBuffer = js.Global().Get("ArrayBuffer")
)

// NewDurable returns a server holding one room, whose objects and change
// log live in a Durable Object's storage (its ctx.storage, with the SQL
// API: a Durable Object class declared with new_sqlite_classes, or
// enableSql in workerd). It loads what the storage holds. Other rooms are
// refused with Forbidden.
func NewDurable(storage js.Value, room string, opts *Options) (*Server, error) {
	if err := protocol.CheckRoom(room); err != nil {
		return nil, err
	}
	d := &durable{sql: storage.Get("sql")}
	if d.sql.IsUndefined() {
		return nil, fmt.Errorf("server: the Durable Object's storage has no SQL API (enableSql / new_sqlite_classes)")
	}
	for _, q := range []string{
		"CREATE TABLE IF NOT EXISTS synk_objects (room TEXT NOT NULL, id TEXT NOT NULL, rec BLOB NOT NULL, PRIMARY KEY (room, id))",
		"CREATE TABLE IF NOT EXISTS synk_log (room TEXT NOT NULL, seq INTEGER NOT NULL, ch BLOB NOT NULL, PRIMARY KEY (room, seq))",
		"CREATE TABLE IF NOT EXISTS synk_rooms (room TEXT PRIMARY KEY, meta BLOB NOT NULL)",
	} {
		if _, err := d.exec(q); err != nil {
			return nil, err
		}
	}
	return newServer(opts, d, room)
}

// exec runs one statement and returns its rows; a JS exception becomes an
// error.
func (d *durable) exec(q string, args ...any) (rows []js.Value, err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("server: durable storage: %v", r)
		}
	}()
	vals := make([]any, 0, len(args)+1)
	vals = append(vals, q)
	for _, a := range args {
		if b, ok := a.([]byte); ok {
			u := jsUint8Array.New(len(b))
			js.CopyBytesToJS(u, b)
			a = u.Get("buffer")
		}
		vals = append(vals, a)
	}
	arr := d.sql.Call("exec", vals...).Call("toArray")
	rows = make([]js.Value, arr.Length())
	for i := range rows {
		rows[i] = arr.Index(i)
	}
	return rows, nil
}

// blob reads a BLOB column.
func blob(v js.Value) []byte {
	if !v.InstanceOf(jsArrayBuffer) {
		return nil
	}
	u := jsUint8Array.New(v)
	b := make([]byte, u.Length())
	js.CopyBytesToGo(b, u)
	return b
}

func (d *durable) Put(room, id string, epoch uint64, rec *record, ch *change) error {
	val, logVal, err := store.EncodeWrite(rec, ch)
	if err != nil {
		return err
	}
	rows, err := d.exec("SELECT rec FROM synk_objects WHERE room = ? AND id = ?", room, id)
	if err != nil {
		return err
	}
	var old []byte
	if len(rows) > 0 {
		old = blob(rows[0].Get("rec"))
	}
	if !store.Supersedes(old, rec) {
		if _, err := d.exec("INSERT OR REPLACE INTO synk_objects (room, id, rec) VALUES (?, ?, ?)", room, id, val); err != nil {
			return err
		}
	}
	if _, err := d.exec("INSERT OR REPLACE INTO synk_log (room, seq, ch) VALUES (?, ?, ?)", room, float64(ch.Seq), logVal); err != nil {
		return err
	}
	return d.updateMeta(room, func(m *roomMeta) {
		if m.Epoch == 0 {
			m.Epoch = epoch
		}
		m.Seq = max(m.Seq, rec.Seq)
	})
}

func (d *durable) Meta(room string) (roomMeta, bool, error) {
	var m roomMeta
	rows, err := d.exec("SELECT meta FROM synk_rooms WHERE room = ?", room)
	if err != nil || len(rows) == 0 {
		return m, false, err
	}
	return m, true, store.DecodeMeta(blob(rows[0].Get("meta")), &m)
}

func (d *durable) updateMeta(room string, fn func(*roomMeta)) error {
	m, _, err := d.Meta(room)
	if err != nil {
		return err
	}
	fn(&m)
	return d.saveMeta(room, &m)
}

func (d *durable) saveMeta(room string, m *roomMeta) error {
	if m.Epoch == 0 {
		return fmt.Errorf("room meta: no epoch")
	}
	v, err := msgpack.Marshal(m)
	if err != nil {
		return err
	}
	_, err = d.exec("INSERT OR REPLACE INTO synk_rooms (room, meta) VALUES (?, ?)", room, v)
	return err
}

// Compact forgets room's changes up to and including upTo, with the
// tombstones of objects those changes deleted.
func (d *durable) Compact(room string, upTo uint64) error {
	rows, err := d.exec("SELECT ch FROM synk_log WHERE room = ? AND seq <= ?", room, float64(upTo))
	if err != nil {
		return err
	}
	for _, row := range rows {
		var ch change
		if decodeChecked(blob(row.Get("ch")), &ch) != nil || ch.Op != protocol.OpDelete {
			continue
		}
		recs, err := d.exec("SELECT rec FROM synk_objects WHERE room = ? AND id = ?", room, ch.ID)
		if err != nil {
			return err
		}
		var rec record
		if len(recs) > 0 && decodeChecked(blob(recs[0].Get("rec")), &rec) == nil && rec.Deleted && rec.Seq <= upTo {
			if _, err := d.exec("DELETE FROM synk_objects WHERE room = ? AND id = ?", room, ch.ID); err != nil {
				return err
			}
		}
	}
	if _, err := d.exec("DELETE FROM synk_log WHERE room = ? AND seq <= ?", room, float64(upTo)); err != nil {
		return err
	}
	return d.updateMeta(room, func(m *roomMeta) { m.Start = max(m.Start, min(upTo, m.Seq)) })
}

func (d *durable) Load(clean bool) (map[string]*store.Room, error) {
	rooms := make(map[string]*store.Room)
	get := func(name string) *store.Room {
		r := rooms[name]
		if r == nil {
			r = &store.Room{Objects: make(map[string]*record)}
			rooms[name] = r
		}
		return r
	}
	rows, err := d.exec("SELECT room, meta FROM synk_rooms")
	if err != nil {
		return nil, err
	}
	for _, row := range rows {
		name := row.Get("room").String()
		if err := store.DecodeMeta(blob(row.Get("meta")), &get(name).Meta); err != nil {
			return nil, fmt.Errorf("room %s: %w", name, err)
		}
	}
	if rows, err = d.exec("SELECT room, id, rec FROM synk_objects"); err != nil {
		return nil, err
	}
	for _, row := range rows {
		name, id := row.Get("room").String(), row.Get("id").String()
		var rec record
		if err := decodeChecked(blob(row.Get("rec")), &rec); err != nil {
			return nil, fmt.Errorf("object %s/%s: %w", name, id, err)
		}
		r := get(name)
		r.Meta.Seq = max(r.Meta.Seq, rec.Seq)
		r.Objects[id] = &rec
	}
	if clean {
		if rows, err = d.exec("SELECT room, seq, ch FROM synk_log ORDER BY room, seq"); err != nil {
			return nil, err
		}
		for _, row := range rows {
			name := row.Get("room").String()
			var ch change
			if err := decodeChecked(blob(row.Get("ch")), &ch); err != nil || uint64(row.Get("seq").Float()) != ch.Seq {
				return nil, fmt.Errorf("change %s/%v: bad record (%v)", name, row.Get("seq"), err)
			}
			if r := get(name); ch.Seq > r.Meta.Start {
				r.Log = append(r.Log, ch)
			}
		}
	} else if _, err := d.exec("DELETE FROM synk_log"); err != nil {
		return nil, err
	}
	store.SettleLoaded(rooms, clean)
	for name, r := range rooms {
		if err := d.saveMeta(name, &r.Meta); err != nil {
			return nil, err
		}
	}
	return rooms, nil
}

// Close has nothing to do: the storage belongs to the Durable Object.
func (d *durable) Close(bool) error { return nil }
