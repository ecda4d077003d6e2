//go:build !synkbrowser

package client

import (
	"errors"
	"strconv"

	"github.com/vmihailenco/msgpack/v5"
)

// The msgpack library encodes and decodes entry values of any Go type. The
// browser bundle, built with -tags synkbrowser, leaves it out
// (value_browser.go): synk.js hands the client values already encoded.

// Get decodes the value of key into v with the msgpack library. It
// returns an error if the member has no such key.
func (m Member) Get(key string, v any) error {
	raw, ok := m.Entries[key]
	if !ok {
		return errors.New("client: " + m.Client + " has no key " + strconv.Quote(key))
	}
	return msgpack.Unmarshal(raw, v)
}

// Get decodes field into v with the msgpack library. It returns an error
// if the object has no such field.
func (o Object) Get(field string, v any) error {
	return Member{Client: o.ID, Entries: o.Fields}.Get(field, v)
}

// encodeValue encodes v with the msgpack library; a [protocol.RawMessage]
// goes as it is.
func encodeValue(v any) ([]byte, error) { return msgpack.Marshal(v) }
