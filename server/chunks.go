//go:build !js

package server

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"io"
	"io/fs"
	"net/http"
	"strconv"
	"time"

	"github.com/synkhq/synk/internal/chunkstore"
	"github.com/synkhq/synk/protocol"
	"github.com/synkhq/synk/server/auth"
)

// chunkStore is where the server keeps folder sync's chunks: its data
// directory or memory, or, on a cluster node, the JetStream Object Store
// every node shares.
type chunkStore = chunkstore.Chunks

// The chunk store: content-addressed blobs per room, for folder sync
// (docs/PROTOCOL.md, "Chunks"). A chunk's name is the hex SHA-256 of its
// content; the server checks it, so a chunk can never hold other bytes.
//
//	PUT  /synk/{room}/chunks/{hash}   body: the chunk      → 201 (or 200: held already)
//	GET  /synk/{room}/chunks/{hash}                        → 200 the chunk, or 404
//	POST /synk/{room}/chunks/missing  {"hashes":[hex…]}    → 200 {"missing":[hex…]}
//	POST /synk/{room}/chunks/put, …/get: many at once (chunkpack.go)

// maxMissing is the most hashes one missing-list request may ask about.
const maxMissing = 10000

func (s *Server) routeChunks() {
	if s.bus != nil {
		// Renewed when a fourth of the grace has passed: a device told a
		// chunk is held has three fourths left to name it.
		s.chunks = chunkstore.NewCluster(s.opts.NATS, s.opts.NATSReplicas, s.opts.ClusterChunkBytes, int64(s.opts.MaxChunk), s.opts.ChunkGrace/4)
	} else {
		s.chunks = chunkstore.New(s.opts.DataDir, s.opts.MaxChunkMemory, s.opts.MinFreeDisk, int64(s.opts.MaxChunk))
	}
	s.mux.HandleFunc("PUT /synk/{room}/chunks/{hash}", s.servePutChunk)
	s.mux.HandleFunc("GET /synk/{room}/chunks/{hash}", s.serveGetChunk)
	s.mux.HandleFunc("POST /synk/{room}/chunks/missing", s.serveMissing)
	s.mux.HandleFunc("POST /synk/{room}/chunks/put", s.servePutPack)
	s.mux.HandleFunc("POST /synk/{room}/chunks/get", s.serveGetPack)
}

// chunkRoom checks the room of a chunk request and the caller's right to
// c in it, answering the error itself when it returns false.
func (s *Server) chunkRoom(w http.ResponseWriter, r *http.Request, c auth.Capability) (string, bool) {
	name := r.PathValue("room")
	if err := protocol.CheckRoom(name); err != nil {
		writeError(w, http.StatusBadRequest, err)
		return "", false
	}
	if err := s.serves(name); err != nil {
		writeError(w, http.StatusForbidden, err)
		return "", false
	}
	return name, s.httpAllow(w, r, name, c, "")
}

// chunkNamed is chunkRoom for a request naming a chunk: it also decodes
// the chunk's hash.
func (s *Server) chunkNamed(w http.ResponseWriter, r *http.Request, c auth.Capability) (string, [32]byte, bool) {
	room, ok := s.chunkRoom(w, r, c)
	if !ok {
		return "", [32]byte{}, false
	}
	sum, err := parseHash(r.PathValue("hash"))
	if err != nil {
		writeError(w, http.StatusBadRequest, err)
		return "", sum, false
	}
	return room, sum, true
}

// parseHash decodes a chunk name: 64 lowercase hex digits.
func parseHash(h string) ([32]byte, error) {
	var sum [32]byte
	if len(h) != 64 {
		return sum, protocol.Errorf(protocol.CodeBadRequest, "chunk hash must be 64 hex digits (SHA-256), got %d characters", len(h))
	}
	if _, err := hex.Decode(sum[:], []byte(h)); err != nil || hex.EncodeToString(sum[:]) != h {
		return sum, protocol.Errorf(protocol.CodeBadRequest, "chunk hash %q is not lowercase hex", h)
	}
	return sum, nil
}

