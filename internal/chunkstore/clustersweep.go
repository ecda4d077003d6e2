package chunkstore

import (
	"context"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/nats-io/nats.go/jetstream"
)

// sweepKey is the counter bucket's key naming when the last sweep began:
// the node that moves it sweeps, the others skip.
const sweepKey = "sweep"

// Sweep collects the chunks no room refers to (see Chunks.Sweep). It
// reads every chunk's meta message, each once; a chunk keep(room) does
// not hold whose meta is older than cutoff is deleted on the condition
// that its meta is still the one read (a renewal by Hold meanwhile keeps
// it). Then it sets each room's count to the bytes it holds, unless the
// count changed while it read (a put counted meanwhile: the next sweep
// recounts).
func (c *Cluster) Sweep(ctx context.Context, every time.Duration, keep func(string) map[[32]byte]bool, cutoff time.Time, report func(string, int, int64)) error {
	_, st, use, err := c.open(ctx)
	if err != nil {
		return err
	}
	if mine, err := c.claimSweep(ctx, use, every); !mine || err != nil {
		return err
	}
	counts, err := readCounts(ctx, use)
	if err != nil {
		return err
	}
	info, err := st.Info(ctx)
	if err != nil {
		return unavailable(err)
	}
	held := make(map[string]int64)
	type result struct {
		n     int
		freed int64
	}
	results := make(map[string]*result)
	keeps := make(map[string]map[[32]byte]bool)
	orphans := 0
	live := make(map[string]bool) // the NUIDs of the chunks kept
	if info.State.Msgs > 0 {
		err := eachLast(ctx, st, metaPrefix+">", false, true, func(msg jetstream.Msg, md *jetstream.MsgMetadata) error {
			room, sum, size, nuid, ok := parseMeta(msg.Data())
			if !ok {
				return nil
			}
			k, seen := keeps[room]
			if !seen {
				k = keep(room)
				keeps[room] = k
			}
			if k[sum] || !md.Timestamp.Before(cutoff) {
				held[room] += size + metaCost
				live[nuid] = true
				return nil
			}
			// Only if this meta is still the chunk's: a renewal replaced it.
			if err := st.DeleteMsg(ctx, md.Sequence.Stream); err != nil {
				if !errors.Is(err, jetstream.ErrMsgNotFound) {
					return unavailable(err)
				}
				held[room] += size + metaCost
				live[nuid] = true
				return nil
			}
			if err := st.Purge(ctx, jetstream.WithPurgeSubject(chunkPrefix+nuid)); err != nil {
				return unavailable(err)
			}
			r := results[room]
			if r == nil {
				r = &result{}
				results[room] = r
			}
			r.n, r.freed = r.n+1, r.freed+size
			return nil
		})
		if err != nil {
			return err
		}
		// Pieces no meta names: a node died between a chunk's pieces and
		// its meta, or a purge failed. Those older than cutoff go (a chunk
		// being stored now has younger pieces; its meta follows them).
		err = eachLast(ctx, st, chunkPrefix+">", true, false, func(msg jetstream.Msg, md *jetstream.MsgMetadata) error {
			nuid := strings.TrimPrefix(msg.Subject(), chunkPrefix)
			if live[nuid] || !md.Timestamp.Before(cutoff) {
				return nil
			}
			if err := st.Purge(ctx, jetstream.WithPurgeSubject(msg.Subject())); err != nil {
				return unavailable(err)
			}
			orphans++
			return nil
		})
		if err != nil {
			return err
		}
	}
	for room, r := range results {
		report(room, r.n, r.freed)
	}
	if orphans > 0 {
		report("", orphans, 0)
	}
	for room, rev := range counts {
		if e, err := use.Get(ctx, useKey(room)); err == nil && e.Revision() == rev {
			_, _ = use.Update(ctx, useKey(room), []byte(strconv.FormatInt(held[room], 10)), rev)
		}
	}
	return nil
}

