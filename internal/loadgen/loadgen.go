// Package loadgen drives a running foldboard through its public HTTP interface
// (docs/contract.md), as `foldboard load` does: concurrent clients sending JSON
// commands of a chosen mix of the modules' kinds of work (handlers.Module's
// Load: cricket matches and their innings, cart adds and checkouts, blog
// posts created, published and retitled, …) over many streams or
// one hot stream per kind, for a duration or a count, and reporting
// throughput, latency quantiles and the count of each status code.
//
// It only ever talks to the loopback address it is given: every connection is
// dialled to that address, whatever a request names, and redirects are not
// followed.
package loadgen

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	mrand "math/rand/v2"
	"net"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/foldboard/foldboard/handlers"
)

// Bounds on what one run may ask for.
const (
	MaxClients     = 1024
	MaxCount       = 100_000_000
	MaxDuration    = 24 * time.Hour
	MaxRetries     = 1000
	DefaultAddr    = "127.0.0.1:8080"
	defaultTimeout = 10 * time.Second
)

// works are the kinds of work of every module (handlers.Module.Load).
var works = func() []handlers.LoadWork {
	var out []handlers.LoadWork
	for _, m := range handlers.Modules() {
		out = append(out, m.Load...)
	}
	return out
}()

// Kind is a kind of work in the mix: an index into the modules' works.
type Kind int

func (k Kind) String() string { return works[k].Name }

// KindNames are the names of the kinds of work, as -mix names them.
func KindNames() []string {
	names := make([]string, len(works))
	for i, w := range works {
		names[i] = w.Name
	}
	return names
}

// Mix weighs the kinds of work: each command is of kind k with probability
// Weights[k] / sum.
type Mix struct{ Weights []int }

// ParseMix reads "innings=1,cart=2,post=1"; kinds left out weigh 0.
func ParseMix(s string) (Mix, error) {
	m := Mix{Weights: make([]int, len(works))}
	names := KindNames()
	total := 0
	for part := range strings.SplitSeq(s, ",") {
		name, w, ok := strings.Cut(strings.TrimSpace(part), "=")
		k := slices.Index(names, name)
		n, err := strconv.Atoi(w)
		if !ok || k < 0 || err != nil || n < 0 || n > 1000 {
			return m, fmt.Errorf("mix %q: want kind=weight,… with kinds %s and weights 0-1000", s, strings.Join(names, ", "))
		}
		m.Weights[k] = n
		total += n
	}
	if total == 0 {
		return m, fmt.Errorf("mix %q: no kind has any weight", s)
	}
	return m, nil
}

func (m Mix) String() string {
	var parts []string
	for k, w := range m.Weights {
		if w > 0 {
			parts = append(parts, fmt.Sprintf("%s=%d", Kind(k), w))
		}
	}
	return strings.Join(parts, ",")
}

func (m Mix) pick(r *mrand.Rand) Kind {
	total := 0
	for _, w := range m.Weights {
		total += w
	}
	n := r.IntN(total)
	for k, w := range m.Weights {
		if n < w {
			return Kind(k)
		}
		n -= w
	}
	return 0
}

// Config is one load run.
type Config struct {
	// Addr is the foldboard to drive: host:port (or http://host:port) on a
	// loopback address.
	Addr    string
	Clients int
	// Duration ends the run; with Count set it is only a cap.
	Duration time.Duration
	// Count is how many commands to send in all (0: as many as Duration allows).
	Count int64
	// Rate paces the commands, in all clients together, at so many a second
	// (0: each client sends its next command as soon as it has an answer).
	Rate float64
	Mix  Mix
	// Hot puts every client on the same stream of each kind, with expected
	// versions taken from the answers and retries on VersionConflict;
	// otherwise each client has streams of its own.
	Hot bool
	// CommandIDs sends a fresh commandId with every command, as the pages' forms do.
	CommandIDs bool
	// Retries bounds the resends of one command after a VersionConflict
	// (default 50).
	Retries int
	// Timeout bounds each request (default 10 s).
	Timeout time.Duration
	// RunID prefixes every stream id, so runs never share streams (random by
	// default).
	RunID string
	// Progress, when set, gets a line every second.
	Progress io.Writer
	// Tokens are the bearer tokens the clients act with, shared in turn;
	// when empty, Run signs up people of its own and makes theirs.
	Tokens []string
}

// Report is what a run measured.
type Report struct {
	Config   Config
	Elapsed  time.Duration
	Requests int64 // HTTP requests answered, retries included
	Commands int64 // commands sent (a retried command counts once)
	Accepted int64 // commands answered 2xx
	Retries  int64 // resends after a VersionConflict
	Errors   int64 // requests that got no answer (connection refused, timeout)
	// Status counts the answers by status code.
	Status map[int]int64
	// Latency is the time of each answered request, body read.
	Latency Histogram
	// ByKind counts the accepted commands of each kind.
	ByKind []int64
	// FirstError is the first request error seen, for the report.
	FirstError string
}

