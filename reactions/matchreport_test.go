package reactions_test

import (
	"strings"
	"testing"

	"github.com/foldboard/foldboard/domain/blog"
	"github.com/foldboard/foldboard/domain/cricket"
	"github.com/foldboard/foldboard/es"
	"github.com/foldboard/foldboard/reactions"
)

func TestMatchReportTable(t *testing.T) {
	started := cricket.MatchStarted{Venue: "Lord's", HomeTeam: "England", AwayTeam: "Australia"}
	inn := func(n, runs, wkts int) cricket.Event {
		return cricket.InningsCompleted{Innings: n, Runs: runs, Wickets: wkts}
	}
	const author = "system/match-report"
	report := func(id, title, body string) []es.IssuedCommand {
		post := es.StreamRef{Type: "post", ID: "report-" + id}
		return []es.IssuedCommand{
			{Stream: post, Command: blog.CreatePost{Title: title, Body: body, Author: author}},
			{Stream: post, Command: blog.PublishPost{Actor: author}},
		}
	}
	long := strings.Repeat("é", 190)
	runTable(t, reactions.MatchReportReaction(), cricket.Events(), []row[cricket.Event]{
		{name: "a match ended after four innings is reported with every innings",
			stream: match("m-1"),
			given:  []cricket.Event{started, inn(1, 250, 10), inn(2, 301, 8), inn(3, 199, 10), inn(4, 149, 3), cricket.MatchEnded{Result: "Australia won by 7 wickets"}},
			then: report("m-1", "England v Australia: Australia won by 7 wickets",
				"England v Australia at Lord's\n\n"+
					"Innings 1: England 250/10\nInnings 2: Australia 301/8\nInnings 3: England 199/10\nInnings 4: Australia 149/3\n\n"+
					"Totals: England 449, Australia 450\n\nResult: Australia won by 7 wickets\n")},
		{name: "a match ended before any innings says so",
			stream: match("m-2"),
			given:  []cricket.Event{started, cricket.MatchEnded{Result: "Abandoned: rain"}},
			then:   report("m-2", "England v Australia: Abandoned: rain", "England v Australia at Lord's\n\nNo innings completed.\n\nResult: Abandoned: rain\n")},
		{name: "a title longer than a post takes is cut with an ellipsis",
			stream: match("m-3"),
			given:  []cricket.Event{started, cricket.MatchEnded{Result: long}},
			then: report("m-3", ("England v Australia: " + long)[:len("England v Australia: ")+2*(200-len("England v Australia: ")-1)]+"…",
				"England v Australia at Lord's\n\nNo innings completed.\n\nResult: "+long+"\n")},
		{name: "the longest match id still names a valid post",
			stream: match(strings.Repeat("x", 64)),
			given:  []cricket.Event{started, cricket.MatchEnded{Result: "Draw"}},
			then:   report(strings.Repeat("x", 57), "England v Australia: Draw", "England v Australia at Lord's\n\nNo innings completed.\n\nResult: Draw\n")},
		{name: "an innings is not the end of a match",
			stream: match("m-4"),
			given:  []cricket.Event{started, inn(1, 10, 1)},
			then:   nil},
		{name: "a start is not the end of a match",
			stream: match("m-5"),
			given:  []cricket.Event{started},
			then:   nil},
	})
}

func TestMatchReportTitleIsAValidPostTitle(t *testing.T) {
	s := cricket.State{HomeTeam: strings.Repeat("H", 200), AwayTeam: strings.Repeat("A", 200), Result: strings.Repeat("r", 500)}
	title := reactions.ReportTitle(s)
	if _, err := blog.Decide(blog.CreatePost{Title: title, Author: "system/match-report"}, blog.Initial()); err != nil {
		t.Fatalf("the report of the longest names and result is refused: %v", err)
	}
}

func match(id string) es.StreamRef { return es.StreamRef{Type: "match", ID: id} }
