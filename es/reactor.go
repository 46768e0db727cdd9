package es

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Reactor runs one reaction: it tails the feed from its own checkpoint and
// runs each command the reaction asks for through Commands, with a command
// id derived from the event's id and the reaction's name, so that a replay,
// a redelivery or a crash between the command and the checkpoint never
// applies it twice. A command the domain refuses is the reaction's outcome
// (counted, never retried); an error of the store is retried with backoff; an
// event the reaction keeps failing on is parked (counted, listed) and the
// reactor goes on. Only one process may run a reaction's reactor at a time
// (in a cluster, the lease holder).
type Reactor struct {
	reaction Reaction
	name     string
	feed     Feed
	saves    ReadModelStore
	store    Store
	commands *Commands
	log      *slog.Logger
	now      func() time.Time
	attempts int
	backoff  time.Duration
	after    func()
	fence    func(context.Context) error
	// order, when the feed has one, places a batch against the reactor's
	// own checkpoint: a feed shared with other reactors may start behind it.
	order CheckpointOrder
	// stored is the schedule when it keeps its documents in the store, and
	// reader reads them back (nil: the saves read nothing on demand, and
	// the schedule holds them all).
	stored StoredSchedule
	reader ReadModelReader

	// stepDown ends the running Run for good (ErrFenced); set while it runs.
	stepDown context.CancelCauseFunc

	// turn lets one of the feed and the timer react at a time.
	turn sync.Mutex
	// Guarded by turn: what is not saved yet, and the commands the timer
	// issued since start (so that a command due until the feed brings its
	// effect is issued once).
	changed   map[string]bool
	unsaved   bool
	savedAt   time.Time
	issued    map[string]bool
	reactedTo string // the checkpoint of the last batch reacted to
	// chain is the checkpoint of the last batch this reactor took from the
	// Follow running now ("" at its start): the next one is past it, so
	// only a reactor not yet on the chain places batches with order.
	chain string
	// reacted holds, for each stream with events of the reaction's types,
	// the version of the last one handled; saved with the checkpoint, a
	// document a stream (only the ones changed since the last save), as
	// the read models keep their streams' versions. An event at or below
	// it is passed over, however far back the feed starts: exactly once
	// leans neither on the checkpoint nor on the store's memory of recent
	// command ids. changedReacted are the streams not saved since. With a
	// reader, reacted holds only those and the streams of the batch being
	// applied (read back before it: readVersions); without, every one.
	reacted        map[StreamRef]int64
	changedReacted map[StreamRef]bool
	// legacyDone are the ids of the events done after the checkpoint that
	// a reactor saved before it kept versions (its "done" document): passed
	// over too, the document deleted at the next save.
	legacyDone  map[string]bool
	legacySaved bool

	mu         sync.Mutex
	checkpoint string // the last saved
	outcomes   ReactionOutcomes
	parked     []ParkedReaction
	refusals   []Refusal
	running    bool
	lastErr    error
}

// ReactorConfig wires a reactor.
type ReactorConfig struct {
	Reaction Reaction
	Feed     Feed
	// Saves keeps the reactor's checkpoint, outcomes and parked events
	// (under ReactorName), as read models are kept.
	Saves ReadModelStore
	// Store is read for the state a reaction needs.
	Store    Store
	Commands *Commands
	Log      *slog.Logger
	// Now is the timer's clock; the wall clock by default.
	Now func() time.Time
	// Attempts bounds the tries of an event against errors of the store
	// before it is parked (default 8); Backoff is the first wait between
	// them (default 100 ms), doubling up to 5 s.
	Attempts int
	Backoff  time.Duration
	// AfterCommand, when set, is called after each command that ran
	// (applied, or found applied before), before the checkpoint that
	// covers it is saved: where a crash test kills the process.
	AfterCommand func()
	// Fence, when set, says whether this process may still react: in a
	// cluster, whether the lease is still its own, as the store says now.
	// The reactor asks before it issues the commands of an event or of a
	// tick, and after anything failed; an error matching ErrFenced ends Run
	// at once (nothing issued, nothing saved: Saves, fenced too, would
	// refuse), any other is retried as the store's are.
	Fence func(ctx context.Context) error
}

