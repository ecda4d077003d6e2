package bridge

import (
	"errors"

	"github.com/synkhq/synk/internal/wraperr"
	"github.com/synkhq/synk/protocol"
)

// ErrEntries is wrapped by the errors of [DecodeEntries].
var ErrEntries = errors.New("synk: entries must be a plain object")

// DecodeEntries splits b, one msgpack map with string keys as synk.js
// encodes a presence or an object's fields, into its keys and raw values
// ([protocol.RawMessage]), with [protocol.DecodeEntryMap]: the whole is
// checked (values nesting at most protocol.MaxDepth), and a key given
// twice is an error. The client checks keys and sizes against the
// server's limits when it encodes them.
func DecodeEntries(b []byte) (map[string]any, error) {
	m, err := protocol.DecodeEntryMap(b)
	if err != nil {
		return nil, wraperr.Detail(ErrEntries, err.Error())
	}
	out := make(map[string]any, len(m))
	for _, e := range m {
		out[e.Key] = e.Value
	}
	return out, nil
}
