package main

import (
	"bytes"
	"context"
	"io"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/foldboard/foldboard/es"
	"github.com/foldboard/foldboard/es/sqlite"
)

// readAll reads a store's whole log.
func readAll(t *testing.T, db string) []es.Envelope {
	t.Helper()
	s, err := sqlite.Open(context.Background(), db)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	var all []es.Envelope
	after := ""
	for {
		page, err := s.ReadLog(context.Background(), es.LogQuery{After: after, Limit: 1000})
		if err != nil {
			t.Fatal(err)
		}
		all = append(all, page.Events...)
		if len(page.Events) == 0 {
			return all
		}
		after = page.Next
	}
}

func TestSeedFillsAnEmptyStoreOnceAndRefusesOneWithEvents(t *testing.T) {
	ctx := context.Background()
	db := filepath.Join(t.TempDir(), "f.db")
	env := map[string]string{"FOLDBOARD_DB": db}
	getenv := func(k string) string { return env[k] }
	var out bytes.Buffer
	if err := run(ctx, []string{"seed"}, getenv, &out, io.Discard); err != nil {
		t.Fatalf("seed: %v", err)
	}
	log := readAll(t, db)
	if len(log) < 100 {
		t.Fatalf("seeded %d events, want a lively store", len(log))
	}
	checkoutDays, actors, types := map[string]bool{}, map[string]bool{}, map[string]int{}
	var recent int
	now := time.Now()
	for i, e := range log {
		types[e.Type]++
		actors[e.Actor] = true
		if e.Type == "CheckedOut" {
			checkoutDays[e.Time.UTC().Format(time.DateOnly)] = true
		}
		if now.Sub(e.Time) < 5*time.Minute {
			recent++
		}
		if e.Time.After(now) {
			t.Errorf("event %s at %v, in the future", e.ID, e.Time)
		}
		if i > 0 && e.Time.Before(log[i-1].Time) {
			t.Errorf("the log goes back in time at %d", i)
		}
	}
	if len(checkoutDays) < 7 {
		t.Errorf("checkouts on %d days, want a sales history", len(checkoutDays))
	}
	if len(actors) < 3 {
		t.Errorf("%d actors, want several", len(actors))
	}
	for _, typ := range []string{"MatchStarted", "InningsCompleted", "MatchEnded", "ItemAdded", "CheckedOut", "PostCreated", "PostPublished", "TitleChanged"} {
		if types[typ] == 0 {
			t.Errorf("no %s event", typ)
		}
	}
	if recent < 5 {
		t.Errorf("%d events in the last five minutes, want some for the rate chart", recent)
	}

	err := run(ctx, []string{"seed"}, getenv, io.Discard, io.Discard)
	if err == nil || !strings.Contains(err.Error(), "-force") {
		t.Fatalf("a second seed without -force: %v", err)
	}
	out.Reset()
	if err := run(ctx, []string{"seed", "-force"}, getenv, &out, io.Discard); err != nil {
		t.Fatalf("seed -force: %v", err)
	}
	if n := len(readAll(t, db)); n != len(log) {
		t.Fatalf("seed -force appended %d events to a seeded store, want none", n-len(log))
	}
	if !strings.Contains(out.String(), " 0 events appended") {
		t.Errorf("seed -force said: %s", out.String())
	}
}
