package chunkstore

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// Cluster keeps every room's chunks in one JetStream Object Store, the
// bucket SYNK_CHUNKS, so that any node of a cluster serves any chunk.
// The layout is the Object Store's own (nats object ls/get read it): a
// chunk is the object "<room in hex>/<hash in hex>", whose SHA-256 digest
// is its name. Each room's bytes are counted in the key-value bucket
// SYNK_CHUNK_USE, changed by compare-and-set so the quota holds across
// nodes.
//
// The store writes its objects itself rather than through the Object
// Store's Put, to make two steps conditional on the object's meta
// message, the subject's last sequence: a put publishes the meta only if
// the object is still absent (two nodes storing one chunk store it once,
// and count it once); a renewal (Hold) republishes it only if it is the
// one read, and the collector deletes it only if it is still the one it
// judged. So a chunk a device was just told is held is never collected
// under it.
type Cluster struct {
	nc       *nats.Conn
	replicas int
	maxBytes int64         // the bucket's limit, every room's chunks; 0: JetStream's own
	maxChunk int64         // the largest chunk: a meta claiming more is refused
	renew    time.Duration // Hold renews a chunk older than this

	mu   sync.Mutex // Protects the following.
	js   jetstream.JetStream
	st   jetstream.Stream
	use  jetstream.KeyValue
	noJS bool
}

const (
	bucket      = "SYNK_CHUNKS"
	useBucket   = "SYNK_CHUNK_USE"
	streamName  = "OBJ_" + bucket
	metaPrefix  = "$O." + bucket + ".M."
	chunkPrefix = "$O." + bucket + ".C."
	// pieceSize is the Object Store's message size: larger chunks (old
	// records' up to 8 MiB) are stored as several messages.
	pieceSize = 128 << 10
	// metaCost is what a chunk's meta message costs, counted with its
	// bytes against the quota: tiny chunks are not free.
	metaCost = 512
	// casTries bounds the retries of a counter update losing races.
	casTries = 50
	// grant is how much a batch reserves of the quota at a time.
	grant = 1 << 20
)

// ErrUnavailable: the cluster's JetStream did not answer; try again.
// ErrNoJetStream: the NATS has no JetStream, so it can keep no chunks.
var (
	ErrUnavailable = errors.New("chunk store unavailable")
	ErrNoJetStream = errors.New("the NATS has no JetStream")
)

// NewCluster returns the chunk store of a cluster node on nc. The
// buckets are made (or bound) on first use, with replicas copies of
// every message; maxBytes bounds every room's chunks together (0 leaves
// it to the JetStream servers' own storage limits); maxChunk is the
// largest chunk. A chunk older than
// renew that a device asks about is renewed, so that the collector,
// keeping chunks for a grace period, does not take it while the device
// writes the record naming it: renew should be a fraction of the grace.
func NewCluster(nc *nats.Conn, replicas int, maxBytes, maxChunk int64, renew time.Duration) *Cluster {
	return &Cluster{nc: nc, replicas: max(replicas, 1), maxBytes: maxBytes, maxChunk: maxChunk, renew: renew}
}

// OnDisk reports false: chunks go to the cluster whole (see Store.OnDisk).
func (c *Cluster) OnDisk() bool { return false }

// open binds the buckets, making them the first time.
func (c *Cluster) open(ctx context.Context) (jetstream.JetStream, jetstream.Stream, jetstream.KeyValue, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.noJS {
		return nil, nil, nil, ErrNoJetStream
	}
	if c.st != nil {
		return c.js, c.st, c.use, nil
	}
	js, err := jetstream.New(c.nc)
	if err != nil {
		return nil, nil, nil, fmt.Errorf("%w: %v", ErrUnavailable, err)
	}
	_, err = js.CreateOrUpdateObjectStore(ctx, jetstream.ObjectStoreConfig{Bucket: bucket,
		Description: "synk folder sync chunks: <room hex>/<sha-256 hex>",
		Storage:     jetstream.FileStorage, Replicas: c.replicas, MaxBytes: c.maxBytes})
	if err == nil {
		var st jetstream.Stream
		if st, err = js.Stream(ctx, streamName); err == nil {
			var use jetstream.KeyValue
			if use, err = js.CreateOrUpdateKeyValue(ctx, jetstream.KeyValueConfig{Bucket: useBucket,
				Description: "synk: bytes of chunks per room", Storage: jetstream.FileStorage, Replicas: c.replicas}); err == nil {
				c.js, c.st, c.use = js, st, use
				return js, st, use, nil
			}
		}
	}
	if errors.Is(err, jetstream.ErrJetStreamNotEnabled) || errors.Is(err, jetstream.ErrJetStreamNotEnabledForAccount) {
		c.noJS = true
		return nil, nil, nil, ErrNoJetStream
	}
	return nil, nil, nil, fmt.Errorf("%w: %v", ErrUnavailable, err)
}

