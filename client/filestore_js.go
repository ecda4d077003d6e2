package client

import (
	"context"
	"errors"
)

// FileStore is a [Store] in one file. It is not available in a browser.
type FileStore struct{}

var errNoFiles = errors.New("client: no files in a browser; synk.js keeps its Store in IndexedDB")

// OpenFile returns an error in a browser: synk.js keeps its Store in
// IndexedDB.
func OpenFile(path string) (*FileStore, error) { return nil, errNoFiles }

// Load implements [Store].
func (f *FileStore) Load(ctx context.Context) (map[string][]byte, error) { return nil, errNoFiles }

// Apply implements [Store].
func (f *FileStore) Apply(ctx context.Context, set map[string][]byte, del []string) error {
	return errNoFiles
}

// Close does nothing.
func (f *FileStore) Close() error { return nil }
