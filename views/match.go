package views

import (
	"fmt"

	"github.com/foldboard/foldboard/domain/cricket"
)

// The cricket module's routes.
const (
	RouteMatches      = "/matches"
	RouteMatch        = "/matches/{id}"
	RouteMatchInnings = "/matches/{id}/innings"
	RouteMatchEnd     = "/matches/{id}/end"
)

func matchStatus(s cricket.State) string {
	switch {
	case s.Ended:
		return "ended"
	case len(s.Innings) == 0:
		return "started"
	default:
		return fmt.Sprintf("innings %d of %d complete", len(s.Innings), cricket.MaxInnings)
	}
}

func scoreLine(s cricket.State) string {
	return fmt.Sprintf("%d – %d", s.HomeRuns, s.AwayRuns)
}