func (s *Server) servePutChunk(w http.ResponseWriter, r *http.Request) {
	room, sum, ok := s.chunkNamed(w, r, auth.CapWrite)
	if !ok {
		return
	}
	if r.ContentLength > int64(s.opts.MaxChunk) {
		refuseBody(w, r)
		writeError(w, http.StatusRequestEntityTooLarge, protocol.Errorf(protocol.CodeFrameTooLarge, "chunk of %d bytes is over the %d-byte limit", r.ContentLength, s.opts.MaxChunk))
		return
	}
	held, err := s.chunks.Hold(r.Context(), room, sum, time.Now())
	if err != nil {
		s.chunkFailed(w, err)
		return
	}
	if held {
		// Content-addressed: the bytes are already here. Read nothing.
		refuseBody(w, r)
		writeJSON(w, http.StatusOK, map[string]any{"hash": r.PathValue("hash"), "created": false})
		return
	}
	b := s.openBody(w, r)
	if b == nil {
		return
	}
	defer b.close()
	var n int64
	var created bool
	if s.chunks.OnDisk() {
		// Straight to a file, hashed on the way: bodyStep bytes of memory.
		created, n, err = s.chunks.PutFrom(r.Context(), room, sum, s.opts.ChunkQuota, func(f io.Writer) (int64, error) {
			return b.copyTo(f, r, s.opts.MaxChunk)
		})
	} else {
		var data []byte
		if data, err = b.read(r, s.opts.MaxChunk); err == nil {
			n = int64(len(data))
			if sha256.Sum256(data) != sum {
				err = chunkstore.ErrHash
			} else {
				created, err = s.chunks.Put(r.Context(), room, sum, data, s.opts.ChunkQuota)
			}
		}
	}
	if err != nil {
		s.chunkStoreFailed(w, err, s.opts.MaxChunk)
		return
	}
	s.met.chunkBytes(int(n), created)
	status := http.StatusOK
	if created {
		status = http.StatusCreated
	}
	writeJSON(w, status, map[string]any{"hash": r.PathValue("hash"), "created": created})
}

func (s *Server) serveGetChunk(w http.ResponseWriter, r *http.Request) {
	room, sum, ok := s.chunkNamed(w, r, auth.CapRead)
	if !ok {
		return
	}
	// Through GetMany, which counts what it read against the body budget
	// until this answer is written.
	s.chunks.GetMany(r.Context(), room, [][32]byte{sum}, bodyMemory{s}, func(_ int, data []byte, err error) bool {
		switch {
		case errors.Is(err, fs.ErrNotExist):
			writeError(w, http.StatusNotFound, protocol.Errorf(protocol.CodeNotFound, "room %q holds no chunk %s", room, r.PathValue("hash")))
		case err != nil:
			s.chunkFailed(w, err)
		default:
			writeChunk(w, r, data)
		}
		return false
	})
}

// writeChunk answers a chunk's GET with data.
func writeChunk(w http.ResponseWriter, r *http.Request, data []byte) {
	w.Header().Set("Content-Type", "application/octet-stream")
	w.Header().Set("Content-Length", strconv.Itoa(len(data)))
	// The name is the content's hash: it never changes.
	w.Header().Set("Cache-Control", "private, max-age=31536000, immutable")
	w.Header().Set("ETag", `"`+r.PathValue("hash")+`"`)
	_, _ = w.Write(data)
}

