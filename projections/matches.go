package projections

import "github.com/foldboard/foldboard/domain/cricket"

// TopicMatches is the topic of the matches list.
const TopicMatches = "matches"

// Matches is the read model of every match: each one's scoreboard.
type Matches = Streams[cricket.State, cricket.Event]

// NewMatches makes an empty matches model.
func NewMatches() *Matches { return NewStreams(cricket.Decider(), TopicMatches) }