// objectName is a chunk's name in the bucket.
func objectName(room string, sum [32]byte) string {
	return hex.EncodeToString([]byte(room)) + "/" + hex.EncodeToString(sum[:])
}

// metaSubject is the subject of a chunk's meta message (the Object
// Store's: the name in base64url).
func metaSubject(room string, sum [32]byte) string {
	return metaPrefix + base64.URLEncoding.EncodeToString([]byte(objectName(room, sum)))
}

// useKey is the counter of room's bytes.
func useKey(room string) string { return "room." + hex.EncodeToString([]byte(room)) }

// meta is a chunk's meta message as read: its sequence (0: none) and time.
type meta struct {
	seq  uint64
	last uint64 // the subject's last sequence: seq, or a tombstone's
	at   time.Time
	info jetstream.ObjectInfo
	raw  []byte
}

// readMeta reads a chunk's meta message; a deleted or absent object has
// seq 0.
func readMeta(ctx context.Context, st jetstream.Stream, room string, sum [32]byte) (meta, error) {
	m, err := st.GetLastMsgForSubject(ctx, metaSubject(room, sum))
	if errors.Is(err, jetstream.ErrMsgNotFound) {
		return meta{}, nil
	}
	if err != nil {
		return meta{}, unavailable(err)
	}
	var mt meta
	if err := json.Unmarshal(m.Data, &mt.info); err != nil {
		return meta{}, fmt.Errorf("%w: chunk meta: %v", ErrStore, err)
	}
	if mt.info.Deleted { // a tombstone the Object Store's own Delete left
		return meta{last: m.Sequence}, nil
	}
	mt.seq, mt.last, mt.at, mt.raw = m.Sequence, m.Sequence, m.Time, m.Data
	return mt, nil
}

// unavailable wraps a JetStream failure: a full store is ErrDiskFull,
// the rest ErrUnavailable.
func unavailable(err error) error {
	var apiErr *jetstream.APIError
	if errors.As(err, &apiErr) && (apiErr.ErrorCode == 10047 || apiErr.ErrorCode == 10077 &&
		(strings.Contains(apiErr.Description, "maximum bytes") || strings.Contains(apiErr.Description, "resources"))) {
		return fmt.Errorf("%w: the cluster's chunk storage is full: %v", ErrDiskFull, err)
	}
	return fmt.Errorf("%w: %v", ErrUnavailable, err)
}

// conflict reports a failed per-subject sequence check: 10071 on one
// replica, 10164 on several.
func conflict(err error) bool {
	var apiErr *jetstream.APIError
	return errors.As(err, &apiErr) && (apiErr.ErrorCode == jetstream.JSErrCodeStreamWrongLastSequence ||
		apiErr.ErrorCode == jetstream.JSErrCodeStreamWrongLastSequenceConstant)
}

// Hold reports whether room holds the chunk and, if it is older than the
// renewal age, renews it: its meta message is published again, on the
// condition that it is still the one read, so a collection that took it
// meanwhile makes Hold report false.
func (c *Cluster) Hold(ctx context.Context, room string, sum [32]byte, now time.Time) (bool, error) {
	js, st, _, err := c.open(ctx)
	if err != nil {
		return false, err
	}
	m, err := readMeta(ctx, st, room, sum)
	if err != nil || m.seq == 0 {
		return false, err
	}
	if now.Sub(m.at) < c.renew {
		return true, nil
	}
	msg := nats.NewMsg(metaSubject(room, sum))
	msg.Header.Set(jetstream.MsgRollup, jetstream.MsgRollupSubject)
	msg.Data = m.raw
	_, err = js.PublishMsg(ctx, msg, jetstream.WithExpectLastSequencePerSubject(m.seq))
	if conflict(err) {
		return c.held(ctx, st, room, sum) // renewed by another, or collected
	}
	if err != nil {
		return false, unavailable(err)
	}
	return true, nil
}

// held reports whether the chunk's meta is there, without renewing it.
func (c *Cluster) held(ctx context.Context, st jetstream.Stream, room string, sum [32]byte) (bool, error) {
	m, err := readMeta(ctx, st, room, sum)
	return m.seq != 0, err
}

// Get returns the chunk's content, checked against its name, or an error
// wrapping fs.ErrNotExist.
func (c *Cluster) Get(ctx context.Context, room string, sum [32]byte) ([]byte, error) {
	_, st, _, err := c.open(ctx)
	if err != nil {
		return nil, err
	}
	m, err := readMeta(ctx, st, room, sum)
	if err != nil {
		return nil, err
	}
	if m.seq == 0 {
		return nil, fs.ErrNotExist
	}
	return c.read(ctx, st, room, sum, m)
}

