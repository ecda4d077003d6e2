package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net/url"
	"os"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/synkhq/synk/client"
	"github.com/synkhq/synk/internal/folder"
	"github.com/synkhq/synk/internal/lan"
	"golang.org/x/term"
)

// syncFolder runs "synk folder DIR -room R -server URL": it keeps DIR in
// sync with the room's other devices until interrupted, or once with -once.
func syncFolder(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	a, err := parseFolderArgs(args, stderr)
	if err != nil {
		return err
	}
	o, err := a.options(ctx, stderr)
	if err != nil {
		return err
	}
	if a.status {
		return printStatus(ctx, o, stdout)
	}
	f, err := folder.Open(ctx, o)
	if err != nil {
		return err
	}
	defer f.Close()
	if a.once {
		err = f.Once(ctx)
	} else {
		o.Logger.Info("synk folder: syncing; stop with Ctrl-C", "dir", o.Dir, "room", o.Room, "device", f.Device())
		err = f.Run(ctx)
	}
	st := f.Stats()
	fmt.Fprintf(stdout, "synced %s: sent %d chunks (%d bytes), received %d chunks (%d bytes)\n",
		o.Dir, st.ChunksSent, st.BytesSent, st.ChunksReceived, st.BytesReceived)
	return err
}

// folderArgs is the command line of "synk folder" as given.
type folderArgs struct {
	o                    folder.Options
	once, create, status bool
	tokenFile, progress  string
	level                slog.Level
}

// parseFolderArgs reads the command line of "synk folder"; usage goes to
// stderr.
func parseFolderArgs(args []string, stderr io.Writer) (*folderArgs, error) {
	var a folderArgs
	fs := flag.NewFlagSet("synk folder", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: synk folder DIR -room ROOM -server ws://HOST:PORT [flags]")
		fs.PrintDefaults()
	}
	fs.StringVar(&a.o.Room, "room", "", "the room the devices share (required)")
	fs.StringVar(&a.o.Server, "server", "", "the server: host:port, http://host:port, ws://host:port or ws://host:port/ws,\nor \"lan\": the one server synk discover finds (required)")
	fs.StringVar(&a.o.Device, "device", "", "this device's name in the room and in conflict copies\n(default: the token's subject, or the host name and a random suffix, kept in DIR/.synk)")
	fs.StringVar(&a.tokenFile, "token-file", "", "a file holding this device's token for a server with auth (presence, read and write in the room)")
	fs.BoolVar(&a.once, "once", false, "sync until the folder and the room agree, then exit")
	fs.BoolVar(&a.status, "status", false, "print how each device of the room stands (files in sync, bytes left, last error)\nand exit; DIR is not needed (with -token-file: a token to read the room, not a device's)")
	fs.IntVar(&a.o.Versions, "versions", 0, "keep this many copies of each file another device replaced or deleted,\nin DIR/.synk/versions (0: none, unless -versions-for)")
	fs.DurationVar(&a.o.VersionsFor, "versions-for", 0, "keep those copies this long, e.g. 720h (0: no age limit)")
	fs.BoolVar(&a.o.Symlinks, "symlinks", false, "sync symbolic links as links (never followed; only those pointing inside DIR)")
	fs.BoolVar(&a.create, "create", false, "create DIR if it does not exist (without it, a missing DIR is an error)")
	fs.StringVar(&a.progress, "progress", "auto", "progress bars for long transfers: auto (when stderr is a terminal), on or off")
	fs.TextVar(&a.level, "log-level", slog.LevelInfo, "debug, info, warn or error")
	// The folder may come first ("synk folder ./dir -room r") or last.
	if len(args) > 0 && !strings.HasPrefix(args[0], "-") {
		a.o.Dir, args = args[0], args[1:]
	}
	if err := fs.Parse(args); err != nil {
		return nil, err
	}
	switch {
	case a.o.Dir == "" && fs.NArg() == 1:
		a.o.Dir = fs.Arg(0)
	case fs.NArg() > 0:
		return nil, fmt.Errorf("unexpected argument %q", fs.Arg(0))
	}
	if a.o.Dir == "" && !a.status || a.o.Room == "" || a.o.Server == "" {
		fs.Usage()
		return nil, errors.New("synk folder needs a directory, -room and -server")
	}
	if a.o.Versions < 0 || a.o.VersionsFor < 0 {
		return nil, errors.New("-versions and -versions-for cannot be negative")
	}
	return &a, nil
}

