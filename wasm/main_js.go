package main

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"syscall/js"
	"time"

	"github.com/synkhq/synk/client"
	"github.com/synkhq/synk/protocol"
	"github.com/vmihailenco/msgpack/v5"
)

// callTimeout bounds every call that waits on the network.
const callTimeout = 30 * time.Second

func main() {
	b := &bridge{conns: make(map[int]*client.Conn), rooms: make(map[int]*client.Room), stores: make(map[*client.Conn]*idbStore)}
	api := jsObject.New()
	api.Set("version", protocol.Version)
	api.Set("dial", b.fn("dial(urls, {client, store}, onEvent)", 3, b.dial))
	api.Set("join", b.fn("join(conn, room, {observer, presence})", 3, b.join))
	api.Set("set", b.fn("set(room, entries)", 2, b.set))
	api.Set("del", b.fn("del(room, keys)", 2, b.del))
	api.Set("members", b.fn("members(room)", 1, b.members))
	api.Set("leave", b.fn("leave(room)", 1, b.leave))
	api.Set("subscribe", b.fn("subscribe(room, add, remove)", 3, b.subscribe))
	api.Set("objects", b.fn("objects(room)", 1, b.objects))
	api.Set("pending", b.fn("pending(room)", 1, b.pending))
	api.Set("meet", b.fn("meet(conn|room, id, {event, actor, payload, mates, labels, selector, timeout, signal})", 3, b.meet))
	api.Set("write", b.fn("write(room, op, id, {kind, area, fields, delete, expect})", 4, b.write))
	api.Set("close", b.fn("close(conn)", 1, b.close))
	js.Global().Set("__synk", api)
	if ready := js.Global().Get("__synkReady"); ready.Type() == js.TypeFunction {
		ready.Invoke()
	}
	select {} // serve calls until the page goes
}

// bridge holds the Go objects that JS refers to by number.
type bridge struct {
	mu     sync.Mutex // Protects the following.
	nextID int
	conns  map[int]*client.Conn
	rooms  map[int]*client.Room
	stores map[*client.Conn]*idbStore
}

// fn wraps a bridge function: it checks the argument count, and turns a
// panic into a rejected Promise or a console error instead of a dead
// program.
func (b *bridge) fn(usage string, nargs int, f func(args []js.Value) js.Value) js.Func {
	return js.FuncOf(func(_ js.Value, args []js.Value) (out any) {
		defer func() {
			if r := recover(); r != nil {
				out = rejected(fmt.Errorf("synk: internal error in %s: %v", usage, r))
			}
		}()
		if len(args) < nargs {
			return rejected(fmt.Errorf("synk: usage: %s", usage))
		}
		return f(args)
	})
}

func (b *bridge) add(v any) int {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.nextID++
	switch v := v.(type) {
	case *client.Conn:
		b.conns[b.nextID] = v
	case *client.Room:
		b.rooms[b.nextID] = v
	}
	return b.nextID
}

func (b *bridge) conn(id js.Value) (*client.Conn, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if c := b.conns[id.Int()]; c != nil {
		return c, nil
	}
	return nil, client.ErrClosed
}

func (b *bridge) room(id js.Value) (*client.Room, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if r := b.rooms[id.Int()]; r != nil {
		return r, nil
	}
	return nil, client.ErrClosed
}

