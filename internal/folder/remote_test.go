package folder

import (
	"context"
	"crypto/sha256"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"
)

// TestChunks_overloaded: an upload the server refuses as overloaded (its
// budget for request bodies used up: 429 or 503) is sent again after a
// pause, and succeeds once the server takes it; a refusal that lasts is
// the answer (issue 15.2).
func TestChunks_overloaded(t *testing.T) {
	t.Parallel()
	var calls atomic.Int32
	refuse := int32(3)
	hs := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n := calls.Add(1)
		switch {
		case n <= refuse && n%2 == 1:
			w.WriteHeader(http.StatusServiceUnavailable)
			w.Write([]byte(`{"error":{"code":217,"message":"busy"}}`))
		case n <= refuse:
			w.WriteHeader(http.StatusTooManyRequests)
			w.Write([]byte(`{"error":{"code":217,"message":"busy"}}`))
		default:
			w.WriteHeader(http.StatusCreated)
			w.Write([]byte(`{"created":true}`))
		}
	}))
	defer hs.Close()
	c, err := newChunks(hs.URL, "r", "", hs.Client())
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	data := []byte("chunk")
	if err := c.upload(ctx, sha256.Sum256(data), data); err != nil {
		t.Fatalf("upload after %d refusals: %v", refuse, err)
	}
	if n := calls.Load(); n != refuse+1 {
		t.Fatalf("%d requests, want %d", n, refuse+1)
	}
	calls.Store(0)
	refuse = 1 << 20 // from now on
	if err := c.upload(ctx, sha256.Sum256(data), data); err == nil {
		t.Fatal("upload refused every time succeeded")
	}
	if n := calls.Load(); n != overloadedTries {
		t.Fatalf("%d requests, want %d", n, overloadedTries)
	}
}
