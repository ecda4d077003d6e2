// Command folder measures folder sync: the MB/s of an initial sync of a
// folder of mixed files (many small, some medium, a few large) from one
// device to the server and on to a second device, then the bytes that
// small edits send; with -one-file, the bytes a 1-byte change sends in one
// large file.
//
//	go run -C bench ./folder -size 1GB
//	go run -C bench ./folder -size 100MB -one-file 1GB
//
// It runs a server in its own process, storing objects and chunks on disk
// in a temporary directory, and two devices in temporary folders; all of
// it is removed at the end. Disk speed counts: the server syncs every
// pack of chunks, and a device every file it writes.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
)

func main() {
	cfg := config{}
	size := flag.String("size", "1GB", "bytes of files to sync at first (KB, MB, GB suffixes)")
	flag.StringVar(&cfg.Dir, "dir", "", "where to put the server's data and the folders (default: a temporary directory)")
	flag.Uint64Var(&cfg.Seed, "seed", 1, "random seed of the files")
	flag.StringVar(&cfg.CPUProfile, "cpuprofile", "", "write a CPU profile of the initial upload to this file")
	flag.BoolVar(&cfg.Cluster, "cluster", false, "two server nodes over an embedded NATS with JetStream: device a on one, b on the other, chunks in JetStream")
	one := flag.String("one-file", "", "then add one file of this size, and change 1 byte in it at 3 places (e.g. 1GB)")
	flag.Parse()
	n, err := parseSize(*size)
	if err == nil && *one != "" {
		cfg.OneFile, err = parseSize(*one)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "folder:", err)
		os.Exit(2)
	}
	cfg.Size = n
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	if err := run(ctx, cfg, os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "folder:", err)
		os.Exit(1)
	}
}
