package web

import (
	"context"
	"sync"
	"time"

	"github.com/foldboard/foldboard/es"
	"github.com/foldboard/foldboard/projections"
)

// appendLog is the newest version this process appended to each stream
// not yet known to be applied: a graceful stop lets the projector reach
// them (drain), so that a restart finds the read models current.
type appendLog struct {
	mu       sync.Mutex
	appended map[es.StreamRef]int64
	// reading is set while one append reads back the versions of streams
	// the catalogue no longer holds (see note).
	reading bool
}

func newAppendLog() *appendLog { return &appendLog{appended: map[es.StreamRef]int64{}} }

// note records an append; cat is the catalogue of the read models served,
// to forget the streams they have reached.
func (a *appendLog) note(res es.AppendResult, cat *projections.Catalogue) {
	if len(res.Events) == 0 {
		return
	}
	stream := res.Events[0].Stream
	a.mu.Lock()
	if res.Version > a.appended[stream] {
		a.appended[stream] = res.Version
	}
	// Keep the map to the streams still in the projector's way: once in a
	// while, forget those it has applied, as the catalogue holds them
	// (their versions are in memory from their apply until a cache lets
	// them go); those it let go of are read back by one append at a time,
	// out of the lock, so that the map stays bounded however long they
	// waited.
	var unheld []es.StreamRef
	if len(a.appended) >= 1024 {
		for ref, v := range a.appended {
			info, held := cat.Held(ref)
			switch {
			case held && (info.Version >= v || info.Parked != ""):
				delete(a.appended, ref)
			case !held && !a.reading && len(unheld) < 256:
				unheld = append(unheld, ref)
			}
		}
	}
	a.reading = a.reading || len(unheld) > 0
	a.mu.Unlock()
	if len(unheld) == 0 {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	reached := map[es.StreamRef]int64{}
	for _, ref := range unheld {
		info, ok, err := cat.Stream(ctx, ref)
		if err != nil {
			break
		}
		if ok && info.Parked != "" {
			info.Version = 1 << 62
		}
		reached[ref] = info.Version
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	a.reading = false
	for ref, at := range reached {
		if v, ok := a.appended[ref]; ok && at >= v {
			delete(a.appended, ref)
		}
	}
}

// drain waits until p has applied every append noted (or parked its
// stream), or ctx ends; it reports whether it got there. The appends it
// waits for are those noted when it began.
func (a *appendLog) drain(ctx context.Context, p func() *projections.Projector) bool {
	a.mu.Lock()
	pending := make(map[es.StreamRef]int64, len(a.appended))
	for ref, v := range a.appended {
		pending[ref] = v
	}
	a.mu.Unlock()
	for ref, v := range pending {
		if !p().WaitFor(ctx, ref, v) {
			return false
		}
	}
	return true
}
