//go:build !js

package client

import (
	"context"
	"errors"
	"path/filepath"
	"testing"

	"github.com/synkhq/synk/protocol"
	"github.com/vmihailenco/msgpack/v5"
)

// refusingStore is a FileStore that refuses every Apply while refuse is
// set, as a cancelled context or a full disk would.
type refusingStore struct {
	*FileStore
	refuse bool
}

func (s *refusingStore) Apply(ctx context.Context, set map[string][]byte, del []string) error {
	if s.refuse {
		return errors.New("refused")
	}
	return s.FileStore.Apply(ctx, set, del)
}

// TestFlush_refusedApplyOwesAll: what a refused flush carried (an
// object's deletion, the position, an answered write to forget) goes with
// the next flush, so the Store never keeps an object the room deleted.
func TestFlush_refusedApplyOwesAll(t *testing.T) {
	t.Parallel()
	fs, err := OpenFile(filepath.Join(t.TempDir(), "store"))
	if err != nil {
		t.Fatal(err)
	}
	defer fs.Close()
	st := &refusingStore{FileStore: fs}
	c := &Conn{opts: DialOptions{Store: st}, persist: make(map[string]*Room)}
	r := &Room{c: c, name: "w"}
	c.persist["w"] = r
	r.objs.init()
	r.objs.byID["a"] = &Object{ID: "a", Kind: "k", Area: "A", Version: 1, Fields: map[string]msgpack.RawMessage{}}
	r.objs.dirty["a"] = true
	r.objs.pos = protocol.Position{Epoch: 9, Offset: 1}
	r.objs.metaDirty = true
	if err := st.Apply(t.Context(), map[string][]byte{writeKey("w", 7): {0xc0}}, nil); err != nil {
		t.Fatal(err)
	}
	if err := c.flush(t.Context()); err != nil {
		t.Fatal(err)
	}

	delete(r.objs.byID, "a") // the room deleted it, at offset 2
	r.objs.dirty["a"] = true
	r.objs.pos.Offset = 2
	r.objs.metaDirty = true
	r.answered = append(r.answered, 7)
	st.refuse = true
	if err := c.flush(t.Context()); err == nil {
		t.Fatal("flush with a refusing store: no error")
	}
	st.refuse = false
	if err := c.flush(t.Context()); err != nil {
		t.Fatal(err)
	}
	kv, err := fs.Load(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	rooms, _, err := parseState(kv)
	if err != nil {
		t.Fatal(err)
	}
	if s := rooms["w"]; s == nil || len(s.objects) != 0 || len(s.writes) != 0 || s.room.Offset != 2 {
		t.Fatalf("stored after the retry: %+v, want no object, no write, offset 2", s)
	}
}
