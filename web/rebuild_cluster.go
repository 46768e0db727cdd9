package web

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/foldboard/foldboard/es"
	"github.com/foldboard/foldboard/es/relay"
	"github.com/foldboard/foldboard/projections"
)

// rebuildSetting is the setting that records a cluster's rebuild: the one
// request that a POST /rebuild on any instance makes with a conditional
// write, the holder's progress, the admin's choice and how it ended. Every
// instance reads it for its dashboard.
const rebuildSetting = "rebuild"

// States of a cluster's rebuild, as its record holds them.
const (
	rebuildRequested = "requested" // asked for; the lease holder takes it
	rebuildRunning   = "running"   // the holder (RunBy, Epoch) replays the log
	rebuildReview    = "review"    // caught up and compared: waits for a choice
	rebuildSwap      = "swap"      // the admin chose to swap it in
	rebuildDiscard   = "discard"   // the admin chose to discard it
	rebuildDone      = "done"      // swapped in
	rebuildFailed    = "failed"
	rebuildDropped   = "discarded"
)

// rebuildRecord is the value of rebuildSetting.
type rebuildRecord struct {
	// ID names the read models being built.
	ID          string `json:"id"`
	Review      bool   `json:"review,omitempty"`
	State       string `json:"state"`
	RequestedBy string `json:"requestedBy,omitempty"`
	// RunBy and Epoch are the holder that runs it and its lease's epoch.
	RunBy     string            `json:"runBy,omitempty"`
	Epoch     int64             `json:"epoch,omitempty"`
	Applied   int64             `json:"applied,omitempty"`
	Total     int64             `json:"total,omitempty"`
	Rate      float64           `json:"rate,omitempty"`
	ElapsedMs int64             `json:"elapsedMs,omitempty"`
	Diff      *projections.Diff `json:"diff,omitempty"`
	Error     string            `json:"error,omitempty"`
	// Model is the one read model a model rebuild rebuilds alone (ID is
	// then the read models in use's name and the model's); "" for all.
	Model string `json:"model,omitempty"`
	// Reloads counts the operations whose outcome the holder saved in
	// place, under the name in use (model rebuilds): every other instance
	// loads the saved read models again when it grows (member.loadedGen).
	Reloads int64 `json:"reloads,omitempty"`
	// At is when the record was written.
	At time.Time `json:"at"`
}

// active reports whether the rebuild is still to be run or decided.
func (r rebuildRecord) active() bool {
	switch r.State {
	case rebuildRequested, rebuildRunning, rebuildReview, rebuildSwap, rebuildDiscard:
		return true
	}
	return false
}

// state is the record as the dashboard shows it.
func (r rebuildRecord) state() rebuildState {
	st := rebuildState{
		Name: r.ID, Review: r.Review, Diff: r.Diff, Running: r.active(),
		Progress: projections.Progress{
			Name: r.ID, Applied: r.Applied, Total: r.Total, Rate: r.Rate, Elapsed: time.Duration(r.ElapsedMs) * time.Millisecond,
		},
		Deciding: r.State == rebuildReview, Model: r.Model,
	}
	switch r.State {
	case rebuildDone:
		st.Finished = true
	case rebuildFailed:
		st.Err = r.Error
	case rebuildDropped:
		st.Discarded = true
	}
	return st
}

// rebuildPoll is how often every instance reads the record (for its
// dashboard, and the holder for a request); reviewPoll, how often the
// holder looks for the admin's choice while one is awaited.
const (
	rebuildPoll = time.Second
	reviewPoll  = 250 * time.Millisecond
)

// clusterRebuild is an instance's part in its cluster's rebuild. Any
// instance records a request (one at a time: a conditional write from the
// record it read, so that of two requests at once one is refused) and the
// admin's choice; the lease holder runs it (projections.Rebuild, its saves
// fenced by the lease), writes its progress to the record and, once it has
// swapped the name of the read models in use, reloads them as every
// follower does on finding the name changed. A holder that finds the
// record of a rebuild another holder (or an epoch of its own before) ran
// drops what that one saved and runs it again under a new name.
type clusterRebuild struct {
	m    *member
	kick chan struct{} // read the record now

	mu  sync.Mutex
	raw json.RawMessage // the record as last read or written; nil for none
	rec rebuildRecord
	// cancel ends the rebuild this instance runs; nil when it runs none.
	cancel context.CancelFunc
	// staleAsked: this instance asked for a rebuild of read models of an
	// older layout (once a process).
	staleAsked atomic.Bool
}

