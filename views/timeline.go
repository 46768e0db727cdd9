package views

import (
	"bytes"
	"encoding/json"

	"github.com/foldboard/foldboard/es"
)

func timelinePathV(t Timeline, v int64) string {
	return Path(RouteTimeline, t.Stream.Type, t.Stream.ID) + "?v=" + itoa(v)
}

func eventClass(v, at int64) string {
	switch {
	case v == at:
		return "current"
	case v > at:
		return "future"
	}
	return "past"
}

func indentJSON(b []byte) string {
	var out bytes.Buffer
	if err := json.Indent(&out, b, "", "  "); err != nil {
		return string(b)
	}
	return out.String()
}

// versionLinks are the versions a page of "no such version" links: all of
// them for a short stream, else the first and last few (-1 for the gap).
func versionLinks(latest int64) []int64 {
	const ends = 10
	var out []int64
	for v := int64(0); v <= latest; v++ {
		if latest > 3*ends && v == ends {
			out = append(out, -1)
			v = latest - ends
		}
		out = append(out, v)
	}
	return out
}

func versionLabel(v, latest int64) string {
	switch v {
	case 0:
		return "0 (before the first event)"
	case latest:
		return itoa(v) + " (the latest)"
	}
	return itoa(v)
}

// Count says n things in words: "1 event", "4 events".
func Count(n int64, thing string) string {
	if n == 1 {
		return "1 " + thing
	}
	return itoa(n) + " " + thing + "s"
}

func clip(s string, n int) string {
	if r := []rune(s); len(r) > n {
		return string(r[:n]) + "…"
	}
	return s
}

// TimelinePath is a stream's timeline at version v.
func TimelinePath(ref es.StreamRef, v int64) string {
	return "/streams/" + ref.Type + "/" + ref.ID + "/timeline?v=" + itoa(v)
}

// TryPath is where a command is tried on a stream at version v.
func TryPath(ref es.StreamRef, v int64) string {
	return "/streams/" + ref.Type + "/" + ref.ID + "/try?version=" + itoa(v)
}

// timelinePathOf is the timeline of a stream named "type/id" at version v.
func timelinePathOf(stream string, v int64) string {
	return "/streams/" + stream + "/timeline?v=" + itoa(v)
}
