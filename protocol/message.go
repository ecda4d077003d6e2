package protocol

import "strconv"

// Version is the protocol version this package speaks.
const Version = 1

// Hello is the first frame a client sends.
//
//	"v": protocol version (uint)
//	"c": client id to use in rooms; empty asks the server to choose one
//	"b": the client reads websocket messages that carry several frames
//	     back to back (see [Next]); the server then sends what it has
//	     queued for the client in as few messages as it can
//	"a": a token (a JSON Web Token) when the server requires one; its
//	     subject is then the client id
//	"s": the resume secret a Welcome gave with the id in "c": proof that
//	     this is the same client again, after a reconnect
type Hello struct {
	Version uint16 `msgpack:"v"`
	Client  string `msgpack:"c,omitempty"`
	Batch   bool   `msgpack:"b,omitempty"`
	Token   string `msgpack:"a,omitempty"`
	Secret  string `msgpack:"s,omitempty"`
}

// Welcome answers a [Hello] and tells the client its id and the server's
// limits.
//
//	"v": protocol version the server speaks
//	"c": the client id in force for this connection
//	"p": interval in milliseconds at which the server pings
//	"o": timeout in milliseconds after which a silent peer is dropped
//	"l": the server's [Limits]
//	"b": the server reads websocket messages that carry several frames
//	     back to back (see [Next])
//	"s": the resume secret of the client id, when the server chose the id
//	     or the Hello proved it: a client that reconnects sends both in its
//	     Hello, and its new connection takes over its rooms' membership
//	     without others seeing it leave and join
type Welcome struct {
	Version   uint16 `msgpack:"v"`
	Client    string `msgpack:"c"`
	PingMS    uint32 `msgpack:"p"`
	TimeoutMS uint32 `msgpack:"o"`
	Limits    Limits `msgpack:"l"`
	Batch     bool   `msgpack:"b,omitempty"`
	Secret    string `msgpack:"s,omitempty"`
}

// MaxSecret is the longest resume secret a Hello may carry, in bytes.
const MaxSecret = 64

// Limits are the server's limits, sent in a [Welcome] so that a client can
// refuse a request before sending it. Zero means no limit.
//
//	"f": largest frame in bytes
//	"k": most keys one client may hold in one room
//	"v": largest value in bytes (its msgpack encoding)
//	"r": most rooms one connection may join
type Limits struct {
	MaxFrame uint32 `msgpack:"f"`
	MaxKeys  uint32 `msgpack:"k"`
	MaxValue uint32 `msgpack:"v"`
	MaxRooms uint32 `msgpack:"r"`
}

// Entry is one key and its value in a client's presence map. The value is
// one msgpack value of any type, kept as raw bytes.
//
//	"k": key (string)
//	"v": value (one msgpack value)
type Entry struct {
	Key   string     `msgpack:"k"`
	Value RawMessage `msgpack:"v"`
}

// Member is one participant of a room and its presence map.
//
//	"c": client id
//	"d": entries, sorted by key
type Member struct {
	Client  string  `msgpack:"c"`
	Entries []Entry `msgpack:"d,omitempty"`
}

// Join asks to join a room, as a participant or, with Observer set, as a
// read-only observer. A participant may publish its first entries at once.
// The server answers with [Joined] or [Error].
//
//	"i": request id
//	"r": room name
//	"o": true to observe only
//	"d": the participant's first entries
type Join struct {
	ID       uint32  `msgpack:"i"`
	Room     string  `msgpack:"r"`
	Observer bool    `msgpack:"o,omitempty"`
	Entries  []Entry `msgpack:"d,omitempty"`
}

// Joined answers a [Join] with a snapshot of the room's participants. Every
// later change to the room reaches the client as a [Presence] frame sent
// after this one: no change is missed and none is sent twice.
//
//	"i": request id of the Join
//	"r": room name
//	"m": the participants, the joining client included, sorted by client id
//	"h": the room's handle on this connection: a small number that a [Set]
//	     may carry instead of the room's name, until the room is left
//	"n": more Joined frames with this id follow, continuing "m": a large
//	     snapshot comes in several frames, none over the client's limit;
//	     the last one has no "n"
type Joined struct {
	ID      uint32   `msgpack:"i"`
	Room    string   `msgpack:"r"`
	Members []Member `msgpack:"m,omitempty"`
	Handle  uint32   `msgpack:"h,omitempty"`
	More    bool     `msgpack:"n,omitempty"`
}

// Leave asks to leave a room. The server answers with [OK].
//
//	"i": request id
//	"r": room name
type Leave struct {
	ID   uint32 `msgpack:"i"`
	Room string `msgpack:"r"`
}

