package estest

import (
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"testing"

	"github.com/foldboard/foldboard/es"
)

// checkReadModels loads a projector's read models and compares them with the
// checkpoint and documents wanted.
func checkReadModels(t *testing.T, h Harness, projector, wantCheckpoint string, want map[string]json.RawMessage) {
	t.Helper()
	checkpoint, docs, err := h.ReadModels.LoadReadModels(ctx(t), projector)
	if err != nil {
		t.Fatalf("LoadReadModels(%s): %v", projector, err)
	}
	if checkpoint != wantCheckpoint {
		t.Errorf("LoadReadModels(%s): checkpoint %q, want %q", projector, checkpoint, wantCheckpoint)
	}
	if got, wanted := slices.Sorted(maps.Keys(docs)), slices.Sorted(maps.Keys(want)); !slices.Equal(got, wanted) {
		t.Errorf("LoadReadModels(%s): keys %q, want %q", projector, got, wanted)
	}
	for k, w := range want {
		if g, ok := docs[k]; ok && !jsonEqual(g, w) {
			t.Errorf("LoadReadModels(%s)[%q] = %s, want %s", projector, k, g, w)
		}
	}
}

func mustSave(t *testing.T, h Harness, projector, checkpoint string, docs map[string]json.RawMessage) {
	t.Helper()
	if err := h.ReadModels.SaveReadModels(ctx(t), projector, checkpoint, docs); err != nil {
		t.Fatalf("SaveReadModels(%s, %q): %v", projector, checkpoint, err)
	}
}

func testReadModelsRoundTrip(t *testing.T, h Harness) {
	const p = "scoreboard"
	checkReadModels(t, h, p, "", nil)

	// Keys as projections write them: with slashes, hashes and more.
	mustSave(t, h, p, "cp-1", map[string]json.RawMessage{
		"match/m-1":        json.RawMessage(`{"runs":10,"wickets":[1,2],"team":"Lions"}`),
		"match/m-2":        json.RawMessage(`{"runs":0}`),
		"sales#2026-03-14": json.RawMessage(`{"total":"12.50","note":"ünïcødé"}`),
	})
	checkReadModels(t, h, p, "cp-1", map[string]json.RawMessage{
		"match/m-1":        json.RawMessage(`{"runs":10,"wickets":[1,2],"team":"Lions"}`),
		"match/m-2":        json.RawMessage(`{"runs":0}`),
		"sales#2026-03-14": json.RawMessage(`{"total":"12.50","note":"ünïcødé"}`),
	})

	// A nil value deletes its key; others are replaced or added; the rest stay.
	mustSave(t, h, p, "cp-2", map[string]json.RawMessage{
		"match/m-1":  nil,
		"match/m-2":  json.RawMessage(`{"runs":6}`),
		"match/m-3":  json.RawMessage(`[]`),
		"match/gone": nil, // deleting what was never saved is fine
	})
	want := map[string]json.RawMessage{
		"match/m-2":        json.RawMessage(`{"runs":6}`),
		"match/m-3":        json.RawMessage(`[]`),
		"sales#2026-03-14": json.RawMessage(`{"total":"12.50","note":"ünïcødé"}`),
	}
	checkReadModels(t, h, p, "cp-2", want)

	// A save without documents moves the checkpoint and keeps the documents.
	mustSave(t, h, p, "cp-3", nil)
	checkReadModels(t, h, p, "cp-3", want)
}

func testReadModelsIsolated(t *testing.T, h Harness) {
	mustSave(t, h, "scoreboard", "7", map[string]json.RawMessage{"m-1": json.RawMessage(`{"who":"scoreboard"}`)})
	mustSave(t, h, "sales", "3", map[string]json.RawMessage{"m-1": json.RawMessage(`{"who":"sales"}`)})
	checkReadModels(t, h, "scoreboard", "7", map[string]json.RawMessage{"m-1": json.RawMessage(`{"who":"scoreboard"}`)})
	checkReadModels(t, h, "sales", "3", map[string]json.RawMessage{"m-1": json.RawMessage(`{"who":"sales"}`)})

	// Deleting in one projector leaves the other's document of the same key.
	mustSave(t, h, "sales", "4", map[string]json.RawMessage{"m-1": nil})
	checkReadModels(t, h, "sales", "4", nil)
	checkReadModels(t, h, "scoreboard", "7", map[string]json.RawMessage{"m-1": json.RawMessage(`{"who":"scoreboard"}`)})
	checkReadModels(t, h, "catalogue", "", nil)
}

func testReadModelsMaxDocs(t *testing.T, h Harness) {
	docs := func(n int, tag string) map[string]json.RawMessage {
		m := map[string]json.RawMessage{}
		for i := range n {
			m[fmt.Sprintf("doc-%03d", i)] = json.RawMessage(fmt.Sprintf(`{"i":%d,"tag":%q}`, i, tag))
		}
		return m
	}
	// Every store takes es.MaxDocsPerSave; one that says it takes more
	// (es.SaveCapacity) takes that many, with the checkpoint, in one save.
	limit := es.DocsPerSave(h.ReadModels)
	if c, ok := h.ReadModels.(es.SaveCapacity); ok && c.MaxDocsPerSave() < es.MaxDocsPerSave {
		t.Errorf("MaxDocsPerSave() = %d, less than every store takes (%d)", c.MaxDocsPerSave(), es.MaxDocsPerSave)
	}
	full := docs(limit, "first")
	mustSave(t, h, "stats", "cp-1", full)
	checkReadModels(t, h, "stats", "cp-1", full)

	// One more than the store can write atomically is refused, writing nothing.
	if err := h.ReadModels.SaveReadModels(ctx(t), "stats", "cp-2", docs(limit+1, "second")); err == nil {
		t.Errorf("SaveReadModels of %d documents succeeded, want an error", limit+1)
	}
	checkReadModels(t, h, "stats", "cp-1", full)

	// A full save replaces every document and moves the checkpoint at once.
	second := docs(limit, "second")
	mustSave(t, h, "stats", "cp-3", second)
	checkReadModels(t, h, "stats", "cp-3", second)
}

// testReadModelsFullSaveIsAtomic makes the last document of a save that
// takes as many as the store allows one the store cannot write: nothing of
// the save is written, neither the documents before it nor the checkpoint.
func testReadModelsFullSaveIsAtomic(t *testing.T, h Harness) {
	limit := es.DocsPerSave(h.ReadModels)
	first := map[string]json.RawMessage{"doc-000": json.RawMessage(`{"v":1}`)}
	mustSave(t, h, "stats", "cp-1", first)
	docs := map[string]json.RawMessage{}
	for i := range limit - 1 {
		docs[fmt.Sprintf("doc-%05d", i)] = json.RawMessage(fmt.Sprintf(`{"v":2,"i":%d}`, i))
	}
	docs[""] = json.RawMessage(`{"v":2}`) // no store keeps a document without a key
	if err := h.ReadModels.SaveReadModels(ctx(t), "stats", "cp-2", docs); err == nil {
		t.Fatalf("SaveReadModels of %d documents, one without a key, succeeded; want an error", limit)
	}
	checkReadModels(t, h, "stats", "cp-1", first)
}
