package estest

import (
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"testing"

	"github.com/foldboard/foldboard/es"
)

// reader is the harness's read models as an es.ReadModelReader: every store
// reads its documents on demand (issue 19.2).
func reader(t *testing.T, h Harness) es.ReadModelReader {
	t.Helper()
	r, ok := h.ReadModels.(es.ReadModelReader)
	if !ok {
		t.Fatalf("%T is no es.ReadModelReader: read models are read on demand", h.ReadModels)
	}
	return r
}

func testReadModelOne(t *testing.T, h Harness) {
	r := reader(t, h)
	read := func(projector, key string) json.RawMessage {
		t.Helper()
		doc, err := r.ReadModel(ctx(t), projector, key)
		if err != nil {
			t.Fatalf("ReadModel(%s, %s): %v", projector, key, err)
		}
		return doc
	}
	if doc := read("scoreboard", "match/m-1"); doc != nil {
		t.Errorf("ReadModel of a projector never saved = %s, want nil", doc)
	}
	mustSave(t, h, "scoreboard", "cp-1", map[string]json.RawMessage{
		"match/m-1": json.RawMessage(`{"runs":10,"team":"Lions"}`),
		"match/m-2": json.RawMessage(`{"runs":0}`),
	})
	mustSave(t, h, "sales", "cp-9", map[string]json.RawMessage{"match/m-1": json.RawMessage(`{"who":"sales"}`)})
	if doc := read("scoreboard", "match/m-1"); !jsonEqual(doc, []byte(`{"runs":10,"team":"Lions"}`)) {
		t.Errorf("ReadModel(scoreboard, match/m-1) = %s", doc)
	}
	if doc := read("sales", "match/m-1"); !jsonEqual(doc, []byte(`{"who":"sales"}`)) {
		t.Errorf("ReadModel(sales, match/m-1) = %s, want the sales projector's own", doc)
	}
	if doc := read("scoreboard", "match/m-"); doc != nil {
		t.Errorf("ReadModel of a prefix of keys = %s, want nil (keys are exact)", doc)
	}
	// What the last save left: replaced, then deleted.
	mustSave(t, h, "scoreboard", "cp-2", map[string]json.RawMessage{"match/m-1": json.RawMessage(`{"runs":14}`), "match/m-2": nil})
	if doc := read("scoreboard", "match/m-1"); !jsonEqual(doc, []byte(`{"runs":14}`)) {
		t.Errorf("ReadModel after a save replaced it = %s, want {\"runs\":14}", doc)
	}
	if doc := read("scoreboard", "match/m-2"); doc != nil {
		t.Errorf("ReadModel after a save deleted it = %s, want nil", doc)
	}
}

func testReadModelRange(t *testing.T, h Harness) {
	r := reader(t, h)
	docs := map[string]json.RawMessage{
		"list/b":       json.RawMessage(`"not in the list"`),
		"list/a":       json.RawMessage(`"the prefix itself"`),
		"list/a~":      json.RawMessage(`"after every digit"`),
		"lisu/a/00009": json.RawMessage(`"past the prefix"`),
		"list/":        json.RawMessage(`"shorter"`),
	}
	var want []string // list/a/…, greatest first
	for i := range 12 {
		k := fmt.Sprintf("list/a/%05d", i)
		docs[k] = json.RawMessage(fmt.Sprintf(`{"i":%d}`, i))
		want = append(want, k)
	}
	slices.Reverse(want)
	mustSave(t, h, "lists", "cp-1", docs)
	mustSave(t, h, "other", "cp-1", map[string]json.RawMessage{"list/a/00099": json.RawMessage(`{}`)})

	keys := func(q es.DocRange) []string {
		t.Helper()
		got, err := r.ReadModelRange(ctx(t), "lists", q)
		if err != nil {
			t.Fatalf("ReadModelRange(%+v): %v", q, err)
		}
		out := make([]string, len(got))
		for i, d := range got {
			out[i] = d.Key
			if !jsonEqual(d.Data, docs[d.Key]) {
				t.Errorf("ReadModelRange(%+v): %s = %s, saved %s", q, d.Key, d.Data, docs[d.Key])
			}
		}
		return out
	}
	check := func(q es.DocRange, want []string) {
		t.Helper()
		if got := keys(q); !slices.Equal(got, want) {
			t.Errorf("ReadModelRange(%+v) = %q, want %q", q, got, want)
		}
	}
	// The newest N, then pages before the last key of each.
	check(es.DocRange{Prefix: "list/a/", Limit: 5}, want[:5])
	check(es.DocRange{Prefix: "list/a/", Before: want[4], Limit: 5}, want[5:10])
	check(es.DocRange{Prefix: "list/a/", Before: want[9], Limit: 5}, want[10:])
	check(es.DocRange{Prefix: "list/a/", Before: want[11], Limit: 5}, nil)
	check(es.DocRange{Prefix: "list/a/", Limit: 100}, want)
	// A Before past the prefix's keys, or before them.
	check(es.DocRange{Prefix: "list/a/", Before: "zzz", Limit: 2}, want[:2])
	check(es.DocRange{Prefix: "list/a/", Before: "list/a/", Limit: 2}, nil)
	check(es.DocRange{Prefix: "list/a/", Before: "list/", Limit: 2}, nil)
	// A Before between two keys.
	check(es.DocRange{Prefix: "list/a/", Before: "list/a/00003x", Limit: 2}, []string{"list/a/00003", "list/a/00002"})
	// The prefix is bytes: "list/a" takes "list/a" itself and "list/a~" too.
	check(es.DocRange{Prefix: "list/a", Limit: 3}, []string{"list/a~", want[0], want[1]})
	check(es.DocRange{Prefix: "none/", Limit: 3}, nil)
	// A limit out of range is brought within it.
	check(es.DocRange{Prefix: "list/a/", Limit: 0}, want[:1])
	// Ascending: the oldest N of an index kept by time, up to a bound
	// (Before, left out), whatever lies past it or past the prefix.
	oldest := slices.Clone(want)
	slices.Reverse(oldest)
	check(es.DocRange{Prefix: "list/a/", Limit: 5, Ascending: true}, oldest[:5])
	check(es.DocRange{Prefix: "list/a/", Limit: 100, Ascending: true}, oldest)
	check(es.DocRange{Prefix: "list/a/", Before: "list/a/00003x", Limit: 100, Ascending: true}, oldest[:4])
	check(es.DocRange{Prefix: "list/a/", Before: oldest[3], Limit: 2, Ascending: true}, oldest[:2])
	check(es.DocRange{Prefix: "list/a/", Before: "list/a/", Limit: 2, Ascending: true}, nil)
	check(es.DocRange{Prefix: "list/a", Limit: 2, Ascending: true}, []string{"list/a", oldest[0]})
	check(es.DocRange{Prefix: "list/a/", Before: "zzz", Limit: 2, Ascending: true}, oldest[:2])
	// Deleted documents leave the range.
	mustSave(t, h, "lists", "cp-2", map[string]json.RawMessage{want[0]: nil, want[1]: nil})
	check(es.DocRange{Prefix: "list/a/", Limit: 2}, want[2:4])
	mustSave(t, h, "lists", "cp-3", map[string]json.RawMessage{oldest[0]: nil})
	check(es.DocRange{Prefix: "list/a/", Limit: 2, Ascending: true}, oldest[1:3])
}