// ErrFenced says that another process reacts now (in a cluster, another
// instance took the lease): a Reactor that finds it stops.
var ErrFenced = errors.New("es: another process reacts now")

// ReactionOutcomes count what the reactor's commands did: applied, refused
// by the domain, found applied before (a redelivery: nothing appended), and
// the events parked.
type ReactionOutcomes struct {
	OK       int64 `json:"ok"`
	Refused  int64 `json:"refused"`
	Repeated int64 `json:"repeated"`
	Parked   int64 `json:"parked"`
}

// ParkedReaction is an event the reaction failed on, attempt after attempt.
type ParkedReaction struct {
	EventID string    `json:"eventId"`
	Stream  string    `json:"stream"`
	Version int64     `json:"version"`
	Type    string    `json:"type"`
	Error   string    `json:"error"`
	At      time.Time `json:"at"`
}

// Refusal is a command of the reaction the domain refused.
type Refusal struct {
	CauseID string    `json:"causeId"`
	Stream  string    `json:"stream"`
	Code    string    `json:"code"`
	Message string    `json:"message"`
	At      time.Time `json:"at"`
}

// keepListed bounds the parked events and refusals a reactor lists (the
// counts count them all).
const keepListed = 50

// issuedKeep bounds the timer's memory of what it issued.
const issuedKeep = 10_000

// The reactor's own documents; a schedule's keys are saved behind
// scheduleKey.
const (
	outcomesKey = "outcomes"
	parkedKey   = "parked"
	refusalsKey = "refusals"
	doneKey     = "done" // before versions: ids of events done after the checkpoint
	scheduleKey = "s/"
	reactedKey  = "v/" // + the stream: the version of its last event handled
)

// NewReactor makes a reactor; Load restores what it saved, Run runs it.
func NewReactor(cfg ReactorConfig) *Reactor {
	if cfg.Log == nil {
		cfg.Log = slog.Default()
	}
	if cfg.Now == nil {
		cfg.Now = func() time.Time { return time.Now().UTC() }
	}
	if cfg.Attempts <= 0 {
		cfg.Attempts = 8
	}
	if cfg.Backoff <= 0 {
		cfg.Backoff = 100 * time.Millisecond
	}
	order, _ := cfg.Feed.(CheckpointOrder)
	stored, _ := cfg.Reaction.Schedule.(StoredSchedule)
	reader, _ := cfg.Saves.(ReadModelReader)
	return &Reactor{
		order: order, stored: stored, reader: reader, reaction: cfg.Reaction, name: ReactorName(cfg.Reaction.Name), feed: cfg.Feed, saves: cfg.Saves,
		store: cfg.Store, commands: cfg.Commands, log: cfg.Log.With("reaction", cfg.Reaction.Name),
		now: cfg.Now, attempts: cfg.Attempts, backoff: cfg.Backoff, after: cfg.AfterCommand, fence: cfg.Fence,
		changed: map[string]bool{}, issued: map[string]bool{},
		reacted: map[StreamRef]int64{}, changedReacted: map[StreamRef]bool{}, legacyDone: map[string]bool{},
	}
}

// Name is the reaction's name.
func (r *Reactor) Name() string { return r.reaction.Name }

