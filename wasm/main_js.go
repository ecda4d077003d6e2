package main

import (
	"context"
	"errors"
	"strconv"
	"strings"
	"sync"
	"syscall/js"
	"time"

	"github.com/synkhq/synk/client"
	"github.com/synkhq/synk/internal/bridge"
	"github.com/synkhq/synk/internal/wraperr"
	"github.com/synkhq/synk/protocol"
)

// callTimeout bounds every call that waits on the network.
const callTimeout = 30 * time.Second

// Batches: forward hands events to JS at most maxBatchEvents or about
// maxBatchBytes at a time.
const (
	maxBatchEvents = 512
	maxBatchBytes  = 256 << 10
)

var (
	jsUint8Array = js.Global().Get("Uint8Array")
	jsArray      = js.Global().Get("Array")
	jsObject     = js.Global().Get("Object")
)

func main() {
	b := &bridgeState{conns: make(map[int]*connState), rooms: make(map[int]*roomRef)}
	api := jsObject.New()
	api.Set("version", protocol.Version)
	api.Set("dial", b.fn("dial(urls, {client, store, token}, onBatch)", 3, b.dial))
	api.Set("join", b.fn("join(conn, room, observer, presence)", 4, b.join))
	api.Set("set", b.fn("set(room, entries)", 2, b.set))
	api.Set("del", b.fn("del(room, keys)", 2, b.del))
	api.Set("send", b.fn("send(room, to, topic, data, area)", 5, b.send))
	api.Set("leave", b.fn("leave(room)", 1, b.leave))
	api.Set("subscribe", b.fn("subscribe(room, add, remove)", 3, b.subscribe))
	api.Set("pending", b.fn("pending(room)", 1, b.pending))
	api.Set("meet", b.fn("meet(conn|room, id, {event, actor, payload, mates, labels, selector, timeout}, signal)", 4, b.meet))
	api.Set("write", b.fn("write(room, op, id, {kind, area, fields, delete, expect})", 4, b.write))
	api.Set("close", b.fn("close(conn)", 1, b.close))
	js.Global().Set("__synk", api)
	if ready := js.Global().Get("__synkReady"); ready.Type() == js.TypeFunction {
		ready.Invoke()
	}
	select {} // serve calls until the worker goes
}

// bridgeState holds the Go objects that JS refers to by number.
type bridgeState struct {
	mu     sync.Mutex // Protects the following.
	nextID int
	conns  map[int]*connState
	rooms  map[int]*roomRef
}

// connState is a connection, its IndexedDB store if any, and its rooms by
// name, which the event forwarder reads to send their state after a
// reconnect.
type connState struct {
	c     *client.Conn
	st    *idbStore
	rooms map[string]*client.Room // guarded by bridgeState.mu
}

type roomRef struct {
	r    *client.Room
	conn *connState
}

// fn wraps a bridge function: it checks the argument count, and turns a
// panic into a rejected Promise instead of a dead program.
func (b *bridgeState) fn(usage string, nargs int, f func(args []js.Value) js.Value) js.Func {
	return js.FuncOf(func(_ js.Value, args []js.Value) (out any) {
		defer func() {
			if r := recover(); r != nil {
				out = rejected(errors.New("synk: internal error in " + usage + ": " + wraperr.Panic(r).Error()))
			}
		}()
		if len(args) < nargs {
			return rejected(errors.New("synk: usage: " + usage))
		}
		return f(args)
	})
}

func (b *bridgeState) conn(id js.Value) (*connState, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if c := b.conns[id.Int()]; c != nil {
		return c, nil
	}
	return nil, client.ErrClosed
}

func (b *bridgeState) room(id js.Value) (*client.Room, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if r := b.rooms[id.Int()]; r != nil {
		return r.r, nil
	}
	return nil, client.ErrClosed
}

func (b *bridgeState) dial(args []js.Value) js.Value {
	urls, opts, onBatch := strings.Split(args[0].String(), " "), args[1], args[2] // synk.js sends a list joined by spaces
	if onBatch.Type() != js.TypeFunction {
		return rejected(errors.New("synk: dial needs an onBatch function"))
	}
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
		cs := &connState{c: c, st: st, rooms: make(map[string]*client.Room)}
		b.mu.Lock()
		b.nextID++
		id := b.nextID
		b.conns[id] = cs
		b.mu.Unlock()
		go b.forward(cs, onBatch) // ends when Close closes the events
		res := jsObject.New()
		res.Set("id", id)
		res.Set("client", c.Client())
		return res, nil
	})
}

