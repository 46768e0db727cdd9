package web

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/foldboard/foldboard/es"
	"github.com/foldboard/foldboard/es/relay"
	"github.com/foldboard/foldboard/handlers"
	"github.com/foldboard/foldboard/projections"
	"github.com/foldboard/foldboard/views"
)

// retrySetting records a cluster's retry of a parked stream: asked for on
// any instance with a conditional write (one at a time), carried out by
// the lease holder on the read models it saves, its outcome written back;
// every instance's board shows it, and every other instance loads the
// saved read models again once it is done (Reloads), so that the stream
// is unparked everywhere at the state the holder saved.
const retrySetting = "retry"

// retryRecord is the value of retrySetting.
type retryRecord struct {
	ID          string `json:"id"`
	Stream      string `json:"stream"`
	State       string `json:"state"` // rebuildRequested, rebuildRunning, rebuildDone, rebuildFailed
	RequestedBy string `json:"requestedBy,omitempty"`
	RunBy       string `json:"runBy,omitempty"`
	Epoch       int64  `json:"epoch,omitempty"`
	// Result is what the holder's retry did; Code and Error why it failed.
	Result *projections.RetryResult `json:"result,omitempty"`
	Code   string                   `json:"code,omitempty"`
	Error  string                   `json:"error,omitempty"`
	// Reloads counts the retries the holder saved (rebuildRecord.Reloads).
	Reloads int64     `json:"reloads,omitempty"`
	At      time.Time `json:"at"`
}

func (r retryRecord) active() bool { return r.State == rebuildRequested || r.State == rebuildRunning }

// errRetryRunning refuses a retry while another is under way in the cluster.
var errRetryRunning = es.Errorf(es.Refused, "RetryRunning", "a retry of a parked stream is already under way in the cluster")

// retryWait is how long a request waits for the holder's outcome before
// it is answered 202 (the board shows the outcome when it comes).
const retryWait = 10 * time.Second

// clusterRetry is an instance's part in its cluster's retries.
type clusterRetry struct {
	m *member

	mu  sync.Mutex
	raw json.RawMessage
	rec retryRecord
	// busy: this instance (the holder) carries one out now.
	busy bool
}

func (c *clusterRetry) load(ctx context.Context) (retryRecord, json.RawMessage, error) {
	raw, ok, err := c.m.s.deps.Settings.Setting(ctx, retrySetting)
	if err != nil || !ok {
		return retryRecord{}, nil, err
	}
	var rec retryRecord
	if err := json.Unmarshal(raw, &rec); err != nil {
		c.m.s.log.Warn("an unreadable retry record, taken as none", "err", err)
		return retryRecord{}, raw, nil
	}
	return rec, raw, nil
}

func (c *clusterRetry) write(ctx context.Context, old json.RawMessage, rec retryRecord) error {
	rec.At = time.Now().UTC()
	raw, err := json.Marshal(rec)
	if err != nil {
		return err
	}
	if err := c.m.s.deps.Settings.SwapSetting(ctx, retrySetting, old, raw); err != nil {
		return err
	}
	c.seen(raw, rec)
	return nil
}

func (c *clusterRetry) seen(raw json.RawMessage, rec retryRecord) {
	c.mu.Lock()
	same := string(raw) == string(c.raw)
	c.raw, c.rec = raw, rec
	c.mu.Unlock()
	if !same && raw != nil {
		c.m.s.rebuild.changed() // the boards show it
	}
}

// last is the record as last read or written.
func (c *clusterRetry) last() retryRecord {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.rec
}

// retry asks the holder to retry ref and waits (at most retryWait) for
// its outcome: the result, ErrNotParked, handlers.ErrRetryPending when it
// has not come yet, errRetryRunning while another is under way.
func (c *clusterRetry) retry(ctx context.Context, ref es.StreamRef) (projections.RetryResult, error) {
	if info, ok, err := c.m.s.Projector().Catalogue().Stream(ctx, ref); err != nil {
		return projections.RetryResult{}, err
	} else if !ok || info.Parked == "" {
		return projections.RetryResult{}, projections.ErrNotParked
	}
	rctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	rec, raw, err := c.load(rctx)
	if err == nil && rec.active() {
		err = errRetryRunning
	}
	var next retryRecord
	if err == nil {
		next = retryRecord{ID: es.NewULID(time.Now()), Stream: ref.String(), State: rebuildRequested, RequestedBy: c.m.c.ID, Reloads: rec.Reloads}
		if err = c.write(rctx, raw, next); errors.Is(err, es.ErrSettingChanged) {
			err = errRetryRunning
		}
	}
	cancel()
	if err != nil {
		return projections.RetryResult{}, err
	}
	c.m.s.log.Info("retry of a parked stream requested for the cluster", "instance", c.m.c.ID, "stream", ref.String())
	c.m.rebuild.look()
	wait, cancel := context.WithTimeout(ctx, retryWait)
	defer cancel()
	t := time.NewTicker(200 * time.Millisecond)
	defer t.Stop()
	for {
		select {
		case <-wait.Done():
			return projections.RetryResult{}, handlers.ErrRetryPending
		case <-t.C:
		}
		rec, raw, err := c.load(wait)
		if err != nil || rec.ID != next.ID {
			continue
		}
		c.seen(raw, rec)
		switch rec.State {
		case rebuildDone:
			if rec.Result == nil {
				return projections.RetryResult{}, nil
			}
			return *rec.Result, nil
		case rebuildFailed:
			if rec.Code == "NotParked" {
				return projections.RetryResult{}, projections.ErrNotParked
			}
			return projections.RetryResult{}, fmt.Errorf("the cluster's projector %s could not retry %s: %s", rec.RunBy, rec.Stream, rec.Error)
		}
	}
}

