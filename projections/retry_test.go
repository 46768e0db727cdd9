package projections

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"sync"
	"testing"
	"time"

	"github.com/foldboard/foldboard/es"
)

// flakyModel fails on one stream's events while broken, and counts every
// event it applied, by stream and version.
type flakyModel struct {
	mu      sync.Mutex
	broken  bool
	stream  es.StreamRef
	applied map[es.StreamRef]map[int64]int
}

func (m *flakyModel) Owns(string) bool                    { return false }
func (m *flakyModel) Load(string, json.RawMessage) error  { return nil }
func (m *flakyModel) Doc(string) (json.RawMessage, error) { return nil, nil }
func (m *flakyModel) times(ref es.StreamRef, v int64) int {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.applied[ref][v]
}
func (m *flakyModel) setBroken(b bool) { m.mu.Lock(); m.broken = b; m.mu.Unlock() }
func (m *flakyModel) Apply(env es.Envelope, _ *Changes) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.broken && env.Stream == m.stream && env.Version >= 2 {
		return errors.New("the read model's bug")
	}
	if m.applied[env.Stream] == nil {
		m.applied[env.Stream] = map[int64]int{}
	}
	m.applied[env.Stream][env.Version]++
	return nil
}

// logReader reads a stream from a log, as the store would.
type logReader []es.Envelope

func (l logReader) ReadStream(_ context.Context, ref es.StreamRef, o es.ReadOptions) ([]es.Envelope, error) {
	var out []es.Envelope
	for _, env := range l {
		if env.Stream == ref && env.Version >= o.From && (o.Limit == 0 || len(out) < o.Limit) {
			out = append(out, env)
		}
	}
	return out, nil
}

// A stream parked by a read model that failed on it is, once the model is
// fixed and the stream retried, applied from where it stopped, each event
// once: the retry applies what the feed passed over, and the feed bringing
// the same events again drops them by version.
func TestARetriedParkedStreamIsAppliedOnce(t *testing.T) {
	log := cartsLog(t, 3)
	// The longest of the carts fails from its second event.
	var bad es.StreamRef
	var badLen int64
	for _, env := range log {
		if env.Version > badLen {
			bad, badLen = env.Stream, env.Version
		}
	}
	if badLen < 3 {
		t.Fatalf("%s has %d events; want 3 or more", bad, badLen)
	}
	other := es.StreamRef{Type: "cart", ID: "c-0"}
	if bad == other {
		other.ID = "c-2"
	}
	flaky := &flakyModel{broken: true, stream: bad, applied: map[es.StreamRef]map[int64]int{}}
	// Batch 1: the log; batch 2: the whole log again (a redelivery after the retry).
	feed := &gatedFeed{batches: [][]es.Envelope{log, log}, gate: make(chan struct{})}
	p := NewProjector(Config{Name: "r", Feed: feed, Store: &memoryReadModels{}, Models: append(cartModels(), flaky),
		Log: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err := p.Load(t.Context()); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan struct{})
	go func() { defer close(done); _ = p.Run(ctx) }()
	defer func() { cancel(); <-done }()
	waitCheckpoint(t, p, "1")
	info, _, _ := p.Catalogue().Stream(t.Context(), bad)
	if info.Parked == "" || info.ParkedVersion != 2 || info.Version != 1 {
		t.Fatalf("after the failing apply: %+v; want parked at 2, applied 1", info)
	}
	if _, err := p.Retry(t.Context(), logReader(log), other); !errors.Is(err, ErrNotParked) {
		t.Errorf("retrying a stream that is not parked: %v; want ErrNotParked", err)
	}
	// Retried while still broken: parked again, at the same event.
	res, err := p.Retry(t.Context(), logReader(log), bad)
	if err != nil || res.Applied != 0 || res.Parked == "" {
		t.Errorf("retry while broken: %+v, %v; want nothing applied and parked again", res, err)
	}
	flaky.setBroken(false)
	res, err = p.Retry(t.Context(), logReader(log), bad)
	if err != nil || res.Applied != badLen-1 || res.Version != badLen || res.Parked != "" {
		t.Fatalf("retry once fixed: %+v, %v; want %d applied, at version %d, not parked", res, err, badLen-1, badLen)
	}
	if info, _, _ := p.Catalogue().Stream(t.Context(), bad); info.Parked != "" || info.Version != badLen || len(p.Catalogue().Parked()) != 0 {
		t.Errorf("after the retry: %+v; want at %d, not parked", info, badLen)
	}
	close(feed.gate)
	waitCheckpoint(t, p, "2")
	for _, env := range log {
		if n := flaky.times(env.Stream, env.Version); n != 1 {
			t.Errorf("%s v%d applied %d times; want once", env.Stream, env.Version, n)
		}
	}
	if st := p.Status(); st.Dropped != int64(len(log)) {
		t.Errorf("the redelivered log: %d dropped; want all %d", st.Dropped, len(log))
	}
	if _, err := p.Retry(t.Context(), logReader(log), bad); !errors.Is(err, ErrNotParked) {
		t.Errorf("a second retry: %v; want ErrNotParked", err)
	}
}

// gatedFeed brings its first batch, then the others once gate is closed.
type gatedFeed struct {
	batches [][]es.Envelope
	gate    chan struct{}
}

func (f *gatedFeed) Follow(ctx context.Context, from string, apply func(context.Context, es.Batch) error) error {
	for i, b := range f.batches {
		if from != "" && i < int(from[0]-'0') {
			continue
		}
		if i == 1 {
			select {
			case <-f.gate:
			case <-ctx.Done():
				return nil
			}
		}
		if err := apply(ctx, es.Batch{Events: b, Checkpoint: string(rune('1' + i))}); err != nil {
			return err
		}
	}
	<-ctx.Done()
	return nil
}

func waitCheckpoint(t *testing.T, p *Projector, want string) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for p.Status().Checkpoint != want {
		if time.Now().After(deadline) {
			t.Fatalf("the projector did not reach checkpoint %s: %+v", want, p.Status())
		}
		time.Sleep(5 * time.Millisecond)
	}
}
