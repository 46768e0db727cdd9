package dynamo_test

import (
	"encoding/json"
	"testing"
)

// SaveMark is different after every save of a projector's read models,
// one that keeps the checkpoint too (a save in the middle of a batch), and
// the same between saves: a follower's load between two equal marks saw no
// save. Another projector's saves leave it alone.
func TestSaveMarkChangesWithEverySave(t *testing.T) {
	s := open(t, config(t))
	ctx := t.Context()
	none, err := s.SaveMark(ctx, "p")
	if err != nil || none != "" {
		t.Fatalf("the mark of read models never saved: %q, %v", none, err)
	}
	seen := map[string]bool{}
	for i, cp := range []string{"1", "1", "2"} {
		if err := s.SaveReadModels(ctx, "p", cp, map[string]json.RawMessage{"a": json.RawMessage(`{}`)}); err != nil {
			t.Fatal(err)
		}
		mark, err := s.SaveMark(ctx, "p")
		if err != nil || mark == "" || seen[mark] {
			t.Fatalf("save %d (checkpoint %s): mark %q (%v), seen before: %v", i, cp, mark, err, seen[mark])
		}
		seen[mark] = true
		if again, err := s.SaveMark(ctx, "p"); err != nil || again != mark {
			t.Fatalf("the mark read again: %q (%v), want %q", again, err, mark)
		}
		if err := s.SaveReadModels(ctx, "other", cp, nil); err != nil {
			t.Fatal(err)
		}
		if after, _ := s.SaveMark(ctx, "p"); after != mark {
			t.Fatalf("another projector's save changed the mark: %q, was %q", after, mark)
		}
	}
}
