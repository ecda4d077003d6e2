package e2e

import (
	"net"
	"sync"
	"sync/atomic"
	"testing"
)

// proxy is a TCP relay on loopback between clients and a server, which a
// test can cut (close every relayed connection) or black-hole (keep the
// connections open but drop everything, like a dead network path).
type proxy struct {
	ln      net.Listener
	wg      sync.WaitGroup
	cutNext atomic.Bool // cut a link right after it relays bytes to the server

	mu     sync.Mutex // Protects the following.
	target string
	links  map[*link]struct{}
	refuse bool // close new connections at once: the server looks down
}

type link struct {
	a, b     net.Conn
	mu       sync.Mutex // Protects dead and orphaned.
	dead     bool
	orphaned bool // its client side is closed, its server side open (orphan)
}

func (l *link) isDead() bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.dead
}

func newProxy(t *testing.T, target string) *proxy {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &proxy{ln: ln, target: target, links: make(map[*link]struct{})}
	p.wg.Add(1)
	go p.accept()
	t.Cleanup(p.close)
	return p
}

func (p *proxy) addr() string { return p.ln.Addr().String() }

func (p *proxy) accept() {
	defer p.wg.Done()
	for {
		a, err := p.ln.Accept()
		if err != nil {
			return
		}
		p.mu.Lock()
		refuse, target := p.refuse, p.target
		p.mu.Unlock()
		if refuse {
			a.Close()
			continue
		}
		b, err := net.Dial("tcp", target)
		if err != nil {
			a.Close()
			continue
		}
		l := &link{a: a, b: b}
		p.mu.Lock()
		p.links[l] = struct{}{}
		p.mu.Unlock()
		p.wg.Add(2)
		go p.pipe(l, a, b, false)
		go p.pipe(l, b, a, true)
	}
}

// pipe copies src to dst until either closes; once the link is dead it
// reads and drops. toServer marks the client-to-server direction.
func (p *proxy) pipe(l *link, dst, src net.Conn, toServer bool) {
	defer p.wg.Done()
	defer func() {
		l.mu.Lock()
		orphaned, dead := l.orphaned, l.dead
		l.mu.Unlock()
		switch {
		case toServer && (orphaned || dead):
			// An orphaned link's server side stays open (orphan), and so
			// does a dead one's when its client gives up: on a dead path
			// the server hears nothing, not even the close.
			src.Close()
			return // the link stays, for cut (or the server) to close its server side
		case !orphaned:
			dst.Close()
			src.Close()
		}
		p.mu.Lock()
		delete(p.links, l)
		p.mu.Unlock()
	}()
	buf := make([]byte, 32<<10)
	for {
		n, err := src.Read(buf)
		if n > 0 && !l.isDead() {
			if _, werr := dst.Write(buf[:n]); werr != nil {
				return
			}
			if toServer && p.cutNext.CompareAndSwap(true, false) {
				return // the server has the bytes; its answer is lost
			}
		}
		if err != nil {
			return
		}
	}
}

// cut closes every relayed connection.
func (p *proxy) cut() {
	p.mu.Lock()
	defer p.mu.Unlock()
	for l := range p.links {
		l.a.Close()
		l.b.Close()
	}
}

// cutAfterNextSend cuts the next link to relay bytes from its client to
// the server, right after it does: a request arrives, its answer is lost.
func (p *proxy) cutAfterNextSend() { p.cutNext.Store(true) }

// down cuts every relayed connection and refuses new ones until up.
func (p *proxy) down() {
	p.mu.Lock()
	p.refuse = true
	p.mu.Unlock()
	p.cut()
}

// retarget sends new connections to target (another server).
func (p *proxy) retarget(target string) {
	p.mu.Lock()
	p.target = target
	p.mu.Unlock()
}

// up lets connections through again.
func (p *proxy) up() {
	p.mu.Lock()
	p.refuse = false
	p.mu.Unlock()
}

// blackhole makes every current connection drop all traffic from now on
// without closing. New connections relay normally.
func (p *proxy) blackhole() {
	p.mu.Lock()
	defer p.mu.Unlock()
	for l := range p.links {
		l.mu.Lock()
		l.dead = true
		l.mu.Unlock()
	}
}

// orphan closes every current connection on the client's side only: the
// client sees it end at once, while the server keeps its side open and
// hears nothing, until its timeout.
func (p *proxy) orphan() {
	p.mu.Lock()
	defer p.mu.Unlock()
	for l := range p.links {
		l.mu.Lock()
		l.dead, l.orphaned = true, true
		l.mu.Unlock()
		l.a.Close()
	}
}

func (p *proxy) close() {
	p.ln.Close()
	p.cut()
	p.wg.Wait()
}