// Run drives the target until the count is sent or the duration passes (or ctx
// ends), and reports.
func Run(ctx context.Context, cfg Config) (*Report, error) {
	base, dial, err := target(cfg.Addr)
	if err != nil {
		return nil, err
	}
	if err := cfg.check(); err != nil {
		return nil, err
	}
	if cfg.RunID == "" {
		var b [4]byte
		_, _ = rand.Read(b[:])
		cfg.RunID = "L" + hex.EncodeToString(b[:])
	}
	people := min(cfg.Clients, maxPeople)
	if cfg.Hot {
		people = 1 // one stream of each kind, one owner of them all
	}
	tokens := cfg.Tokens
	if len(tokens) == 0 {
		if tokens, err = signUpPeople(ctx, base, dial, cfg.RunID, people); err != nil {
			return nil, err
		}
	}
	// stop ends the sending of new commands; requests in flight finish.
	stop, cancel := context.WithTimeout(ctx, cfg.Duration)
	defer cancel()
	start := time.Now()
	r := &run{cfg: cfg, base: base, stop: stop, ctx: ctx, start: start}
	progressDone := make(chan struct{})
	var progressWG sync.WaitGroup
	if cfg.Progress != nil {
		progressWG.Go(func() { r.progress(start, progressDone) })
	}
	clients := make([]*worker, cfg.Clients)
	var wg sync.WaitGroup
	for i := range clients {
		w := &worker{
			run: r, id: i, rng: mrand.New(mrand.NewPCG(uint64(time.Now().UnixNano()), uint64(i))), conn: conn{dial: dial},
			streams: make([]stream, len(works)), accepted: make([]int64, len(works)), token: tokens[i%len(tokens)],
		}
		clients[i] = w
		wg.Go(w.loop)
	}
	wg.Wait()
	elapsed := time.Since(start)
	close(progressDone)
	progressWG.Wait()

	rep := &Report{Config: cfg, Elapsed: elapsed, Status: map[int]int64{}, ByKind: make([]int64, len(works))}
	for _, w := range clients {
		rep.Latency.Merge(&w.latency)
		for code, n := range w.status {
			rep.Status[code] += n
		}
		for k, n := range w.accepted {
			rep.ByKind[k] += n
			rep.Accepted += n
		}
		rep.Commands += w.commands
		rep.Retries += w.retries
		rep.Errors += w.errors
		if rep.FirstError == "" {
			rep.FirstError = w.firstError
		}
	}
	rep.Requests = rep.Latency.Count()
	return rep, nil
}

func (c *Config) check() error {
	switch {
	case c.Clients < 1 || c.Clients > MaxClients:
		return fmt.Errorf("clients %d: want 1-%d", c.Clients, MaxClients)
	case c.Count < 0 || c.Count > MaxCount:
		return fmt.Errorf("count %d: want 0-%d", c.Count, MaxCount)
	case c.Duration <= 0 || c.Duration > MaxDuration:
		return fmt.Errorf("duration %v: want more than 0 and at most %v", c.Duration, MaxDuration)
	case c.Rate < 0 || c.Rate > 1e6:
		return fmt.Errorf("rate %v: want 0 (unpaced) to 1,000,000 a second", c.Rate)
	case c.Retries < 0 || c.Retries > MaxRetries:
		return fmt.Errorf("retries %d: want 0-%d", c.Retries, MaxRetries)
	}
	if c.Retries == 0 {
		c.Retries = 50
	}
	if c.Timeout <= 0 {
		c.Timeout = defaultTimeout
	}
	total := 0
	for _, w := range c.Mix.Weights {
		total += w
	}
	if len(c.Mix.Weights) > len(works) {
		return fmt.Errorf("the mix weighs %d kinds of work, and there are %d", len(c.Mix.Weights), len(works))
	}
	if total == 0 {
		return errors.New("the mix has no kind with any weight")
	}
	return nil
}

