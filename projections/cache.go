package projections

import (
	"container/list"
	"context"
	"iter"
	"sync"
)

// bytesCache remembers values by key up to a number of bytes, each value
// costing what cost says; the least recently used go first. It is safe for
// concurrent use.
type bytesCache[K comparable, V any] struct {
	mu      sync.Mutex
	max     int
	size    int
	cost    func(K, V) int
	entries map[K]*list.Element
	order   list.List // front: most recently used; values are *cacheEntry[K, V]
}

type cacheEntry[K comparable, V any] struct {
	key   K
	value V
	cost  int
}

func newBytesCache[K comparable, V any](maxBytes int, cost func(V) int) *bytesCache[K, V] {
	return newKeyedCache(maxBytes, func(_ K, v V) int { return cost(v) })
}

// newKeyedCache is a bytesCache whose cost is the key's and the value's
// (a small value under a key that costs as much).
func newKeyedCache[K comparable, V any](maxBytes int, cost func(K, V) int) *bytesCache[K, V] {
	return &bytesCache[K, V]{max: maxBytes, cost: cost, entries: map[K]*list.Element{}}
}

func (c *bytesCache[K, V]) get(k K) (V, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	el, ok := c.entries[k]
	if !ok {
		var zero V
		return zero, false
	}
	c.order.MoveToFront(el)
	return el.Value.(*cacheEntry[K, V]).value, true
}

// put remembers v under k; one value of more than an eighth of the cache is
// not kept (it would push out everything else).
func (c *bytesCache[K, V]) put(k K, v V) {
	cost := c.cost(k, v)
	c.mu.Lock()
	defer c.mu.Unlock()
	if el, ok := c.entries[k]; ok {
		c.removeLocked(el)
	}
	if cost > c.max/8 {
		return
	}
	c.entries[k] = c.order.PushFront(&cacheEntry[K, V]{key: k, value: v, cost: cost})
	c.size += cost
	for c.size > c.max {
		c.removeLocked(c.order.Back())
	}
}

func (c *bytesCache[K, V]) removeLocked(el *list.Element) {
	e := c.order.Remove(el).(*cacheEntry[K, V])
	delete(c.entries, e.key)
	c.size -= e.cost
}

// bytes is what the cache holds now, by cost.
func (c *bytesCache[K, V]) bytes() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.size
}

// pinBatch pins, for a batch about to be applied, the value of each key
// its events will change: the one held in memory (held), or else the one
// read back from the store (read), so that a cache letting go of it between
// two of the batch's events loses nothing, and a failed read fails the
// batch (to be tried again from the checkpoint) rather than one event. mu
// guards held and pins; read is called without it (it may take the lock
// itself, to cache what it read).
func pinBatch[K comparable, V any](ctx context.Context, mu sync.Locker, keys iter.Seq[K], pins map[K]V,
	held func(K) (V, bool), read func(context.Context, K) (V, error)) error {
	for k := range keys {
		mu.Lock()
		v, ok := held(k)
		if ok {
			pins[k] = v
		}
		mu.Unlock()
		if ok {
			continue
		}
		v, err := read(ctx, k)
		if err != nil {
			return err
		}
		mu.Lock()
		if now, ok := held(k); ok {
			v = now // what memory holds now (read may have cached it) is the newest
		}
		pins[k] = v
		mu.Unlock()
	}
	return nil
}
