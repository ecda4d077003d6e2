package main

import (
	"bufio"
	"context"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"time"
)

// server is one server process under test, on loopback.
type server struct {
	cmd   *exec.Cmd
	addr  string      // host:port
	debug chan string // the address of /debug/freemem, once printed
	exit  chan error
}

// buildAll builds the three servers into dir and returns their paths by
// system name.
func buildAll(ctx context.Context, dir string) (map[string]string, error) {
	out := make(map[string]string)
	for name, pkg := range map[string]string{
		"synk":       "github.com/synkhq/synk/cmd/synk",
		"centrifuge": "github.com/synkhq/synk/bench/peer/centrifuge",
		"hub":        "github.com/synkhq/synk/bench/peer/hub",
	} {
		bin := filepath.Join(dir, name)
		cmd := exec.CommandContext(ctx, "go", "build", "-trimpath", "-o", bin, pkg)
		if b, err := cmd.CombinedOutput(); err != nil {
			return nil, fmt.Errorf("build %s: %v\n%s", name, err, b)
		}
		out[name] = bin
	}
	return out, nil
}

// listening matches the line each server prints once it listens, and
// debugging the one that gives the address of /debug/freemem.
var (
	listening = regexp.MustCompile(`(?:listening on |msg="synk serving" addr=http://)(\S+)`)
	debugging = regexp.MustCompile(`(?:debug on |msg="pprof serving" addr=http://)([^/\s]+)`)
)

// startServer runs bin with args and waits until it listens. GOMAXPROCS is
// left to the server, which shares the machine with the load generator.
func startServer(ctx context.Context, bin string, args ...string) (*server, error) {
	cmd := exec.Command(bin, args...)
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	cmd.Stderr = cmd.Stdout
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	s := &server{cmd: cmd, exit: make(chan error, 1), debug: make(chan string, 1)}
	addr := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			if m := listening.FindStringSubmatch(sc.Text()); m != nil {
				select {
				case addr <- m[1]:
				default:
				}
			}
			if m := debugging.FindStringSubmatch(sc.Text()); m != nil {
				select {
				case s.debug <- m[1]:
				default:
				}
			}
		}
		s.exit <- cmd.Wait()
	}()
	t := time.NewTimer(20 * time.Second)
	defer t.Stop()
	select {
	case s.addr = <-addr:
		return s, nil
	case err := <-s.exit:
		return nil, fmt.Errorf("%s exited before listening: %v", filepath.Base(bin), err)
	case <-t.C:
	case <-ctx.Done():
	}
	s.kill()
	return nil, fmt.Errorf("%s did not start", filepath.Base(bin))
}

// kill stops the server at once and waits for it.
func (s *server) kill() {
	s.cmd.Process.Kill()
	<-s.exit
}

// usage is what the kernel counts of the server process.
type usage struct {
	cpu          time.Duration // user + system
	rss, rssPeak int64         // bytes
	read, wrote  int64         // bytes through read and write system calls (sockets included)
}

func (u usage) sub(o usage) usage {
	return usage{cpu: u.cpu - o.cpu, rss: u.rss, rssPeak: u.rssPeak, read: u.read - o.read, wrote: u.wrote - o.wrote}
}

var clockTick = 100.0 // USER_HZ on Linux

// sample reads the server's usage from /proc.
func (s *server) sample() (usage, error) {
	pid := s.cmd.Process.Pid
	var u usage
	stat, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return u, err
	}
	// Fields after the command name, which is in parentheses.
	f := strings.Fields(string(stat[strings.LastIndexByte(string(stat), ')')+2:]))
	utime, _ := strconv.ParseFloat(f[11], 64)
	stime, _ := strconv.ParseFloat(f[12], 64)
	u.cpu = time.Duration((utime + stime) / clockTick * float64(time.Second))
	status, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return u, err
	}
	for _, line := range strings.Split(string(status), "\n") {
		k, v, _ := strings.Cut(line, ":")
		kb, _ := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
		switch k {
		case "VmRSS":
			u.rss = kb << 10
		case "VmHWM":
			u.rssPeak = kb << 10
		}
	}
	io, err := os.ReadFile(fmt.Sprintf("/proc/%d/io", pid))
	if err != nil {
		return u, err
	}
	for _, line := range strings.Split(string(io), "\n") {
		k, v, _ := strings.Cut(line, ": ")
		n, _ := strconv.ParseInt(v, 10, 64)
		switch k {
		case "rchar":
			u.read = n
		case "wchar":
			u.wrote = n
		}
	}
	return u, nil
}

// freeMemory makes the server collect its garbage and return free memory
// to the system, so that its RSS is what it holds.
func (s *server) freeMemory(ctx context.Context) error {
	t := time.NewTimer(5 * time.Second)
	defer t.Stop()
	var addr string
	select {
	case addr = <-s.debug:
		s.debug <- addr
	case <-t.C:
		return fmt.Errorf("the server gave no debug address")
	case <-ctx.Done():
		return ctx.Err()
	}
	resp, err := http.Get("http://" + addr + "/debug/freemem")
	if err != nil {
		return err
	}
	resp.Body.Close()
	return nil
}
