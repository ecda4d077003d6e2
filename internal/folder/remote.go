package folder

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/synkhq/synk/internal/chunkpack"
)

// chunks talks to the server's chunk store of one room over HTTP.
type chunks struct {
	base   string // http(s)://host:port/synk/{room}/chunks/
	token  string
	client *http.Client

	sent, received atomic.Int64 // chunk bytes uploaded and downloaded
	put, got       atomic.Int64 // chunks uploaded and downloaded

	// sending holds a token per pack on its way, every file's together:
	// the memory packs take is bounded, however many files a pass uploads.
	sending chan struct{}
}

// packsSending is how many packs a folder has on their way at once.
const packsSending = 4

// httpBase turns the websocket URL a device dials into the server's HTTP
// address: ws://host:port/ws → http://host:port.
func httpBase(ws string) (string, error) {
	u, err := url.Parse(ws)
	if err != nil {
		return "", err
	}
	switch u.Scheme {
	case "ws", "http":
		u.Scheme = "http"
	case "wss", "https":
		u.Scheme = "https"
	default:
		return "", fmt.Errorf("server address %q: want ws://, wss://, http:// or https://", ws)
	}
	u.Path, u.RawQuery, u.Fragment = "", "", ""
	return strings.TrimSuffix(u.String(), "/"), nil
}

func newChunks(server, room, token string, hc *http.Client) (*chunks, error) {
	base, err := httpBase(server)
	if err != nil {
		return nil, err
	}
	return &chunks{base: base + "/synk/" + url.PathEscape(room) + "/chunks/", token: token, client: hc,
		sending: make(chan struct{}, packsSending)}, nil
}

// httpError is an error answer of the server, as JSON.
type httpError struct {
	Status  int
	Code    int    `json:"code"`
	Message string `json:"message"`
}

func (e *httpError) Error() string {
	return fmt.Sprintf("server answered %d: %s (code %d)", e.Status, e.Message, e.Code)
}

// overloadedTries is how often a request the server refused as overloaded
// (429 or 503: its budget for HTTP bodies was used up, or its JetStream
// did not answer) is sent, with a growing pause, before the refusal is
// the answer.
const overloadedTries = 8

// do sends a request, again after a pause while the server answers that
// it is overloaded.
func (c *chunks) do(ctx context.Context, method, path string, body []byte) (*http.Response, error) {
	pause := 100 * time.Millisecond
	for try := 1; ; try++ {
		resp, err := c.doOnce(ctx, method, path, body)
		var e *httpError
		if try == overloadedTries || !errors.As(err, &e) || e.Status != http.StatusTooManyRequests && e.Status != http.StatusServiceUnavailable {
			return resp, err
		}
		t := time.NewTimer(pause)
		select {
		case <-ctx.Done():
			t.Stop()
			return nil, err
		case <-t.C:
		}
		pause = min(2*pause, 2*time.Second)
	}
}

func (c *chunks) doOnce(ctx context.Context, method, path string, body []byte) (*http.Response, error) {
	req, err := http.NewRequestWithContext(ctx, method, c.base+path, bytes.NewReader(body))
	if err != nil {
		return nil, err
	}
	if c.token != "" {
		req.Header.Set("Authorization", "Bearer "+c.token)
	}
	resp, err := c.client.Do(req)
	if err != nil {
		return nil, err
	}
	if resp.StatusCode/100 != 2 {
		defer resp.Body.Close()
		var e struct {
			Error httpError `json:"error"`
		}
		b, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
		if json.Unmarshal(b, &e) != nil {
			e.Error.Message = strings.TrimSpace(string(b))
		}
		e.Error.Status = resp.StatusCode
		return nil, &e.Error
	}
	return resp, nil
}

