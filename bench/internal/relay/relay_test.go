package relay

import (
	"io"
	"net"
	"testing"
)

// TestRelay_counts: Received counts what the target sends a connection,
// Sent what the connection sends the target, each on the wire.
func TestRelay_counts(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	done := make(chan struct{})
	go func() {
		defer close(done)
		c, err := ln.Accept()
		if err != nil {
			return
		}
		defer c.Close()
		io.ReadFull(c, make([]byte, 10)) // the client's 10 bytes
		c.Write(make([]byte, 1000))
	}()
	rl, err := Start(ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer rl.Close()
	c, err := net.Dial("tcp", rl.Addr())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.Write(make([]byte, 10))
	if _, err := io.ReadFull(c, make([]byte, 1000)); err != nil {
		t.Fatal(err)
	}
	<-done
	if got := rl.Received(0, 1)[0]; got != 1000 {
		t.Errorf("Received = %d, want the target's 1000 bytes", got)
	}
	if got := rl.Sent(); got != 10 {
		t.Errorf("Sent = %d, want the client's 10 bytes", got)
	}
}
