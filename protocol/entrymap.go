package protocol

import (
	"strconv"

	"github.com/synkhq/synk/internal/wraperr"
)

// EntryMap is a list of entries that travels as a msgpack map from key to
// value, in the list's order: 5 bytes smaller per entry than the array of
// {"k","v"} maps that [Entry] lists are elsewhere. A [Set] carries its
// entries this way. Decoding takes either form.
type EntryMap []Entry

// DecodeEntryMap reads b, one msgpack map from string keys to values
// standing alone (as an [EntryMap] travels in a frame). It is checked as
// [Check] checks a frame, values nesting at most [MaxDepth] deep, and a
// key given twice is an error; errors wrap [ErrMalformed]. A nil value
// stays as its byte, 0xc0.
func DecodeEntryMap(b []byte) (EntryMap, error) {
	if err := Check(b, MaxDepth+1); err != nil {
		return nil, err
	}
	r := newReader(b)
	n := r.MapLen()
	out := make(EntryMap, 0, min(n, len(b)))
	seen := make(map[string]bool, min(n, len(b)))
	for ; n > 0 && r.OK; n-- {
		k := r.AnyStr()
		if !r.OK {
			return nil, wraperr.Detail(ErrMalformed, "a key is not a string")
		}
		if seen[k] {
			return nil, wraperr.Detail(ErrMalformed, "key "+strconv.Quote(k)+" twice")
		}
		seen[k] = true
		out = append(out, Entry{Key: k, Value: r.Raw()})
	}
	if !r.OK {
		return nil, wraperr.Detail(ErrMalformed, "not a map")
	}
	return out, nil
}
