// Package attack runs hostile clients against a running synk server, on
// loopback, and measures what they make it hold: the server's peak
// resident memory (VmHWM, Linux) and a second client's round trips while
// an attack runs. Its tests assert the bounds of issue 15; bench/attack
// prints the figures for docs/LIMITS.md. Every attack is bounded in count
// and time and stops by itself.
package attack

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

// Build builds the synk binary into dir and returns its path.
func Build(ctx context.Context, dir string) (string, error) {
	bin := dir + "/synk"
	out, err := exec.CommandContext(ctx, "go", "build", "-o", bin, "github.com/synkhq/synk/cmd/synk").CombinedOutput()
	if err != nil {
		return "", fmt.Errorf("go build: %v\n%s", err, out)
	}
	return bin, nil
}

// Target is a synk server process under attack.
type Target struct {
	// Addr is its host:port on loopback.
	Addr string
	// Token is what the well-behaved clients present (with -auth-key).
	Token string
	cmd   *exec.Cmd
	done  chan struct{} // closed when the process ended

	mu  sync.Mutex   // Protects log.
	log bytes.Buffer // the last of its standard error
}

// Start runs `bin serve` on a free loopback port with args added (its
// store in memory unless args say otherwise) and waits until it serves.
func Start(ctx context.Context, bin string, args ...string) (*Target, error) {
	args = append([]string{"serve", "-addr", "127.0.0.1:0", "-data", ""}, args...)
	t := &Target{cmd: exec.Command(bin, args...), done: make(chan struct{})}
	stderr, err := t.cmd.StderrPipe()
	if err != nil {
		return nil, err
	}
	if err := t.cmd.Start(); err != nil {
		return nil, err
	}
	addr := make(chan string, 1)
	go func() {
		defer close(t.done)
		re := regexp.MustCompile(`msg="synk serving" addr=http://(\S+)`)
		sc := bufio.NewScanner(stderr)
		for sc.Scan() {
			if m := re.FindStringSubmatch(sc.Text()); m != nil {
				addr <- m[1]
			}
			t.mu.Lock()
			if t.log.Len() > 64<<10 {
				t.log.Reset()
			}
			t.log.WriteString(sc.Text() + "\n")
			t.mu.Unlock()
		}
		t.cmd.Wait()
	}()
	select {
	case t.Addr = <-addr:
		return t, nil
	case <-t.done:
		return nil, fmt.Errorf("synk ended before serving:\n%s", t.Log())
	case <-ctx.Done():
		t.Stop()
		return nil, fmt.Errorf("synk did not start: %w", ctx.Err())
	}
}

// WS is the server's websocket URL; HTTP its base URL.
func (t *Target) WS() string   { return "ws://" + t.Addr + "/ws" }
func (t *Target) HTTP() string { return "http://" + t.Addr }

// Log returns the last lines the server logged.
func (t *Target) Log() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.log.String()
}

// Alive reports whether the process still runs.
func (t *Target) Alive() bool {
	select {
	case <-t.done:
		return false
	default:
		return true
	}
}

// PeakRSS returns the most memory the process has had resident, in bytes
// (VmHWM in /proc/PID/status).
func (t *Target) PeakRSS() (int64, error) { return procStatus(t.cmd.Process.Pid, "VmHWM") }

// RSS returns the memory the process has resident now, in bytes.
func (t *Target) RSS() (int64, error) { return procStatus(t.cmd.Process.Pid, "VmRSS") }

func procStatus(pid int, field string) (int64, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, err
	}
	for line := range strings.Lines(string(b)) {
		if rest, ok := strings.CutPrefix(line, field+":"); ok {
			kb, err := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(rest), " kB"), 10, 64)
			return kb << 10, err
		}
	}
	return 0, errors.New("attack: no " + field + " in /proc status")
}

// CPUTime returns the processor time the process used so far (user and
// system, from /proc/PID/stat, in clock ticks of 10 ms).
func (t *Target) CPUTime() (time.Duration, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", t.cmd.Process.Pid))
	if err != nil {
		return 0, err
	}
	// The command name, in parentheses, may hold spaces: fields start after it.
	_, rest, ok := strings.Cut(string(b), ") ")
	f := strings.Fields(rest)
	if !ok || len(f) < 13 {
		return 0, errors.New("attack: short /proc stat")
	}
	var ticks int64
	for _, s := range f[11:13] { // utime, stime
		n, err := strconv.ParseInt(s, 10, 64)
		if err != nil {
			return 0, err
		}
		ticks += n
	}
	return time.Duration(ticks) * 10 * time.Millisecond, nil
}

// Kill ends the server at once (SIGKILL), as a crash would, and waits
// until it is gone.
func (t *Target) Kill() {
	t.cmd.Process.Kill()
	<-t.done
}

// Stop ends the server: SIGTERM, then SIGKILL after 10 s.
func (t *Target) Stop() {
	if !t.Alive() {
		return
	}
	t.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-t.done:
	case <-time.After(10 * time.Second):
		t.cmd.Process.Kill()
		<-t.done
	}
}
