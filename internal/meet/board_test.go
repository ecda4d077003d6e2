package meet

import (
	"cmp"
	"fmt"
	"maps"
	"math/rand/v2"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/synkhq/synk/protocol"
)

// TestMeet_random drives the board with seeded random requests and
// withdrawals and checks every group: as many members as its largest
// mates plus one, distinct actors, every pair matching both ways, no
// request in two groups or matched after leaving, and the group an
// arrival completes the oldest possible one given who claims whom
// (checked by brute force).
func TestMeet_random(t *testing.T) {
	t.Parallel()
	rng := rand.New(rand.NewPCG(5, 55))
	b := New(3, 1000, 1000, 1<<30)
	roles := []string{"a", "b", "c"}
	var pending []*Request
	matched := map[*Request]bool{}
	var mu sync.Mutex // onMatch runs under the board's lock, in this goroutine; mu documents that
	var calls []*Request
	groupOf := map[*Request]map[string]string{} // the payloads each member got
	groups := 0
	// check validates the groups formed by one step and returns the
	// one holding r, if any.
	check := func(step int, r *Request) []*Request {
		byGroup := map[string][]*Request{}
		for _, m := range calls {
			if matched[m] {
				t.Fatalf("step %d: request %d matched twice", step, m.seq)
			}
			matched[m] = true
			k := strings.Join(slices.Sorted(maps.Keys(groupOf[m])), ",")
			byGroup[k] = append(byGroup[k], m)
		}
		calls = nil
		var withR []*Request
		for _, g := range byGroup {
			groups++
			size := 0
			for _, m := range g {
				size = max(size, m.params.Mates+1)
				for _, o := range g {
					if o != m && !compatible(m, o) {
						t.Fatalf("step %d: %s and %s do not match", step, m.params.Actor, o.params.Actor)
					}
				}
				if m == r {
					withR = g
				}
			}
			if size != len(g) {
				t.Fatalf("step %d: group of %d, largest mates+1 is %d", step, len(g), size)
			}
		}
		pending = slices.DeleteFunc(pending, func(p *Request) bool { return matched[p] })
		return withR
	}
	for step := range 3000 {
		if len(pending) > 0 && rng.IntN(5) == 0 {
			i := rng.IntN(len(pending))
			w := pending[i]
			if !b.Withdraw(w) {
				t.Fatalf("step %d: withdraw of a pending request failed", step)
			}
			pending = slices.Delete(pending, i, i+1)
			check(step, nil)
			continue
		}
		role := roles[rng.IntN(len(roles))]
		sel := ""
		switch rng.IntN(4) {
		case 0:
			sel = "role != " + roles[rng.IntN(len(roles))]
		case 1:
			sel = "role in (" + roles[rng.IntN(len(roles))] + "," + roles[rng.IntN(len(roles))] + ")"
		}
		r, err := b.Prepare("", Params{Event: "e", Actor: fmt.Sprint("p", step), Mates: 1 + rng.IntN(3),
			Labels: map[string]string{"role": role}, Selector: sel})
		if err != nil {
			t.Fatal(err)
		}
		r.OnMatch = func(p map[string]string) {
			mu.Lock()
			groupOf[r] = p
			calls = append(calls, r)
			mu.Unlock()
		}
		want := oldestGroup(r, pending)
		b.Add(r)
		got := check(step, r)
		if !slices.Equal(memberSeqs(got), memberSeqs(want)) {
			t.Fatalf("step %d: group %v, brute force finds %v", step, memberSeqs(got), memberSeqs(want))
		}
		if got == nil {
			pending = append(pending, r)
		}
	}
	if b.Count() != len(pending) || groups < 100 {
		t.Fatalf("board holds %d, test %d; %d groups formed", b.Count(), len(pending), groups)
	}
}

