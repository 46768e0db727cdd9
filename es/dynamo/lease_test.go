package dynamo_test

import (
	"encoding/json"
	"errors"
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"github.com/foldboard/foldboard/es"
	"github.com/foldboard/foldboard/es/dynamo"
)

const testFailover = 400 * time.Millisecond

// two instances' leases on one store's tables.
func twoLeases(t *testing.T) (s *dynamo.Store, a, b *dynamo.Lease, lostA *atomic.Int64) {
	t.Helper()
	s = open(t, config(t))
	lostA = new(atomic.Int64)
	a = s.Lease("a", testFailover, func(epoch int64) { lostA.Store(epoch) })
	b = s.Lease("b", testFailover, nil)
	return s, a, b, lostA
}

// told waits a little for the lease's onLost to be told of epoch.
func told(lost *atomic.Int64, epoch int64) bool {
	for range 100 {
		if lost.Load() == epoch {
			return true
		}
		time.Sleep(5 * time.Millisecond)
	}
	return false
}

func acquire(t *testing.T, l *dynamo.Lease) bool {
	t.Helper()
	ok, err := l.Acquire(t.Context())
	if err != nil {
		t.Fatalf("Acquire: %v", err)
	}
	return ok
}

func TestLeaseIsHeldByOneInstanceWhileItRenews(t *testing.T) {
	_, a, b, _ := twoLeases(t)
	if !acquire(t, a) || a.Epoch() != 1 {
		t.Fatalf("the first instance did not take a new lease (epoch %d)", a.Epoch())
	}
	for range 12 { // three failover times
		if acquire(t, b) {
			t.Fatal("a lease renewed all along was taken")
		}
		if err := a.Renew(t.Context()); err != nil {
			t.Fatalf("Renew: %v", err)
		}
		time.Sleep(testFailover / 4)
	}
}

func TestLeaseIsTakenOnlyAfterItsCounterStoodStillForTheFailover(t *testing.T) {
	_, a, b, lostA := twoLeases(t)
	acquire(t, a)
	first := time.Now()
	for !acquire(t, b) { // a has stopped renewing: paused, or killed
		time.Sleep(testFailover / 10)
	}
	if waited := time.Since(first); waited < testFailover {
		t.Fatalf("taken after %v, within the failover time %v", waited, testFailover)
	}
	if b.Epoch() != 2 {
		t.Fatalf("the new holder's epoch is %d, want 2", b.Epoch())
	}
	// The paused holder wakes: its renewal fails, and it knows.
	if err := a.Renew(t.Context()); !errors.Is(err, dynamo.ErrDeposed) {
		t.Fatalf("a deposed holder renewed: %v", err)
	}
	if a.Epoch() != 0 || !told(lostA, 1) {
		t.Fatalf("the deposed holder still holds epoch %d (lost %d)", a.Epoch(), lostA.Load())
	}
}

func TestADeposedHolderCannotSaveAndTheCheckpointStays(t *testing.T) {
	s, a, b, lostA := twoLeases(t)
	ctx := t.Context()
	acquire(t, a)
	docs := func(tag string, n int) map[string]json.RawMessage {
		m := map[string]json.RawMessage{}
		for i := range n {
			m[fmt.Sprintf("doc/%d", i)] = json.RawMessage(fmt.Sprintf(`%q`, tag))
		}
		return m
	}
	// The fenced save takes as many documents as any save.
	if err := a.ReadModels().SaveReadModels(ctx, "rm", "cp-1", docs("a", es.MaxDocsPerSave)); err != nil {
		t.Fatalf("the holder's save: %v", err)
	}
	time.Sleep(testFailover)
	for !acquire(t, b) {
		time.Sleep(testFailover / 10)
	}
	if err := b.ReadModels().SaveReadModels(ctx, "rm", "cp-2", docs("b", 3)); err != nil {
		t.Fatalf("the new holder's save: %v", err)
	}
	// a paused through the takeover (it never renewed): its save fails,
	// writes nothing, and it steps down.
	err := a.ReadModels().SaveReadModels(ctx, "rm", "cp-1b", docs("a-late", 5))
	if !errors.Is(err, dynamo.ErrDeposed) {
		t.Fatalf("a deposed holder's save: %v", err)
	}
	if a.Epoch() != 0 || !told(lostA, 1) {
		t.Fatalf("a save refused for the epoch did not depose (epoch %d, lost %d)", a.Epoch(), lostA.Load())
	}
	cp, got, err := s.LoadReadModels(ctx, "rm")
	if err != nil || cp != "cp-2" {
		t.Fatalf("checkpoint %q (%v), want the new holder's cp-2", cp, err)
	}
	if string(got["doc/0"]) != `"b"` || string(got["doc/4"]) != `"a"` {
		t.Fatalf("documents after the refused save: doc/0 %s, doc/4 %s", got["doc/0"], got["doc/4"])
	}
	// Not holding at all: refused before DynamoDB.
	if err := a.ReadModels().SaveReadModels(ctx, "rm", "cp-x", docs("x", 1)); !errors.Is(err, dynamo.ErrDeposed) {
		t.Fatalf("a save without the lease: %v", err)
	}
}

func TestAReleasedLeaseIsTakenAtOnceWithANewEpoch(t *testing.T) {
	_, a, b, _ := twoLeases(t)
	acquire(t, a)
	if acquire(t, b) {
		t.Fatal("taken while held")
	}
	if err := a.Release(t.Context()); err != nil {
		t.Fatalf("Release: %v", err)
	}
	if !acquire(t, b) || b.Epoch() != 2 {
		t.Fatalf("a released lease was not taken at once (epoch %d)", b.Epoch())
	}
	if a.Epoch() != 0 {
		t.Fatal("the releaser still holds")
	}
	// And back: a takes only after b's counter stands still.
	if acquire(t, a) {
		t.Fatal("a held lease taken at the first look")
	}
}
