//go:build js

package server

import (
	"net/http"
	"time"

	"github.com/synkhq/synk/protocol"
)

// metrics: at the edge there is no /metrics to scrape (Cloudflare has its
// own analytics), and the Prometheus client with its protobuf code would
// add megabytes to the worker, so nothing is counted.
type metrics struct{}

func newMetrics(*Server) *metrics { return &metrics{} }

func (*metrics) got(int)                       {}
func (*metrics) sent(int, int)                 {}
func (*metrics) cut()                          {}
func (*metrics) stored(time.Duration)          {}
func (*metrics) received(protocol.MessageType) {}
func (*metrics) failed(protocol.Code)          {}

func (*metrics) handler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		writeError(w, http.StatusNotFound, protocol.Errorf(protocol.CodeUnsupported, "no metrics at the edge"))
	})
}
