package server

import "github.com/synkhq/synk/internal/store"

// What a server stores of its rooms (internal/store), by the names the
// server's code uses.
type (
	backend  = store.Backend
	record   = store.Record
	change   = store.Change
	roomMeta = store.Meta
)

// decodeChecked decodes b, a stored value or a cluster peer's message,
// into v once it is one well-formed msgpack value (store.DecodeChecked).
func decodeChecked(b []byte, v any) error { return store.DecodeChecked(b, v) }

// newEpoch returns a random epoch, never 0.
func newEpoch() uint64 { return store.NewEpoch() }
