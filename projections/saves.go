package projections

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/foldboard/foldboard/es"
)

// DefaultSaveEvery is how often the server's projectors write their read
// models: a crash costs at most this much re-application at the next start.
const DefaultSaveEvery = 200 * time.Millisecond

// DeferredSaves is a ReadModelStore that merges a projector's saves and
// writes them at most once per interval: the read models live in memory and
// are served from there, and what is saved is only where a restart resumes.
// Saving every batch cost a write transaction (and its fsync) per command at
// low load, on the same single writer as the commands' appends; merged, it
// costs a few a second however fast commands come.
//
// What it writes stays consistent: every write holds every document changed
// since the last one, with the checkpoint of the newest save it merged, so a
// restart finds the read models exactly as they stood at that checkpoint,
// never ahead of it. At most one interval of applied events is not yet
// written; after a crash the projector applies them again from the saved
// checkpoint. Pending documents are written sooner when merging another
// save would make more than one save of the store takes (es.DocsPerSave:
// es.MaxDocsPerSave, or more for a store that says so, as SQLite does), and
// by Flush, which a projector's owner calls when it stops.
//
// A write the store refuses as fenced (es.ErrFenced: in a cluster, the
// lease's epoch is no longer this holder's) is never tried again: what is
// pending is dropped and every later save and flush fails so at once. Tried
// again, it would be tried forever while another holds the lease, and be
// written once this instance held the lease again, under the new epoch, the
// deposed projector's documents and checkpoint over the new ones'.
type DeferredSaves struct {
	store es.ReadModelStore
	every time.Duration
	log   *slog.Logger
	max   int // documents in one write: es.DocsPerSave(store)

	mu      sync.Mutex // serialises writes; guards what follows
	pending map[string]*pendingSave
	// writes counts the writes to the store: a read of the store that
	// saw none begin or end around it read what was there before the
	// pending documents.
	writes uint64
	timer  *time.Timer
	closed bool
	// fenced is the store's refusal of a fenced write, for good.
	fenced error
}

type pendingSave struct {
	checkpoint string
	docs       map[string]json.RawMessage
	written    time.Time // when this projector's documents were last written
}

// DeferSaves wraps store so that saves are written at most every interval.
func DeferSaves(store es.ReadModelStore, every time.Duration, log *slog.Logger) *DeferredSaves {
	if log == nil {
		log = slog.Default()
	}
	return &DeferredSaves{store: store, every: every, log: log, max: es.DocsPerSave(store), pending: map[string]*pendingSave{}}
}

// MaxDocsPerSave is what one save of the store beneath takes
// (es.SaveCapacity): a save merged with what is pending is written in one.
func (d *DeferredSaves) MaxDocsPerSave() int { return d.max }

// LoadReadModels writes what is pending for the projector, then loads.
func (d *DeferredSaves) LoadReadModels(ctx context.Context, projector string) (string, map[string]json.RawMessage, error) {
	d.mu.Lock()
	err := d.write(ctx, projector)
	d.mu.Unlock()
	if err != nil {
		return "", nil, err
	}
	return d.store.LoadReadModels(ctx, projector)
}

// SaveReadModels merges the save into what is pending for the projector and
// writes it when the interval since the last write has passed; otherwise a
// timer writes it at the end of the interval. An error is a failed write of
// this save or of earlier ones, which stay pending and are written with the
// next.
func (d *DeferredSaves) SaveReadModels(ctx context.Context, projector, checkpoint string, docs map[string]json.RawMessage) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.fenced != nil {
		return d.fenced
	}
	if d.closed {
		return d.fence(d.store.SaveReadModels(ctx, projector, checkpoint, docs))
	}
	p := d.pending[projector]
	if p == nil {
		p = &pendingSave{}
		d.pending[projector] = p
	}
	if p.docs != nil {
		more := 0
		for key := range docs {
			if _, ok := p.docs[key]; !ok {
				more++
			}
		}
		if len(p.docs)+more > d.max {
			// Too many for one write: write what is pending first, as it
			// stood at its own checkpoint.
			if err := d.write(ctx, projector); err != nil {
				return err
			}
		}
	}
	if p.docs == nil {
		p.docs = make(map[string]json.RawMessage, len(docs))
	}
	for key, doc := range docs {
		p.docs[key] = doc
	}
	p.checkpoint = checkpoint
	if wait := time.Until(p.written.Add(d.every)); wait > 0 {
		d.later(wait)
		return nil
	}
	return d.write(ctx, projector)
}

// later makes sure a timer writes everything pending within wait.
func (d *DeferredSaves) later(wait time.Duration) {
	if d.timer != nil {
		return
	}
	d.timer = time.AfterFunc(wait, func() {
		d.mu.Lock()
		defer d.mu.Unlock()
		d.timer = nil
		if d.closed {
			return
		}
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if err := d.writeAll(ctx); d.fenced != nil {
			d.log.Warn("saving read models: refused, another instance holds the lease; the pending saves are dropped", "err", err)
		} else if err != nil {
			d.log.Error("saving read models; will try again", "err", err)
			d.later(max(d.every, time.Second))
		}
	})
}

// write writes what is pending for one projector, if anything.
func (d *DeferredSaves) write(ctx context.Context, projector string) error {
	p := d.pending[projector]
	if p == nil || p.docs == nil {
		return nil
	}
	if d.fenced != nil {
		return d.fenced
	}
	d.writes++ // a read of the store from now may see this write, or part of it
	if err := d.fence(d.store.SaveReadModels(ctx, projector, p.checkpoint, p.docs)); err != nil {
		return err
	}
	d.writes++
	p.docs = nil
	p.written = time.Now()
	return nil
}

