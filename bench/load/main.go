// Command load drives a running Synk server with one publisher and many
// subscribers in one room and prints deliveries per second and latency.
//
//	go run -C bench ./load -url ws://127.0.0.1:8080/ws -subs 1000 -n 1000
//
// Point it only at a server you run, on loopback.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"time"

	"github.com/synkhq/synk/bench/internal/loadgen"
)

func main() {
	var c loadgen.Config
	flag.StringVar(&c.URL, "url", "ws://127.0.0.1:8080/ws", "websocket endpoint")
	flag.StringVar(&c.Room, "room", "load", "room to use")
	flag.IntVar(&c.Subscribers, "subs", 1000, "subscribers")
	flag.IntVar(&c.Messages, "n", 1000, "changes to publish")
	flag.IntVar(&c.InFlight, "inflight", 16, "publisher Sets awaiting acknowledgement at once")
	flag.IntVar(&c.Payload, "payload", 0, "padding bytes per change")
	flag.IntVar(&c.Rate, "rate", 0, "changes per second (0: as fast as acknowledgements allow)")
	limit := flag.Duration("limit", 2*time.Minute, "give up after this long")
	flag.Parse()

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	ctx, cancel := context.WithTimeout(ctx, *limit)
	defer cancel()
	r, err := loadgen.Run(ctx, c)
	if err != nil {
		fmt.Fprintln(os.Stderr, "load:", err)
		os.Exit(1)
	}
	fmt.Println(r)
}
