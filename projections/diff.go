package projections

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strconv"
	"time"
)

// DiffPage is how many documents Compare compares between two looks at ctx;
// DiffKept is how many differences it keeps to show (it counts them all).
const (
	DiffPage = 256
	DiffKept = 10
	// diffValueMax is the most bytes of a value kept in a difference.
	diffValueMax = 200
	// diffRecheckMax is how many differing documents Compare looks at
	// again once the rebuilt read models have reached the ones in use.
	diffRecheckMax = 10_000
	// diffRounds is how many times Compare brings the two read models to
	// each other and looks again at what differs; diffReach bounds each
	// reach.
	diffRounds = 3
	diffReach  = 10 * time.Second
)

// DocDiff is one field of one document that differs: its value in the read
// models in use and in the rebuilt ones (null where it is missing; cut to a
// few hundred bytes).
type DocDiff struct {
	Doc     string `json:"doc"`
	Field   string `json:"field"`
	InUse   string `json:"inUse"`
	Rebuilt string `json:"rebuilt"`
}

// Diff is how rebuilt read models differ from the ones in use.
type Diff struct {
	// Compared is how many documents were compared; Differ, how many differ.
	Compared int `json:"compared"`
	Differ   int `json:"differ"`
	// First are the first differences by document key, at most DiffKept.
	First []DocDiff `json:"first"`
}

// Compare compares every document of the read models in use with the
// rebuilt ones' (the keys either has saved, their values as each holds them
// in memory now), DiffPage at a time. A document that differs is compared
// again once each has reached what the other holds then (Reach, both
// ways, a few rounds): both move on under writes, and a document one of them
// has not reached yet is no difference.
func Compare(ctx context.Context, inUse, rebuilt *Projector) (Diff, error) {
	keys, err := savedKeys(ctx, inUse, rebuilt)
	if err != nil {
		return Diff{}, err
	}
	var differ []string
	compared := 0
	for page := range slices.Chunk(keys, DiffPage) {
		if err := ctx.Err(); err != nil {
			return Diff{}, err
		}
		for _, key := range page {
			d, err := docDiff(ctx, inUse, rebuilt, key, 0)
			if err != nil {
				return Diff{}, err
			}
			compared++
			if len(d) > 0 {
				differ = append(differ, key)
			}
		}
	}
	out := Diff{Compared: compared}
	if len(differ) == 0 {
		return out, nil
	}
	// Each moves on under writes, and either may be ahead (a rebuild that
	// caught up on a fast read of the table may pass the read models in
	// use): a few rounds of bringing each to what the other holds and
	// looking again at what still differs.
	for round := 0; round < diffRounds && len(differ) > 0; round++ {
		if err := reachEachOther(ctx, inUse, rebuilt); err != nil {
			return Diff{}, err
		}
		still := differ[:0]
		for i, key := range differ {
			if i >= diffRecheckMax {
				still = append(still, differ[i:]...)
				break
			}
			d, err := docDiff(ctx, inUse, rebuilt, key, 0)
			if err != nil {
				return Diff{}, err
			}
			if len(d) > 0 {
				still = append(still, key)
			}
		}
		differ = still
	}
	for i, key := range differ {
		if i >= diffRecheckMax {
			out.Differ += len(differ) - i // not looked at again
			break
		}
		keep := DiffKept - len(out.First)
		d, err := docDiff(ctx, inUse, rebuilt, key, keep)
		if err != nil {
			return Diff{}, err
		}
		if len(d) > 0 {
			out.Differ++
			if keep > 0 {
				out.First = append(out.First, d...)
			}
		}
	}
	return out, nil
}

// reachEachOther brings a to what b holds and b to what a holds, each
// within diffReach: a read model stuck behind (a parked stream counts as
// reached) is compared as it is rather than failing the comparison.
func reachEachOther(ctx context.Context, a, b *Projector) error {
	for _, p := range [][2]*Projector{{a, b}, {b, a}} {
		reachCtx, cancel := context.WithTimeout(ctx, diffReach)
		err := Reach(reachCtx, p[0], p[1].Catalogue())
		cancel()
		if err != nil && ctx.Err() != nil {
			return ctx.Err()
		}
	}
	return nil
}