func (b *bridge) dial(args []js.Value) js.Value {
	urls, opts, onEvent := strings.Split(args[0].String(), " "), args[1], args[2] // synk.js sends a list joined by spaces
	var o client.DialOptions
	var storeName string
	if opts.Type() == js.TypeObject {
		if v := opts.Get("client"); v.Type() == js.TypeString {
			o.Client = v.String()
		}
		if v := opts.Get("token"); v.Type() == js.TypeString {
			o.Token = v.String()
		}
		if v := opts.Get("store"); v.Type() == js.TypeString && v.String() != "" {
			storeName = "synk:" + v.String()
		}
	}
	return promise(func(ctx context.Context) (any, error) {
		var st *idbStore
		if storeName != "" {
			var err error
			if st, err = openIDB(ctx, storeName); err != nil {
				return nil, err
			}
			o.Store = st
		}
		o.URLs = urls[1:]
		c, err := client.Dial(ctx, urls[0], &o)
		if err != nil {
			if st != nil {
				st.close()
			}
			return nil, err
		}
		if st != nil {
			b.mu.Lock()
			b.stores[c] = st
			b.mu.Unlock()
		}
		go forward(c, onEvent) // ends when Close closes the events
		res := jsObject.New()
		res.Set("id", b.add(c))
		res.Set("client", c.Client())
		return res, nil
	})
}

func (b *bridge) join(args []js.Value) js.Value {
	c, err := b.conn(args[0])
	if err != nil {
		return rejected(err)
	}
	name, opts := args[1].String(), args[2]
	var o client.JoinOptions
	if opts.Type() == js.TypeObject {
		o.Observer = opts.Get("observer").Truthy()
		if p := opts.Get("presence"); p.Type() == js.TypeObject {
			m, err := entries(p)
			if err != nil {
				return rejected(err)
			}
			o.Presence = m
		}
	}
	return promise(func(ctx context.Context) (any, error) {
		r, err := c.Join(ctx, name, &o)
		if err != nil {
			return nil, err
		}
		return b.add(r), nil
	})
}

func (b *bridge) set(args []js.Value) js.Value {
	r, err := b.room(args[0])
	if err != nil {
		return rejected(err)
	}
	m, err := entries(args[1])
	if err != nil {
		return rejected(err)
	}
	return promise(func(ctx context.Context) (any, error) { return nil, r.Set(ctx, m) })
}

func (b *bridge) del(args []js.Value) js.Value {
	r, err := b.room(args[0])
	if err != nil {
		return rejected(err)
	}
	keys := make([]string, args[1].Length())
	for i := range keys {
		keys[i] = args[1].Index(i).String()
	}
	return promise(func(ctx context.Context) (any, error) { return nil, r.Delete(ctx, keys...) })
}

// members returns the room's view at once (no Promise): it only reads
// memory.
func (b *bridge) members(args []js.Value) js.Value {
	r, err := b.room(args[0])
	if err != nil {
		return js.Null()
	}
	ms := r.Members()
	out := jsArray.New(len(ms))
	for i, m := range ms {
		o := jsObject.New()
		o.Set("client", m.Client)
		o.Set("entries", values(m.Entries))
		out.SetIndex(i, o)
	}
	return out
}

func (b *bridge) leave(args []js.Value) js.Value {
	r, err := b.room(args[0])
	if err != nil {
		return rejected(err)
	}
	b.mu.Lock()
	delete(b.rooms, args[0].Int())
	b.mu.Unlock()
	return promise(func(ctx context.Context) (any, error) { return nil, r.Leave(ctx) })
}

func (b *bridge) close(args []js.Value) js.Value {
	c, err := b.conn(args[0])
	if err != nil {
		return resolved()
	}
	b.mu.Lock()
	delete(b.conns, args[0].Int())
	st := b.stores[c]
	delete(b.stores, c)
	b.mu.Unlock()
	return promise(func(context.Context) (any, error) {
		err := c.Close()
		if st != nil {
			st.close()
		}
		return nil, err
	})
}

func (b *bridge) subscribe(args []js.Value) js.Value {
	r, err := b.room(args[0])
	if err != nil {
		return rejected(err)
	}
	add, remove := stringList(args[1]), stringList(args[2])
	return promise(func(ctx context.Context) (any, error) { return nil, r.Subscribe(ctx, add, remove) })
}

// objects returns the room's cached objects at once (no Promise).
func (b *bridge) objects(args []js.Value) js.Value {
	r, err := b.room(args[0])
	if err != nil {
		return js.Null()
	}
	objs := r.Objects()
	out := jsArray.New(len(objs))
	for i, o := range objs {
		out.SetIndex(i, objectJS(o.ID, o.Kind, o.Area, o.Version, o.Fields))
	}
	return out
}

