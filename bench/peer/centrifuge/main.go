// Command centrifuge is the peer of the benchmarks in bench/compare: a
// server built on github.com/centrifugal/centrifuge, configured as its
// README's tutorial (anonymous connections, clients may subscribe to and
// publish into any channel). -presence turns on join/leave events and
// presence (as Synk's participants have); -history keeps publications for
// recovery, so that a client that reconnects gets what it missed.
//
//	centrifuge -addr 127.0.0.1:0
//
// It serves /connection/websocket and prints "listening on ADDR" to stdout
// once ready.
package main

import (
	"context"
	"flag"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/centrifugal/centrifuge"
	"github.com/synkhq/synk/bench/peer/freemem"
)

func main() {
	addr := flag.String("addr", "127.0.0.1:0", "listen address")
	debugAddr := flag.String("debug", "", "serve /debug/freemem (runs debug.FreeOSMemory) on this address")
	history := flag.Int("history", 0, "publications kept per channel for recovery (0: none)")
	presence := flag.Bool("presence", false, "join/leave events and presence for every subscription")
	flag.Parse()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()

	node, err := centrifuge.New(centrifuge.Config{LogLevel: centrifuge.LogLevelError})
	if err != nil {
		fail(err)
	}
	node.OnConnecting(func(ctx context.Context, e centrifuge.ConnectEvent) (centrifuge.ConnectReply, error) {
		return centrifuge.ConnectReply{Credentials: &centrifuge.Credentials{UserID: e.ClientID}}, nil
	})
	node.OnConnect(func(c *centrifuge.Client) {
		c.OnSubscribe(func(e centrifuge.SubscribeEvent, cb centrifuge.SubscribeCallback) {
			cb(centrifuge.SubscribeReply{Options: centrifuge.SubscribeOptions{
				EmitPresence: *presence, EmitJoinLeave: *presence, PushJoinLeave: *presence, EnableRecovery: *history > 0,
			}}, nil)
		})
		c.OnPublish(func(e centrifuge.PublishEvent, cb centrifuge.PublishCallback) {
			var reply centrifuge.PublishReply
			if *history > 0 {
				reply.Options = centrifuge.PublishOptions{HistorySize: *history, HistoryTTL: time.Hour}
			}
			cb(reply, nil)
		})
		c.OnPresence(func(e centrifuge.PresenceEvent, cb centrifuge.PresenceCallback) {
			cb(centrifuge.PresenceReply{}, nil)
		})
	})
	if err := node.Run(); err != nil {
		fail(err)
	}
	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		fail(err)
	}
	mux := http.NewServeMux()
	mux.Handle("/connection/websocket", centrifuge.NewWebsocketHandler(node, centrifuge.WebsocketConfig{
		CheckOrigin: func(*http.Request) bool { return true },
	}))
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	go srv.Serve(ln)
	fmt.Println("listening on", ln.Addr())
	if *debugAddr != "" {
		if err := freemem.Serve(*debugAddr); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
	}
	<-ctx.Done()
	sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	srv.Shutdown(sctx)
	node.Shutdown(sctx)
}

func fail(err error) {
	fmt.Fprintln(os.Stderr, "centrifuge:", err)
	os.Exit(1)
}
