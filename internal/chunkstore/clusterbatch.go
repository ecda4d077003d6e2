package chunkstore

import (
	"cmp"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/nats-io/nuid"
)

// clusterBatch stores many chunks of one room in the cluster's bucket:
// each chunk's pieces and meta are published without waiting, and Commit
// waits for every acknowledgement. Each chunk is stored whole or not at
// all (its meta goes last, and only if the chunk is still absent); a
// batch that fails part way keeps the chunks stored before, which are
// named by their content.
type clusterBatch struct {
	c       *Cluster
	ctx     context.Context
	room    string
	quota   int64
	added   map[[32]byte]bool
	pending []*pendingChunk
	granted int64 // reserved of the quota and not yet used
	bytes   int64 // of the chunks stored, once settled
	stored  int   // chunks stored, once settled
	held    int64 // bytes of the pending chunks
	err     error // the first failure of a settled chunk
}

// pendingChunk is a chunk published and not yet acknowledged.
type pendingChunk struct {
	sum    [32]byte
	nuid   string
	size   int64
	pieces []jetstream.PubAckFuture
	meta   jetstream.PubAckFuture
}

// inFlight and heldMax bound a batch's chunks awaiting acknowledgement
// (held in memory until then, for the client's retries).
const (
	inFlight = 256
	heldMax  = 4 << 20
)

// Held returns the bytes of chunks published and not yet acknowledged.
func (b *clusterBatch) Held() int64 { return b.held }

// Batch starts a batch of room's chunks, within quota, in ctx. Call
// Commit or Abort.
func (c *Cluster) Batch(ctx context.Context, room string, quota int64) Batch {
	return &clusterBatch{c: c, ctx: ctx, room: room, quota: quota, added: make(map[[32]byte]bool)}
}

// Add: see Batch.
func (b *clusterBatch) Add(sum [32]byte, n int64, write func(io.Writer) (int64, error)) (bool, error) {
	if b.added[sum] {
		return false, nil
	}
	js, st, use, err := b.c.open(b.ctx)
	if err != nil {
		return false, err
	}
	m, err := readMeta(b.ctx, st, b.room, sum)
	if err != nil {
		return false, err
	}
	if m.seq != 0 {
		// Held: renewed, as Hold does, unless too young to need it.
		held, err := b.c.Hold(b.ctx, b.room, sum, time.Now())
		if held || err != nil {
			return false, err
		}
		if m, err = readMeta(b.ctx, st, b.room, sum); err != nil {
			return false, err
		}
	}
	h := sha256.New()
	w := &sliceWriter{b: make([]byte, 0, max(n, 0))}
	got, err := write(io.MultiWriter(w, h))
	if err != nil {
		return false, err
	}
	if [32]byte(h.Sum(nil)) != sum {
		return false, ErrHash
	}
	cost := got + metaCost
	if b.granted < cost {
		more := max(cost-b.granted, grant)
		err := b.c.reserve(b.ctx, use, b.room, more, b.quota)
		if errors.Is(err, ErrQuota) && more > cost-b.granted {
			more = cost - b.granted
			err = b.c.reserve(b.ctx, use, b.room, more, b.quota)
		}
		if errors.Is(err, ErrQuota) {
			// Stored meanwhile by another request (whose count is the one
			// that filled the quota)? Then it is held, not refused.
			if m, rerr := readMeta(b.ctx, st, b.room, sum); rerr == nil && m.seq != 0 {
				return false, nil
			}
		}
		if err != nil {
			return false, err
		}
		b.granted += more
	}
	b.granted -= cost
	p := &pendingChunk{sum: sum, nuid: nuid.Next(), size: got}
	b.pending = append(b.pending, p) // settled, even if publishing fails part way
	subj := chunkPrefix + p.nuid
	data := w.b
	for len(data) > 0 || len(p.pieces) == 0 && got == 0 {
		piece := data[:min(len(data), pieceSize)]
		data = data[len(piece):]
		f, err := js.PublishMsgAsync(&nats.Msg{Subject: subj, Data: piece})
		if err != nil {
			return false, unavailable(err)
		}
		p.pieces = append(p.pieces, f)
		if got == 0 {
			break
		}
	}
	info := jetstream.ObjectInfo{ObjectMeta: jetstream.ObjectMeta{Name: objectName(b.room, sum),
		Opts: &jetstream.ObjectMetaOptions{ChunkSize: pieceSize}},
		Bucket: bucket, NUID: p.nuid, Size: uint64(got), Chunks: uint32(len(p.pieces)), Digest: digest(sum)}
	raw, err := json.Marshal(&info)
	if err != nil {
		return false, fmt.Errorf("%w: %v", ErrStore, err)
	}
	mm := nats.NewMsg(metaSubject(b.room, sum))
	mm.Header.Set(jetstream.MsgRollup, jetstream.MsgRollupSubject)
	mm.Data = raw
	// Only if still absent (or the tombstone read): else another
	// request stored it first, and this copy is dropped.
	if p.meta, err = js.PublishMsgAsync(mm, jetstream.WithExpectLastSequencePerSubject(m.last)); err != nil {
		return false, unavailable(err)
	}
	b.added[sum] = true
	b.held += got
	if len(b.pending) >= inFlight || b.held >= heldMax {
		if err := b.settle(); err != nil {
			return false, err
		}
	}
	return true, nil
}

