package dynamo

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"
)

// checkpoint is the feed's position, handed to the projector as an opaque
// string: for each shard of the events table's stream, the sequence number
// of the last record whose events have all been handed on (never one past an
// event still held back), and the shards read to their end.
type checkpoint struct {
	Format int    `json:"f"`
	Stream string `json:"arn"`
	// At is when the checkpoint was made (Unix seconds): a shard never read
	// from in a checkpoint older than the Streams retention may have lost
	// records.
	At int64 `json:"at"`
	// Shards maps each shard not yet finished to its last handed-on sequence
	// number ("": none yet, start at TRIM_HORIZON).
	Shards map[string]string `json:"shards,omitempty"`
	// Done lists shards read to their end with every event handed on.
	Done []string `json:"done,omitempty"`
	// Times maps a shard of Shards to when the record at its sequence
	// number was made (Unix seconds): the retention passes the checkpoint
	// there a day later (Feed.Shards). Absent for "" and where not known.
	Times map[string]int64 `json:"t,omitempty"`
	// Rebuild, while the feed reads the events table (a first start, or after
	// trimmed records), is the log cursor after the last page handed on.
	Rebuild *string `json:"rebuild,omitempty"`
	// Boot is the feed's last re-bootstrap from the events table, kept in
	// every checkpoint after it, for the projections board.
	Boot *bootNote `json:"boot,omitempty"`
}

// bootNote is a re-bootstrap from the events table: when it began (Unix
// seconds) and why.
type bootNote struct {
	At  int64  `json:"at"`
	Why string `json:"why"`
}

// maxBootWhy bounds bootNote.Why, which names a shard or two.
const maxBootWhy = 200

const checkpointFormat = 1

func (c checkpoint) String() string {
	c.Format = checkpointFormat
	slices.Sort(c.Done)
	b, err := json.Marshal(c)
	if err != nil {
		panic(err) // strings and numbers only
	}
	return string(b)
}

func parseCheckpoint(s string) (checkpoint, error) {
	var c checkpoint
	if err := json.Unmarshal([]byte(s), &c); err != nil {
		return c, fmt.Errorf("dynamo: checkpoint %q: %w", s, err)
	}
	if c.Format != checkpointFormat {
		return c, fmt.Errorf("dynamo: checkpoint %q: format %d, want %d", s, c.Format, checkpointFormat)
	}
	return c, nil
}

// Covers implements es.CheckpointOrder. A checkpoint made while the feed
// tails the stream covers another of the same stream when it is at or past
// it in every shard the other names: a shard the other finished is finished
// in it too (or gone from it, pruned once finished and trimmed, when it was
// made later), a position at or past the other's. A checkpoint made while
// the feed reads the events table (Rebuild) covers only one at the same
// place of that read (the log's cursors follow the state table's Scan, in
// no order a checkpoint can tell); one made while tailing covers it when
// its positions do, for the read hands on only events committed before the
// stream positions it started from. Anything else does not cover: the
// reactors then read from a point before both.
func (f *Feed) Covers(a, b string) (bool, error) {
	if b == "" {
		return true, nil
	}
	if a == "" {
		return false, nil
	}
	ca, err := parseCheckpoint(a)
	if err != nil {
		return false, err
	}
	cb, err := parseCheckpoint(b)
	if err != nil {
		return false, err
	}
	return ca.covers(cb), nil
}

func (a checkpoint) covers(b checkpoint) bool {
	if a.Stream != b.Stream {
		return false
	}
	if a.Rebuild != nil && (b.Rebuild == nil || *a.Rebuild != *b.Rebuild) {
		return false
	}
	for _, id := range b.Done {
		if slices.Contains(a.Done, id) {
			continue
		}
		if _, open := a.Shards[id]; open || a.At <= b.At {
			return false
		}
	}
	for id, seq := range b.Shards {
		if slices.Contains(a.Done, id) {
			continue
		}
		at, ok := a.Shards[id]
		if !ok {
			if seq != "" {
				return false
			}
			continue
		}
		if seqBefore(at, seq) {
			return false
		}
	}
	return true
}

// seqBefore reports whether sequence number a comes before b: both are
// decimal numbers of up to 40 digits (leading zeros aside), "" before
// every one.
func seqBefore(a, b string) bool {
	a, b = strings.TrimLeft(a, "0"), strings.TrimLeft(b, "0")
	if len(a) != len(b) {
		return len(a) < len(b)
	}
	return a < b
}
