package main

import (
	"context"
	"net/url"

	"github.com/coder/websocket"
)

// hubSystem is the floor: the bare broadcast hub of bench/peer/hub and raw
// coder/websocket clients. There is no protocol: a publish is one binary
// message, not acknowledged, and there is no presence.
func hubSystem(bin string) *system {
	return &system{
		name: "hub",
		args: func(w *workload) []string { return []string{"-addr", "127.0.0.1:0", "-debug", "127.0.0.1:0"} },
		dial: func(ctx context.Context, srv *server, room, id string, h handler) (peer, error) {
			ws, _, err := websocket.Dial(ctx, "ws://"+srv.addr+"/ws?room="+url.QueryEscape(room), nil)
			if err != nil {
				return nil, err
			}
			ws.SetReadLimit(1 << 20)
			p := &hubPeer{ws: ws, done: make(chan struct{})}
			go func() {
				defer close(p.done)
				for {
					_, b, err := ws.Read(context.Background())
					if err != nil {
						return
					}
					if h.msg != nil {
						h.msg(b)
					}
				}
			}()
			return p, nil
		},
	}
}

type hubPeer struct {
	ws   *websocket.Conn
	done chan struct{} // closed when the reader ends
}

func (p *hubPeer) publish(ctx context.Context, payload []byte) error {
	return p.ws.Write(ctx, websocket.MessageBinary, payload)
}

func (p *hubPeer) close() {
	p.ws.CloseNow()
	<-p.done
}