// oldestGroup finds by brute force the group r would complete: the first,
// in arrival order member by member, of the valid groups whose oldest
// member is claimed by nobody and whose other members are claimed by
// nobody, by it, or by a younger request.
func oldestGroup(r *Request, pending []*Request) []*Request {
	var best []*Request
	var try func(group []*Request, from int)
	try = func(group []*Request, from int) {
		if best != nil {
			return
		}
		size := 0
		for _, m := range group {
			size = max(size, m.params.Mates+1)
		}
		if len(group) == size {
			best = slices.Clone(group)
			return
		}
		if len(group) > size {
			return
		}
		for i := from; i < len(pending); i++ {
			c := pending[i]
			if c.claimer != nil && c.claimer != group[0] && c.claimer.seq < group[0].seq {
				continue
			}
			ok := true
			for _, m := range group {
				ok = ok && compatible(m, c)
			}
			if ok {
				try(append(group, c), i+1)
			}
		}
	}
	for i, h := range pending {
		if h.claimer == nil && compatible(h, r) {
			try([]*Request{h, r}, i+1)
		}
		if best != nil {
			return best
		}
	}
	if r.params.Mates == 0 {
		return []*Request{r}
	}
	return nil // r is the youngest: it heads no group but its own
}

func memberSeqs(g []*Request) []uint64 {
	var out []uint64
	for _, m := range g {
		out = append(out, m.seq)
	}
	slices.Sort(out)
	return out
}

// TestBoard_claims: a request that completes no group waits for the
// oldest matching request still short of mates (issue 17.3); a claimer
// that leaves frees what it claimed, which pairs at once; claimed
// requests count towards their claimer's group whatever their own size.
func TestBoard_claims(t *testing.T) {
	t.Parallel()
	// A claimer that leaves frees what it claimed: the two it held pair.
	b := New(8, 100, 100, 1<<20)
	var formed [][]string
	req := func(actor string, mates int) *Request {
		r, err := b.Prepare("", Params{Event: "e", Actor: actor, Mates: mates})
		if err != nil {
			t.Fatal(err)
		}
		r.OnMatch = func(p map[string]string) {
			if actor == slices.Min(slices.Collect(maps.Keys(p))) {
				formed = append(formed, slices.Sorted(maps.Keys(p)))
			}
		}
		if err := b.Add(r); err != nil {
			t.Fatal(err)
		}
		return r
	}
	big := req("a", 5)
	req("b", 1)
	req("c", 1)
	if len(formed) != 0 || big.claims != 2 {
		t.Fatalf("groups %v, claims %d: b and c should wait for a", formed, big.claims)
	}
	b.Withdraw(big)
	if !slices.EqualFunc(formed, [][]string{{"b", "c"}}, slices.Equal) || b.Count() != 0 {
		t.Fatalf("after a left: groups %v, %d pending; want b and c paired", formed, b.Count())
	}

	// Claimed requests count towards their claimer's group, whatever
	// their own size: x (2 mates) claims y (3), so y heads nothing; p
	// and q then make the group of 4 that y needs, with x.
	formed = nil
	req("x", 2)
	req("y", 3)
	req("p", 1)
	req("q", 1)
	if len(formed) != 1 || !slices.Equal(formed[0], []string{"p", "q", "x", "y"}) {
		t.Fatalf("groups %v, want x y p q together", formed)
	}
}

