//go:build synkbrowser

package client

import (
	"errors"

	"github.com/synkhq/synk/protocol"
)

// errNotEncoded is returned for a value that is not msgpack already.
var errNotEncoded = errors.New("the browser build takes values encoded as msgpack (protocol.RawMessage) only")

// encodeValue takes v as it is if it is a [protocol.RawMessage], as
// synk.js hands every value over; an empty one is nil. The browser bundle
// links no msgpack library to encode other Go values (and [Member] and [Object]
// have no Get method here), which keeps ~100 KB of brotli out of every page.
func encodeValue(v any) ([]byte, error) {
	b, ok := v.(protocol.RawMessage)
	if !ok {
		return nil, errNotEncoded
	}
	if len(b) == 0 {
		return []byte{0xc0}, nil
	}
	return b, nil
}
