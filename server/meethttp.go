package server

import (
	"bytes"
	"encoding/json"
	"errors"
	"net/http"
	"strconv"
	"time"

	"github.com/synkhq/synk/internal/meet"
	"github.com/synkhq/synk/protocol"
	"github.com/synkhq/synk/server/auth"
	"gopkg.in/yaml.v3"
	"k8s.io/apimachinery/pkg/labels"
)

// The HTTP API of netsync: a request waits until its mates arrive.
//
//	GET  /event?event=e&actor=a1&payload=p1[&mates=1&labels=k=v,...&selector=...]
//	POST /event?input=json|yaml   {event: e, actor: a1, payload: p1, mates: 1, labels: {...}, selector: ...}
//	          → 200 {"payloads": {"a1": "p1", "a2": "p2"}}
//	GET  /stats   the pending requests: event → actor → id → {params, created_at}
//
// Both take an optional room=name (the requests of a room meet only each
// other, and websocket clients joined to it) and /event an optional
// timeout=30s (bounded by Options.MeetTimeout).

// errAnswered is returned by parseEvent when it answered the request
// itself (a body it could not read).
var errAnswered = errors.New("server: answered")

// eventQuery lists the query parameters of /event in url input.
var eventQuery = map[string]bool{"event": true, "actor": true, "payload": true, "mates": true, "labels": true,
	"selector": true, "input": true, "room": true, "timeout": true, "token": true}

func (s *Server) serveEvent(w http.ResponseWriter, r *http.Request) {
	if !s.enter() {
		writeError(w, http.StatusServiceUnavailable, protocol.Errorf(protocol.CodeShutdown, "server shutting down"))
		return
	}
	defer s.wg.Done()
	if room := r.URL.Query().Get("room"); protocol.CheckRoom(room) == nil || room == "" {
		if !s.httpAllow(w, r, room, auth.CapMeet, "") { // before any body is read
			return
		}
	}
	scope, p, timeout, err := s.parseEvent(w, r)
	if errors.Is(err, errAnswered) {
		return
	}
	if err != nil {
		writeError(w, http.StatusBadRequest, err)
		return
	}
	if !s.httpAllow(w, r, scope, auth.CapMeet, p.Actor) {
		return
	}
	req, err := s.meets.Prepare(scope, p)
	if err != nil {
		writeError(w, http.StatusBadRequest, err)
		return
	}
	if s.bus != nil {
		s.eventClustered(w, r, scope, req.Params(), timeout)
		return
	}
	met := make(chan map[string]string, 1)
	req.OnMatch = func(payloads map[string]string) { met <- payloads }
	if err := s.meets.Add(req); err != nil {
		writeError(w, http.StatusTooManyRequests, err)
		return
	}
	t := time.NewTimer(timeout)
	defer t.Stop()
	var cause *protocol.Error
	status := http.StatusRequestTimeout
	select {
	case payloads := <-met:
		writeIndented(w, map[string]any{"payloads": payloads})
		return
	case <-t.C:
		cause = protocol.Errorf(protocol.CodeExpired, "no match within %v", timeout)
	case <-r.Context().Done():
		cause = protocol.Errorf(protocol.CodeCanceled, "the request was canceled")
	case <-s.ctx.Done():
		cause, status = protocol.Errorf(protocol.CodeShutdown, "server shutting down"), http.StatusServiceUnavailable
	}
	if !s.meets.Withdraw(req) {
		writeIndented(w, map[string]any{"payloads": <-met}) // matched meanwhile
		return
	}
	writeError(w, status, cause)
}

// eventClustered sends an HTTP meet request to its owner node and writes
// the owner's answer. A request whose client goes away is canceled there;
// the owner's answer to that still ends the handler (or, if the owner
// cannot be heard, 5 s).
func (s *Server) eventClustered(w http.ResponseWriter, r *http.Request, scope string, p meet.Params, timeout time.Duration) {
	met := make(chan map[string]string, 1)
	ended := make(chan *protocol.Error, 1)
	cancel := s.bus.meet(scope, p, timeout, func(payloads map[string]string) { met <- payloads },
		func(e *protocol.Error) { ended <- e })
	var cause *protocol.Error
	select {
	case payloads := <-met:
		writeIndented(w, map[string]any{"payloads": payloads})
		return
	case e := <-ended:
		writeError(w, meetStatus(e.Code), e)
		return
	case <-r.Context().Done():
		cause = protocol.Errorf(protocol.CodeCanceled, "the request was canceled")
	case <-s.ctx.Done():
		cause = protocol.Errorf(protocol.CodeShutdown, "server shutting down")
	}
	cancel(cause.Code, cause.Message)
	t := time.NewTimer(5 * time.Second)
	defer t.Stop()
	select {
	case payloads := <-met: // matched before the cancellation reached the owner
		writeIndented(w, map[string]any{"payloads": payloads})
	case e := <-ended:
		writeError(w, meetStatus(e.Code), e)
	case <-t.C:
		writeError(w, meetStatus(cause.Code), cause)
	}
}

