// Package meet is the rendezvous board of netsync's model: a request
// waits until enough others with the same event arrive that every
// member's label selector matches every other member's labels, both ways;
// then all get every payload, keyed by actor. Groups are formed
// longest-waiting first, for groups of every size (see Board.Add). The
// server (server/) puts the requests of its HTTP /event endpoint, its
// websocket clients and its cluster's nodes on one Board.
package meet

import (
	"cmp"
	"maps"
	"math/rand/v2"
	"slices"
	"sync"
	"time"

	"github.com/synkhq/synk/protocol"
	"k8s.io/apimachinery/pkg/labels"
)

// Params is one rendezvous request, as the seed project netsync took
// it over HTTP (protocol.Meet carries the same over the websocket).
type Params struct {
	Event    string            `json:"event" yaml:"event"`
	Actor    string            `json:"actor" yaml:"actor"`
	Payload  string            `json:"payload" yaml:"payload"`
	Labels   map[string]string `json:"labels" yaml:"labels"`
	Selector string            `json:"selector" yaml:"selector"`
	Mates    int               `json:"mates" yaml:"mates"`
}

// Request is one pending request on the board.
type Request struct {
	seq     uint64 // arrival order: lower waited longer
	rid     string // its name in /stats
	scope   string // room, or "" for the server-wide scope
	params  Params
	sel     labels.Selector
	set     labels.Set
	created time.Time
	OnMatch func(payloads map[string]string) // called once, under the board's lock; must not block; set before Add
	gone    bool                             // matched or withdrawn
	queued  bool                             // on the board (not only arriving)

	// claimer is the older pending request r waits for: r is kept for
	// its group and forms no other group with younger requests. A
	// request claims at most its mates.
	claimer *Request
	claims  int // how many pending requests this one claims
}

type eventKey struct{ scope, event string }

// Board holds the pending requests and forms groups. Everything runs
// under its lock, in the goroutine that adds or withdraws a request: a
// group can only form when a request arrives, and it includes that
// request.
type Board struct {
	maxMates, maxPending, maxPerEvent, budget int
	maxBytes                                  int64 // of pending requests, as cost counts them

	Queued chan<- *Request // if set (tests): told of every request left pending
	Left   chan<- *Request // if set (tests): told of every request withdrawn

	mu      sync.Mutex // Protects the following.
	queues  map[eventKey][]*Request
	gone    map[eventKey]int // requests of each queue matched or withdrawn
	seq     uint64
	pending int
	bytes   int64 // the pending requests' cost
}

// cost is what a pending request costs in the board's budget of
// bytes: its strings and labels, and 256 bytes of bookkeeping.
func cost(r *Request) int64 {
	p := &r.params
	n := 256 + len(p.Event) + len(p.Actor) + len(p.Payload) + len(p.Selector)
	for k, v := range p.Labels {
		n += len(k) + len(v) + 32
	}
	return int64(n)
}

// searchBudget bounds the pairs one arrival may test while looking for a
// group: finding a group in which every pair matches is a clique problem.
// A request whose search runs out waits for the next arrival.
const searchBudget = 20000

// New returns an empty board: a request may ask for at most maxMates
// mates; the board holds at most maxPending requests, maxPerEvent of one
// event and scope, and maxBytes of them as cost counts.
func New(maxMates, maxPending, maxPerEvent int, maxBytes int64) *Board {
	return &Board{maxMates: maxMates, maxPending: maxPending, maxPerEvent: maxPerEvent, maxBytes: maxBytes, budget: searchBudget,
		queues: make(map[eventKey][]*Request), gone: make(map[eventKey]int)}
}

// Prepare validates p, fills in the seed's defaults (labels actor=<actor>,
// selector "actor != <actor>") and parses it into a request.
func (b *Board) Prepare(scope string, p Params) (*Request, error) {
	if err := protocol.CheckKey(p.Event); err != nil {
		return nil, protocol.Errorf(protocol.CodeBadRequest, "event must be 1 to %d bytes of UTF-8 without control characters", protocol.MaxNameLen)
	}
	if err := protocol.CheckActor(p.Actor); err != nil {
		return nil, err
	}
	if p.Mates < 0 || p.Mates > b.maxMates {
		return nil, protocol.Errorf(protocol.CodeBadRequest, "mates must be 0 to %d, got %d", b.maxMates, p.Mates)
	}
	if len(p.Labels) == 0 {
		p.Labels = map[string]string{"actor": p.Actor}
	}
	if p.Selector == "" {
		p.Selector = "actor != " + p.Actor
	}
	set := labels.Set(maps.Clone(p.Labels))
	if _, err := labels.ValidatedSelectorFromSet(set); err != nil {
		return nil, protocol.Errorf(protocol.CodeBadRequest, "labels: %v", err)
	}
	sel, err := labels.Parse(p.Selector)
	if err != nil {
		return nil, protocol.Errorf(protocol.CodeBadRequest, "selector %q: %v", p.Selector, err)
	}
	return &Request{rid: ridString(), scope: scope, params: p, sel: sel, set: set, created: time.Now()}, nil
}

