package protocol

// Each frame's fields, in the order they are written: the msgpack tags of
// the struct say the same, and golden_test.go holds the bytes.

func (m *Hello) fields(w *wire) {
	wireUint(w, 'v', &m.Version, false)
	w.str('c', &m.Client, true)
	w.boolean('b', &m.Batch, true)
	w.str('a', &m.Token, true)
	w.str('s', &m.Secret, true)
}

func (m *Welcome) fields(w *wire) {
	wireUint(w, 'v', &m.Version, false)
	w.str('c', &m.Client, false)
	wireUint(w, 'p', &m.PingMS, false)
	wireUint(w, 'o', &m.TimeoutMS, false)
	w.nested('l', &m.Limits, false)
	w.boolean('b', &m.Batch, true)
	w.str('s', &m.Secret, true)
}

func (m *Limits) fields(w *wire) {
	wireUint(w, 'f', &m.MaxFrame, false)
	wireUint(w, 'k', &m.MaxKeys, false)
	wireUint(w, 'v', &m.MaxValue, false)
	wireUint(w, 'r', &m.MaxRooms, false)
}

func (m *Entry) fields(w *wire) {
	w.str('k', &m.Key, false)
	w.raw('v', &m.Value)
}

func (m *Member) fields(w *wire) {
	w.str('c', &m.Client, false)
	wireList(w, 'd', &m.Entries)
}

func (m *Join) fields(w *wire) {
	wireUint(w, 'i', &m.ID, false)
	w.str('r', &m.Room, false)
	w.boolean('o', &m.Observer, true)
	wireList(w, 'd', &m.Entries)
}

func (m *Joined) fields(w *wire) {
	wireUint(w, 'i', &m.ID, false)
	w.str('r', &m.Room, false)
	wireList(w, 'm', &m.Members)
	wireUint(w, 'h', &m.Handle, true)
	w.boolean('n', &m.More, true)
}

func (m *Leave) fields(w *wire) {
	wireUint(w, 'i', &m.ID, false)
	w.str('r', &m.Room, false)
}

func (m *Set) fields(w *wire) {
	wireUint(w, 'i', &m.ID, true)
	w.str('r', &m.Room, true)
	wireUint(w, 'h', &m.Handle, true)
	w.entryMap('d', &m.Entries)
	w.strings('x', &m.Delete)
}

func (m *OK) fields(w *wire) {
	wireUint(w, 'i', &m.ID, false)
	wireUint(w, 'v', &m.Version, true)
	wireUint(w, 'e', &m.Epoch, true)
	wireUint(w, 's', &m.Offset, true)
	w.boolean('z', &m.Resumed, true)
}

func (m *Presence) fields(w *wire) {
	w.str('r', &m.Room, false)
	wireUint(w, 'e', &m.Event, false)
	w.str('c', &m.Client, false)
	wireList(w, 'd', &m.Entries)
	w.strings('x', &m.Delete)
	wireUint(w, 'w', &m.Reason, true)
}

func (m *Ping) fields(w *wire) { wireUint(w, 'n', &m.Nonce, true) }

func (m *Pong) fields(w *wire) { wireUint(w, 'n', &m.Nonce, true) }

func (m *Error) fields(w *wire) {
	wireUint(w, 'i', &m.ID, true)
	wireUint(w, 'e', &m.Code, false)
	w.str('m', &m.Message, true)
	w.str('r', &m.Room, true)
}

func (m *Sub) fields(w *wire) {
	wireUint(w, 'i', &m.ID, false)
	w.str('r', &m.Room, false)
	w.strings('a', &m.Add)
	w.strings('u', &m.Remove)
	w.position('f', &m.From)
	w.strings('h', &m.Held)
}

func (m *Position) fields(w *wire) {
	wireUint(w, 'e', &m.Epoch, false)
	wireUint(w, 'o', &m.Offset, false)
}

func (m *Write) fields(w *wire) {
	wireUint(w, 'i', &m.ID, false)
	w.str('r', &m.Room, false)
	wireUint(w, 'k', &m.Op, false)
	w.str('o', &m.Object, false)
	w.str('y', &m.Kind, true)
	w.str('a', &m.Area, true)
	wireList(w, 'f', &m.Fields)
	w.strings('x', &m.Delete)
	wireUint(w, 'v', &m.Expect, true)
	w.str('p', &m.OpID, true)
}

func (m *Object) fields(w *wire) {
	w.str('r', &m.Room, false)
	wireUint(w, 'e', &m.Event, false)
	w.str('o', &m.Object, false)
	w.str('y', &m.Kind, true)
	w.str('a', &m.Area, true)
	wireUint(w, 'v', &m.Version, true)
	wireList(w, 'f', &m.Fields)
	w.strings('x', &m.Delete)
	wireUint(w, 's', &m.Offset, true)
}

func (m *Meet) fields(w *wire) {
	wireUint(w, 'i', &m.ID, false)
	w.str('r', &m.Room, true)
	w.str('e', &m.Event, false)
	w.str('a', &m.Actor, false)
	w.str('p', &m.Payload, true)
	wireUint(w, 'n', &m.Mates, false)
	w.stringMap('l', &m.Labels, true)
	w.str('s', &m.Selector, true)
	wireUint(w, 'o', &m.TimeoutMS, true)
}

func (m *Cancel) fields(w *wire) { wireUint(w, 'i', &m.ID, false) }

func (m *Met) fields(w *wire) {
	wireUint(w, 'i', &m.ID, false)
	w.stringMap('p', &m.Payloads, false)
}

func (m *Send) fields(w *wire) {
	wireUint(w, 'i', &m.ID, true)
	w.str('r', &m.Room, false)
	w.str('o', &m.To, true)
	w.str('a', &m.Area, true)
	w.str('k', &m.Topic, false)
	w.raw('d', &m.Data)
}

func (m *Sent) fields(w *wire) {
	w.str('r', &m.Room, false)
	w.str('f', &m.From, false)
	w.boolean('o', &m.Direct, true)
	w.str('a', &m.Area, true)
	w.str('k', &m.Topic, false)
	w.raw('d', &m.Data)
}
