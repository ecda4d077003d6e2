// Command precompress writes NAME.gz and NAME.br beside each file named on
// the command line, at the best compression levels, for the static file
// server to send to browsers that accept them. With -report it prints the
// raw, gzip and brotli sizes; with -max-br it fails on a file over that
// brotli budget. A file whose content has not changed since its .gz and
// .br were written (its SHA-256 is kept in .cache/precompress) is not
// compressed again: brotli at its best level takes tens of seconds for
// the 4.5 MB wasm.
//
//	go run ./internal/precompress [-report] web/static/synk.wasm ...
package main

import (
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"encoding/hex"
	"flag"
	"fmt"
	"os"
	"path/filepath"

	"github.com/andybalholm/brotli"
)

func main() {
	report := flag.Bool("report", false, "print sizes")
	maxBr := flag.Int("max-br", 0, "fail if a file's brotli size exceeds this many bytes (0: no limit)")
	flag.Parse()
	for _, name := range flag.Args() {
		if err := compress(name, *report, *maxBr); err != nil {
			fmt.Fprintln(os.Stderr, "precompress:", err)
			os.Exit(1)
		}
	}
}

func compress(name string, report bool, maxBr int) error {
	raw, err := os.ReadFile(name)
	if err != nil {
		return err
	}
	sum := sha256.Sum256(raw)
	named := sha256.Sum256([]byte(name))
	mark := filepath.Join(".cache", "precompress", hex.EncodeToString(named[:8])) // the SHA-256 name's content had
	if old, err := os.ReadFile(mark); err == nil && string(old) == hex.EncodeToString(sum[:]) {
		gzInfo, gzErr := os.Stat(name + ".gz")
		brInfo, brErr := os.Stat(name + ".br")
		if gzErr == nil && brErr == nil {
			return check(name, len(raw), int(gzInfo.Size()), int(brInfo.Size()), report, maxBr)
		}
	}
	var gz, br bytes.Buffer
	zw, _ := gzip.NewWriterLevel(&gz, gzip.BestCompression)
	if _, err := zw.Write(raw); err != nil {
		return err
	}
	if err := zw.Close(); err != nil {
		return err
	}
	// A 16 MiB window (the format's largest; every browser decodes it)
	// lets brotli find repeats across the whole 4.6 MB wasm, not only
	// within the default 4 MiB.
	bw := brotli.NewWriterOptions(&br, brotli.WriterOptions{Quality: brotli.BestCompression, LGWin: 24})
	if _, err := bw.Write(raw); err != nil {
		return err
	}
	if err := bw.Close(); err != nil {
		return err
	}
	if err := os.WriteFile(name+".gz", gz.Bytes(), 0o644); err != nil {
		return err
	}
	if err := os.WriteFile(name+".br", br.Bytes(), 0o644); err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(mark), 0o755); err == nil {
		_ = os.WriteFile(mark, []byte(hex.EncodeToString(sum[:])), 0o644) // a lost mark only costs a compression
	}
	return check(name, len(raw), gz.Len(), br.Len(), report, maxBr)
}

// check reports the sizes, and fails on a brotli size over maxBr.
func check(name string, raw, gz, br int, report bool, maxBr int) error {
	if maxBr > 0 && br > maxBr {
		return fmt.Errorf("%s is %d bytes in brotli, over the budget of %d", name, br, maxBr)
	}
	if report {
		fmt.Printf("%s: raw %d B, gzip %d B, brotli %d B\n", name, raw, gz, br)
	}
	return nil
}
