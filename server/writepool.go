package server

import (
	"runtime"
	"sync"
)

// writePool writes queued frames for every connection whose socket can
// be written without waiting (see frameConn.tryMessage), with at most one
// goroutine per processor instead of one per connection and burst: in
// fan-out, starting and scheduling a writer per subscriber and message
// was a tenth of the server's time (issue 19). Workers only write what a
// socket takes at once, so a client that does not read blocks no one:
// its connection is handed to a writer goroutine of its own, which waits
// up to WriteTimeout. A worker ends as soon as no connection is ready.
type writePool struct {
	max int // workers at most

	mu      sync.Mutex // Protects the following.
	ready   []*conn    // connections with frames to write, from ready[head], oldest first
	head    int
	workers int // running
}

func newWritePool() *writePool { return &writePool{max: runtime.GOMAXPROCS(0)} }

// add hands c to a worker. The caller holds c.qmu, set c.writing and
// counted the worker in c.writers.
func (p *writePool) add(c *conn) {
	p.mu.Lock()
	p.ready = append(p.ready, c)
	start := p.workers < p.max
	if start {
		p.workers++
	}
	p.mu.Unlock()
	if start {
		go p.work()
	}
}

// work writes for ready connections until there are none.
func (p *writePool) work() {
	for {
		p.mu.Lock()
		if p.head == len(p.ready) {
			p.ready, p.head = p.ready[:0], 0
			p.workers--
			p.mu.Unlock()
			return
		}
		c := p.ready[p.head]
		p.ready[p.head] = nil
		p.head++
		p.mu.Unlock()
		c.writeReady()
	}
}
