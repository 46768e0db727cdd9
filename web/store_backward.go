package web

import (
	"context"
	"errors"

	"github.com/foldboard/foldboard/es"
)

// ReadLogBackward hands the event browser's pages to the store beneath when
// it pages its log newest first (es.LogBackward); errors.ErrUnsupported
// when it does not, and the browser reads the event index instead.
func (s timedStore) ReadLogBackward(ctx context.Context, q es.BackwardQuery) (es.BackwardPage, error) {
	if l, ok := s.Store.(es.LogBackward); ok {
		return l.ReadLogBackward(ctx, q)
	}
	return es.BackwardPage{}, errors.ErrUnsupported
}