// Params returns the request as Prepare made it (defaults filled in).
func (r *Request) Params() Params { return r.params }

// ridString returns 8 random letters, as netsync named requests in /stats.
func ridString() string {
	const letters = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
	b := make([]byte, 8)
	for i := range b {
		b[i] = letters[rand.IntN(len(letters))]
	}
	return string(b)
}

// Add forms the oldest group that r completes, if any, calling every
// member's OnMatch before it returns; else it leaves r pending, unless the
// board is full.
func (b *Board) Add(r *Request) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.seq++
	r.seq = b.seq
	key := eventKey{r.scope, r.params.Event}
	if group := b.match(r, b.queues[key]); group != nil {
		b.form(key, group)
		return nil
	}
	if b.pending >= b.maxPending {
		return protocol.Errorf(protocol.CodeTooMany, "the server holds the limit of %d pending meets", b.maxPending)
	}
	// An arrival tests every pending request of its event: bounding them
	// bounds its work (issue 15.8: 10,000 pending made each arrival scan
	// them all, a core busy at 180 arrivals a second).
	if len(b.queues[key])-b.gone[key] >= b.maxPerEvent {
		return protocol.Errorf(protocol.CodeTooMany, "event %q holds the limit of %d pending meets", r.params.Event, b.maxPerEvent)
	}
	if c := cost(r); b.bytes+c > b.maxBytes {
		return protocol.Errorf(protocol.CodeOverloaded, "the server holds its limit of %d bytes of pending meets", b.maxBytes)
	}
	b.queues[key] = append(b.queues[key], r)
	r.queued = true
	b.pending++
	b.bytes += cost(r)
	b.claim(r, b.queues[key])
	if b.Queued != nil {
		b.Queued <- r
	}
	return nil
}

// form takes the members of group off the board, frees the requests they
// claimed, and tells every member. The freed requests are then placed
// again, oldest first, as if they had just arrived in their old place.
func (b *Board) form(key eventKey, group []*Request) {
	payloads := make(map[string]string, len(group))
	for _, m := range group {
		payloads[m.params.Actor] = m.params.Payload
	}
	var freed []*Request
	for _, m := range group {
		freed = b.drop(key, m, freed)
	}
	b.compact(key)
	for _, m := range group {
		m.OnMatch(payloads)
	}
	b.replace(key, freed)
}

// drop marks r gone, undoes its claims both ways, and appends the
// requests it claimed to freed.
func (b *Board) drop(key eventKey, r *Request, freed []*Request) []*Request {
	r.gone = true
	if r.queued {
		b.pending--
		b.bytes -= cost(r)
		b.gone[key]++
	}
	if r.claimer != nil {
		r.claimer.claims--
		r.claimer = nil
	}
	if r.claims > 0 {
		for _, q := range b.queues[key] {
			if q.claimer == r {
				q.claimer = nil
				freed = append(freed, q)
			}
		}
		r.claims = 0
	}
	return freed
}

// replace places freed requests again, oldest first: each one forms the
// oldest group it completes, or is claimed anew.
func (b *Board) replace(key eventKey, freed []*Request) {
	slices.SortFunc(freed, func(x, y *Request) int { return cmp.Compare(x.seq, y.seq) })
	for _, r := range freed {
		if r.gone || r.claimer != nil {
			continue
		}
		if group := b.match(r, b.queues[key]); group != nil {
			b.form(key, group)
			continue
		}
		b.claim(r, b.queues[key])
	}
}

// claim makes pending r wait for the oldest older pending request it
// matches that is itself unclaimed and claims fewer than its mates: a
// request that needs 3 mates is then completed by the next arrivals
// rather than watching pairs form from them (issue 17.3).
func (b *Board) claim(r *Request, q []*Request) {
	if r.params.Mates == 0 {
		return
	}
	for _, c := range q {
		if c.seq >= r.seq {
			return
		}
		if !c.gone && c.claimer == nil && c.claims < c.params.Mates && compatible(c, r) {
			r.claimer = c
			c.claims++
			return
		}
	}
}

// Withdraw takes r off the board. It reports false if r was matched (or
// withdrawn) already. Requests r claimed are placed again, and may form
// groups at once.
func (b *Board) Withdraw(r *Request) bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	if r.gone {
		return false
	}
	key := eventKey{r.scope, r.params.Event}
	freed := b.drop(key, r, nil)
	b.compact(key)
	if b.Left != nil {
		b.Left <- r
	}
	b.replace(key, freed)
	return true
}

