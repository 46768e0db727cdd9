package web

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/foldboard/foldboard/es"
	"github.com/foldboard/foldboard/es/relay"
	"github.com/foldboard/foldboard/projections"
	"github.com/foldboard/foldboard/views"
)

// Cluster makes the server one instance of several on one store: the
// instance that holds the lease is the cluster's one projector (it reads
// the store's feed, saves the read models, each save fenced by the lease's
// epoch, and publishes what it applied to the relay); every other one, a
// follower, keeps the same read models in memory from what the holder
// published, and takes over when the holder goes.
type Cluster struct {
	// ID names this instance: the lease's owner, the registry's member.
	ID string
	// Lease is the projector lease (es/dynamo's).
	Lease Lease
	// Relay carries what the holder applied, the wake-ups and the registry.
	Relay *relay.Relay
	// Wake tells the store's feed what another instance appended: each
	// stream named and its version after the append, and more when
	// something else was appended, unnamed (es/dynamo's Store.Wake).
	Wake func(appends map[es.StreamRef]int64, more bool)
}

// Lease is the cluster's projector lease, as es/dynamo's Lease keeps it.
type Lease interface {
	// Acquire tries once to take it; true when held after the call.
	Acquire(ctx context.Context) (bool, error)
	// Renew keeps it; an error matching errDeposed's when another holds it.
	Renew(ctx context.Context) error
	// Release gives it up, for another to take at once.
	Release(ctx context.Context) error
	// Epoch is the epoch held, 0 when not.
	Epoch() int64
	// Failover is how long a silent holder keeps it.
	Failover() time.Duration
	// ReadModels saves only while the epoch held is the lease's.
	ReadModels() es.ReadModelStore
	// Check fails with an error matching es.ErrFenced unless the lease,
	// as stored now, is at the epoch held.
	Check(ctx context.Context) error
}

// Role is what this instance does in its cluster.
type Role = relay.Role

// member runs this instance's part in the cluster: the lease, and the
// projector of the role it holds.
type member struct {
	s *Server
	c *Cluster

	mu       sync.Mutex
	role     Role
	appended time.Time // the newest event this instance appended
	loaded   time.Time // when the read models served were loaded
	// members are the instances as the registry listed them last (at most
	// relay.Options.MaxMembers), refreshed with every announcement.
	members []relay.Member

	// reload asks run to load the read models in use again, in its role:
	// a rebuild swapped in others under a new name.
	reload chan struct{}
	// leading is the holder's publishing projector (nil on a follower):
	// the one its heartbeats speak for.
	leading atomic.Pointer[projections.Projector]
	// rebuild is the cluster's rebuild as this instance takes part in it.
	rebuild *clusterRebuild
	// loadingName is the name of the read models runOnce loaded last.
	loadingName atomic.Pointer[string]
	// reloadsAsked counts the reloads asked for (reloadReadModels), and
	// reloadsServed the most of them a load has served since: while it is
	// behind, the instance is loading read models it is not serving yet
	// (Reloading, /healthz 503).
	reloadsAsked, reloadsServed atomic.Int64
	// retry is the cluster's retry of a parked stream as this instance
	// takes part in it.
	retry *clusterRetry
	// loadedGen is how many operations the holder saved in place (the
	// records' Reloads: retries, model rebuilds) the read models served
	// hold: read before each load; past it, the instance loads again.
	loadedGen atomic.Int64
	// tornLoads counts the follower's loads in a row that every attempt of
	// overlapped a save (Projector.LoadedWhileSaved): the next is put off
	// longer each time (reloadAfterTorn).
	tornLoads atomic.Int64
}

func newMember(s *Server, c *Cluster) *member {
	m := &member{s: s, c: c, role: relay.RoleFollower, loaded: time.Now(), reload: make(chan struct{}, 1)}
	m.rebuild = newClusterRebuild(m)
	m.retry = &clusterRetry{m: m}
	return m
}

