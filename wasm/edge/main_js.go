package main

import (
	"fmt"
	"log/slog"
	"os"
	"strings"
	"sync"
	"syscall/js"

	"github.com/synkhq/synk/server"
	"github.com/synkhq/synk/server/auth"
	"github.com/syumai/workers"
)

// main starts the room's server on the Durable Object's storage and
// fills the binding the JS glue (entry.mjs) calls. It then waits: the
// Go instance lives as long as the Durable Object.
func main() {
	rt := js.Global().Get("context") // this instance's own: env, ctx, binding
	binding := rt.Get("binding")
	room := binding.Get("room").String()
	opts := &server.Options{Logger: slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))}
	env := rt.Get("env")
	if v := env.Get("SYNK_ORIGINS"); v.Type() == js.TypeString {
		for _, p := range strings.Split(v.String(), ",") {
			if p = strings.TrimSpace(p); p != "" {
				opts.OriginPatterns = append(opts.OriginPatterns, p)
			}
		}
	}
	if key := env.Get("SYNK_AUTH_KEY"); key.Type() == js.TypeString && key.String() != "" {
		auth, err := auth.New([]byte(key.String()))
		if err != nil {
			fail(binding, err)
			return
		}
		opts.Auth = auth
	}
	s, err := server.NewDurable(rt.Get("ctx").Get("storage"), room, opts)
	if err != nil {
		fail(binding, err)
		return
	}
	b := &bridge{s: s, sockets: make(map[int]*socket)}
	binding.Set("checkOrigin", js.FuncOf(b.checkOrigin))
	binding.Set("open", js.FuncOf(b.open))
	binding.Set("refuse", js.FuncOf(b.refuse))
	binding.Set("message", js.FuncOf(b.message))
	binding.Set("closed", js.FuncOf(b.closed))
	workers.ServeNonBlock(s) // binding.handleRequest: HTTP, /synk/{room}
	workers.Ready()
	select {}
}

// fail reports an error that stops the room to the JS glue, which answers
// every request with it.
func fail(binding js.Value, err error) {
	binding.Set("error", fmt.Sprint(err))
	workers.Ready()
}

// bridge connects the Durable Object's websockets to the server.
type bridge struct {
	s *server.Server

	mu      sync.Mutex // Protects the following.
	next    int
	sockets map[int]*socket
}

// checkOrigin(origin, host) returns why a browser on origin may not open a
// websocket here, or "".
func (b *bridge) checkOrigin(_ js.Value, args []js.Value) any {
	if err := b.s.CheckOrigin(args[0].String(), args[1].String()); err != nil {
		return err.Error()
	}
	return ""
}

// open(ws, remote) serves a websocket the Durable Object accepted and
// returns its id, which message and closed take.
func (b *bridge) open(_ js.Value, args []js.Value) any {
	id, sock := b.add(args[0])
	if err := b.s.ServeSocket(sock, args[1].String()); err != nil {
		b.drop(id)
		return 0
	}
	return id
}

// refuse(ws, remote, origin, host) answers a websocket the Durable Object
// accepted from a page whose origin checkOrigin refused, telling it why
// (server.RefuseSocket), and returns its id, which message and closed
// take.
func (b *bridge) refuse(_ js.Value, args []js.Value) any {
	origin := args[2].String()
	err := b.s.CheckOrigin(origin, args[3].String())
	if err == nil {
		return b.open(js.Undefined(), args[:2])
	}
	id, sock := b.add(args[0])
	b.s.RefuseSocket(sock, origin, args[1].String(), err)
	return id
}

// add wraps the websocket ws and gives it an id.
func (b *bridge) add(ws js.Value) (int, *socket) {
	sock := newSocket(ws)
	b.mu.Lock()
	defer b.mu.Unlock()
	b.next++
	b.sockets[b.next] = sock
	return b.next, sock
}

// message(id, data) delivers a websocket message.
func (b *bridge) message(_ js.Value, args []js.Value) any {
	b.mu.Lock()
	sock := b.sockets[args[0].Int()]
	b.mu.Unlock()
	if sock != nil {
		sock.push(args[1])
	}
	return js.Undefined()
}

// closed(id, code, reason) tells that the peer closed the websocket.
func (b *bridge) closed(_ js.Value, args []js.Value) any {
	if sock := b.drop(args[0].Int()); sock != nil {
		sock.gone(args[1].Int(), args[2].String())
	}
	return js.Undefined()
}

func (b *bridge) drop(id int) *socket {
	b.mu.Lock()
	defer b.mu.Unlock()
	sock := b.sockets[id]
	delete(b.sockets, id)
	return sock
}
