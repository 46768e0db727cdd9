package projections

import "github.com/foldboard/foldboard/domain/cricket"

// Topics of the list pages.
const (
	TopicMatches = "matches"
)

// Matches is the read model of every match: each one's scoreboard.
type Matches = Streams[cricket.State, cricket.Command, cricket.Event]

// ReadSide is every read model foldboard keeps.
type ReadSide struct {
	Matches *Matches
}

// NewReadSide makes empty read models.
func NewReadSide() *ReadSide {
	return &ReadSide{
		Matches: NewStreams(cricket.Decider(), TopicMatches),
	}
}

// Models lists the read models for the projector.
func (rs *ReadSide) Models() []Model {
	return []Model{rs.Matches}
}
