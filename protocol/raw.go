//go:build !synkbrowser

package protocol

import "github.com/vmihailenco/msgpack/v5"

// RawMessage is one msgpack value kept as its bytes: the msgpack library's
// type, so that values pass to and from it as they are. The browser
// bundle, built with -tags synkbrowser, links no msgpack library: there
// it is a []byte of its own (raw_browser.go).
type RawMessage = msgpack.RawMessage
