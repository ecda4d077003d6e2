// Command synk runs the Synk server and serves the browser client and
// demo pages from web/.
//
//	synk serve [flags]
//	synk token -key FILE -sub USER -room PATTERN=CAPS …
//	synk folder DIR -room ROOM -server ws://HOST:PORT [-once]
//	synk discover [-timeout 2s]
//	synk version
//
// Every flag can also be set by an environment variable: -max-keys by
// SYNK_MAX_KEYS, and so on. A flag given on the command line wins.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"runtime/debug"
	"strings"
	"syscall"
	"time"

	"github.com/synkhq/synk/server"
	"github.com/synkhq/synk/server/auth"
	"github.com/synkhq/synk/web"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Stdout, os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "synk:", err)
		os.Exit(2)
	}
}

// usage lists the commands.
const usage = `Synk keeps state in sync between a server and many clients.

Usage:

	synk serve [flags]      run the server, with the browser client and demo pages
	synk token [flags]      mint a client token for a server run with -auth-key
	synk folder DIR [flags] keep a directory in sync through a room
	synk discover [flags]   list the synk servers announced on the local network
	synk version            print the version
	synk help               print this

Run "synk COMMAND -h" for a command's flags.
`

func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	err := command(ctx, args, stdout, stderr)
	if errors.Is(err, flag.ErrHelp) {
		return nil // -h: the flags were printed
	}
	return err
}

func command(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		_, err := io.WriteString(stdout, usage)
		return err
	}
	switch args[0] {
	case "help", "-h", "-help", "--help":
		_, err := io.WriteString(stdout, usage)
		return err
	case "version", "-version", "--version":
		_, err := fmt.Fprintln(stdout, "synk", version())
		return err
	case "token":
		return token(args[1:], stdout, stderr)
	case "folder":
		return syncFolder(ctx, args[1:], stdout, stderr)
	case "discover":
		return discover(ctx, args[1:], stdout, stderr)
	case "serve":
		cfg, err := parseServe(args[1:], os.LookupEnv, stderr)
		if err != nil {
			return err
		}
		return serve(ctx, cfg, nil)
	}
	io.WriteString(stderr, usage)
	return fmt.Errorf("unknown command %q", args[0])
}

// version returns the module version and VCS revision the binary was
// built from, as far as the build recorded them.
func version() string {
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		return "(unknown)"
	}
	v := bi.Main.Version
	var rev, modified string
	for _, s := range bi.Settings {
		switch s.Key {
		case "vcs.revision":
			rev = s.Value
		case "vcs.modified":
			if s.Value == "true" {
				modified = "+dirty"
			}
		}
	}
	if rev != "" {
		v += " " + rev[:min(12, len(rev))] + modified
	}
	return v + " " + bi.GoVersion
}

// serveConfig is what the serve flags set.
type serveConfig struct {
	addr     string
	pprof    string
	authKey  string
	nats     string
	natsAddr string
	natsSync string
	mdns     bool
	mdnsName string
	opts     server.Options
	origins  string
	logLevel slog.Level
	logTo    io.Writer // the command's stderr
	noClient bool      // the binary lacks the browser client (web.HasClient)
}

