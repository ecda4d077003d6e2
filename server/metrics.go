//go:build !js

package server

import (
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"github.com/synkhq/synk/protocol"
)

// metrics are a server's Prometheus metrics, in a registry of its own
// (several servers in one process do not collide), served at /metrics.
type metrics struct {
	reg       *prometheus.Registry
	framesIn  [32]prometheus.Counter // by frame type; [0] for unknown types
	framesOut prometheus.Counter
	bytesIn   prometheus.Counter
	bytesOut  prometheus.Counter
	errors    *prometheus.CounterVec // by code
	cuts      prometheus.Counter     // slow consumers disconnected
	store     prometheus.Histogram   // seconds per acknowledged store write
	chunks    *prometheus.CounterVec // chunk bytes uploaded, by whether new
}

func newMetrics(s *Server) *metrics {
	m := &metrics{reg: prometheus.NewRegistry()}
	f := func(c prometheus.Collector) { m.reg.MustRegister(c) }
	f(collectors.NewGoCollector())
	f(collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	f(prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "synk_connections", Help: "Open websocket connections."},
		func() float64 { s.mu.Lock(); defer s.mu.Unlock(); return float64(len(s.conns)) }))
	f(prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "synk_rooms", Help: "Rooms in memory."},
		func() float64 { s.mu.Lock(); defer s.mu.Unlock(); return float64(len(s.rooms)) }))
	f(prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "synk_meets_pending", Help: "Meet requests waiting for mates."},
		func() float64 { return float64(s.meets.Count()) }))
	if s.bus != nil {
		f(prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "synk_cluster_nodes", Help: "Live cluster nodes, this one included."},
			func() float64 { return float64(s.bus.nodes()) }))
	}
	in := prometheus.NewCounterVec(prometheus.CounterOpts{Name: "synk_frames_received_total",
		Help: "Frames received from websocket clients, by frame type."}, []string{"type"})
	f(in)
	m.framesIn[0] = in.WithLabelValues("unknown")
	for t := 1; t < len(m.framesIn); t++ {
		if name := protocol.MessageType(t).String(); !strings.HasPrefix(name, "MessageType(") { // not a type
			m.framesIn[t] = in.WithLabelValues(name)
		} else {
			m.framesIn[t] = m.framesIn[0]
		}
	}
	m.framesOut = prometheus.NewCounter(prometheus.CounterOpts{Name: "synk_frames_sent_total", Help: "Frames sent to websocket clients."})
	m.bytesIn = prometheus.NewCounter(prometheus.CounterOpts{Name: "synk_received_bytes_total", Help: "Bytes of websocket messages received."})
	m.bytesOut = prometheus.NewCounter(prometheus.CounterOpts{Name: "synk_sent_bytes_total", Help: "Bytes of websocket messages sent."})
	m.errors = prometheus.NewCounterVec(prometheus.CounterOpts{Name: "synk_errors_total",
		Help: "Error frames sent and sessions ended by the server, by code."}, []string{"code", "name"})
	m.cuts = prometheus.NewCounter(prometheus.CounterOpts{Name: "synk_slow_consumer_cuts_total",
		Help: "Clients disconnected because their send queue overflowed."})
	m.store = prometheus.NewHistogram(prometheus.HistogramOpts{Name: "synk_store_write_seconds",
		Help: "Time to store (fsync) an object write before it is acknowledged.", Buckets: prometheus.ExponentialBuckets(0.0005, 2, 14)})
	f(m.framesOut)
	f(m.bytesIn)
	f(m.bytesOut)
	f(m.errors)
	f(m.cuts)
	f(m.store)
	m.chunks = prometheus.NewCounterVec(prometheus.CounterOpts{Name: "synk_chunk_bytes_total",
		Help: "Bytes of chunks uploaded, by whether the server stored them (new) or held them already."}, []string{"new"})
	f(m.chunks)
	return m
}

// chunkBytes counts an uploaded chunk of n bytes.
func (m *metrics) chunkBytes(n int, created bool) {
	m.chunks.WithLabelValues(strconv.FormatBool(created)).Add(float64(n))
}

// got counts a websocket message of n bytes received.
func (m *metrics) got(n int) { m.bytesIn.Add(float64(n)) }

// sent counts frames sent in one message of n bytes.
func (m *metrics) sent(frames, n int) {
	m.framesOut.Add(float64(frames))
	m.bytesOut.Add(float64(n))
}

// cut counts a slow consumer disconnected.
func (m *metrics) cut() { m.cuts.Inc() }

// stored records the time a store write took.
func (m *metrics) stored(d time.Duration) { m.store.Observe(d.Seconds()) }

// received counts one frame of type t.
func (m *metrics) received(t protocol.MessageType) {
	if int(t) >= len(m.framesIn) {
		t = 0
	}
	m.framesIn[t].Inc()
}

// failed counts an error frame or a session end with code.
func (m *metrics) failed(code protocol.Code) {
	m.errors.WithLabelValues(strconv.Itoa(int(code)), code.String()).Inc()
}

func (m *metrics) handler() http.Handler {
	return promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{})
}