// eachLast calls f with the last message of every subject of st under
// filter, each once (only its headers if headersOnly), until f fails. If
// the messages stop coming before as many came as the stream said (some
// deleted meanwhile, or JetStream gone quiet for 5 s), that is
// ErrUnavailable when whole, else the end.
func eachLast(ctx context.Context, st jetstream.Stream, filter string, headersOnly, whole bool, f func(jetstream.Msg, *jetstream.MsgMetadata) error) error {
	cons, err := st.OrderedConsumer(ctx, jetstream.OrderedConsumerConfig{FilterSubjects: []string{filter},
		DeliverPolicy: jetstream.DeliverLastPerSubjectPolicy, HeadersOnly: headersOnly})
	if err != nil {
		return unavailable(err)
	}
	ci, err := cons.Info(ctx)
	if err != nil {
		return unavailable(err)
	}
	for left := ci.NumPending; left > 0; {
		got, err := fetchSome(ctx, cons, int(min(left, 500)), f)
		switch {
		case ctx.Err() != nil:
			return ctx.Err()
		case got == 0 && !whole:
			return nil // the rest were deleted since NumPending was read
		case err != nil:
			return err
		case got == 0:
			return fmt.Errorf("%w: %s stopped coming with %d left", ErrUnavailable, filter, left)
		}
		left -= min(got, left)
	}
	return nil
}

// fetchSome fetches up to n messages from cons, waiting at most 5 s, and
// calls f with each until it fails; it returns how many came.
func fetchSome(ctx context.Context, cons jetstream.Consumer, n int, f func(jetstream.Msg, *jetstream.MsgMetadata) error) (uint64, error) {
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	batch, err := cons.Fetch(n, jetstream.FetchContext(ctx))
	if err != nil {
		return 0, unavailable(err)
	}
	got := uint64(0)
	for msg := range batch.Messages() {
		got++
		md, err := msg.Metadata()
		if err != nil {
			return got, unavailable(err)
		}
		if err := f(msg, md); err != nil {
			return got, err
		}
	}
	if err := batch.Error(); err != nil && !errors.Is(err, context.DeadlineExceeded) {
		return got, unavailable(err)
	}
	return got, nil
}

// claimSweep reports whether this node sweeps now: no sweep began within
// most of every, and it recorded its own first.
func (c *Cluster) claimSweep(ctx context.Context, use jetstream.KeyValue, every time.Duration) (bool, error) {
	now := time.Now()
	val := []byte(strconv.FormatInt(now.UnixMilli(), 10))
	e, err := use.Get(ctx, sweepKey)
	switch {
	case errors.Is(err, jetstream.ErrKeyNotFound):
		_, err = use.Create(ctx, sweepKey, val)
	case err != nil:
		return false, unavailable(err)
	default:
		if at, perr := strconv.ParseInt(string(e.Value()), 10, 64); perr == nil && now.Sub(time.UnixMilli(at)) < every*9/10 {
			return false, nil
		}
		_, err = use.Update(ctx, sweepKey, val, e.Revision())
	}
	if err == nil {
		return true, nil
	}
	if errors.Is(err, jetstream.ErrKeyExists) || errors.Is(err, jetstream.ErrKeyRevisionMismatch) || conflict(err) {
		return false, nil // another node claimed it first
	}
	return false, unavailable(err)
}

// readCounts returns each room's counter revision.
func readCounts(ctx context.Context, use jetstream.KeyValue) (map[string]uint64, error) {
	lister, err := use.ListKeys(ctx)
	if err != nil {
		return nil, unavailable(err)
	}
	out := make(map[string]uint64)
	for key := range lister.Keys() {
		h, ok := strings.CutPrefix(key, "room.")
		if !ok {
			continue
		}
		room, err := hex.DecodeString(h)
		if err != nil {
			continue
		}
		if e, err := use.Get(ctx, key); err == nil {
			out[string(room)] = e.Revision()
		}
	}
	return out, nil
}

// parseMeta reads a meta message of the bucket: the chunk's room, hash
// and size; ok is false for a tombstone or a name not this store's.
func parseMeta(data []byte) (room string, sum [32]byte, size int64, nuid string, ok bool) {
	var info jetstream.ObjectInfo
	if json.Unmarshal(data, &info) != nil || info.Deleted {
		return "", sum, 0, "", false
	}
	rh, hh, found := strings.Cut(info.Name, "/")
	if !found || len(hh) != 64 {
		return "", sum, 0, "", false
	}
	r, err1 := hex.DecodeString(rh)
	_, err2 := hex.Decode(sum[:], []byte(hh))
	if err1 != nil || err2 != nil || info.NUID == "" || info.Size > 1<<40 {
		return "", sum, 0, "", false
	}
	return string(r), sum, int64(info.Size), info.NUID, true
}
