package main

import (
	"context"
	"io"
	"net"
	"net/http"
	"os"
	"regexp"
	"strings"
	"testing"
	"time"
)

func TestParseServe_env(t *testing.T) {
	t.Parallel()
	env := map[string]string{"SYNK_MAX_KEYS": "7", "SYNK_TIMEOUT": "3s", "SYNK_ORIGINS": "a.example, b.example"}
	lookup := func(k string) (string, bool) { v, ok := env[k]; return v, ok }
	c, err := parseServe([]string{"-max-keys", "9"}, lookup, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if c.opts.MaxKeys != 9 || c.opts.Timeout != 3*time.Second || len(c.opts.OriginPatterns) != 2 {
		t.Fatalf("config = %+v, want flag 9 over env, env timeout 3s, two origins", c.opts)
	}
	env["SYNK_MAX_VALUE"] = "lots"
	if _, err := parseServe(nil, lookup, io.Discard); err == nil {
		t.Fatal("want an error for SYNK_MAX_VALUE=lots")
	}
}

func TestServe_startsAndStops(t *testing.T) {
	t.Parallel()
	addr := startServe(t) // stopped, and its error checked, at cleanup
	resp, err := http.Get("http://" + addr + "/synk")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("GET /synk = %d", resp.StatusCode)
	}
	// The netsync API is mounted: mates=0 answers at once.
	resp, err = http.Get("http://" + addr + "/event?event=e&actor=a&payload=p&mates=0")
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || !strings.Contains(string(b), `"a": "p"`) {
		t.Fatalf("GET /event = %d %s", resp.StatusCode, b)
	}
}

// TestServe_embeddedNATS: two synk serve nodes, the first running NATS in
// process, share a room's presence over HTTP.
func TestServe_embeddedNATS(t *testing.T) {
	t.Parallel()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	natsAddr := ln.Addr().String()
	ln.Close()
	env := func(string) (string, bool) { return "", false }
	start := func(args ...string) (string, func()) {
		c, err := parseServe(append([]string{"-addr", "127.0.0.1:0", "-log-level", "warn", "-data", ""}, args...), env, io.Discard)
		if err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithCancel(context.Background())
		ready, done := make(chan string, 1), make(chan error, 1)
		go func() { done <- serve(ctx, c, ready) }()
		select {
		case addr := <-ready:
			return addr, func() {
				cancel()
				if err := <-done; err != nil {
					t.Errorf("serve: %v", err)
				}
			}
		case err := <-done:
			t.Fatalf("serve: %v", err)
		}
		return "", nil
	}
	a, stopA := start("-nats", "embedded", "-nats-listen", natsAddr, "-nats-sync", "always")
	defer stopA()
	b, stopB := start("-nats", "nats://"+natsAddr)
	defer stopB()
	post := func(addr, body string) string {
		resp, err := http.Post("http://"+addr+"/synk/lobby", "application/json", strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		out, _ := io.ReadAll(resp.Body)
		return strings.TrimSpace(string(out))
	}
	post(a, `{"c":"ada","d":[{"k":"x","v":1}]}`)
	// B learns of ada from A, asynchronously: post until B's answer has her
	// (each post is answered at once; at most 10 s of them).
	for deadline := time.Now().Add(10 * time.Second); !strings.Contains(post(b, `{"c":"joe","d":[]}`), `"c":"ada"`); {
		if time.Now().After(deadline) {
			t.Fatal("node B did not learn of ada within 10s")
		}
	}
}

// startServe runs "synk serve" in process and returns its address.
func startServe(t *testing.T) string {
	t.Helper()
	c, err := parseServe([]string{"-addr", "127.0.0.1:0", "-log-level", "error", "-data", t.TempDir()}, func(string) (string, bool) { return "", false }, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	ready := make(chan string, 1)
	done := make(chan error, 1)
	go func() { done <- serve(ctx, c, ready) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Error(err)
		}
	})
	return <-ready
}

// TestServe_saysWhenNoClient: issue 17.4. A binary built without the
// browser client (plain go build) says so at start, at the default log
// level, with what to do.
func TestServe_saysWhenNoClient(t *testing.T) {
	t.Parallel()
	var log strings.Builder
	c, err := parseServe([]string{"-addr", "127.0.0.1:0", "-data", t.TempDir()}, func(string) (string, bool) { return "", false }, &log)
	if err != nil {
		t.Fatal(err)
	}
	c.noClient = true
	ctx, cancel := context.WithCancel(context.Background())
	ready, done := make(chan string, 1), make(chan error, 1)
	go func() { done <- serve(ctx, c, ready) }()
	<-ready
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(log.String(), "level=WARN msg=\"no browser client") || !strings.Contains(log.String(), "make build") {
		t.Fatalf("the log does not say the client is missing:\n%s", log.String())
	}
}

// TestServe_flagsInREADME: README's Configure table names every flag of
// synk serve.
func TestServe_flagsInREADME(t *testing.T) {
	readme, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	var usage strings.Builder
	parseServe([]string{"-h"}, func(string) (string, bool) { return "", false }, &usage)
	flags := regexp.MustCompile(`(?m)^  -([a-z0-9-]+)`).FindAllStringSubmatch(usage.String(), -1)
	if len(flags) < 30 {
		t.Fatalf("found %d flags in the usage, want them all:\n%s", len(flags), usage.String())
	}
	for _, m := range flags {
		if !strings.Contains(string(readme), "`-"+m[1]+"`") {
			t.Errorf("README's Configure table lacks -%s", m[1])
		}
	}
	if !strings.Contains(usage.String(), "comma-separated list of its servers") {
		t.Error("-h does not say that -nats takes a comma-separated list of NATS servers")
	}
}

// TestRun_usage: synk, synk help and synk -h print the commands and
// succeed; -h on a command prints its flags and succeeds; an unknown
// command says so; synk version prints one; synk token names what it
// lacks.
func TestRun_usage(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		args    []string
		ok      bool
		out     string // in stdout, or stderr for errors and flag lists
		errText string
	}{
		{nil, true, "synk serve [flags]", ""},
		{[]string{"help"}, true, "synk folder DIR", ""},
		{[]string{"-h"}, true, "synk discover", ""},
		{[]string{"version"}, true, "synk ", ""},
		{[]string{"serve", "-h"}, true, "-max-keys", ""},
		{[]string{"token", "-h"}, true, "-sub", ""},
		{[]string{"discover", "-h"}, true, "-timeout", ""},
		{[]string{"bogus"}, false, "synk serve [flags]", `unknown command "bogus"`},
		{[]string{"token", "-sub", "ada", "-room", "*=read"}, false, "", "-key missing"},
	} {
		var stdout, stderr strings.Builder
		err := run(context.Background(), tc.args, &stdout, &stderr)
		if (err == nil) != tc.ok || err != nil && !strings.Contains(err.Error(), tc.errText) {
			t.Errorf("synk %v: error %v, want ok=%v with %q", tc.args, err, tc.ok, tc.errText)
		}
		if !strings.Contains(stdout.String()+stderr.String(), tc.out) {
			t.Errorf("synk %v printed %q, want %q in it", tc.args, stdout.String()+stderr.String(), tc.out)
		}
	}
}
