// Package chaos runs a real Synk cluster as separate processes on
// loopback: nats-server built from the pinned module, three of them
// routed as one JetStream cluster, and synk nodes joined to them. Its test
// kills parts of it while clients write (docs/CLUSTER.md, "Failover").
package chaos

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"net"
	"os/exec"
	"strconv"
	"strings"
	"sync"
)

// BuildNATS builds nats-server from the module this one pins into dir and
// returns its path.
func BuildNATS(ctx context.Context, dir string) (string, error) {
	bin := dir + "/nats-server"
	out, err := exec.CommandContext(ctx, "go", "build", "-o", bin, "github.com/nats-io/nats-server/v2").CombinedOutput()
	if err != nil {
		return "", fmt.Errorf("go build nats-server: %v\n%s", err, out)
	}
	return bin, nil
}

// NATS is one nats-server process of a cluster.
type NATS struct {
	Name string
	Port int // for clients, on 127.0.0.1
	args []string
	bin  string

	mu   sync.Mutex // Protects cmd and done.
	cmd  *exec.Cmd
	done chan struct{} // closed when the process ended
}

// URL is where clients reach it.
func (n *NATS) URL() string { return "nats://127.0.0.1:" + strconv.Itoa(n.Port) }

// StartNATSCluster starts n nats-servers with JetStream, their stores
// under dir, routed to each other as one cluster, and returns once each
// is ready.
func StartNATSCluster(ctx context.Context, bin, dir string, n int) ([]*NATS, error) {
	ports, err := freePorts(2 * n)
	if err != nil {
		return nil, err
	}
	var routes []string
	for i := range n {
		routes = append(routes, "nats://127.0.0.1:"+strconv.Itoa(ports[n+i]))
	}
	out := make([]*NATS, n)
	for i := range n {
		name := fmt.Sprintf("nats-%d", i)
		out[i] = &NATS{Name: name, Port: ports[i], bin: bin, args: []string{
			"-a", "127.0.0.1", "-p", strconv.Itoa(ports[i]), "-n", name, "-js", "-sd", dir + "/" + name,
			"--cluster_name", "synk", "--cluster", routes[i], "--routes", strings.Join(routes, ",")}}
	}
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i, p := range out {
		wg.Go(func() { errs[i] = p.Start(ctx) })
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		for _, p := range out {
			p.Kill()
		}
		return nil, err
	}
	return out, nil
}

// Start runs the server (again, after Kill: same ports and store) and
// waits until it says it is ready.
func (n *NATS) Start(ctx context.Context) error {
	cmd := exec.Command(n.bin, n.args...)
	stderr, err := cmd.StderrPipe()
	if err != nil {
		return err
	}
	if err := cmd.Start(); err != nil {
		return err
	}
	done, ready := make(chan struct{}), make(chan struct{})
	n.mu.Lock()
	n.cmd, n.done = cmd, done
	n.mu.Unlock()
	go func() {
		defer close(done)
		sc := bufio.NewScanner(stderr)
		for said := false; sc.Scan(); {
			if !said && strings.Contains(sc.Text(), "Server is ready") {
				said = true
				close(ready)
			}
		}
		cmd.Wait()
	}()
	select {
	case <-ready:
		return nil
	case <-done:
		return fmt.Errorf("%s ended before it was ready", n.Name)
	case <-ctx.Done():
		n.Kill()
		return fmt.Errorf("%s: %w", n.Name, ctx.Err())
	}
}

// Kill ends the server at once (SIGKILL) and waits until it is gone.
func (n *NATS) Kill() {
	n.mu.Lock()
	cmd, done := n.cmd, n.done
	n.mu.Unlock()
	if cmd == nil {
		return
	}
	cmd.Process.Kill()
	<-done
}

// freePorts returns n loopback ports free a moment ago.
func freePorts(n int) ([]int, error) {
	var lns []net.Listener
	defer func() {
		for _, ln := range lns {
			ln.Close()
		}
	}()
	var ports []int
	for range n {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return nil, err
		}
		lns = append(lns, ln)
		ports = append(ports, ln.Addr().(*net.TCPAddr).Port)
	}
	return ports, nil
}
