package web

import (
	"context"
	"net/http"
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/foldboard/foldboard/es"
	"github.com/foldboard/foldboard/handlers"
	"github.com/foldboard/foldboard/projections"
	"github.com/foldboard/foldboard/views"
)

// metrics are the server's Prometheus metrics, in a registry of its own (so
// that two servers in one test binary do not collide), served at /metrics.
type metrics struct {
	reg            *prometheus.Registry
	commands       *prometheus.CounterVec
	commandSeconds *prometheus.HistogramVec
	appendSeconds  prometheus.Histogram
	appendErrors   prometheus.Counter
	batches        prometheus.Counter
	batchEvents    prometheus.Counter
	batchSeconds   prometheus.Histogram
	requests       *prometheus.CounterVec
	requestSeconds *prometheus.HistogramVec
}

func newMetrics(s *Server) *metrics {
	reg := prometheus.NewRegistry()
	m := &metrics{
		reg: reg,
		commands: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "foldboard_commands_total",
			Help: "Commands handled, by command and outcome (ok, repeated, or the error's code).",
		}, []string{"command", "outcome"}),
		commandSeconds: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "foldboard_command_duration_seconds",
			Help:    "Time to decode, decide and append a command, by command.",
			Buckets: prometheus.ExponentialBuckets(0.0005, 2, 14),
		}, []string{"command"}),
		appendSeconds: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "foldboard_append_duration_seconds",
			Help:    "Latency of the event store's atomic append (events, state, command record).",
			Buckets: prometheus.ExponentialBuckets(0.0002, 2, 15),
		}),
		appendErrors: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "foldboard_append_failures_total",
			Help: "Appends the store refused or failed (version conflicts included).",
		}),
		batches: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "foldboard_feed_batches_total",
			Help: "Batches of events the change feed brought to the projector.",
		}),
		batchEvents: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "foldboard_feed_events_total",
			Help: "Events the change feed brought to the projector (redeliveries included).",
		}),
		batchSeconds: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "foldboard_projector_batch_duration_seconds",
			Help:    "Time to apply and save one batch of the change feed.",
			Buckets: prometheus.ExponentialBuckets(0.0005, 2, 14),
		}),
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "foldboard_http_requests_total",
			Help: "HTTP requests, by method, route and status.",
		}, []string{"method", "route", "status"}),
		requestSeconds: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "foldboard_http_request_duration_seconds",
			Help:    "HTTP request latency, by method and route.",
			Buckets: prometheus.ExponentialBuckets(0.0005, 2, 14),
		}, []string{"method", "route"}),
	}
	lag := func() projections.Lag {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		l, err := s.live.Load().Projector.Lag(ctx, time.Now())
		if err != nil {
			l = projections.Lag{Events: -1}
		}
		if c := s.cluster(); c != nil { // against the cluster's high-water mark
			l.Behind = max(l.Behind, c.Behind)
		}
		return l
	}
	// busiest is the busiest streams' top rate and top share of a limit
	// (the catalogue ranks by share where the store has a limit).
	busiest := func() (perSecond, share float64) {
		for _, b := range s.live.Load().Projector.Catalogue().Busiest(time.Now(), 1000) {
			perSecond, share = max(perSecond, b.PerSecond), max(share, b.Share)
		}
		return perSecond, share
	}
	reg.MustRegister(
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
		m.commands, m.commandSeconds, m.appendSeconds, m.appendErrors,
		m.batches, m.batchEvents, m.batchSeconds, m.requests, m.requestSeconds,
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "foldboard_projector_lag_events",
			Help: "Events committed that the read models have not applied (-1: unknown). Counted by the store where it can (SQLite), else this instance's own appends.",
		}, func() float64 { return float64(lag().Events) }),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "foldboard_projector_lag_seconds",
			Help: "How long the oldest event the read models have not applied has waited.",
		}, func() float64 { return lag().Behind.Seconds() }),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "foldboard_projector_applied_events",
			Help: "Events in the read models in use.",
		}, func() float64 { return float64(s.live.Load().Projector.Catalogue().Stats().Events) }),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "foldboard_busiest_stream_events_per_second",
			Help: "Events a second of the busiest stream over the last " + projections.HotWindow.String() + ".",
		}, func() float64 { r, _ := busiest(); return r }),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "foldboard_busiest_stream_limit_share",
			Help: "The largest share of one stream's write limit (DynamoDB: a partition key's write units a second) taken by a stream in its busiest second of the last " + projections.HotWindow.String() + "; 0 where the store sets no such limit. The dashboard warns at " + strconv.FormatFloat(views.HotShare, 'g', -1, 64) + ".",
		}, func() float64 { _, s := busiest(); return s }),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "foldboard_live_clients",
			Help: "WebSocket clients connected for live updates.",
		}, func() float64 { return float64(s.hub.Clients()) }),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "foldboard_rebuild_running",
			Help: "1 while a rebuild of the read models runs.",
		}, func() float64 {
			if s.Rebuilding() {
				return 1
			}
			return 0
		}),
	)
	return m
}

func (m *metrics) handler() http.Handler {
	return promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{Registry: m.reg})
}

func (m *metrics) command(o handlers.CommandOutcome) {
	m.commands.WithLabelValues(o.Command, o.Outcome).Inc()
	m.commandSeconds.WithLabelValues(o.Command).Observe(o.Took.Seconds())
}

func (m *metrics) batch(b projections.BatchStats) {
	m.batches.Inc()
	m.batchEvents.Add(float64(b.Events))
	m.batchSeconds.Observe(b.Took.Seconds())
}

// request counts one request. Every label comes from a fixed set: a method
// outside the standard ones is "other", a route is one of chi's patterns,
// and a path no route serves is "unmatched" (a client must not be able to
// grow the metrics).
func (m *metrics) request(method, route string, status int, took time.Duration) {
	method = methodLabel(method)
	if route == "" {
		route = "unmatched"
	}
	m.requests.WithLabelValues(method, route, strconv.Itoa(status)).Inc()
	m.requestSeconds.WithLabelValues(method, route).Observe(took.Seconds())
}

// standardMethods are the methods of RFC 9110, the only method labels.
var standardMethods = map[string]bool{
	http.MethodGet: true, http.MethodHead: true, http.MethodPost: true, http.MethodPut: true,
	http.MethodPatch: true, http.MethodDelete: true, http.MethodConnect: true,
	http.MethodOptions: true, http.MethodTrace: true,
}

// methodLabel is method when it is a standard one, else "other".
func methodLabel(method string) string {
	if standardMethods[method] {
		return method
	}
	return "other"
}

// timedStore times the store's appends.
type timedStore struct {
	es.Store
	m *metrics
}

func (s timedStore) Append(ctx context.Context, req es.AppendRequest) (es.AppendResult, error) {
	start := time.Now()
	res, err := s.Store.Append(ctx, req)
	s.m.appendSeconds.Observe(time.Since(start).Seconds())
	if err != nil {
		s.m.appendErrors.Inc()
	}
	return res, err
}