// savedKeys are the sorted keys either projector has saved.
func savedKeys(ctx context.Context, a, b *Projector) ([]string, error) {
	seen := map[string]struct{}{}
	for _, p := range []*Projector{a, b} {
		_, docs, err := p.store.LoadReadModels(ctx, p.name)
		if err != nil {
			return nil, fmt.Errorf("comparing read models: loading %s: %w", p.name, err)
		}
		for k := range docs {
			seen[k] = struct{}{}
		}
	}
	keys := make([]string, 0, len(seen))
	for k := range seen {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys, nil
}

// docDiff lists up to keep fields in which key's document differs between
// inUse and rebuilt, by the dotted path of each (flatten; a document that
// is no JSON object is one field, "");
// with keep 0 it says only whether they differ, by one entry.
func docDiff(ctx context.Context, inUse, rebuilt *Projector, key string, keep int) ([]DocDiff, error) {
	a, err := inUse.doc(ctx, key)
	if err != nil {
		return nil, err
	}
	b, err := rebuilt.doc(ctx, key)
	if err != nil {
		return nil, err
	}
	if sameJSON(a, b) {
		return nil, nil
	}
	if keep <= 0 {
		return []DocDiff{{Doc: key}}, nil
	}
	fa, fb := map[string]json.RawMessage{}, map[string]json.RawMessage{}
	flatten("", a, fa, 0)
	flatten("", b, fb, 0)
	fields := make([]string, 0, len(fa)+len(fb))
	for f := range fa {
		fields = append(fields, f)
	}
	for f := range fb {
		if _, ok := fa[f]; !ok {
			fields = append(fields, f)
		}
	}
	slices.Sort(fields)
	var out []DocDiff
	for _, f := range fields {
		if sameJSON(fa[f], fb[f]) {
			continue
		}
		out = append(out, DocDiff{Doc: key, Field: f, InUse: cut(fa[f]), Rebuilt: cut(fb[f])})
		if len(out) == keep {
			break
		}
	}
	if len(out) == 0 { // the same fields, written differently
		out = append(out, DocDiff{Doc: key, InUse: cut(a), Rebuilt: cut(b)})
	}
	return out, nil
}

// flattenDepth is how deep flatten names the fields of nested objects.
const flattenDepth = 6

// flatten puts into out every field of the JSON object or array v by its
// dotted path ("state.innings.0.runs"), down to flattenDepth; what is
// neither (or deeper) is one field, named by its path ("" for the document).
func flatten(path string, v json.RawMessage, out map[string]json.RawMessage, depth int) {
	var fields map[string]json.RawMessage
	var items []json.RawMessage
	switch {
	case depth >= flattenDepth || len(v) == 0:
	case v[0] == '{' && json.Unmarshal(v, &fields) == nil && len(fields) > 0:
		for f, fv := range fields {
			flatten(join(path, f), fv, out, depth+1)
		}
		return
	case v[0] == '[' && json.Unmarshal(v, &items) == nil && len(items) > 0:
		for i, iv := range items {
			flatten(join(path, strconv.Itoa(i)), iv, out, depth+1)
		}
		return
	}
	if len(v) > 0 && string(v) != "null" {
		out[path] = v
	}
}

func join(path, field string) string {
	if path == "" {
		return field
	}
	return path + "." + field
}

// doc is key's document as p holds it now; nil when p has none.
func (p *Projector) doc(ctx context.Context, key string) (json.RawMessage, error) {
	d, err := p.Doc(ctx, key)
	if err != nil {
		return nil, fmt.Errorf("comparing read models: %s of %s: %w", key, p.name, err)
	}
	return d, nil
}

// sameJSON reports whether two documents hold the same value (nil and null
// alike).
func sameJSON(a, b json.RawMessage) bool {
	if bytes.Equal(a, b) {
		return true
	}
	var va, vb any
	if len(a) > 0 && json.Unmarshal(a, &va) != nil {
		return false
	}
	if len(b) > 0 && json.Unmarshal(b, &vb) != nil {
		return false
	}
	ja, _ := json.Marshal(va)
	jb, _ := json.Marshal(vb)
	return bytes.Equal(ja, jb)
}

// cut is a value as a difference shows it: "null" when missing, at most
// diffValueMax bytes.
func cut(v json.RawMessage) string {
	if len(v) == 0 {
		return "null"
	}
	if len(v) > diffValueMax {
		return string(v[:diffValueMax]) + "…"
	}
	return string(v)
}
