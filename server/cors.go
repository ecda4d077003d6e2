package server

import (
	"net/http"
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
	if err := s.CheckOrigin(origin, r.Host); err != nil {
		if r.Method == http.MethodOptions {
			writeError(w, http.StatusForbidden, err) // names the flag that would allow it
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