// Load restores the saved checkpoint, outcomes, parked events and schedule,
// in place of what the reactor held (a StoredSchedule's documents stay in
// the store, read on demand). Call it before Run, while it does not run
// (again when an instance takes the lease over).
func (r *Reactor) Load(ctx context.Context) error {
	checkpoint, docs, err := r.load(ctx)
	if err != nil {
		return fmt.Errorf("loading reactor %s: %w", r.name, err)
	}
	r.turn.Lock()
	defer r.turn.Unlock()
	r.mu.Lock()
	defer r.mu.Unlock()
	r.outcomes, r.parked, r.refusals = ReactionOutcomes{}, nil, nil
	clear(r.changed)
	clear(r.issued)
	clear(r.reacted)
	clear(r.changedReacted)
	clear(r.legacyDone)
	r.legacySaved = false
	if r.reaction.Schedule != nil {
		r.reaction.Schedule.Reset()
	}
	for key, doc := range docs {
		switch {
		case key == outcomesKey:
			err = json.Unmarshal(doc, &r.outcomes)
		case key == parkedKey:
			err = json.Unmarshal(doc, &r.parked)
		case key == refusalsKey:
			err = json.Unmarshal(doc, &r.refusals)
		case key == doneKey:
			var ids []string
			err = json.Unmarshal(doc, &ids)
			for _, id := range ids {
				r.legacyDone[id] = true
			}
			r.legacySaved = true
		case strings.HasPrefix(key, reactedKey):
			var ref StreamRef
			if ref, err = ParseStreamRef(strings.TrimPrefix(key, reactedKey)); err == nil {
				var v int64
				err = json.Unmarshal(doc, &v)
				r.reacted[ref] = v
			}
		case strings.HasPrefix(key, scheduleKey) && r.reaction.Schedule != nil:
			err = r.reaction.Schedule.Load(strings.TrimPrefix(key, scheduleKey), doc)
		default:
			r.log.Warn("reactor document with no owner", "key", key)
		}
		if err != nil {
			return fmt.Errorf("loading reactor %s document %s: %w", r.name, key, err)
		}
	}
	switch {
	case r.stored != nil && r.reader != nil:
		r.stored.Use(scheduleDocs{r.reader, r.name})
	case r.stored != nil:
		r.stored.Use(nil)
	}
	r.checkpoint, r.reactedTo = checkpoint, checkpoint
	return nil
}

// load reads the reactor's checkpoint and documents: all but the streams'
// versions and a stored schedule's, when they can be read back on demand.
func (r *Reactor) load(ctx context.Context) (string, map[string]json.RawMessage, error) {
	if r.reader == nil {
		return r.saves.LoadReadModels(ctx, r.name)
	}
	skip := []string{reactedKey}
	if r.stored != nil {
		skip = append(skip, scheduleKey)
	}
	if l, ok := r.saves.(ReadModelLoader); ok {
		return l.LoadReadModelsExcept(ctx, r.name, skip)
	}
	checkpoint, docs, err := r.saves.LoadReadModels(ctx, r.name)
	for key := range docs {
		for _, p := range skip {
			if strings.HasPrefix(key, p) {
				delete(docs, key)
			}
		}
	}
	return checkpoint, docs, err
}

// versionReads bounds the reads of streams' versions in flight at once.
const versionReads = 8

// readVersions reads back, before a batch, the saved version of each
// stream with events the reaction takes that reacted does not hold (0
// for one never handled), and puts it there for the batch.
func (r *Reactor) readVersions(ctx context.Context, events []Envelope) error {
	if r.reader == nil {
		return nil
	}
	var refs []StreamRef
	seen := map[StreamRef]bool{}
	for _, env := range events {
		if _, held := r.reacted[env.Stream]; held || seen[env.Stream] || !r.reaction.reactsTo(env) {
			continue
		}
		seen[env.Stream] = true
		refs = append(refs, env.Stream)
	}
	versions := make([]int64, len(refs))
	errs := make([]error, len(refs))
	next := make(chan int)
	var wg sync.WaitGroup
	for range min(versionReads, len(refs)) {
		wg.Go(func() {
			for i := range next {
				versions[i], errs[i] = r.savedVersion(ctx, refs[i])
			}
		})
	}
	for i := range refs {
		next <- i
	}
	close(next)
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("reactor %s: reading streams' versions: %w", r.name, err)
	}
	for i, ref := range refs {
		r.reacted[ref] = versions[i]
	}
	return nil
}

