//go:build !synkbrowser

package protocol

import (
	"github.com/vmihailenco/msgpack/v5"
	"github.com/vmihailenco/msgpack/v5/msgpcode"
)

// The msgpack library's own encoding of an [EntryMap], for code that
// encodes frames with it (the codec here does not: wire.go).

// EncodeMsgpack implements msgpack.CustomEncoder.
func (m EntryMap) EncodeMsgpack(e *msgpack.Encoder) error {
	if err := e.EncodeMapLen(len(m)); err != nil {
		return err
	}
	for _, x := range m {
		if err := e.EncodeString(x.Key); err != nil {
			return err
		}
		if err := e.Encode(x.Value); err != nil {
			return err
		}
	}
	return nil
}

// DecodeMsgpack implements msgpack.CustomDecoder.
func (m *EntryMap) DecodeMsgpack(d *msgpack.Decoder) error {
	c, err := d.PeekCode()
	if err != nil {
		return err
	}
	if !msgpcode.IsFixedMap(c) && c != msgpcode.Map16 && c != msgpcode.Map32 {
		return d.Decode((*[]Entry)(m))
	}
	n, err := d.DecodeMapLen()
	if err != nil {
		return err
	}
	out := make(EntryMap, 0, n)
	for range n {
		var x Entry
		if x.Key, err = d.DecodeString(); err != nil {
			return err
		}
		if x.Value, err = d.DecodeRaw(); err != nil {
			return err
		}
		if len(x.Value) == 1 && x.Value[0] == msgpcode.Nil {
			x.Value = nil // as a nil RawMessage decodes
		}
		out = append(out, x)
	}
	*m = out
	return nil
}