// loading is the name of the read models this instance loaded last (they
// may not be served yet): those it serves before its first load.
func (m *member) loading() string {
	if n := m.loadingName.Load(); n != nil {
		return *n
	}
	return m.s.Projector().Name()
}

// reloadReadModels asks run to load the read models in use again.
func (m *member) reloadReadModels() {
	m.reloadsAsked.Add(1)
	select {
	case m.reload <- struct{}{}:
	default:
	}
}

// Reloading reports whether the instance is loading the read models in
// use again (a rebuild swapped in others) and does not serve them yet.
func (m *member) Reloading() bool { return m.reloadsServed.Load() < m.reloadsAsked.Load() }

// self is this instance as it announces itself, now.
func (m *member) self() relay.Member {
	st := m.s.Projector().Status()
	m.mu.Lock()
	defer m.mu.Unlock()
	return relay.Member{
		ID: m.c.ID, Role: m.role, Position: st.Checkpoint, Appended: m.appended,
		Applied: st.LastEvent.Time, Loaded: m.loaded, Clients: m.s.hub.Clients(),
	}
}

// view is the cluster as this instance sees it: the members the registry
// listed last, this one as it is now, and the high-water mark over them.
func (m *member) view() views.Cluster {
	me := m.self()
	m.mu.Lock()
	listed := m.members
	m.mu.Unlock()
	all := make([]relay.Member, 0, len(listed)+1)
	for _, o := range listed {
		if o.ID != me.ID {
			all = append(all, o)
		}
	}
	all = append(all, me)
	slices.SortFunc(all, func(a, b relay.Member) int { return strings.Compare(a.ID, b.ID) })
	hw := relay.HighWater(all)
	c := views.Cluster{Self: me.ID, HighWater: hw, Behind: me.Behind(hw)}
	for _, o := range all {
		c.Instances = append(c.Instances, views.Instance{
			ID: o.ID, Role: string(o.Role), Position: o.Position, Clients: o.Clients,
			Applied: o.Applied, Seen: o.Seen, Behind: o.Behind(hw), Self: o.ID == me.ID,
		})
	}
	return c
}

// Role is this instance's role now.
func (m *member) Role() Role {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.role
}

// holds reports whether this instance is the cluster's projector now.
func (m *member) holds() bool { return m.Role() == relay.RoleProjector && m.c.Lease.Epoch() != 0 }

func (m *member) setRole(r Role) {
	m.mu.Lock()
	m.role = r
	m.mu.Unlock()
}

// noteAppend tells the holder (at once: the stream and its version after
// the append) and the registry of an append. A result with no events (a
// repeat answered from the head) appended nothing to tell.
func (m *member) noteAppend(res es.AppendResult) {
	if n := len(res.Events); n > 0 {
		last := res.Events[n-1]
		m.c.Relay.NotifyAppended(last.Stream, last.Version)
		m.mu.Lock()
		if t := res.Events[n-1].Time; t.After(m.appended) {
			m.appended = t
		}
		m.mu.Unlock()
	}
}

// tick is how often the member renews, tries to take the lease, and checks
// that it still holds it: a quarter of the failover, at most a second.
func (m *member) tick() time.Duration { return min(m.c.Lease.Failover()/4, time.Second) }

