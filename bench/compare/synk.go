package main

import (
	"context"
	"encoding/binary"
	"strings"
	"time"

	"github.com/synkhq/synk/client"
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
			if b, ok := binValue(e.Entries["m"]); ok && h.msg != nil {
				h.msg(b)
			}
		case client.EventJoin, client.EventLeave:
			if h.presence != nil {
				h.presence(e.Client, e.Kind == client.EventJoin)
			}
		}
	}
}

// binValue returns the bytes of a msgpack bin value, reading its header
// by hand: the other systems' clients hand over the payload as is, so the
// adapter must not add a reflective decode per delivery that they do not
// pay.
func binValue(raw []byte) ([]byte, bool) {
	if len(raw) < 2 {
		return nil, false
	}
	var n, h int
	switch raw[0] {
	case 0xc4:
		n, h = int(raw[1]), 2
	case 0xc5:
		if len(raw) < 3 {
			return nil, false
		}
		n, h = int(binary.BigEndian.Uint16(raw[1:])), 3
	case 0xc6:
		if len(raw) < 5 {
			return nil, false
		}
		n, h = int(binary.BigEndian.Uint32(raw[1:])), 5
	default:
		return nil, false
	}
	if len(raw)-h != n {
		return nil, false
	}
	return raw[h:], true
}

func (p *synkPeer) publish(ctx context.Context, payload []byte) error {
	return p.r.Set(ctx, map[string]any{"m": payload})
}

func (p *synkPeer) close() {
	p.c.Close()
	<-p.done
}
