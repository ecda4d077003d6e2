//go:build js

package server

import "errors"

// openStore: under js/wasm there is no file system to keep a bbolt file
// in; an edge room stores through its Durable Object instead.
func openStore(string) (backend, bool, error) {
	return nil, false, errors.New("server: Options.DataDir is not supported under js/wasm")
}