// run plays the member's part until ctx ends, then, if it holds the lease,
// lets its projector make its last save and releases the lease.
func (m *member) run(ctx context.Context) {
	go m.wakeOnAppends(ctx)
	go m.announce(ctx)
	rebuilds := make(chan struct{})
	go func() { defer close(rebuilds); m.rebuild.watch(ctx) }()
	defer func() { <-rebuilds }()
	var stop func() // the running role's projector
	stop = m.follow(ctx)
	t := time.NewTicker(m.tick())
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			stop()
			if m.Role() == relay.RoleProjector {
				rctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
				if err := m.c.Lease.Release(rctx); err != nil {
					m.s.log.Warn("releasing the projector lease", "instance", m.c.ID, "err", err)
				}
				cancel()
			}
			return
		case <-m.reload:
			stop()
			if m.Role() == relay.RoleProjector && m.c.Lease.Epoch() != 0 {
				stop = m.lead(ctx)
			} else {
				stop = m.follow(ctx)
			}
			continue
		case <-t.C:
		}
		switch m.Role() {
		case relay.RoleFollower:
			if m.s.stopping.Load() {
				continue // stopping: the lease is for an instance that stays
			}
			ok, err := m.c.Lease.Acquire(ctx)
			if err != nil {
				m.s.log.Warn("trying the projector lease", "instance", m.c.ID, "err", err)
			}
			if ok {
				stop()
				stop = m.lead(ctx)
			}
		case relay.RoleProjector:
			if m.c.Lease.Epoch() != 0 {
				if err := m.c.Lease.Renew(ctx); err != nil && ctx.Err() == nil {
					m.s.log.Warn("renewing the projector lease", "instance", m.c.ID, "err", err)
				}
				m.heartbeat(ctx)
			}
			if m.c.Lease.Epoch() == 0 { // lost: a save or a renewal found another holder
				m.s.log.Warn("stepping down: another instance holds the projector lease", "instance", m.c.ID)
				m.rebuild.stepDown()
				stop()
				stop = m.follow(ctx)
			}
		}
	}
}

// lead makes this instance the cluster's projector: fresh read models
// loaded from the saved ones (after the lease was taken, so that they hold
// every save of the holder before), fenced by the lease, fed by the
// store's feed, publishing every batch to the followers.
func (m *member) lead(ctx context.Context) (stop func()) {
	m.setRole(relay.RoleProjector)
	m.s.log.Info("this instance is the cluster's projector", "instance", m.c.ID, "epoch", m.c.Lease.Epoch())
	setup := m.s.setup
	setup.Store = m.c.Lease.ReadModels()
	stopProjector := m.serveFrom(ctx, setup, true)
	// The reactions run where the Stream is read, from what they saved
	// last (their commands' ids make a repeat harmless).
	if err := m.s.reactors.group.Load(ctx); err != nil {
		m.s.log.Error("loading the reactors", "instance", m.c.ID, "err", err)
	}
	m.s.reactors.run(m.s.projectors)
	return func() {
		m.s.reactors.stop()
		stopProjector()
	}
}

// follow makes this instance a follower: read models loaded from the saved
// ones, kept in memory from what the holder publishes; when the relay
// cannot continue them (relay.ErrBehind), loaded again.
func (m *member) follow(ctx context.Context) (stop func()) {
	m.setRole(relay.RoleFollower)
	setup := m.s.setup
	setup.Store = unsaved{m.s.deps.ReadModels}
	setup.Follower = true // the saves it reads are its holder's
	setup.StopOn = func(err error) bool { return errors.Is(err, relay.ErrBehind) }
	return m.serveFrom(ctx, setup, false)
}

// serveFrom runs read models made by setup and serves them once they have
// reached the ones served now (or after a bound), so that no page goes
// back, and starts again from the saved ones whenever they stop: a
// follower's feed stopped behind, or they could not be loaded. The
// holder's (lead) publish what they apply. stop ends it and waits for its
// last save.
func (m *member) serveFrom(ctx context.Context, setup projections.Setup, lead bool) (stop func()) {
	ctx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() {
		defer close(done)
		pause := newBackoff(reloadFirst, reloadMax)
		for ctx.Err() == nil {
			began := time.Now()
			err := m.runOnce(ctx, setup, lead)
			if ctx.Err() != nil {
				return
			}
			if time.Since(began) > reloadMax {
				pause.reset() // it ran a good while: this one is not a repeat
			}
			wait := pause.next()
			m.s.log.Info("reloading the saved read models", "instance", m.c.ID, "lead", lead, "why", err, "after", wait)
			select {
			case <-ctx.Done():
			case <-time.After(wait):
			}
		}
	}()
	return func() { cancel(); <-done }
}

