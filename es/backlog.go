package es

import (
	"context"
	"time"
)

// Backlog is what a feed checkpoint has not reached yet: the events committed
// after it, and the time of the oldest of them.
type Backlog struct {
	Events int64
	// Oldest is the time of the first event after the checkpoint; zero when
	// Events is 0.
	Oldest time.Time
}

// BacklogFeed is a Feed that can tell, cheaply and counting every writer, how
// far one of its checkpoints is behind the newest committed event. It is
// optional: a feed with no cheap end of log (DynamoDB Streams has none) does
// not implement it, and callers fall back on what they see themselves.
type BacklogFeed interface {
	Feed
	// Backlog counts the events committed after checkpoint ("" for the
	// beginning: every event).
	Backlog(ctx context.Context, checkpoint string) (Backlog, error)
}
