// Package server is the Synk server: rooms whose participants each publish a
// key/value presence map and see everyone else's, read-only observers,
// messages relayed to a room or one member and kept nowhere, objects in
// areas with a change log clients resume from, rendezvous
// ("meet": a request waits for mates whose labels its selector matches),
// and the HTTP APIs of the earlier supersynk and netsync projects.
//
// A [Server] is an [http.Handler]. Mount it, then stop it with
// [Server.Shutdown]:
//
//	GET  /ws            websocket, protocol in package protocol
//	POST /synk/{room}   store the poster's entries, answer with the others'
//	GET  /synk/{room}   every participant's entries
//	GET  /synk          the rooms and their sizes
//	GET  /event         wait for mates, netsync's API (POST with ?input=json|yaml)
//	GET  /stats         the meet requests waiting
//	GET  /metrics       Prometheus metrics
//
// # Auth and limits
//
// With [Options.Auth] every client presents a JSON Web Token (see
// [auth.New], [auth.Claims]): its subject is the client id, its "rooms" claim
// grants [auth.Capability] values per room pattern, and a session ends when it
// expires. Without it the server runs open, for development. A connection
// is also bounded in frames per second ([Options.Rate], a token bucket),
// rooms, and connections per address ([Options.MaxConnsPerIP]).
//
// # Concurrency
//
// Each websocket connection has one reader goroutine, started once the
// handshake is done (the HTTP handler returns after the upgrade). The
// reader carries out frames other than Ping and Pong on a short-lived
// goroutine while it waits, so that its own stack stays small. A
// connection's frames go into its bounded send queue. A write pool of at
// most GOMAXPROCS goroutines, running only while some queue has frames,
// writes them while the socket takes each at once; a connection whose
// socket is full gets a writer goroutine of its own, which waits up to
// [Options.WriteTimeout] and ends when the queue is empty. Messages are
// written to the connection as one frame each by the server itself;
// github.com/coder/websocket does the handshake, the reading and the
// control frames. A room never waits for a client: frames are
// queued without blocking, and a client whose queue of live changes is
// full is disconnected with [protocol.CodeSlowConsumer]. The snapshot a
// joining client receives and the changes that follow it go through that
// one queue in the order the room made them, so no change is lost or
// repeated between them.
//
// One janitor goroutine pings every client once per
// [Options.PingInterval] (spread over the interval). A client that sends
// nothing (not even a Pong) within [Options.Timeout] is dropped, and so is an HTTP poster that has not posted within it. The
// room's other members get a leave event with the reason. A room with no
// participants, observers, objects or change history is freed.
//
// # Objects, change log and store
//
// Every object write gets the room's next offset and is kept in its change
// log, bounded by [Options.History] and [Options.HistoryAge]; a client
// that reconnects with its position gets the net change of each object
// that changed in its areas since (see protocol.Sub). With
// [Options.DataDir], objects and the log are kept in a bbolt file, and a
// write is fsync'd before its OK (writes that arrive together share one
// commit). Other subscribers may see a write before it is on disk; a
// server that was not shut down cleanly therefore starts every room in a
// new epoch, and resuming clients take a fresh snapshot once. Forgotten
// changes are compacted out of the file, with the tombstones of the
// objects they deleted.
package server