// runOnce loads the read models in use (by the name the settings hold:
// a rebuild may have swapped in others) under setup, swaps them in once
// they reach the ones served, and runs them until ctx ends or their feed
// stops. The holder's publish each batch under their name; a follower's
// follow only batches published under it, so that no follower ever folds
// the batches of other read models into its own.
func (m *member) runOnce(ctx context.Context, setup projections.Setup, lead bool) error {
	name, err := m.inUse(ctx)
	if err != nil {
		return err
	}
	if lead {
		setup.OnApplied = func(ctx context.Context, from string, b es.Batch) { m.publish(ctx, name, from, b) }
	} else {
		setup.Feed = namedFeed{feed: m.c.Relay.Feed(), name: name}
	}
	m.loadingName.Store(&name)
	asked := m.reloadsAsked.Load() // what this load answers
	if gen, err := m.operations(ctx); err == nil {
		m.loadedGen.Store(gen) // saved before this load: it holds them
	}
	next := setup.New(name, m.s.publishServed)
	loaded := time.Now()
	if err := next.Projector.Load(ctx); err != nil {
		return err
	}
	if again, err := m.inUse(ctx); err == nil && again != name {
		// A rebuild swapped in others while these loaded (and may be
		// dropping them): load those.
		return fmt.Errorf("the read models in use became %s while %s loaded", again, name)
	}
	if lead {
		m.c.Relay.StartOver()
		m.leading.Store(next.Projector)
		defer m.leading.CompareAndSwap(next.Projector, nil)
	}
	ran := make(chan error, 1)
	runCtx, stopRun := context.WithCancel(ctx)
	defer stopRun()
	go func() { ran <- next.Projector.Run(runCtx) }()
	reach, cancel := context.WithTimeout(ctx, 10*time.Second)
	if err := projections.Reach(reach, next.Projector, m.s.Projector().Catalogue()); err != nil && ctx.Err() == nil {
		m.s.log.Warn("serving read models that had not reached the ones they replace", "instance", m.c.ID)
	}
	cancel()
	if ctx.Err() == nil {
		m.mu.Lock()
		m.loaded = loaded
		m.mu.Unlock()
		m.s.live.Swap(next)
		switch {
		case lead:
		case next.Projector.LoadedWhileSaved():
			// Every attempt of the load overlapped a save of the holder's:
			// served (better than none), and loaded again in a while
			// (serveFrom starts over once Run ends). Timed from the swap,
			// so that a Run stopped before it is never swapped in.
			t := time.AfterFunc(reloadAfterTorn(m.tornLoads.Add(1)), stopRun)
			defer t.Stop()
		default:
			m.tornLoads.Store(0)
		}
		for served := m.reloadsServed.Load(); served < asked && !m.reloadsServed.CompareAndSwap(served, asked); {
			served = m.reloadsServed.Load()
		}
		m.s.hub.PublishAll(context.Background())
	}
	err = <-ran
	if err == nil && ctx.Err() == nil && runCtx.Err() != nil {
		return errLoadedWhileSaved
	}
	return err
}

// reloadAfterTorn is how long a follower serves read models loaded while
// their holder saved before it loads them again, after n such loads in a
// row: 5 s, doubling up to 5 min, so that a store too large to load
// between two saves costs a bounded rate of loads, not ten every 5 s.
func reloadAfterTorn(n int64) time.Duration {
	return min(5*time.Second<<min(max(n-1, 0), 6), 5*time.Minute)
}

var errLoadedWhileSaved = errors.New("the read models were loaded while their holder saved: loading them again")

// inUse is the name of the read models in use, as the settings hold it.
func (m *member) inUse(ctx context.Context) (string, error) {
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	return projections.CurrentName(ctx, m.s.deps.Settings)
}

