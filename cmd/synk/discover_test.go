package main

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// netns makes two network namespaces joined by a veth pair, a at .1 and
// b at .2 of a /24, and removes them at the end of the test. It skips the
// test, saying why, when namespaces cannot be made (not root, no ip).
func netns(t *testing.T) (a, b, subnet string) {
	t.Helper()
	if _, err := exec.LookPath("ip"); err != nil {
		t.Skip("network namespaces cannot be made here: no ip command (Debian: iproute2)")
	}
	id := os.Getpid() % 100000
	a, b = fmt.Sprintf("synk%da", id), fmt.Sprintf("synk%db", id)
	subnet = fmt.Sprintf("10.213.%d", id%250)
	if out, err := exec.Command("ip", "netns", "add", a).CombinedOutput(); err != nil {
		t.Skipf("network namespaces cannot be made here (needs root or CAP_SYS_ADMIN): ip netns add: %v: %s", err, out)
	}
	t.Cleanup(func() {
		exec.Command("ip", "netns", "del", a).Run()
		exec.Command("ip", "netns", "del", b).Run()
	})
	va, vb := fmt.Sprintf("sk%dva", id), fmt.Sprintf("sk%dvb", id)
	for _, cmd := range [][]string{
		{"netns", "add", b},
		{"link", "add", va, "type", "veth", "peer", "name", vb},
		{"link", "set", va, "netns", a},
		{"link", "set", vb, "netns", b},
		{"-n", a, "addr", "add", subnet + ".1/24", "dev", va},
		{"-n", b, "addr", "add", subnet + ".2/24", "dev", vb},
		{"-n", a, "link", "set", va, "up"},
		{"-n", b, "link", "set", vb, "up"},
		{"-n", a, "link", "set", "lo", "up"},
		{"-n", b, "link", "set", "lo", "up"},
		// No default route in a namespace: multicast needs a route of its own.
		{"-n", a, "route", "add", "224.0.0.0/4", "dev", va},
		{"-n", b, "route", "add", "224.0.0.0/4", "dev", vb},
	} {
		if out, err := exec.Command("ip", cmd...).CombinedOutput(); err != nil {
			t.Fatalf("ip %s: %v: %s", strings.Join(cmd, " "), err, out)
		}
	}
	return a, b, subnet
}

// buildSynk builds this command into a temporary directory.
func buildSynk(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "synk")
	if out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v: %s", err, out)
	}
	return bin
}

// TestDiscover_netns: a server announced in one network namespace is
// found from another across a veth pair, and a folder syncs through the
// address found.
func TestDiscover_netns(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary")
	}
	nsA, nsB, subnet := netns(t)
	bin := buildSynk(t)
	ctx, cancel := context.WithTimeout(t.Context(), 2*time.Minute)
	defer cancel()

	srv := exec.CommandContext(ctx, "ip", "netns", "exec", nsA, bin, "serve", "-addr", subnet+".1:7700",
		"-data", t.TempDir(), "-mdns", "-mdns-name", "lan test")
	logs, err := srv.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := srv.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() {
		srv.Process.Signal(os.Interrupt)
		srv.Wait()
	}()
	serving := make(chan struct{})
	go func() {
		sc := bufio.NewScanner(logs)
		for sc.Scan() {
			if strings.Contains(sc.Text(), "synk serving") {
				close(serving)
				break
			}
		}
		for sc.Scan() { // drain until the server exits
		}
	}()
	select {
	case <-serving:
	case <-ctx.Done():
		t.Fatal("the server did not start")
	}

	want := "lan test\tws://" + subnet + ".1:7700/ws"
	var found string
	for try := 0; try < 5 && !strings.Contains(found, want); try++ {
		out, err := exec.CommandContext(ctx, "ip", "netns", "exec", nsB, bin, "discover", "-timeout", "1s").Output()
		if err != nil {
			t.Fatalf("synk discover: %v", err)
		}
		found = string(out)
	}
	if !strings.Contains(found, want) {
		t.Fatalf("synk discover in %s printed %q, want a line %q", nsB, found, want)
	}
	url := strings.Fields(strings.TrimPrefix(found[strings.Index(found, want):], "lan test"))[0]

	// Two folders in the other namespace sync through the server found:
	// by the address discover printed, and by -server lan.
	one, two := t.TempDir(), t.TempDir()
	os.WriteFile(filepath.Join(one, "across.txt"), []byte("over the veth"), 0o644)
	for _, c := range []struct{ dir, server string }{{one, url}, {two, "lan"}} {
		if out, err := exec.CommandContext(ctx, "ip", "netns", "exec", nsB, bin, "folder", c.dir, "-room", "lan", "-server", c.server, "-once").CombinedOutput(); err != nil {
			t.Fatalf("synk folder %s -server %s: %v: %s", c.dir, c.server, err, out)
		}
	}
	if got, err := os.ReadFile(filepath.Join(two, "across.txt")); err != nil || string(got) != "over the veth" {
		t.Fatalf("across.txt = %q, %v", got, err)
	}
}
