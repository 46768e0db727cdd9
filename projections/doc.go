// Package projections is foldboard's read side: the projector that tails a
// store's change feed, and the read models it keeps (the stream catalogue, one
// view per stream of each domain, sales by day, …). Read models live in memory
// for the pages, are saved with the feed checkpoint they reflect, and are
// exactly-once by stream version over an at-least-once feed.
package projections