// publish hands a batch the holder applied to the read models named name
// to the followers: its checkpoints carry the name (relayCheckpoint).
func (m *member) publish(ctx context.Context, name, from string, b es.Batch) {
	epoch := m.c.Lease.Epoch()
	if epoch == 0 {
		return
	}
	ctx, cancel := context.WithTimeout(ctx, time.Second)
	defer cancel()
	b.Checkpoint = relayCheckpoint(name, b.Checkpoint)
	if err := m.c.Relay.Publish(ctx, epoch, relayCheckpoint(name, from), b); err != nil && ctx.Err() == nil {
		// The followers find the gap and reload.
		m.s.log.Warn("publishing an applied batch", "instance", m.c.ID, "epoch", epoch, "err", err)
	}
}

// heartbeat publishes an empty batch at the holder's checkpoint, so that a
// follower whose next batch was lost finds out on an idle cluster.
func (m *member) heartbeat(ctx context.Context) {
	p := m.leading.Load()
	if p == nil {
		return
	}
	cp := p.Status().Checkpoint
	m.publish(ctx, p.Name(), cp, es.Batch{Checkpoint: cp})
}

// relayCheckpoint is a checkpoint of the read models named name as the
// relay carries it: the name, a line feed, the checkpoint. Batches of other
// read models (those a rebuild replaced, or swapped in) never continue a
// follower's checkpoint, so it meets relay.ErrBehind and reloads instead.
func relayCheckpoint(name, cp string) string { return name + "\n" + cp }

// namedFeed is a follower's feed of the read models named name: the
// relay's batches published under that name, with their own checkpoints.
type namedFeed struct {
	feed es.Feed
	name string
}

func (f namedFeed) Follow(ctx context.Context, from string, apply func(context.Context, es.Batch) error) error {
	return f.feed.Follow(ctx, relayCheckpoint(f.name, from), func(ctx context.Context, b es.Batch) error {
		cp, ok := strings.CutPrefix(b.Checkpoint, f.name+"\n")
		if !ok { // the relay hands on only batches that continue from
			return fmt.Errorf("a batch of other read models than %s: %w", f.name, relay.ErrBehind)
		}
		b.Checkpoint = cp
		return apply(ctx, b)
	})
}

// wakeOnAppends wakes the store's feed when any instance appended, with
// what it appended.
func (m *member) wakeOnAppends(ctx context.Context) {
	wake := m.c.Relay.Appended(ctx)
	for {
		select {
		case <-ctx.Done():
			return
		case w := <-wake:
			m.c.Wake(w.Appends, w.More)
		}
	}
}

