package es_test

import (
	"errors"
	"testing"
	"time"

	"github.com/foldboard/foldboard/es"
)

// wantKeyReused fails unless err is the contract's 422 IdempotencyKeyReused.
func wantKeyReused(t *testing.T, what string, err error) {
	t.Helper()
	var domain *es.Error
	if !errors.As(err, &domain) || domain.Kind != es.Invalid || domain.Code != "IdempotencyKeyReused" {
		t.Errorf("%s: err = %v, want an Invalid IdempotencyKeyReused", what, err)
	}
}

// A command id is the actor's and its request's: the same id with other
// fields, from another actor, or with another request's fingerprint is
// refused and appends nothing; the same request again answers the first
// result.
func TestHandleRefusesACommandIDReusedForAnotherRequest(t *testing.T) {
	store := &callCounter{Store: openStore(t)}
	h := newHandler(store)
	h.Heads = es.NewHeads(1 << 20)
	stream := es.StreamRef{Type: "tally", ID: "t-key"}
	ana := es.Meta{StreamID: stream.ID, Expected: es.AnyVersion, CommandID: "key-1", Actor: "ana"}
	first, err := h.Handle(t.Context(), ana, tallyCmd{Add: []int{3}})
	if err != nil {
		t.Fatal(err)
	}

	otherFields := ana
	_, err = h.Handle(t.Context(), otherFields, tallyCmd{Add: []int{4}})
	wantKeyReused(t, "other fields", err)
	ben := ana
	ben.Actor = "ben"
	_, err = h.Handle(t.Context(), ben, tallyCmd{Add: []int{3}})
	wantKeyReused(t, "another actor", err)
	otherRoute := ana
	otherRoute.Fingerprint = es.RequestFingerprint("ana", "POST /tallies/{id}/other", stream, []byte(`{"Add":[3]}`))
	_, err = h.Handle(t.Context(), otherRoute, tallyCmd{Add: []int{3}})
	wantKeyReused(t, "another route", err)
	if head, _ := store.Head(t.Context(), stream); head.Version != 1 {
		t.Fatalf("stream at version %d after reused keys, want 1", head.Version)
	}

	// The same request: the first result, read once from the store's
	// events, and no append.
	before := store.calls()
	again, err := h.Handle(t.Context(), ana, tallyCmd{Add: []int{3}})
	if err != nil || !again.Repeated || again.Version != first.Version || len(again.Events) != 1 || again.Events[0].ID != first.Events[0].ID {
		t.Fatalf("the same request again: {v%d repeated %v %v}, err %v; want the first result", again.Version, again.Repeated, again.Events, err)
	}
	if appends := store.calls()[4] - before[4]; appends != 0 {
		t.Errorf("a repeat appended %d times", appends)
	}

	// Another stream's head knows nothing of it: there the id is new.
	elsewhere := ana
	elsewhere.StreamID = "t-key-2"
	if res, err := h.Handle(t.Context(), elsewhere, tallyCmd{Add: []int{3}}); err != nil || res.Repeated || res.Version != 1 {
		t.Errorf("the id on another stream: {v%d repeated %v}, err %v; want a first append", res.Version, res.Repeated, err)
	}
}

// A second process, whose memory of the stream is stale, meets a command id
// the first process appended: the store's head answers, atomically with the
// version check, and the repeat appends nothing.
func TestHandleFindsARepeatThatAnotherProcessAppended(t *testing.T) {
	store := openStore(t)
	one, two := newHandler(store), newHandler(store)
	one.Heads, two.Heads = es.NewHeads(1<<20), es.NewHeads(1<<20)
	meta := es.Meta{StreamID: "t-2", Expected: es.AnyVersion, Actor: "ana"}
	if _, err := two.Handle(t.Context(), meta, tallyCmd{Add: []int{1}}); err != nil {
		t.Fatal(err) // two remembers version 1
	}
	meta.CommandID = "key-2"
	first, err := one.Handle(t.Context(), meta, tallyCmd{Add: []int{2}})
	if err != nil {
		t.Fatal(err)
	}
	again, err := two.Handle(t.Context(), meta, tallyCmd{Add: []int{2}})
	if err != nil || !again.Repeated || again.Version != first.Version {
		t.Fatalf("the repeat in the other process: {v%d repeated %v}, err %v; want the first result v%d", again.Version, again.Repeated, err, first.Version)
	}
	_, err = two.Handle(t.Context(), meta, tallyCmd{Add: []int{9}})
	wantKeyReused(t, "other fields in the other process", err)
	if head, _ := store.Head(t.Context(), es.StreamRef{Type: "tally", ID: "t-2"}); head.Version != 2 {
		t.Errorf("stream at version %d, want 2", head.Version)
	}
}

