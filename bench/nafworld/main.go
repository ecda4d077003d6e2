// Command nafworld measures what interest management by areas saves a
// Networked-A-Frame world on Synk: n avatars walk about a large square
// world, each sending what synk-naf.js sends for a NAF avatar (NAF's "um"
// update of position and rotation at NAF's update rate, with NAF's whole
// envelope), once with areas off (every page gets every update, as with
// NAF's own adapters) and once with synk-naf's areas on (each update goes
// to the avatar's grid cell, each client subscribes to the cells around
// it, and moving between cells sends what the adapter sends: "naf.left"
// to the old cell, a full first sync to the new one, and "naf.want" for
// the cells it now sees, answered by the owners there). It reports the
// bytes each client receives per second on the wire, counted by a TCP
// relay between the clients and the server (websocket frames included),
// as the median client's and the range over clients, for each run.
//
//	go run -C bench ./nafworld -url ws://127.0.0.1:8080/ws -n 50 -world 300 -runs 3
//
// The world is centred on the origin. The avatars are Go clients
// (github.com/synkhq/synk/client) speaking the adapter's wire protocol.
// With -room the tool only populates that room, in the mode -areas says,
// printing "joined" once every avatar is in and walking until -for ends:
// web/test/bench.mjs (PARTS=nafareas) puts a real NAF page in that world
// and measures what it receives. Point it only at a server you run, on
// loopback.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"math"
	"math/rand/v2"
	"net/url"
	"os"
	"os/signal"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/synkhq/synk/bench/internal/relay"
	"github.com/synkhq/synk/client"
	"github.com/synkhq/synk/protocol"
	"golang.org/x/sync/errgroup"
)

// world is one run's set-up.
type world struct {
	url          string // the relay's websocket address
	room         string
	n            int
	side, cell   float64 // metres
	radius       int     // cells around an avatar that it sees
	hz           int
	speed        float64 // metres a second
	areas        bool
	warm, window time.Duration
	seed         uint64
	template     string // NAF template of the avatars, the page's
}

