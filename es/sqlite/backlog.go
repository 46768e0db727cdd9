package sqlite

import (
	"context"
	"database/sql"
	"fmt"
	"time"

	"github.com/foldboard/foldboard/es"
)

var _ es.BacklogFeed = feed{}

// Backlog counts the events after a checkpoint (a position). The count walks
// the rowid range after it, so it costs as much as the projector is behind:
// nothing when it has caught up.
func (f feed) Backlog(ctx context.Context, checkpoint string) (es.Backlog, error) {
	pos, err := parsePosition(checkpoint)
	if err != nil {
		return es.Backlog{}, fmt.Errorf("sqlite: backlog: %w", err)
	}
	var (
		n  int64
		ns sql.NullInt64
	)
	err = f.s.reader.QueryRowContext(ctx, `
		SELECT count(*), (SELECT time_ns FROM events WHERE position > ?1 ORDER BY position LIMIT 1)
		FROM events WHERE position > ?1`, pos).Scan(&n, &ns)
	if err != nil {
		return es.Backlog{}, fmt.Errorf("sqlite: backlog after position %d: %w", pos, err)
	}
	b := es.Backlog{Events: n}
	if n > 0 && ns.Valid {
		b.Oldest = time.Unix(0, ns.Int64).UTC()
	}
	return b, nil
}