// The window: a command id more than RecentCommands commands or
// RecentCommandsFor ago is a new command.
func TestHandleForgetsCommandIDsOutsideTheWindow(t *testing.T) {
	store := openStore(t)
	h := newHandler(store)
	now := time.Date(2026, 6, 1, 8, 0, 0, 0, time.UTC)
	h.Now = func() time.Time { return now }
	meta := es.Meta{StreamID: "t-3", Expected: es.AnyVersion, CommandID: "old", Actor: "ana"}
	if _, err := h.Handle(t.Context(), meta, tallyCmd{Add: []int{1}}); err != nil {
		t.Fatal(err)
	}
	now = now.Add(es.RecentCommandsFor / 2)
	if res, err := h.Handle(t.Context(), meta, tallyCmd{Add: []int{1}}); err != nil || !res.Repeated {
		t.Fatalf("within the window: repeated %v, err %v; want the first result", res.Repeated, err)
	}
	now = now.Add(es.RecentCommandsFor)
	other := meta
	other.CommandID = "new"
	if _, err := h.Handle(t.Context(), other, tallyCmd{Add: []int{1}}); err != nil {
		t.Fatal(err)
	}
	if res, err := h.Handle(t.Context(), meta, tallyCmd{Add: []int{1}}); err != nil || res.Repeated || res.Version != 3 {
		t.Errorf("a day and a half later: {v%d repeated %v}, err %v; want a new append at v3", res.Version, res.Repeated, err)
	}
}

// The window of a command id holds on the handler's clock, though the
// stream was written nothing since: the same request a day later is a new
// command, decided and appended, not the first result (from Heads' memory
// or the store's head).
func TestHandleTreatsACommandIDOlderThanItsWindowAsNew(t *testing.T) {
	store := openStore(t)
	h := newHandler(store)
	h.Heads = es.NewHeads(1 << 20)
	now := time.Date(2026, 6, 1, 9, 0, 0, 0, time.UTC)
	h.Now = func() time.Time { return now }
	meta := es.Meta{StreamID: "t-day", Expected: es.AnyVersion, CommandID: "key-day", Actor: "ana"}
	if _, err := h.Handle(t.Context(), meta, tallyCmd{Add: []int{3}}); err != nil {
		t.Fatal(err)
	}
	now = now.Add(es.RecentCommandsFor - time.Minute)
	if res, err := h.Handle(t.Context(), meta, tallyCmd{Add: []int{3}}); err != nil || !res.Repeated || res.Version != 1 {
		t.Fatalf("within the window: {v%d repeated %v} err %v, want the first result", res.Version, res.Repeated, err)
	}
	now = now.Add(2 * time.Minute)
	res, err := h.Handle(t.Context(), meta, tallyCmd{Add: []int{3}})
	if err != nil || res.Repeated || res.Version != 2 {
		t.Fatalf("a day and a minute later: {v%d repeated %v} err %v, want a new command at version 2", res.Version, res.Repeated, err)
	}
	// Another request with that key, after the window, is new too.
	now = now.Add(es.RecentCommandsFor + time.Minute)
	if res, err := h.Handle(t.Context(), meta, tallyCmd{Add: []int{5}}); err != nil || res.Version != 3 {
		t.Fatalf("other fields a day later: {v%d} err %v, want a new command at version 3", res.Version, err)
	}
}