// parseServe reads the serve flags, each defaulting to its SYNK_ variable.
func parseServe(args []string, env func(string) (string, bool), stderr io.Writer) (*serveConfig, error) {
	fs := flag.NewFlagSet("synk serve", flag.ContinueOnError)
	fs.SetOutput(stderr)
	c := &serveConfig{logTo: stderr, noClient: !web.HasClient()}
	o := &c.opts
	fs.StringVar(&c.addr, "addr", "127.0.0.1:8080", "listen address")
	fs.StringVar(&o.DataDir, "data", "synk-data", `directory of the object store; "" keeps objects in memory only`)
	fs.DurationVar(&o.Timeout, "timeout", 10*time.Second, "drop clients silent for this long")
	fs.DurationVar(&o.PingInterval, "ping", 0, "ping interval (default timeout/2)")
	fs.DurationVar(&o.WriteTimeout, "write-timeout", 5*time.Second, "bound on writing one frame")
	fs.IntVar(&o.MaxFrame, "max-frame", 64<<10, "largest frame or HTTP body in bytes")
	fs.IntVar(&o.MaxKeys, "max-keys", 64, "most keys per client per room")
	fs.IntVar(&o.MaxValue, "max-value", 16<<10, "largest value in bytes")
	fs.IntVar(&o.MaxRooms, "max-rooms", 16, "most rooms per connection")
	fs.IntVar(&o.MaxRoomsTotal, "max-rooms-total", 100000, "most rooms the server holds at once")
	fs.IntVar(&o.MaxRoomsPerIP, "max-rooms-per-ip", 4096, "most open rooms that clients from one IP address may have created")
	fs.IntVar(&o.MaxRoomPresence, "max-room-presence", 4<<20, "bytes of presence the members of one room may hold together")
	fs.Int64Var(&o.MaxPresence, "max-presence", 1<<30, "bytes of presence all rooms may hold together")
	fs.Int64Var(&o.MaxPresencePerIP, "max-presence-per-ip", 64<<20, "bytes of presence the members from one IP address may hold (negative: no limit)")
	fs.IntVar(&o.MaxPostersPerIP, "max-posters-per-ip", 1024, "HTTP posters one IP address may keep in rooms at once")
	fs.Int64Var(&o.MaxRoomObjectBytes, "max-room-object-bytes", 256<<20, "bytes of objects one room may hold")
	fs.Int64Var(&o.MaxObjectBytes, "max-object-bytes", 2<<30, "bytes of objects all rooms may hold together")
	fs.Int64Var(&o.ChunkQuota, "chunk-quota", 0, "bytes of folder-sync chunks one room may hold (0: 64 GiB with -data or -nats, 1 GiB in memory)")
	fs.Int64Var(&o.MaxChunkMemory, "max-chunk-memory", 1<<30, "bytes of folder-sync chunks all rooms may hold in memory (without -data)")
	fs.Int64Var(&o.MinFreeDisk, "min-free-disk", 1<<30, "bytes of disk that folder-sync chunk uploads leave free on the data directory's file system")
	fs.IntVar(&o.SendBuffer, "send-buffer", 4<<20, "bytes queued per client before it is cut as too slow (snapshots are streamed within it)")
	fs.Int64Var(&o.MaxQueued, "max-queued", 1<<30, "bytes queued for all clients together before lagging ones are cut")
	fs.Float64Var(&o.Rate, "rate", 200, "frames per second one connection may send on average (negative: no limit)")
	fs.IntVar(&o.Burst, "burst", 1000, "frames one connection may send at once")
	fs.DurationVar(&o.BodyTimeout, "body-timeout", time.Minute, "bound on reading one HTTP request body")
	fs.IntVar(&o.MaxBodiesPerIP, "max-bodies-per-ip", 16, "HTTP request bodies read at once per IP address (negative: no limit)")
	fs.Int64Var(&o.MaxBodyMemory, "max-body-memory", 32<<20, "bytes of HTTP bodies held in memory at once, server-wide: requests being read and chunks read for answers")
	fs.IntVar(&o.MaxConns, "max-conns", 100000, "websocket connections open at once")
	fs.IntVar(&o.MaxConnsPerIP, "max-conns-per-ip", 4096, "websocket connections open at once per IP address (negative: no limit)")
	fs.StringVar(&c.nats, "nats", "", "join a cluster of nodes sharing this NATS: a comma-separated list of its servers\n(nats://a:4222,nats://b:4222,...), or \"embedded\" to run one here (empty: run alone)")
	fs.StringVar(&c.natsAddr, "nats-listen", "127.0.0.1:4222", "with -nats embedded, where the NATS server listens for other nodes")
	fs.IntVar(&o.NATSReplicas, "nats-replicas", 1, "NATS servers that store each object write and chunk (JetStream replicas)")
	fs.Int64Var(&o.ClusterChunkBytes, "cluster-chunk-bytes", 0, "with -nats, bytes of folder-sync chunks all rooms may hold in JetStream (its bucket SYNK_CHUNKS;\n0: JetStream's own storage limits)")
	fs.StringVar(&c.natsSync, "nats-sync", "", "with -nats embedded, when JetStream syncs to disk: always (every write) or an interval\n(empty: NATS's default, every 2 minutes)")
	fs.StringVar(&c.authKey, "auth-key", "", "verify client tokens with this key file: an HMAC secret, or a PEM RSA or Ed25519 public key\n(empty: no auth, development mode)")
	fs.IntVar(&o.MaxMates, "max-mates", 16, "most mates one meet request may ask for")
	fs.IntVar(&o.MaxMeets, "max-meets", 16, "most pending meet requests per connection")
	fs.IntVar(&o.MaxPendingMeets, "max-pending-meets", 100000, "most meet requests pending on the server")
	fs.IntVar(&o.MaxMeetsPerEvent, "max-meets-per-event", 1000, "most meet requests pending for one event in one room")
	fs.Int64Var(&o.MaxMeetBytes, "max-meet-bytes", 256<<20, "bytes of pending meet requests the server holds")
	fs.DurationVar(&o.MeetTimeout, "meet-timeout", 10*time.Minute, "longest a meet request waits for its mates")
	fs.IntVar(&o.History, "history", 20000, "changes per room kept for clients that resume after a disconnect")
	fs.DurationVar(&o.DedupWindow, "dedup-window", 10*time.Minute, "how long a room remembers a write's op id, so that a client's resend applies once")
	fs.DurationVar(&o.HistoryAge, "history-age", 24*time.Hour, "how long a change is kept for resuming clients")
	fs.StringVar(&c.origins, "origins", "", "comma-separated extra browser Origin host patterns, e.g. app.example.com,*.example.org")
	fs.BoolVar(&o.OnlySameOrigin, "same-origin-only", false, "refuse localhost origins unless listed in -origins")
	fs.TextVar(&c.logLevel, "log-level", slog.LevelInfo, "debug, info, warn or error")
	fs.BoolVar(&c.mdns, "mdns", false, "announce this server on the local network (mDNS, service _synk._tcp) for synk discover")
	fs.StringVar(&c.mdnsName, "mdns-name", "", "the name announced with -mdns (default: synk on the host name)")
	fs.StringVar(&c.pprof, "pprof", "", "serve net/http/pprof on this address, e.g. 127.0.0.1:6060 (off when empty)")

	var bad error
	fs.VisitAll(func(f *flag.Flag) {
		name := "SYNK_" + strings.ToUpper(strings.ReplaceAll(f.Name, "-", "_"))
		if v, ok := env(name); ok && bad == nil {
			if err := f.Value.Set(v); err != nil {
				bad = fmt.Errorf("%s=%q: %w", name, v, err)
			}
		}
	})
	if bad != nil {
		return nil, bad
	}
	if err := fs.Parse(args); err != nil {
		return nil, err
	}
	if fs.NArg() > 0 {
		return nil, fmt.Errorf("unexpected argument %q", fs.Arg(0))
	}
	for _, p := range strings.Split(c.origins, ",") {
		if p = strings.TrimSpace(p); p != "" {
			o.OriginPatterns = append(o.OriginPatterns, p)
		}
	}
	return c, nil
}

