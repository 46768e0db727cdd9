package es

import (
	"context"
	"time"
)

// ShardedFeed is a Feed read from shards that keep their records for a
// limited time (DynamoDB Streams: 24 hours), so that a checkpoint left
// behind long enough points at records no longer there. It is optional:
// the projections board shows each shard when the feed is one.
type ShardedFeed interface {
	Feed
	// Shards tells, at now, where checkpoint (one this feed made) stands in
	// each shard of the stream, and when the retention passes it.
	Shards(ctx context.Context, checkpoint string, now time.Time) (ShardReport, error)
}

// MaxShardsReported bounds ShardReport.Shards.
const MaxShardsReported = 100

// ShardReport is a checkpoint's place in the shards of a feed.
type ShardReport struct {
	// Retention is how long the stream keeps a record.
	Retention time.Duration
	// Shards are the stream's shards and the checkpoint's, parents before
	// children, at most MaxShardsReported; LeftOff counts the others.
	Shards  []ShardPosition
	LeftOff int
	// Bootstrap is the last re-bootstrap from the events table the
	// checkpoint's feed made (a first start, records trimmed before they
	// were read); nil when the checkpoint tells of none.
	Bootstrap *Bootstrap
	// Reporter and Reported, in a cluster, name the instance that listed
	// the shards for its checkpoint (the lease holder, whose feed it is)
	// and when; empty where the report is this instance's own.
	Reporter string    `json:",omitempty"`
	Reported time.Time `json:",omitzero"`
}

// Shard states.
const (
	ShardOpen    = "open"    // records still arrive
	ShardClosed  = "closed"  // no more will; not yet read to its end
	ShardDone    = "done"    // read to its end, every event handed on
	ShardNew     = "new"     // in the stream, not in the checkpoint yet
	ShardTrimmed = "trimmed" // in the checkpoint, gone from the stream
	ShardUnknown = "unknown" // in the checkpoint, not among the shards listed
)

// ShardPosition is one shard and the checkpoint's position in it.
type ShardPosition struct {
	ID, Parent string
	// Born is when the shard was made (zero: not known).
	Born  time.Time
	State string
	// Position is the sequence number of the last record the checkpoint
	// has handed on in the shard ("": none yet), and PositionAt when that
	// record was made (zero: not known).
	Position   string
	PositionAt time.Time
	// Expires is when the retention passes the checkpoint in this shard:
	// from then on, a feed started from it cannot resume there and
	// re-bootstraps from the events table. Zero when nothing the
	// checkpoint needs of the shard can be trimmed (a shard read to its
	// end, or one it has not met).
	Expires time.Time
	// CaughtUp: the checkpoint stands at the newest record of the shard,
	// as a read that found nothing after it said a moment ago. Nothing of
	// the shard is unread, so nothing is at risk: its countdown is
	// CountdownCaughtUp.
	CaughtUp bool
}

// Bootstrap is a re-bootstrap of a feed from the events table: when it
// began, why, and whether the checkpoint is still in it.
type Bootstrap struct {
	At       time.Time
	Why      string
	UnderWay bool
}

// A shard's countdown to its Expires is amber under RetentionAmber and red
// under RetentionRed: by then a feed stopped for a deploy, or slowed by a
// poison stream, may not be back in time.
const (
	RetentionAmber = 12 * time.Hour
	RetentionRed   = 4 * time.Hour
)

// Countdown is the colour of a shard's countdown (ShardPosition.Level).
type Countdown string

const (
	CountdownNone   Countdown = ""       // nothing of the shard can expire
	CountdownOK     Countdown = "ok"     // more than RetentionAmber left
	CountdownAmber  Countdown = "amber"  // less than RetentionAmber
	CountdownRed    Countdown = "red"    // less than RetentionRed
	CountdownPassed Countdown = "passed" // a feed started from the checkpoint re-bootstraps
	// CountdownCaughtUp: nothing of the shard is unread (CaughtUp).
	CountdownCaughtUp Countdown = "caughtUp"
)

// Left is how long until the retention passes the checkpoint in the shard
// (negative once it has), at now.
func (p ShardPosition) Left(now time.Time) time.Duration { return p.Expires.Sub(now) }

// Level is the countdown's colour at now.
func (p ShardPosition) Level(now time.Time) Countdown {
	switch left := p.Left(now); {
	case p.Expires.IsZero():
		return CountdownNone
	case p.CaughtUp:
		return CountdownCaughtUp
	case left <= 0:
		return CountdownPassed
	case left < RetentionRed:
		return CountdownRed
	case left < RetentionAmber:
		return CountdownAmber
	}
	return CountdownOK
}