// savedVersion is the version of the stream's last event handled, as the
// last save left it.
func (r *Reactor) savedVersion(ctx context.Context, ref StreamRef) (int64, error) {
	doc, err := r.reader.ReadModel(ctx, r.name, reactedKey+ref.String())
	if err != nil || doc == nil {
		return 0, err
	}
	var v int64
	if err := json.Unmarshal(doc, &v); err != nil {
		return 0, fmt.Errorf("%s%s: %w", reactedKey, ref, err)
	}
	return v, nil
}

// letGo forgets the streams' versions once saved, when they can be read
// back: what the reactor holds is then the next batch's.
func (r *Reactor) letGo() {
	if r.reader != nil && len(r.changedReacted) == 0 {
		clear(r.reacted)
	}
}

// scheduleDocs reads a stored schedule's documents from the reactor's
// saves, where they are kept behind scheduleKey.
type scheduleDocs struct {
	r    ReadModelReader
	name string
}

func (d scheduleDocs) Doc(ctx context.Context, key string) (json.RawMessage, error) {
	return d.r.ReadModel(ctx, d.name, scheduleKey+key)
}

func (d scheduleDocs) Range(ctx context.Context, q DocRange) ([]Doc, error) {
	q.Prefix = scheduleKey + q.Prefix
	if q.Before != "" {
		q.Before = scheduleKey + q.Before
	}
	docs, err := d.r.ReadModelRange(ctx, d.name, q)
	for i := range docs {
		docs[i].Key = strings.TrimPrefix(docs[i].Key, scheduleKey)
	}
	return docs, err
}

// Run follows the feed until ctx ends, resuming from the last checkpoint
// after any failure, and asks a timed reaction what is due every Every. It
// returns an error matching ErrFenced when its fence says another process
// reacts now (it saves nothing more then), nil when ctx ends. Reactors runs
// several on one Follow of the feed instead.
func (r *Reactor) Run(ctx context.Context) error {
	ctx, stop := context.WithCancelCause(ctx)
	defer stop(nil)
	defer r.start(ctx, stop)()
	return follow(ctx, r.feed, r.log, []*Reactor{r}, func() (string, error) { return r.resume(), nil }, r.apply)
}

// start marks the reactor running under ctx, whose stop ends it for good
// (the fence's ErrFenced), and starts a timed reaction's timer. The
// function it returns, once ctx has ended, waits for the timer and saves
// what is not saved yet (unless fenced).
func (r *Reactor) start(ctx context.Context, stop context.CancelCauseFunc) (end func()) {
	r.turn.Lock()
	r.stepDown = stop
	r.turn.Unlock()
	r.setRunning(true, nil)
	var timer chan struct{}
	if r.reaction.Schedule != nil {
		timer = make(chan struct{})
		go func() { defer close(timer); r.runTimer(ctx) }()
	}
	return func() {
		if timer != nil {
			<-timer
		}
		if !errors.Is(context.Cause(ctx), ErrFenced) {
			r.flush(ctx)
		}
		r.setRunning(false, nil)
	}
}

// resume is where a new Follow takes the reactor up: its checkpoint.
func (r *Reactor) resume() string {
	r.turn.Lock()
	defer r.turn.Unlock()
	r.chain = ""
	return r.reactedTo
}

