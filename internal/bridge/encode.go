// Package bridge is the wire between the browser client's Go half, which
// runs in a Web Worker, and synk.js on the page: the Go side hands events
// over as one msgpack batch per hand-off, shaped as synk.d.ts declares
// them (the page decodes a batch once and builds each event without a
// call into Go), and synk.js sends entries as one msgpack map. Entry and
// field values are copied as the raw msgpack they arrived in: nothing
// here decodes a value or uses reflection.
package bridge

import "github.com/synkhq/synk/internal/mpw"

// appendStrings appends ss as a msgpack array of str.
func appendStrings(b []byte, ss []string) []byte {
	b = mpw.AppendArrayLen(b, len(ss))
	for _, s := range ss {
		b = mpw.AppendStr(b, s)
	}
	return b
}

// appendValues appends m as a msgpack map of its raw values.
func appendValues[V ~[]byte](b []byte, m map[string]V) []byte {
	b = mpw.AppendMapLen(b, len(m))
	for k, v := range m {
		b = mpw.AppendRaw(mpw.AppendStr(b, k), v)
	}
	return b
}
