// Package client is the Synk Go client. It runs natively and, unchanged,
// under GOOS=js GOARCH=wasm in a browser (where the websocket is the
// browser's own).
//
// [Dial] connects and says hello; [Conn.Join] joins a room as a participant
// or an observer; [Room.Set] and [Room.Delete] change this client's own
// presence entries; [Room.Members] reads a consistent snapshot of everyone's.
//
// # Events
//
// Changes arrive in order on one channel, [Conn.Events], for every room of
// the connection: a member joined, changed or left; the connection dropped
// or came back; a room was closed by the server. Read it: events queue in
// memory until you do, and the channel is closed after [Conn.Close]. The
// view returned by Members already includes an event's change when the
// event is received.
//
// # Reconnect
//
// When the connection drops, the client reconnects with jittered
// exponential backoff, rejoins its rooms and publishes its own entries
// again. It sends [EventDisconnected] then [EventReconnected], and, for
// each room, the join, change and leave events that turn the old view into
// the new one. A Set made while disconnected is sent with the rejoin. A
// session that ends with a terminal code (see [protocol.Code]) is not
// retried: [EventClosed] carries the error.
//
// # Concurrency
//
// All methods may be called from any goroutine. The Conn owns its
// goroutines: one supervisor, and per connection one reader and one writer;
// [Conn.Close] stops them all and waits for them.
package client
