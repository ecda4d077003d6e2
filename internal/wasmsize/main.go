// Command wasmsize prints how much WebAssembly code each Go package puts
// into a wasm binary, largest first, from the binary's code and name
// sections. Data (strings, type and pc tables) is shown as one line.
//
//	go run ./internal/wasmsize web/static/synk.wasm
package main

import (
	"bytes"
	"encoding/binary"
	"errors"
	"flag"
	"fmt"
	"os"
	"sort"
	"strings"
)

func main() {
	top := flag.Int("top", 20, "packages (or functions) to list")
	flag.StringVar(&funcsOf, "funcs", "", "list the largest functions of packages with this prefix instead")
	flag.Parse()
	if flag.NArg() != 1 {
		fmt.Fprintln(os.Stderr, "usage: wasmsize [-top N] file.wasm")
		os.Exit(2)
	}
	b, err := os.ReadFile(flag.Arg(0))
	if err == nil {
		err = report(b, *top)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "wasmsize:", err)
		os.Exit(1)
	}
}

type reader struct {
	b   []byte
	off int
}

func (r *reader) uleb() (uint64, error) {
	v, n := binary.Uvarint(r.b[r.off:])
	if n <= 0 {
		return 0, errors.New("bad LEB128")
	}
	r.off += n
	return v, nil
}

func (r *reader) bytes(n uint64) ([]byte, error) {
	if n > uint64(len(r.b)-r.off) {
		return nil, errors.New("truncated")
	}
	s := r.b[r.off : r.off+int(n)]
	r.off += int(n)
	return s, nil
}

// funcsOf, when set, lists functions of matching packages, not packages.
var funcsOf string

func report(b []byte, top int) error {
	if !bytes.HasPrefix(b, []byte("\x00asm")) || len(b) < 8 {
		return errors.New("not a wasm binary")
	}
	r := &reader{b: b, off: 8}
	var imports uint64
	var bodies []int
	names := map[uint64]string{}
	data := 0
	for r.off < len(b) {
		id := b[r.off]
		r.off++
		size, err := r.uleb()
		if err != nil {
			return err
		}
		sec, err := r.bytes(size)
		if err != nil {
			return err
		}
		s := &reader{b: sec}
		switch id {
		case 2: // imports: count the functions, which come first in the index space
			n, _ := s.uleb()
			for range n {
				for range 2 {
					l, _ := s.uleb()
					s.bytes(l)
				}
				kind := s.b[s.off]
				s.off++
				if kind == 0 {
					imports++
					s.uleb()
					continue
				}
				return errors.New("non-function imports are not handled")
			}
		case 10: // code
			n, _ := s.uleb()
			for range n {
				l, err := s.uleb()
				if err != nil {
					return err
				}
				s.bytes(l)
				bodies = append(bodies, int(l))
			}
		case 11:
			data = len(sec)
		case 0: // custom: the name section's function names
			l, _ := s.uleb()
			name, _ := s.bytes(l)
			if string(name) != "name" {
				continue
			}
			for s.off < len(s.b) {
				sub := s.b[s.off]
				s.off++
				sz, _ := s.uleb()
				body, _ := s.bytes(sz)
				if sub != 1 {
					continue
				}
				f := &reader{b: body}
				n, _ := f.uleb()
				for range n {
					idx, _ := f.uleb()
					l, _ := f.uleb()
					nm, _ := f.bytes(l)
					names[idx] = string(nm)
				}
			}
		}
	}
	if len(names) == 0 {
		return errors.New("no name section: build without -ldflags=-s")
	}
	per := map[string]int{}
	total := 0
	for i, size := range bodies {
		name := names[imports+uint64(i)]
		key := pkgOf(name)
		if funcsOf != "" {
			if !strings.HasPrefix(key, funcsOf) {
				continue
			}
			key = name
		}
		per[key] += size
		total += size
	}
	type row struct {
		pkg  string
		size int
	}
	rows := make([]row, 0, len(per))
	for p, s := range per {
		rows = append(rows, row{p, s})
	}
	sort.Slice(rows, func(i, j int) bool { return rows[i].size > rows[j].size })
	fmt.Printf("code %d B in %d functions; data %d B\n", total, len(bodies), data)
	for i, r := range rows {
		if i == top {
			break
		}
		fmt.Printf("%9d B %5.1f%%  %s\n", r.size, 100*float64(r.size)/float64(total), r.pkg)
	}
	return nil
}

// pkgOf returns the package of a symbol as the Go wasm linker names it:
// "/" in package paths becomes "_", as in
// "github.com_vmihailenco_msgpack_v5.decodeFloat64Value" or
// "sync_atomic.(*Int32).Add".
func pkgOf(sym string) string {
	if sym == "" {
		return "?"
	}
	start := 0
	if u := strings.Index(sym, "_"); u > 0 && strings.Contains(sym[:u], ".") && !strings.HasSuffix(sym[:u], ".") {
		start = u // a domain such as github.com comes first
	}
	dot := strings.Index(sym[start:], ".")
	if dot < 0 {
		return sym
	}
	return strings.ReplaceAll(sym[:start+dot], "_", "/")
}
