package web

import (
	"bytes"
	"context"
	"encoding/json"
	"math"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/coder/websocket"

	"github.com/foldboard/foldboard/handlers"
	"github.com/foldboard/foldboard/views"
)

// Browsers report when a pushed fragment is applied in the page.
//
// A push that shows an append goes out with its number in a trailing
// comment, "<!--push 42-->" (a page swaps in elements only). The page's
// script, once it has swapped the fragment in, answers on the same
// WebSocket {"applied": 42, "ms": 1.3}: how long the swap took, on the
// page's own clock. The browser's clock is never compared with the
// server's: the server times the round trip itself, from just before the
// write to the report's arrival, takes the part of it spent outside the
// page as half on the way there, and counts
//
//	append → applied = (write − append) + (round trip − ms)/2 + ms.
//
// What one client can do to the figures is bounded:
//   - a report is of a push this connection was sent, at most once, within
//     reportWithin of its write; ms is a number from 0 to the round trip.
//     So a report lies between the write's own figure plus half the round
//     trip and that plus the whole round trip: a client can only make its
//     own pushes look up to reportWithin slower, never faster;
//   - a connection keeps at most pendingReports pushes awaiting a report,
//     and a report is at most maxReportBytes (a longer message closes the
//     connection); after maxRefusedReports refused reports the connection
//     is closed;
//   - one client address's reports are taken at reportsPerSecond (burst
//     reportsBurst), the rest dropped: however many connections it holds,
//     it adds at most some 120 of the window's 4,096 latencies a minute;
//   - the window keeps views.LatencyKept latencies, of the last minute.
const (
	reportWithin      = 10 * time.Second
	pendingReports    = 32
	maxReportBytes    = 64
	maxRefusedReports = 50
	reportsPerSecond  = 2
	reportsBurst      = 20
	// reportAddresses bounds the addresses whose report rates are kept.
	reportAddresses = 10_000
)

// pageLatency is the browsers' reports, for the dashboard.
type pageLatency struct {
	window  views.LatencyWindow
	refused atomic.Int64
	rates   *handlers.Buckets
}

func newPageLatency() *pageLatency {
	return &pageLatency{rates: handlers.NewBuckets(reportsPerSecond, reportsBurst, reportAddresses)}
}

// pushMark is the comment a timed push ends with: the number the page
// reports it by.
func pushMark(seq uint64) []byte {
	return append(strconv.AppendUint([]byte("<!--push "), seq, 10), "-->"...)
}

// sentPushes are one connection's timed pushes awaiting the page's report.
type sentPushes struct {
	mu      sync.Mutex
	pending map[uint64]sentPush
	refused int
}

type sentPush struct {
	since, written time.Time // the append, and just before the write
}

func newSentPushes() *sentPushes { return &sentPushes{pending: map[uint64]sentPush{}} }

// note records a push written at written of a change appended at since,
// forgetting the oldest when pendingReports await.
func (s *sentPushes) note(seq uint64, since, written time.Time) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.pending) >= pendingReports {
		oldest := uint64(math.MaxUint64)
		for k := range s.pending {
			oldest = min(oldest, k)
		}
		delete(s.pending, oldest)
	}
	s.pending[seq] = sentPush{since: since, written: written}
}

// take removes and returns the push a report names.
func (s *sentPushes) take(seq uint64) (sentPush, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	p, ok := s.pending[seq]
	delete(s.pending, seq)
	return p, ok
}

// pageReport is what a page sends once it has applied a push.
type pageReport struct {
	Applied *uint64  `json:"applied"`
	MS      *float64 `json:"ms"`
}

// inPage is the append → applied latency a report tells, received at now,
// or false when the report is refused.
func inPage(data []byte, sent *sentPushes, now time.Time) (time.Duration, bool) {
	var r pageReport
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&r); err != nil || dec.More() || r.Applied == nil || r.MS == nil {
		return 0, false
	}
	p, ok := sent.take(*r.Applied)
	if !ok {
		return 0, false // not sent here, reported already, or forgotten
	}
	trip := now.Sub(p.written)
	ms := *r.MS
	if trip < 0 || trip > reportWithin || math.IsNaN(ms) || ms < 0 || ms*float64(time.Millisecond) > float64(trip) {
		return 0, false
	}
	apply := time.Duration(ms * float64(time.Millisecond))
	return p.written.Sub(p.since) + (trip-apply)/2 + apply, true
}

// readReports reads what the page sends (its reports, and the answers to
// pings) until the connection ends, then calls done.
func (h *Hub) readReports(ctx context.Context, conn *websocket.Conn, sent *sentPushes, addr string, done func()) {
	defer done()
	conn.SetReadLimit(maxReportBytes)
	for {
		typ, data, err := conn.Read(ctx)
		if err != nil {
			return
		}
		now := time.Now()
		d, ok := time.Duration(0), typ == websocket.MessageText
		if ok {
			d, ok = inPage(data, sent, now)
		}
		if !ok {
			h.pages.refused.Add(1)
			if sent.refused++; sent.refused >= maxRefusedReports {
				conn.Close(websocket.StatusPolicyViolation, "too many bad reports")
				return
			}
			continue
		}
		h.pages.add(addr, now, d)
	}
}

// add counts one report's latency, unless its address is past its rate.
func (p *pageLatency) add(addr string, now time.Time, d time.Duration) bool {
	if taken, _ := p.rates.Take(addr, now); !taken {
		p.refused.Add(1)
		return false
	}
	p.window.Add(now, d)
	return true
}
