// Command edge is Synk's room server for Cloudflare Workers: the same
// server package as synk serve, compiled to WebAssembly and run inside a
// Durable Object, one room per Durable Object, one long-lived Go instance
// per Durable Object.
//
// The worker's JS entry module (entry.mjs) routes /ws/{room} and
// /synk/{room} to the room's Durable Object. The Durable Object's
// constructor starts this program with github.com/syumai/workers'
// runtime (its wasm_exec.js gives each Go instance its own "context"
// global: env, ctx and a binding object); the program opens a
// [server.NewDurable] on the Durable Object's storage and fills the
// binding with:
//
//	handleRequest(request) → Promise<Response>   HTTP (syumai/workers)
//	checkOrigin(origin, host) → reason or ""     before accepting a websocket
//	open(ws, remote) → id                        a websocket the Durable Object accepted
//	refuse(ws, remote, origin, host) → id        one whose origin checkOrigin refused: told why, then closed
//	message(id, data)                            webSocketMessage
//	closed(id, code, reason)                     webSocketClose / webSocketError
//
// See docs/EDGE.md.
package main