func newClusterRebuild(m *member) *clusterRebuild {
	return &clusterRebuild{m: m, kick: make(chan struct{}, 1)}
}

// load reads the record; a value it cannot read counts as no rebuild.
func (c *clusterRebuild) load(ctx context.Context) (rebuildRecord, json.RawMessage, error) {
	raw, ok, err := c.m.s.deps.Settings.Setting(ctx, rebuildSetting)
	if err != nil || !ok {
		return rebuildRecord{}, nil, err
	}
	var rec rebuildRecord
	if err := json.Unmarshal(raw, &rec); err != nil {
		c.m.s.log.Warn("an unreadable rebuild record, taken as none", "err", err)
		return rebuildRecord{}, raw, nil
	}
	return rec, raw, nil
}

// write replaces the record old (nil: none) with rec in one conditional
// write; es.ErrSettingChanged when it holds another value now.
func (c *clusterRebuild) write(ctx context.Context, old json.RawMessage, rec rebuildRecord) error {
	rec.At = time.Now().UTC()
	raw, err := json.Marshal(rec)
	if err != nil {
		return err
	}
	if err := c.m.s.deps.Settings.SwapSetting(ctx, rebuildSetting, old, raw); err != nil {
		return err
	}
	c.seen(raw, rec)
	return nil
}

// seen keeps the record as read or written and shows it.
func (c *clusterRebuild) seen(raw json.RawMessage, rec rebuildRecord) {
	c.mu.Lock()
	same := string(raw) == string(c.raw)
	c.raw, c.rec = raw, rec
	c.mu.Unlock()
	if !same && raw != nil {
		c.m.s.rebuild.set(rec.state())
	}
}

// running reports whether the record says a rebuild is to be run or decided.
func (c *clusterRebuild) running() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.rec.active()
}

// request records a rebuild for the holder to run; errRebuildRunning when
// one is recorded already, or another request was recorded first.
func (c *clusterRebuild) request(ctx context.Context, review bool) error {
	rec, raw, err := c.load(ctx)
	if err != nil {
		return fmt.Errorf("reading the cluster's rebuild: %w", err)
	}
	if rec.active() {
		return errRebuildRunning
	}
	next := rebuildRecord{ID: projections.NewName(time.Now()), Review: review, State: rebuildRequested, RequestedBy: c.m.c.ID, Reloads: rec.Reloads}
	if err := c.write(ctx, raw, next); errors.Is(err, es.ErrSettingChanged) {
		return errRebuildRunning
	} else if err != nil {
		return fmt.Errorf("recording the rebuild: %w", err)
	}
	c.m.s.log.Info("rebuild requested for the cluster", "instance", c.m.c.ID, "projector", next.ID, "review", review)
	c.look()
	return nil
}

// requestModel records a rebuild of one read model (model, into name) for
// the holder to run; errRebuildRunning as request.
func (c *clusterRebuild) requestModel(ctx context.Context, model, name string) error {
	rec, raw, err := c.load(ctx)
	if err != nil {
		return fmt.Errorf("reading the cluster's rebuild: %w", err)
	}
	if rec.active() {
		return errRebuildRunning
	}
	next := rebuildRecord{ID: name, Model: model, State: rebuildRequested, RequestedBy: c.m.c.ID, Reloads: rec.Reloads}
	if err := c.write(ctx, raw, next); errors.Is(err, es.ErrSettingChanged) {
		return errRebuildRunning
	} else if err != nil {
		return fmt.Errorf("recording the rebuild: %w", err)
	}
	c.m.s.log.Info("read model rebuild requested for the cluster", "instance", c.m.c.ID, "model", model)
	c.look()
	return nil
}

// decide records the admin's choice for the rebuild under review;
// errNoReview when none waits for one (or another choice came first).
func (c *clusterRebuild) decide(ctx context.Context, swap bool) error {
	rec, raw, err := c.load(ctx)
	if err != nil {
		return fmt.Errorf("reading the cluster's rebuild: %w", err)
	}
	if rec.State != rebuildReview {
		return errNoReview
	}
	rec.State = rebuildDiscard
	if swap {
		rec.State = rebuildSwap
	}
	if err := c.write(ctx, raw, rec); errors.Is(err, es.ErrSettingChanged) {
		return errNoReview
	} else if err != nil {
		return fmt.Errorf("recording the choice: %w", err)
	}
	return nil
}