// read reads the pieces of the chunk whose meta is m.
func (c *Cluster) read(ctx context.Context, st jetstream.Stream, room string, sum [32]byte, m meta) ([]byte, error) {
	if int64(m.info.Size) > c.maxChunk || m.info.Size > 1<<40 || m.info.NUID == "" {
		return nil, fmt.Errorf("%w: chunk meta of %d bytes, nuid %q", ErrStore, m.info.Size, m.info.NUID)
	}
	data := make([]byte, 0, m.info.Size)
	subj := chunkPrefix + m.info.NUID
	if m.info.Chunks == 1 {
		raw, err := st.GetLastMsgForSubject(ctx, subj)
		if err != nil {
			return nil, c.lost(ctx, st, room, sum, err)
		}
		data = append(data, raw.Data...)
	} else {
		cons, err := st.OrderedConsumer(ctx, jetstream.OrderedConsumerConfig{FilterSubjects: []string{subj}})
		if err != nil {
			return nil, unavailable(err)
		}
		for uint64(len(data)) < m.info.Size {
			// The request's context ends the wait: a client gone or a
			// server closing does not wait out the fetch.
			n, err := fetchSome(ctx, cons, int(m.info.Chunks), func(msg jetstream.Msg, _ *jetstream.MsgMetadata) error {
				if data = append(data, msg.Data()...); uint64(len(data)) > m.info.Size {
					return fmt.Errorf("%w: a chunk's pieces pass its size", ErrStore)
				}
				return nil
			})
			if err != nil {
				return nil, err
			}
			if n == 0 {
				return nil, c.lost(ctx, st, room, sum, jetstream.ErrMsgNotFound)
			}
		}
	}
	if sha256.Sum256(data) != sum {
		return nil, c.lost(ctx, st, room, sum, ErrHash)
	}
	return data, nil
}

// lost reports a chunk whose pieces could not be read: gone, when its meta
// went meanwhile (a collection), else err.
func (c *Cluster) lost(ctx context.Context, st jetstream.Stream, room string, sum [32]byte, err error) error {
	if ok, _ := c.held(ctx, st, room, sum); !ok {
		return fs.ErrNotExist
	}
	if errors.Is(err, ErrHash) {
		return fmt.Errorf("%w: a stored chunk does not hash to its name", ErrStore)
	}
	return unavailable(err)
}

// Put stores data, whose SHA-256 the caller has checked to be sum, unless
// the room holds it already.
func (c *Cluster) Put(ctx context.Context, room string, sum [32]byte, data []byte, quota int64) (bool, error) {
	created, _, err := c.PutFrom(ctx, room, sum, quota, func(w io.Writer) (int64, error) {
		n, err := w.Write(data)
		return int64(n), err
	})
	return created, err
}

// PutFrom is Put for a chunk that write writes.
func (c *Cluster) PutFrom(ctx context.Context, room string, sum [32]byte, quota int64, write func(io.Writer) (int64, error)) (bool, int64, error) {
	b := c.Batch(ctx, room, quota).(*clusterBatch)
	defer b.Abort()
	_, err := b.Add(sum, pieceSize, write)
	if err == nil {
		err = b.Commit()
	}
	// Not created when another node stored it first (its copy is dropped).
	return b.stored == 1, b.bytes, err
}

// reserve counts n bytes more of room's chunks, within quota.
func (c *Cluster) reserve(ctx context.Context, use jetstream.KeyValue, room string, n, quota int64) error {
	return c.count(ctx, use, room, func(used int64) (int64, error) {
		if used+n > quota {
			return 0, fmt.Errorf("%w: room holds %d bytes of chunks, %d more would pass its %d", ErrQuota, used, n, quota)
		}
		return used + n, nil
	})
}

// release gives back n bytes of room's count.
func (c *Cluster) release(ctx context.Context, use jetstream.KeyValue, room string, n int64) error {
	return c.count(ctx, use, room, func(used int64) (int64, error) { return max(used-n, 0), nil })
}

// count changes room's counter by f, compare-and-set, trying again when
// another node changed it first.
func (c *Cluster) count(ctx context.Context, use jetstream.KeyValue, room string, f func(int64) (int64, error)) error {
	key := useKey(room)
	for range casTries {
		var used int64
		var rev uint64
		e, err := use.Get(ctx, key)
		switch {
		case errors.Is(err, jetstream.ErrKeyNotFound):
		case err != nil:
			return unavailable(err)
		default:
			if used, err = strconv.ParseInt(string(e.Value()), 10, 64); err != nil {
				used = 0 // a corrupt counter starts again; the collector recounts it
			}
			rev = e.Revision()
		}
		next, err := f(used)
		if err != nil {
			return err
		}
		val := []byte(strconv.FormatInt(next, 10))
		if rev == 0 {
			_, err = use.Create(ctx, key, val)
		} else {
			_, err = use.Update(ctx, key, val, rev)
		}
		if err == nil {
			return nil
		}
		if !errors.Is(err, jetstream.ErrKeyExists) && !errors.Is(err, jetstream.ErrKeyRevisionMismatch) && !conflict(err) {
			return unavailable(err)
		}
	}
	return fmt.Errorf("%w: room %q's chunk count kept changing", ErrUnavailable, room)
}