// follow follows feed from where resume says, applying each batch with
// apply, again after each failure with a growing pause, until ctx ends
// (nil) or a reactor's fence ends it (the error, matching ErrFenced): the
// loop of one reactor (Reactor.Run) and of several on one feed
// (Reactors.Run), whose reactors share ctx and its stop.
func follow(ctx context.Context, feed Feed, log *slog.Logger, rs []*Reactor, resume func() (string, error), apply func(context.Context, Batch) error) error {
	delay := 100 * time.Millisecond
	for {
		from, err := resume()
		if err == nil {
			err = feed.Follow(ctx, from, apply)
		}
		if errors.Is(err, ErrFenced) || (err != nil && ctx.Err() == nil && anyFenced(ctx, rs)) {
			rs[0].fail(fmt.Errorf("%w: %w", ErrFenced, err))
		}
		if cause := context.Cause(ctx); errors.Is(cause, ErrFenced) {
			log.Warn("reactor stepping down: another process reacts now", "err", cause)
			return cause
		}
		if ctx.Err() != nil {
			return nil
		}
		if err == nil {
			err = errors.New("feed ended")
		}
		log.Error("reactor feed failed; resuming from checkpoint", "err", err, "retry_in", delay)
		for _, r := range rs {
			r.setRunning(true, err)
		}
		if !sleep(ctx, delay) {
			return nil
		}
		delay = min(delay*2, 5*time.Second)
	}
}

// anyFenced asks the reactors' fences whether another process reacts now.
func anyFenced(ctx context.Context, rs []*Reactor) bool {
	for _, r := range rs {
		if r.fenced(ctx) {
			return true
		}
	}
	return false
}

// fenced asks the fence whether another process reacts now.
func (r *Reactor) fenced(ctx context.Context) bool {
	return r.fence != nil && errors.Is(r.fence(ctx), ErrFenced)
}

// checkFence is the fence's answer, each failure but ErrFenced tried again;
// ErrFenced also ends Run. Called under turn.
func (r *Reactor) checkFence(ctx context.Context) error {
	if r.fence == nil {
		return nil
	}
	err := r.attempt(ctx, func() error { return r.fence(ctx) })
	if errors.Is(err, ErrFenced) {
		r.fail(err)
	}
	return err
}

// fail ends the running Run for good with err (matching ErrFenced).
func (r *Reactor) fail(err error) {
	if r.stepDown != nil {
		r.stepDown(err)
	}
}

func (r *Reactor) setRunning(running bool, err error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.running, r.lastErr = running, err
}

// flush saves what is not saved yet, as the reactor stops.
func (r *Reactor) flush(ctx context.Context) {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer cancel()
	r.turn.Lock()
	defer r.turn.Unlock()
	if err := r.save(ctx, r.reactedTo); err != nil {
		r.log.Error("saving reactor at stop", "err", err)
	}
}

// saveEvery is how often a reactor saves a checkpoint that only passed over
// events it does not react to: a crash costs passing over them again.
const saveEvery = time.Second

func (r *Reactor) apply(ctx context.Context, b Batch) error {
	r.turn.Lock()
	defer r.turn.Unlock()
	previous := r.reactedTo
	placed := r.order != nil && previous != "" && previous != r.chain
	if placed {
		// A feed shared with reactors further behind: a batch this
		// reactor's checkpoint covers was done before, and is passed over.
		done, err := r.order.Covers(previous, b.Checkpoint)
		if err != nil {
			return fmt.Errorf("reactor %s: placing a batch: %w", r.name, err)
		}
		if done {
			return nil
		}
	}
	if err := r.readVersions(ctx, b.Events); err != nil {
		return err
	}
	defer r.letGo()
	handled := false // an event of the batch was: its checkpoint is saved
	for _, env := range b.Events {
		if !r.reaction.reactsTo(env) || env.Version <= r.reacted[env.Stream] {
			continue
		}
		if !r.legacyDone[env.ID] {
			if err := r.react(ctx, env); err != nil {
				return err
			}
		}
		r.reacted[env.Stream] = env.Version
		r.changedReacted[env.Stream] = true
		handled = true
		if r.reaction.Schedule == nil && r.unsaved {
			// Its commands ran: saved at once, with the checkpoint before
			// this batch. After a restart the batch comes again and the
			// event is passed over by its version, however many commands
			// the stream took since (the store remembers a stream's last
			// few command ids only).
			if err := r.save(ctx, previous); err != nil {
				return err
			}
		}
		if len(r.changed)+len(r.changedReacted) >= DocsPerSave(r.saves)-saveMargin {
			// Saved with the checkpoint before this batch: after a restart
			// the batch comes again, and what was handled is passed over.
			if err := r.save(ctx, previous); err != nil {
				return err
			}
		}
	}
	next := b.Checkpoint
	if placed {
		// A batch that straddles the checkpoint: its events done before
		// were passed over by their streams' versions. One the feed cannot
		// place past the checkpoint leaves it where it is (never moved
		// back), until a batch that is.
		ahead, err := r.order.Covers(b.Checkpoint, previous)
		if err != nil {
			return fmt.Errorf("reactor %s: placing a batch: %w", r.name, err)
		}
		if !ahead {
			next = previous
		}
	}
	r.reactedTo = next
	if next == b.Checkpoint {
		r.chain = next
	}
	if handled || r.unsaved || len(r.changed) > 0 || time.Since(r.savedAt) >= saveEvery {
		return r.save(ctx, next)
	}
	return nil
}

