package reactions

import (
	"fmt"
	"strings"
	"unicode/utf8"

	"github.com/foldboard/foldboard/domain/blog"
	"github.com/foldboard/foldboard/domain/cricket"
	"github.com/foldboard/foldboard/es"
)

// MatchReportReaction answers MatchEnded on match/{id} by creating
// post/report-{id} (title "{home} v {away}: {result}", a body with every
// innings) and publishing it, as system/match-report, its author.
func MatchReportReaction() es.Reaction {
	return es.OnState(MatchReport, cricket.Decider(), []string{"MatchEnded"}, matchReport)
}

// ReportStream is the post that reports match id.
func ReportStream(matchID string) es.StreamRef {
	return es.StreamRef{Type: blog.StreamType, ID: reportID(matchID)}
}

// reportID is "report-{id}", cut to the id alphabet's 64 characters (a
// match id of 58 or more would not fit otherwise; two such ids that share
// their first 57 characters share a report, and the second is refused,
// PostExists).
func reportID(matchID string) string {
	id := "report-" + matchID
	if len(id) > 64 {
		id = id[:64]
	}
	return id
}

func matchReport(env es.Envelope, _ cricket.Event, s cricket.State) []es.IssuedCommand {
	author := es.SystemActor(MatchReport)
	post := ReportStream(env.Stream.ID)
	return []es.IssuedCommand{
		{Stream: post, Command: blog.CreatePost{Title: ReportTitle(s), Body: ReportBody(s), Author: author}},
		{Stream: post, Command: blog.PublishPost{Actor: author}},
	}
}

// ReportTitle is "{home} v {away}: {result}", cut with an ellipsis to the
// longest title a post takes.
func ReportTitle(s cricket.State) string {
	return clip(fmt.Sprintf("%s v %s: %s", s.HomeTeam, s.AwayTeam, s.Result), blog.MaxTitleLen)
}

// ReportBody lists every innings, each side's total and the result.
func ReportBody(s cricket.State) string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s v %s at %s\n\n", s.HomeTeam, s.AwayTeam, s.Venue)
	if len(s.Innings) == 0 {
		b.WriteString("No innings completed.\n")
	}
	for _, in := range s.Innings {
		fmt.Fprintf(&b, "Innings %d: %s %d/%d\n", in.Number, in.Batting, in.Runs, in.Wickets)
	}
	if len(s.Innings) > 0 {
		fmt.Fprintf(&b, "\nTotals: %s %d, %s %d\n", s.HomeTeam, s.HomeRuns, s.AwayTeam, s.AwayRuns)
	}
	fmt.Fprintf(&b, "\nResult: %s\n", s.Result)
	return b.String()
}

// clip cuts s to at most n characters, ending with "…" when it cut.
func clip(s string, n int) string {
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	r := []rune(s)
	return string(r[:n-1]) + "…"
}
