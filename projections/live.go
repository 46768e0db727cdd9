package projections

import "sync/atomic"

// Current is a read side and the projector that keeps it: what the pages
// read from.
type Current struct {
	Read      *ReadSide
	Projector *Projector
}

// Live holds the Current the app serves from. A rebuild swaps in a new one
// atomically; readers take it with Load, at no cost beyond an atomic load.
type Live struct{ cur atomic.Pointer[Current] }

// NewLive holds c.
func NewLive(c Current) *Live {
	l := &Live{}
	l.cur.Store(&c)
	return l
}

// Load returns what the app serves from now.
func (l *Live) Load() *Current { return l.cur.Load() }

// Swap serves from c from now on and returns what it replaces.
func (l *Live) Swap(c Current) *Current { return l.cur.Swap(&c) }
