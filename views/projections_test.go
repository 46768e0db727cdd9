package views

import (
	"bytes"
	"context"
	"strconv"
	"strings"
	"testing"
	"time"

	"golang.org/x/net/html"
)

// Each shard's countdown is coloured by its level and says it in words;
// a re-bootstrap under way is told as such; shards left off are counted.
func TestTheShardRowsColourTheirCountdownAndSayIt(t *testing.T) {
	b := ProjectionsBoard{Stream: &BoardStream{Retention: 24 * time.Hour, LeftOff: 3,
		Bootstrap: &BoardBootstrap{At: time.Date(2026, 12, 3, 18, 0, 0, 0, time.UTC), Why: "records of shard B were trimmed before they were read", UnderWay: true},
		Shards: []BoardShard{
			{ID: "A", State: "done", Age: 5 * time.Hour},
			{ID: "B", Parent: "A", State: "open", Age: 90 * time.Minute, Position: "0100", PositionAt: time.Now(), Left: 23*time.Hour + 59*time.Minute, Countdown: "ok"},
			{ID: "C", Parent: "A", State: "closed", Age: -1, Position: "0200", Left: 11*time.Hour + 5*time.Minute, Countdown: "amber"},
			{ID: "D", Parent: "A", State: "open", Age: time.Hour, Left: 3*time.Hour + 30*time.Second, Countdown: "red"},
			{ID: "E", State: "trimmed", Age: 50 * time.Hour, Position: "0050", Left: -time.Hour, Countdown: "passed"},
			{ID: "F", Parent: "A", State: "open", Age: 13 * time.Hour, Position: "0300", Left: 11 * time.Hour, Countdown: "caughtUp"},
		}}}
	doc := parseComponent(t, func(buf *bytes.Buffer) error { return ProjectionsLive(b).Render(context.Background(), buf) })
	want := map[string][2]string{
		"A": {"", "—"},
		"B": {"ok", "23 h 59 min left"},
		"C": {"amber", "11 h 5 min left (under 12 h)"},
		"D": {"red", "3 h 0 min left (under 4 h)"},
		"E": {"passed", "passed: a restart re-bootstraps from the events table"},
		"F": {"caughtUp", "caught up: nothing unread"},
	}
	rows := find(doc, func(n *html.Node) bool { return attr(n, "data-shard") != "" })
	if len(rows) != len(want) {
		t.Fatalf("%d shard rows, want %d", len(rows), len(want))
	}
	for _, r := range rows {
		id := attr(r, "data-shard")
		cell := find(r, func(n *html.Node) bool { return hasClass(n, "countdown") })
		if len(cell) != 1 || attr(r, "data-countdown") != want[id][0] || text(cell[0]) != want[id][1] ||
			(want[id][0] != "" && !hasClass(cell[0], want[id][0])) {
			t.Errorf("shard %s: %q in %q, want %q %q", id, attr(r, "data-countdown"), text(cell[0]), want[id][0], want[id][1])
		}
	}
	if age := text(find(rows[2], func(n *html.Node) bool { return hasClass(n, "age") })[0]); age != "?" {
		t.Errorf("an unknown age shows %q", age)
	}
	boot := find(doc, func(n *html.Node) bool { return hasClass(n, "bootstrap") })
	if len(boot) != 1 || !hasClass(boot[0], "under-way") || !strings.Contains(text(boot[0]), "Re-bootstrapping from the events table since 12-03 18:00:00: records of shard B") {
		t.Errorf("the bootstrap under way: %v", boot)
	}
	if !strings.Contains(text(doc), "3 more shards not shown") {
		t.Errorf("the shards left off are not counted")
	}
	for d, want := range map[time.Duration]string{45 * time.Second: "45 s", 12 * time.Minute: "12 min", 50 * time.Hour: "2 d 2 h"} {
		if got := spanText(d); got != want {
			t.Errorf("spanText(%v) = %q, want %q", d, got, want)
		}
	}
}

// A parked stream's row spans the whole board, with the admins' Rebuild
// column and without it.
func TestAParkedRowSpansTheBoard(t *testing.T) {
	for _, admin := range []bool{false, true} {
		b := ProjectionsBoard{Admin: admin, ReadModels: []BoardRow{{Name: "matches", Rebuildable: true,
			Parked: []BoardParked{{Stream: "match/m-1", Version: 2, Error: "boom"}}}}}
		doc := parseComponent(t, func(buf *bytes.Buffer) error { return ProjectionsLive(b).Render(context.Background(), buf) })
		heads := find(doc, func(n *html.Node) bool {
			return n.Type == html.ElementNode && n.Data == "th" && attr(n, "scope") == "col" && inBoard(n)
		})
		parked := find(doc, func(n *html.Node) bool { return hasClass(n, "parked") })
		if len(parked) != 1 {
			t.Fatalf("admin %v: %d parked rows, want 1", admin, len(parked))
		}
		span := 0
		for _, td := range find(parked[0], func(n *html.Node) bool { return n.Type == html.ElementNode && n.Data == "td" }) {
			if n, err := strconv.Atoi(attr(td, "colspan")); err == nil {
				span += n
			} else {
				span++
			}
		}
		if span != len(heads) {
			t.Errorf("admin %v: the parked row spans %d columns of %d", admin, span, len(heads))
		}
	}
}

// inBoard says n is in the read models' table.
func inBoard(n *html.Node) bool {
	for p := n.Parent; p != nil; p = p.Parent {
		if p.Data == "table" {
			return hasClass(p, "board")
		}
	}
	return false
}