// target checks that addr is a loopback address and returns the base URL
// and a dialler that only ever dials it.
func target(addr string) (string, func(ctx context.Context, network, _ string) (net.Conn, error), error) {
	hostport := strings.TrimSuffix(strings.TrimPrefix(addr, "http://"), "/")
	host, port, err := net.SplitHostPort(hostport)
	if err != nil || port == "" || strings.ContainsAny(hostport, "/?#@") {
		return "", nil, fmt.Errorf("address %q: want host:port", addr)
	}
	if p, err := strconv.Atoi(port); err != nil || p < 1 || p > 65535 {
		return "", nil, fmt.Errorf("address %q: bad port", addr)
	}
	var ip net.IP
	if strings.EqualFold(host, "localhost") {
		ip = net.IPv4(127, 0, 0, 1)
	} else if ip = net.ParseIP(host); ip == nil {
		return "", nil, fmt.Errorf("address %q: want a loopback IP address (127.0.0.0/8, ::1) or localhost", addr)
	}
	if !ip.IsLoopback() {
		return "", nil, fmt.Errorf("address %q is not a loopback address: foldboard load only drives a foldboard on this machine", addr)
	}
	fixed := net.JoinHostPort(ip.String(), port)
	var d net.Dialer
	dial := func(ctx context.Context, network, _ string) (net.Conn, error) {
		return d.DialContext(ctx, "tcp", fixed)
	}
	return "http://" + fixed, dial, nil
}

type run struct {
	cfg   Config
	base  string
	stop  context.Context // done: send no more commands
	ctx   context.Context // done: abandon requests in flight
	start time.Time

	claimed  atomic.Int64 // commands claimed by the workers
	answered atomic.Int64 // requests answered
	ok       atomic.Int64 // 2xx answers
	conflict atomic.Int64 // 409 answers
	failed   atomic.Int64 // requests without an answer
}

func (r *run) progress(start time.Time, done <-chan struct{}) {
	tick := time.NewTicker(time.Second)
	defer tick.Stop()
	last, lastAt := int64(0), start
	for {
		select {
		case <-done:
			return
		case now := <-tick.C:
			n := r.answered.Load()
			rate := float64(n-last) / now.Sub(lastAt).Seconds()
			last, lastAt = n, now
			fmt.Fprintf(r.cfg.Progress, "%5.0fs  %9d requests  %8.0f/s  2xx %d  409 %d  no answer %d\n",
				now.Sub(start).Seconds(), n, rate, r.ok.Load(), r.conflict.Load(), r.failed.Load())
		}
	}
}

// stream is a client's place in the life of its current stream of one kind.
type stream struct {
	n       int   // which stream of the kind
	version int64 // its version as last answered
}

type worker struct {
	*run
	id  int
	rng *mrand.Rand
	// token is the bearer token of the person the client acts as.
	token string

	streams  []stream
	latency  Histogram
	status   map[int]int64
	accepted []int64
	commands int64
	retries  int64
	errors   int64

	firstError string
	body       []byte
	conn       conn
}

func (w *worker) loop() {
	defer w.conn.close()
	w.status = map[int]int64{}
	for {
		if w.stop.Err() != nil {
			return
		}
		n := w.claimed.Add(1)
		if w.cfg.Count > 0 && n > w.cfg.Count {
			return
		}
		if w.cfg.Rate > 0 && !w.pace(n) {
			return
		}
		w.commands++
		w.command(w.cfg.Mix.pick(w.rng))
	}
}

// pace waits for the n-th command's turn: n/Rate seconds after the start. It
// reports false when the run ends first.
func (w *worker) pace(n int64) bool {
	due := w.start.Add(time.Duration(float64(n-1) / w.cfg.Rate * float64(time.Second)))
	wait := time.Until(due)
	if wait <= 0 {
		return true
	}
	t := time.NewTimer(wait)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-w.stop.Done():
		return false
	}
}

// answer is what a worker reads of an answer.
type answer struct {
	Version int64 `json:"version"`
	Error   *struct {
		Code           string `json:"code"`
		CurrentVersion *int64 `json:"currentVersion"`
	} `json:"error"`
}

// command sends the next command of the worker's current stream of kind k,
// resending it (bounded) after a VersionConflict on a hot stream.
func (w *worker) command(k Kind) {
	s := &w.streams[k]
	commandID := ""
	if w.cfg.CommandIDs {
		commandID = fmt.Sprintf("%s-%d-%d", w.cfg.RunID, w.id, w.commands)
	}
	for attempt := 0; ; attempt++ {
		if end := works[k].Life; s.version >= end {
			s.n, s.version = s.n+1, 0
		}
		path, body := w.next(k, s, commandID)
		code, ans, ok := w.post(path, body)
		switch {
		case !ok:
			return
		case code/100 == 2:
			s.version = ans.Version
			w.accepted[k]++
			return
		case code == http.StatusConflict && ans.Error != nil && ans.Error.Code == "VersionConflict" && ans.Error.CurrentVersion != nil:
			s.version = *ans.Error.CurrentVersion
			if attempt >= w.cfg.Retries || w.ctx.Err() != nil {
				return
			}
			w.retries++
		default:
			// The stream is not where this client thought (or the route is
			// missing): go on with a fresh one.
			s.n, s.version = s.n+1, 0
			return
		}
	}
}