// TestBoard_asymmetricSelectors: each member's selector must match every
// other's labels, in both directions.
func TestBoard_asymmetricSelectors(t *testing.T) {
	t.Parallel()
	b := New(16, 100, 100, 1<<30)
	var got [][]string
	req := func(actor, lbls, sel string) *Request {
		r, err := b.Prepare("", Params{Event: "e", Actor: actor, Mates: 1, Labels: parseLabels(lbls), Selector: sel})
		if err != nil {
			t.Fatal(err)
		}
		r.OnMatch = func(p map[string]string) {
			if actor == slices.Sorted(maps.Keys(p))[0] {
				got = append(got, slices.Sorted(maps.Keys(p)))
			}
		}
		return r
	}
	host := req("host", "role=host", "role=guest")
	picky := req("picky", "role=guest", "role=guest") // wants guests only: not the host
	guest := req("guest", "role=guest", "role in (host)")
	for _, r := range []*Request{host, picky} {
		b.Add(r)
	}
	if len(got) != 0 {
		t.Fatalf("host and picky matched: %v (picky's selector rejects the host)", got)
	}
	b.Add(guest)
	if want := [][]string{{"guest", "host"}}; !slices.EqualFunc(got, want, slices.Equal) {
		t.Fatalf("groups %v, want %v", got, want)
	}
	if b.Count() != 1 || !b.Withdraw(picky) || b.Withdraw(host) {
		t.Fatalf("after the match: %d pending, want picky alone", b.Count())
	}
}
func parseLabels(s string) map[string]string {
	m := map[string]string{}
	for _, kv := range strings.Split(s, ",") {
		k, v, _ := strings.Cut(kv, "=")
		m[k] = v
	}
	return m
}

// TestBoard_perEventLimit: issue 15.8. An event holds at most
// maxPerEvent pending requests (an arrival tests them all); another event
// or scope is not affected, and a withdrawn request makes room. /stats
// lists at most its limit and says how many it left out.
func TestBoard_perEventLimit(t *testing.T) {
	t.Parallel()
	b := New(16, 100, 3, 1<<30)
	add := func(scope, event, actor string) (*Request, error) {
		r, err := b.Prepare(scope, Params{Event: event, Actor: actor, Mates: 1, Selector: "team=nobody"})
		if err != nil {
			t.Fatal(err)
		}
		r.OnMatch = func(map[string]string) { t.Errorf("%s matched", actor) }
		return r, b.Add(r)
	}
	var first *Request
	for i := range 3 {
		r, err := add("", "e", fmt.Sprint("a", i))
		if err != nil {
			t.Fatal(err)
		}
		first = cmp.Or(first, r)
	}
	if _, err := add("", "e", "a3"); protocol.ErrorCode(err) != protocol.CodeTooMany {
		t.Fatalf("a fourth request for e: %v, want TooMany", err)
	}
	if _, err := add("", "other", "b"); err != nil {
		t.Fatal(err)
	}
	if _, err := add("room", "e", "c"); err != nil {
		t.Fatal(err)
	}
	b.Withdraw(first)
	if _, err := add("", "e", "a4"); err != nil {
		t.Fatalf("after a withdrawal: %v", err)
	}
	stats, more := b.Stats("", 2)
	n := 0
	for _, byActor := range stats {
		n += len(byActor)
	}
	if n != 2 || more != 2 {
		t.Fatalf("stats listed %d and left out %d, want 2 and 2", n, more)
	}
}

// TestBoard_bytesBudget: issue 15. Pending requests are bounded in bytes
// server-wide (large payloads): past the budget, Overloaded; a request
// withdrawn gives its bytes back.
func TestBoard_bytesBudget(t *testing.T) {
	t.Parallel()
	b := New(16, 100, 100, 2*(256+40000)) // two of the requests below
	var first *Request
	for i := range 3 {
		r, err := b.Prepare("", Params{Event: "e", Actor: fmt.Sprint("a", i), Mates: 1, Selector: "team=nobody",
			Payload: strings.Repeat("p", 39000)})
		if err != nil {
			t.Fatal(err)
		}
		err = b.Add(r)
		if i < 2 && err != nil {
			t.Fatalf("request %d: %v", i, err)
		}
		if i == 2 && protocol.ErrorCode(err) != protocol.CodeOverloaded {
			t.Fatalf("third request: %v, want Overloaded", err)
		}
		first = cmp.Or(first, r)
	}
	b.Withdraw(first)
	r, _ := b.Prepare("", Params{Event: "e", Actor: "again", Mates: 1, Selector: "team=nobody", Payload: strings.Repeat("p", 39000)})
	if err := b.Add(r); err != nil {
		t.Fatalf("after a withdrawal: %v", err)
	}
}