// digest is the Object Store's digest of content whose SHA-256 is sum.
func digest(sum [32]byte) string { return "SHA-256=" + base64.URLEncoding.EncodeToString(sum[:]) }

// settle waits for every pending chunk's acknowledgements. A chunk another
// request stored first, or whose pieces failed, has its pieces purged and
// its bytes given back; it returns the batch's first failure.
func (b *clusterBatch) settle() error {
	// Not the request's context: a client gone must not leave a chunk
	// half known. settleWait bounds a JetStream that does not answer.
	ctx, cancel := context.WithTimeout(context.WithoutCancel(b.ctx), settleWait)
	defer cancel()
	_, st, use, err := b.c.open(ctx)
	if err != nil {
		return err
	}
	for _, p := range b.pending {
		var pieceErr error
		for _, f := range p.pieces {
			if err := wait(ctx, f); err != nil && pieceErr == nil {
				pieceErr = err
			}
		}
		metaErr := wait(ctx, p.meta)
		if pieceErr == nil && metaErr == nil {
			b.bytes, b.stored = b.bytes+p.size, b.stored+1
			continue
		}
		var failed error
		if metaErr == nil || !conflict(metaErr) {
			// Unsure (an answer lost) or failed: the meta decides. Ours
			// with every piece: stored; ours without: taken back, if still
			// this copy's; another's or none: this copy goes.
			failed = cmp.Or(pieceErr, metaErr)
			if m, err := readMeta(ctx, st, b.room, p.sum); err == nil && m.info.NUID == p.nuid {
				if pieceErr == nil {
					b.bytes, b.stored = b.bytes+p.size, b.stored+1
					continue
				}
				_ = st.DeleteMsg(ctx, m.seq)
			}
		} // else stored meanwhile by another request: this copy goes
		_ = st.Purge(ctx, jetstream.WithPurgeSubject(chunkPrefix+p.nuid))
		b.granted += p.size + metaCost
		if failed != nil && b.err == nil {
			b.err = unavailable(failed)
		}
	}
	b.pending, b.held = b.pending[:0], 0
	if b.granted > 0 {
		if err := b.c.release(ctx, use, b.room, b.granted); err == nil {
			b.granted = 0
		}
	}
	return b.err
}

// settleWait bounds the wait for a batch's acknowledgements.
const settleWait = 30 * time.Second

// wait returns a publish's outcome; nil f is an error.
func wait(ctx context.Context, f jetstream.PubAckFuture) error {
	if f == nil {
		return errors.New("not published")
	}
	select {
	case <-f.Ok():
		return nil
	case err := <-f.Err():
		return err
	case <-ctx.Done():
		return ctx.Err()
	}
}

// Commit waits until every chunk added is stored (see Batch).
func (b *clusterBatch) Commit() error { return b.settle() }

// Abort settles what was published: a chunk acknowledged stays stored.
func (b *clusterBatch) Abort() {
	if len(b.pending) > 0 || b.granted > 0 {
		_ = b.settle()
	}
}