// announce lists this instance in the registry every few seconds.
func (m *member) announce(ctx context.Context) {
	t := time.NewTicker(2 * time.Second)
	defer t.Stop()
	for {
		me := m.self()
		if m.holds() {
			me.Stream = m.streamReport(ctx)
		}
		actx, cancel := context.WithTimeout(ctx, time.Second)
		if err := m.c.Relay.Announce(actx, me); err != nil && ctx.Err() == nil {
			m.s.log.Debug("announcing this instance", "instance", m.c.ID, "err", err)
		}
		if listed, err := m.c.Relay.Members(actx); err == nil {
			m.mu.Lock()
			m.members = listed
			m.mu.Unlock()
		} else if ctx.Err() == nil {
			m.s.log.Debug("listing the cluster's instances", "instance", m.c.ID, "err", err)
		}
		cancel()
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// streamReport is where the holder's checkpoint stands in the shards of
// the store's feed, for every instance's board (nil when the feed has no
// shards, or they could not be listed now). The store lists the shards at
// most every few seconds, whoever asks: with the holder the only one that
// asks, the listing calls stay those of one instance however many there
// are, and the positions shown are the ones a takeover resumes from.
func (m *member) streamReport(ctx context.Context) *es.ShardReport {
	sf, ok := m.s.deps.Feed.(es.ShardedFeed)
	p := m.leading.Load()
	if !ok || p == nil {
		return nil
	}
	ctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	rep, err := sf.Shards(ctx, p.Status().Checkpoint, time.Now())
	if err != nil {
		if ctx.Err() == nil {
			m.s.log.Debug("listing the stream's shards for the cluster", "instance", m.c.ID, "err", err)
		}
		return nil
	}
	return &rep
}

// errNoShardReport is a follower's board before the holder reported the
// shards (a cluster without a holder, or one whose feed has none).
var errNoShardReport = errors.New("no lease holder has reported the stream's shards yet")

// holderReport is the shards as the holder last reported them (its newest
// announcement), named by it and dated.
func (m *member) holderReport() (es.ShardReport, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	var from *relay.Member
	for i, o := range m.members {
		if o.Role == relay.RoleProjector && o.Stream != nil && o.ID != m.c.ID && (from == nil || o.Seen.After(from.Seen)) {
			from = &m.members[i]
		}
	}
	if from == nil {
		return es.ShardReport{}, errNoShardReport
	}
	rep := *from.Stream
	rep.Reporter, rep.Reported = from.ID, from.Seen
	return rep, nil
}

// A follower whose feed stops behind (relay.ErrBehind) loads the saved
// read models again after a pause that doubles with every repeat, from
// reloadFirst up to reloadMax, jittered so that the followers of one
// cluster do not all load at once; a run longer than reloadMax starts it
// over.
const (
	reloadFirst = 100 * time.Millisecond
	reloadMax   = 5 * time.Second
)

// backoff is a growing, capped pause with jitter: the nth is drawn from
// [d/2, d) where d = first × 2ⁿ, at most max.
type backoff struct {
	first, max, d time.Duration
	rand          func(n int64) int64 // [0, n); rand.Int64N
}

func newBackoff(first, max time.Duration) *backoff {
	return &backoff{first: first, max: max, d: first, rand: rand.Int64N}
}

// next is the pause to take now; the one after is twice as long, up to max.
func (b *backoff) next() time.Duration {
	d := b.d
	b.d = min(b.max, 2*b.d)
	half := d / 2
	return half + time.Duration(b.rand(int64(d-half)))
}

// reset starts the pauses over from first.
func (b *backoff) reset() { b.d = b.first }

// unsaved is a follower's store of read models: it loads the holder's
// saved ones and saves nothing (the holder saves).
type unsaved struct{ es.ReadModelStore }

func (unsaved) SaveReadModels(context.Context, string, string, map[string]json.RawMessage) error {
	return nil
}

// ReadModel and ReadModelRange read the holder's saves: what a follower's
// read models let go of, the holder saved (es.ReadModelReader).
func (u unsaved) ReadModel(ctx context.Context, projector, key string) (json.RawMessage, error) {
	r, ok := u.ReadModelStore.(es.ReadModelReader)
	if !ok {
		return nil, nil
	}
	return r.ReadModel(ctx, projector, key)
}

// SaveMark is the holder's saves' (es.SaveMarker): a follower loads again
// when one came in the middle of its load.
func (u unsaved) SaveMark(ctx context.Context, projector string) (string, error) {
	return es.SaveMarkOf(ctx, u.ReadModelStore, projector)
}

func (u unsaved) LoadReadModelsExcept(ctx context.Context, projector string, skip []string) (string, map[string]json.RawMessage, error) {
	if l, ok := u.ReadModelStore.(es.ReadModelLoader); ok {
		return l.LoadReadModelsExcept(ctx, projector, skip)
	}
	return u.LoadReadModels(ctx, projector)
}

func (u unsaved) ReadModelRange(ctx context.Context, projector string, q es.DocRange) ([]es.Doc, error) {
	r, ok := u.ReadModelStore.(es.ReadModelReader)
	if !ok {
		return nil, nil
	}
	return r.ReadModelRange(ctx, projector, q)
}