// meet waits to meet others: on a connection (server-wide) when kind is
// "conn", in a room when it is "room". It resolves to the payloads by
// actor. It has no client-side timeout: opts.timeout (ms) bounds the wait
// on the server, and an AbortSignal in opts.signal withdraws the request.
func (b *bridge) meet(args []js.Value) js.Value {
	kind, id, o := args[0].String(), args[1], args[2]
	if o.Type() != js.TypeObject {
		return rejected(errors.New("synk: meet needs {event, actor, ...}"))
	}
	str := func(k string) string {
		if v := o.Get(k); v.Type() == js.TypeString {
			return v.String()
		}
		return ""
	}
	p := &client.MeetParams{Event: str("event"), Actor: str("actor"), Payload: str("payload"), Selector: str("selector")}
	if v := o.Get("mates"); v.Type() == js.TypeNumber {
		p.Mates = v.Int()
	}
	if v := o.Get("timeout"); v.Type() == js.TypeNumber {
		p.Timeout = time.Duration(v.Float()) * time.Millisecond
	}
	if v := o.Get("labels"); v.Type() == js.TypeObject {
		p.Labels = make(map[string]string)
		keys := jsObject.Call("keys", v)
		for i := range keys.Length() {
			k := keys.Index(i).String()
			p.Labels[k] = v.Get(k).String()
		}
	}
	var meet func(context.Context, *client.MeetParams) (map[string]string, error)
	switch kind {
	case "conn":
		c, err := b.conn(id)
		if err != nil {
			return rejected(err)
		}
		meet = c.Meet
	default:
		r, err := b.room(id)
		if err != nil {
			return rejected(err)
		}
		meet = r.Meet
	}
	signal := o.Get("signal")
	return promiseWithin(0, func(ctx context.Context) (any, error) {
		if signal.Type() == js.TypeObject {
			ctx2, cancel := context.WithCancel(ctx)
			defer cancel()
			onAbort := js.FuncOf(func(js.Value, []js.Value) any { cancel(); return nil })
			defer onAbort.Release()
			signal.Call("addEventListener", "abort", onAbort)
			defer signal.Call("removeEventListener", "abort", onAbort)
			if signal.Get("aborted").Truthy() {
				cancel()
			}
			ctx = ctx2
		}
		payloads, err := meet(ctx, p)
		if err != nil {
			return nil, err
		}
		out := jsObject.New()
		for k, v := range payloads {
			out.Set(k, v)
		}
		return out, nil
	})
}

// pending returns the room's writes not yet answered (no Promise).
func (b *bridge) pending(args []js.Value) js.Value {
	r, err := b.room(args[0])
	if err != nil {
		return js.Null()
	}
	ps := r.Pending()
	out := jsArray.New(len(ps))
	for i, p := range ps {
		o := jsObject.New()
		o.Set("op", strings.TrimPrefix(strings.ToLower(p.Op.String()), "op"))
		o.Set("object", p.Object)
		if p.Area != "" {
			o.Set("area", p.Area)
		}
		out.SetIndex(i, o)
	}
	return out
}

// write runs one object write: op is "create", "update", "move" or
// "delete". It resolves to the object's new version.
func (b *bridge) write(args []js.Value) js.Value {
	r, err := b.room(args[0])
	if err != nil {
		return rejected(err)
	}
	op, id, o := args[1].String(), args[2].String(), args[3]
	str := func(k string) string {
		if v := o.Get(k); v.Type() == js.TypeString {
			return v.String()
		}
		return ""
	}
	opts := &client.WriteOptions{Delete: stringList(o.Get("delete"))}
	if v := o.Get("expect"); v.Type() == js.TypeNumber {
		opts.Expect = uint64(v.Float())
	}
	var fields map[string]any
	if f := o.Get("fields"); f.Type() == js.TypeObject {
		if fields, err = entries(f); err != nil {
			return rejected(err)
		}
	}
	return promise(func(ctx context.Context) (any, error) {
		var v uint64
		var err error
		switch op {
		case "create":
			v, err = r.Create(ctx, id, str("kind"), str("area"), fields)
		case "update":
			v, err = r.Update(ctx, id, fields, opts)
		case "move":
			v, err = r.Move(ctx, id, str("area"), opts)
		case "delete":
			err = r.DeleteObject(ctx, id, opts)
		default:
			err = protocol.Errorf(protocol.CodeBadRequest, "unknown object op %q", op)
		}
		if err != nil {
			return nil, err
		}
		return float64(v), nil
	})
}

