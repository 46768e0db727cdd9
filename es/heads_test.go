package es

import (
	"fmt"
	"testing"
)

func TestHeadsKeepTheNewestVersionWithinTheirBytes(t *testing.T) {
	rec := func(v int64, n int) StateRecord {
		return StateRecord{Version: v, Schema: 1, Data: make([]byte, n)}
	}
	s := StreamRef{Type: "cart", ID: "c-1"}
	c := NewHeads(100 * (100 + headOverhead))
	c.put(s, rec(3, 10))
	c.put(s, rec(2, 10)) // a slow reader's older record
	if got, ok := c.get(s); !ok || got.Version != 3 {
		t.Fatalf("after putting v3 then v2: %v %v, want v3", got.Version, ok)
	}
	c.forget(s)
	if _, ok := c.get(s); ok {
		t.Fatal("a forgotten stream is still remembered")
	}

	// Filling it past its bytes pushes out the least recently used.
	first := StreamRef{Type: "cart", ID: "c-0"}
	c.put(first, rec(1, 100-len(first.ID)))
	for i := 1; i < 150; i++ {
		id := StreamRef{Type: "cart", ID: fmt.Sprintf("c-%d", i)}
		c.put(id, rec(1, 100-len(id.ID)))
		if _, ok := c.get(first); !ok && i < 99 {
			t.Fatalf("the most recently used stream was pushed out after %d others", i)
		}
	}
	if n := c.Len(); n != 100 {
		t.Errorf("%d streams remembered, want the 100 that fit", n)
	}
	if c.size > c.max {
		t.Errorf("size %d over the limit %d", c.size, c.max)
	}
	if _, ok := c.get(first); !ok {
		t.Error("the stream used after every put was pushed out")
	}
	if _, ok := c.get(StreamRef{Type: "cart", ID: "c-1"}); ok {
		t.Error("the least recently used stream is still there")
	}

	// A record larger than an eighth of the whole is not kept.
	c.put(s, rec(1, c.max/8))
	if _, ok := c.get(s); ok {
		t.Error("a record of an eighth of the cache was kept")
	}
	if NewHeads(0) != nil {
		t.Error("NewHeads(0) made a cache")
	}
	var none *Heads
	none.put(s, rec(1, 1))
	if _, ok := none.get(s); ok || none.Len() != 0 {
		t.Error("a nil Heads remembered something")
	}
}
