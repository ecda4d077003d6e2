package main

import (
	"context"
	"errors"
	"strconv"
	"syscall/js"

	"github.com/synkhq/synk/internal/wraperr"
)

// idbStore is a client.Store in the browser's IndexedDB: one database per
// store name, one object store "kv" of Uint8Array values under string
// keys. Apply is one readwrite transaction with strict durability (the
// browser flushes it to disk before it completes), so a write queued
// while offline survives a closed tab.
type idbStore struct{ db js.Value }

const idbObjects = "kv"

// openIDB opens (creating) the IndexedDB database name.
func openIDB(ctx context.Context, name string) (*idbStore, error) {
	idb := js.Global().Get("indexedDB")
	if idb.Type() != js.TypeObject {
		return nil, errors.New("synk: this browser has no IndexedDB")
	}
	req := idb.Call("open", name, 1)
	upgrade := js.FuncOf(func(js.Value, []js.Value) any {
		db := req.Get("result")
		if !db.Get("objectStoreNames").Call("contains", idbObjects).Bool() {
			db.Call("createObjectStore", idbObjects)
		}
		return nil
	})
	defer func() {
		req.Set("onupgradeneeded", js.Null())
		upgrade.Release()
	}()
	req.Set("onupgradeneeded", upgrade)
	if _, err := await(ctx, req, "onsuccess", "onerror"); err != nil {
		return nil, wraperr.Prefix("synk: open IndexedDB "+strconv.Quote(name), err)
	}
	return &idbStore{db: req.Get("result")}, nil
}

// await waits until target fires ok (returning the event) or one of fails.
func await(ctx context.Context, target js.Value, ok string, fails ...string) (js.Value, error) {
	type result struct {
		ev  js.Value
		err error
	}
	ch := make(chan result, 1)
	deliver := func(r result) {
		select { // never block the browser's event loop: the first wins
		case ch <- r:
		default:
		}
	}
	onOK := js.FuncOf(func(_ js.Value, args []js.Value) any {
		deliver(result{ev: args[0]})
		return nil
	})
	onFail := js.FuncOf(func(_ js.Value, args []js.Value) any {
		msg := "failed"
		if e := target.Get("error"); e.Type() == js.TypeObject {
			msg = e.Get("message").String()
		}
		deliver(result{err: errors.New(msg)})
		return nil
	})
	names := append([]string{ok}, fails...)
	defer func() {
		for _, n := range names {
			target.Set(n, js.Null()) // no call into a released function later
		}
		onOK.Release()
		onFail.Release()
	}()
	target.Set(ok, onOK)
	for _, f := range fails {
		target.Set(f, onFail)
	}
	select {
	case r := <-ch:
		return r.ev, r.err
	case <-ctx.Done():
		return js.Undefined(), ctx.Err()
	}
}

// Load implements client.Store.
func (s *idbStore) Load(ctx context.Context) (out map[string][]byte, err error) {
	defer recoverJS(&err)
	tx := s.db.Call("transaction", idbObjects, "readonly")
	objs := tx.Call("objectStore", idbObjects)
	keys := objs.Call("getAllKeys")
	vals := objs.Call("getAll")
	if _, err := await(ctx, tx, "oncomplete", "onerror", "onabort"); err != nil {
		return nil, wraperr.Prefix("synk: read IndexedDB", err)
	}
	ks, vs := keys.Get("result"), vals.Get("result")
	out = make(map[string][]byte, ks.Length())
	for i := range ks.Length() {
		v := vs.Index(i)
		if v.Type() != js.TypeObject || !v.InstanceOf(jsUint8Array) {
			return nil, errors.New("synk: IndexedDB key " + strconv.Quote(ks.Index(i).String()) + " does not hold bytes")
		}
		b := make([]byte, v.Length())
		js.CopyBytesToGo(b, v)
		out[ks.Index(i).String()] = b
	}
	return out, nil
}

// Apply implements client.Store.
func (s *idbStore) Apply(ctx context.Context, set map[string][]byte, del []string) (err error) {
	defer recoverJS(&err)
	opts := jsObject.New()
	opts.Set("durability", "strict")
	tx := s.db.Call("transaction", idbObjects, "readwrite", opts)
	objs := tx.Call("objectStore", idbObjects)
	for _, k := range del {
		objs.Call("delete", k)
	}
	for k, v := range set {
		b := jsUint8Array.New(len(v))
		js.CopyBytesToJS(b, v)
		objs.Call("put", b, k)
	}
	if _, err := await(ctx, tx, "oncomplete", "onerror", "onabort"); err != nil {
		return wraperr.Prefix("synk: write IndexedDB", err)
	}
	return nil
}

func (s *idbStore) close() { s.db.Call("close") }

// recoverJS turns a thrown JS exception (a closed database, a quota) into
// an error.
func recoverJS(err *error) {
	if r := recover(); r != nil {
		if e, ok := r.(js.Error); ok {
			*err = errors.New("synk: IndexedDB: " + e.Error())
			return
		}
		panic(r)
	}
}
