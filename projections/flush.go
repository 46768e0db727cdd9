package projections

import "context"

// Flush writes to the store what the projector's saves handed over and
// its deferred saves hold back (DeferSaves), so that a load from the store
// after it returns finds them: a cluster's holder flushes after a retry or
// a model rebuild, before the other instances load what it saved.
func (p *Projector) Flush(ctx context.Context) error {
	if d, ok := p.store.(*DeferredSaves); ok {
		return d.Flush(ctx)
	}
	return nil
}
