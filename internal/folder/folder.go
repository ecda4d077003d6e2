package folder

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"time"

	"github.com/synkhq/synk/client"
)

// Options configure a [Folder].
type Options struct {
	// Dir is the folder kept in sync. It is created if missing.
	Dir string
	// Room is the room the devices share.
	Room string
	// Server is the server's websocket address, such as ws://host:7700/ws.
	Server string
	// Device names this device in the room (its client id) and in conflict
	// copies. Default: with a Token, its subject; else the host name and a
	// random suffix, made once and kept in the folder's .synk directory.
	Device string
	// Token is the token a server with auth requires: presence, read and
	// write in the room. Its subject is the device's client id, so each
	// device needs a token of its own.
	Token string
	// Progress, if set, receives a progress bar for each long transfer.
	Progress io.Writer
	// Logger receives what the folder does. Default slog.Default().
	Logger *slog.Logger
	// HTTP carries the chunks. Default: a client of the folder's own,
	// keeping a connection per worker.
	HTTP *http.Client
	// Versions, if positive, keeps copies of the files another device's
	// change replaced or deleted here, up to this many of each file (the
	// newest), in .synk/versions/ (see docs/FOLDER.md).
	Versions int
	// VersionsFor, if positive, keeps those copies this long (with
	// Versions too, a copy goes when either says so).
	VersionsFor time.Duration
	// Symlinks syncs symbolic links as links (their target text), never
	// following them, and only those whose target stays inside the
	// folder (relative, not above its root). Off, links are left alone on
	// this device and the room's links are not made here.
	Symlinks bool
}

// Folder keeps a directory equal to a room's files.
type Folder struct {
	opts   Options
	root   string
	log    *slog.Logger
	conn   *client.Conn
	store  *client.FileStore
	room   *client.Room
	chunks *chunks
	remote chan struct{} // told of each change from the room
	done   chan struct{} // closed when the event reader ends

	passed chan<- struct{} // test-only: told after each pass of Run

	// links is held to make a link appear (write), and to check that a
	// path leads through no link and then use it (read): the downloads of
	// one pass run at once with the links it makes, and a link made
	// between a file's check and its write would take the write out of
	// place.
	links sync.RWMutex

	ownHTTP   bool // opts.HTTP is the folder's own
	closeOnce sync.Once
	closeErr  error

	mu sync.Mutex // Protects ix and the following: a pass at a time.
	ix *index
	// refused holds the records that cannot be made into a file (see
	// errBadRecord) or are not records at all, by object id: the version
	// refused. Such a record is neither downloaded nor logged again until
	// it changes.
	refused map[string]uint64
	said    Status // the status last published (see sayStatus)
	saidAny bool
}

// Stats count what a Folder transferred.
type Stats struct {
	ChunksSent, BytesSent         int64 // chunks uploaded
	ChunksReceived, BytesReceived int64 // chunks downloaded
}

// Open connects the folder to its room: it loads the folder's state, dials
// the server, joins the room and takes the room's files (resuming from
// where it was, if it has been here before). Close it when done.
func Open(ctx context.Context, opts Options) (_ *Folder, err error) {
	if opts.Dir == "" || opts.Room == "" || opts.Server == "" {
		return nil, errors.New("folder: a directory, a room and a server are all required")
	}
	root, err := filepath.Abs(opts.Dir)
	if err != nil {
		return nil, err
	}
	if err := os.MkdirAll(filepath.Join(root, stateDir), 0o755); err != nil {
		return nil, fmt.Errorf("folder: %w", err)
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	own := opts.HTTP == nil
	if own {
		t := http.DefaultTransport.(*http.Transport).Clone()
		t.MaxIdleConnsPerHost = workers
		opts.HTTP = &http.Client{Transport: t}
		defer func() { // else closed with the folder
			if err != nil {
				t.CloseIdleConnections()
			}
		}()
	}
	if opts.Device == "" && opts.Token == "" {
		if opts.Device, err = deviceName(root); err != nil {
			return nil, err
		}
	}
	f := &Folder{opts: opts, ownHTTP: own, root: root, log: opts.Logger, remote: make(chan struct{}, 1), done: make(chan struct{})}
	if f.ix, err = loadIndex(root); err != nil {
		return nil, err
	}
	if f.chunks, err = newChunks(opts.Server, opts.Room, opts.Token, opts.HTTP); err != nil {
		return nil, fmt.Errorf("folder: %w", err)
	}
	store, err := client.OpenFile(filepath.Join(root, stateDir, "client"))
	if err != nil {
		return nil, fmt.Errorf("folder: %w", err)
	}
	f.store = store
	f.conn, err = client.Dial(ctx, opts.Server, &client.DialOptions{Client: opts.Device, Token: opts.Token, Store: store})
	if err != nil {
		store.Close()
		return nil, fmt.Errorf("folder: %w", err)
	}
	if f.opts.Device == "" {
		f.opts.Device = f.conn.Client() // the token's subject
	}
	go f.readEvents()
	if f.room, err = f.conn.Join(ctx, opts.Room, nil); err == nil {
		err = f.room.Subscribe(ctx, []string{Area}, nil)
	}
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("folder: joining room %q: %w", opts.Room, err)
	}
	return f, nil
}

// readEvents reads the connection's events until it closes, and tells
// f.remote of each that may change the room's files.
func (f *Folder) readEvents() {
	defer close(f.done)
	for ev := range f.conn.Events() {
		switch ev.Kind {
		case client.EventObjectPut, client.EventObjectUpdate, client.EventObjectMove, client.EventObjectRemove,
			client.EventObjectDelete, client.EventObjectsReset, client.EventReconnected, client.EventWritten:
			select {
			case f.remote <- struct{}{}:
			default:
			}
		case client.EventClosed:
			f.log.Error("folder: the server ended the session", "err", ev.Err)
		}
	}
}

// Close disconnects, waits for the folder's goroutines and closes its
// state. A second call is a no-op.
func (f *Folder) Close() error {
	f.closeOnce.Do(func() {
		f.closeErr = f.conn.Close()
		<-f.done
		f.closeErr = errors.Join(f.closeErr, f.store.Close())
		if f.ownHTTP {
			f.opts.HTTP.CloseIdleConnections()
		}
	})
	return f.closeErr
}

// Device returns the device's name.
func (f *Folder) Device() string { return f.opts.Device }

// Stats returns the chunks transferred so far.
func (f *Folder) Stats() Stats {
	c := f.chunks
	return Stats{ChunksSent: c.put.Load(), BytesSent: c.sent.Load(), ChunksReceived: c.got.Load(), BytesReceived: c.received.Load()}
}

var deviceChars = regexp.MustCompile(`[^A-Za-z0-9_.-]+`)

// deviceName returns the device name kept in the folder's state, making
// one on first use: the host name and 4 random hex digits, so that two
// folders on one machine are two devices.
func deviceName(root string) (string, error) {
	file := filepath.Join(root, stateDir, "device")
	if b, err := os.ReadFile(file); err == nil {
		return strings.TrimSpace(string(b)), nil
	} else if !errors.Is(err, os.ErrNotExist) {
		return "", err
	}
	host, _ := os.Hostname()
	host = strings.Trim(deviceChars.ReplaceAllString(host, "-"), "-.")
	if host == "" {
		host = "device"
	}
	var r [2]byte
	_, _ = rand.Read(r[:])
	name := fmt.Sprintf("%.40s-%s", host, hex.EncodeToString(r[:]))
	return name, os.WriteFile(file, []byte(name+"\n"), 0o644)
}
