package projections

import (
	"container/list"
	"sync"
)

// bytesCache remembers values by key up to a number of bytes, each value
// costing what cost says; the least recently used go first. It is safe for
// concurrent use.
type bytesCache[K comparable, V any] struct {
	mu      sync.Mutex
	max     int
	size    int
	cost    func(V) int
	entries map[K]*list.Element
	order   list.List // front: most recently used; values are *cacheEntry[K, V]
}

type cacheEntry[K comparable, V any] struct {
	key   K
	value V
	cost  int
}

func newBytesCache[K comparable, V any](maxBytes int, cost func(V) int) *bytesCache[K, V] {
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
	cost := c.cost(v)
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
