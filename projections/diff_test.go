package projections

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/foldboard/foldboard/es"
)

// mapModel holds documents as they were loaded.
type mapModel struct{ docs map[string]json.RawMessage }

func (m *mapModel) Owns(key string) bool { return strings.HasPrefix(key, "k/") }
func (m *mapModel) Load(key string, doc json.RawMessage) error {
	if m.docs == nil {
		m.docs = map[string]json.RawMessage{}
	}
	m.docs[key] = doc
	return nil
}
func (m *mapModel) Apply(env es.Envelope, ch *Changes) error { return nil }
func (m *mapModel) Doc(key string) (json.RawMessage, error)  { return m.docs[key], nil }

// loaded is a projector of one mapModel over docs saved under name.
func loaded(t *testing.T, store *namedReadModels, name string, docs map[string]json.RawMessage) *Projector {
	t.Helper()
	batch := map[string]json.RawMessage{}
	for k, v := range docs {
		batch[k] = v
		if len(batch) == es.MaxDocsPerSave {
			if err := store.SaveReadModels(t.Context(), name, "", batch); err != nil {
				t.Fatal(err)
			}
			clear(batch)
		}
	}
	if err := store.SaveReadModels(t.Context(), name, "", batch); err != nil {
		t.Fatal(err)
	}
	p := NewProjector(Config{Name: name, Store: store, Models: []Model{&mapModel{}}})
	if err := p.Load(t.Context()); err != nil {
		t.Fatal(err)
	}
	return p
}

// Compare goes through more documents than a page, counts every one that
// differs (changed, missing on either side), and keeps only the first
// DiffKept differences, by key, each field by its path.
func TestCompareCountsEveryDifferenceAndKeepsTheFirstFew(t *testing.T) {
	inUse, rebuilt := map[string]json.RawMessage{}, map[string]json.RawMessage{}
	for i := range 3 * DiffPage {
		key := fmt.Sprintf("k/%04d", i)
		doc := json.RawMessage(fmt.Sprintf(`{"state":{"innings":[{"runs":%d}],"side":"home"},"version":%d}`, i, i))
		inUse[key], rebuilt[key] = doc, doc
	}
	for i := 100; i < 125; i++ { // 25 changed
		rebuilt[fmt.Sprintf("k/%04d", i)] = json.RawMessage(fmt.Sprintf(`{"state":{"innings":[{"runs":%d}],"side":"home"},"version":%d}`, i+1, i))
	}
	delete(rebuilt, "k/0003")                            // 1 only in use
	rebuilt["k/9999"] = json.RawMessage(`{"version":1}`) // 1 only rebuilt
	// Written differently, the same value: no difference.
	rebuilt["k/0005"] = json.RawMessage(`{"version":5, "state":{"side":"home","innings":[{"runs":5}]}}`)

	store := &namedReadModels{}
	d, err := Compare(context.Background(), loaded(t, store, "a", inUse), loaded(t, store, "b", rebuilt))
	if err != nil {
		t.Fatal(err)
	}
	if d.Compared != 3*DiffPage+1 || d.Differ != 27 || len(d.First) != DiffKept {
		t.Fatalf("compared %d, differ %d, kept %d", d.Compared, d.Differ, len(d.First))
	}
	if got := d.First[0]; got != (DocDiff{Doc: "k/0003", Field: "state.innings.0.runs", InUse: "3", Rebuilt: "null"}) {
		t.Errorf("first difference %+v", got)
	}
	if got := d.First[3]; got != (DocDiff{Doc: "k/0100", Field: "state.innings.0.runs", InUse: "100", Rebuilt: "101"}) {
		t.Errorf("fourth difference %+v (the missing document's three fields come first)", got)
	}

	same, err := Compare(context.Background(), loaded(t, store, "c", inUse), loaded(t, store, "d", inUse))
	if err != nil || same.Differ != 0 || len(same.First) != 0 || same.Compared != 3*DiffPage {
		t.Fatalf("equal read models: %+v %v", same, err)
	}
}

// versionModel keeps, for each stream, a document of its newest version,
// tagged with tag for the streams in tagged.
type versionModel struct {
	mapModel
	tag    string
	tagged map[string]bool
}

func (m *versionModel) Apply(env es.Envelope, ch *Changes) error {
	key := "k/" + env.Stream.ID
	tag := ""
	if m.tagged[env.Stream.ID] {
		tag = m.tag
	}
	m.Load(key, json.RawMessage(fmt.Sprintf(`{"version":%d,"tag":%q}`, env.Version, tag)))
	ch.Doc(m, key)
	return nil
}

// Either side may be ahead when Compare looks (a rebuild that read the table
// fast passes the read models in use, which then catch up): a document that
// only one has reached is no difference, whichever it is; one that still
// differs once both have reached the same events is.
func TestCompareWaitsForWhicheverSideIsBehind(t *testing.T) {
	store := &namedReadModels{}
	projector := func(name string, m *versionModel) *Projector {
		p := NewProjector(Config{Name: name, Store: store, Models: []Model{m}})
		if err := p.Load(t.Context()); err != nil {
			t.Fatal(err)
		}
		return p
	}
	event := func(id string, v int64) es.Envelope {
		return es.Envelope{ID: fmt.Sprintf("%s-%d", id, v), Stream: es.StreamRef{Type: "t", ID: id}, Version: v, Type: "E"}
	}
	apply := func(p *Projector, envs ...es.Envelope) {
		if err := p.apply(context.Background(), es.Batch{Events: envs, Checkpoint: envs[len(envs)-1].ID}); err != nil {
			t.Error(err)
		}
	}
	// The rebuilt read models differ on b at every version.
	inUse := projector("in-use", &versionModel{})
	rebuilt := projector("rebuilt", &versionModel{tag: "rebuilt", tagged: map[string]bool{"b": true}})
	apply(inUse, event("a", 1), event("b", 1))
	apply(rebuilt, event("a", 1), event("a", 2), event("b", 1), event("b", 2))
	// The read models in use reach the rebuilt ones a moment after Compare
	// began.
	caughtUp := make(chan struct{})
	go func() {
		defer close(caughtUp)
		time.Sleep(200 * time.Millisecond)
		apply(inUse, event("a", 2), event("b", 2))
	}()
	d, err := Compare(t.Context(), inUse, rebuilt)
	<-caughtUp
	if err != nil {
		t.Fatal(err)
	}
	if d.Differ != 1 || len(d.First) != 1 || d.First[0] != (DocDiff{Doc: "k/b", Field: "tag", InUse: `""`, Rebuilt: `"rebuilt"`}) {
		t.Fatalf("compared %d, differ %d, first %+v: only k/b's tag should differ", d.Compared, d.Differ, d.First)
	}
}
