package web

import (
	"fmt"
	"testing"
	"time"
)

// A report is of a push sent on this connection, taken once, within
// reportWithin, with an apply time from 0 to the round trip; it counts the
// write's own figure, half the round trip outside the page and the apply.
func TestAPageReportIsBoundedByWhatTheServerTimed(t *testing.T) {
	t0 := time.Unix(1_000_000, 0)
	sent := newSentPushes()
	// Each appended at t0, written 4 ms later; the report 20 ms after the
	// write. A report of a push takes it, refused or not.
	for _, seq := range []uint64{5, 6, 7} {
		sent.note(seq, t0, t0.Add(4*time.Millisecond))
	}
	at := t0.Add(24 * time.Millisecond)
	for _, bad := range []string{
		`{"applied":8,"ms":1}`,             // never sent here
		`{"applied":6,"ms":21}`,            // applying took longer than the round trip
		`{"applied":5,"ms":-1}`,            // before it came
		`{"applied":6,"ms":1}`,             // reported already
		`{"applied":7}`,                    // no time
		`{"ms":1}`,                         // no push
		`{"applied":7,"ms":1,"p50":0}`,     // more than a report
		`{"applied":7,"ms":"1"}`,           // not a number
		`{"applied":7,"ms":1e400}`,         // not a float64
		`{"applied":-7,"ms":1}`,            // not a push number
		`{"applied":7,"ms":1} {"again":1}`, // two values
		`applied 7`,
	} {
		if d, ok := inPage([]byte(bad), sent, at); ok {
			t.Errorf("%s taken: %v", bad, d)
		}
	}
	d, ok := inPage([]byte(`{"applied":7,"ms":6}`), sent, at)
	if want := 4*time.Millisecond + 7*time.Millisecond + 6*time.Millisecond; !ok || d != want {
		t.Errorf("a report: %v %v, want %v (4 ms to the write, (20-6)/2 on the way, 6 applying)", d, ok, want)
	}
	if _, ok := inPage([]byte(`{"applied":7,"ms":6}`), sent, at); ok {
		t.Errorf("a push reported twice was taken twice")
	}
	sent.note(9, t0, t0)
	if _, ok := inPage([]byte(`{"applied":9,"ms":0}`), sent, t0.Add(reportWithin+time.Millisecond)); ok {
		t.Errorf("a report later than %v was taken", reportWithin)
	}
	// A connection keeps at most pendingReports pushes awaiting a report:
	// the oldest go.
	for i := range pendingReports + 5 {
		sent.note(uint64(100+i), t0, t0)
	}
	if len(sent.pending) != pendingReports {
		t.Errorf("%d pushes awaiting a report, want at most %d", len(sent.pending), pendingReports)
	}
	if _, ok := inPage([]byte(`{"applied":100,"ms":0}`), sent, t0.Add(time.Millisecond)); ok {
		t.Errorf("the oldest push, forgotten, was taken")
	}
	if _, ok := inPage(fmt.Appendf(nil, `{"applied":%d,"ms":0}`, 100+pendingReports+4), sent, t0.Add(time.Millisecond)); !ok {
		t.Errorf("the newest push was not taken")
	}
	if got := string(pushMark(42)); got != "<!--push 42-->" {
		t.Errorf("pushMark: %q", got)
	}
}

// One address's reports are taken at reportsPerSecond, burst reportsBurst,
// however many connections it holds; another address's still count.
func TestPageReportsAreRatedByAddress(t *testing.T) {
	p := newPageLatency()
	t0 := time.Unix(1_000_000, 0)
	for i := range reportsBurst {
		if !p.add("10.0.0.1", t0, time.Millisecond) {
			t.Fatalf("report %d of the burst refused", i+1)
		}
	}
	if p.add("10.0.0.1", t0, time.Millisecond) || p.refused.Load() != 1 {
		t.Errorf("a report past the burst was taken (refused %d)", p.refused.Load())
	}
	if !p.add("10.0.0.2", t0, time.Millisecond) {
		t.Errorf("another address's report was refused")
	}
	if !p.add("10.0.0.1", t0.Add(time.Second/reportsPerSecond), time.Millisecond) {
		t.Errorf("a report after the rate's interval was refused")
	}
	if f := p.window.Figures(t0.Add(time.Second)); f.N != reportsBurst+2 {
		t.Errorf("%d latencies kept, want %d", f.N, reportsBurst+2)
	}
}
