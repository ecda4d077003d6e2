package server

import (
	"bytes"
	"encoding/json"
	"fmt"
	"maps"
	"math"
	"net/http"
	"slices"
	"strconv"
	"strings"

	"github.com/synkhq/synk/protocol"
	"github.com/synkhq/synk/server/auth"
	"github.com/vmihailenco/msgpack/v5"
)

// The HTTP API of supersynk: a poster sends its entries and gets everyone
// else's in return.
//
//	POST /synk/{room}  {"c":"ada","d":[{"k":"head","v":"..."}]}
//	          → 200    [{"c":"joe","d":[{"k":"head","v":"..."}]}]
//
// Values may be any JSON value; they are stored as msgpack and shown to
// websocket members as such. Binary values set over websocket come back as
// base64 strings.

// jsonMember is a member in the supersynk JSON shape. Entries is the
// JSON array of its {"k":..,"v":..} entries.
type jsonMember struct {
	Client  string          `json:"c"`
	Entries json.RawMessage `json:"d"`
}

type jsonEntry struct {
	Key   string `json:"k"`
	Value any    `json:"v"`
}

func (s *Server) servePost(w http.ResponseWriter, r *http.Request) {
	if s.ctx.Err() != nil {
		writeError(w, http.StatusServiceUnavailable, protocol.Errorf(protocol.CodeShutdown, "server shutting down"))
		return
	}
	name := r.PathValue("room")
	if err := protocol.CheckRoom(name); err != nil {
		writeError(w, http.StatusBadRequest, err)
		return
	}
	if err := s.serves(name); err != nil {
		writeError(w, http.StatusForbidden, err)
		return
	}
	if !s.httpAllow(w, r, name, auth.CapPresence, "") { // before the body is read
		return
	}
	body, ok := s.readBody(w, r, s.opts.MaxFrame)
	if !ok {
		return
	}
	client, entries, posted, err := parsePost(body)
	if err != nil {
		writeError(w, http.StatusBadRequest, err)
		return
	}
	if !s.httpAllow(w, r, name, auth.CapPresence, client) {
		return
	}
	others, err := s.post(name, client, remoteIP(r.RemoteAddr), entries, posted)
	if err != nil {
		writeError(w, http.StatusBadRequest, err)
		return
	}
	writeJSON(w, http.StatusOK, others)
}

func (s *Server) serveGet(w http.ResponseWriter, r *http.Request) {
	name := r.PathValue("room")
	if err := protocol.CheckRoom(name); err != nil {
		writeError(w, http.StatusBadRequest, err)
		return
	}
	if err := s.serves(name); err != nil {
		writeError(w, http.StatusForbidden, err)
		return
	}
	if !s.httpAllow(w, r, name, auth.CapObserve, "") {
		return
	}
	writeJSON(w, http.StatusOK, s.members(name))
}

// serveRooms lists the rooms the request's token may observe.
func (s *Server) serveRooms(w http.ResponseWriter, r *http.Request) {
	g, ok := s.httpGrant(w, r)
	if !ok {
		return
	}
	rooms := s.Rooms()
	rooms = slices.DeleteFunc(rooms, func(ri RoomInfo) bool { return !g.Allows(ri.Name, auth.CapObserve) })
	writeJSON(w, http.StatusOK, rooms)
}

