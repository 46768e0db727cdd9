package sqlite

import (
	"context"
	"database/sql"
	"fmt"
	"math"

	"github.com/foldboard/foldboard/es"
)

var _ es.LogBackward = (*Store)(nil)

// backwardScan bounds the rows one page newest first examines beyond what
// an index gives it (a stream type filter): such a page may hold fewer
// events than its limit, with a Next to go on.
const backwardScan = 1000

const (
	sqlBackward = `SELECT ` + eventColumns + ` FROM events
		WHERE position < ? ORDER BY position DESC LIMIT ?`
	sqlBackwardByType = `SELECT ` + eventColumns + ` FROM events INDEXED BY events_by_type
		WHERE event_type = ? AND position < ? ORDER BY position DESC LIMIT ?`
	sqlLastPosition = `SELECT coalesce(max(position), 0) FROM events`
)

// ReadLogBackward pages the log newest first: by position, or by the index
// by event type; a stream type is filtered from at most backwardScan rows.
func (s *Store) ReadLogBackward(ctx context.Context, q es.BackwardQuery) (es.BackwardPage, error) {
	var page es.BackwardPage
	if err := s.reader.QueryRowContext(ctx, sqlLastPosition).Scan(&page.Total); err != nil {
		return page, fmt.Errorf("sqlite: last position: %w", err)
	}
	before := q.Before
	if before <= 0 {
		before = math.MaxInt64
	}
	limit := max(q.Limit, 1)
	scan := limit + 1 // one more, to tell whether older events remain
	if q.StreamType != "" {
		scan = max(backwardScan, limit+1)
	}
	var rows []es.Envelope
	var err error
	if q.Type != "" {
		rows, err = queryRows(ctx, s.reader, sqlBackwardByType, q.Type, before, scan)
	} else {
		rows, err = queryRows(ctx, s.reader, sqlBackward, before, scan)
	}
	if err != nil {
		return page, fmt.Errorf("sqlite: log before %d: %w", before, err)
	}
	for i, e := range rows {
		if len(page.Events) == limit {
			page.Next = position(rows[i-1])
			return page, nil
		}
		if q.StreamType == "" || e.Stream.Type == q.StreamType {
			page.Events = append(page.Events, e)
		}
	}
	if len(rows) == scan && len(rows) > 0 {
		page.Next = position(rows[len(rows)-1]) // examined all it may: go on before the last
	}
	return page, nil
}

func position(e es.Envelope) int64 {
	var p int64
	fmt.Sscan(e.Position, &p)
	return p
}

func queryRows(ctx context.Context, db *sql.DB, query string, args ...any) ([]es.Envelope, error) {
	st, err := db.PrepareContext(ctx, query)
	if err != nil {
		return nil, err
	}
	defer st.Close()
	return queryEvents(ctx, st, args...)
}
