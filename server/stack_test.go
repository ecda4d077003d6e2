//go:build !js

package server

import (
	"fmt"
	"runtime"
	rtm "runtime/metrics"
	"testing"

	"github.com/synkhq/synk/protocol"
)

// TestServer_idleStack: a connection that joined a room and exchanged
// pings keeps one goroutine, its reader, with a stack of at most 6 KiB
// (issue 19: KB per idle connection). The handshake and the frames that
// go deep into the server run on other goroutines; a reader that handled
// them itself kept 8 KiB.
//
// The race detector's stacks are larger: make test runs this test without
// it as well.
func TestServer_idleStack(t *testing.T) {
	if raceDetector {
		t.Skip("the race detector enlarges stacks; make test-go runs this test without it")
	}
	_, hs := testServer(t, nil)
	stacks := func() uint64 {
		s := []rtm.Sample{{Name: "/memory/classes/heap/stacks:bytes"}}
		rtm.Read(s)
		return s[0].Value.Uint64()
	}
	runtime.GC()
	s0, g0 := stacks(), runtime.NumGoroutine()
	const n = 200
	for i := range n {
		p := dialPeer(t, hs, "")
		p.send(&protocol.Join{ID: 1, Room: fmt.Sprintf("r%d", i%20), Entries: []protocol.Entry{{Key: "pos", Value: []byte{0x01}}}})
		expect[*protocol.Joined](p)
		p.send(&protocol.Set{ID: 2, Room: fmt.Sprintf("r%d", i%20), Entries: []protocol.Entry{{Key: "pos", Value: []byte{0x02}}}})
		expect[*protocol.OK](p)
		p.send(&protocol.Pong{Nonce: 7})
		p.send(&protocol.Ping{Nonce: 8})
		expect[*protocol.Pong](p)
	}
	runtime.GC() // frees what is garbage; a reader's stack shrinks only if it uses under a quarter
	perConn := float64(stacks()-s0) / n
	if g := runtime.NumGoroutine() - g0; g > n+n/20 {
		t.Errorf("%d goroutines for %d idle connections", g, n)
	}
	if perConn > 6<<10 {
		t.Fatalf("%.0f bytes of goroutine stack per idle connection, want at most 6 KiB", perConn)
	}
	t.Logf("%.0f bytes of goroutine stack per idle connection", perConn)
}