// saveMargin is what a save holds besides the changed documents: the
// outcomes, the two lists, the old "done" document's deletion, and the
// documents of the event that made it due (its stream's version and what
// its schedule's Watch changed).
const saveMargin = 4 + 1 + MaxWatchDocs

// react runs the reaction on one event: a schedule watches it; otherwise
// the reaction's commands are issued. Only ctx's end, the fence (ErrFenced)
// and a fence that keeps failing fail it: the event comes again.
func (r *Reactor) react(ctx context.Context, env Envelope) error {
	if s := r.reaction.Schedule; s != nil {
		var keys []string
		err := r.attempt(ctx, func() (err error) {
			keys, err = guard(func() ([]string, error) { return s.Watch(ctx, env) })
			return err
		})
		if err != nil {
			return r.failed(ctx, env, err)
		}
		for _, k := range keys {
			r.changed[k] = true
		}
		return nil
	}
	var cmds []IssuedCommand
	err := r.attempt(ctx, func() (err error) {
		cmds, err = r.reaction.Commands(ctx, r.store, env)
		return err
	})
	if err != nil {
		return r.failed(ctx, env, err)
	}
	if len(cmds) > 0 {
		if err := r.checkFence(ctx); err != nil {
			return err // ErrFenced, or ctx's end: the event comes again
		}
	}
	for i, c := range cmds {
		cause := DueCommand{IssuedCommand: c, CauseID: env.ID, CauseStream: env.Stream, CauseCorrelation: env.CorrelationID}
		if err := r.attempt(ctx, func() error { return r.issue(ctx, cause, i) }); err != nil {
			return r.failed(ctx, env, fmt.Errorf("command %d for %s: %w", i, c.Stream, err))
		}
	}
	return nil
}

// failed parks env for err, unless ctx has ended (then the event comes
// again after the restart).
func (r *Reactor) failed(ctx context.Context, env Envelope, err error) error {
	if ctx.Err() != nil {
		return ctx.Err()
	}
	r.park(env, err)
	return nil
}

// attempt runs f until it succeeds, fails for good, or has failed
// r.attempts times, waiting longer after each failure.
func (r *Reactor) attempt(ctx context.Context, f func() error) error {
	delay := r.backoff
	for n := 1; ; n++ {
		err := f()
		var p permanentError
		if err == nil || errors.As(err, &p) || errors.Is(err, ErrFenced) || n >= r.attempts || ctx.Err() != nil {
			return err
		}
		r.log.Warn("reaction failed; trying again", "err", err, "attempt", n, "retry_in", delay)
		if !sleep(ctx, delay) {
			return ctx.Err()
		}
		delay = min(delay*2, 5*time.Second)
	}
}