// serve runs the server until ctx ends, then shuts it down gracefully. If
// ready is not nil, it receives the listening address.
func serve(ctx context.Context, c *serveConfig, ready chan<- string) error {
	log := slog.New(slog.NewTextHandler(c.logTo, &slog.HandlerOptions{Level: c.logLevel}))
	c.opts.Logger = log
	if c.authKey != "" {
		key, err := loadKey(c.authKey, false)
		if err != nil {
			return err
		}
		if c.opts.Auth, err = auth.New(key); err != nil {
			return err
		}
	}
	nc, leave, err := joinNATS(c.nats, c.natsAddr, c.opts.DataDir, c.natsSync, log)
	if err != nil {
		return err
	}
	defer leave() // after the server's Shutdown
	c.opts.NATS = nc
	s, err := server.New(&c.opts)
	if err != nil {
		return err
	}
	ln, err := net.Listen("tcp", c.addr)
	if err != nil {
		_ = s.Shutdown(ctx)
		return err
	}
	if c.pprof != "" {
		stopProfiling, err := servePprof(c.pprof, log)
		if err != nil {
			_ = s.Shutdown(ctx)
			ln.Close()
			return err
		}
		defer stopProfiling()
	}
	if c.mdns {
		stopAnnouncing, err := announce(ln.Addr().(*net.TCPAddr), c.mdnsName, log)
		if err != nil {
			_ = s.Shutdown(ctx)
			ln.Close()
			return err
		}
		defer stopAnnouncing()
	}
	mux := http.NewServeMux()
	mux.Handle("/ws", s)
	mux.Handle("/synk", s)
	mux.Handle("/synk/", s)
	mux.Handle("/event", s)
	mux.Handle("/stats", s)
	mux.Handle("/metrics", s)
	mux.Handle("/", web.Handler())
	// Bodies have their own deadline (-body-timeout); an idle keep-alive
	// connection is closed after IdleTimeout.
	hs := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second, IdleTimeout: 2 * time.Minute}
	errc := make(chan error, 1)
	go func() { errc <- hs.Serve(ln) }()
	if c.noClient {
		log.Warn("no browser client: /synk.wasm answers 404, and the world and observer pages say why", "why", web.NoClient)
	}
	log.Info("synk serving", "addr", "http://"+ln.Addr().String(), "ws", "ws://"+ln.Addr().String()+"/ws",
		"observer", "http://"+ln.Addr().String()+"/observer")
	if ready != nil {
		ready <- ln.Addr().String()
	}
	select {
	case err := <-errc:
		_ = s.Shutdown(context.Background())
		return err
	case <-ctx.Done():
	}
	log.Info("synk shutting down")
	sctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	err = errors.Join(s.Shutdown(sctx), hs.Shutdown(sctx))
	<-errc
	return err
}
