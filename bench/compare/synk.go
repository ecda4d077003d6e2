package main

import (
	"context"
	"strings"
	"time"

	"github.com/synkhq/synk/client"
	"github.com/vmihailenco/msgpack/v5"
)

// synkExtra holds extra flags for synk serve (-synk-args).
var synkExtra string

// synkSystem is Synk: presence rooms. A publisher is a participant that
// sets its key "m"; a subscriber is an observer (invisible), or a
// participant when it takes part in presence.
func synkSystem(bin string) *system {
	return &system{
		name: "synk",
		args: func(w *workload) []string {
			// Every load client is on 127.0.0.1 and the publishers send as
			// fast as the load asks: the per-address and per-connection
			// limits, which centrifuge and the hub do not have, are off.
			return append([]string{"serve", "-addr", "127.0.0.1:0", "-data", "", "-log-level", "info", "-pprof", "127.0.0.1:0",
				"-max-conns-per-ip", "-1", "-rate", "-1"}, strings.Fields(synkExtra)...)
		},
		dial: func(ctx context.Context, srv *server, room, id string, h handler) (peer, error) {
			c, err := client.Dial(ctx, "ws://"+srv.addr+"/ws", &client.DialOptions{Client: id,
				MinBackoff: 50 * time.Millisecond, MaxBackoff: time.Second})
			if err != nil {
				return nil, err
			}
			p := &synkPeer{c: c, done: make(chan struct{})}
			go p.events(h)
			r, err := c.Join(ctx, room, &client.JoinOptions{Observer: h.presence == nil && !h.member})
			if err != nil {
				c.Close()
				<-p.done
				return nil, err
			}
			p.r = r
			return p, nil
		},
	}
}

type synkPeer struct {
	c    *client.Conn
	r    *client.Room
	done chan struct{} // closed when the event loop ends
}

func (p *synkPeer) events(h handler) {
	defer close(p.done)
	for e := range p.c.Events() {
		switch e.Kind {
		case client.EventChange:
			if raw, ok := e.Entries["m"]; ok && h.msg != nil {
				var b []byte
				if msgpack.Unmarshal(raw, &b) == nil {
					h.msg(b)
				}
			}
		case client.EventJoin, client.EventLeave:
			if h.presence != nil {
				h.presence(e.Client, e.Kind == client.EventJoin)
			}
		}
	}
}

func (p *synkPeer) publish(ctx context.Context, payload []byte) error {
	return p.r.Set(ctx, map[string]any{"m": payload})
}

func (p *synkPeer) close() {
	p.c.Close()
	<-p.done
}
