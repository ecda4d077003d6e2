// Command wasm is the browser build of the Synk client: compiled with
// GOOS=js GOARCH=wasm and -tags synkbrowser into web/static/synk.wasm (make
// wasm), it wraps package client
// (there is no second protocol implementation) and exposes it to
// JavaScript as the global object __synk. It runs in a dedicated Web
// Worker (web/static/synk-worker.js), which synk.js on the page starts and
// talks to: neither the client's work nor Go's garbage collector runs on
// the page's thread.
//
// # Contract with synk-worker.js
//
// Every function returns at once. Those that wait (dial, join, set, del,
// send, leave, subscribe, meet, write, close) return a Promise and do their work
// in a goroutine: blocking inside a js.FuncOf callback would stall the
// worker's only thread. A rejected Promise carries an Error with .code
// and .codeName (the protocol's) and .pending for a write that stays
// queued.
//
// Events reach the onBatch function given to dial, called from a
// goroutine as onBatch(buf, n) once per hand-off: buf's first n bytes, to
// copy out before returning (buf is reused), are a msgpack array of every
// event that was ready (a websocket message's events together), shaped as
// synk.d.ts declares them, with entry and field values as the raw msgpack
// they arrived in (internal/bridge). After a reconnect, a reset, or an
// answered write the batch also carries the room's state (kind "sync"),
// from which synk.js keeps the copy its synchronous reads (members(),
// objects.list(), objects.pending()) answer from. After the connection's
// last event ("closed"), onBatch(null, 0) says that nothing more comes.
//
// # Values
//
// Entries and fields come from synk.js as one msgpack map in a
// Uint8Array, encoded by web/static/synk-codec.js (which documents the
// mapping of JS values); they go to the server as they are. Nothing here
// decodes a value: the page does, once.
//
// # Size
//
// The tag synkbrowser keeps out what the page never needs: the msgpack
// library (values arrive encoded), fmt, and the checks of frames only a
// server decodes. wasm/deps_test.go lists what the bundle may link, and
// make wasm fails over 600 KB of brotli.
package main