// look makes watch read the record now.
func (c *clusterRebuild) look() {
	select {
	case c.kick <- struct{}{}:
	default:
	}
}

// watch reads the record every rebuildPoll until ctx ends: it shows it,
// reloads the read models when another name is in use, and on the holder
// runs what is to be run.
func (c *clusterRebuild) watch(ctx context.Context) {
	t := time.NewTicker(rebuildPoll)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			c.stepDown()
			return
		case <-t.C:
		case <-c.kick:
		}
		c.step(ctx)
	}
}

func (c *clusterRebuild) step(ctx context.Context) {
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	rec, raw, err := c.load(ctx)
	if err != nil {
		if ctx.Err() == nil {
			c.m.s.log.Warn("reading the cluster's rebuild", "instance", c.m.c.ID, "err", err)
		}
		return
	}
	c.seen(raw, rec)
	retry := c.m.retry.poll(ctx)
	c.mu.Lock()
	busy := c.cancel != nil
	c.mu.Unlock()
	if busy {
		return // the rebuild this instance runs reloads when it is done
	}
	if name, err := c.m.inUse(ctx); err == nil && name != c.m.loading() {
		c.m.s.log.Info("the read models in use changed: reloading", "instance", c.m.c.ID, "projector", name)
		c.m.reloadReadModels()
	} else if gen := rec.Reloads + retry.Reloads; gen > c.m.loadedGen.Load() {
		// The holder saved a retry or a model rebuild in place.
		c.m.loadedGen.Store(gen)
		c.m.s.log.Info("the holder changed the read models in use in place: reloading", "instance", c.m.c.ID, "operations", gen)
		c.m.reloadReadModels()
	}
	epoch := c.m.c.Lease.Epoch()
	if c.m.Role() == relay.RoleProjector && epoch != 0 && !rec.active() && c.m.leading.Load() == c.m.s.Projector() &&
		c.m.s.Projector().Stale() && c.staleAsked.CompareAndSwap(false, true) {
		// The read models in use are of an older layout (Server.rebuildStale):
		// the holder asks for the cluster's rebuild, once.
		c.m.s.log.Warn("the saved read models are of an older layout: rebuilding them for the cluster",
			"instance", c.m.c.ID, "projector", c.m.s.Projector().Name(), "layout", c.m.s.Projector().Catalogue().Layout())
		if err := c.request(ctx, false); err != nil {
			c.m.s.log.Error("rebuilding read models of an older layout", "instance", c.m.c.ID, "err", err)
		}
		return
	}
	if c.m.Role() != relay.RoleProjector || epoch == 0 || !rec.active() {
		return
	}
	if p := c.m.leading.Load(); p == nil || p != c.m.s.Projector() {
		// A rebuild works against the holder's own read models, once it
		// serves them: a model rebuild saves into them, and a whole one
		// catches up to them and compares with them. A new holder serves
		// its follower's read models for a while, which no longer move
		// (their relay's holder is gone): a review against those showed
		// 44 of 116 documents differing.
		return
	}
	if rec.State != rebuildRequested && rec.Model != "" {
		// A model rebuild saves in place: run again, it repairs what a
		// holder that died in its saves left.
		c.m.s.log.Info("read model rebuild: the holder that ran it is gone; starting it again", "instance", c.m.c.ID, "model", rec.Model, "by", rec.RunBy, "epoch", rec.Epoch)
	} else if rec.State != rebuildRequested {
		// Run by a holder that is gone (or by this one under an epoch it
		// lost): swapped in already, or to be run again.
		if name, err := c.m.inUse(ctx); err != nil {
			return
		} else if name == rec.ID {
			rec.State = rebuildDone
			_ = c.write(ctx, raw, rec)
			return
		}
		c.m.s.log.Info("rebuild: the holder that ran it is gone; starting it again", "instance", c.m.c.ID, "was", rec.ID, "by", rec.RunBy, "epoch", rec.Epoch)
		c.drop(rec.ID)
		rec.ID = projections.NewName(time.Now())
	}
	rec.State, rec.RunBy, rec.Epoch = rebuildRunning, c.m.c.ID, epoch
	rec.Applied, rec.Total, rec.Rate, rec.ElapsedMs, rec.Diff, rec.Error = 0, 0, 0, 0, nil, ""
	if err := c.write(ctx, raw, rec); err != nil {
		return // another choice or request came first: the next look
	}
	if rec.Model != "" && c.m.s.deps.AfterClaim != nil {
		c.m.s.deps.AfterClaim()
	}
	runCtx, stop := context.WithCancel(context.WithoutCancel(ctx))
	c.mu.Lock()
	c.cancel = stop
	c.mu.Unlock()
	c.m.s.projectors.background(func() {
		defer func() {
			c.mu.Lock()
			c.cancel = nil
			c.mu.Unlock()
			stop()
		}()
		if rec.Model != "" {
			c.runModel(runCtx, rec)
			return
		}
		c.run(runCtx, rec)
	})
}

