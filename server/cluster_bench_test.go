//go:build !js

package server

import (
	"testing"
	"time"

	"github.com/synkhq/synk/protocol"
	"github.com/vmihailenco/msgpack/v5"
)

// BenchmarkClusterPresence measures presence across two nodes: a
// publisher on node A sets a key; 100 participants on node B each receive
// every change (one embedded NATS, loopback). Each op is one Set, and the
// benchmark waits until every subscriber has all of them.
//
//	go test ./server -run '^$' -bench ClusterPresence -benchtime 2000x
func BenchmarkClusterPresence(b *testing.B) {
	const subs = 100
	url := startNATS(b)
	_, hsA, _ := nodeWith(b, url, &Options{Rate: -1, SendBuffer: 256 << 20}) // the publisher floods
	_, hsB, _ := nodeWith(b, url, &Options{Rate: -1, SendBuffer: 256 << 20})
	pub := dialPeer(b, hsA, "pub")
	pub.join("bench", false)
	peers := make([]*peer, subs)
	for i := range peers {
		peers[i] = dialPeer(b, hsB, "")
		peers[i].join("bench", false)
	}
	// Until B has heard of pub: a first change reaches everyone.
	pub.send(&protocol.Set{Room: "bench", Entries: []protocol.Entry{entry("n", 0)}})
	for _, p := range peers {
		awaitPresenceB(b, p, "pub", 0)
	}
	b.ResetTimer()
	start := time.Now()
	go func() { // pub's own frames (the others' joins) are not read: drain them
		for {
			if _, err := pub.recv(); err != nil {
				return
			}
		}
	}()
	for i := range b.N {
		pub.send(&protocol.Set{Room: "bench", Entries: []protocol.Entry{entry("n", i+1)}})
	}
	for _, p := range peers {
		awaitPresenceB(b, p, "pub", b.N)
	}
	elapsed := time.Since(start)
	b.ReportMetric(float64(b.N*subs)/elapsed.Seconds(), "deliveries/s")
}

// awaitPresenceB reads p's frames until pub's "n" is at least n.
func awaitPresenceB(b *testing.B, p *peer, client string, n int) {
	b.Helper()
	for {
		m, err := p.recv()
		if err != nil {
			b.Fatal(err)
		}
		pr, ok := m.(*protocol.Presence)
		if !ok || pr.Client != client {
			continue
		}
		for _, e := range pr.Entries {
			var v int
			if e.Key == "n" && msgpack.Unmarshal(e.Value, &v) == nil && v >= n {
				return
			}
		}
	}
}

// BenchmarkClusterObjectWrite measures acknowledged object writes through
// the room log: each op is one update from server code on node A, whose
// OK waits until JetStream stored it and node A applied it; node B
// applies it too.
//
//	go test ./server -run '^$' -bench ClusterObjectWrite -benchtime 2000x
func BenchmarkClusterObjectWrite(b *testing.B) {
	url := runNATS(b, true)
	sA, _, _ := nodeWith(b, url, &Options{})
	nodeWith(b, url, &Options{})
	if _, err := sA.Write(&protocol.Write{Room: "bench", Op: protocol.OpCreate, Object: "o", Kind: "k", Area: "a"}); err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	for i := range b.N {
		if _, err := sA.Write(&protocol.Write{Room: "bench", Op: protocol.OpUpdate, Object: "o",
			Fields: []protocol.Entry{entry("n", i)}}); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "writes/s")
}
