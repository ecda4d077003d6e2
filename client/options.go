package client

import "time"

// DialOptions configure [Dial]. A nil *DialOptions means every default.
type DialOptions struct {
	// Client is the client id in rooms; empty lets the server choose one.
	Client string
	// URLs are further addresses of the same service, such as the other
	// nodes of a cluster (docs/CLUSTER.md). Dial tries its url, then these
	// in turn; after a session is lost, each reconnect attempt goes to the
	// next of them, with the same rooms, outbox and cache, and resumes
	// there (positions hold across the nodes of a cluster).
	URLs []string
	// Token is the token (a JSON Web Token) a server with auth requires;
	// its subject is then the client id. When it expires the server ends
	// the session with protocol.CodeUnauthorized: dial again with a new one.
	Token string
	// MinBackoff and MaxBackoff bound the wait between reconnect attempts.
	// Defaults 100ms and 5s.
	MinBackoff, MaxBackoff time.Duration
	// ReadLimit is the largest frame accepted from the server, in bytes.
	// Default 16 MiB.
	ReadLimit int64
	// Store, if set, keeps each joined room's unanswered writes, cached
	// objects and position across restarts of the program. Dial loads it;
	// Join restores a room from it.
	Store Store
	// FlushInterval is how often changes to the cache reach the Store.
	// Writes are stored at once. Default 200ms.
	FlushInterval time.Duration
}

// JoinOptions configure [Conn.Join]. A nil *JoinOptions joins as a
// participant with no entries.
type JoinOptions struct {
	// Observer joins read-only: the client sees everyone and is not seen.
	Observer bool
	// Presence holds the participant's first entries, each value encoded
	// as msgpack.
	Presence map[string]any
}

func (o *DialOptions) withDefaults() DialOptions {
	var c DialOptions
	if o != nil {
		c = *o
	}
	if c.MinBackoff <= 0 {
		c.MinBackoff = 100 * time.Millisecond
	}
	if c.MaxBackoff < c.MinBackoff {
		c.MaxBackoff = max(5*time.Second, c.MinBackoff)
	}
	if c.ReadLimit <= 0 {
		c.ReadLimit = 16 << 20
	}
	if c.FlushInterval <= 0 {
		c.FlushInterval = 200 * time.Millisecond
	}
	return c
}
