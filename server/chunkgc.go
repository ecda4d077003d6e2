//go:build !js

package server

import (
	"context"
	"time"

	"github.com/synkhq/synk/internal/chunkref"
)

// Chunks are collected when nothing refers to them. A chunk is kept while
// a file object in its room names it (chunkref.ChunkRefs: inline, or
// through a list chunk, itself kept), or while it is younger than
// ChunkGrace: a device uploads a file's chunks before it writes the file's
// object. Being asked about (the missing list, a PUT of a chunk held)
// renews a chunk's age, so one a device is about to refer to again is not
// collected under it.

// maybeCollectChunks starts a collection, in its own goroutine, when
// ChunkSweep has passed since the last one and none is running.
func (s *Server) maybeCollectChunks(now time.Time) {
	if s.chunks == nil || now.Sub(s.chunksSwept) < s.opts.ChunkSweep || !s.collecting.CompareAndSwap(false, true) {
		return
	}
	s.chunksSwept = now
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		defer s.collecting.Store(false)
		s.collectChunks(now)
	}()
}

// collectChunks deletes, in every room, the chunks no file refers to that
// are older than ChunkGrace at now. A cluster node collects only once it
// holds every room's objects (the room log is open and read), and the
// shared store lets one node a ChunkSweep do it.
func (s *Server) collectChunks(now time.Time) {
	if s.bus != nil && s.bus.objectsErr("chunk collection") != nil {
		return
	}
	err := s.chunks.Sweep(s.ctx, s.opts.ChunkSweep, func(room string) map[[32]byte]bool { return s.chunkRefs(s.ctx, room) },
		now.Add(-s.opts.ChunkGrace), func(room string, n int, freed int64) {
			switch {
			case room == "" && n > 0:
				s.log.Info("unfinished chunks purged", "chunks", n)
			case n > 0:
				s.log.Info("chunks collected", "room", room, "chunks", n, "bytes", freed)
			}
		})
	if err != nil && s.ctx.Err() == nil {
		s.log.Error("chunk collection", "err", err)
	}
}

// chunkRefs returns the chunks the room's file objects refer to: inline,
// and through lists, down every level of a tree of lists.
func (s *Server) chunkRefs(ctx context.Context, room string) map[[32]byte]bool {
	keep := make(map[[32]byte]bool)
	add := func(b []byte) {
		for i := 0; i+32 <= len(b); i += 32 {
			keep[[32]byte(b[i:i+32])] = true
		}
	}
	type ref struct {
		list  [32]byte
		depth int
	}
	var lists []ref
	if r := s.lockRoom(room, false); r != nil {
		for _, o := range r.objs.byID {
			hashes, list, depth := chunkref.ChunkRefs(o.kind, o.fields)
			add(hashes)
			if list != nil {
				keep[[32]byte(list)] = true
				lists = append(lists, ref{[32]byte(list), depth})
			}
		}
		s.unlockRoom(r)
	}
	read := make(map[[32]byte]bool) // each list once, however many files share it
	for len(lists) > 0 {            // read outside the room's lock
		l := lists[len(lists)-1]
		lists = lists[:len(lists)-1]
		if read[l.list] {
			continue
		}
		read[l.list] = true
		b, err := s.chunks.Get(ctx, room, l.list)
		if err != nil || len(b)%32 != 0 {
			continue
		}
		add(b)
		if l.depth > 1 {
			for i := 0; i+32 <= len(b); i += 32 {
				lists = append(lists, ref{[32]byte(b[i : i+32]), l.depth - 1})
			}
		}
	}
	return keep
}
