package server

import (
	"net/http"
	"strings"

	"github.com/synkhq/synk/protocol"
	"github.com/synkhq/synk/server/auth"
)

// httpGrant verifies the token of an HTTP request, given as the "token"
// query parameter or an "Authorization: Bearer" header. It returns nil
// and true when auth is off; on a missing or bad token it answers 401 and
// returns false.
func (s *Server) httpGrant(w http.ResponseWriter, r *http.Request) (*auth.Grant, bool) {
	if s.opts.Auth == nil {
		return nil, true
	}
	token := r.URL.Query().Get("token")
	if h := r.Header.Get("Authorization"); token == "" && len(h) > 7 && strings.EqualFold(h[:7], "bearer ") {
		token = h[7:]
	}
	g, err := s.opts.Auth.Verify(token)
	if err != nil {
		refuseBody(w, r)
		w.Header().Set("WWW-Authenticate", `Bearer realm="synk"`)
		writeError(w, http.StatusUnauthorized, err)
		return nil, false
	}
	return g, true
}

// httpAllow checks that an HTTP request's token grants c in room (as
// user, when user is not empty), answering 401 or 403 when it does not.
func (s *Server) httpAllow(w http.ResponseWriter, r *http.Request, room string, c auth.Capability, user string) bool {
	g, ok := s.httpGrant(w, r)
	if !ok {
		return false
	}
	err := g.Check(room, c)
	if err == nil && g != nil && user != "" && user != g.User {
		err = protocol.Errorf(protocol.CodeForbidden, "the token is for %q, not %q", g.User, user)
	}
	if err != nil {
		refuseBody(w, r)
		writeError(w, http.StatusForbidden, err)
		return false
	}
	return true
}
