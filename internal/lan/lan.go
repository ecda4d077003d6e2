package lan

import (
	"context"
	"errors"
	"fmt"
	"log"
	"log/slog"
	"net"
	"net/netip"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/hashicorp/mdns"
)

// Service is the DNS-SD service type Synk servers announce.
const Service = "_synk._tcp"

// Found is a server that answered.
type Found struct {
	Instance string         // the announced name
	Addr     netip.AddrPort // where it listens (IPv4)
	Path     string         // its websocket path, such as /ws
}

// URL is the found server's websocket address.
func (f Found) URL() string { return "ws://" + f.Addr.String() + f.Path }

// Announcer answers mDNS queries for a server until Close.
type Announcer struct {
	srv *mdns.Server
}

// Announce announces a server called instance, listening on port at ips
// (with none: every address of every interface that is up, loopback
// aside), whose websocket is at wsPath.
func Announce(instance string, port int, ips []net.IP, wsPath string, logger *slog.Logger) (*Announcer, error) {
	if len(ips) == 0 {
		var err error
		if ips, err = lanIPs(); err != nil {
			return nil, err
		}
	}
	if len(ips) == 0 {
		return nil, errors.New("lan: no network address to announce (only loopback is up)")
	}
	host, _ := hostname()
	zone, err := mdns.NewMDNSService(instance, Service, "", host, port, ips, []string{"path=" + wsPath})
	if err != nil {
		return nil, fmt.Errorf("lan: %w", err)
	}
	srv, err := mdns.NewServer(&mdns.Config{Zone: zone, Logger: stdLogger(logger)})
	if err != nil {
		return nil, fmt.Errorf("lan: announcing: %w", err)
	}
	return &Announcer{srv: srv}, nil
}

// Close stops answering.
func (a *Announcer) Close() error { return a.srv.Shutdown() }

// Discover asks the network for Synk servers and returns those that
// answer within wait, sorted by name. It asks over IPv4.
func Discover(ctx context.Context, wait time.Duration, logger *slog.Logger) ([]Found, error) {
	entries := make(chan *mdns.ServiceEntry, 64)
	done := make(chan []Found)
	go func() {
		seen := make(map[Found]bool)
		for e := range entries {
			addr, ok := netip.AddrFromSlice(e.AddrV4)
			if !ok || !strings.Contains(e.Name, Service) {
				continue
			}
			f := Found{Instance: instanceOf(e.Name), Addr: netip.AddrPortFrom(addr.Unmap(), uint16(e.Port)), Path: "/ws"}
			for _, kv := range e.InfoFields {
				if p, ok := strings.CutPrefix(kv, "path="); ok && strings.HasPrefix(p, "/") {
					f.Path = p
				}
			}
			seen[f] = true
		}
		found := make([]Found, 0, len(seen))
		for f := range seen {
			found = append(found, f)
		}
		slices.SortFunc(found, func(a, b Found) int { return strings.Compare(a.Instance+a.Addr.String(), b.Instance+b.Addr.String()) })
		done <- found
	}()
	err := mdns.QueryContext(ctx, &mdns.QueryParam{
		Service: Service, Domain: "local", Timeout: wait, Entries: entries,
		DisableIPv6: true, Logger: stdLogger(logger),
	})
	close(entries)
	found := <-done
	if err != nil && ctx.Err() == nil {
		return found, fmt.Errorf("lan: %w", err)
	}
	return found, nil
}

// instanceOf takes the instance out of "name._synk._tcp.local.", undoing
// DNS escapes of spaces and dots.
func instanceOf(name string) string {
	i := strings.Index(name, "."+Service)
	if i < 0 {
		return name
	}
	return strings.NewReplacer(`\ `, " ", `\.`, ".", `\\`, `\`).Replace(name[:i])
}

// lanIPs returns the addresses of the interfaces that are up and not
// loopback.
func lanIPs() ([]net.IP, error) {
	ifs, err := net.Interfaces()
	if err != nil {
		return nil, err
	}
	var ips []net.IP
	for _, ifc := range ifs {
		if ifc.Flags&net.FlagUp == 0 || ifc.Flags&net.FlagLoopback != 0 {
			continue
		}
		addrs, err := ifc.Addrs()
		if err != nil {
			continue
		}
		for _, a := range addrs {
			if n, ok := a.(*net.IPNet); ok && !n.IP.IsLinkLocalUnicast() {
				ips = append(ips, n.IP)
			}
		}
	}
	return ips, nil
}

// hostname is the host's name as a DNS name, "host.local.".
func hostname() (string, error) {
	h, err := os.Hostname()
	if err != nil || h == "" {
		h = "synk"
	}
	h, _, _ = strings.Cut(h, ".")
	return h + ".local.", err
}

// stdLogger turns the library's log lines into debug records.
func stdLogger(l *slog.Logger) *log.Logger {
	if l == nil {
		l = slog.Default()
	}
	return slog.NewLogLogger(l.Handler(), slog.LevelDebug)
}

// DefaultWait is how long synk discover waits for answers by default.
const DefaultWait = 2 * time.Second