// issue runs the index-th command for a cause and records its outcome. It
// fails only for an error worth trying again (the store's) or for good
// (permanentError).
func (r *Reactor) issue(ctx context.Context, c DueCommand, index int) error {
	meta := Meta{
		Expected:      AnyVersion,
		CommandID:     ReactionCommandID(r.reaction.Name, c.CauseID, index),
		Actor:         SystemActor(r.reaction.Name),
		CorrelationID: c.CauseCorrelation,
		CausationID:   c.CauseID,
	}
	if c.AtVersion > 0 {
		meta.Expected = c.AtVersion
	}
	if meta.CorrelationID == "" {
		meta.CorrelationID = c.CauseID
	}
	res, err := guard(func() (Dispatched, error) { return r.commands.Dispatch(ctx, c.Stream, meta, c.Command) })
	var domain *Error
	var conflict *ConflictError
	switch {
	case err == nil:
		r.count(func(o *ReactionOutcomes) {
			if res.Repeated {
				o.Repeated++
			} else {
				o.OK++
			}
		})
		r.log.Info("reaction issued a command", "stream", c.Stream.String(), "version", res.Version, "command_id", meta.CommandID, "repeated", res.Repeated)
		if r.after != nil {
			r.after()
		}
		return nil
	case errors.As(err, &domain):
		r.refused(c, domain.Code, domain.Message)
		return nil
	case errors.As(err, &conflict) && c.AtVersion > 0:
		r.refused(c, "VersionConflict", conflict.Error())
		return nil
	}
	return err
}

func (r *Reactor) refused(c DueCommand, code, message string) {
	r.log.Info("reaction's command refused", "stream", c.Stream.String(), "cause", c.CauseID, "code", code, "message", message)
	r.mu.Lock()
	defer r.mu.Unlock()
	r.outcomes.Refused++
	r.refusals = keepLast(append(r.refusals, Refusal{CauseID: c.CauseID, Stream: c.Stream.String(), Code: code, Message: message, At: r.now()}))
	r.unsaved = true
}

func (r *Reactor) park(env Envelope, cause error) {
	r.log.Error("parking event: the reaction keeps failing on it", "stream", env.Stream.String(), "version", env.Version, "type", env.Type, "event_id", env.ID, "err", cause)
	r.mu.Lock()
	defer r.mu.Unlock()
	r.outcomes.Parked++
	r.parked = keepLast(append(r.parked, ParkedReaction{
		EventID: env.ID, Stream: env.Stream.String(), Version: env.Version, Type: env.Type, Error: cause.Error(), At: r.now(),
	}))
	r.unsaved = true
}

func (r *Reactor) count(f func(*ReactionOutcomes)) {
	r.mu.Lock()
	defer r.mu.Unlock()
	f(&r.outcomes)
	r.unsaved = true
}

func keepLast[T any](s []T) []T {
	if len(s) > keepListed {
		return slices.Clone(s[len(s)-keepListed:])
	}
	return s
}

// save writes the outcomes, the lists, the schedule's changed documents and
// the checkpoint in one step.
func (r *Reactor) save(ctx context.Context, checkpoint string) error {
	r.mu.Lock()
	docs := map[string]json.RawMessage{}
	var err error
	if docs[outcomesKey], err = json.Marshal(r.outcomes); err == nil {
		if docs[parkedKey], err = json.Marshal(r.parked); err == nil {
			docs[refusalsKey], err = json.Marshal(r.refusals)
		}
	}
	r.mu.Unlock()
	if err != nil {
		return fmt.Errorf("encoding reactor %s: %w", r.name, err)
	}
	if r.legacySaved {
		docs[doneKey] = nil
	}
	for ref := range r.changedReacted {
		docs[reactedKey+ref.String()] = strconv.AppendInt(nil, r.reacted[ref], 10)
	}
	for key := range r.changed {
		if docs[scheduleKey+key], err = r.reaction.Schedule.Doc(key); err != nil {
			return fmt.Errorf("encoding reactor %s document %s: %w", r.name, key, err)
		}
	}
	if err := r.saves.SaveReadModels(ctx, r.name, checkpoint, docs); err != nil {
		return fmt.Errorf("saving reactor %s: %w", r.name, err)
	}
	if r.stored != nil && r.reader != nil {
		r.stored.Saved()
	}
	clear(r.changed)
	clear(r.changedReacted)
	r.unsaved, r.savedAt, r.legacySaved = false, time.Now(), false
	r.mu.Lock()
	r.checkpoint = checkpoint
	r.mu.Unlock()
	return nil
}

