package attack

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"time"

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
	for i := range a.Objects {
		wr := blobCreate(w.id(), "flood", fmt.Sprintf("o%04d", i), a.ObjectSize)
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

// blobCreate is a Write (request id) creating object id of about size
// bytes in area A of room, in fields under the 16 KiB value limit.
func blobCreate(id uint32, room, object string, size int) *protocol.Write {
	const field = 15 << 10
	w := &protocol.Write{ID: id, Room: room, Op: protocol.OpCreate, Object: object, Kind: "blob", Area: "A"}
	for f := 0; f*field < size; f++ {
		v, _ := msgpack.Marshal(strings.Repeat("x", min(field, size-f*field)))
		w.Fields = append(w.Fields, protocol.Entry{Key: fmt.Sprint("f", f), Value: v})
	}
	return w
}

// ChunkStall: Conns uploads of a chunk announce Declared bytes, send Sent,
// and stall (issue 15.2: the server reserved the declared size up front
// and had no deadline; a few hundred got it OOM-killed).
// Reading is how many the server may still be reading when the attack
// ends (its bodies per address); it must have answered and closed the
// others.
type ChunkStall struct {
	Conns          int
	Declared, Sent int
	Reading        int
}

func (a ChunkStall) Name() string {
	return fmt.Sprintf("stalled chunk uploads (%d × %.0f MiB declared)", a.Conns, mb(int64(a.Declared)))
}

func (a ChunkStall) Setup(context.Context, *Target) error { return nil }

func (a ChunkStall) Run(ctx context.Context, t *Target) error {
	sum := sha256.Sum256([]byte("never sent"))
	path := "/synk/stall/chunks/" + hex.EncodeToString(sum[:])
	return stall(ctx, t, a.Conns, "PUT", path, a.Declared, a.Sent, a.Reading)
}

// SlowBodies: Conns requests to Path send all but the last byte of a body
// of Size bytes, and stall (issue 15.4: 3,000 held 470–600 MB for minutes,
// on a server with -auth-key that had not checked their token yet).
// Reading is as in ChunkStall.
type SlowBodies struct {
	Conns, Size int
	Path        string
	Reading     int
}

func (a SlowBodies) Name() string {
	return fmt.Sprintf("slow bodies (%d × %d KB to %s)", a.Conns, a.Size>>10, a.Path)
}

func (a SlowBodies) Setup(context.Context, *Target) error { return nil }

func (a SlowBodies) Run(ctx context.Context, t *Target) error {
	return stall(ctx, t, a.Conns, "POST", a.Path, a.Size, a.Size-1, a.Reading)
}

// stall opens n connections, each sending a request with a body of
// declared bytes of which it sends sent, and holds them until ctx ends
// (on a busy machine ctx may end before all are open: it goes on with
// those). Then all but reading of them must have been answered and closed
// by the server (a refused request must not hold its connection), or it
// returns an error wrapping ErrBound.
func stall(ctx context.Context, t *Target, n int, method, path string, declared, sent, reading int) error {
	var d net.Dialer
	body := []byte(strings.Repeat("a", sent))
	conns := make([]net.Conn, 0, n)
	defer func() {
		for _, c := range conns {
			c.Close()
		}
	}()
	for range n {
		c, err := d.DialContext(ctx, "tcp", t.Addr)
		if err != nil && ranOut(ctx, err) {
			break
		}
		if err != nil {
			return err
		}
		conns = append(conns, c)
		if method == "" {
			continue
		}
		head := fmt.Sprintf("%s %s HTTP/1.1\r\nHost: %s\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n", method, path, t.Addr, declared)
		if _, err := c.Write(append([]byte(head), body...)); err != nil {
			continue // the server closed it: fine
		}
	}
	hold(ctx)
	if method == "" {
		return nil
	}
	if closed := closedByPeer(conns); closed < len(conns)-reading {
		return fmt.Errorf("%w: the server closed %d of %d stalled connections, want all but %d", ErrBound, closed, len(conns), reading)
	}
	return nil
}

// closedByPeer counts the connections whose peer closed them: their
// reads end (after any answer) within a second of being tried. (Each
// reader sets its own deadline: a reader scheduled late on a busy machine
// must not find a past one, which fails even a read that has data.)
func closedByPeer(conns []net.Conn) int {
	var n atomic.Int32
	var wg sync.WaitGroup
	for _, c := range conns {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c.SetReadDeadline(time.Now().Add(time.Second))
			buf := make([]byte, 512)
			for {
				if _, err := c.Read(buf); err != nil {
					var ne net.Error
					if !errors.As(err, &ne) || !ne.Timeout() {
						n.Add(1) // EOF or reset: closed
					}
					return
				}
			}
		}()
	}
	wg.Wait()
	return int(n.Load())
}

