package main

import (
	"encoding/binary"
	"slices"
	"sync"
	"sync/atomic"
	"time"
)

// payloadSize is the size of every published message.
const payloadSize = 100

// message returns a payload carrying its send time and sequence number,
// padded to payloadSize.
func message(seq int, at time.Time) []byte { return messageFrom(seq, 0, at) }

// messageFrom is message with the sender's number.
func messageFrom(seq, from int, at time.Time) []byte {
	b := make([]byte, payloadSize)
	binary.BigEndian.PutUint64(b, uint64(at.UnixNano()))
	binary.BigEndian.PutUint32(b[8:], uint32(seq))
	binary.BigEndian.PutUint32(b[12:], uint32(from))
	return b
}

// parse reads a payload's send time and sequence number.
func parse(b []byte) (time.Time, int, bool) {
	if len(b) < 16 {
		return time.Time{}, 0, false
	}
	return time.Unix(0, int64(binary.BigEndian.Uint64(b))), int(binary.BigEndian.Uint32(b[8:])), true
}

// sender reads a payload's sender number.
func sender(b []byte) int { return int(binary.BigEndian.Uint32(b[12:])) }

// tracker counts the deliveries of numbered messages to a fixed set of
// receivers, and their latencies.
type tracker struct {
	receivers int
	counts    []atomic.Int32
	done      []chan struct{} // closed when every receiver has message i
	lat       [][]time.Duration
	last      []atomic.Int64 // per receiver: unix nanos of its last delivery
	received  atomic.Int64
}

func newTracker(receivers, messages int) *tracker {
	t := &tracker{receivers: receivers, counts: make([]atomic.Int32, messages), done: make([]chan struct{}, messages),
		lat: make([][]time.Duration, receivers), last: make([]atomic.Int64, receivers)}
	for i := range t.done {
		t.done[i] = make(chan struct{})
	}
	return t
}

// got records that receiver r received payload b. Each receiver calls it
// from one goroutine at a time.
func (t *tracker) got(r int, b []byte) {
	at, seq, ok := parse(b)
	if !ok || seq >= len(t.counts) {
		return
	}
	now := time.Now()
	t.lat[r] = append(t.lat[r], now.Sub(at))
	t.last[r].Store(now.UnixNano())
	t.received.Add(1)
	if int(t.counts[seq].Add(1)) == t.receivers {
		close(t.done[seq])
	}
}

// latencies returns every latency, sorted.
func (t *tracker) latencies() []time.Duration {
	var all []time.Duration
	for _, l := range t.lat {
		all = append(all, l...)
	}
	sortDurations(all)
	return all
}

func sortDurations(d []time.Duration) { slices.Sort(d) }

// lastDelivery returns the time of the last delivery to any receiver.
func (t *tracker) lastDelivery() time.Time {
	var max int64
	for i := range t.last {
		max = maxInt64(max, t.last[i].Load())
	}
	return time.Unix(0, max)
}

func maxInt64(a, b int64) int64 {
	if a > b {
		return a
	}
	return b
}

// percentile returns the p-quantile of sorted durations, in milliseconds.
func percentile(sorted []time.Duration, p float64) float64 {
	if len(sorted) == 0 {
		return 0
	}
	return float64(sorted[int(p*float64(len(sorted)-1))]) / float64(time.Millisecond)
}

// connectAll dials n clients with at most 64 dials at once.
func connectAll(n int, dial func(i int) (peer, error)) ([]peer, error) {
	peers := make([]peer, n)
	errs := make(chan error, n)
	sem := make(chan struct{}, 64)
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			p, err := dial(i)
			if err != nil {
				errs <- err
				return
			}
			peers[i] = p
		}()
	}
	wg.Wait()
	close(errs)
	if err := <-errs; err != nil {
		closeAll(peers)
		return nil, err
	}
	return peers, nil
}

// closeAll disconnects every peer, many at once.
func closeAll(peers []peer) {
	var wg sync.WaitGroup
	sem := make(chan struct{}, 256)
	for _, p := range peers {
		if p == nil {
			continue
		}
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			p.close()
		}()
	}
	wg.Wait()
}