// meetStatus is the HTTP status of a meet that ended with code.
func meetStatus(code protocol.Code) int {
	switch code {
	case protocol.CodeExpired, protocol.CodeCanceled:
		return http.StatusRequestTimeout
	case protocol.CodeShutdown, protocol.CodeInternal:
		return http.StatusServiceUnavailable
	case protocol.CodeTooMany:
		return http.StatusTooManyRequests
	}
	return http.StatusBadRequest
}

// parseEvent reads a request from the query (input "" or "url") or from a
// JSON or YAML body (input "json", "yaml"). Unknown body fields are
// errors; unknown query parameters are ignored.
func (s *Server) parseEvent(w http.ResponseWriter, r *http.Request) (string, meet.Params, time.Duration, error) {
	q := r.URL.Query()
	p := meet.Params{Mates: 1}
	scope := q.Get("room")
	if scope != "" {
		if err := protocol.CheckRoom(scope); err != nil {
			return "", p, 0, err
		}
	}
	timeout := s.opts.MeetTimeout
	if v := q.Get("timeout"); v != "" {
		d, err := time.ParseDuration(v)
		if err != nil || d <= 0 {
			return "", p, 0, protocol.Errorf(protocol.CodeBadRequest, "timeout %q is not a positive duration such as 30s", v)
		}
		timeout = min(d, timeout)
	}
	bad := func(format string, args ...any) (string, meet.Params, time.Duration, error) {
		return "", p, 0, protocol.Errorf(protocol.CodeBadRequest, format, args...)
	}
	switch input := q.Get("input"); input {
	case "", "url":
		// Other parameters (a cache-buster such as _=123) are ignored, as
		// netsync ignores them.
		p.Event, p.Actor, p.Payload, p.Selector = q.Get("event"), q.Get("actor"), q.Get("payload"), q.Get("selector")
		if v := q.Get("mates"); v != "" {
			n, err := strconv.Atoi(v)
			if err != nil {
				return bad("mates %q is not an integer", v)
			}
			p.Mates = n
		}
		if v := q.Get("labels"); v != "" {
			m, err := labels.ConvertSelectorToLabelsMap(v)
			if err != nil {
				return bad("labels %q: %v", v, err)
			}
			p.Labels = m
		}
	case "json", "yaml":
		for k := range q {
			if eventQuery[k] && k != "input" && k != "room" && k != "timeout" && k != "token" {
				return bad("parameter %q belongs in the body with input=%s", k, input)
			}
		}
		body, ok := s.readBody(w, r, s.opts.MaxFrame)
		if !ok {
			return scope, p, timeout, errAnswered
		}
		var err error
		if input == "json" {
			dec := json.NewDecoder(bytes.NewReader(body))
			dec.DisallowUnknownFields()
			err = dec.Decode(&p)
		} else {
			dec := yaml.NewDecoder(bytes.NewReader(body))
			dec.KnownFields(true)
			err = dec.Decode(&p)
		}
		if err != nil {
			return bad("%s body: %v", input, err)
		}
	default:
		return bad("input must be url, json or yaml, not %q", input)
	}
	return scope, p, timeout, nil
}

// maxStats is the most pending requests one /stats answer lists (and the
// default of its limit parameter).
const maxStats = 10000

func (s *Server) serveStats(w http.ResponseWriter, r *http.Request) {
	scope := r.URL.Query().Get("room")
	if scope != "" {
		if err := protocol.CheckRoom(scope); err != nil {
			writeError(w, http.StatusBadRequest, err)
			return
		}
	}
	if !s.httpAllow(w, r, scope, auth.CapMeet, "") {
		return
	}
	limit := maxStats
	if v := r.URL.Query().Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 {
			writeError(w, http.StatusBadRequest, protocol.Errorf(protocol.CodeBadRequest, "limit must be a positive integer, got %q", v))
			return
		}
		limit = min(n, maxStats)
	}
	if s.bus != nil {
		writeIndented(w, s.bus.stats(scope, 500*time.Millisecond))
		return
	}
	stats, more := s.meets.Stats(scope, limit)
	if more > 0 {
		// The body keeps netsync's shape; the header says what it left out.
		w.Header().Set("X-Synk-Omitted", strconv.Itoa(more))
	}
	writeIndented(w, stats)
}

// writeIndented writes v as indented JSON, as netsync did.
func writeIndented(w http.ResponseWriter, v any) {
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		writeError(w, http.StatusInternalServerError, protocol.Errorf(protocol.CodeInternal, "response does not encode"))
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	_, _ = w.Write(append(b, '\n'))
}
