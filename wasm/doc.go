// Command wasm is the browser build of the Synk client: compiled with
// GOOS=js GOARCH=wasm into web/static/synk.wasm, it wraps package client
// (there is no second protocol implementation) and exposes it to
// JavaScript as the global object __synk, which web/static/synk.js turns
// into the public API.
//
// # Contract with synk.js
//
// Every function returns at once. Those that wait (dial, join, set, delete,
// leave) return a Promise and do their work in a goroutine: blocking inside
// a js.FuncOf callback would stall the page's only thread. Events reach the
// onEvent function given to dial, called from a goroutine; synk.js queues
// them to user handlers in a fresh task, so a handler may call back in.
//
// # Values
//
// JS values map to msgpack as: null/undefined → nil, boolean → bool,
// number → int64 if it is a safe integer else float64, string → string,
// Uint8Array → bin, other typed arrays and DataView → bin of their bytes
// (seven floats as a Float32Array travel in 28 bytes; the receiver gets a
// Uint8Array u and reads new Float32Array(u.buffer)), Array → array, plain
// object → map with string keys.
// Back from msgpack: integers and floats → number (integers beyond 2^53
// lose precision), bin → Uint8Array, maps → objects (non-string keys are
// turned into strings), timestamps → Date.
package main
