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
// # Messages
//
// [Room.Send] sends a value on a topic to the room's other members, or to
// one of them; they get an [EventMessage]. The server keeps nothing: a
// member who joins later, or is reconnecting, never gets it, and Send
// fails with [ErrDisconnected] rather than wait for the connection.
//
// # Objects, resume and offline writes
//
// [Room.Subscribe] chooses the areas whose objects the room's cache holds
// ([Room.Objects]); object events report every change to it. The cache
// tracks the room's position (see [protocol.Position]); after a reconnect
// the client resumes from it and hears only of the objects that changed
// meanwhile, or, if the server no longer has those changes, takes a fresh
// snapshot and sends [EventObjectsReset].
//
// [Room.Create], [Room.Update], [Room.Move] and [Room.DeleteObject] go
// through the room's outbox ([Room.Pending]): sent at once when connected,
// else on the next reconnect, and again after every reconnect until
// answered, with an op id the server applies once. A call returns the
// answer; if its context ends first it returns an error wrapping
// [ErrPending] and the answer arrives later as an [EventWritten]. The
// cache shows the server's state only: a write appears in it when the
// server applies it.
//
// With [DialOptions.Store] (a [FileStore], or synk.js's IndexedDB store in
// a browser), the outbox is stored before a write is sent, and the cache,
// its position and the areas at most FlushInterval later and when the
// connection drops: a program that stops, even killed, starts the room
// from them at its next [Conn.Join]. A write answered just before a crash
// may be sent again; the server answers it as the first time.
//
// # Concurrency
//
// All methods may be called from any goroutine. The Conn owns its
// goroutines: one supervisor, and per connection one reader and one writer;
// [Conn.Close] stops them all and waits for them.
package client
