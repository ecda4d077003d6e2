package main

import (
	"bytes"
	"context"
	"testing"
	"time"
)

// TestSoak is the short soak of make test: 30 clients for 8 s after a 2 s
// warm-up. No acknowledged write may be lost, and the server's goroutines
// and heap must come back within the noise bounds.
func TestSoak(t *testing.T) {
	var out bytes.Buffer
	rep, err := soak(context.Background(), config{Conns: 30, Rooms: 5, Areas: 4, Duration: 8 * time.Second, Seed: 1}, &out)
	t.Log("\n" + out.String())
	if err != nil {
		t.Fatal(err)
	}
	if !rep.ok() {
		t.Fatal("the soak failed")
	}
	if rep.writes == 0 || rep.reconnects == 0 {
		t.Fatalf("%d writes, %d reconnects: the soak did not work", rep.writes, rep.reconnects)
	}
}