// compact drops gone requests from a queue once they are half of it.
func (b *Board) compact(key eventKey) {
	q, gone := b.queues[key], b.gone[key]
	switch {
	case gone == len(q):
		delete(b.queues, key)
		delete(b.gone, key)
	case gone*2 >= len(q):
		b.gone[key] = 0
		live := make([]*Request, 0, len(q)-gone)
		for _, r := range q {
			if !r.gone {
				live = append(live, r)
			}
		}
		b.queues[key] = live
	}
}

// compatible reports whether a and b may be in one group: distinct actors
// (payloads are keyed by actor), and each one's selector matches the
// other's labels.
func compatible(a, b *Request) bool {
	return a.params.Actor != b.params.Actor && a.sel.Matches(b.set) && b.sel.Matches(a.set)
}

// match returns the group r completes with the pending requests q, r
// included, or nil. Groups are tried by their oldest member (the head),
// oldest first, then member by member in arrival order, so the request
// that waited longest and can be completed is. A request claimed by
// another (see claim) is used only in a group of that request or of an
// older one; a claimed request is nobody's head. A group has as many
// members as its largest mates plus one.
func (b *Board) match(r *Request, q []*Request) []*Request {
	if r.params.Mates == 0 {
		return []*Request{r}
	}
	var cands []*Request
	for _, c := range q {
		if c != r && !c.gone && compatible(r, c) {
			cands = append(cands, c)
		}
	}
	budget := b.budget
	var list []*Request
	for _, h := range cands {
		if h.seq > r.seq {
			break // r is older than the rest: it heads its group
		}
		if h.claimer != nil {
			continue
		}
		if g := b.headed(h, r, cands, &list, &budget); g != nil || budget < 0 {
			return g
		}
	}
	return b.headed(r, r, cands, &list, &budget)
}

// headed returns the group headed by h that holds r, from cands (every
// pending request r matches, in arrival order), or nil. list is scratch.
func (b *Board) headed(h, r *Request, cands []*Request, list *[]*Request, budget *int) []*Request {
	*list = (*list)[:0]
	for _, c := range cands {
		if c == h || c.seq < h.seq || (c.claimer != nil && c.claimer != h && c.claimer.seq < h.seq) {
			continue
		}
		if h != r {
			if *budget--; *budget < 0 {
				return nil
			}
			if !compatible(h, c) {
				continue
			}
		}
		*list = append(*list, c)
	}
	group := []*Request{h}
	if h != r {
		group = append(group, r)
	}
	return search(group, max(h.params.Mates, r.params.Mates)+1, *list, 0, budget)
}

// search extends group, whose members all match pairwise, to target
// members with cands[from:], oldest first, or returns nil.
func search(group []*Request, target int, cands []*Request, from int, budget *int) []*Request {
	if len(group) == target {
		return group
	}
	for i := from; i < len(cands) && len(group)+len(cands)-i >= target; i++ {
		c := cands[i]
		need := max(target, c.params.Mates+1)
		if need > target && len(group)+len(cands)-i < need {
			continue // c wants more mates than are left
		}
		ok := true
		for _, m := range group[1:] { // group[0] was checked when cands was built
			if *budget--; *budget < 0 {
				return nil
			}
			if !compatible(m, c) {
				ok = false
				break
			}
		}
		if !ok {
			continue
		}
		if g := search(append(group, c), need, cands, i+1, budget); g != nil {
			return g
		}
		if *budget < 0 {
			return nil
		}
	}
	return nil
}

// Stat is one pending request in /stats, in netsync's shape.
type Stat struct {
	Params    Params    `json:"params"`
	CreatedAt time.Time `json:"created_at"`
}

// Stats returns the pending requests of scope: event → actor → rid, at
// most limit of them, and how many more there are.
func (b *Board) Stats(scope string, limit int) (map[string]map[string]map[string]Stat, int) {
	b.mu.Lock()
	defer b.mu.Unlock()
	out := make(map[string]map[string]map[string]Stat)
	n, more := 0, 0
	for key, q := range b.queues {
		if key.scope != scope {
			continue
		}
		for _, r := range q {
			if r.gone {
				continue
			}
			if n++; n > limit {
				more++
				continue
			}
			byActor := out[key.event]
			if byActor == nil {
				byActor = make(map[string]map[string]Stat)
				out[key.event] = byActor
			}
			if byActor[r.params.Actor] == nil {
				byActor[r.params.Actor] = make(map[string]Stat)
			}
			byActor[r.params.Actor][r.rid] = Stat{Params: r.params, CreatedAt: r.created}
		}
	}
	return out, more
}

// Count returns the number of pending requests.
func (b *Board) Count() int {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.pending
}
