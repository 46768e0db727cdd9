package main

import (
	"bytes"
	"context"
	"io"
	"path/filepath"
	"strings"
	"testing"
)

func TestSeedEventsFillsTheStoreWithExactlyThatMany(t *testing.T) {
	db := filepath.Join(t.TempDir(), "big.db")
	getenv := func(k string) string { return map[string]string{"FOLDBOARD_DB": db}[k] }
	var out bytes.Buffer
	if err := run(context.Background(), []string{"seed", "-events", "2500"}, getenv, &out, io.Discard); err != nil {
		t.Fatalf("seed -events: %v", err)
	}
	if n := len(readAll(t, db)); n != 2500 {
		t.Fatalf("seed -events 2500 left %d events", n)
	}
	if !strings.Contains(out.String(), "filled sqlite") || !strings.Contains(out.String(), "2500 events") {
		t.Errorf("seed -events said %q", out.String())
	}
	// Like the demo data, it refuses a store with events, unless -force.
	if err := run(context.Background(), []string{"seed", "-events", "10"}, getenv, io.Discard, io.Discard); err == nil {
		t.Errorf("seed -events on a store with events: no error")
	}
	if err := run(context.Background(), []string{"seed", "-events", "10", "-force"}, getenv, io.Discard, io.Discard); err != nil {
		t.Fatal(err)
	}
	if n := len(readAll(t, db)); n != 2510 {
		t.Fatalf("after -force, %d events, want 2510", n)
	}
}
