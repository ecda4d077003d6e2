package server

import (
	"net/http"

	"github.com/synkhq/synk/protocol"
)

// cors lets pages of the origins the websocket accepts (the server's own
// host, Options.OriginPatterns, and localhost unless OnlySameOrigin) call
// the HTTP API from the browser: it answers preflights and marks the
// answers as readable by the page. It reports whether the request was
// answered (a preflight).
func (s *Server) cors(w http.ResponseWriter, r *http.Request) bool {
	origin := r.Header.Get("Origin")
	if origin == "" || r.URL.Path == "/ws" {
		return false
	}
	if !s.originAllowed(origin, r.Host) {
		if r.Method == http.MethodOptions {
			writeError(w, http.StatusForbidden, protocol.Errorf(protocol.CodeForbidden,
				"origin %s may not call this server: add its host to -origins (Options.OriginPatterns)", origin))
			return true
		}
		return false // answered without CORS headers: the browser keeps it from the page
	}
	h := w.Header()
	h.Set("Access-Control-Allow-Origin", origin)
	h.Add("Vary", "Origin")
	if r.Method != http.MethodOptions {
		return false
	}
	h.Set("Access-Control-Allow-Methods", "GET, POST, PUT, OPTIONS")
	h.Set("Access-Control-Allow-Headers", "Authorization, Content-Type")
	h.Set("Access-Control-Max-Age", "600")
	w.WriteHeader(http.StatusNoContent)
	return true
}