func testLoadReadModelsExcept(t *testing.T, h Harness) {
	l, ok := h.ReadModels.(es.ReadModelLoader)
	if !ok {
		t.Fatalf("%T is no es.ReadModelLoader: a start loads only what is held in memory", h.ReadModels)
	}
	all := map[string]json.RawMessage{
		"events/00000001": json.RawMessage(`[1]`), "events/00000002": json.RawMessage(`[2]`),
		"chains/k": json.RawMessage(`[]`), "chains": json.RawMessage(`"no slash: kept"`),
		"cart/c-1": json.RawMessage(`{"v":1}`), "rate": json.RawMessage(`{}`), "stream/cart/c-1": json.RawMessage(`{}`),
		"events0": json.RawMessage(`"after the prefix: kept"`), "a": json.RawMessage(`1`), "zz": json.RawMessage(`2`),
	}
	mustSave(t, h, "p", "cp-7", all)
	mustSave(t, h, "other", "cp-1", map[string]json.RawMessage{"cart/x": json.RawMessage(`{}`)})
	for _, tc := range []struct {
		skip []string
		left []string
	}{
		{nil, nil},
		{[]string{"events/", "chains/"}, []string{"events/00000001", "events/00000002", "chains/k"}},
		{[]string{"chains/", "events/", "events/0000000"}, []string{"events/00000001", "events/00000002", "chains/k"}},
		{[]string{"z", "a"}, []string{"a", "zz"}},
		{[]string{""}, slices.Collect(maps.Keys(all))},
	} {
		checkpoint, docs, err := l.LoadReadModelsExcept(ctx(t), "p", tc.skip)
		if err != nil {
			t.Fatalf("LoadReadModelsExcept(%q): %v", tc.skip, err)
		}
		want := maps.Clone(all)
		for _, k := range tc.left {
			delete(want, k)
		}
		if checkpoint != "cp-7" {
			t.Errorf("LoadReadModelsExcept(%q): checkpoint %q, want cp-7", tc.skip, checkpoint)
		}
		if got, w := slices.Sorted(maps.Keys(docs)), slices.Sorted(maps.Keys(want)); !slices.Equal(got, w) {
			t.Errorf("LoadReadModelsExcept(%q): keys %q, want %q", tc.skip, got, w)
		}
		for k, d := range docs {
			if !jsonEqual(d, want[k]) {
				t.Errorf("LoadReadModelsExcept(%q)[%s] = %s, want %s", tc.skip, k, d, want[k])
			}
		}
	}
	if cp, docs, err := l.LoadReadModelsExcept(ctx(t), "never", []string{"events/"}); err != nil || cp != "" || len(docs) != 0 {
		t.Errorf("LoadReadModelsExcept of a projector never saved = %q, %d documents, %v", cp, len(docs), err)
	}
}