// missing returns those of hashes the server lacks.
func (c *chunks) missing(ctx context.Context, hashes [][32]byte) (map[[32]byte]bool, error) {
	out := make(map[[32]byte]bool)
	for len(hashes) > 0 {
		n := min(len(hashes), 5000)
		req := struct {
			Hashes []string `json:"hashes"`
		}{make([]string, n)}
		for i, h := range hashes[:n] {
			req.Hashes[i] = hex.EncodeToString(h[:])
		}
		hashes = hashes[n:]
		body, err := json.Marshal(req)
		if err != nil {
			return nil, err
		}
		resp, err := c.do(ctx, "POST", "missing", body)
		if err != nil {
			return nil, fmt.Errorf("asking which chunks the server lacks: %w", err)
		}
		var ans struct {
			Missing []string `json:"missing"`
		}
		err = json.NewDecoder(resp.Body).Decode(&ans)
		resp.Body.Close()
		if err != nil {
			return nil, fmt.Errorf("the server's missing list: %w", err)
		}
		for _, s := range ans.Missing {
			var h [32]byte
			if _, err := hex.Decode(h[:], []byte(s)); err != nil {
				return nil, fmt.Errorf("the server's missing list: %w", err)
			}
			out[h] = true
		}
	}
	return out, nil
}

// upload stores data, whose hash is h.
func (c *chunks) upload(ctx context.Context, h [32]byte, data []byte) error {
	resp, err := c.do(ctx, "PUT", hex.EncodeToString(h[:]), data)
	if err != nil {
		return fmt.Errorf("uploading chunk %x: %w", h[:6], err)
	}
	resp.Body.Close()
	c.sent.Add(int64(len(data)))
	c.put.Add(1)
	return nil
}

// errCorrupt is a chunk whose bytes do not hash to its name.
var errCorrupt = errors.New("folder: chunk does not match its hash")

// download returns chunk h's bytes, checked against h.
func (c *chunks) download(ctx context.Context, h [32]byte) ([]byte, error) {
	resp, err := c.do(ctx, "GET", hex.EncodeToString(h[:]), nil)
	if err != nil {
		return nil, fmt.Errorf("downloading chunk %x: %w", h[:6], err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, oldMaxChunk+1))
	if err != nil {
		return nil, fmt.Errorf("downloading chunk %x: %w", h[:6], err)
	}
	if sha256.Sum256(data) != h {
		return nil, fmt.Errorf("chunk %x: %w", h[:6], errCorrupt)
	}
	c.received.Add(int64(len(data)))
	c.got.Add(1)
	return data, nil
}

// Packs: many chunks per request (docs/PROTOCOL.md, "Chunks").
const (
	packBytes  = 4 << 20 // a put's body is sent once it holds this much
	packChunks = 1024    // or this many chunks; and the most a get asks for
)

// packer gathers chunks to upload and sends them a pack at a time, up to
// packsInFlight packs of one file at once (and packsSending of every
// file's): a large file's packs follow one another without waiting for
// each answer (the server syncs its disk for each).
// Call wait before dropping it: it owns the goroutines sending.
type packer struct {
	c       *chunks
	body    []byte
	n       int   // chunks in body
	data    int64 // their bytes, without headers
	sending []chan error
}

// packsInFlight is how many packs of one file are sent at once.
const packsInFlight = 3

// add adds chunk h, whose bytes are data, sending the pack first if it
// would grow past packBytes.
func (p *packer) add(ctx context.Context, h [32]byte, data []byte) error {
	if p.n > 0 && (len(p.body)+chunkpack.HeaderSize+len(data) > packBytes || p.n == packChunks) {
		if err := p.send(ctx); err != nil {
			return err
		}
	}
	p.body = append(chunkpack.AppendHeader(p.body, h, len(data)), data...)
	p.n++
	p.data += int64(len(data))
	return nil
}

