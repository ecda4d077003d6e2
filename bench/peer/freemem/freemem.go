// Package freemem serves /debug/freemem for the peer servers of
// bench/compare: it runs debug.FreeOSMemory, so that the benchmark reads a
// server's RSS after a collection, as synk serve -pprof allows for Synk.
package freemem

import (
	"fmt"
	"net"
	"net/http"
	"runtime/debug"
	"time"
)

// Serve serves /debug/freemem on addr in the background and prints
// "debug on ADDR" once it listens.
func Serve(addr string) error {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return err
	}
	mux := http.NewServeMux()
	mux.HandleFunc("/debug/freemem", func(w http.ResponseWriter, r *http.Request) {
		debug.FreeOSMemory()
		w.WriteHeader(http.StatusNoContent)
	})
	go (&http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}).Serve(ln)
	fmt.Println("debug on", ln.Addr())
	return nil
}
