package protocol

// Messages: a member of a room sends a value to the room's other members,
// or to one of them, without storing it. They suit what changes too often
// or lives too briefly to be presence: a networked scene's entity updates,
// a chat line, a nudge to one peer. A message is not kept: members who
// join later, or who were reconnecting when it went, never get it.

// Send sends a message on a topic to the other members of a joined room
// (To empty), observers included, or to one member (To its client id).
// With a request id the server answers [OK] once the message is queued
// for every receiver, or an [Error] with that id: [CodeNotJoined],
// [CodeReadOnly] for an observer, [CodeNotFound] when To is not a member
// of the room, [CodeValueTooLarge] when Data is over the server's
// MaxValue. Without one, errors still come, with id 0.
//
// With an Area the message is about something in that area (an entity of a
// networked scene, say), and it reaches only the receivers subscribed to
// the area (see [Sub]), To included: the rest never get it. This is
// interest management: a client far away in a large world receives
// nothing of what happens here.
//
//	"i": request id (0: no OK)
//	"r": room, joined by the sender
//	"o": to: one member's client id; empty for every other member
//	"a": area (a key): only receivers subscribed to it get the message
//	"k": topic, what the message is about for its receivers (a key)
//	"d": data (one msgpack value)
type Send struct {
	ID    uint32     `msgpack:"i,omitempty"`
	Room  string     `msgpack:"r"`
	To    string     `msgpack:"o,omitempty"`
	Area  string     `msgpack:"a,omitempty"`
	Topic string     `msgpack:"k"`
	Data  RawMessage `msgpack:"d"`
}

// Sent is a [Send] as its receivers get it.
//
//	"r": room
//	"f": from: the sender's client id
//	"o": true when the message was sent to this receiver alone
//	"a": the message's area, if it has one
//	"k": topic
//	"d": data
type Sent struct {
	Room   string     `msgpack:"r"`
	From   string     `msgpack:"f"`
	Direct bool       `msgpack:"o,omitempty"`
	Area   string     `msgpack:"a,omitempty"`
	Topic  string     `msgpack:"k"`
	Data   RawMessage `msgpack:"d"`
}

// Type implements [Message].
func (*Send) Type() MessageType { return TypeSend }

// Type implements [Message].
func (*Sent) Type() MessageType { return TypeSent }