func stringList(v js.Value) []string {
	if v.Type() != js.TypeObject || !jsArray.Call("isArray", v).Bool() {
		return nil
	}
	out := make([]string, v.Length())
	for i := range out {
		out[i] = v.Index(i).String()
	}
	return out
}

func objectJS(id, kind, area string, version uint64, fields map[string]msgpack.RawMessage) js.Value {
	o := jsObject.New()
	o.Set("id", id)
	o.Set("kind", kind)
	o.Set("area", area)
	o.Set("version", float64(version))
	o.Set("fields", values(fields))
	return o
}

// entries converts a JS object of entries to Go values.
func entries(obj js.Value) (map[string]any, error) {
	v, err := fromJS(obj, 0)
	if err != nil {
		return nil, fmt.Errorf("synk: %w", err)
	}
	m, ok := v.(map[string]any)
	if !ok {
		return nil, errors.New("synk: entries must be a plain object")
	}
	return m, nil
}

// values decodes msgpack values into a JS object.
func values(m map[string]msgpack.RawMessage) js.Value {
	o := jsObject.New()
	for k, raw := range m {
		var v any
		if err := msgpack.Unmarshal(raw, &v); err != nil {
			v = []byte(raw)
		}
		o.Set(k, toJS(v))
	}
	return o
}

// forward hands every event of c to onEvent until c is closed.
func forward(c *client.Conn, onEvent js.Value) {
	for e := range c.Events() {
		if onEvent.Type() == js.TypeFunction {
			onEvent.Invoke(jsEvent(e))
		}
	}
}

// jsEvent is e as synk.js hands it to handlers: SynkEvent, ObjectEvent,
// ResetEvent or WrittenEvent of synk.d.ts, built here once.
func jsEvent(e client.Event) js.Value {
	o := jsObject.New()
	if e.Room != "" {
		o.Set("room", e.Room)
	}
	if e.Err != nil {
		o.Set("error", jsError(e.Err))
	}
	switch e.Kind {
	case client.EventObjectsReset:
		o.Set("kind", "reset")
	case client.EventWritten:
		o.Set("kind", "written")
		o.Set("object", e.Object)
		o.Set("version", float64(e.Version))
	case client.EventObjectPut, client.EventObjectUpdate, client.EventObjectMove, client.EventObjectRemove, client.EventObjectDelete:
		o.Set("kind", "object")
		o.Set("op", strings.ToLower(strings.TrimPrefix(e.Kind.String(), "Object")))
		o.Set("object", e.Object)
		if e.Area != "" {
			o.Set("area", e.Area)
		}
		o.Set("version", float64(e.Version))
		o.Set("fields", values(e.Fields))
		o.Set("deleted", toJS(stringsToAny(e.Deleted)))
	default: // presence and the connection's state
		kind := strings.ToLower(e.Kind.String())
		if e.Kind == client.EventRoomClosed {
			kind = "closed"
		}
		o.Set("kind", kind)
		if e.Client != "" {
			o.Set("client", e.Client)
		}
		o.Set("entries", values(e.Entries))
		o.Set("deleted", toJS(stringsToAny(e.Deleted)))
	}
	return o
}

func stringsToAny(s []string) []any {
	out := make([]any, len(s))
	for i, x := range s {
		out[i] = x
	}
	return out
}