// poll reads the record (each second, with the rebuild's) and, on the
// holder, carries out a retry asked for or left by a holder that is gone.
// It returns the record read.
func (c *clusterRetry) poll(ctx context.Context) retryRecord {
	rec, raw, err := c.load(ctx)
	if err != nil {
		return c.last()
	}
	c.seen(raw, rec)
	m := c.m
	epoch := m.c.Lease.Epoch()
	c.mu.Lock()
	busy := c.busy
	c.mu.Unlock()
	if busy || !rec.active() || m.Role() != relay.RoleProjector || epoch == 0 {
		return rec
	}
	p := m.leading.Load()
	if p == nil || p != m.s.Projector() {
		return rec // not serving its own read models yet
	}
	again := rec.State == rebuildRunning // left by a holder gone, or by this one
	rec.State, rec.RunBy, rec.Epoch = rebuildRunning, m.c.ID, epoch
	if err := c.write(ctx, raw, rec); err != nil {
		return c.last()
	}
	if m.s.deps.AfterClaim != nil {
		m.s.deps.AfterClaim()
	}
	c.mu.Lock()
	c.busy = true
	c.mu.Unlock()
	runCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), time.Minute)
	m.s.projectors.background(func() {
		defer func() {
			cancel()
			c.mu.Lock()
			c.busy = false
			c.mu.Unlock()
		}()
		c.run(runCtx, p, rec, again)
	})
	return rec
}

// run retries rec's stream on p, the holder's read models, saves and
// writes the outcome.
func (c *clusterRetry) run(ctx context.Context, p *projections.Projector, rec retryRecord, again bool) {
	m := c.m
	ref, err := es.ParseStreamRef(rec.Stream)
	var res projections.RetryResult
	if err == nil {
		res, err = p.Retry(ctx, m.s.deps.Store, ref)
	}
	ran := err == nil || !errors.Is(err, projections.ErrNotParked)
	if errors.Is(err, projections.ErrNotParked) && again {
		// A holder before this one retried it and saved that, then went
		// before it wrote the outcome: done, as far as it got.
		var info projections.StreamInfo
		if info, _, err = p.Catalogue().Stream(ctx, ref); err == nil {
			res, ran = projections.RetryResult{Version: info.Version}, false
		}
	}
	if ran {
		fctx, cancel := context.WithTimeout(ctx, 10*time.Second)
		if ferr := p.Flush(fctx); ferr != nil && err == nil {
			err = fmt.Errorf("saving the retried stream: %w", ferr)
		}
		cancel()
	}
	if err != nil && m.c.Lease.Epoch() != rec.Epoch {
		m.s.log.Info("retry left to the next holder", "instance", m.c.ID, "stream", rec.Stream, "err", err)
		return
	}
	out := rec
	out.Result = &res
	out.State = rebuildDone
	if err != nil {
		out.State, out.Error = rebuildFailed, err.Error()
		if errors.Is(err, projections.ErrNotParked) {
			out.Code = "NotParked"
		}
	}
	if ran {
		out.Reloads++ // the others load what this one saved
	}
	wctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
	defer cancel()
	raw := c.rawOf(rec)
	for range 5 {
		err := c.write(wctx, raw, out)
		if err == nil {
			if ran {
				m.loadedGen.Add(1) // this one holds it already
			}
			m.s.log.Info("parked stream retried for the cluster", "instance", m.c.ID, "stream", rec.Stream,
				"state", out.State, "applied", res.Applied, "version", res.Version, "parked", res.Parked)
			return
		}
		if !errors.Is(err, es.ErrSettingChanged) {
			m.s.log.Warn("writing the cluster's retry", "stream", rec.Stream, "err", err)
			return
		}
		now, nowRaw, err := c.load(wctx)
		if err != nil || now.ID != rec.ID || now.RunBy != m.c.ID || !now.active() {
			return
		}
		raw = nowRaw
		out.Reloads = now.Reloads
		if ran {
			out.Reloads++
		}
	}
}

// rawOf is the record's value as this instance wrote it last (rec is the
// one it wrote when it took the retry).
func (c *clusterRetry) rawOf(rec retryRecord) json.RawMessage {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.rec.ID == rec.ID {
		return c.raw
	}
	return nil
}

// status is the last retry as the board shows it; nil for none.
func (c *clusterRetry) status() *views.RetryStatus {
	rec := c.last()
	if rec.ID == "" {
		return nil
	}
	st := &views.RetryStatus{Stream: rec.Stream, State: rec.State, RequestedBy: rec.RequestedBy, RunBy: rec.RunBy, Error: rec.Error, At: rec.At}
	if r := rec.Result; r != nil {
		st.Applied, st.Version, st.Parked = r.Applied, r.Version, r.Parked
	}
	return st
}

// operations is how many operations the holder saved in place, as the
// records say now (loadedGen).
func (m *member) operations(ctx context.Context) (int64, error) {
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	rb, _, err := m.rebuild.load(ctx)
	if err != nil {
		return 0, err
	}
	rt, _, err := m.retry.load(ctx)
	if err != nil {
		return 0, err
	}
	return rb.Reloads + rt.Reloads, nil
}
