package protocol

// Objects live in rooms. Each has an id, a type, an area key and fields
// (msgpack values). A client subscribes to areas with [Sub] and receives,
// as [Object] frames, every object in those areas and every later change
// to them; the server tracks which objects each client holds, so a move or
// a subscription change never loses an object nor leaves a stale one.

// Sub changes the areas whose objects the client receives in a room:
// first Remove, then Add. The server sends a [Object] put for each object
// newly in view and a remove for each one no longer in view, then [OK]
// with the room's [Position]. The room must be joined; observers may
// subscribe.
//
// A client that comes back after a disconnect resumes instead: its first
// Sub on the new connection carries From, the position its cache is at,
// and Held, the areas (among Add) whose objects that cache holds. If the
// room still has its changes since From, the server sends only what
// changed for those areas (each changed object once, with its net change:
// a put, update, move, remove or delete) and a put for every object of the
// other added areas, and its OK says Resumed. Otherwise it sends a plain
// snapshot of the areas, and the client drops every cached object that was
// not put again.
//
//	"i": request id
//	"r": room
//	"a": areas to add
//	"u": areas to remove
//	"f": resume from this position (only on a connection's first Sub of the room)
//	"h": areas of Add that the cache holds as of "f"
type Sub struct {
	ID     uint32    `msgpack:"i"`
	Room   string    `msgpack:"r"`
	Add    []string  `msgpack:"a,omitempty"`
	Remove []string  `msgpack:"u,omitempty"`
	From   *Position `msgpack:"f,omitempty"`
	Held   []string  `msgpack:"h,omitempty"`
}

// Position is a place in a room's change log. Every object write gets the
// next Offset; Epoch names the log's lineage and changes when the room's
// history is lost (a server restarted without its store or after a crash,
// or a room freed and created again), so that a position from another
// epoch is never mistaken for one of this.
//
//	"e": epoch, never 0
//	"o": offset, the number of writes the room has had in this epoch
type Position struct {
	Epoch  uint64 `msgpack:"e"`
	Offset uint64 `msgpack:"o"`
}

// ObjectOp is what a [Write] does.
type ObjectOp uint8

// Object operations.
const (
	OpCreate ObjectOp = 1 // a new object with Kind, Area and Fields
	OpUpdate ObjectOp = 2 // store Fields and remove Delete, last writer wins per field
	OpMove   ObjectOp = 3 // change the object's Area
	OpDelete ObjectOp = 4 // delete the object
)

// Write changes one object. With Expect set, the write applies only if the
// object's version is Expect (compare-and-set), else it fails with
// [CodeStale]. The server answers [OK] with the new version. Observers
// cannot write.
//
//	"i": request id
//	"r": room
//	"k": [ObjectOp]
//	"o": object id
//	"y": the object's kind (create)
//	"a": area (create, move)
//	"f": fields to store (create, update)
//	"x": fields to remove (update)
//	"v": expected version, 0 for none
//	"p": client op id: the server applies a write with a given op id at
//	     most once per room and answers a repeat with the first answer,
//	     so a client may resend a write whose answer it did not get
type Write struct {
	ID     uint32   `msgpack:"i"`
	Room   string   `msgpack:"r"`
	Op     ObjectOp `msgpack:"k"`
	Object string   `msgpack:"o"`
	Kind   string   `msgpack:"y,omitempty"`
	Area   string   `msgpack:"a,omitempty"`
	Fields []Entry  `msgpack:"f,omitempty"`
	Delete []string `msgpack:"x,omitempty"`
	Expect uint64   `msgpack:"v,omitempty"`
	OpID   string   `msgpack:"p,omitempty"`
}

// ObjectEvent says what an [Object] frame reports.
type ObjectEvent uint8

// Object events.
const (
	ObjectPut    ObjectEvent = 1 // the whole object, now in view (snapshot, created, moved in)
	ObjectUpdate ObjectEvent = 2 // changed fields of an object in view
	ObjectMove   ObjectEvent = 3 // moved between two areas both in view
	ObjectRemove ObjectEvent = 4 // no longer in view (moved away, or unsubscribed)
	ObjectDelete ObjectEvent = 5 // deleted
)

// Object tells a subscriber about one object. Version grows by one with
// every write to the object.
//
//	"r": room
//	"e": [ObjectEvent]
//	"o": object id
//	"y": kind (put)
//	"a": area (put, move)
//	"v": version after the change
//	"f": fields: all of them (put) or those stored (update)
//	"x": fields removed (update)
//	"s": offset of the room's position once this frame is applied (see
//	     [Position]; the epoch is the one the Sub's OK gave)
type Object struct {
	Room    string      `msgpack:"r"`
	Event   ObjectEvent `msgpack:"e"`
	Object  string      `msgpack:"o"`
	Kind    string      `msgpack:"y,omitempty"`
	Area    string      `msgpack:"a,omitempty"`
	Version uint64      `msgpack:"v,omitempty"`
	Fields  []Entry     `msgpack:"f,omitempty"`
	Delete  []string    `msgpack:"x,omitempty"`
	Offset  uint64      `msgpack:"s,omitempty"`
}

// Type implements [Message].
func (*Sub) Type() MessageType { return TypeSub }

// Type implements [Message].
func (*Write) Type() MessageType { return TypeWrite }

// Type implements [Message].
func (*Object) Type() MessageType { return TypeObject }
