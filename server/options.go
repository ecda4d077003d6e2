package server

import (
	"fmt"
	"log/slog"
	"math"
	"time"

	"github.com/synkhq/synk/server/auth"
)

// Options configure a [Server]. The zero value of each field means its
// default, so New(nil) gives a server with every default.
type Options struct {
	// Timeout is how long a client may stay silent before it is dropped.
	// Default 10s.
	Timeout time.Duration
	// PingInterval is how often the server pings each websocket client.
	// Default Timeout/2: a live client's answer then comes twice per
	// Timeout, and 10,000 idle clients cost a third less keepalive CPU
	// than at Timeout/3 (docs/BENCHMARKS.md).
	PingInterval time.Duration
	// WriteTimeout bounds the write of one frame to one client: a client
	// that takes longer to take it is disconnected. A write is given at
	// least WriteTimeout and at most a quarter more. Default 5s.
	WriteTimeout time.Duration
	// Coalesce is how long a busy connection's writer waits for more
	// frames before it writes: when frames arrive within Coalesce of the
	// last write, they are sent together after it. It trades at most that
	// much latency under load for fewer system calls, but its timer costs
	// more than it saves in fan-out (issue 19: server CPU per delivery
	// 0.9× without it). Without it, frames that queue while a write runs
	// still go out together in one message. Default 0: off.
	Coalesce time.Duration

	// MaxFrame is the largest frame, and HTTP body, accepted in bytes.
	// Default 64 KiB.
	MaxFrame int
	// MaxKeys is the most keys one client may hold in one room. Default 64.
	MaxKeys int
	// MaxValue is the largest value in bytes, as msgpack. Default 16 KiB.
	MaxValue int
	// MaxRooms is the most rooms one connection may join. Default 16.
	MaxRooms int
	// MaxObjects is the most objects one room may hold. Default 100000.
	MaxObjects int
	// MaxRoomObjectBytes is the most bytes of objects (ids, kinds, areas,
	// field names and values, and 48 bytes a field) and of their change
	// history (about 100 bytes a change, History changes at most) one room
	// may hold; past it a write is refused with CodeTooMany. Default 256 MiB.
	MaxRoomObjectBytes int64
	// MaxObjectBytes is the most bytes of objects and history all rooms
	// together may hold, counted alike; past it a write is refused with
	// CodeOverloaded.
	// Default 2 GiB.
	MaxObjectBytes int64
	// MaxRoomPresence is the most bytes of presence (keys and values, an
	// HTTP poster's data also as the JSON it posted, and 48 bytes a key)
	// the members of one room may hold together; a join or
	// change past it is refused with CodeTooMany, so a room's snapshot
	// stays well within what clients read. Default 4 MiB.
	MaxRoomPresence int
	// MaxPresence is the most bytes of presence all rooms together may
	// hold; past it a join or change is refused with CodeOverloaded.
	// Default 1 GiB.
	MaxPresence int64
	// MaxPresencePerIP is the most bytes of presence the members from one
	// address may hold, in all rooms; past it, CodeTooMany. Default 64 MiB;
	// negative turns it off.
	MaxPresencePerIP int64
	// MaxPostersPerIP is the most HTTP posters (POST /synk/{room}) one
	// address may keep in rooms at once; each is a member until it times
	// out. Past it, CodeTooMany. Default 1024.
	MaxPostersPerIP int
	// MaxRoomsTotal is the most rooms the server holds at once; a join or
	// post that would create one more is refused with CodeOverloaded.
	// Default 100000.
	MaxRoomsTotal int
	// MaxRoomsPerIP is the most open rooms that clients from one address
	// may have created (by joining or posting first); one more is refused
	// with CodeTooMany. Default 4096.
	MaxRoomsPerIP int
	// MaxAreas is the most areas one client may subscribe to in one room.
	// Default 256.
	MaxAreas int
	// SendBuffer is the most bytes of frames queued for one client, live
	// changes and snapshots alike; a client further behind is disconnected
	// as too slow (CodeSlowConsumer). A snapshot or resume larger than half
	// of it is streamed as the client reads, so it bounds what any one
	// connection makes the server hold, however large its areas. A single
	// frame into an empty queue always fits. Default 4 MiB; at least 64 KiB.
	SendBuffer int
	// MaxQueued is the most bytes queued for all clients together (a frame
	// sent to n clients counts n times): a frame that would pass it
	// disconnects its client as too slow. Default 1 GiB.
	MaxQueued int64
	// Rate is the most frames per second one websocket connection may
	// send, on average; Burst is how many it may send at once (a token
	// bucket). A client over it is disconnected with CodeRateLimited (it
	// reconnects with backoff and rejoins with its state). Defaults 200
	// and 1000; a negative Rate turns the limit off.
	Rate  float64
	Burst int
	// MaxConnsPerIP is the most websocket connections open at once from
	// one IP address; more are refused with HTTP 429. Behind a reverse
	// proxy every client has the proxy's address: raise it or turn it off
	// (negative). Default 4096 (many users may share an address behind NAT).
	MaxConnsPerIP int
	// MaxConns is the most websocket connections open at once; more are
	// refused with HTTP 429. Default 100000 (~14 KB each when idle).
	MaxConns int

	// BodyTimeout bounds the reading of one HTTP request body: a body not
	// received within it is answered 408. Default 60s.
	BodyTimeout time.Duration
	// MaxBodiesPerIP is the most HTTP request bodies read at once from one
	// address; more are answered 429 with CodeOverloaded. Default 16;
	// negative turns it off (behind a reverse proxy every client has the
	// proxy's address).
	MaxBodiesPerIP int
	// MaxBodyMemory is the most bytes of HTTP bodies held in memory by all
	// requests together: request bodies while they are read (chunks on
	// their way to a DataDir take 32 KiB each) and chunks read for an
	// answer until they are written. Past it a request is answered 503
	// with CodeOverloaded, or a pack of chunks ends sooner. Default 32 MiB.
	MaxBodyMemory int64

	// Auth verifies the tokens clients present (see [auth.New]): in the
	// Hello for websocket clients, as the "token" query parameter or an
	// "Authorization: Bearer" header for HTTP. Nil runs the server open, for
	// development: anyone may do anything, and New logs a warning.
	Auth *auth.Auth

	// OriginPatterns lists the browser Origins, as host patterns such as
	// "example.com" or "*.example.com:8443", that may open a websocket.
	// The server's own origin is always allowed; localhost, 127.0.0.1 and
	// [::1] on any port are allowed unless OnlySameOrigin is set.
	OriginPatterns []string
	// OnlySameOrigin drops the default localhost allowance.
	OnlySameOrigin bool

	// MaxMates is the most mates one meet request may ask for. Default 16.
	MaxMates int
	// MaxMeets is the most meet requests one connection may have pending.
	// Default 16.
	MaxMeets int
	// MaxPendingMeets is the most meet requests pending on the server, from
	// websocket and HTTP clients together. Default 100000.
	MaxPendingMeets int
	// MaxMeetsPerEvent is the most meet requests pending for one event in
	// one scope: each arrival tests them all against its selector, so this
	// bounds the work of one arrival. Default 1000.
	MaxMeetsPerEvent int
	// MaxMeetBytes is the most bytes of pending meet requests (payloads,
	// labels, selectors, and 256 bytes a request) the server holds; past
	// it a request is refused with CodeOverloaded. Default 256 MiB.
	MaxMeetBytes int64
	// MeetTimeout is the longest a meet request waits for its mates; a
	// request may ask for less. Default 10m.
	MeetTimeout time.Duration

	// History is the most changes per room kept for clients that resume
	// after a disconnect; one further behind gets a fresh snapshot.
	// Default 20000.
	History int
	// DedupWindow is how long a room remembers the answer to a write's op
	// id, so that the write resent by a client that reconnected (to this
	// node or another of a cluster) within it applies once and gets its
	// first answer, however many writes came between. At most 100,000 op
	// ids a room. Default 10m.
	DedupWindow time.Duration
	// HistoryAge is how long a change is kept for resuming clients.
	// Default 24h.
	HistoryAge time.Duration

	// DataDir is where objects are stored (bbolt file synk.db), fsync'd
	// before each write is acknowledged. Empty keeps them in memory only.
	// Presence is never stored.
	DataDir string

	// MaxChunk is the largest chunk the chunk store accepts, in bytes
	// (folder sync's chunks are at most 8 MiB). Default 8 MiB.
	MaxChunk int
	// ChunkQuota is the most bytes of chunks one room may hold. Default
	// 64 GiB with a DataDir or on a cluster (chunks in JetStream), 1 GiB
	// in memory.
	ChunkQuota int64
	// MaxChunkMemory is the most bytes of chunks all rooms together may
	// hold in memory (without a DataDir); past it an upload is answered
	// 507 with CodeOverloaded. Default 1 GiB.
	MaxChunkMemory int64
	// MinFreeDisk is the disk space chunk uploads leave free on the data
	// directory's file system, whatever the rooms' quotas: past it an
	// upload is answered 507 with CodeOverloaded. Default 1 GiB.
	MinFreeDisk int64
	// ChunkGrace is how long a chunk no file object refers to is kept
	// after it was stored or last asked about (a device uploads a file's
	// chunks before it writes the file). Default 24h.
	ChunkGrace time.Duration
	// ChunkSweep is how often unreferenced chunks are collected, while the
	// server has clients. Default 10m.
	ChunkSweep time.Duration

	// NATS, when set, makes the server a node of a cluster: nodes sharing
	// a NATS share their rooms' presence, meets and, with JetStream, objects
	// (see docs/CLUSTER.md); a node's objects then live in JetStream, not
	// in DataDir. Every node needs the same limits. The connection is the
	// caller's to close, after Shutdown. Nil runs alone.
	NATS NATSConn
	// NATSReplicas is how many NATS servers store each object write (the
	// room log's JetStream replicas): 3 on a three-server NATS cluster.
	// Default 1.
	NATSReplicas int
	// ClusterChunkBytes bounds the chunks a cluster keeps, every room's
	// together (its JetStream bucket SYNK_CHUNKS, which JetStream may
	// refuse to make when its servers cannot reserve that much); past it
	// an upload is answered 507 with CodeOverloaded. Default 0: the
	// JetStream servers' own storage limits bound them. A single server's
	// chunks are bounded by MinFreeDisk or MaxChunkMemory instead.
	ClusterChunkBytes int64

	// Logger receives the server's logs. Default slog.Default().
	Logger *slog.Logger

	parked chan<- struct{} // test-only: told each time the janitor parks
	//lint:ignore U1000 for the cluster's tests: the js build (the edge) has no cluster
	nodeSeen chan<- string // test-only: told of each cluster node first heard from
}

