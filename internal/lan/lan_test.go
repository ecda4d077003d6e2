package lan

import (
	"net/netip"
	"testing"
)

func TestInstanceOf(t *testing.T) {
	t.Parallel()
	for name, want := range map[string]string{
		`synk\ on\ box._synk._tcp.local.`: "synk on box",
		`a\.b._synk._tcp.local.`:          "a.b",
		`plain`:                           "plain",
	} {
		if got := instanceOf(name); got != want {
			t.Errorf("instanceOf(%q) = %q, want %q", name, got, want)
		}
	}
}

func TestFound_URL(t *testing.T) {
	t.Parallel()
	f := Found{Addr: netip.MustParseAddrPort("10.0.0.2:7700"), Path: "/ws"}
	if got := f.URL(); got != "ws://10.0.0.2:7700/ws" {
		t.Fatal(got)
	}
}
