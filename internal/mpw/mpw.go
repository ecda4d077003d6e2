// Package mpw writes msgpack's basic forms, each in its shortest
// encoding, as the msgpack library writes them with compact integers:
// what protocol's frame codec and the browser bridge's event batches are
// made of, without reflection.
package mpw

import (
	"encoding/binary"
	"math"
)

// AppendMapLen appends a map header for n pairs.
func AppendMapLen(b []byte, n int) []byte { return appendLen(b, n, 0x80, 0xde) }

// AppendArrayLen appends an array header for n items.
func AppendArrayLen(b []byte, n int) []byte { return appendLen(b, n, 0x90, 0xdc) }

// appendLen appends the header of a map or array of n: the fix form
// (fix|n) below 16, else code16 or the 32-bit code that follows it.
func appendLen(b []byte, n int, fix, code16 byte) []byte {
	switch {
	case n < 16:
		return append(b, fix|byte(n))
	case n <= math.MaxUint16:
		return binary.BigEndian.AppendUint16(append(b, code16), uint16(n))
	}
	return binary.BigEndian.AppendUint32(append(b, code16+1), uint32(n))
}

// AppendStr appends s as a str.
func AppendStr(b []byte, s string) []byte {
	switch n := len(s); {
	case n < 32:
		b = append(b, 0xa0|byte(n))
	case n <= math.MaxUint8:
		b = append(b, 0xd9, byte(n))
	case n <= math.MaxUint16:
		b = binary.BigEndian.AppendUint16(append(b, 0xda), uint16(n))
	default:
		b = binary.BigEndian.AppendUint32(append(b, 0xdb), uint32(n))
	}
	return append(b, s...)
}

// AppendUint appends v as the smallest unsigned integer.
func AppendUint(b []byte, v uint64) []byte {
	switch {
	case v <= 0x7f:
		return append(b, byte(v))
	case v <= math.MaxUint8:
		return append(b, 0xcc, byte(v))
	case v <= math.MaxUint16:
		return binary.BigEndian.AppendUint16(append(b, 0xcd), uint16(v))
	case v <= math.MaxUint32:
		return binary.BigEndian.AppendUint32(append(b, 0xce), uint32(v))
	}
	return binary.BigEndian.AppendUint64(append(b, 0xcf), v)
}

// AppendBool appends v.
func AppendBool(b []byte, v bool) []byte {
	if v {
		return append(b, 0xc3)
	}
	return append(b, 0xc2)
}

// AppendRaw appends v, one msgpack value as it is; an empty one is nil.
func AppendRaw(b, v []byte) []byte {
	if len(v) == 0 {
		return append(b, 0xc0)
	}
	return append(b, v...)
}
