package sqlite_test

import (
	"context"
	"fmt"
	"path/filepath"
	"reflect"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/foldboard/foldboard/es"
	"github.com/foldboard/foldboard/es/sqlite"
)

// collector follows a store's feed and keeps every event it delivers.
type collector struct {
	mu     sync.Mutex
	events []es.Envelope
	cancel context.CancelFunc
	done   chan error
}

func collect(t *testing.T, s *sqlite.Store, from string) *collector {
	t.Helper()
	ctx, cancel := context.WithCancel(t.Context())
	c := &collector{cancel: cancel, done: make(chan error, 1)}
	go func() {
		c.done <- s.Feed().Follow(ctx, from, func(_ context.Context, b es.Batch) error {
			c.mu.Lock()
			defer c.mu.Unlock()
			c.events = append(c.events, b.Events...)
			return nil
		})
	}()
	t.Cleanup(func() {
		cancel()
		if err := <-c.done; err != nil {
			t.Errorf("Follow: %v", err)
		}
	})
	return c
}

// waitFor waits until the feed has delivered n events and returns them.
func (c *collector) waitFor(t *testing.T, n int) []es.Envelope {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for {
		c.mu.Lock()
		got := append([]es.Envelope(nil), c.events...)
		c.mu.Unlock()
		if len(got) >= n {
			return got
		}
		if time.Now().After(deadline) {
			t.Fatalf("the feed delivered %d events in 60 s, want %d", len(got), n)
		}
		time.Sleep(time.Millisecond)
	}
}

// wholeLog reads the store's log from the file.
func wholeLog(t *testing.T, s *sqlite.Store) []es.Envelope {
	t.Helper()
	var all []es.Envelope
	for cursor := ""; ; {
		page, err := s.ReadLog(t.Context(), es.LogQuery{After: cursor, Limit: 1000})
		if err != nil {
			t.Fatal(err)
		}
		if len(page.Events) == 0 {
			return all
		}
		all = append(all, page.Events...)
		cursor = page.Next
	}
}

// sameAsFile fails unless the feed delivered the file's log, event for event
// and field for field.
func sameAsFile(t *testing.T, s *sqlite.Store, got []es.Envelope) {
	t.Helper()
	want := wholeLog(t, s)
	if len(got) != len(want) {
		t.Fatalf("the feed delivered %d events, the file holds %d", len(got), len(want))
	}
	for i := range want {
		if !reflect.DeepEqual(got[i], want[i]) {
			t.Fatalf("event %d from the feed:\n%+v\nfrom the file:\n%+v", i+1, got[i], want[i])
		}
	}
}

// The feed takes this process's appends from memory, and they are what the
// file holds, field for field: a time with a monotonic reading and a zone,
// empty data, events committed together in a group.
func TestFeedTakesThisProcesssAppendsFromMemoryAsTheFileHoldsThem(t *testing.T) {
	s := open(t)
	sqlite.SetPollInterval(s, time.Hour)
	c := collect(t, s, "")
	c.waitFor(t, 0)
	n := 0
	appendOne := func(req es.AppendRequest) {
		t.Helper()
		if _, err := s.Append(t.Context(), req); err != nil {
			t.Fatal(err)
		}
	}
	paris := time.FixedZone("CET", 3600)
	for i := range 20 {
		req := oneEvent(es.StreamRef{Type: "match", ID: "m-1"}, int64(i))
		switch i % 4 {
		case 1:
			req.Events[0].Time = time.Now().In(paris) // a zone, and a monotonic reading
		case 2:
			req.Events[0].Data = nil
		case 3:
			req.Events[0].Time = []time.Time{{}, time.Time{}.In(paris)}[i/4%2] // no time, even in a zone
			req.Events[0].CommandID, req.CommandID = fmt.Sprintf("cmd-%d", i), fmt.Sprintf("cmd-%d", i)
		}
		appendOne(req)
		n++
		c.waitFor(t, n)
	}
	// Concurrent appends, committed in groups.
	var wg sync.WaitGroup
	for w := range 8 {
		wg.Go(func() {
			for v := range int64(10) {
				if _, err := s.Append(context.Background(), oneEvent(es.StreamRef{Type: "cart", ID: "c-" + strconv.Itoa(w)}, v)); err != nil {
					t.Error(err)
					return
				}
			}
		})
	}
	wg.Wait()
	n += 80
	sameAsFile(t, s, c.waitFor(t, n))
	// The first read found the log empty; every other came from memory.
	if reads := sqlite.FeedFileReads(s); reads > 1 {
		t.Errorf("the feed read the file %d times for %d events appended here, want once, at the start", reads, n)
	}
}