// stepDown ends the rebuild this instance runs, if any: it lost the lease
// (the next holder runs it again), or the server stops.
func (c *clusterRebuild) stepDown() {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.cancel != nil {
		c.cancel()
	}
}

// run is the holder's rebuild into rec.ID.
func (c *clusterRebuild) run(ctx context.Context, rec rebuildRecord) {
	m := c.m
	begin := time.Now()
	old := m.s.Projector()
	setup := m.s.setup
	setup.Store = m.c.Lease.ReadModels()
	rb := projections.Rebuild{
		Setup: setup, Settings: m.s.deps.Settings, InUse: old, OnChange: m.s.publishServed,
		Start: m.s.projectors.run, Every: rebuildPoll,
		Report: func(pr projections.Progress) {
			c.update(ctx, rec.ID, func(r *rebuildRecord) {
				r.Applied, r.Total, r.Rate, r.ElapsedMs = pr.Applied, pr.Total, pr.Rate, pr.Elapsed.Milliseconds()
			})
		},
	}
	if rec.Review {
		rb.Review = func(ctx context.Context, d projections.Diff) (bool, error) { return c.review(ctx, rec.ID, d) }
	}
	m.s.log.Info("rebuild started for the cluster", "instance", m.c.ID, "projector", rec.ID, "epoch", rec.Epoch)
	next, stop, err := rb.Run(ctx, rec.ID)
	if err != nil {
		switch {
		case ctx.Err() != nil:
			// Stepped down or stopping: the record stays, for the next holder.
			m.s.log.Info("rebuild left to the next holder", "instance", m.c.ID, "projector", rec.ID)
		case errors.Is(err, projections.ErrDiscarded):
			c.update(ctx, rec.ID, func(r *rebuildRecord) { r.State = rebuildDropped })
		default:
			m.s.log.Error("rebuild failed", "instance", m.c.ID, "projector", rec.ID, "err", err)
			c.update(ctx, rec.ID, func(r *rebuildRecord) { r.State, r.Error = rebuildFailed, err.Error() })
		}
		return
	}
	// Its last save made, the holder's read models are reloaded from what
	// it saved, as every follower's are on finding the new name.
	stop()
	st := next.Projector.Status()
	took := time.Since(begin)
	c.update(ctx, rec.ID, func(r *rebuildRecord) {
		r.State, r.Applied, r.Total, r.ElapsedMs = rebuildDone, st.Applied, st.Applied, took.Milliseconds()
		r.Rate = float64(st.Applied) / max(took.Seconds(), 1e-9)
	})
	m.s.log.Info("rebuild swapped in for the cluster", "instance", m.c.ID, "projector", rec.ID, "replaced", old.Name(), "events", st.Applied, "took", took.Round(time.Millisecond))
	m.reloadReadModels()
	// The replaced read models are dropped once this instance serves the
	// new ones and the followers had a while to switch (one loading the
	// old ones meanwhile finds the name changed and loads again).
	deadline := time.Now().Add(time.Minute)
	for m.s.Projector().Name() != rec.ID && time.Now().Before(deadline) && ctx.Err() == nil {
		time.Sleep(50 * time.Millisecond)
	}
	select {
	case <-ctx.Done():
	case <-time.After(5 * time.Second):
	}
	c.drop(old.Name())
}