// options checks the directory and turns the flags into folder.Options:
// the server found or its websocket URL, the token read, progress and the
// logger on stderr.
func (a *folderArgs) options(ctx context.Context, stderr io.Writer) (folder.Options, error) {
	o := a.o
	var err error
	if o.Server == "lan" {
		if o.Server, err = lanServer(ctx, stderr); err != nil {
			return o, err
		}
	}
	if o.Server, err = websocketURL(o.Server); err != nil {
		return o, err
	}
	if a.status {
		// No directory to check.
	} else if st, err := os.Stat(o.Dir); errors.Is(err, os.ErrNotExist) && !a.create {
		return o, fmt.Errorf("folder %s does not exist (-create makes it)", o.Dir)
	} else if err == nil && !st.IsDir() {
		return o, fmt.Errorf("%s is not a directory", o.Dir)
	}
	if a.tokenFile != "" {
		b, err := os.ReadFile(a.tokenFile)
		if err != nil {
			return o, err
		}
		o.Token = strings.TrimSpace(string(b))
	}
	if o.Progress, err = progressTo(a.progress, stderr); err != nil {
		return o, err
	}
	o.Logger = slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: a.level}))
	return o, nil
}

// lanServer returns the URL of the one Synk server synk discover finds on
// the local network, or an error saying there is none or several.
func lanServer(ctx context.Context, stderr io.Writer) (string, error) {
	found, err := lan.Discover(ctx, lan.DefaultWait, slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: slog.LevelWarn})))
	if err != nil {
		return "", err
	}
	switch len(found) {
	case 0:
		return "", fmt.Errorf("-server lan: no Synk server answered on the local network within %v", lan.DefaultWait)
	case 1:
		fmt.Fprintf(stderr, "synk folder: using %s (%s)\n", found[0].URL(), found[0].Instance)
		return found[0].URL(), nil
	}
	var names []string
	for _, f := range found {
		names = append(names, f.Instance+" at "+f.URL())
	}
	return "", fmt.Errorf("-server lan: %d servers answered (%s); name one", len(found), strings.Join(names, ", "))
}

// progressTo returns where -progress mode draws its bars: stderr when
// "on", or "auto" and stderr is a terminal; nowhere when "off".
func progressTo(mode string, stderr io.Writer) (io.Writer, error) {
	switch mode {
	case "on":
		return stderr, nil
	case "auto":
		if f, ok := stderr.(*os.File); ok && term.IsTerminal(int(f.Fd())) {
			return stderr, nil
		}
		return nil, nil
	case "off":
		return nil, nil
	}
	return nil, fmt.Errorf("-progress %q: want auto, on or off", mode)
}

// websocketURL turns a server address as a person writes it (host:port,
// http://host:port, ws://host:port, with or without /ws) into the
// websocket URL of its /ws endpoint.
func websocketURL(server string) (string, error) {
	if !strings.Contains(server, "://") {
		server = "ws://" + server
	}
	u, err := url.Parse(server)
	if err != nil || u.Host == "" {
		return "", fmt.Errorf("-server %q: want host:port, http://host:port or ws://host:port/ws", server)
	}
	switch u.Scheme {
	case "http", "ws":
		u.Scheme = "ws"
	case "https", "wss":
		u.Scheme = "wss"
	default:
		return "", fmt.Errorf("-server %q: scheme %s is not http(s) or ws(s)", server, u.Scheme)
	}
	if u.Path == "" || u.Path == "/" {
		u.Path = "/ws"
	}
	return u.String(), nil
}

// printStatus joins the room as an observer and prints each device's
// folder status (folder.Status) as a table.
func printStatus(ctx context.Context, o folder.Options, stdout io.Writer) error {
	conn, err := client.Dial(ctx, o.Server, &client.DialOptions{Token: o.Token})
	if err != nil {
		return err
	}
	defer conn.Close()
	room, err := conn.Join(ctx, o.Room, &client.JoinOptions{Observer: true})
	if err != nil {
		return fmt.Errorf("joining room %q: %w", o.Room, err)
	}
	devices, err := folder.Statuses(room.Members())
	tw := tabwriter.NewWriter(stdout, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "DEVICE\tSTATE\tFILES\tLEFT\tFAILED\tSAID\tERROR")
	for _, d := range devices {
		ago := time.Since(time.UnixMilli(d.At)).Round(time.Second)
		fmt.Fprintf(tw, "%s\t%s\t%d/%d\t%d B\t%d\t%v ago\t%s\n", d.Device, d.State, d.Files, d.Total, d.Left, d.Failed, ago, d.Error)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	if err != nil { // a member's status that is not one: said, not fatal
		fmt.Fprintf(stdout, "unreadable: %v\n", err)
	} else if len(devices) == 0 {
		fmt.Fprintf(stdout, "no device in room %q says how its folder stands\n", o.Room)
	}
	return nil
}
