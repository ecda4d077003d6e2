//go:build synkbrowser

package protocol

// RawMessage is one msgpack value kept as its bytes. In the browser
// bundle (-tags synkbrowser) it is not the msgpack library's type, whose
// package would add ~100 KB of brotli to the bundle however little of it
// is used: its init links the whole reflective codec.
type RawMessage []byte