// streamID names the worker's current stream of a kind: its own, or on a hot
// run everyone's.
func (w *worker) streamID(s *stream) string { return StreamID(w.cfg.RunID, w.id, s.n, w.cfg.Hot) }

// StreamID is the id a run gives the n-th stream of each kind (counting from
// 0) of one client, or on a hot run of every client.
func StreamID(runID string, client, n int, hot bool) string {
	if hot {
		return fmt.Sprintf("%s-hot-%d", runID, n)
	}
	return fmt.Sprintf("%s-c%d-%d", runID, client, n)
}

// next builds the command that follows version s.version in the life of a
// stream of kind k: its path and JSON body.
func (w *worker) next(k Kind, s *stream, commandID string) (string, []byte) {
	id, v := w.streamID(s), s.version
	b := w.body[:0]
	b = append(b, '{')
	path, b := works[k].Next(id, v, s.n, w.id, w.rng, b)
	return w.finish(path, b, v, commandID)
}

// finish adds the fields every command takes and closes the object.
func (w *worker) finish(path string, b []byte, v int64, commandID string) (string, []byte) {
	sep := func() {
		if len(b) > 1 {
			b = append(b, ',')
		}
	}
	if w.cfg.Hot {
		sep()
		b = append(b, `"expectedVersion":`...)
		b = strconv.AppendInt(b, v, 10)
	}
	if commandID != "" {
		sep()
		b = append(b, `"commandId":"`...)
		b = append(b, commandID...)
		b = append(b, '"')
	}
	b = append(b, '}')
	w.body = b
	return path, b
}

// post sends one command and reads its answer; ok is false when no answer
// came.
func (w *worker) post(path string, body []byte) (code int, ans answer, ok bool) {
	ctx, cancel := context.WithTimeout(w.ctx, w.cfg.Timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, w.base+path, strings.NewReader(string(body)))
	if err != nil {
		w.fail(err)
		return 0, ans, false
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/json")
	req.Header.Set("Authorization", "Bearer "+w.token)
	start := time.Now()
	res, data, err := w.conn.do(ctx, req)
	if err != nil {
		w.fail(err)
		return 0, ans, false
	}
	w.latency.Record(time.Since(start))
	w.status[res.StatusCode]++
	w.answered.Add(1)
	switch {
	case res.StatusCode/100 == 2:
		w.ok.Add(1)
	case res.StatusCode == http.StatusConflict:
		w.conflict.Add(1)
	}
	if strings.HasPrefix(res.Header.Get("Content-Type"), "application/json") {
		_ = json.Unmarshal(data, &ans)
	}
	return res.StatusCode, ans, true
}

func (w *worker) fail(err error) {
	w.errors++
	w.failed.Add(1)
	if w.firstError == "" {
		w.firstError = err.Error()
	}
}

// Print writes the report for people.
func (r *Report) Print(out io.Writer) {
	c := r.Config
	streams := "many streams"
	if c.Hot {
		streams = "one hot stream per kind"
	}
	pace := ""
	if c.Rate > 0 {
		pace = fmt.Sprintf(", paced at %.0f/s", c.Rate)
	}
	fmt.Fprintf(out, "foldboard load: %d clients, %s, mix %s%s, %s\n", c.Clients, streams, c.Mix, pace, r.Elapsed.Round(time.Millisecond))
	secs := r.Elapsed.Seconds()
	fmt.Fprintf(out, "commands   %d sent, %d accepted: %.1f accepted/s\n", r.Commands, r.Accepted, float64(r.Accepted)/secs)
	fmt.Fprintf(out, "requests   %d answered: %.1f/s (%d resent after a version conflict)\n", r.Requests, float64(r.Requests)/secs, r.Retries)
	h := &r.Latency
	fmt.Fprintf(out, "latency    p50 %v  p95 %v  p99 %v  max %v  (mean %v)\n",
		h.Quantile(0.50), h.Quantile(0.95), h.Quantile(0.99), h.Max(), h.Mean().Round(time.Microsecond))
	codes := make([]int, 0, len(r.Status))
	for code := range r.Status {
		codes = append(codes, code)
	}
	slices.Sort(codes)
	var parts []string
	for _, code := range codes {
		parts = append(parts, fmt.Sprintf("%d: %d", code, r.Status[code]))
	}
	fmt.Fprintf(out, "status     %s\n", strings.Join(parts, "  "))
	var kinds []string
	for k, n := range r.ByKind {
		if c.Mix.Weights[k] > 0 {
			kinds = append(kinds, fmt.Sprintf("%s %d", Kind(k), n))
		}
	}
	fmt.Fprintf(out, "accepted   %s\n", strings.Join(kinds, "  "))
	if r.Errors > 0 {
		fmt.Fprintf(out, "no answer  %d (first: %s)\n", r.Errors, r.FirstError)
	}
}
