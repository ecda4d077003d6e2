package folder

import (
	"io"
	"net"
	"strings"
	"sync"
	"testing"
	"time"
)

// TestFolder_onceSeesOthersWrites: a device's Once applies what another
// device's Once wrote before it, even when the room's news reaches it late
// (a slow link, a busy machine): it catches up with the room before its
// first pass. Before, its pass read a cache the change had not reached,
// found nothing to do and returned (seen once in CI under load, in
// TestFolder_oneByteIn100MB).
func TestFolder_onceSeesOthersWrites(t *testing.T) {
	t.Parallel()
	h := startHub(t)
	a, b := t.TempDir(), t.TempDir()
	fa := device(t, h, a, "a")
	fb := deviceAt(t, slowLink(t, h.url, 300*time.Millisecond), b, "b")
	write(t, a, "x.txt", []byte("v1"))
	once(t, fa)
	once(t, fb)
	sameTrees(t, a, b)
}

// slowLink returns url (ws://host:port/…) through a loopback relay that
// delivers what the server sends delay late, in order; what the client
// sends goes through at once. It stops at the test's end.
func slowLink(t *testing.T, url string, delay time.Duration) string {
	t.Helper()
	rest := strings.TrimPrefix(url, "ws://")
	target, path, _ := strings.Cut(rest, "/")
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	var mu sync.Mutex
	var links []net.Conn
	track := func(c net.Conn) {
		mu.Lock()
		links = append(links, c)
		mu.Unlock()
	}
	t.Cleanup(func() {
		ln.Close()
		mu.Lock()
		for _, c := range links {
			c.Close()
		}
		mu.Unlock()
		wg.Wait()
	})
	wg.Go(func() {
		for {
			client, err := ln.Accept()
			if err != nil {
				return
			}
			server, err := net.Dial("tcp", target)
			if err != nil {
				client.Close()
				continue
			}
			track(client)
			track(server)
			wg.Go(func() { io.Copy(server, client); server.Close() })
			wg.Go(func() { delayed(client, server, delay); client.Close() })
		}
	})
	return "ws://" + ln.Addr().String() + "/" + path
}

// delayed copies src to dst, each read written delay after it came.
func delayed(dst io.Writer, src io.Reader, delay time.Duration) {
	type chunk struct {
		b  []byte
		at time.Time
	}
	q := make(chan chunk, 1024)
	done := make(chan struct{})
	go func() {
		defer close(done)
		for c := range q {
			timer := time.NewTimer(time.Until(c.at))
			<-timer.C
			if _, err := dst.Write(c.b); err != nil {
				for range q { // drain until the reader stops
				}
				return
			}
		}
	}()
	buf := make([]byte, 32<<10)
	for {
		n, err := src.Read(buf)
		if n > 0 {
			q <- chunk{append([]byte(nil), buf[:n]...), time.Now().Add(delay)}
		}
		if err != nil {
			close(q)
			<-done
			return
		}
	}
}