func (s *Server) serveMissing(w http.ResponseWriter, r *http.Request) {
	room, ok := s.chunkRoom(w, r, auth.CapWrite)
	if !ok {
		return
	}
	body, ok := s.readBody(w, r, 80*maxMissing)
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
	if len(req.Hashes) > maxMissing {
		writeError(w, http.StatusBadRequest, protocol.Errorf(protocol.CodeTooMany, "at most %d hashes per request, got %d", maxMissing, len(req.Hashes)))
		return
	}
	missing := []string{}
	for _, h := range req.Hashes {
		sum, err := parseHash(h)
		if err != nil {
			writeError(w, http.StatusBadRequest, err)
			return
		}
		held, err := s.chunks.Hold(r.Context(), room, sum, time.Now())
		if err != nil {
			s.chunkFailed(w, err)
			return
		}
		if !held {
			missing = append(missing, h)
		}
	}
	writeJSON(w, http.StatusOK, map[string][]string{"missing": missing})
}

// chunkStoreFailed answers a request whose chunk could not be stored:
// its content does not hash to its name (400), the room's quota or the
// server's memory or disk is used up (507), the store failed (500), or
// its body could not be read (bodyFailed; limit is the body's).
func (s *Server) chunkStoreFailed(w http.ResponseWriter, err error, limit int) {
	switch {
	case errors.Is(err, chunkstore.ErrHash):
		abandonBody(w)
		writeError(w, http.StatusBadRequest, protocol.Errorf(protocol.CodeBadRequest, "the chunk's content does not hash to its name"))
	case errors.Is(err, chunkstore.ErrQuota):
		abandonBody(w)
		writeError(w, http.StatusInsufficientStorage, protocol.Errorf(protocol.CodeTooMany, "%v", err))
	case errors.Is(err, chunkstore.ErrMemory), errors.Is(err, chunkstore.ErrDiskFull):
		abandonBody(w)
		writeError(w, http.StatusInsufficientStorage, protocol.Errorf(protocol.CodeOverloaded, "%v", err))
	case errors.Is(err, chunkstore.ErrStore), errors.Is(err, chunkstore.ErrUnavailable), errors.Is(err, chunkstore.ErrNoJetStream):
		abandonBody(w)
		s.chunkFailed(w, err)
	default:
		s.bodyFailed(w, err, limit)
	}
}

// chunkFailed answers a request the chunk store failed: the cluster has
// no JetStream (501), its JetStream did not answer (503: try again), or
// the store failed (500).
func (s *Server) chunkFailed(w http.ResponseWriter, err error) {
	switch {
	case errors.Is(err, chunkstore.ErrNoJetStream):
		writeError(w, http.StatusNotImplemented, protocol.Errorf(protocol.CodeUnsupported, "chunks on a cluster live in JetStream, and the cluster's NATS has none (docs/CLUSTER.md)"))
	case errors.Is(err, chunkstore.ErrUnavailable):
		s.log.Warn("chunk store", "err", err)
		writeError(w, http.StatusServiceUnavailable, protocol.Errorf(protocol.CodeOverloaded, "the cluster's chunk store did not answer: try again"))
	case errors.Is(err, chunkstore.ErrDiskFull):
		writeError(w, http.StatusInsufficientStorage, protocol.Errorf(protocol.CodeOverloaded, "%v", err))
	case errors.Is(err, chunkstore.ErrMemory):
		writeError(w, http.StatusServiceUnavailable, protocol.Errorf(protocol.CodeOverloaded, "%v: try again", err))
	default:
		s.log.Error("chunk store", "err", err)
		writeError(w, http.StatusInternalServerError, protocol.Errorf(protocol.CodeInternal, "the chunk store failed"))
	}
}

// copyTo streams r's body to f, at most limit bytes, through a buffer of
// its own: a body on its way to disk holds bodyStep bytes of memory.
func (b *bodyReader) copyTo(f io.Writer, r *http.Request, limit int) (int64, error) {
	if err := b.reserve(bodyStep); err != nil {
		return 0, err
	}
	buf := make([]byte, bodyStep)
	n, err := io.CopyBuffer(f, io.LimitReader(onlyReader{r.Body}, int64(limit)+1), buf)
	if err == nil && n > int64(limit) {
		err = errBodyTooLarge
	}
	return n, err
}

// onlyReader hides a reader's WriteTo, so io.CopyBuffer uses the buffer.
type onlyReader struct{ io.Reader }
