package main

import (
	"context"
	"strconv"
	"time"

	centrifuge "github.com/centrifugal/centrifuge-go"
)

// centrifugeSystem is the peer: a centrifuge server (bench/peer/centrifuge)
// and centrifuge-go clients over the protobuf protocol. A client that only
// publishes does not subscribe.
func centrifugeSystem(bin string) *system {
	return &system{
		name: "centrifuge",
		args: func(w *workload) []string {
			return []string{"-addr", "127.0.0.1:0", "-history", strconv.Itoa(w.history), "-presence=" + strconv.FormatBool(w.presence), "-debug", "127.0.0.1:0"}
		},
		dial: func(ctx context.Context, srv *server, room, id string, h handler) (peer, error) {
			c := centrifuge.NewProtobufClient("ws://"+srv.addr+"/connection/websocket", centrifuge.Config{
				Name: id, MinReconnectDelay: 50 * time.Millisecond, MaxReconnectDelay: time.Second,
				// The default 1 s aborted connects of the rooms load on a busy
				// 2-core machine, where synk's and the hub's dials have 10 s.
				HandshakeTimeout: 10 * time.Second})
			p := &centrifugePeer{c: c, room: room}
			if h.msg == nil && h.presence == nil {
				if err := c.Connect(); err != nil {
					return nil, err
				}
				return p, nil
			}
			sub, err := c.NewSubscription(room, centrifuge.SubscriptionConfig{JoinLeave: h.presence != nil, Recoverable: true})
			if err != nil {
				return nil, err
			}
			ready := make(chan error, 1)
			sub.OnSubscribed(func(centrifuge.SubscribedEvent) {
				select {
				case ready <- nil:
				default:
				}
			})
			sub.OnError(func(e centrifuge.SubscriptionErrorEvent) {
				select {
				case ready <- e.Error:
				default:
				}
			})
			if h.msg != nil {
				sub.OnPublication(func(e centrifuge.PublicationEvent) { h.msg(e.Data) })
			}
			if h.presence != nil {
				sub.OnJoin(func(e centrifuge.JoinEvent) { h.presence(e.User, true) })
				sub.OnLeave(func(e centrifuge.LeaveEvent) { h.presence(e.User, false) })
			}
			if err := c.Connect(); err != nil {
				return nil, err
			}
			if err := sub.Subscribe(); err != nil {
				c.Close()
				return nil, err
			}
			select {
			case err := <-ready:
				if err != nil {
					c.Close()
					return nil, err
				}
			case <-ctx.Done():
				c.Close()
				return nil, ctx.Err()
			}
			return p, nil
		},
	}
}

type centrifugePeer struct {
	c    *centrifuge.Client
	room string
}

func (p *centrifugePeer) publish(ctx context.Context, payload []byte) error {
	_, err := p.c.Publish(ctx, p.room, payload)
	return err
}

func (p *centrifugePeer) close() { p.c.Close() }