var localOrigins = []string{"localhost", "localhost:*", "127.0.0.1", "127.0.0.1:*", "[::1]", "[::1]:*"}

// withDefaults returns a copy of o with defaults filled in, or an error for
// a value that cannot work.
func (o *Options) withDefaults() (Options, error) {
	var c Options
	if o != nil {
		c = *o
	}
	def := func(d *time.Duration, v time.Duration) {
		if *d == 0 {
			*d = v
		}
	}
	defInt := func(n *int, v int) {
		if *n == 0 {
			*n = v
		}
	}
	def(&c.Timeout, 10*time.Second)
	def(&c.PingInterval, c.Timeout/2)
	def(&c.WriteTimeout, 5*time.Second)
	defInt(&c.MaxFrame, 64<<10)
	defInt(&c.MaxKeys, 64)
	defInt(&c.MaxValue, 16<<10)
	defInt(&c.MaxRooms, 16)
	defInt(&c.SendBuffer, 4<<20)
	if c.MaxQueued == 0 {
		c.MaxQueued = 1 << 30
	}
	if c.Rate == 0 {
		c.Rate = 200
	}
	defInt(&c.Burst, 1000)
	defInt(&c.MaxConnsPerIP, 4096)
	defInt(&c.MaxConns, 100000)
	def(&c.BodyTimeout, time.Minute)
	defInt(&c.MaxBodiesPerIP, 16)
	if c.MaxBodyMemory == 0 {
		c.MaxBodyMemory = 32 << 20
	}
	defInt(&c.NATSReplicas, 1)
	defInt(&c.MaxObjects, 100000)
	defInt(&c.MaxRoomPresence, 4<<20)
	defInt(&c.MaxPostersPerIP, 1024)
	defInt(&c.MaxRoomsTotal, 100000)
	defInt(&c.MaxRoomsPerIP, 4096)
	def64 := func(n *int64, v int64) {
		if *n == 0 {
			*n = v
		}
	}
	def64(&c.MaxRoomObjectBytes, 256<<20)
	def64(&c.MaxObjectBytes, 2<<30)
	def64(&c.MaxPresence, 1<<30)
	def64(&c.MaxPresencePerIP, 64<<20)
	def64(&c.MaxChunkMemory, 1<<30)
	def64(&c.MinFreeDisk, 1<<30)
	def64(&c.MaxMeetBytes, 256<<20)
	if c.MaxPresencePerIP < 0 {
		c.MaxPresencePerIP = math.MaxInt64
	}
	defInt(&c.MaxChunk, 8<<20)
	def(&c.ChunkGrace, 24*time.Hour)
	def(&c.ChunkSweep, 10*time.Minute)
	if c.ChunkQuota == 0 {
		c.ChunkQuota = 1 << 30
		if c.DataDir != "" || c.NATS != nil { // on disk, or in JetStream's file store
			c.ChunkQuota = 64 << 30
		}
	}
	defInt(&c.MaxAreas, 256)
	defInt(&c.History, 20000)
	if c.DedupWindow <= 0 {
		c.DedupWindow = 10 * time.Minute
	}
	defInt(&c.MaxMates, 16)
	defInt(&c.MaxMeets, 16)
	defInt(&c.MaxPendingMeets, 100000)
	defInt(&c.MaxMeetsPerEvent, 1000)
	def(&c.MeetTimeout, 10*time.Minute)
	def(&c.HistoryAge, 24*time.Hour)
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
	if !c.OnlySameOrigin {
		c.OriginPatterns = append(append([]string(nil), c.OriginPatterns...), localOrigins...)
	}
	switch {
	case c.Timeout < 0 || c.PingInterval < 0 || c.WriteTimeout < 0 || c.HistoryAge < 0 || c.MeetTimeout < 0 || c.ChunkGrace < 0 || c.ChunkSweep < 0 || c.BodyTimeout < 0:
		return c, fmt.Errorf("server: durations must not be negative")
	case c.ClusterChunkBytes < 0:
		return c, fmt.Errorf("server: ClusterChunkBytes must not be negative")
	case c.PingInterval >= c.Timeout:
		return c, fmt.Errorf("server: ping interval %v must be shorter than timeout %v", c.PingInterval, c.Timeout)
	case c.MaxFrame < 256 || c.MaxKeys < 0 || c.MaxValue < 1 || c.MaxRooms < 1 || c.SendBuffer < 64<<10 || c.MaxQueued < int64(c.SendBuffer) ||
		c.MaxObjects < 1 || c.MaxAreas < 1 || c.History < 1 || c.MaxMates < 1 || c.MaxMeets < 1 || c.MaxPendingMeets < 1 || c.MaxMeetsPerEvent < 1 ||
		c.Burst < 1 || c.MaxChunk < 1 || c.ChunkQuota < 1 || c.MaxBodyMemory < int64(max(c.MaxFrame, c.MaxChunk)) ||
		c.MaxRoomObjectBytes < 1 || c.MaxObjectBytes < 1 || c.MaxRoomPresence < 1 || c.MaxPresence < 1 ||
		c.MaxPostersPerIP < 1 || c.MaxRoomsTotal < 1 || c.MaxChunkMemory < 1 || c.MaxMeetBytes < 1 || c.MaxConns < 1 || c.MaxRoomsPerIP < 1:
		return c, fmt.Errorf("server: limits out of range (MaxFrame ≥ 256, SendBuffer ≥ 64 KiB, MaxQueued ≥ SendBuffer, MaxBodyMemory ≥ MaxFrame and MaxChunk, others ≥ 1)")
	}
	return c, nil
}
