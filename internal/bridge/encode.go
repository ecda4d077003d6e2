// Package bridge is the wire between the browser client's Go half, which
// runs in a Web Worker, and synk.js on the page: the Go side hands events
// over as one msgpack batch per hand-off, shaped as synk.d.ts declares
// them (the page decodes a batch once and builds each event without a
// call into Go), and synk.js sends entries as one msgpack map. Entry and
// field values are copied as the raw msgpack they arrived in: nothing
// here decodes a value or uses reflection.
package bridge

import (
	"encoding/binary"
	"math"
)

// appendMapLen appends a msgpack map header for n pairs.
func appendMapLen(b []byte, n int) []byte { return appendLen(b, n, 0x80, 0xde) }

// appendArrayLen appends a msgpack array header for n items.
func appendArrayLen(b []byte, n int) []byte { return appendLen(b, n, 0x90, 0xdc) }

// appendLen appends the header of a map or array of n: the fix form
// (fix|n) below 16, else code16 or the 32-bit code that follows it.
func appendLen(b []byte, n int, fix, code16 byte) []byte {
	switch {
	case n < 16:
		return append(b, fix|byte(n))
	case n <= math.MaxUint16:
		return append(b, code16, byte(n>>8), byte(n))
	}
	return binary.BigEndian.AppendUint32(append(b, code16+1), uint32(n))
}

// appendStr appends s as a msgpack str.
func appendStr(b []byte, s string) []byte {
	switch n := len(s); {
	case n < 32:
		b = append(b, 0xa0|byte(n))
	case n <= math.MaxUint8:
		b = append(b, 0xd9, byte(n))
	case n <= math.MaxUint16:
		b = append(b, 0xda, byte(n>>8), byte(n))
	default:
		b = binary.BigEndian.AppendUint32(append(b, 0xdb), uint32(n))
	}
	return append(b, s...)
}

// appendUint appends v as the smallest msgpack unsigned integer.
func appendUint(b []byte, v uint64) []byte {
	switch {
	case v < 128:
		return append(b, byte(v))
	case v <= math.MaxUint8:
		return append(b, 0xcc, byte(v))
	case v <= math.MaxUint16:
		return append(b, 0xcd, byte(v>>8), byte(v))
	case v <= math.MaxUint32:
		return binary.BigEndian.AppendUint32(append(b, 0xcc+2), uint32(v))
	}
	return binary.BigEndian.AppendUint64(append(b, 0xcf), v)
}

// appendStrings appends ss as a msgpack array of str.
func appendStrings(b []byte, ss []string) []byte {
	b = appendArrayLen(b, len(ss))
	for _, s := range ss {
		b = appendStr(b, s)
	}
	return b
}

// appendRaw appends raw, one msgpack value as it arrived; an empty one is
// nil.
func appendRaw(b, raw []byte) []byte {
	if len(raw) == 0 {
		return append(b, 0xc0)
	}
	return append(b, raw...)
}

// appendValues appends m as a msgpack map of its raw values.
func appendValues[V ~[]byte](b []byte, m map[string]V) []byte {
	b = appendMapLen(b, len(m))
	for k, v := range m {
		b = appendRaw(appendStr(b, k), v)
	}
	return b
}