// join joins a room and resolves to its state as the page keeps it
// (bridge.AppendState: members, objects, pending writes) with the room's
// number in "id".
func (b *bridgeState) join(args []js.Value) js.Value {
	cs, err := b.conn(args[0])
	if err != nil {
		return rejected(err)
	}
	name := args[1].String()
	o := client.JoinOptions{Observer: args[2].Truthy()}
	if p := args[3]; p.Truthy() {
		if o.Presence, err = entries(p); err != nil {
			return rejected(err)
		}
	}
	return promise(func(ctx context.Context) (any, error) {
		r, err := cs.c.Join(ctx, name, &o)
		if err != nil {
			return nil, err
		}
		b.mu.Lock()
		b.nextID++
		id := b.nextID
		b.rooms[id] = &roomRef{r: r, conn: cs}
		cs.rooms[name] = r
		b.mu.Unlock()
		res := jsObject.New()
		res.Set("id", id)
		res.Set("state", bytesJS(bridge.AppendState(nil, name, r.Members(), r.Objects(), r.Pending())))
		return res, nil
	})
}

func (b *bridgeState) set(args []js.Value) js.Value {
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

var errMessageData = errors.New("synk: message data must be one msgpack value in a Uint8Array")

// send sends a message: data is one msgpack value, as bytes.
func (b *bridgeState) send(args []js.Value) js.Value {
	r, err := b.room(args[0])
	if err != nil {
		return rejected(err)
	}
	if !args[3].InstanceOf(jsUint8Array) {
		return rejected(errMessageData)
	}
	data := make(protocol.RawMessage, args[3].Length())
	js.CopyBytesToGo(data, args[3])
	to, topic, area := args[1].String(), args[2].String(), args[4].String()
	return promise(func(ctx context.Context) (any, error) { return nil, r.SendArea(ctx, area, to, topic, data) })
}

func (b *bridgeState) del(args []js.Value) js.Value {
	r, err := b.room(args[0])
	if err != nil {
		return rejected(err)
	}
	keys := stringList(args[1])
	return promise(func(ctx context.Context) (any, error) { return nil, r.Delete(ctx, keys...) })
}

func (b *bridgeState) leave(args []js.Value) js.Value {
	b.mu.Lock()
	ref := b.rooms[args[0].Int()]
	delete(b.rooms, args[0].Int())
	if ref != nil && ref.conn.rooms[ref.r.Name()] == ref.r {
		delete(ref.conn.rooms, ref.r.Name())
	}
	b.mu.Unlock()
	if ref == nil {
		return rejected(client.ErrClosed)
	}
	return promise(func(ctx context.Context) (any, error) { return nil, ref.r.Leave(ctx) })
}

func (b *bridgeState) close(args []js.Value) js.Value {
	b.mu.Lock()
	cs := b.conns[args[0].Int()]
	delete(b.conns, args[0].Int())
	for id, ref := range b.rooms {
		if ref.conn == cs {
			delete(b.rooms, id)
		}
	}
	b.mu.Unlock()
	if cs == nil {
		return resolved()
	}
	return promise(func(context.Context) (any, error) {
		err := cs.c.Close()
		if cs.st != nil {
			cs.st.close()
		}
		return nil, err
	})
}

func (b *bridgeState) subscribe(args []js.Value) js.Value {
	r, err := b.room(args[0])
	if err != nil {
		return rejected(err)
	}
	add, remove := stringList(args[1]), stringList(args[2])
	return promise(func(ctx context.Context) (any, error) { return nil, r.Subscribe(ctx, add, remove) })
}

// pending returns the room's writes not yet answered at once (no
// Promise), as msgpack (bridge.AppendPending); null for a room gone.
func (b *bridgeState) pending(args []js.Value) js.Value {
	r, err := b.room(args[0])
	if err != nil {
		return js.Null()
	}
	return bytesJS(bridge.AppendPending(nil, r.Pending()))
}

// meet waits to meet others: on a connection (server-wide) when kind is
// "conn", in a room when it is "room". It resolves to the payloads by
// actor. It has no client-side timeout: opts.timeout (ms) bounds the wait
// on the server, and the AbortSignal signal withdraws the request.
func (b *bridgeState) meet(args []js.Value) js.Value {
	kind, id, o, signal := args[0].String(), args[1], args[2], args[3]
	if o.Type() != js.TypeObject {
		return rejected(errors.New("synk: meet needs {event, actor, ...}"))
	}
	p := &client.MeetParams{Event: str(o, "event"), Actor: str(o, "actor"), Payload: str(o, "payload"), Selector: str(o, "selector")}
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
		cs, err := b.conn(id)
		if err != nil {
			return rejected(err)
		}
		meet = cs.c.Meet
	default:
		r, err := b.room(id)
		if err != nil {
			return rejected(err)
		}
		meet = r.Meet
	}
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

// write runs one object write: op is "create", "update", "move" or
// "delete". It resolves to the object's new version.
func (b *bridgeState) write(args []js.Value) js.Value {
	r, err := b.room(args[0])
	if err != nil {
		return rejected(err)
	}
	op, id, o := args[1].String(), args[2].String(), args[3]
	opts := &client.WriteOptions{Delete: stringList(o.Get("delete"))}
	if v := o.Get("expect"); v.Type() == js.TypeNumber {
		opts.Expect = uint64(v.Float())
	}
	var fields map[string]any
	if f := o.Get("fields"); f.Truthy() {
		if fields, err = entries(f); err != nil {
			return rejected(err)
		}
	}
	kind, area := str(o, "kind"), str(o, "area")
	return promise(func(ctx context.Context) (any, error) {
		var v uint64
		var err error
		switch op {
		case "create":
			v, err = r.Create(ctx, id, kind, area, fields)
		case "update":
			v, err = r.Update(ctx, id, fields, opts)
		case "move":
			v, err = r.Move(ctx, id, area, opts)
		case "delete":
			err = r.DeleteObject(ctx, id, opts)
		default:
			err = &protocol.Error{Code: protocol.CodeBadRequest, Message: "unknown object op " + strconv.Quote(op)}
		}
		if err != nil {
			return nil, err
		}
		return float64(v), nil
	})
}

// forward hands the events of cs to onBatch until the connection is
// closed, then calls onBatch(null, 0) and forgets cs: one msgpack batch
// (bridge.Batch) per call, holding every event
// that is ready, so that a websocket message's events cross to JS once.
// After a reconnect it adds every room's state, after a reset the room's,
// after an answered write the room's pending writes: the page keeps a
// copy of each for its synchronous reads.
func (b *bridgeState) forward(cs *connState, onBatch js.Value) {
	events := cs.c.Events()
	var bt bridge.Batch
	// Batches cross in a Uint8Array kept for the purpose, which onBatch
	// copies out of: a new one per batch, made from Go, cost the worker a
	// tenth of its time (a construction across the bridge and a finalizer).
	var out js.Value
	var outLen int
	for e := range events {
		bt.Reset()
		b.add(&bt, cs, e)
		for bt.Len() < maxBatchEvents && bt.Size() < maxBatchBytes {
			e, ok := next(events)
			if !ok {
				break
			}
			b.add(&bt, cs, e)
		}
		batch := bt.Bytes()
		if outLen < len(batch) {
			outLen = max(len(batch), 64<<10)
			out = jsUint8Array.New(outLen)
		}
		js.CopyBytesToJS(out, batch)
		onBatch.Invoke(out, len(batch))
	}
	// The connection is closed (by the page; synk.js closes one that
	// stopped for good, too): nothing refers to it any more, here or in JS.
	b.mu.Lock()
	for id, c := range b.conns {
		if c == cs {
			delete(b.conns, id)
		}
	}
	for id, ref := range b.rooms {
		if ref.conn == cs {
			delete(b.rooms, id)
		}
	}
	b.mu.Unlock()
	onBatch.Invoke(js.Null(), 0)
}

// next returns an event that is ready now, if any. It does not yield to
// let more come: the worker's JS joins every batch of a task into one
// message to the page, and a yield per batch cost 5% of the worker's time.
func next(events <-chan client.Event) (client.Event, bool) {
	select {
	case e, ok := <-events:
		return e, ok
	default:
		return client.Event{}, false
	}
}

// add appends e and the room states it calls for to bt.
func (b *bridgeState) add(bt *bridge.Batch, cs *connState, e client.Event) {
	var kind string
	var r *client.Room
	if e.Room != "" {
		b.mu.Lock()
		r = cs.rooms[e.Room]
		b.mu.Unlock()
	}
	if e.Kind == client.EventObjectPut && r != nil {
		if o, ok := r.Object(e.Object); ok {
			kind = o.Kind
		}
	}
	bt.Event(e, kind)
	switch {
	case e.Kind == client.EventReconnected:
		b.mu.Lock()
		rooms := make([]*client.Room, 0, len(cs.rooms))
		for _, r := range cs.rooms {
			rooms = append(rooms, r)
		}
		b.mu.Unlock()
		for _, r := range rooms {
			bt.State(r.Name(), r.Members(), r.Objects(), r.Pending())
		}
	case r == nil:
	case e.Kind == client.EventObjectsReset:
		bt.State(r.Name(), r.Members(), r.Objects(), r.Pending())
	case e.Kind == client.EventWritten:
		bt.State(r.Name(), nil, nil, r.Pending())
	}
}

func str(o js.Value, k string) string {
	if v := o.Get(k); v.Type() == js.TypeString {
		return v.String()
	}
	return ""
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

// entries decodes entries that synk.js encoded as one msgpack map in a
// Uint8Array.
func entries(v js.Value) (map[string]any, error) {
	if !v.InstanceOf(jsUint8Array) {
		return nil, bridge.ErrEntries
	}
	b := make([]byte, v.Length())
	js.CopyBytesToGo(b, v)
	return bridge.DecodeEntries(b)
}

// bytesJS copies b into a new Uint8Array.
func bytesJS(b []byte) js.Value {
	a := jsUint8Array.New(len(b))
	js.CopyBytesToJS(a, b)
	return a
}
