package dynamo

import "testing"

// A checkpoint covers another when the feed had handed on, at it, all it
// had at the other: shard by shard, and never across a read of the events
// table it cannot place.
func TestCheckpointCovers(t *testing.T) {
	cursor, other := "c1", "c2"
	cp := func(at int64, shards map[string]string, done ...string) checkpoint {
		return checkpoint{Stream: "arn", At: at, Shards: shards, Done: done}
	}
	for _, c := range []struct {
		name string
		a, b checkpoint
		want bool
	}{
		{"the same", cp(1, map[string]string{"s": "0010"}), cp(1, map[string]string{"s": "0010"}), true},
		{"further on", cp(2, map[string]string{"s": "0100"}), cp(1, map[string]string{"s": "0099"}), true},
		{"behind (numbers, not strings)", cp(1, map[string]string{"s": "99"}), cp(2, map[string]string{"s": "100"}), false},
		{"leading zeros", cp(1, map[string]string{"s": "000100"}), cp(2, map[string]string{"s": "99"}), true},
		{"nothing read yet", cp(1, map[string]string{"s": ""}), cp(2, map[string]string{"s": "5"}), false},
		{"the shard finished", cp(2, map[string]string{"c": ""}, "s"), cp(1, map[string]string{"s": "5"}), true},
		{"finished in the other only", cp(2, map[string]string{"s": "9"}), cp(1, nil, "s"), false},
		{"finished and pruned since", cp(3, map[string]string{"c": "1"}), cp(1, map[string]string{"c": ""}, "s"), true},
		{"finished later than it was made", cp(1, map[string]string{"c": "1"}), cp(3, map[string]string{"c": ""}, "s"), false},
		{"a new shard it has not read", cp(2, map[string]string{"s": "9"}), cp(1, map[string]string{"s": "9", "c": ""}), true},
		{"a shard it never saw, read in the other", cp(2, map[string]string{"s": "9"}), cp(1, map[string]string{"s": "9", "c": "4"}), false},
		{"ahead in one shard, behind in another", cp(2, map[string]string{"s": "9", "c": "1"}), cp(1, map[string]string{"s": "8", "c": "2"}), false},
		{"another stream", checkpoint{Stream: "arn2", Shards: map[string]string{"s": "9"}}, cp(1, map[string]string{"s": "1"}), false},
		{"tailing past a read of the table", cp(2, map[string]string{"s": "9"}), checkpoint{Stream: "arn", Shards: map[string]string{"s": "9"}, Rebuild: &cursor}, true},
		{"reading the table, against tailing", checkpoint{Stream: "arn", Shards: map[string]string{"s": "9"}, Rebuild: &cursor}, cp(1, map[string]string{"s": "1"}), false},
		{"the same place of a read", checkpoint{Stream: "arn", Shards: map[string]string{"s": "9"}, Rebuild: &cursor}, checkpoint{Stream: "arn", Shards: map[string]string{"s": "9"}, Rebuild: &cursor}, true},
		{"another place of a read", checkpoint{Stream: "arn", Shards: map[string]string{"s": "9"}, Rebuild: &other}, checkpoint{Stream: "arn", Shards: map[string]string{"s": "9"}, Rebuild: &cursor}, false},
	} {
		f := &Feed{}
		got, err := f.Covers(c.a.String(), c.b.String())
		if err != nil || got != c.want {
			t.Errorf("%s: Covers = %v, %v; want %v", c.name, got, err, c.want)
		}
	}
	f := &Feed{}
	if ok, err := f.Covers(cp(1, nil).String(), ""); !ok || err != nil {
		t.Errorf("a checkpoint does not cover the beginning: %v, %v", ok, err)
	}
	if ok, err := f.Covers("", cp(1, nil).String()); ok || err != nil {
		t.Errorf("the beginning covers a checkpoint: %v, %v", ok, err)
	}
	if _, err := f.Covers("{", ""); err != nil {
		t.Errorf("anything covers the beginning, even unread: %v", err)
	}
	if _, err := f.Covers("{", cp(1, nil).String()); err == nil {
		t.Error("a checkpoint that is not one: no error")
	}
}
