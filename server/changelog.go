package server

import (
	"sort"

	"github.com/synkhq/synk/protocol"
)

// changeLog is a room's recent changes: every change with a sequence
// number in (start, seq], oldest first, where seq is the room's offset.
type changeLog struct {
	epoch   uint64
	start   uint64 // changes up to and including start are forgotten
	entries []change
	bytes   int64 // the entries' cost (see changeCost), for the budgets
}

// changeCost is what a logged change costs in the budgets of objects: a
// room's history counts against them as its objects do.
func changeCost(c *change) int64 {
	n := 64 + len(c.ID) + len(c.Area) + len(c.OpID)
	for _, k := range c.Keys {
		n += len(k) + 16
	}
	return int64(n)
}

// set replaces the entries, as when a room's log is loaded.
func (l *changeLog) set(entries []change) {
	l.entries, l.bytes = entries, 0
	for i := range entries {
		l.bytes += changeCost(&entries[i])
	}
}

// append adds c and forgets the oldest changes beyond max.
func (l *changeLog) append(c change, max int) {
	l.entries = append(l.entries, c)
	l.bytes += changeCost(&c)
	if n := len(l.entries) - max; n > 0 {
		l.drop(n)
	}
}

// trimBefore forgets the changes made before at (unix milliseconds).
func (l *changeLog) trimBefore(at int64) {
	n := sort.Search(len(l.entries), func(i int) bool { return l.entries[i].At >= at })
	l.drop(n)
}

func (l *changeLog) drop(n int) {
	if n <= 0 {
		return
	}
	l.start = l.entries[n-1].Seq
	for i := range n {
		l.bytes -= changeCost(&l.entries[i])
	}
	clear(l.entries[:n])
	l.entries = l.entries[n:]
	if len(l.entries) == 0 {
		l.entries = nil // let the array go
	}
}

// since returns the changes after offset, or false if some of them are
// forgotten or offset is ahead of seq.
func (l *changeLog) since(offset, seq uint64) ([]change, bool) {
	if offset < l.start || offset > seq {
		return nil, false
	}
	i := sort.Search(len(l.entries), func(i int) bool { return l.entries[i].Seq > offset })
	return l.entries[i:], true
}

// netChange is what the changes since a position did to one object.
type netChange struct {
	existed  bool   // it existed at the position
	area     string // its area at the position
	replaced bool   // deleted or created since: send it whole
	keys     map[string]bool
	version  uint64 // after the last change
}

// netChanges folds changes into one net change per object.
func netChanges(cs []change) map[string]*netChange {
	out := make(map[string]*netChange)
	for _, c := range cs {
		n := out[c.ID]
		if n == nil {
			n = &netChange{existed: c.Existed, area: c.Area}
			out[c.ID] = n
		}
		n.version = c.Version
		switch c.Op {
		case protocol.OpCreate, protocol.OpDelete:
			n.replaced = true
		case protocol.OpUpdate:
			if n.keys == nil {
				n.keys = make(map[string]bool, len(c.Keys))
			}
			for _, k := range c.Keys {
				n.keys[k] = true
			}
		}
	}
	return out
}