// parsePost validates a supersynk request body and converts its values to
// msgpack. posted is its "d" as sent, compacted: HTTP readers get it back
// as is, with every number spelled as posted and the entries in their
// order. Its errors say which part is wrong.
func parsePost(body []byte) (client string, entries []protocol.Entry, posted []byte, err error) {
	bad := func(format string, args ...any) (string, []protocol.Entry, []byte, error) {
		return "", nil, nil, protocol.Errorf(protocol.CodeBadRequest, format, args...)
	}
	var top map[string]json.RawMessage
	if err := json.Unmarshal(body, &top); err != nil {
		return bad("body is not a JSON object: %v", err)
	}
	if raw, ok := top["c"]; !ok {
		return bad(`"c" (the client id) is missing`)
	} else if json.Unmarshal(raw, &client) != nil {
		return bad(`"c" must be a string, got %s`, raw)
	}
	if client == "" {
		return bad(`"c" must not be empty`)
	}
	if err := protocol.CheckClient(client); err != nil {
		return "", nil, nil, err
	}
	var items []json.RawMessage
	if raw, ok := top["d"]; !ok || string(raw) == "null" {
		return bad(`"d" (the client's data, an array of {"k":..,"v":..}) is missing`)
	} else if json.Unmarshal(raw, &items) != nil {
		return bad(`"d" must be an array of {"k":..,"v":..}, got %s`, raw)
	}
	entries = make([]protocol.Entry, 0, len(items))
	seen := make(map[string]bool, len(items))
	var out bytes.Buffer
	out.WriteByte('[')
	for i, raw := range items {
		var item map[string]json.RawMessage
		if json.Unmarshal(raw, &item) != nil {
			return bad(`d[%d] must be an object, got %s`, i, raw)
		}
		var key string
		if k, ok := item["k"]; !ok || json.Unmarshal(k, &key) != nil {
			return bad(`d[%d].k must be a string`, i)
		}
		if err := protocol.CheckKey(key); err != nil {
			return "", nil, nil, err
		}
		if seen[key] {
			return bad(`d[%d].k: key %q appears twice`, i, key)
		}
		seen[key] = true
		v, ok := item["v"]
		if !ok {
			return bad(`d[%d].v is missing`, i)
		}
		val, err := jsonToMsgpack(v)
		if err != nil {
			return bad(`d[%d].v: %v`, i, err)
		}
		entries = append(entries, protocol.Entry{Key: key, Value: val})
		if i > 0 {
			out.WriteByte(',')
		}
		k, _ := json.Marshal(key)
		out.WriteString(`{"k":`)
		out.Write(k)
		out.WriteString(`,"v":`)
		if err := json.Compact(&out, v); err != nil {
			return bad(`d[%d].v: %v`, i, err)
		}
		out.WriteByte('}')
	}
	out.WriteByte(']')
	return client, entries, out.Bytes(), nil
}

