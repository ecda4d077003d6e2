//go:build js

package server

import (
	"net/http"
	"time"

	"github.com/synkhq/synk/protocol"
)

// chunkStore: an edge room has no file system for chunks, and a Durable
// Object's storage is too small for them; folder sync needs a native server.
type chunkStore = struct{}

func (s *Server) routeChunks() {
	s.mux.HandleFunc("/synk/{room}/chunks/", func(w http.ResponseWriter, _ *http.Request) {
		writeError(w, http.StatusNotImplemented, protocol.Errorf(protocol.CodeUnsupported, "the edge server keeps no chunks: folder sync needs a native server"))
	})
}

func (s *Server) maybeCollectChunks(time.Time) {}
