package api

import (
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// Metrics are the gateway's Prometheus metrics.
type Metrics struct {
	requests  *prometheus.CounterVec
	latency   *prometheus.HistogramVec
	fabric    *prometheus.HistogramVec
	blobBytes *prometheus.CounterVec
	corrupt   prometheus.Counter
}

// NewMetrics registers the metrics with reg (nil: a private registry).
func NewMetrics(reg *prometheus.Registry) *Metrics {
	if reg == nil {
		reg = prometheus.NewRegistry()
	}
	m := &Metrics{
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "edossier_http_requests_total", Help: "HTTP requests by route, method and status.",
		}, []string{"route", "method", "status"}),
		latency: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "edossier_http_request_duration_seconds", Help: "HTTP request latency by route, method and status.",
			Buckets: prometheus.ExponentialBuckets(0.001, 2, 16),
		}, []string{"route", "method", "status"}),
		fabric: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "edossier_fabric_call_duration_seconds", Help: "Fabric call latency by phase (evaluate, endorse, submit, commit), transaction and outcome.",
			Buckets: prometheus.ExponentialBuckets(0.0005, 2, 16),
		}, []string{"phase", "transaction", "outcome"}),
		blobBytes: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "edossier_blob_bytes_total", Help: "Bytes written to and read from the blob store.",
		}, []string{"direction"}),
		corrupt: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "edossier_blob_corrupt_total", Help: "Reads of stored files that failed authentication or did not match their CID (answered blob_corrupt or aborted).",
		}),
	}
	reg.MustRegister(m.requests, m.latency, m.fabric, m.blobBytes, m.corrupt)
	return m
}

// knownMethods are the HTTP methods that get their own series; any other is "other",
// so that random methods cannot grow /metrics (routes are bounded the same way: the
// route template, or "unmatched").
var knownMethods = map[string]bool{
	"GET": true, "HEAD": true, "POST": true, "PUT": true, "PATCH": true, "DELETE": true, "OPTIONS": true,
}

func (m *Metrics) request(route, method string, status int, d time.Duration) {
	if !knownMethods[method] {
		method = "other"
	}
	if status < 100 || status > 599 {
		status = 0
	}
	s := strconv.Itoa(status)
	m.requests.WithLabelValues(route, method, s).Inc()
	m.latency.WithLabelValues(route, method, s).Observe(d.Seconds())
}

// ObserveFabric records one Fabric call phase (wire it to fabric.Config.Observe).
func (m *Metrics) ObserveFabric(phase, transaction string, d time.Duration, err error) {
	outcome := "ok"
	if err != nil {
		outcome = "error"
	}
	m.fabric.WithLabelValues(phase, transaction, outcome).Observe(d.Seconds())
}

// BlobBytes counts blob store traffic ("in" or "out").
func (m *Metrics) BlobBytes(direction string, n int64) {
	m.blobBytes.WithLabelValues(direction).Add(float64(n))
}

// BlobCorrupt counts one read of a damaged stored file.
func (m *Metrics) BlobCorrupt() { m.corrupt.Inc() }