func (d *DeferredSaves) writeAll(ctx context.Context) error {
	if d.fenced != nil {
		return d.fenced
	}
	var errs []error
	for projector := range d.pending {
		errs = append(errs, d.write(ctx, projector))
	}
	return errors.Join(errs...)
}

// fence keeps a fenced refusal for good and drops what is pending: no write
// of these saves may ever be made (DeferredSaves). Other errors pass.
func (d *DeferredSaves) fence(err error) error {
	if err != nil && errors.Is(err, es.ErrFenced) {
		d.fenced = err
		clear(d.pending)
		if d.timer != nil {
			d.timer.Stop()
			d.timer = nil
		}
	}
	return err
}

// Flush writes everything pending now.
func (d *DeferredSaves) Flush(ctx context.Context) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.writeAll(ctx)
}

// Close writes everything pending and makes later saves write at once.
func (d *DeferredSaves) Close(ctx context.Context) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.closed = true
	if d.timer != nil {
		d.timer.Stop()
		d.timer = nil
	}
	return d.writeAll(ctx)
}

var _ es.ReadModelReader = (*DeferredSaves)(nil)

// SaveMark is the store's (es.SaveMarker): a follower's loads ask it, and
// its saves are its holder's, never pending here. A store that marks no
// saves is marked by its checkpoint.
func (d *DeferredSaves) SaveMark(ctx context.Context, projector string) (string, error) {
	return es.SaveMarkOf(ctx, d.store, projector)
}

// readAttempts is how many times a read of the store is tried before it is
// made with writes held off.
const readAttempts = 3

// ReadModel reads the document as the projector last saved it: pending here,
// or else in the store. A read of the store that a write of pending
// documents overlapped is made again: it may have missed them both here and
// there.
func (d *DeferredSaves) ReadModel(ctx context.Context, projector, key string) (json.RawMessage, error) {
	r, ok := d.store.(es.ReadModelReader)
	if !ok {
		return nil, fmt.Errorf("projections: %T reads no documents on demand", d.store)
	}
	for attempt := 1; ; attempt++ {
		d.mu.Lock()
		if p := d.pending[projector]; p != nil {
			if doc, ok := p.docs[key]; ok {
				d.mu.Unlock()
				return doc, nil
			}
		}
		if attempt == readAttempts {
			defer d.mu.Unlock()
			return r.ReadModel(ctx, projector, key)
		}
		writes := d.writes
		d.mu.Unlock()
		doc, err := r.ReadModel(ctx, projector, key)
		d.mu.Lock()
		same := d.writes == writes
		d.mu.Unlock()
		if same || err != nil {
			return doc, err
		}
	}
}

// ReadModelRange reads the store's range with what is pending in it laid
// over: pending documents of the range added, deleted ones taken out.
func (d *DeferredSaves) ReadModelRange(ctx context.Context, projector string, q es.DocRange) ([]es.Doc, error) {
	r, ok := d.store.(es.ReadModelReader)
	if !ok {
		return nil, fmt.Errorf("projections: %T reads no documents on demand", d.store)
	}
	upper, limit := q.RangeUpper(), q.RangeLimit()
	for attempt := 1; ; attempt++ {
		d.mu.Lock()
		over := map[string]json.RawMessage{}
		if p := d.pending[projector]; p != nil {
			for key, doc := range p.docs {
				if strings.HasPrefix(key, q.Prefix) && (upper == "" || key < upper) {
					over[key] = doc
				}
			}
		}
		writes := d.writes
		held := attempt == readAttempts
		if !held {
			d.mu.Unlock()
		}
		// Each pending document may hide one of the store's.
		docs, err := r.ReadModelRange(ctx, projector, es.DocRange{Prefix: q.Prefix, Before: q.Before, Limit: min(limit+len(over), es.MaxDocRange), Ascending: q.Ascending})
		if !held {
			d.mu.Lock()
		}
		same := d.writes == writes
		d.mu.Unlock()
		if err != nil {
			return nil, err
		}
		if !same {
			continue
		}
		if len(docs) == min(limit+len(over), es.MaxDocRange) && len(docs) > 0 {
			// The store has more: pending documents past its last one
			// (below it; above it, ascending) would come after documents
			// it did not return.
			last := docs[len(docs)-1].Key
			for key := range over {
				if (key < last) != q.Ascending && key != last {
					delete(over, key)
				}
			}
		}
		merged := make([]es.Doc, 0, len(docs)+len(over))
		for _, doc := range docs {
			if _, ok := over[doc.Key]; !ok {
				merged = append(merged, doc)
			}
		}
		for key, doc := range over {
			if doc != nil {
				merged = append(merged, es.Doc{Key: key, Data: doc})
			}
		}
		slices.SortFunc(merged, func(a, b es.Doc) int {
			if q.Ascending {
				return strings.Compare(a.Key, b.Key)
			}
			return strings.Compare(b.Key, a.Key)
		})
		return merged[:min(len(merged), limit)], nil
	}
}

var _ es.ReadModelLoader = (*DeferredSaves)(nil)

// LoadReadModelsExcept writes what is pending for the projector, then loads
// all but the prefixes skipped (all, from a store that cannot leave them
// out).
func (d *DeferredSaves) LoadReadModelsExcept(ctx context.Context, projector string, skip []string) (string, map[string]json.RawMessage, error) {
	d.mu.Lock()
	err := d.write(ctx, projector)
	d.mu.Unlock()
	if err != nil {
		return "", nil, err
	}
	if l, ok := d.store.(es.ReadModelLoader); ok {
		return l.LoadReadModelsExcept(ctx, projector, skip)
	}
	return d.store.LoadReadModels(ctx, projector)
}
