// Package loadgen drives a Synk server with one publisher and many
// subscribers in one room, and measures deliveries per second and delivery
// latency. The bench/load tool and the fan-out benchmark both use it.
package loadgen

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/synkhq/synk/client"
	"golang.org/x/sync/errgroup"
)

// Config says how hard to push.
type Config struct {
	URL         string // websocket endpoint, such as ws://127.0.0.1:8080/ws
	Room        string // default "load"
	Subscribers int    // observers receiving every change; default 100
	Messages    int    // changes the publisher sends; default 1000
	InFlight    int    // publisher's Sets awaiting acknowledgement at once; default 16
	Payload     int    // bytes of padding per change; default 0
	Rate        int    // changes per second; 0 publishes as fast as acknowledgements allow
}

// Result is what one run measured.
type Result struct {
	Deliveries int           // changes received, summed over subscribers
	Elapsed    time.Duration // from the first Set to the last delivery
	PerSecond  float64       // Deliveries / Elapsed
	P50, P99   time.Duration // delivery latency percentiles
	Max        time.Duration
}

func (r Result) String() string {
	return fmt.Sprintf("%d deliveries in %v: %.0f/s, latency p50 %v p99 %v max %v",
		r.Deliveries, r.Elapsed.Round(time.Millisecond), r.PerSecond, r.P50, r.P99, r.Max)
}

// Run connects the subscribers, publishes, waits until every subscriber has
// every change or ctx ends, and closes every connection before returning.
func Run(ctx context.Context, cfg Config) (Result, error) {
	cfg = withDefaults(cfg)
	opts := &client.DialOptions{MinBackoff: time.Second, MaxBackoff: 5 * time.Second}
	subs := make([]*client.Conn, cfg.Subscribers)
	defer func() {
		for _, c := range subs {
			if c != nil {
				c.Close()
			}
		}
	}()
	var g errgroup.Group
	g.SetLimit(32)
	for i := range subs {
		g.Go(func() error {
			c, err := client.Dial(ctx, cfg.URL, opts)
			if err != nil {
				return err
			}
			subs[i] = c
			_, err = c.Join(ctx, cfg.Room, &client.JoinOptions{Observer: true})
			return err
		})
	}
	if err := g.Wait(); err != nil {
		return Result{}, fmt.Errorf("loadgen: subscribers: %w", err)
	}
	pub, err := client.Dial(ctx, cfg.URL, opts)
	if err != nil {
		return Result{}, fmt.Errorf("loadgen: publisher: %w", err)
	}
	defer pub.Close()
	room, err := pub.Join(ctx, cfg.Room, nil)
	if err != nil {
		return Result{}, fmt.Errorf("loadgen: publisher: %w", err)
	}
	go drain(ctx, pub)

	var mu sync.Mutex
	var lat []time.Duration
	var last time.Time
	recv := make(chan error, len(subs))
	for _, c := range subs {
		go func() { recv <- receive(ctx, c, pub.Client(), cfg.Messages, &mu, &lat, &last) }()
	}

	start := time.Now()
	pad := make([]byte, cfg.Payload)
	var pg errgroup.Group
	pg.SetLimit(cfg.InFlight)
	var tick <-chan time.Time
	if cfg.Rate > 0 {
		t := time.NewTicker(time.Second / time.Duration(cfg.Rate))
		defer t.Stop()
		tick = t.C
	}
	for i := range cfg.Messages {
		if tick != nil {
			select {
			case <-tick:
			case <-ctx.Done():
			}
		}
		pg.Go(func() error {
			return room.Set(ctx, map[string]any{"t": time.Now().UnixNano(), "i": i, "pad": pad})
		})
	}
	err = pg.Wait()
	for range subs {
		if rerr := <-recv; err == nil {
			err = rerr
		}
	}
	if err != nil {
		return Result{}, fmt.Errorf("loadgen: %w", err)
	}
	return summarize(lat, last.Sub(start)), nil
}

func withDefaults(c Config) Config {
	if c.Room == "" {
		c.Room = "load"
	}
	if c.Subscribers <= 0 {
		c.Subscribers = 100
	}
	if c.Messages <= 0 {
		c.Messages = 1000
	}
	if c.InFlight <= 0 {
		c.InFlight = 16
	}
	return c
}

// receive counts one subscriber's changes from pub until it has n of them.
func receive(ctx context.Context, c *client.Conn, pub string, n int, mu *sync.Mutex, lat *[]time.Duration, last *time.Time) error {
	local := make([]time.Duration, 0, n)
	defer func() {
		mu.Lock()
		*lat = append(*lat, local...)
		if now := time.Now(); now.After(*last) {
			*last = now
		}
		mu.Unlock()
	}()
	for len(local) < n {
		select {
		case e := <-c.Events():
			if e.Kind != client.EventChange || e.Client != pub {
				continue
			}
			var sent int64
			if err := (client.Member{Entries: e.Entries}).Get("t", &sent); err != nil {
				return err
			}
			local = append(local, time.Since(time.Unix(0, sent)))
		case <-ctx.Done():
			return fmt.Errorf("subscriber got %d of %d changes: %w", len(local), n, ctx.Err())
		}
	}
	return nil
}

// drain empties the publisher's events until ctx ends or they close.
func drain(ctx context.Context, c *client.Conn) {
	for {
		select {
		case _, ok := <-c.Events():
			if !ok {
				return
			}
		case <-ctx.Done():
			return
		}
	}
}

func summarize(lat []time.Duration, elapsed time.Duration) Result {
	r := Result{Deliveries: len(lat), Elapsed: elapsed}
	if len(lat) == 0 || elapsed <= 0 {
		return r
	}
	slices.Sort(lat)
	r.PerSecond = float64(len(lat)) / elapsed.Seconds()
	r.P50 = lat[len(lat)/2]
	r.P99 = lat[len(lat)*99/100]
	r.Max = lat[len(lat)-1]
	return r
}
