package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/synkhq/synk/bench/internal/relay"
)

// syncthingVersion is the Syncthing built and compared with.
const syncthingVersion = "v1.30.0"

// side is one system running on two folders a and b.
type side struct {
	procs  []*proc
	relays []*relay.Relay
	// poke asks device a to look at its folder now (after a change).
	poke func(ctx context.Context) error
}

// wire returns the bytes that went through the side's relays, both ways.
func (s *side) wire() int64 {
	var n int64
	for _, rl := range s.relays {
		n += rl.Sent()
		for _, v := range rl.Received(0, rl.Accepted()) {
			n += v
		}
	}
	return n
}

// peakRSS returns each process's peak resident set, by name, in bytes.
func (s *side) peakRSS() map[string]int64 {
	out := make(map[string]int64)
	for _, p := range s.procs {
		out[p.name] = p.peakRSS()
	}
	return out
}

func (s *side) stop() {
	for _, p := range s.procs {
		p.stop()
	}
	for _, rl := range s.relays {
		rl.Close()
	}
}

// proc is a process of a side.
type proc struct {
	name string
	cmd  *exec.Cmd
	log  lockedBuffer // its output, for errors
	hwm  int64        // the last VmHWM read, kept once it exits
	done chan struct{}
}

func start(name, bin string, args ...string) (*proc, error) {
	p := &proc{name: name, cmd: exec.Command(bin, args...), done: make(chan struct{})}
	p.cmd.Stdout, p.cmd.Stderr = &p.log, &p.log
	if err := p.cmd.Start(); err != nil {
		return nil, err
	}
	go func() {
		p.cmd.Wait()
		close(p.done)
	}()
	return p, nil
}

// peakRSS reads the peak resident set (VmHWM) of the process and of its
// children, summed: Syncthing runs as a monitor process and the
// Syncthing it starts.
func (p *proc) peakRSS() int64 {
	var total int64
	for _, pid := range append([]int{p.cmd.Process.Pid}, children(p.cmd.Process.Pid)...) {
		total += vmHWM(pid)
	}
	if total > 0 {
		p.hwm = total
	}
	return p.hwm
}

// children returns the processes whose parent is pid, and theirs.
func children(pid int) []int {
	ents, _ := os.ReadDir("/proc")
	var out []int
	for _, e := range ents {
		child, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		stat, err := os.ReadFile("/proc/" + e.Name() + "/stat")
		if err != nil {
			continue
		}
		// pid (comm) state ppid …: comm may hold spaces, so read after its ')'.
		fields := strings.Fields(string(stat[strings.LastIndexByte(string(stat), ')')+1:]))
		if len(fields) > 1 && fields[1] == strconv.Itoa(pid) {
			out = append(out, child)
			out = append(out, children(child)...)
		}
	}
	return out
}

// vmHWM reads a process's peak resident set, 0 if it is gone.
func vmHWM(pid int) int64 {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "VmHWM:"); ok {
			kb, _ := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 10, 64)
			return kb << 10
		}
	}
	return 0
}

func (p *proc) stop() {
	p.peakRSS()
	p.cmd.Process.Signal(os.Interrupt)
	select {
	case <-p.done:
	case <-time.After(10 * time.Second):
		p.cmd.Process.Kill()
		<-p.done
	}
}

// lockedBuffer is a buffer safe for the two output pipes and a reader.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(b []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(b)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// freePort returns a port free on 127.0.0.1 now.
func freePort() (int, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port, nil
}

// startSynk runs a synk server with chunks on disk in data and two
// devices on a and b, each link through one counting relay.
func startSynk(ctx context.Context, bin, data, a, b string) (*side, error) {
	srv, err := start("synk serve", bin, "serve", "-addr", "127.0.0.1:0", "-data", data, "-log-level", "info",
		"-max-conns-per-ip", "-1", "-rate", "-1")
	if err != nil {
		return nil, err
	}
	s := &side{procs: []*proc{srv}}
	addr, err := waitLog(ctx, srv, regexp.MustCompile(`msg="synk serving" addr=http://(\S+)`))
	if err != nil {
		s.stop()
		return nil, err
	}
	rl, err := relay.Start(addr)
	if err != nil {
		s.stop()
		return nil, err
	}
	s.relays = append(s.relays, rl)
	for _, d := range []struct{ dir, name string }{{a, "a"}, {b, "b"}} {
		p, err := start("synk folder "+d.name, bin, "folder", d.dir, "-room", "bench", "-server", "ws://"+rl.Addr()+"/ws",
			"-device", d.name, "-progress", "off", "-log-level", "warn")
		if err != nil {
			s.stop()
			return nil, err
		}
		s.procs = append(s.procs, p)
	}
	s.poke = func(context.Context) error { return nil } // its watcher sees every change
	return s, nil
}

// waitLog waits until p prints a line re matches, and returns its first
// group.
func waitLog(ctx context.Context, p *proc, re *regexp.Regexp) (string, error) {
	for {
		if m := re.FindStringSubmatch(p.output()); m != nil {
			return m[1], nil
		}
		select {
		case <-p.done:
			return "", fmt.Errorf("%s exited: %s", p.name, p.output())
		case <-ctx.Done():
			return "", ctx.Err()
		case <-time.After(20 * time.Millisecond):
		}
	}
}

func (p *proc) output() string { return p.log.String() }