// Set changes the sender's presence map in a room: it stores Entries and
// removes the keys in Delete. A request id of 0 asks for no [OK]; errors are
// sent either way. The room is named by "r" or by the handle its [Joined]
// gave ("h"), exactly one of them: the handle keeps the most frequent frame
// small.
//
//	"i": request id, 0 for none
//	"r": room name
//	"h": room handle
//	"d": entries to store, a map from key to value (an array of
//	     {"k","v"} maps, as protocol 1 clients before handles sent, is
//	     accepted too)
//	"x": keys to remove
type Set struct {
	ID      uint32   `msgpack:"i,omitempty"`
	Room    string   `msgpack:"r,omitempty"`
	Handle  uint32   `msgpack:"h,omitempty"`
	Entries EntryMap `msgpack:"d,omitempty"`
	Delete  []string `msgpack:"x,omitempty"`
}

// OK answers a [Leave], [Set], [Sub] or [Write] that succeeded. The OK
// of a Sub is sent after every frame the Sub caused and before any later
// change, and carries the room's position at that point.
//
//	"i": request id
//	"v": the object's version after a Write
//	"e": epoch of the room's change log (Sub)
//	"s": offset of the room's change log (Sub)
//	"z": true when a Sub with "f" was resumed: only the changes since were sent
type OK struct {
	ID      uint32 `msgpack:"i"`
	Version uint64 `msgpack:"v,omitempty"`
	Epoch   uint64 `msgpack:"e,omitempty"`
	Offset  uint64 `msgpack:"s,omitempty"`
	Resumed bool   `msgpack:"z,omitempty"`
}

// PresenceEvent says what happened to a room's participant.
type PresenceEvent uint8

// Presence events.
const (
	EventJoin   PresenceEvent = 1 // a participant joined, with its first entries
	EventChange PresenceEvent = 2 // a participant stored or removed entries
	EventLeave  PresenceEvent = 3 // a participant left, see the reason
)

// Presence tells the other members of a room that a participant joined,
// changed its map, or left. Only the change is sent, never the whole map.
//
//	"r": room name
//	"e": [PresenceEvent]
//	"c": client id of the participant
//	"d": entries stored (join, change)
//	"x": keys removed (change)
//	"w": why it left, a [Code]; 0 when it left on purpose (leave)
type Presence struct {
	Room    string        `msgpack:"r"`
	Event   PresenceEvent `msgpack:"e"`
	Client  string        `msgpack:"c"`
	Entries []Entry       `msgpack:"d,omitempty"`
	Delete  []string      `msgpack:"x,omitempty"`
	Reason  Code          `msgpack:"w,omitempty"`
}

// Ping asks the peer to answer with a [Pong] carrying the same nonce. The
// server pings every Welcome.PingMS; any frame counts as a sign of life.
//
//	"n": nonce
type Ping struct {
	Nonce uint32 `msgpack:"n,omitempty"`
}

// Pong answers a [Ping].
//
//	"n": the Ping's nonce
type Pong struct {
	Nonce uint32 `msgpack:"n,omitempty"`
}

// Error reports a failed request (ID set) or the end of a session (ID 0).
// It is also the Go error a client returns for it.
//
//	"i": request id that failed, 0 for none
//	"e": [Code]
//	"m": human-readable message
//	"r": room concerned, if any
type Error struct {
	ID      uint32 `msgpack:"i,omitempty"`
	Code    Code   `msgpack:"e"`
	Message string `msgpack:"m,omitempty"`
	Room    string `msgpack:"r,omitempty"`
}

// Error implements the error interface.
func (e *Error) Error() string {
	s := "synk: " + e.Code.String() + " (" + strconv.Itoa(int(e.Code)) + ")"
	if e.Room != "" {
		s += " in room " + e.Room
	}
	if e.Message != "" {
		s += ": " + e.Message
	}
	return s
}

// Is reports whether target is an *Error with the same code, so that
// errors.Is(err, &protocol.Error{Code: protocol.CodeReadOnly}) works.
func (e *Error) Is(target error) bool {
	t, ok := target.(*Error)
	return ok && t.Code == e.Code
}

// Type implements [Message].
func (*Hello) Type() MessageType { return TypeHello }

// Type implements [Message].
func (*Welcome) Type() MessageType { return TypeWelcome }

// Type implements [Message].
func (*Join) Type() MessageType { return TypeJoin }

// Type implements [Message].
func (*Joined) Type() MessageType { return TypeJoined }

// Type implements [Message].
func (*Leave) Type() MessageType { return TypeLeave }

// Type implements [Message].
func (*Set) Type() MessageType { return TypeSet }

// Type implements [Message].
func (*OK) Type() MessageType { return TypeOK }

// Type implements [Message].
func (*Presence) Type() MessageType { return TypePresence }

// Type implements [Message].
func (*Ping) Type() MessageType { return TypePing }

// Type implements [Message].
func (*Pong) Type() MessageType { return TypePong }

// Type implements [Message].
func (*Error) Type() MessageType { return TypeError }
