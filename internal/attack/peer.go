package attack

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/coder/websocket"
	"github.com/synkhq/synk/protocol"
	"github.com/vmihailenco/msgpack/v5"
)

// peer is a raw protocol client: it sends what an attacker wants, and
// reads only when told to. Every frame comes in a message of its own (it
// does not ask for batches).
type peer struct {
	ws     *websocket.Conn
	nextID uint32
}

func dial(ctx context.Context, url, client, token string) (*peer, error) {
	ws, _, err := websocket.Dial(ctx, url, nil)
	if err != nil {
		return nil, err
	}
	ws.SetReadLimit(16 << 20) // as synk's clients
	p := &peer{ws: ws}
	if err := p.send(ctx, &protocol.Hello{Version: protocol.Version, Client: client, Token: token}); err != nil {
		ws.CloseNow()
		return nil, err
	}
	if _, err := expect[*protocol.Welcome](ctx, p); err != nil {
		ws.CloseNow()
		return nil, err
	}
	return p, nil
}

func (p *peer) id() uint32 { p.nextID++; return p.nextID }

func (p *peer) send(ctx context.Context, m protocol.Message) error {
	b, err := protocol.Encode(m)
	if err != nil {
		return err
	}
	return p.ws.Write(ctx, websocket.MessageBinary, b)
}

// recv returns the next frame that is not a Ping, answering Pings.
func (p *peer) recv(ctx context.Context) (protocol.Message, error) {
	for {
		_, b, err := p.ws.Read(ctx)
		if err != nil {
			return nil, err
		}
		m, err := protocol.Decode(b)
		if err != nil {
			return nil, err
		}
		if ping, ok := m.(*protocol.Ping); ok {
			if err := p.send(ctx, &protocol.Pong{Nonce: ping.Nonce}); err != nil {
				return nil, err
			}
			continue
		}
		return m, nil
	}
}

// expect returns the next frame, or an error unless it is a T.
func expect[T protocol.Message](ctx context.Context, p *peer) (T, error) {
	var zero T
	m, err := p.recv(ctx)
	if err != nil {
		return zero, err
	}
	if e, ok := m.(*protocol.Error); ok {
		return zero, e
	}
	v, ok := m.(T)
	if !ok {
		return zero, fmt.Errorf("attack: got %T, want %T", m, zero)
	}
	return v, nil
}

// answer sends m (its ID set by the caller; nil: sent already) and
// returns the T that answers id, or the Error that does, skipping other
// frames.
func answer[T interface {
	protocol.Message
	*protocol.OK | *protocol.Joined
}](ctx context.Context, p *peer, m protocol.Message, id uint32) (T, error) {
	if m != nil {
		if err := p.send(ctx, m); err != nil {
			return nil, err
		}
	}
	for {
		m, err := p.recv(ctx)
		if err != nil {
			return nil, err
		}
		if e, ok := m.(*protocol.Error); ok && e.ID == id {
			return nil, e
		}
		if v, ok := m.(T); ok && answers(v, id) {
			return v, nil
		}
	}
}

// answers reports whether m answers request id.
func answers(m protocol.Message, id uint32) bool {
	switch m := m.(type) {
	case *protocol.OK:
		return m.ID == id
	case *protocol.Joined:
		return m.ID == id && !m.More
	}
	return false
}

// request sends m and waits for the OK that answers id (see answer).
func (p *peer) request(ctx context.Context, m protocol.Message, id uint32) (*protocol.OK, error) {
	return answer[*protocol.OK](ctx, p, m, id)
}

func (p *peer) join(ctx context.Context, room string, observer bool, entries ...protocol.Entry) (*protocol.Joined, error) {
	id := p.id()
	return answer[*protocol.Joined](ctx, p, &protocol.Join{ID: id, Room: room, Observer: observer, Entries: entries}, id)
}

// Probe is a well-behaved client that measures round trips (a Set and its
// OK, through the server's room lock) while an attack runs.
type Probe struct {
	stop chan struct{}
	done chan struct{}

	mu    sync.Mutex // Protects the following.
	max   time.Duration
	count int
	err   error
}

// StartProbe joins a room of its own on t and does a round trip every
// 20 ms until Stop.
func StartProbe(ctx context.Context, t *Target) (*Probe, error) {
	p, err := dial(ctx, t.WS(), "probe", t.Token)
	if err != nil {
		return nil, err
	}
	if _, err := p.join(ctx, "probe", false); err != nil {
		p.ws.CloseNow()
		return nil, err
	}
	pr := &Probe{stop: make(chan struct{}), done: make(chan struct{})}
	go pr.run(p)
	return pr, nil
}

func (pr *Probe) run(p *peer) {
	defer close(pr.done)
	defer p.ws.CloseNow()
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	for n := 0; ; n++ {
		select {
		case <-pr.stop:
			return
		case <-tick.C:
		}
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		start := time.Now()
		id := p.id()
		v, _ := msgpack.Marshal(n)
		_, err := p.request(ctx, &protocol.Set{ID: id, Room: "probe", Entries: []protocol.Entry{{Key: "n", Value: v}}}, id)
		cancel()
		rtt := time.Since(start)
		pr.mu.Lock()
		pr.max = max(pr.max, rtt)
		pr.count++
		if err != nil && pr.err == nil {
			pr.err = err
		}
		pr.mu.Unlock()
		if err != nil {
			return
		}
	}
}

// Stop ends the probe and returns its longest round trip, how many it
// made, and the first error, if any.
func (pr *Probe) Stop() (longest time.Duration, count int, err error) {
	close(pr.stop)
	<-pr.done
	pr.mu.Lock()
	defer pr.mu.Unlock()
	return pr.max, pr.count, pr.err
}
