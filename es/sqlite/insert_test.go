package sqlite

import (
	"context"
	"fmt"
	"strconv"
	"sync"
	"testing"

	"github.com/foldboard/foldboard/es"
)

// Appends of more events than one INSERT writes, grouped with others, each
// learn the positions the log gives their events, in their own order, and a
// refused one leaves no event of any of its statements behind.
func TestAppendsOfManyEventsLearnTheirPositionsInTheLog(t *testing.T) {
	s := groupStore(t)
	ctx := context.Background()
	sizes := []int{1, maxEventsPerInsert - 1, maxEventsPerInsert, maxEventsPerInsert + 1, 2*maxEventsPerInsert + 5}
	results := make([]es.AppendResult, len(sizes))
	var wg sync.WaitGroup
	for i, n := range sizes {
		wg.Go(func() {
			res, err := s.Append(ctx, appendReq(fmt.Sprintf("many-%d", i), 0, n, ""))
			if err != nil {
				t.Errorf("append of %d events: %v", n, err)
			}
			results[i] = res
		})
	}
	wg.Wait()
	// A refused append of many events: its last statement's event id
	// collides with one written, so its first statements are rolled back.
	refused := appendReq("many-refused", 0, 2*maxEventsPerInsert+1, "")
	refused.Events[len(refused.Events)-1].ID = results[0].Events[0].ID
	if _, err := s.Append(ctx, refused); err == nil {
		t.Fatal("an append repeating an event id was written")
	}

	page, err := s.ReadLog(ctx, es.LogQuery{Limit: 1000})
	if err != nil {
		t.Fatal(err)
	}
	inLog := map[string]string{}
	for _, e := range page.Events {
		inLog[e.ID] = e.Position
	}
	total := 0
	for i, res := range results {
		if len(res.Events) != sizes[i] {
			t.Fatalf("append %d: %d events back, want %d", i, len(res.Events), sizes[i])
		}
		total += sizes[i]
		for j, e := range res.Events {
			if e.Position == "" || inLog[e.ID] != e.Position {
				t.Errorf("append %d, event %d (%s): position %q, the log's %q", i, j, e.ID, e.Position, inLog[e.ID])
			}
			if j > 0 && logPosition(t, e) != logPosition(t, res.Events[j-1])+1 {
				t.Errorf("append %d: event %d at %s, not after %s", i, j, e.Position, res.Events[j-1].Position)
			}
		}
	}
	if len(page.Events) != total {
		t.Errorf("the log holds %d events, the appends wrote %d", len(page.Events), total)
	}
}

func logPosition(t *testing.T, e es.Envelope) int64 {
	t.Helper()
	p, err := strconv.ParseInt(e.Position, 10, 64)
	if err != nil {
		t.Fatalf("event %s: position %q: %v", e.ID, e.Position, err)
	}
	return p
}
