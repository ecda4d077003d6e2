//go:build !js

package server

import "github.com/synkhq/synk/internal/store"

// openStore opens the bbolt store in dir (store.Open), and reports
// whether the last server to use it stopped cleanly.
func openStore(dir string) (backend, bool, error) {
	st, clean, err := store.Open(dir)
	if err != nil {
		return nil, false, err
	}
	return st, clean, nil
}
