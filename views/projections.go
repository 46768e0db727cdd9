package views

import (
	"fmt"
	"time"
)

// BoardStream is the read models' checkpoint in each shard of the store's
// change feed (DynamoDB Streams), on the projections board.
type BoardStream struct {
	Retention time.Duration
	Shards    []BoardShard
	// LeftOff counts the shards not shown.
	LeftOff   int
	Bootstrap *BoardBootstrap
	// Error says the shards could not be listed.
	Error string
	// ReportedBy and ReportedAt, on a cluster's follower: the lease holder
	// that listed them, for its checkpoint, and when.
	ReportedBy string
	ReportedAt time.Time
}

// BoardShard is one shard: its state, its age (-1: not known), the
// checkpoint's sequence number in it and when that record was made, and the
// retention countdown: Left and its colour, Countdown ("" where nothing can
// expire, "ok", "amber", "red", "passed"; "caughtUp" where nothing of the
// shard is unread).
type BoardShard struct {
	ID, Parent, State string
	Age               time.Duration
	Position          string
	PositionAt        time.Time
	Left              time.Duration
	Countdown         string
}

// RetryStatus is a cluster's last retry of a parked stream: asked for on
// RequestedBy, carried out by the lease holder RunBy; State "requested",
// "running", "done" or "failed" (Error), with what it did.
type RetryStatus struct {
	Stream, State, RequestedBy, RunBy, Error string
	Applied, Version                         int64
	Parked                                   string
	At                                       time.Time
}

// retryText is the retry's state in words.
func retryText(r RetryStatus) string {
	switch r.State {
	case "requested":
		return fmt.Sprintf("Retry of %s asked for on %s: waiting for the cluster's projector.", r.Stream, r.RequestedBy)
	case "running":
		return fmt.Sprintf("Retry of %s under way on the cluster's projector %s.", r.Stream, r.RunBy)
	case "failed":
		return fmt.Sprintf("Retry of %s on %s failed: %s", r.Stream, r.RunBy, r.Error)
	}
	s := fmt.Sprintf("Retried %s on %s: %d events applied, at version %d; every instance loads it.", r.Stream, r.RunBy, r.Applied, r.Version)
	if r.Parked != "" {
		s += " Parked again: " + r.Parked
	}
	return s
}

// BoardBootstrap is the feed's last re-bootstrap from the events table.
type BoardBootstrap struct {
	At       time.Time
	Why      string
	UnderWay bool
}

// spanText is a long span as a person reads it: "45 s", "12 min",
// "23 h 59 min", "3 d 4 h".
func spanText(d time.Duration) string {
	d = d.Truncate(time.Second)
	switch {
	case d < time.Minute:
		return fmt.Sprintf("%d s", int(d.Seconds()))
	case d < time.Hour:
		return fmt.Sprintf("%d min", int(d.Minutes()))
	case d < 48*time.Hour:
		return fmt.Sprintf("%d h %d min", int(d.Hours()), int(d.Minutes())%60)
	}
	return fmt.Sprintf("%d d %d h", int(d.Hours())/24, int(d.Hours())%24)
}

// countdownText is a shard's retention countdown in words, its colour
// told too (for those who do not see it).
func countdownText(s BoardShard) string {
	switch s.Countdown {
	case "":
		return "—"
	case "caughtUp":
		return "caught up: nothing unread"
	case "passed":
		return "passed: a restart re-bootstraps from the events table"
	case "amber":
		return spanText(s.Left) + " left (under 12 h)"
	case "red":
		return spanText(s.Left) + " left (under 4 h)"
	}
	return spanText(s.Left) + " left"
}

// parkedSpan is how many columns a parked stream's row spans after its
// first: the board's nine, less that one, and the admins' Rebuild column.
func parkedSpan(admin bool) string {
	if admin {
		return "9"
	}
	return "8"
}