// IdleConns: Conns TCP connections that send nothing: what open
// connections cost the server in themselves, to compare the others with.
type IdleConns struct{ Conns int }

func (a IdleConns) Name() string { return fmt.Sprintf("idle connections (%d)", a.Conns) }

func (a IdleConns) Setup(context.Context, *Target) error { return nil }

func (a IdleConns) Run(ctx context.Context, t *Target) error {
	return stall(ctx, t, a.Conns, "", "", 0, 0, 0)
}

// PresenceFlood: Conns connections from one address join Rooms rooms each
// and fill their presence with values of ValueSize bytes, Sets times
// (issue 15.6: 100 × 16 rooms held 2.4 GB). They never read.
type PresenceFlood struct {
	Conns, Rooms, Sets, ValueSize int
}

func (a PresenceFlood) Name() string {
	return fmt.Sprintf("presence flood (%d conns × %d rooms)", a.Conns, a.Rooms)
}

func (a PresenceFlood) Setup(context.Context, *Target) error { return nil }

func (a PresenceFlood) Run(ctx context.Context, t *Target) error {
	var wg sync.WaitGroup
	defer wg.Wait()
	v, _ := msgpack.Marshal(strings.Repeat("x", a.ValueSize))
	entries := func(set int) []protocol.Entry {
		var es []protocol.Entry
		for k := 0; k*(a.ValueSize+16) < 60<<10; k++ { // a frame under 64 KiB
			es = append(es, protocol.Entry{Key: fmt.Sprintf("s%dk%d", set, k), Value: v})
		}
		return es
	}
	for i := range a.Conns {
		p, err := dial(ctx, t.WS(), fmt.Sprintf("flood%d", i), t.Token)
		if err != nil {
			return err
		}
		defer p.ws.CloseNow()
		wg.Add(1)
		go func() {
			defer wg.Done()
			for r := range a.Rooms {
				room := fmt.Sprintf("flood%d", r)
				if p.send(ctx, &protocol.Join{ID: p.id(), Room: room, Entries: entries(0)}) != nil {
					return
				}
				for s := 1; s <= a.Sets; s++ {
					if p.send(ctx, &protocol.Set{ID: p.id(), Room: room, Entries: entries(s)}) != nil {
						return
					}
				}
			}
		}()
	}
	return hold(ctx)
}

// ObjectFlood: Conns writers create objects of ObjectSize bytes in rooms
// of their own until refused, Objects each at most (issue 15.6: 3 GB of
// objects in 16 s). They read their answers.
type ObjectFlood struct {
	Conns, Objects, ObjectSize int
}

func (a ObjectFlood) Name() string {
	return fmt.Sprintf("object flood (%d writers × %d objects of %d KB)", a.Conns, a.Objects, a.ObjectSize>>10)
}

func (a ObjectFlood) Setup(context.Context, *Target) error { return nil }

func (a ObjectFlood) Run(ctx context.Context, t *Target) error {
	var wg sync.WaitGroup
	defer wg.Wait()
	for i := range a.Conns {
		p, err := dial(ctx, t.WS(), fmt.Sprintf("writer%d", i), t.Token)
		if err != nil {
			return err
		}
		defer p.ws.CloseNow()
		room := fmt.Sprintf("objects%d", i)
		if _, err := p.join(ctx, room, false); err != nil {
			return err
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			for n := range a.Objects {
				w := blobCreate(p.id(), room, fmt.Sprint(n), a.ObjectSize)
				if _, err := p.request(ctx, w, w.ID); err != nil {
					return // refused: the budget holds (or the attack's time is up)
				}
			}
		}()
	}
	return hold(ctx)
}

// PosterFlood: Workers HTTP clients post bodies of Size bytes to new
// rooms, Posts each at most (issue 15.7: 9,639 posts in 20 s, 830 MB).
type PosterFlood struct {
	Workers, Posts, Size int
}

func (a PosterFlood) Name() string {
	return fmt.Sprintf("HTTP posters (%d workers × %d posts of %d KB)", a.Workers, a.Posts, a.Size>>10)
}

func (a PosterFlood) Setup(context.Context, *Target) error { return nil }

func (a PosterFlood) Run(ctx context.Context, t *Target) error {
	var wg sync.WaitGroup
	defer wg.Wait()
	body := fmt.Sprintf(`{"c":"poster","d":[{"k":"v","v":%q}]}`, strings.Repeat("x", a.Size-40))
	for w := range a.Workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			hc := &http.Client{}
			defer hc.CloseIdleConnections()
			for n := 0; n < a.Posts && ctx.Err() == nil; n++ {
				req, _ := http.NewRequestWithContext(ctx, "POST", fmt.Sprintf("%s/synk/poster-%d-%d", t.HTTP(), w, n), strings.NewReader(body))
				resp, err := hc.Do(req)
				if err != nil {
					return
				}
				io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
			}
		}()
	}
	return hold(ctx)
}