// runTimer asks the schedule what is due every Every, until ctx ends.
func (r *Reactor) runTimer(ctx context.Context) {
	t := time.NewTicker(r.reaction.Every)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			r.Tick(ctx)
		}
	}
}

// Tick issues the timed reaction's commands due now (by the reactor's
// clock): each once while the process runs, and once ever by its command id.
// A command that fails on the store is tried again at the next tick.
func (r *Reactor) Tick(ctx context.Context) {
	s := r.reaction.Schedule
	if s == nil {
		return
	}
	r.turn.Lock()
	defer r.turn.Unlock()
	now := r.now()
	due, err := guard(func() ([]DueCommand, error) { return s.Due(ctx, now) })
	if err != nil {
		r.log.Error("reaction's schedule failed; trying again at the next tick", "err", err)
		return
	}
	type pending struct {
		DueCommand
		index int
		id    string
	}
	var todo []pending
	index := map[string]int{}
	for _, d := range due {
		i := index[d.CauseID]
		index[d.CauseID]++
		if id := ReactionCommandID(r.reaction.Name, d.CauseID, i); !r.issued[id] {
			todo = append(todo, pending{d, i, id})
		}
	}
	if len(todo) == 0 {
		return
	}
	if err := r.checkFence(ctx); err != nil {
		r.log.Warn("reaction's commands due not issued: the fence failed", "err", err)
		return
	}
	for _, d := range todo {
		err := r.issue(ctx, d.DueCommand, d.index)
		var p permanentError
		switch {
		case errors.As(err, &p):
			r.park(Envelope{ID: d.CauseID, Stream: d.CauseStream}, err)
		case err != nil:
			r.log.Warn("reaction's command failed; trying again at the next tick", "stream", d.Stream.String(), "err", err)
			continue
		}
		if len(r.issued) >= issuedKeep {
			clear(r.issued)
		}
		r.issued[d.id] = true
	}
	if r.unsaved {
		if err := r.save(ctx, r.reactedTo); err != nil {
			r.log.Warn("saving reactor after a tick", "err", err)
		}
	}
}

// ReactorStatus is how a reactor is doing, for the dashboard.
type ReactorStatus struct {
	Name       string
	Running    bool
	Checkpoint string
	Outcomes   ReactionOutcomes
	// Parked and Refusals are the latest (at most 50 of each), oldest first.
	Parked   []ParkedReaction
	Refusals []Refusal
	Err      error
}

// Status reports how the reactor is doing.
func (r *Reactor) Status() ReactorStatus {
	r.mu.Lock()
	defer r.mu.Unlock()
	return ReactorStatus{
		Name: r.reaction.Name, Running: r.running, Checkpoint: r.checkpoint, Outcomes: r.outcomes,
		Parked: slices.Clone(r.parked), Refusals: slices.Clone(r.refusals), Err: r.lastErr,
	}
}

// guard runs f, turning a panic into a permanent error.
func guard[T any](f func() (T, error)) (v T, err error) {
	defer func() {
		if p := recover(); p != nil {
			err = permanent(fmt.Errorf("panicked: %v", p))
		}
	}()
	return f()
}

func sleep(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
		return true
	}
}
