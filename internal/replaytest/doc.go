// Package replaytest checks, for every domain, that replay agrees with itself:
// folding a stream from a snapshot gives the same state as folding it from
// scratch, at every version, and the projector's read model of each stream
// equals the fold of its events.
package replaytest
