//go:build !js

package server

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"io/fs"
	"net/http"

	"github.com/synkhq/synk/internal/chunkpack"
	"github.com/synkhq/synk/internal/chunkstore"
	"github.com/synkhq/synk/protocol"
	"github.com/synkhq/synk/server/auth"
)

// Many chunks per request (docs/PROTOCOL.md, "Chunks"): a file of small
// chunks has thousands, and a request each would cost more than the
// bytes. Both bodies are packs (internal/chunkpack).
//
//	POST /synk/{room}/chunks/put   body: a pack        → 200 {"created":n,"held":m}
//	POST /synk/{room}/chunks/get   {"hashes":[hex…]}   → 200 a pack, in the order asked,
//	                                                     a missing chunk as such; it may
//	                                                     end early (maxPackBytes): ask again
//	                                                     for the rest

// Limits of one pack request.
const (
	maxPackChunks = 4096     // chunks in one put or get
	maxPackBytes  = 16 << 20 // bytes of one put's body, and of a get's answer (at least one chunk)
)

// packLimit is the largest body of a put: maxPackBytes, or one chunk of
// the largest size with its header.
func (s *Server) packLimit() int64 {
	return max(maxPackBytes, int64(s.opts.MaxChunk)+chunkpack.HeaderSize)
}

func (s *Server) servePutPack(w http.ResponseWriter, r *http.Request) {
	room, ok := s.chunkRoom(w, r, auth.CapWrite)
	if !ok {
		return
	}
	limit := s.packLimit()
	if r.ContentLength > limit {
		refuseBody(w, r)
		writeError(w, http.StatusRequestEntityTooLarge, protocol.Errorf(protocol.CodeFrameTooLarge, "a pack of %d bytes is over the %d-byte limit", r.ContentLength, limit))
		return
	}
	b := s.openBody(w, r)
	if b == nil {
		return
	}
	defer b.close()
	if err := b.reserve(bodyStep); err != nil {
		s.bodyFailed(w, err, int(limit))
		return
	}
	buf := make([]byte, bodyStep)
	body := &cappedReader{r: onlyReader{r.Body}, left: limit}
	pr := chunkpack.NewReader(body, s.opts.MaxChunk)
	batch := s.chunks.Batch(r.Context(), room, s.opts.ChunkQuota)
	defer batch.Abort() // a no-op once committed
	created, held := 0, 0
	var sizes []int
	for {
		sum, n, err := pr.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		switch {
		case err == nil && n < 0:
			err = protocol.Errorf(protocol.CodeBadRequest, "a pack to store cannot hold a missing chunk")
		case err == nil && created+held == maxPackChunks:
			err = protocol.Errorf(protocol.CodeTooMany, "at most %d chunks per pack", maxPackChunks)
		case err == nil:
			var isNew bool
			isNew, err = batch.Add(sum, int64(n), func(f io.Writer) (int64, error) {
				if !s.chunks.OnDisk() {
					// Held whole in memory until stored: count it.
					if err := b.reserve(int64(n)); err != nil {
						return 0, err
					}
				}
				got, err := io.CopyBuffer(f, pr.Body(), buf)
				if err == nil && got != int64(n) {
					err = io.ErrUnexpectedEOF
				}
				return got, err
			})
			if !s.chunks.OnDisk() {
				// What the batch still holds, and the copy buffer.
				b.keep(batch.Held() + bodyStep)
			}
			if isNew {
				created++
				sizes = append(sizes, n)
			} else if err == nil {
				held++
			}
		}
		if err != nil {
			s.packFailed(w, err, int(limit))
			return
		}
	}
	if err := batch.Commit(); err != nil {
		s.chunkFailed(w, err)
		return
	}
	for _, n := range sizes {
		s.met.chunkBytes(n, true)
	}
	writeJSON(w, http.StatusOK, map[string]int{"created": created, "held": held})
}

// packFailed answers a put whose pack could not be stored whole (the
// chunks stored before the failure stay: they are named by their content).
func (s *Server) packFailed(w http.ResponseWriter, err error, limit int) {
	var pe *protocol.Error
	switch {
	case errors.As(err, &pe):
		abandonBody(w)
		writeError(w, http.StatusBadRequest, err)
	case errors.Is(err, chunkpack.ErrTooLarge):
		abandonBody(w)
		writeError(w, http.StatusRequestEntityTooLarge, protocol.Errorf(protocol.CodeFrameTooLarge, "a chunk of the pack is over the %d-byte limit", s.opts.MaxChunk))
	default:
		s.chunkStoreFailed(w, err, limit)
	}
}

func (s *Server) serveGetPack(w http.ResponseWriter, r *http.Request) {
	room, ok := s.chunkRoom(w, r, auth.CapRead)
	if !ok {
		return
	}
	body, ok := s.readBody(w, r, 80*maxPackChunks)
	if !ok {
		return
	}
	var req struct {
		Hashes []string `json:"hashes"`
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&req); err != nil {
		writeError(w, http.StatusBadRequest, protocol.Errorf(protocol.CodeBadRequest, "body must be {\"hashes\":[...]}: %v", err))
		return
	}
	if len(req.Hashes) > maxPackChunks {
		writeError(w, http.StatusBadRequest, protocol.Errorf(protocol.CodeTooMany, "at most %d hashes per request, got %d", maxPackChunks, len(req.Hashes)))
		return
	}
	sums := make([][32]byte, len(req.Hashes))
	for i, h := range req.Hashes {
		var err error
		if sums[i], err = parseHash(h); err != nil {
			writeError(w, http.StatusBadRequest, err)
			return
		}
	}
	var hdr []byte
	sent := 0
	// The answer begins with the first chunk, so that a store that cannot
	// give even that one is answered with its error.
	s.chunks.GetMany(r.Context(), room, sums, bodyMemory{s}, func(i int, data []byte, err error) bool {
		switch {
		case errors.Is(err, fs.ErrNotExist):
			data = nil
		case err != nil && i == 0:
			s.chunkFailed(w, err)
			return false
		case errors.Is(err, chunkstore.ErrMemory):
			return false // the rest another time, as for a full answer
		case err != nil:
			// The answer has begun: end it here, and the client asks
			// again for what it lacks.
			s.log.Error("chunk store", "err", err)
			return false
		}
		if i == 0 {
			w.Header().Set("Content-Type", "application/octet-stream")
			w.WriteHeader(http.StatusOK)
		}
		if i > 0 && sent+len(data) > maxPackBytes {
			return false // the rest another time
		}
		n := len(data)
		if data == nil {
			n = -1
		}
		hdr = chunkpack.AppendHeader(hdr[:0], sums[i], n)
		if _, err := w.Write(hdr); err != nil {
			return false
		}
		if _, err := w.Write(data); err != nil {
			return false
		}
		sent += len(hdr) + len(data)
		return true
	})
}

// cappedReader reads at most left bytes from r; a byte more is
// errBodyTooLarge.
type cappedReader struct {
	r    io.Reader
	left int64
}

func (c *cappedReader) Read(p []byte) (int, error) {
	if c.left <= 0 {
		var one [1]byte
		if n, err := io.ReadFull(c.r, one[:]); n > 0 {
			return 0, errBodyTooLarge
		} else if !errors.Is(err, io.EOF) {
			return 0, err
		}
		return 0, io.EOF
	}
	if int64(len(p)) > c.left {
		p = p[:c.left]
	}
	n, err := c.r.Read(p)
	c.left -= int64(n)
	return n, err
}
