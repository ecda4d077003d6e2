package chunkstore

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"sync"

	"golang.org/x/sync/semaphore"
)

// chunkRead is a chunk GetMany read ahead.
type chunkRead struct {
	data []byte
	held int64 // of the request's bytes ahead, and of mem
	err  error
}

const (
	// metasAhead is how many chunks' meta a GetMany reads ahead.
	metasAhead = 16
	// bytesAhead bounds the chunk bytes a GetMany holds read ahead (a
	// larger chunk is read alone).
	bytesAhead = 4 << 20
)

// GetMany reads the chunks sums in order, calling each with every one
// (data nil and an error wrapping fs.ErrNotExist for one the room lacks)
// until each returns false. It reads ahead: the metas of the next
// metasAhead chunks, and the bytes of as many as fit bytesAhead, so that
// a pack costs about one JetStream round trip per window, not two per
// chunk. What it reads ahead it takes from mem first; it stops where mem
// has no room.
func (c *Cluster) GetMany(ctx context.Context, room string, sums [][32]byte, mem Budget, each func(i int, data []byte, err error) bool) {
	_, st, _, err := c.open(ctx)
	if err != nil {
		for i := range sums {
			if !each(i, nil, err) {
				return
			}
		}
		return
	}
	ctx, cancel := context.WithCancel(ctx)
	var wg sync.WaitGroup
	chunks := make(chan chan chunkRead, metasAhead) // in order
	defer func() {
		// What was read ahead and not handed to each goes back to mem.
		for ch := range chunks {
			mem.Give((<-ch).held)
		}
	}()
	defer wg.Wait() // every reader is done before GetMany returns
	defer cancel()

	type metaRead struct {
		m   meta
		err error
	}
	metas := make(chan chan metaRead, metasAhead) // in order
	wg.Go(func() {
		defer close(metas)
		for _, sum := range sums {
			ch := make(chan metaRead, 1)
			select {
			case metas <- ch:
			case <-ctx.Done():
				return
			}
			wg.Go(func() {
				m, err := readMeta(ctx, st, room, sum)
				ch <- metaRead{m, err}
			})
		}
	})
	budget := semaphore.NewWeighted(bytesAhead)
	wg.Go(func() {
		defer close(chunks)
		i := 0
		for mch := range metas {
			mr := <-mch
			sum := sums[i]
			i++
			ch := make(chan chunkRead, 1)
			held := min(int64(mr.m.info.Size), bytesAhead)
			if mr.err != nil || mr.m.seq == 0 {
				held = 0
			} else if err := budget.Acquire(ctx, held); err != nil {
				return // in order, released in order: no deadlock
			} else if !mem.TryTake(held) {
				budget.Release(held)
				ch <- chunkRead{err: fmt.Errorf("%w: no memory left to send a chunk of %d bytes", ErrMemory, held)}
				select {
				case chunks <- ch:
				case <-ctx.Done():
				}
				return
			}
			select {
			case chunks <- ch:
			case <-ctx.Done():
				budget.Release(held)
				mem.Give(held)
				return
			}
			wg.Go(func() {
				if mr.err != nil || mr.m.seq == 0 {
					ch <- chunkRead{err: cmp.Or(mr.err, fs.ErrNotExist)}
					return
				}
				data, err := c.read(ctx, st, room, sum, mr.m)
				ch <- chunkRead{data, held, err}
			})
		}
	})
	for i := range sums {
		ch, ok := <-chunks
		if !ok {
			each(i, nil, ctx.Err())
			return
		}
		r := <-ch
		more := each(i, r.data, r.err)
		budget.Release(r.held)
		mem.Give(r.held)
		if !more || r.err != nil && errors.Is(r.err, ErrMemory) {
			return
		}
	}
}