// MeetFlood: Fillers connections leave 16 meet requests each pending,
// with a selector nothing matches, over Events events; then Hammers
// connections each send Rate meets a second to one of those events,
// cancelling each (issue 15.8: with 10,000 pending in one event, every
// arrival tested them all, and 8 connections at 180 a second kept a core
// busy). The fillers never read; the hammers read their answers.
type MeetFlood struct {
	Fillers, Events, Hammers, Rate int
}

func (a MeetFlood) Name() string {
	return fmt.Sprintf("meet flood (%d pending, %d × %d/s)", a.Fillers*16, a.Hammers, a.Rate)
}

func (a MeetFlood) Setup(ctx context.Context, t *Target) error { return nil }

func (a MeetFlood) Run(ctx context.Context, t *Target) error {
	for i := range a.Fillers {
		p, err := dial(ctx, t.WS(), "", t.Token)
		if err != nil {
			return err
		}
		defer p.ws.CloseNow()
		for j := range 16 {
			m := &protocol.Meet{ID: p.id(), Event: fmt.Sprint("e", (i*16+j)%a.Events), Actor: fmt.Sprintf("f%d-%d", i, j),
				Mates: 1, Selector: "team=nobody", TimeoutMS: 60000}
			if err := p.send(ctx, m); err != nil {
				return err
			}
		}
	}
	var wg sync.WaitGroup
	defer wg.Wait()
	for i := range a.Hammers {
		p, err := dial(ctx, t.WS(), "", t.Token)
		if err != nil {
			return err
		}
		defer p.ws.CloseNow()
		wg.Add(1)
		go func() {
			defer wg.Done()
			tick := time.NewTicker(time.Second / time.Duration(a.Rate))
			defer tick.Stop()
			for n := 0; ; n++ {
				select {
				case <-ctx.Done():
					return
				case <-tick.C:
				}
				m := &protocol.Meet{ID: p.id(), Event: "e0", Actor: fmt.Sprintf("h%d-%d", i, n), Mates: 1, Selector: "team=nobody", TimeoutMS: 60000}
				if p.send(ctx, m) != nil || p.send(ctx, &protocol.Cancel{ID: m.ID}) != nil {
					return
				}
				if _, err := p.request(ctx, nil, m.ID); err != nil && protocol.ErrorCode(err) == 0 {
					return // the connection, not the meet, failed
				}
			}
		}()
	}
	return hold(ctx)
}

// RoomFill: Members members of one room fill their presence, Keys values
// of 16 KB each (issue 15.5: 20 × 64 × 16 KB made the room's snapshot
// larger than a client reads, so that nobody could join it any more).
// Then a newcomer must still be able to join: Run fails if it cannot.
type RoomFill struct {
	Members, Keys int
}

func (a RoomFill) Name() string {
	return fmt.Sprintf("room fill (%d members × %d × 16 KB)", a.Members, a.Keys)
}

func (a RoomFill) Setup(context.Context, *Target) error { return nil }

func (a RoomFill) Run(ctx context.Context, t *Target) error {
	v, _ := msgpack.Marshal(strings.Repeat("x", 16<<10-8))
	for i := range a.Members {
		p, err := dial(ctx, t.WS(), fmt.Sprintf("filler%d", i), t.Token)
		if err != nil {
			return err
		}
		defer p.ws.CloseNow()
		if _, err := p.join(ctx, "full", false); err != nil {
			return err
		}
		for k := 0; k < a.Keys; k += 3 { // three values a frame, under 64 KiB
			s := &protocol.Set{ID: p.id(), Room: "full"}
			for j := k; j < min(k+3, a.Keys); j++ {
				s.Entries = append(s.Entries, protocol.Entry{Key: fmt.Sprint("k", j), Value: v})
			}
			if _, err := p.request(ctx, s, s.ID); protocol.ErrorCode(err) == protocol.CodeTooMany {
				break // the room is full: this member holds what it has
			} else if err != nil {
				return err
			}
		}
	}
	n, err := dial(ctx, t.WS(), "newcomer", t.Token)
	if err != nil {
		return err
	}
	defer n.ws.CloseNow()
	if _, err := n.join(ctx, "full", true); err != nil {
		return fmt.Errorf("a newcomer cannot join the filled room: %w", err)
	}
	return hold(ctx)
}