func jsonToMsgpack(raw json.RawMessage) (msgpack.RawMessage, error) {
	d := json.NewDecoder(bytes.NewReader(raw))
	d.UseNumber()
	var v any
	if err := d.Decode(&v); err != nil {
		return nil, err
	}
	v, err := numbers(v)
	if err != nil {
		return nil, err
	}
	// Keys in sorted order: the same JSON is always the same bytes, which
	// unchanged-value checks compare.
	var buf bytes.Buffer
	enc := msgpack.NewEncoder(&buf)
	enc.SetSortMapKeys(true)
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// numbers turns each json.Number into an int64 or uint64 where exact,
// else a float64; a number beyond float64's range is an error rather
// than an infinity that JSON cannot show.
func numbers(v any) (any, error) {
	var err error
	switch v := v.(type) {
	case json.Number:
		if i, err := v.Int64(); err == nil {
			return i, nil
		}
		if u, err := strconv.ParseUint(string(v), 10, 64); err == nil {
			return u, nil
		}
		f, err := v.Float64()
		if err != nil {
			return nil, fmt.Errorf("number %s is beyond a 64-bit float's range", v)
		}
		return f, nil
	case []any:
		for i := range v {
			if v[i], err = numbers(v[i]); err != nil {
				return nil, err
			}
		}
	case map[string]any:
		for k := range v {
			if v[k], err = numbers(v[k]); err != nil {
				return nil, err
			}
		}
	}
	return v, nil
}

// jsonMembers returns the members of r but except in the supersynk
// shape: an HTTP poster's entries as posted, a websocket member's in key
// order. The caller holds r.mu.
func (r *room) jsonMembers(except string) []jsonMember {
	out := make([]jsonMember, 0, len(r.members))
	for _, id := range slices.Sorted(maps.Keys(r.members)) {
		m := r.members[id]
		if id == except {
			continue
		}
		d := json.RawMessage(m.posted)
		if d == nil {
			es := make([]jsonEntry, 0, len(m.entries))
			for _, e := range sortedEntries(m.entries) {
				es = append(es, jsonEntry{Key: e.Key, Value: msgpackToJSON(e.Value)})
			}
			d, _ = json.Marshal(es) // jsonSafe leaves nothing it cannot write
		}
		out = append(out, jsonMember{Client: id, Entries: d})
	}
	return out
}

// setPosted keeps posted, m's data as its poster sent it (see parsePost),
// for HTTP readers, counting its bytes with m's presence. The caller
// holds r.mu.
func (r *room) setPosted(m *member, posted []byte) error {
	d := int64(len(posted) - len(m.posted))
	if err := r.hold.admitPresence(r, m.ip, d); err != nil {
		return err
	}
	m.posted, m.cost = posted, m.cost+d
	return nil
}

// msgpackToJSON decodes a msgpack value into something encoding/json can
// write. A value it cannot express is shown as its raw bytes, in base64.
func msgpackToJSON(raw msgpack.RawMessage) any {
	var v any
	if err := msgpack.Unmarshal(raw, &v); err != nil {
		return []byte(raw)
	}
	return jsonSafe(v)
}

func jsonSafe(v any) any {
	switch v := v.(type) {
	case float64:
		if math.IsNaN(v) || math.IsInf(v, 0) {
			return nil
		}
	case float32:
		if math.IsNaN(float64(v)) || math.IsInf(float64(v), 0) {
			return nil
		}
	case []any:
		for i := range v {
			v[i] = jsonSafe(v[i])
		}
	case map[string]any:
		for k := range v {
			v[k] = jsonSafe(v[k])
		}
	case map[any]any:
		m := make(map[string]any, len(v))
		for k, x := range v {
			m[fmt.Sprint(k)] = jsonSafe(x)
		}
		return m
	}
	return v
}

// noRoutes are the server's paths with no method, and the tree under
// /synk/: serveNoRoute answers what the routes with a method leave.
var noRoutes = []string{"/ws", "/synk", "/synk/", "/event", "/stats", "/metrics"}

// serveNoRoute answers a request to the server's paths that no route
// takes, in JSON like every other error: 405 MethodNotAllowed with Allow
// when the path is known for another method, else 404.
func (s *Server) serveNoRoute(w http.ResponseWriter, r *http.Request) {
	var allow []string
	for _, m := range []string{http.MethodGet, http.MethodPost, http.MethodPut} {
		other := *r
		other.Method = m
		if _, pattern := s.mux.Handler(&other); pattern != "" && !slices.Contains(noRoutes, pattern) {
			allow = append(allow, m)
		}
	}
	if len(allow) > 0 {
		w.Header().Set("Allow", strings.Join(allow, ", "))
		writeError(w, http.StatusMethodNotAllowed, protocol.Errorf(protocol.CodeMethodNotAllowed, "%s is not allowed on %s; %s is", r.Method, r.URL.Path, strings.Join(allow, ", ")))
		return
	}
	writeError(w, http.StatusNotFound, protocol.Errorf(protocol.CodeNotFound, "no such route: %s %s", r.Method, r.URL.Path))
}

// httpError is the JSON body of every HTTP error.
type httpError struct {
	Code    protocol.Code `json:"code"`
	Name    string        `json:"name"`
	Message string        `json:"message"`
}

func writeError(w http.ResponseWriter, status int, err error) {
	e := asProtocolError(err)
	switch e.Code {
	case protocol.CodeConflict:
		status = http.StatusConflict
	case protocol.CodeShutdown:
		status = http.StatusServiceUnavailable
	case protocol.CodeUnauthorized:
		status = http.StatusUnauthorized
	case protocol.CodeForbidden:
		status = http.StatusForbidden
	case protocol.CodeTooMany:
		if status == http.StatusBadRequest {
			status = http.StatusTooManyRequests // a limit, not a malformed request
		}
	case protocol.CodeOverloaded:
		if status == http.StatusBadRequest {
			status = http.StatusServiceUnavailable
		}
		w.Header().Set("Retry-After", "1")
	}
	writeJSON(w, status, map[string]httpError{"error": {Code: e.Code, Name: e.Code.String(), Message: e.Message}})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		status, b = http.StatusInternalServerError, []byte(`{"error":{"code":303,"name":"Internal","message":"response does not encode"}}`)
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_, _ = w.Write(append(b, '\n'))
}