// send starts sending what the pack holds, once fewer than packsInFlight
// are on their way.
func (p *packer) send(ctx context.Context) error {
	if p.n == 0 {
		return nil
	}
	if len(p.sending) == packsInFlight {
		err := <-p.sending[0]
		p.sending = p.sending[1:]
		if err != nil {
			return err
		}
	}
	select {
	case p.c.sending <- struct{}{}:
	case <-ctx.Done():
		return ctx.Err()
	}
	body, n, data := p.body, p.n, p.data
	done := make(chan error, 1)
	p.sending = append(p.sending, done)
	go func() {
		defer func() { <-p.c.sending }()
		resp, err := p.c.do(ctx, "POST", "put", body)
		if err != nil {
			done <- fmt.Errorf("uploading %d chunks: %w", n, err)
			return
		}
		resp.Body.Close()
		body = body[:0] // read whole by the server: the transport is done with it
		packBodies.Put(&body)
		p.c.sent.Add(data)
		p.c.put.Add(int64(n))
		done <- nil
	}()
	p.body, p.n, p.data = (*packBodies.Get().(*[]byte))[:0], 0, 0
	return nil
}

// packBodies holds the bodies of packs once sent.
var packBodies = sync.Pool{New: func() any { b := make([]byte, 0, packBytes+chunkpack.HeaderSize+MaxChunk); return &b }}

// flush sends what the pack holds and waits until every pack is stored.
func (p *packer) flush(ctx context.Context) error {
	err := p.send(ctx)
	return errors.Join(err, p.wait())
}

// wait waits for the packs on their way and returns the first error.
func (p *packer) wait() error {
	var first error
	for _, done := range p.sending {
		if err := <-done; first == nil {
			first = err
		}
	}
	p.sending = nil
	return first
}

// stream downloads chunks in a given order, packs of them at a time.
type stream struct {
	c    *chunks
	want [][32]byte // still to come, in order
	resp *http.Response
	r    *chunkpack.Reader
	got  int // chunks the current answer gave
}

// next returns the next chunk's bytes, checked against its name, read
// into buf if it is large enough. A chunk the server lacks is an error
// naming it.
func (s *stream) next(ctx context.Context, buf []byte) (h [32]byte, data []byte, err error) {
	if len(s.want) == 0 {
		return h, nil, errors.New("folder: no chunk left to download")
	}
	for {
		if s.r == nil {
			if err := s.ask(ctx); err != nil {
				return h, nil, err
			}
		}
		var n int
		h, n, err = s.r.Next()
		if errors.Is(err, io.EOF) {
			s.close()
			if s.got == 0 {
				return h, nil, errors.New("folder: the server answered no chunk")
			}
			continue // it ended early: ask for the rest
		}
		if err != nil {
			return h, nil, fmt.Errorf("downloading chunks: %w", err)
		}
		if h != s.want[0] {
			return h, nil, fmt.Errorf("downloading chunks: chunk %x came where %x was asked for", h[:6], s.want[0][:6])
		}
		s.want, s.got = s.want[1:], s.got+1
		if n < 0 {
			// Tried again later, as a chunk the server lost or collected
			// is until the file changes (docs/FOLDER.md, Limits).
			return h, nil, fmt.Errorf("chunk %x: the server does not hold it", h[:6])
		}
		if data, err = s.r.ReadBody(buf); err != nil {
			return h, nil, fmt.Errorf("downloading chunk %x: %w", h[:6], err)
		}
		if sha256.Sum256(data) != h {
			return h, nil, fmt.Errorf("chunk %x: %w", h[:6], errCorrupt)
		}
		s.c.received.Add(int64(len(data)))
		s.c.got.Add(1)
		return h, data, nil
	}
}

// ask sends a get for the next chunks wanted.
func (s *stream) ask(ctx context.Context) error {
	n := min(len(s.want), packChunks)
	req := struct {
		Hashes []string `json:"hashes"`
	}{make([]string, n)}
	for i, h := range s.want[:n] {
		req.Hashes[i] = hex.EncodeToString(h[:])
	}
	body, err := json.Marshal(req)
	if err != nil {
		return err
	}
	resp, err := s.c.do(ctx, "POST", "get", body)
	if err != nil {
		return fmt.Errorf("downloading %d chunks: %w", n, err)
	}
	s.resp, s.r, s.got = resp, chunkpack.NewReader(resp.Body, oldMaxChunk), 0
	return nil
}

// close ends the answer being read, if any.
func (s *stream) close() {
	if s.resp != nil {
		s.resp.Body.Close()
		s.resp, s.r = nil, nil
	}
}
