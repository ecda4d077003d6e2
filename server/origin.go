package server

import (
	"context"
	"net/http"
	"net/url"
	"path"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/coder/websocket"
	"github.com/synkhq/synk/protocol"
)

// CheckOrigin returns a Forbidden error unless a browser on origin (the
// Origin header; empty for programs) may open a websocket to host, as
// GET /ws decides: the server's own host, and Options.OriginPatterns. A
// caller that accepts websockets itself (ServeSocket) checks with it.
func (s *Server) CheckOrigin(origin, host string) error {
	if origin == "" {
		return nil
	}
	u, err := url.Parse(origin)
	if err != nil || u.Host == "" {
		return protocol.Errorf(protocol.CodeForbidden, "bad Origin %q", origin)
	}
	if strings.EqualFold(u.Host, host) {
		return nil
	}
	for _, p := range s.opts.OriginPatterns {
		if ok, _ := path.Match(strings.ToLower(p), strings.ToLower(u.Host)); ok {
			return nil
		}
	}
	return protocol.Errorf(protocol.CodeForbidden, "origin %s is not allowed: add %s to -origins (SYNK_ORIGINS)", origin, u.Host)
}

// refuseOrigin answers a websocket from a page whose origin err refused.
// A browser hides a refused upgrade's status from the page, so the
// socket is accepted only to say why (see refuse).
func (s *Server) refuseOrigin(w http.ResponseWriter, r *http.Request, err error) {
	ws, aerr := websocket.Accept(w, r, &websocket.AcceptOptions{InsecureSkipVerify: true}) // refused: only told why
	if aerr != nil {
		return
	}
	s.refuse(ws, r.Header.Get("Origin"), r.RemoteAddr, err)
}

// RefuseSocket answers a websocket, which the caller accepted, from a
// browser on origin that [Server.CheckOrigin] refused with err, as GET /ws
// answers its own: the client's Hello is read and answered with err as an
// Error frame and the close status that carries it (the Go and browser
// clients reject with Forbidden and the message), and nothing the page
// sent is acted on. The server logs the refusal, at most once a minute per
// origin. It returns at once; the socket is closed within 5 s.
func (s *Server) RefuseSocket(ws Socket, origin, remote string, err error) {
	if !s.enter() {
		ws.CloseNow()
		return
	}
	go func() {
		defer s.wg.Done()
		s.refuse(ws, origin, remote, err)
	}()
}

// refuse logs a refused origin and tells the socket's client why.
func (s *Server) refuse(ws Socket, origin, remote string, err error) {
	defer ws.CloseNow()
	e := asProtocolError(err)
	if s.refused.first(origin, time.Now()) {
		host := origin
		if u, err := url.Parse(origin); err == nil && u.Host != "" {
			host = u.Host
		}
		s.log.Warn("websocket refused: origin not allowed", "origin", origin, "remote", remote,
			"allow with", "-origins "+host)
	}
	ws.SetReadLimit(int64(s.opts.MaxFrame))
	ctx, cancel := context.WithTimeout(s.ctx, 5*time.Second)
	defer cancel()
	if _, _, err := ws.Read(ctx); err != nil { // the Hello: answered, never read
		return
	}
	if b, err := protocol.Encode(&protocol.Error{Code: e.Code, Message: e.Message}); err == nil {
		ws.Write(ctx, websocket.MessageBinary, b)
	}
	ws.Close(websocket.StatusCode(e.Code.CloseStatus()), closeReason(e.Message))
}

// closeReason cuts msg to the 123 bytes a close frame carries, on a rune
// boundary.
func closeReason(msg string) string {
	if len(msg) <= 123 {
		return msg
	}
	n := 123
	for n > 0 && !utf8.RuneStart(msg[n]) {
		n--
	}
	return msg[:n]
}

// onceAMinute remembers which keys were logged in the last minute, for
// at most 256 keys (then it starts afresh): a page refused again and again
// logs once a minute, and a flood of made-up origins cannot grow it.
type onceAMinute struct {
	mu   sync.Mutex
	last map[string]time.Time
}

// first reports whether key was not logged within the minute before now,
// and records now for it if so.
func (o *onceAMinute) first(key string, now time.Time) bool {
	o.mu.Lock()
	defer o.mu.Unlock()
	if t, ok := o.last[key]; ok && now.Sub(t) < time.Minute {
		return false
	}
	if o.last == nil || len(o.last) >= 256 {
		o.last = make(map[string]time.Time)
	}
	o.last[key] = now
	return true
}