// runModel is the holder's rebuild of one read model (projections.
// ModelRebuild on the read models it serves and saves, fenced by the
// lease); once its documents are written (Flush), the record's Reloads
// grows and every other instance loads the saved read models again.
func (c *clusterRebuild) runModel(ctx context.Context, rec rebuildRecord) {
	m := c.m
	cur := m.s.live.Load()
	if p := m.leading.Load(); p == nil || p != cur.Projector {
		// Not serving its own read models yet (just took the lease): the
		// record stays, for the next look.
		m.s.log.Info("read model rebuild waits for this holder's read models", "instance", m.c.ID, "model", rec.Model)
		return
	}
	if cur.Read.Model(rec.Model) == nil {
		c.update(ctx, rec.ID, func(r *rebuildRecord) {
			r.State, r.Error = rebuildFailed, fmt.Sprintf("%q is no read model of the board", rec.Model)
		})
		return
	}
	begin := time.Now()
	var last projections.Progress
	m.s.log.Info("read model rebuild started for the cluster", "instance", m.c.ID, "model", rec.Model, "epoch", rec.Epoch)
	rb := projections.ModelRebuild{
		Setup: m.s.setup, InUse: *cur, Model: rec.Model, Events: m.s.deps.Store, Every: rebuildPoll,
		Report: func(pr projections.Progress) {
			last = pr
			c.update(ctx, rec.ID, func(r *rebuildRecord) {
				r.Applied, r.Total, r.Rate, r.ElapsedMs = pr.Applied, pr.Total, pr.Rate, pr.Elapsed.Milliseconds()
			})
		},
		Swap: func(next projections.Current) { m.s.live.Swap(next) },
	}
	err := rb.Run(ctx)
	if err == nil {
		fctx, cancel := context.WithTimeout(ctx, 10*time.Second)
		err = cur.Projector.Flush(fctx)
		cancel()
	}
	if err != nil {
		if ctx.Err() != nil {
			m.s.log.Info("read model rebuild left to the next holder", "instance", m.c.ID, "model", rec.Model)
			return
		}
		m.s.log.Error("read model rebuild failed", "instance", m.c.ID, "model", rec.Model, "err", err)
		c.update(ctx, rec.ID, func(r *rebuildRecord) { r.State, r.Error = rebuildFailed, err.Error() })
		return
	}
	took := time.Since(begin)
	c.update(ctx, rec.ID, func(r *rebuildRecord) {
		r.State, r.Applied, r.Total, r.ElapsedMs = rebuildDone, last.Applied, last.Applied, took.Milliseconds()
		r.Rate = float64(last.Applied) / max(took.Seconds(), 1e-9)
		r.Reloads++
	})
	c.mu.Lock()
	written := c.rec.ID == rec.ID && c.rec.State == rebuildDone
	c.mu.Unlock()
	if written {
		m.loadedGen.Add(1) // what the others load again, this one holds
	}
	m.s.log.Info("read model rebuilt for the cluster", "instance", m.c.ID, "model", rec.Model, "events", last.Applied, "took", took.Round(time.Millisecond))
	m.s.hub.PublishAll(context.WithoutCancel(ctx))
}

// review records how the caught-up read models differ and waits for the
// admin's choice, from any instance, in the record.
func (c *clusterRebuild) review(ctx context.Context, id string, d projections.Diff) (bool, error) {
	c.update(ctx, id, func(r *rebuildRecord) { r.State, r.Diff = rebuildReview, &d })
	c.m.s.log.Info("rebuild compared", "projector", id, "documents", d.Compared, "differ", d.Differ)
	deadline := time.Now().Add(reviewWait)
	t := time.NewTicker(reviewPoll)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return false, ctx.Err()
		case <-t.C:
		}
		if time.Now().After(deadline) {
			return false, nil
		}
		rec, raw, err := c.load(ctx)
		if err != nil || rec.ID != id {
			continue
		}
		c.seen(raw, rec)
		switch rec.State {
		case rebuildSwap:
			return true, nil
		case rebuildDiscard:
			return false, nil
		}
	}
}

// update changes the record of rebuild id with change, from the record
// as last seen, read again when another write came between; it gives up
// when the record is no longer id's or no longer runs here.
func (c *clusterRebuild) update(ctx context.Context, id string, change func(*rebuildRecord)) {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
	defer cancel()
	c.mu.Lock()
	rec, raw := c.rec, c.raw
	c.mu.Unlock()
	for range 5 {
		if rec.ID != id || rec.RunBy != c.m.c.ID || !rec.active() {
			return
		}
		change(&rec)
		err := c.write(ctx, raw, rec)
		if !errors.Is(err, es.ErrSettingChanged) {
			if err != nil {
				c.m.s.log.Warn("writing the cluster's rebuild", "projector", id, "err", err)
			}
			return
		}
		if rec, raw, err = c.load(ctx); err != nil {
			return
		}
	}
}

// drop deletes what read models name saved, through the lease's fenced
// store, within a few seconds.
func (c *clusterRebuild) drop(name string) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := projections.Drop(ctx, c.m.c.Lease.ReadModels(), name); err != nil {
		c.m.s.log.Warn("dropping read models", "projector", name, "err", err)
	}
}
