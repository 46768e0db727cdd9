package views

import (
	"fmt"
	"net/url"
	"slices"

	"github.com/foldboard/foldboard/es"
)

// StreamPages are the pages of each module's streams: the route pattern of
// a stream's page ("/matches/{id}") by stream type.
type StreamPages map[string]string

// Of is the page of a stream in its domain, or its timeline for a stream
// type no module draws.
func (p StreamPages) Of(s es.StreamRef) string {
	if pattern, ok := p[s.Type]; ok {
		return Path(pattern, s.ID)
	}
	return timelinePath(s.Type, s.ID, 0)
}

// timelinePath is a stream's timeline at version v (the latest for 0).
func timelinePath(typ, id string, v int64) string {
	p := Path(RouteTimeline, typ, id)
	if v > 0 {
		p += fmt.Sprintf("?v=%d", v)
	}
	return p
}

func sortedTypes(m map[string]int64) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}

func newestLink(b EventBrowser) string {
	return EventsLink(b.Type, b.StreamType, 0)
}

// EventsLink is the event browser's URL for a filter and a page.
func EventsLink(typ, streamType string, before int) string {
	q := url.Values{}
	if typ != "" {
		q.Set("type", typ)
	}
	if streamType != "" {
		q.Set("streamType", streamType)
	}
	if before > 0 {
		q.Set("before", itoa(before))
	}
	if len(q) == 0 {
		return RouteEvents
	}
	return RouteEvents + "?" + q.Encode()
}

// CorrelationLink is the event browser following one correlation id.
func CorrelationLink(id string) string { return "/events?" + url.Values{"correlation": {id}}.Encode() }

// shortPosition is a feed position cut for a table cell (positions are
// opaque, and DynamoDB's are long).
func shortPosition(p string) string {
	if p == "" {
		return "start"
	}
	if len(p) > 24 {
		return "…" + p[len(p)-23:]
	}
	return p
}
