package protocol

import (
	"bytes"
	"errors"
	"fmt"
	"runtime"
	"strings"
	"testing"
)

func TestCheck_lengthBombs(t *testing.T) {
	// Each input claims far more than it holds. The msgpack library would
	// allocate for the claim (upstream issue #401); Check must refuse it
	// having allocated next to nothing.
	tests := []struct {
		name string
		in   []byte
	}{
		{"array32_in_map", []byte{0x81, 0xa1, 0x6f, 0xdd, 0xff, 0xff, 0xff, 0xff}},
		{"map32", []byte{0xdf, 0xff, 0xff, 0xff, 0xff}},
		{"map16", []byte{0xde, 0xff, 0xff, 0x01}},
		{"bin32", []byte{0xc6, 0xff, 0xff, 0xff, 0xff, 0x00}},
		{"str32", []byte{0xdb, 0x7f, 0xff, 0xff, 0xff, 0x61}},
		{"ext32", []byte{0xc9, 0xff, 0xff, 0xff, 0xff, 0x01}},
		{"nested", []byte{0x81, 0xa1, 0x74, 0x91, 0x91, 0x91, 0xdd, 0x10, 0x00, 0x00, 0x00}},
		{"array16_short", []byte{0xdc, 0x00, 0x03, 0x01, 0x02}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var before, after runtime.MemStats
			runtime.ReadMemStats(&before)
			_, err := Decode(tt.in)
			runtime.ReadMemStats(&after)
			if !errors.Is(err, ErrMalformed) {
				t.Fatalf("Decode(% x) error = %v, want ErrMalformed", tt.in, err)
			}
			if got := after.TotalAlloc - before.TotalAlloc; got >= 1<<20 {
				t.Fatalf("Decode allocated %d bytes, want under 1 MiB", got)
			}
		})
	}
}

func TestCheck(t *testing.T) {
	t.Parallel()
	deep := strings.Repeat("\x91", MaxDepth) + "\xc0"
	tests := []struct {
		name string
		in   string
		ok   bool
	}{
		{"nil", "\xc0", true},
		{"fixmap", "\x81\xa1t\x01", true},
		{"float64", "\xcb\x00\x00\x00\x00\x00\x00\x00\x00", true},
		{"fixext4", "\xd6\x01\x00\x00\x00\x00", true},
		{"ext8", "\xc7\x02\x05\xaa\xbb", true},
		{"depth_limit", deep[1:], true},
		{"too_deep", deep, false},
		{"empty", "", false},
		{"never_used", "\xc1", false},
		{"trailing", "\xc0\xc0", false},
		{"truncated_float", "\xcb\x00\x00", false},
		{"truncated_len", "\xda\x00", false},
		{"fixstr_short", "\xa5ab", false},
		{"fixext16_short", "\xd8\x01\x00", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			err := Check([]byte(tt.in), MaxDepth)
			if (err == nil) != tt.ok {
				t.Fatalf("Check(% x) = %v, want ok=%v", tt.in, err, tt.ok)
			}
			if err != nil && !errors.Is(err, ErrMalformed) {
				t.Fatalf("Check error %v does not wrap ErrMalformed", err)
			}
		})
	}
}

func TestNext(t *testing.T) {
	t.Parallel()
	a, b := mustEncode(&Ping{Nonce: 1}), mustEncode(&Pong{Nonce: 2})
	msg := append(append([]byte(nil), a...), b...)
	first, rest, err := Next(msg)
	if err != nil || !bytes.Equal(first, a) || !bytes.Equal(rest, b) {
		t.Fatalf("Next = % x, % x, %v", first, rest, err)
	}
	second, rest, err := Next(rest)
	if err != nil || !bytes.Equal(second, b) || len(rest) != 0 {
		t.Fatalf("second Next = % x, % x, %v", second, rest, err)
	}
	if _, _, err := Next(append(a, 0x81)); err != nil {
		t.Fatalf("a frame followed by the start of another: %v (the first is whole)", err)
	}
	if _, _, err := Next([]byte{0x81, 0xa1}); !errors.Is(err, ErrMalformed) {
		t.Fatalf("truncated frame: %v", err)
	}
	// The frame's capacity ends with it: appending to it cannot overwrite the next.
	if f, _, _ := Next(msg); cap(f) != len(a) {
		t.Fatalf("cap = %d, want %d", cap(f), len(a))
	}
}

func Test_unicodeName(t *testing.T) {
	for _, r := range []rune{0, 0x1f, 0x7f, 0x9f, 0xfff, 0x1000, 0xffff, 0x10000, 0x10ffff} {
		if got, want := unicodeName(r), fmt.Sprintf("%U", r); got != want {
			t.Errorf("unicodeName(%#x) = %q, want %q", r, got, want)
		}
	}
}