// buildSyncthing builds Syncthing from its module into cache, once.
func buildSyncthing(ctx context.Context, cache string) (string, error) {
	bin := filepath.Join(cache, "syncthing-"+syncthingVersion, "syncthing")
	if _, err := os.Stat(bin); err == nil {
		return bin, nil
	}
	out, err := exec.CommandContext(ctx, "go", "mod", "download", "-json", "github.com/syncthing/syncthing@"+syncthingVersion).Output()
	if err != nil {
		return "", fmt.Errorf("go mod download syncthing: %w", err)
	}
	var mod struct{ Dir string }
	if err := json.Unmarshal(out, &mod); err != nil || mod.Dir == "" {
		return "", fmt.Errorf("go mod download syncthing: %s", out)
	}
	// Its go.mod has a replace directive, so go install pkg@version
	// refuses it: build in the module's own directory instead.
	cmd := exec.CommandContext(ctx, "go", "build", "-tags", "noassets", "-o", bin, "./cmd/syncthing")
	cmd.Dir = mod.Dir
	cmd.Env = append(os.Environ(), "GOFLAGS=-mod=mod")
	if b, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("building syncthing: %v\n%s", err, b)
	}
	return bin, nil
}

// stDevice is one Syncthing instance's identity and ports.
type stDevice struct {
	name, home, dir, id, key string
	gui, listen              int
	peer                     string // the address the other device dials: its relay
}

// startSyncthing runs two Syncthing instances sharing a folder on a and
// b, each dialing the other through a counting relay.
func startSyncthing(ctx context.Context, bin, homes, a, b string) (*side, error) {
	devs := []*stDevice{{name: "a", dir: a}, {name: "b", dir: b}}
	s := &side{}
	for _, d := range devs {
		d.home = filepath.Join(homes, d.name)
		out, err := exec.CommandContext(ctx, bin, "generate", "--home="+d.home, "--no-default-folder", "--skip-port-probing").CombinedOutput()
		if err != nil {
			return nil, fmt.Errorf("syncthing generate: %v\n%s", err, out)
		}
		m := regexp.MustCompile(`Device ID: (\S+)`).FindSubmatch(out)
		if m == nil {
			return nil, fmt.Errorf("syncthing generate printed no device ID:\n%s", out)
		}
		d.id, d.key = string(m[1]), "bench-"+d.name
		if d.gui, err = freePort(); err != nil {
			return nil, err
		}
		if d.listen, err = freePort(); err != nil {
			return nil, err
		}
		rl, err := relay.Start("127.0.0.1:" + strconv.Itoa(d.listen))
		if err != nil {
			s.stop()
			return nil, err
		}
		s.relays = append(s.relays, rl)
		d.peer = rl.Addr()
		// The folder marker Syncthing looks for before it syncs a folder.
		if err := os.MkdirAll(filepath.Join(d.dir, ".stfolder"), 0o755); err != nil {
			return nil, err
		}
	}
	for i, d := range devs {
		if err := os.WriteFile(filepath.Join(d.home, "config.xml"), []byte(stConfig(d, devs[1-i])), 0o600); err != nil {
			s.stop()
			return nil, err
		}
		p, err := start("syncthing "+d.name, bin, "serve", "--home="+d.home, "--no-browser", "--no-restart", "--no-upgrade",
			"--gui-address=http://127.0.0.1:"+strconv.Itoa(d.gui), "--gui-apikey="+d.key)
		if err != nil {
			s.stop()
			return nil, err
		}
		s.procs = append(s.procs, p)
	}
	for _, d := range devs {
		if err := stWait(ctx, d); err != nil {
			s.stop()
			return nil, err
		}
	}
	da := devs[0]
	s.poke = func(ctx context.Context) error {
		_, err := stREST(ctx, da, "POST", "/rest/db/scan?folder=bench")
		return err
	}
	return s, nil
}

// stConfig is d's config.xml: the folder shared with peer, on loopback,
// with everything that would reach past this machine off.
func stConfig(d, peer *stDevice) string {
	return fmt.Sprintf(`<configuration version="37">
  <folder id="bench" label="bench" path="%s" type="sendreceive" rescanIntervalS="3600" fsWatcherEnabled="true" fsWatcherDelayS="10">
    <device id="%s"></device>
    <device id="%s"></device>
  </folder>
  <device id="%s" name="%s" compression="metadata"><address>dynamic</address></device>
  <device id="%s" name="%s" compression="metadata"><address>tcp://%s</address></device>
  <gui enabled="true" tls="false"><address>127.0.0.1:%d</address><apikey>%s</apikey></gui>
  <options>
    <listenAddress>tcp://127.0.0.1:%d</listenAddress>
    <globalAnnounceEnabled>false</globalAnnounceEnabled>
    <localAnnounceEnabled>false</localAnnounceEnabled>
    <relaysEnabled>false</relaysEnabled>
    <natEnabled>false</natEnabled>
    <startBrowser>false</startBrowser>
    <urAccepted>-1</urAccepted>
    <autoUpgradeIntervalH>0</autoUpgradeIntervalH>
    <crashReportingEnabled>false</crashReportingEnabled>
  </options>
</configuration>
`, d.dir, d.id, peer.id, d.id, d.name, peer.id, peer.name, peer.peer, d.gui, d.key, d.listen)
}

// stWait waits until d's REST API answers.
func stWait(ctx context.Context, d *stDevice) error {
	deadline := time.Now().Add(30 * time.Second)
	for {
		_, err := stREST(ctx, d, "GET", "/rest/system/ping")
		if err == nil {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("syncthing %s did not answer: %w", d.name, err)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(100 * time.Millisecond):
		}
	}
}

func stREST(ctx context.Context, d *stDevice, method, path string) ([]byte, error) {
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, method, "http://127.0.0.1:"+strconv.Itoa(d.gui)+path, nil)
	if err != nil {
		return nil, err
	}
	req.Header.Set("X-API-Key", d.key)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err == nil && resp.StatusCode/100 != 2 {
		err = errors.New(resp.Status + ": " + string(b))
	}
	return b, err
}
