//go:build !js

package server

import (
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/synkhq/synk/protocol"
)

// BenchmarkResume measures what a client 10,000 changes behind costs to
// bring up to date, resuming from its position or taking a fresh snapshot
// of its area: the time from its Sub to the OK (server work and transfer
// on loopback), and the frames and bytes sent. The area holds 10,000
// objects of 8 fields; the changes update one field each, spread over
// every object ("spread") or over 100 of them ("hot100").
//
//	go test ./server -run '^$' -bench Resume -benchtime 20x
func BenchmarkResume(b *testing.B) {
	const objects, changes = 10000, 10000
	for _, spread := range []struct {
		name string
		hot  int
	}{{"spread", objects}, {"hot100", 100}} {
		s, hs := testServer(b, &Options{MaxObjects: objects, MaxFrame: 1 << 20})
		for i := range objects {
			w := create("r", fmt.Sprintf("o%05d", i), "A")
			for f := range 8 {
				w.Fields = append(w.Fields, entry(fmt.Sprint("f", f), float64(i*f)))
			}
			mustWrite(b, s, w)
		}
		r := s.lockRoom("r", false)
		from := r.objs.position()
		s.unlockRoom(r)
		rng := rand.New(rand.NewPCG(1, 2))
		for i := range changes {
			id := fmt.Sprintf("o%05d", rng.IntN(spread.hot))
			mustWrite(b, s, update("r", id, nil, entry(fmt.Sprint("f", i%8), float64(i))))
		}
		for _, mode := range []string{"resume", "snapshot"} {
			b.Run(spread.name+"/"+mode, func(b *testing.B) {
				var frames, bytes int
				for b.Loop() {
					b.StopTimer()
					p := dialPeer(b, hs, "")
					p.join("r", true)
					sub := &protocol.Sub{ID: p.id(), Room: "r", Add: []string{"A"}}
					if mode == "resume" {
						sub.From, sub.Held = &from, []string{"A"}
					}
					b.StartTimer()
					p.send(sub)
					frames, bytes = 0, 0
					for {
						_, raw, err := p.ws.Read(b.Context())
						if err != nil {
							b.Fatal(err)
						}
						m, err := protocol.Decode(raw)
						if err != nil {
							b.Fatal(err)
						}
						frames++
						bytes += len(raw)
						if ok, isOK := m.(*protocol.OK); isOK {
							if ok.Resumed != (mode == "resume") {
								b.Fatalf("OK %+v in mode %s", ok, mode)
							}
							break
						}
					}
					b.StopTimer()
					p.ws.CloseNow()
					b.StartTimer()
				}
				b.ReportMetric(float64(frames), "frames/op")
				b.ReportMetric(float64(bytes), "bytes/op")
			})
		}
	}
}
