//go:build !js

package server

import (
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"hash/fnv"
	"strconv"
	"strings"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// roomLog is the shared change log of a cluster's rooms: one JetStream
// stream with a subject per room, keeping the last History changes of
// each. It is the groundwork for objects across nodes (docs/CLUSTER.md):
// a node appends a room's next change expecting the room's last sequence
// it has applied (JetStream's per-subject check; a conflict means another
// node appended first), and follows the stream's RePublish subject, which
// carries only stored messages and, in Nats-Last-Sequence, the room's
// previous sequence, so that a node notices a change it missed and
// fetches it. A position is (epoch, stream sequence); the epoch comes
// from the stream's creation time, so a stream made again (history lost)
// is a new epoch and clients take a snapshot instead of diverging.
type roomLog struct {
	nc     *nats.Conn
	js     jetstream.JetStream
	stream jetstream.Stream
	epoch  uint64
}

const (
	roomLogStream  = "SYNK_ROOMS"
	roomLogSubject = "synk.log."  // + hex(room): stored changes
	roomLogLive    = "synk.live." // + hex(room): their RePublish
	prevHeader     = "Synk-Prev"  // the room's sequence the append expected
)

// errLogConflict is an append that lost the race: another node appended
// to the room first.
var errLogConflict = errors.New("server: room log: another node appended first")

// logEntry is one stored change of a room.
type logEntry struct {
	Seq, Prev uint64 // its stream sequence, and the room's sequence before it
	Data      []byte
}

// errLogFull is an append refused because the room's log holds
// logCap(History) changes: the nodes trim it (clusterObjects.trim) only
// once every object's record reflects what the trim removes.
var errLogFull = errors.New("server: room log: the room's log is full until it is trimmed")

// logCap is the most changes a room's log holds. JetStream never drops a
// change by itself (DiscardNew per subject): a change leaves only through
// trim, after the records hold it, so no acknowledged write is lost to a
// trim. A room's log is trimmed back to History changes once it holds
// half as many again.
func logCap(history int) int64 { return int64(2*history + 64) }

// openRoomLog creates the stream, or updates its settings. replicas is the
// number of NATS servers that store each change (1 for one server).
func openRoomLog(ctx context.Context, nc *nats.Conn, history, replicas int) (*roomLog, error) {
	js, err := jetstream.New(nc)
	if err != nil {
		return nil, err
	}
	st, err := js.CreateOrUpdateStream(ctx, jetstream.StreamConfig{
		Name:                 roomLogStream,
		Subjects:             []string{roomLogSubject + ">"},
		MaxMsgsPerSubject:    logCap(history),
		Discard:              jetstream.DiscardNew,
		DiscardNewPerSubject: true,
		Storage:              jetstream.FileStorage,
		Replicas:             replicas,
		RePublish:            &jetstream.RePublish{Source: roomLogSubject + ">", Destination: roomLogLive + ">"},
	})
	if err != nil {
		return nil, fmt.Errorf("server: room log stream: %w", err)
	}
	info, err := st.Info(ctx)
	if err != nil {
		return nil, err
	}
	return &roomLog{nc: nc, js: js, stream: st, epoch: epochOf(info.Created)}, nil
}

// epochOf names the incarnation of the stream created at created: a
// stream deleted and made again (its history lost) has another.
func epochOf(created time.Time) uint64 {
	h := fnv.New64a()
	h.Write([]byte(roomLogStream + created.UTC().Format(time.RFC3339Nano)))
	return h.Sum64() | 1
}

func roomToken(room string) string { return hex.EncodeToString([]byte(room)) }

// append stores data as room's next change if the room's last stored
// sequence is expect (0: none), and returns its sequence.
func (l *roomLog) append(ctx context.Context, room string, data []byte, expect uint64) (uint64, error) {
	msg := nats.NewMsg(roomLogSubject + roomToken(room))
	msg.Data = data
	msg.Header.Set(prevHeader, strconv.FormatUint(expect, 10))
	ack, err := l.js.PublishMsg(ctx, msg, jetstream.WithExpectLastSequencePerSubject(expect))
	if isLogConflict(err) {
		return 0, errLogConflict
	}
	if isLogFull(err) {
		return 0, errLogFull
	}
	if err != nil {
		return 0, fmt.Errorf("server: room log append: %w", err)
	}
	return ack.Sequence, nil
}

// isLogConflict reports a failed per-subject sequence check: 10071 on
// one replica, 10164 on several.
func isLogConflict(err error) bool {
	var apiErr *jetstream.APIError
	if !errors.As(err, &apiErr) {
		return false
	}
	return apiErr.ErrorCode == jetstream.JSErrCodeStreamWrongLastSequence ||
		apiErr.ErrorCode == jetstream.JSErrCodeStreamWrongLastSequenceConstant
}

// isLogFull reports an append refused by the per-subject limit.
func isLogFull(err error) bool {
	var apiErr *jetstream.APIError
	return errors.As(err, &apiErr) && apiErr.ErrorCode == jetstream.ErrorCode(10077) &&
		strings.Contains(apiErr.Description, "per subject")
}

// trim removes room's changes below sequence keep.
func (l *roomLog) trim(ctx context.Context, room string, keep uint64) error {
	return l.stream.Purge(ctx, jetstream.WithPurgeSubject(roomLogSubject+roomToken(room)), jetstream.WithPurgeSequence(keep))
}

// first returns the sequence of room's oldest kept change, 0 if none.
func (l *roomLog) first(ctx context.Context, room string) (uint64, error) {
	m, err := l.stream.GetMsg(ctx, 1, jetstream.WithGetMsgSubject(roomLogSubject+roomToken(room)))
	if errors.Is(err, jetstream.ErrMsgNotFound) {
		return 0, nil
	}
	if err != nil {
		return 0, fmt.Errorf("server: room log read: %w", err)
	}
	return m.Sequence, nil
}

// since returns room's stored changes after sequence after and, unless
// before is 0, below before, oldest first, and whether they follow after
// without a gap (false: the log was trimmed past it, or trimmed while
// read).
func (l *roomLog) since(ctx context.Context, room string, after, before uint64) ([]logEntry, bool, error) {
	subj := roomLogSubject + roomToken(room)
	var out []logEntry
	seq := after + 1
	for range directReads {
		if before != 0 && seq >= before {
			return out, whole(out, after), nil
		}
		m, err := l.stream.GetMsg(ctx, seq, jetstream.WithGetMsgSubject(subj))
		if errors.Is(err, jetstream.ErrMsgNotFound) {
			return out, whole(out, after), nil
		}
		if err != nil {
			return nil, false, fmt.Errorf("server: room log read: %w", err)
		}
		if before != 0 && m.Sequence >= before {
			return out, whole(out, after), nil
		}
		out = append(out, entryOf(m.Sequence, m.Header, m.Data))
		seq = m.Sequence + 1
	}
	rest, err := l.read(ctx, subj, seq, before)
	if err != nil {
		return nil, false, err
	}
	out = append(out, rest...)
	return out, whole(out, after), nil
}

// directReads is how many changes since reads one request each before it
// streams the rest through a consumer: a catch-up usually misses a few, a
// node starting reads thousands.
const directReads = 8

// read returns subj's changes from sequence from, below before unless
// it is 0, through an ordered consumer (batches of up to 1,024).
func (l *roomLog) read(ctx context.Context, subj string, from, before uint64) ([]logEntry, error) {
	last, err := l.stream.GetLastMsgForSubject(ctx, subj)
	if errors.Is(err, jetstream.ErrMsgNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("server: room log read: %w", err)
	}
	end := last.Sequence
	if before != 0 {
		end = min(end, before-1)
	}
	if end < from {
		return nil, nil
	}
	cons, err := l.stream.OrderedConsumer(ctx, jetstream.OrderedConsumerConfig{FilterSubjects: []string{subj},
		DeliverPolicy: jetstream.DeliverByStartSequencePolicy, OptStartSeq: from, InactiveThreshold: 10 * time.Second})
	if err != nil {
		return nil, fmt.Errorf("server: room log read: %w", err)
	}
	var out []logEntry
	for {
		// No wait: the server sends what it has and ends the batch, so that
		// reading it to its end (which the client's fetch needs, or it
		// lingers) takes no longer than the messages do.
		batch, err := cons.FetchNoWait(1024)
		if err != nil {
			return nil, fmt.Errorf("server: room log read: %w", err)
		}
		n, done := 0, false
		for m := range batch.Messages() {
			n++
			meta, err := m.Metadata()
			if err != nil || done || meta.Sequence.Stream > end {
				done = true
				continue
			}
			out = append(out, entryOf(meta.Sequence.Stream, m.Headers(), m.Data()))
			done = meta.Sequence.Stream == end
		}
		if err := batch.Error(); err != nil && !errors.Is(err, nats.ErrTimeout) {
			return nil, fmt.Errorf("server: room log read: %w", err)
		}
		if done || n == 0 {
			return out, nil // n == 0: trimmed meanwhile; what is left is read
		}
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
	}
}

// entryOf makes a stored change's entry.
func entryOf(seq uint64, h nats.Header, data []byte) logEntry {
	prev, _ := strconv.ParseUint(h.Get(prevHeader), 10, 64)
	return logEntry{Seq: seq, Prev: prev, Data: data}
}

// whole reports whether es follows sequence after without a gap.
func whole(es []logEntry, after uint64) bool {
	return len(es) == 0 || es[0].Prev == after && unbroken(es)
}

// unbroken reports whether each change of es follows the one before it:
// none was trimmed from between them while they were read.
func unbroken(es []logEntry) bool {
	for i := 1; i < len(es); i++ {
		if es[i].Prev != es[i-1].Seq {
			return false
		}
	}
	return true
}

// follow calls fn with each change stored from now on, in stream order:
// its room, and the entry with the room's previous sequence (Synk-Prev). fn runs on
// one goroutine of the NATS client. The subscription is the caller's.
func (l *roomLog) follow(fn func(room string, e logEntry)) (*nats.Subscription, error) {
	return l.nc.Subscribe(roomLogLive+">", func(m *nats.Msg) {
		room, err := roomFromToken(strings.TrimPrefix(m.Subject, roomLogLive))
		if err != nil {
			return
		}
		seq, _ := strconv.ParseUint(m.Header.Get(jetstream.SequenceHeader), 10, 64)
		// The room's previous sequence is the one the append expected, which
		// JetStream checked: Nats-Last-Sequence, which RePublish adds, is not
		// always that around a change of stream leader (a node trusting it
		// applied a write without the one before, and its objects diverged).
		fn(string(room), entryOf(seq, m.Header, m.Data))
	})
}