func main() {
	target := flag.String("url", "ws://127.0.0.1:8080/ws", "the synk server's websocket endpoint")
	n := flag.Int("n", 50, "avatars")
	side := flag.Float64("world", 300, "the world's side, metres")
	cell := flag.Float64("cell", 10, "synk-naf's cell size, metres")
	radius := flag.Int("radius", 1, "synk-naf's radius, cells")
	hz := flag.Int("hz", 15, "updates a second per avatar (NAF's default updateRate)")
	speed := flag.Float64("speed", 1.4, "walking speed, m/s")
	dur := flag.Duration("for", 15*time.Second, "measuring window of each run")
	warm := flag.Duration("warm", 3*time.Second, "time before the window: joins and first syncs")
	runs := flag.Int("runs", 3, "runs of each mode")
	room := flag.String("room", "", "only populate this room (mode -areas) for -for, for a page to measure")
	areas := flag.Bool("areas", false, "with -room: synk-naf's areas on")
	template := flag.String("template", "#avatar", "the avatars' NAF template (the page's, for it to show them)")
	flag.Parse()
	if *n < 2 || *hz < 1 || *dur <= 0 || *runs < 1 || *cell <= 0 || *side < *cell || *radius < 0 {
		fmt.Fprintln(os.Stderr, "nafworld: bad flags")
		os.Exit(2)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	if *room != "" {
		w := world{url: *target, room: *room, n: *n, side: *side, cell: *cell, radius: *radius, hz: *hz, speed: *speed, areas: *areas, seed: 1, template: *template}
		if err := w.populate(ctx, *dur); err != nil {
			fmt.Fprintln(os.Stderr, "nafworld:", err)
			os.Exit(1)
		}
		return
	}
	if err := run(ctx, *target, world{n: *n, side: *side, cell: *cell, radius: *radius, hz: *hz, speed: *speed,
		warm: *warm, window: *dur, template: *template}, *runs); err != nil {
		fmt.Fprintln(os.Stderr, "nafworld:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, target string, w world, runs int) error {
	u, err := url.Parse(target)
	if err != nil {
		return err
	}
	rl, err := relay.Start(u.Host)
	if err != nil {
		return err
	}
	defer rl.Close()
	u.Host = rl.Addr()
	w.url = u.String()
	fmt.Printf("%d avatars in a %.0f m world, cells of %.0f m, radius %d, %d Hz, walking at %.1f m/s; %v windows\n",
		w.n, w.side, w.cell, w.radius, w.hz, w.speed, w.window)
	fmt.Println("mode       run  median client B/s  range over clients B/s   updates/s per client (mean)")
	med := map[bool][]float64{}
	for r := range runs {
		for _, areas := range []bool{false, true} {
			w.areas, w.seed = areas, uint64(r+1)
			w.room = fmt.Sprintf("world-%d-%d", r+1, map[bool]int{false: 0, true: 1}[areas]) // a name as short as a real one: it is in every frame
			res, err := w.run(ctx, rl)
			if err != nil {
				return err
			}
			mode := "no areas"
			if areas {
				mode = "areas"
			}
			fmt.Printf("%-9s  %3d  %17.0f  %10.0f – %-10.0f  %8.0f\n", mode, r+1, res.median, res.min, res.max, res.updates)
			med[areas] = append(med[areas], res.median)
		}
	}
	for _, areas := range []bool{false, true} {
		xs := med[areas]
		slices.Sort(xs)
		fmt.Printf("areas=%v: bytes per client per second, median of %d runs %.0f (range %.0f–%.0f)\n",
			areas, len(xs), xs[len(xs)/2], xs[0], xs[len(xs)-1])
	}
	return nil
}

// result is one run's received bytes per client per second.
type result struct{ median, min, max, updates float64 }

// avatar is one client of the world.
type avatar struct {
	w       *world
	id      string
	entity  string
	room    *client.Room
	rnd     *rand.Rand
	x, z    float64
	heading float64
	cell    string
	cells   map[string]bool
	updates atomic.Int64 // "u" and "um" received

	mu   sync.Mutex // Protects want, and cell for others than walk.
	want []string   // clients that asked for this avatar in full
}

// enter dials and joins the world's avatars; the caller closes conns.
func (w *world) enter(ctx context.Context) (avs []*avatar, conns []*client.Conn, err error) {
	rnd := rand.New(rand.NewPCG(w.seed, 7))
	avs = make([]*avatar, w.n)
	conns = make([]*client.Conn, 0, w.n)
	for i := range avs {
		a := &avatar{w: w, id: fmt.Sprintf("bot%02d-%d", i, w.seed), entity: fmt.Sprintf("e%06d", rnd.IntN(1e6)),
			rnd: rand.New(rand.NewPCG(w.seed, uint64(i))), x: (rnd.Float64() - 0.5) * w.side, z: (rnd.Float64() - 0.5) * w.side,
			heading: rnd.Float64() * 2 * math.Pi}
		c, err := client.Dial(ctx, w.url, &client.DialOptions{Client: a.id})
		if err != nil {
			return nil, conns, err
		}
		conns = append(conns, c)
		if err := a.join(ctx, c); err != nil {
			return nil, conns, err
		}
		avs[i] = a
	}
	return avs, conns, nil
}

// start runs every avatar's reader and walker in g until ctx ends.
func start(ctx context.Context, g *errgroup.Group, avs []*avatar, conns []*client.Conn) {
	for i, a := range avs {
		g.Go(func() error { return a.read(ctx, conns[i]) })
		g.Go(func() error { return a.walk(ctx) })
	}
}

func closeAll(conns []*client.Conn) {
	for _, c := range conns {
		c.Close()
	}
}

// populate walks the world's avatars in its room for dur.
func (w *world) populate(ctx context.Context, dur time.Duration) error {
	ctx, cancel := context.WithTimeout(ctx, dur+60*time.Second)
	defer cancel()
	avs, conns, err := w.enter(ctx)
	defer closeAll(conns)
	if err != nil {
		return err
	}
	fmt.Println("joined")
	g, gctx := errgroup.WithContext(ctx)
	walk, stop := context.WithTimeout(gctx, dur)
	defer stop()
	start(walk, g, avs, conns)
	if err := g.Wait(); err != nil && !errors.Is(err, context.Canceled) {
		return err
	}
	return ctx.Err()
}

func (w *world) run(ctx context.Context, rl *relay.Relay) (result, error) {
	ctx, cancel := context.WithTimeout(ctx, w.warm+w.window+60*time.Second)
	defer cancel()
	first := rl.Accepted()
	avs, conns, err := w.enter(ctx)
	defer closeAll(conns)
	if err != nil {
		return result{}, err
	}
	conns0 := rl.Accepted() - first // the connections of this run, in order, start here
	g, gctx := errgroup.WithContext(ctx)
	walk, stop := context.WithCancel(gctx)
	defer stop()
	start(walk, g, avs, conns)
	var before, after []int64
	var upBefore, upAfter int64
	timer := time.NewTimer(w.warm)
	select {
	case <-timer.C:
	case <-gctx.Done():
	}
	before = rl.Received(first, conns0)
	for _, a := range avs {
		upBefore += a.updates.Load()
	}
	timer.Reset(w.window)
	select {
	case <-timer.C:
	case <-gctx.Done():
	}
	after = rl.Received(first, conns0)
	for _, a := range avs {
		upAfter += a.updates.Load()
	}
	stop()
	if err := g.Wait(); err != nil && !errors.Is(err, context.Canceled) {
		return result{}, err
	}
	if err := ctx.Err(); err != nil {
		return result{}, err
	}
	secs := w.window.Seconds()
	per := make([]float64, len(after))
	for i := range after {
		per[i] = float64(after[i]-before[i]) / secs
	}
	slices.Sort(per)
	return result{median: per[len(per)/2], min: per[0], max: per[len(per)-1],
		updates: float64(upAfter-upBefore) / secs / float64(len(avs))}, nil
}

// join joins the world's room as synk-naf.js does: with areas, subscribed
// to its cells before it shows up (presence naf).
func (a *avatar) join(ctx context.Context, c *client.Conn) error {
	r, err := c.Join(ctx, a.w.room, nil)
	if err != nil {
		return err
	}
	a.room = r
	if a.w.areas {
		a.cell = a.cellAt(a.x, a.z)
		a.cells = a.around()
		if err := r.Subscribe(ctx, keys(a.cells), nil); err != nil {
			return err
		}
	}
	return r.Set(ctx, map[string]any{"naf": 1})
}

func (a *avatar) cellAt(x, z float64) string {
	return fmt.Sprintf("naf:%d:%d", int(math.Floor(x/a.w.cell)), int(math.Floor(z/a.w.cell)))
}

func (a *avatar) around() map[string]bool {
	cx, cz := int(math.Floor(a.x/a.w.cell)), int(math.Floor(a.z/a.w.cell))
	out := map[string]bool{}
	for i := -a.w.radius; i <= a.w.radius; i++ {
		for j := -a.w.radius; j <= a.w.radius; j++ {
			out[fmt.Sprintf("naf:%d:%d", cx+i, cz+j)] = true
		}
	}
	return out
}

// update is NAF's sync data for the avatar (networked.js createSyncData),
// as synk.js encodes it: numbers that are not integers as float64,
// components keyed by their index in the template's schema.
func (a *avatar) update(first bool) map[string]any {
	return map[string]any{
		"networkId": a.entity, "owner": a.id, "creator": a.id, "lastOwnerTime": 1764576000123.5,
		"template": a.w.template, "persistent": false, "parent": nil,
		"components": map[string]any{
			"0": map[string]any{"x": a.x, "y": 1.6, "z": a.z},
			"1": map[string]any{"x": 0.0, "y": a.heading * 180 / math.Pi, "z": 0.0},
		},
		"isFirstSync": first,
	}
}

// walk moves the avatar and sends its updates at the world's rate.
func (a *avatar) walk(ctx context.Context) error {
	period := time.Second / time.Duration(a.w.hz)
	tick := time.NewTicker(period)
	defer tick.Stop()
	for {
		select {
		case <-tick.C:
		case <-ctx.Done():
			return nil
		}
		a.heading += (a.rnd.Float64() - 0.5) * 0.3
		step := a.w.speed * period.Seconds()
		a.x, a.z = a.x+step*math.Cos(a.heading), a.z+step*math.Sin(a.heading)
		if h := a.w.side / 2; math.Abs(a.x) >= h || math.Abs(a.z) >= h { // turn back at the edge
			a.x, a.z = min(max(a.x, -h), h-0.01), min(max(a.z, -h), h-0.01)
			a.heading += math.Pi
		}
		if err := a.send(ctx); err != nil {
			if ctx.Err() != nil {
				return nil
			}
			return err
		}
	}
}

// send sends one tick's worth, as the adapter does.
func (a *avatar) send(ctx context.Context) error {
	a.mu.Lock()
	wants := a.want
	a.want = nil
	a.mu.Unlock()
	for _, to := range wants {
		if err := a.room.SendArea(ctx, a.cell, to, "u", a.update(true)); ignoreGone(err) != nil {
			return err
		}
	}
	if !a.w.areas {
		return a.room.Send(ctx, "", "um", map[string]any{"d": []any{a.update(false)}})
	}
	cell := a.cellAt(a.x, a.z)
	if cell == a.cell {
		return a.room.SendArea(ctx, cell, "", "um", map[string]any{"d": []any{a.update(false)}})
	}
	// Into another cell: the old one hears it left, the new one gets it in
	// full; the subscription follows, and the owners in the cells now seen
	// are asked for their entities.
	if err := a.room.SendArea(ctx, a.cell, "", "naf.left", map[string]any{"n": a.entity, "c": cell}); err != nil {
		return err
	}
	a.mu.Lock()
	a.cell = cell
	a.mu.Unlock()
	if err := a.room.SendArea(ctx, cell, "", "u", a.update(true)); err != nil {
		return err
	}
	now := a.around()
	var add, remove []string
	for c := range now {
		if !a.cells[c] {
			add = append(add, c)
		}
	}
	for c := range a.cells {
		if !now[c] {
			remove = append(remove, c)
		}
	}
	if err := a.room.Subscribe(ctx, add, remove); err != nil {
		return err
	}
	a.cells = now
	return a.room.Send(ctx, "", "naf.want", map[string]any{"c": add})
}

// ignoreGone drops the error of a direct message to a client that left.
func ignoreGone(err error) error {
	if protocol.ErrorCode(err) == protocol.CodeNotFound {
		return nil
	}
	return err
}

// read takes the avatar's events: counts updates, and queues an answer
// to a "naf.want" that names its cell.
func (a *avatar) read(ctx context.Context, c *client.Conn) error {
	for {
		select {
		case e, ok := <-c.Events():
			if !ok {
				return nil
			}
			if (e.Kind == client.EventJoin || e.Kind == client.EventChange) && e.Entries["naf"] != nil {
				// A new NAF page: NAF sends it every entity in full
				// (completeSync); with areas the server passes it on only
				// if the page sees the cell.
				a.mu.Lock()
				a.want = append(a.want, e.Client)
				a.mu.Unlock()
				continue
			}
			if e.Kind != client.EventMessage {
				continue
			}
			switch e.Topic {
			case "u", "um":
				a.updates.Add(1)
			case "naf.want":
				var m struct {
					C []string `msgpack:"c"`
				}
				if err := (client.Member{Entries: map[string]protocol.RawMessage{"m": e.Data}}).Get("m", &m); err == nil && slices.Contains(m.C, a.cellNow()) {
					a.mu.Lock()
					a.want = append(a.want, e.Client)
					a.mu.Unlock()
				}
			}
		case <-ctx.Done():
			return nil
		}
	}
}

// cellNow is the avatar's cell as its walker last sent it.
func (a *avatar) cellNow() string {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.cell
}

func keys(m map[string]bool) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	return out
}
