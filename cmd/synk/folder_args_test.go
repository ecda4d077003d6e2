package main

import (
	"io"
	"testing"
	"time"
)

// TestParseFolderArgs_versions: -versions, -versions-for and -symlinks
// reach the folder's options; negative ones are refused.
func TestParseFolderArgs_versions(t *testing.T) {
	a, err := parseFolderArgs([]string{"-room", "r", "-server", "lan", "-versions", "5", "-versions-for", "720h", "-symlinks", "dir"}, io.Discard)
	if err != nil || a.o.Versions != 5 || a.o.VersionsFor != 720*time.Hour || !a.o.Symlinks {
		t.Fatalf("got %+v, %v", a, err)
	}
	for _, bad := range [][]string{{"-versions", "-1"}, {"-versions-for", "-1h"}} {
		args := append(append([]string{"-room", "r", "-server", "lan"}, bad...), "dir")
		if _, err := parseFolderArgs(args, io.Discard); err == nil {
			t.Errorf("%v accepted", bad)
		}
	}
}
