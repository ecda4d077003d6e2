// Command hub is the floor of the benchmarks in bench/compare: a bare
// websocket broadcast hub on github.com/coder/websocket with no protocol
// at all. A client connects to /ws?room=NAME; every binary message it
// sends goes, as is, to every other connection of that room. Each
// connection has a writer goroutine and a queue of 1,024 messages; a
// connection whose queue is full is closed, as Synk cuts a slow consumer.
//
//	hub -addr 127.0.0.1:0
//
// It prints "listening on ADDR" to stdout once ready.
package main

import (
	"context"
	"flag"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/signal"
	"sync"
	"syscall"
	"time"

	"github.com/coder/websocket"
	"github.com/synkhq/synk/bench/peer/freemem"
)

type hub struct {
	mu    sync.Mutex // Protects rooms.
	rooms map[string]map[*peer]struct{}
}

type peer struct {
	out  chan []byte
	quit chan struct{}
	once sync.Once
}

func (p *peer) stop() { p.once.Do(func() { close(p.quit) }) }

func (h *hub) serve(w http.ResponseWriter, r *http.Request) {
	// The peer is in its room before the handshake's answer goes out, so
	// a message sent once a client's Dial returned reaches that client.
	room := r.URL.Query().Get("room")
	p := &peer{out: make(chan []byte, 1024), quit: make(chan struct{})}
	h.mu.Lock()
	if h.rooms[room] == nil {
		h.rooms[room] = make(map[*peer]struct{})
	}
	h.rooms[room][p] = struct{}{}
	h.mu.Unlock()
	defer func() {
		h.mu.Lock()
		delete(h.rooms[room], p)
		if len(h.rooms[room]) == 0 {
			delete(h.rooms, room)
		}
		h.mu.Unlock()
	}()
	ws, err := websocket.Accept(w, r, &websocket.AcceptOptions{InsecureSkipVerify: true})
	if err != nil {
		return
	}
	defer ws.CloseNow()
	ws.SetReadLimit(1 << 20)
	ctx, cancel := context.WithCancel(r.Context())
	defer cancel()
	done := make(chan struct{})
	go func() {
		defer close(done)
		defer cancel()
		for {
			select {
			case b := <-p.out:
				// No deadline per write: a floor pays for nothing it
				// need not (a stuck peer ends with its reader).
				if err := ws.Write(ctx, websocket.MessageBinary, b); err != nil {
					return
				}
			case <-p.quit:
				return
			case <-ctx.Done():
				return
			}
		}
	}()
	for {
		_, b, err := ws.Read(ctx)
		if err != nil {
			break
		}
		h.mu.Lock()
		for o := range h.rooms[room] {
			if o == p {
				continue
			}
			select {
			case o.out <- b:
			default:
				o.stop() // too slow
			}
		}
		h.mu.Unlock()
	}
	p.stop()
	<-done
}

func main() {
	addr := flag.String("addr", "127.0.0.1:0", "listen address")
	debugAddr := flag.String("debug", "", "serve /debug/freemem (runs debug.FreeOSMemory) on this address")
	flag.Parse()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		fmt.Fprintln(os.Stderr, "hub:", err)
		os.Exit(1)
	}
	h := &hub{rooms: make(map[string]map[*peer]struct{})}
	mux := http.NewServeMux()
	mux.HandleFunc("/ws", h.serve)
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
}
