package server

import (
	"sync"

	"github.com/synkhq/synk/protocol"
	"github.com/vmihailenco/msgpack/v5"
)

// Budgets (issue 15). What clients make the server hold is bounded per
// connection and per room by the limits checked where it is used, and
// here server-wide and per address: the bytes of presence and of objects,
// and the HTTP posters of one address. Over a server-wide budget a
// request is refused with CodeOverloaded; over a room's or an address's
// share, with CodeTooMany. Members and objects that other cluster nodes
// admitted are counted, never refused.

// entryOverhead is what a map entry costs beyond its key and value bytes,
// in the budgets' accounting.
const entryOverhead = 48

// entryCost is what one entry of a presence map or an object costs.
func entryCost(key string, value msgpack.RawMessage) int64 {
	return int64(len(key) + len(value) + entryOverhead)
}

// mapCost is what a whole map costs.
func mapCost(m map[string]msgpack.RawMessage) int64 {
	var n int64
	for k, v := range m {
		n += entryCost(k, v)
	}
	return n
}

// costDelta is how much the cost of m changes if del are removed, then
// set stored.
func costDelta(m map[string]msgpack.RawMessage, set []protocol.Entry, del []string) int64 {
	var d int64
	gone := make(map[string]bool, len(del))
	for _, k := range del {
		if v, ok := m[k]; ok && !gone[k] {
			gone[k] = true
			d -= entryCost(k, v)
		}
	}
	final := make(map[string]int, len(set)) // the last value set for each key wins
	for i, e := range set {
		final[e.Key] = i
	}
	for k, i := range final {
		if v, ok := m[k]; ok && !gone[k] {
			d -= entryCost(k, v)
		}
		d += entryCost(k, set[i].Value)
	}
	return d
}

// holdings counts what the server holds against its budgets.
type holdings struct {
	opts *Options

	mu       sync.Mutex // Protects the following.
	presence int64      // bytes of presence, every room's
	objects  int64      // bytes of objects, every room's
	perIP    map[string]*ipHoldings
}

// ipHoldings is what the clients of one address hold.
type ipHoldings struct {
	presence int64 // bytes of presence of its members (websocket and HTTP)
	posters  int   // HTTP posters it keeps in rooms
	rooms    int   // rooms its clients created that are open
}

func (h *holdings) ip(addr string) *ipHoldings {
	if h.perIP == nil {
		h.perIP = make(map[string]*ipHoldings)
	}
	u := h.perIP[addr]
	if u == nil {
		u = &ipHoldings{}
		h.perIP[addr] = u
	}
	return u
}

// tidy forgets addr once it holds nothing. The caller holds h.mu.
func (h *holdings) tidy(addr string) {
	if u := h.perIP[addr]; u != nil && u.presence == 0 && u.posters == 0 && u.rooms == 0 {
		delete(h.perIP, addr)
	}
}

// admitPresence counts d more bytes of presence for a member of r from
// addr ("" for a member of another node, which is never refused), or
// refuses them if r, the server or addr would go over its budget. The
// caller holds r.mu; a negative d always succeeds.
func (h *holdings) admitPresence(r *room, addr string, d int64) error {
	return h.admitReplacing(r, addr, d, nil)
}

// admitReplacing is admitPresence for a member that takes old's place
// (old may be nil): the bytes old holds count as freed, since removing it
// will free them.
func (h *holdings) admitReplacing(r *room, addr string, d int64, old *member) error {
	h.mu.Lock()
	defer h.mu.Unlock()
	if d > 0 && addr != "" {
		var credit, ipCredit int64
		if old != nil {
			credit = old.cost
			if old.ip == addr {
				ipCredit = old.cost
			}
		}
		switch {
		case r.presence-credit+d > int64(h.opts.MaxRoomPresence):
			return protocol.Errorf(protocol.CodeTooMany, "room %s would hold %d bytes of presence, over its limit of %d", r.name, r.presence-credit+d, h.opts.MaxRoomPresence)
		case h.presence-credit+d > h.opts.MaxPresence:
			return protocol.Errorf(protocol.CodeOverloaded, "the server holds its limit of %d bytes of presence", h.opts.MaxPresence)
		case h.ip(addr).presence-ipCredit+d > h.opts.MaxPresencePerIP:
			h.tidy(addr)
			return protocol.Errorf(protocol.CodeTooMany, "the clients of one address may hold %d bytes of presence", h.opts.MaxPresencePerIP)
		}
	}
	r.presence += d
	h.presence += d
	if addr != "" {
		h.ip(addr).presence += d
		h.tidy(addr)
	}
	return nil
}

// admitPoster counts a new HTTP poster from addr, or refuses it if addr
// keeps MaxPostersPerIP already.
func (h *holdings) admitPoster(addr string) error {
	h.mu.Lock()
	defer h.mu.Unlock()
	u := h.ip(addr)
	if u.posters >= h.opts.MaxPostersPerIP {
		h.tidy(addr)
		return protocol.Errorf(protocol.CodeTooMany, "one address may keep %d HTTP posters in rooms at once", h.opts.MaxPostersPerIP)
	}
	u.posters++
	return nil
}

// takeRoom counts a room created by a client of addr, or reports false if
// addr has MaxRoomsPerIP open already.
func (h *holdings) takeRoom(addr string) bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	u := h.ip(addr)
	if u.rooms >= h.opts.MaxRoomsPerIP {
		h.tidy(addr)
		return false
	}
	u.rooms++
	return true
}

// releaseRoom uncounts a room created by a client of addr, freed now.
func (h *holdings) releaseRoom(addr string) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.ip(addr).rooms--
	h.tidy(addr)
}

// releasePoster uncounts an HTTP poster of addr.
func (h *holdings) releasePoster(addr string) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.ip(addr).posters--
	h.tidy(addr)
}

// objectCost is what an object costs in the budgets.
func objectCost(o *object) int64 {
	return int64(len(o.id)+len(o.kind)+len(o.area)+entryOverhead) + mapCost(o.fields)
}

// overObjects returns an error if d more bytes of objects would take the
// server past its budget.
func (h *holdings) overObjects(d int64) error {
	h.mu.Lock()
	defer h.mu.Unlock()
	if d > 0 && h.objects+d > h.opts.MaxObjectBytes {
		return protocol.Errorf(protocol.CodeOverloaded, "the server holds its limit of %d bytes of objects", h.opts.MaxObjectBytes)
	}
	return nil
}

// settle brings the server's count of object bytes up to date with r's
// objects and history, which its writes, restores and reloads keep. The
// caller holds r.mu.
func (h *holdings) settle(r *room) {
	if d := r.objs.cost() - r.counted; d != 0 {
		h.mu.Lock()
		h.objects += d
		h.mu.Unlock()
		r.counted += d
	}
}

// drop uncounts what a room being freed still holds: members of other
// nodes, and objects (none, or it would not be freed). The caller holds
// r.mu.
func (h *holdings) drop(r *room) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.presence -= r.presence
	h.objects -= r.counted
	r.presence, r.counted = 0, 0
}
