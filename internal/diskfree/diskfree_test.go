//go:build unix

package diskfree

import "testing"

func TestBytes(t *testing.T) {
	n, ok := Bytes(t.TempDir())
	if !ok || n <= 0 {
		t.Fatalf("Bytes = %d, %v; want some free space", n, ok)
	}
	if _, ok := Bytes("/no/such/dir"); ok {
		t.Fatal("Bytes of a missing directory succeeded")
	}
}
