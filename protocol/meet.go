package protocol

// A rendezvous ("meet", after the earlier netsync project): a Meet waits
// on the server until enough other Meets with the same event are pending
// that every member's selector matches every other member's labels; then
// each member gets every member's payload, keyed by actor, in a [Met].

// Meet asks to meet others on an event. The server answers with [Met]
// when a group forms, or with an [Error] carrying the Meet's request id:
// [CodeCanceled] after a [Cancel], [CodeExpired] when the timeout passes
// first, [CodeBadRequest] for a bad selector or label. A connection that
// closes takes its pending Meets with it: they never take part in a match.
//
//	"i": request id
//	"r": room: the event is scoped to it, and it must be joined; empty for
//	     the server-wide scope, shared with the HTTP API's /event
//	"e": event (a key)
//	"a": actor, this request's name in the payloads (a label value:
//	     1 to 63 of A-Z a-z 0-9 - _ ., starting and ending alphanumeric)
//	"p": payload, given to every member
//	"n": mates: how many others to meet; a group has as many members as
//	     its largest mates plus one, and 0 returns at once, alone
//	"l": labels (string to string); default {"actor": actor}
//	"s": selector over the others' labels, Kubernetes label selector
//	     syntax; default "actor != <actor>"
//	"o": timeout in milliseconds; 0 or above the server's limit means
//	     the server's limit
type Meet struct {
	ID        uint32            `msgpack:"i"`
	Room      string            `msgpack:"r,omitempty"`
	Event     string            `msgpack:"e"`
	Actor     string            `msgpack:"a"`
	Payload   string            `msgpack:"p,omitempty"`
	Mates     uint32            `msgpack:"n"`
	Labels    map[string]string `msgpack:"l,omitempty"`
	Selector  string            `msgpack:"s,omitempty"`
	TimeoutMS uint32            `msgpack:"o,omitempty"`
}

// Cancel withdraws a pending [Meet]. The server answers the Meet with an
// [Error] of code [CodeCanceled], unless it was matched already (then its
// [Met] is on the way, and the Cancel is ignored).
//
//	"i": request id of the Meet
type Cancel struct {
	ID uint32 `msgpack:"i"`
}

// Met answers a [Meet] whose group formed.
//
//	"i": request id of the Meet
//	"p": every member's payload, keyed by actor (this request's included)
type Met struct {
	ID       uint32            `msgpack:"i"`
	Payloads map[string]string `msgpack:"p"`
}

// Type implements [Message].
func (*Meet) Type() MessageType { return TypeMeet }

// Type implements [Message].
func (*Cancel) Type() MessageType { return TypeCancel }

// Type implements [Message].
func (*Met) Type() MessageType { return TypeMet }
