package handlers

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"runtime"
	"sync"
	"time"

	"github.com/foldboard/foldboard/es"
	"github.com/foldboard/foldboard/projections"
	"github.com/foldboard/foldboard/views"
)

// The slider's read models: at version N of a stream, what each read model
// made of event N, as it was then, by a replay into fresh models: of the
// stream's own events for most, of the log up to the event for those whose
// documents gather many streams (ReadModel.Across). Both replays are
// bounded; a longer history says so instead. The documents of the first
// kind that gather other streams too (a list's counts, a chain) are not
// shown: one stream's replay would give its share as the whole (the chain
// is on the timeline as the event's cause and effects).
//
// Even bounded, a replay is the dearest read there is (10,000 events of a
// stream and 20,000 of the log: 0.3-1.2 s of a core, where a page takes
// milliseconds), so: the log is replayed only for an event that an Across
// model turns into a document by itself (a day's sales: a checkout, whatever
// came before it; every other event leaves those models as they were); and
// replays run one at a time per client address and as many at once as the
// machine has cores (replayGate), so that one client cannot take every core
// by opening timelines.
const (
	rowsStreamLimit = 10_000
	rowsLogLimit    = 20_000
	// replayWait is how long a timeline waits for its turn to replay.
	replayWait = 2 * time.Second
)

// rowsAt is what every read model made of event (version v of ref).
func (a *App) rowsAt(r *http.Request, ref es.StreamRef, event *es.Envelope) ([]projections.Row, []string, error) {
	if event == nil {
		return nil, nil, nil
	}
	ctx := r.Context()
	var own, across []projections.ReadModel
	for _, rm := range ReadModels(a.modules) {
		if !rm.Across {
			own = append(own, rm)
			continue
		}
		alone, err := projections.ReplayRows([]projections.ReadModel{rm}, []es.Envelope{*event})
		if err != nil {
			return nil, nil, err
		}
		if len(alone) > 0 {
			across = append(across, rm)
		}
	}
	leave, ok := a.replays.enter(ctx, ClientAddress(r))
	if !ok {
		return nil, []string{"Other timelines are being replayed just now: step again in a moment to see the read models."}, nil
	}
	defer leave()
	var notes []string
	var rows []projections.Row
	if events, ok, err := a.streamUpTo(ctx, ref, event.Version); err != nil {
		return nil, nil, err
	} else if !ok {
		notes = append(notes, "The stream is too long before this event to replay here.")
	} else if rows, err = projections.ReplayStreamRows(own, events); err != nil {
		return nil, nil, err
	}
	if len(across) > 0 {
		events, ok, err := a.logUpTo(ctx, *event)
		if err != nil {
			return nil, nil, err
		}
		if !ok {
			notes = append(notes, "The log before this event is too long to replay the read models of many streams here.")
		} else {
			more, err := projections.ReplayRows(across, events)
			if err != nil {
				return nil, nil, err
			}
			rows = append(rows, more...)
		}
	}
	return rows, notes, nil
}

// replayGate lets a client address replay one timeline at a time, and
// every address together as many as the machine has cores.
type replayGate struct {
	slots chan struct{}
	mu    sync.Mutex
	addrs map[string]*addrTurn
}

// addrTurn is one address's turn, and how many of its requests want it.
type addrTurn struct {
	turn    chan struct{}
	waiting int
}

func newReplayGate() *replayGate {
	return &replayGate{slots: make(chan struct{}, max(2, runtime.GOMAXPROCS(0))), addrs: map[string]*addrTurn{}}
}

// enter waits up to replayWait for addr's turn and a free slot; leave ends
// the turn. ok is false when the wait ran out or ctx ended.
func (g *replayGate) enter(ctx context.Context, addr string) (leave func(), ok bool) {
	g.mu.Lock()
	t := g.addrs[addr]
	if t == nil {
		t = &addrTurn{turn: make(chan struct{}, 1)}
		g.addrs[addr] = t
	}
	t.waiting++
	g.mu.Unlock()
	done := func() {
		g.mu.Lock()
		if t.waiting--; t.waiting == 0 {
			delete(g.addrs, addr)
		}
		g.mu.Unlock()
	}
	wait := time.NewTimer(replayWait)
	defer wait.Stop()
	select {
	case t.turn <- struct{}{}:
	case <-wait.C:
		done()
		return nil, false
	case <-ctx.Done():
		done()
		return nil, false
	}
	select {
	case g.slots <- struct{}{}:
	case <-wait.C:
		<-t.turn
		done()
		return nil, false
	case <-ctx.Done():
		<-t.turn
		done()
		return nil, false
	}
	return func() {
		<-g.slots
		<-t.turn
		done()
	}, true
}

// streamUpTo reads a stream's events 1..v; ok is false past the limit.
func (a *App) streamUpTo(ctx context.Context, ref es.StreamRef, v int64) ([]es.Envelope, bool, error) {
	if v > rowsStreamLimit {
		return nil, false, nil
	}
	var out []es.Envelope
	for from := int64(1); from <= v; {
		page, err := a.store.ReadStream(ctx, ref, es.ReadOptions{From: from, Limit: int(min(v-from+1, 1000))})
		if err != nil || len(page) == 0 {
			return out, err == nil, err
		}
		out = append(out, page...)
		from = page[len(page)-1].Version + 1
	}
	return out, true, nil
}

// logUpTo reads the log from its start to event; ok is false past the
// limit.
func (a *App) logUpTo(ctx context.Context, event es.Envelope) ([]es.Envelope, bool, error) {
	var out []es.Envelope
	for after := ""; len(out) < rowsLogLimit; {
		page, err := a.store.ReadLog(ctx, es.LogQuery{After: after, Limit: 1000})
		if err != nil {
			return nil, false, err
		}
		for _, e := range page.Events {
			out = append(out, e)
			if e.ID == event.ID {
				return out, true, nil
			}
		}
		if page.Next == "" || len(page.Events) == 0 {
			return out, true, nil // not in the log (yet): what there is
		}
		after = page.Next
	}
	return nil, false, nil
}

// rowViews are rows as the timeline shows them.
func rowViews(rows []projections.Row) ([]views.ModelRow, error) {
	out := make([]views.ModelRow, 0, len(rows))
	for _, r := range rows {
		var before, after any
		if r.Before != nil {
			before = r.Before
		}
		if r.After != nil {
			after = r.After
		}
		changes, err := diffStates(before, after)
		if err != nil {
			return nil, err
		}
		out = append(out, views.ModelRow{Model: r.Model, Key: r.Key, After: indent(r.After), New: r.Before == nil, Changes: changes})
	}
	return out, nil
}

func indent(doc json.RawMessage) string {
	if doc == nil {
		return "(gone)"
	}
	var b bytes.Buffer
	if err := json.Indent(&b, doc, "", "  "); err != nil {
		return string(doc)
	}
	return b.String()
}
