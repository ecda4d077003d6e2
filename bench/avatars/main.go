// Command avatars publishes VR avatar poses into a running Synk server for
// the browser benchmark (web/test/ingest.mjs): n avatars, each in a room
// of its own (prefix + its number), each storing a pose — seven float32
// as 28 bytes in "p", and its send time in ms since the epoch in "t" — hz
// times a second for the given duration, then leaving. It prints "joined"
// once every avatar is in its room.
//
// Each avatar has a room of its own so that the publishers do not receive
// each other's poses (200 avatars at 60 Hz in one room would be 2.4
// million deliveries a second to the publishers alone); a page that joins
// every room receives exactly what a page in one room of n avatars would.
// The avatars share -conns Go client connections (default 1), each
// joined to its avatars' rooms, so that the load generator takes little
// of the machine the page runs on: 100 connections of one avatar each
// took half a core here.
//
//	go run -C bench ./avatars -url ws://127.0.0.1:8080/ws -n 50 -hz 60 -for 20s
//
// Point it only at a server you run, on loopback.
package main

import (
	"context"
	"encoding/binary"
	"flag"
	"fmt"
	"math"
	"os"
	"os/signal"
	"time"

	"github.com/synkhq/synk/client"
	"golang.org/x/sync/errgroup"
)

func main() {
	url := flag.String("url", "ws://127.0.0.1:8080/ws", "websocket endpoint")
	n := flag.Int("n", 10, "avatars")
	hz := flag.Int("hz", 60, "poses per second per avatar")
	prefix := flag.String("prefix", "avatar-", "room name prefix")
	dur := flag.Duration("for", 20*time.Second, "how long to publish")
	conns := flag.Int("conns", 1, "client connections the avatars share")
	flag.Parse()
	if *n < 1 || *hz < 1 || *dur <= 0 || *conns < 1 {
		fmt.Fprintln(os.Stderr, "avatars: -n, -hz, -conns and -for must be positive")
		os.Exit(2)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	if err := run(ctx, *url, *prefix, *n, *hz, min(*conns, *n), *dur); err != nil {
		fmt.Fprintln(os.Stderr, "avatars:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, url, prefix string, n, hz, conns int, dur time.Duration) error {
	ctx, cancel := context.WithTimeout(ctx, dur+30*time.Second)
	defer cancel()
	cs := make([]*client.Conn, conns)
	for i := range cs {
		c, err := client.Dial(ctx, url, &client.DialOptions{Client: fmt.Sprintf("avatars%d", i)})
		if err != nil {
			return err
		}
		go func() { // alone in each room: nothing to read but its own joins
			for range c.Events() {
			}
		}()
		defer c.Close()
		cs[i] = c
	}
	rooms := make([]*client.Room, n)
	g, gctx := errgroup.WithContext(ctx)
	for i := range n {
		g.Go(func() (err error) {
			rooms[i], err = cs[i%conns].Join(gctx, fmt.Sprintf("%s%d", prefix, i), nil)
			return err
		})
	}
	if err := g.Wait(); err != nil {
		return err
	}
	fmt.Println("joined")

	pub, pcancel := context.WithTimeout(ctx, dur)
	defer pcancel()
	g, gctx = errgroup.WithContext(pub)
	for i, r := range rooms {
		g.Go(func() error {
			// Avatars start spread over one period, as people do.
			period := time.Second / time.Duration(hz)
			select {
			case <-time.After(period * time.Duration(i) / time.Duration(n)):
			case <-gctx.Done():
				return nil
			}
			tick := time.NewTicker(period)
			defer tick.Stop()
			pose := make([]byte, 28)
			for k := 0; ; k++ {
				for j := range 7 {
					binary.LittleEndian.PutUint32(pose[4*j:], math.Float32bits(float32(math.Sin(float64(k+j)/30))))
				}
				now := float64(time.Now().UnixMicro()) / 1000
				if err := r.Set(gctx, map[string]any{"p": pose, "t": now}); err != nil {
					if gctx.Err() != nil {
						return nil
					}
					return err
				}
				select {
				case <-tick.C:
				case <-gctx.Done():
					return nil
				}
			}
		})
	}
	return g.Wait()
}
