// Package relay is a TCP relay on loopback for the load tools: it can
// cut every connection through it (new ones go through at once), and it
// counts the bytes each connection received from the target, on the
// wire.
package relay

import (
	"net"
	"sync"
	"sync/atomic"
)

// Relay passes connections to its address on to a target.
type Relay struct {
	ln     net.Listener
	target string
	wg     sync.WaitGroup

	sent atomic.Int64 // bytes every connection sent to the target

	mu       sync.Mutex // Protects links and received.
	links    map[net.Conn]net.Conn
	received []*atomic.Int64 // per connection accepted, in order
}

// Start listens on 127.0.0.1 for connections to relay to target
// ("host:port").
func Start(target string) (*Relay, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	rl := &Relay{ln: ln, target: target, links: make(map[net.Conn]net.Conn)}
	rl.wg.Add(1)
	go rl.accept()
	return rl, nil
}

// Addr is the relay's address, host:port.
func (rl *Relay) Addr() string { return rl.ln.Addr().String() }

func (rl *Relay) accept() {
	defer rl.wg.Done()
	for {
		a, err := rl.ln.Accept()
		if err != nil {
			return
		}
		b, err := net.Dial("tcp", rl.target)
		if err != nil {
			a.Close()
			continue
		}
		n := new(atomic.Int64)
		rl.mu.Lock()
		rl.links[a] = b
		rl.received = append(rl.received, n)
		rl.mu.Unlock()
		rl.wg.Add(2)
		go rl.pipe(a, b, n)        // the target to the connection: received
		go rl.pipe(b, a, &rl.sent) // the connection to the target
	}
}

// pipe copies src to dst until either ends, counting into n if not nil.
func (rl *Relay) pipe(dst, src net.Conn, n *atomic.Int64) {
	defer rl.wg.Done()
	buf := make([]byte, 32<<10)
	for {
		k, err := src.Read(buf)
		if k > 0 {
			// Counted before they go on: whoever got them sees them
			// counted.
			if n != nil {
				n.Add(int64(k))
			}
			if _, werr := dst.Write(buf[:k]); werr != nil {
				break
			}
		}
		if err != nil {
			break
		}
	}
	dst.Close()
	src.Close()
	rl.mu.Lock()
	delete(rl.links, src)
	delete(rl.links, dst)
	rl.mu.Unlock()
}

// Sent returns the bytes all connections have sent to the target so far.
func (rl *Relay) Sent() int64 { return rl.sent.Load() }

// Accepted is the number of connections accepted so far.
func (rl *Relay) Accepted() int {
	rl.mu.Lock()
	defer rl.mu.Unlock()
	return len(rl.received)
}

// Received returns the bytes that connections from to from+n-1 (in the
// order accepted) have received from the target so far.
func (rl *Relay) Received(from, n int) []int64 {
	rl.mu.Lock()
	defer rl.mu.Unlock()
	out := make([]int64, n)
	for i := range out {
		out[i] = rl.received[from+i].Load()
	}
	return out
}

// Cut closes every connection through the relay.
func (rl *Relay) Cut() {
	rl.mu.Lock()
	defer rl.mu.Unlock()
	for a, b := range rl.links {
		a.Close()
		b.Close()
	}
}

// Close stops the relay and closes its connections.
func (rl *Relay) Close() {
	rl.ln.Close()
	rl.Cut()
	rl.wg.Wait()
}