// Another process's appends are not in memory here: the feed reads them from
// the file, in position order with this process's, none lost or repeated,
// whether they come before, between or after this one's.
func TestFeedReadsAnotherProcesssAppendsFromTheFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "foldboard.db")
	here, there := openAt(t, path), openAt(t, path)
	sqlite.SetPollInterval(here, 5*time.Millisecond)
	c := collect(t, here, "")
	versions := map[string]int64{}
	write := func(s *sqlite.Store, id string) {
		t.Helper()
		ref := es.StreamRef{Type: "match", ID: id}
		if _, err := s.Append(t.Context(), oneEvent(ref, versions[id])); err != nil {
			t.Fatal(err)
		}
		versions[id]++
	}
	for _, w := range []struct {
		s  *sqlite.Store
		id string
	}{
		{there, "b"}, {here, "a"}, {here, "a"}, {there, "b"}, {there, "b"}, {here, "a"},
		{there, "b"}, {here, "a"}, {here, "a"}, {here, "a"}, {there, "b"},
	} {
		write(w.s, w.id)
	}
	got := c.waitFor(t, 11)
	sameAsFile(t, here, got)
	for i, e := range got {
		if e.Position != strconv.Itoa(i+1) {
			t.Fatalf("event %d at position %s, want %d", i+1, e.Position, i+1)
		}
	}
	if reads := sqlite.FeedFileReads(here); reads < 2 {
		t.Errorf("the feed read the file %d times, want it read for the other process's events", reads)
	}
}

// Another process's event between two of this one's, all committed before
// the feed starts: what this process keeps has a gap there, and the feed
// fills it from the file rather than skip it (no poll to help: an hour).
func TestFeedFillsAGapInWhatThisProcessKeptFromTheFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "foldboard.db")
	here, there := openAt(t, path), openAt(t, path)
	sqlite.SetPollInterval(here, time.Hour)
	for _, w := range []struct {
		s     *sqlite.Store
		id    string
		after int64
	}{{here, "a", 0}, {there, "b", 0}, {here, "a", 1}, {here, "a", 2}} {
		if _, err := w.s.Append(t.Context(), oneEvent(es.StreamRef{Type: "match", ID: w.id}, w.after)); err != nil {
			t.Fatal(err)
		}
	}
	c := collect(t, here, "")
	sameAsFile(t, here, c.waitFor(t, 4))
}

// A feed further behind than the events kept in memory reads the older ones
// from the file and the rest from memory, and memory stays bounded.
func TestFeedFarBehindReadsTheFileThenMemory(t *testing.T) {
	s := open(t)
	sqlite.SetPollInterval(s, time.Hour) // no reads of the file but those counted
	total := 3*sqlite.RecentKeep + 100
	appendStreams(t, s, total) // appends of 50 events each
	if n := sqlite.RecentLen(s); n < sqlite.RecentKeep || n > 2*sqlite.RecentKeep+50 {
		t.Errorf("%d events kept in memory after %d appended, want %d to %d", n, total, sqlite.RecentKeep, 2*sqlite.RecentKeep+50)
	}
	c := collect(t, s, "")
	sameAsFile(t, s, c.waitFor(t, total))
	if reads := sqlite.FeedFileReads(s); reads == 0 {
		t.Error("the feed never read the file, yet the oldest events were no longer in memory")
	}
	// A checkpoint in the middle of what memory holds: the rest from memory.
	before := sqlite.FeedFileReads(s)
	from := strconv.Itoa(total - 10)
	c2 := collect(t, s, from)
	got := c2.waitFor(t, 10)
	if got[0].Position != strconv.Itoa(total-9) || len(got) != 10 {
		t.Fatalf("from %s: %d events from %s, want 10 from %d", from, len(got), got[0].Position, total-9)
	}
	if reads := sqlite.FeedFileReads(s) - before; reads != 0 {
		t.Errorf("a feed from a recent checkpoint read the file %d times, want none", reads)
	}
}
