package bridge

import (
	"bytes"
	"errors"
	"fmt"

	"github.com/synkhq/synk/protocol"
	"github.com/vmihailenco/msgpack/v5"
)

// ErrEntries is wrapped by the errors of [DecodeEntries].
var ErrEntries = errors.New("synk: entries must be a plain object")

// DecodeEntries splits b, one msgpack map with string keys as synk.js
// encodes a presence or an object's fields, into its keys and raw values.
// The whole is checked with [protocol.Check] first (values nesting at most
// protocol.MaxDepth), then read with the msgpack library; each value is
// kept as its raw bytes, and a key given twice is an error. The client checks keys and sizes against the
// server's limits when it encodes them.
func DecodeEntries(b []byte) (map[string]any, error) {
	// The map is depth 1: its values may nest protocol.MaxDepth deep.
	if err := protocol.Check(b, protocol.MaxDepth+1); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrEntries, err)
	}
	d := msgpack.NewDecoder(bytes.NewReader(b))
	n, err := d.DecodeMapLen()
	if err != nil || n < 0 {
		return nil, fmt.Errorf("%w: not a msgpack map", ErrEntries)
	}
	out := make(map[string]any, n)
	for range n {
		k, err := d.DecodeString()
		if err != nil {
			return nil, fmt.Errorf("%w: a key is not a string", ErrEntries)
		}
		if _, dup := out[k]; dup {
			return nil, fmt.Errorf("%w: key %q twice", ErrEntries, k)
		}
		v, err := d.DecodeRaw()
		if err != nil {
			return nil, fmt.Errorf("%w: value of %q: %v", ErrEntries, k, err)
		}
		out[k] = v
	}
	return out, nil
}
