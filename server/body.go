package server

import (
	"errors"
	"io"
	"net/http"
	"os"
	"sync"
	"time"

	"github.com/synkhq/synk/protocol"
)

// Request bodies (issue 15). Every body the server reads is read after the
// caller's token was checked, within BodyTimeout, through a gate that
// bounds the bodies read at once from one address (MaxBodiesPerIP) and
// the bytes of bodies held in memory by all requests together
// (MaxBodyMemory). A body's buffer grows as its bytes arrive, never from
// what Content-Length claims, so a client that announces 8 MiB and stalls
// holds what it sent, and only until its deadline.

// bodyGate counts the bodies being read.
type bodyGate struct {
	mu    sync.Mutex     // Protects the following.
	perIP map[string]int // bodies being read, per peer address
	held  int64          // bytes of bodies held, server-wide
}

// bodyStep is how many bytes of a body are reserved at a time.
const bodyStep = 32 << 10

// bodyReader reads one request body under the gate.
type bodyReader struct {
	s        *Server
	ip       string
	reserved int64 // bytes of the gate's budget this body holds
}

// openBody lets a request read its body, or answers it with 429 (too many
// bodies from its address) and returns nil. The caller must close the
// reader it gets, once done with the bytes.
func (s *Server) openBody(w http.ResponseWriter, r *http.Request) *bodyReader {
	ip := remoteIP(r.RemoteAddr)
	g := &s.bodies
	g.mu.Lock()
	if s.opts.MaxBodiesPerIP > 0 && g.perIP[ip] >= s.opts.MaxBodiesPerIP {
		g.mu.Unlock()
		refuseBody(w, r)
		writeError(w, http.StatusTooManyRequests, protocol.Errorf(protocol.CodeOverloaded,
			"at most %d request bodies are read at once from one address", s.opts.MaxBodiesPerIP))
		return nil
	}
	if g.perIP == nil {
		g.perIP = make(map[string]int)
	}
	g.perIP[ip]++
	g.mu.Unlock()
	// A slow body is cut at its deadline, whatever Content-Length says.
	_ = http.NewResponseController(w).SetReadDeadline(time.Now().Add(s.opts.BodyTimeout))
	return &bodyReader{s: s, ip: ip}
}

// refuseBody closes the connection after the answer to a request whose
// body is not read: net/http would otherwise read what is left of the
// body, to reuse the connection, as long as its sender likes to stall.
func refuseBody(w http.ResponseWriter, r *http.Request) {
	if r.ContentLength != 0 {
		w.Header().Set("Connection", "close")
		_ = http.NewResponseController(w).SetReadDeadline(time.Now()) // no more reading
	}
}

// errBodyMemory is returned when the server's body budget is used up.
var errBodyMemory = errors.New("server: request bodies use the server's memory budget")

// reserve takes n more bytes of the server's body budget.
func (b *bodyReader) reserve(n int64) error {
	if !(bodyMemory{b.s}).TryTake(n) {
		return errBodyMemory
	}
	b.reserved += n
	return nil
}

// bodyMemory is the server's budget for HTTP bodies (MaxBodyMemory), as
// a chunkstore.Budget: request bodies being read take from it, and so do
// chunks read into memory for an answer until they are written, so that
// readers that do not read their answers hold no more than senders can.
type bodyMemory struct{ s *Server }

// TryTake takes n bytes of the body budget, or reports false.
func (a bodyMemory) TryTake(n int64) bool {
	g := &a.s.bodies
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.held+n > a.s.opts.MaxBodyMemory {
		return false
	}
	g.held += n
	return true
}

// Give gives back n bytes taken.
func (a bodyMemory) Give(n int64) {
	g := &a.s.bodies
	g.mu.Lock()
	defer g.mu.Unlock()
	g.held -= n
}

// keep gives back what b reserved beyond n bytes: memory a body's reader
// no longer holds.
//
//lint:ignore U1000 the js build (the edge) keeps no chunks
func (b *bodyReader) keep(n int64) {
	if b.reserved <= n {
		return
	}
	g := &b.s.bodies
	g.mu.Lock()
	defer g.mu.Unlock()
	g.held -= b.reserved - n
	b.reserved = n
}

// read reads r's whole body into memory, at most limit bytes, taking the
// server's budget as the buffer grows (doubling, from bodyStep).
func (b *bodyReader) read(r *http.Request, limit int) ([]byte, error) {
	var buf []byte
	for {
		if len(buf) == cap(buf) {
			grow := min(max(bodyStep, cap(buf)), limit+1-cap(buf))
			if grow <= 0 {
				return nil, errBodyTooLarge
			}
			if err := b.reserve(int64(grow)); err != nil {
				return nil, err
			}
			next := make([]byte, len(buf), cap(buf)+grow)
			copy(next, buf)
			buf = next
		}
		n, err := r.Body.Read(buf[len(buf):cap(buf)])
		buf = buf[:len(buf)+n]
		if len(buf) > limit {
			return nil, errBodyTooLarge
		}
		if errors.Is(err, io.EOF) {
			return buf, nil
		}
		if err != nil {
			return nil, err
		}
	}
}

// errBodyTooLarge is returned for a body over its limit.
var errBodyTooLarge = errors.New("server: body too large")

// close gives back what the body held.
func (b *bodyReader) close() {
	g := &b.s.bodies
	g.mu.Lock()
	defer g.mu.Unlock()
	g.held -= b.reserved
	b.reserved = 0
	if g.perIP[b.ip]--; g.perIP[b.ip] <= 0 {
		delete(g.perIP, b.ip)
	}
}

// abandonBody closes the connection after the answer to a request whose
// body is not read to its end (the rest is not read).
func abandonBody(w http.ResponseWriter) {
	w.Header().Set("Connection", "close")
	_ = http.NewResponseController(w).SetReadDeadline(time.Now())
}

// bodyFailed answers a request whose body could not be read: too large
// (413), over the server's budget (503), or cut or too slow (408/400).
func (s *Server) bodyFailed(w http.ResponseWriter, err error, limit int) {
	abandonBody(w) // the rest of the body is not read
	switch {
	case errors.Is(err, errBodyTooLarge):
		writeError(w, http.StatusRequestEntityTooLarge, protocol.Errorf(protocol.CodeFrameTooLarge, "body is larger than %d bytes", limit))
	case errors.Is(err, errBodyMemory):
		writeError(w, http.StatusServiceUnavailable, protocol.Errorf(protocol.CodeOverloaded,
			"the server holds %d bytes of request bodies, its limit: try again", s.opts.MaxBodyMemory))
	case errors.Is(err, os.ErrDeadlineExceeded):
		writeError(w, http.StatusRequestTimeout, protocol.Errorf(protocol.CodeTimeout, "body not received within %v", s.opts.BodyTimeout))
	default:
		writeError(w, http.StatusBadRequest, protocol.Errorf(protocol.CodeBadRequest, "reading the body: %v", err))
	}
}

// readBody reads r's body, at most limit bytes, through the gate, and
// answers the error itself when it returns false.
func (s *Server) readBody(w http.ResponseWriter, r *http.Request, limit int) ([]byte, bool) {
	b := s.openBody(w, r)
	if b == nil {
		return nil, false
	}
	defer b.close()
	body, err := b.read(r, limit)
	if err != nil {
		s.bodyFailed(w, err, limit)
		return nil, false
	}
	return body, true
}
