package views

import (
	"net/url"
	"strings"
)

// foldboard's own routes; each module declares its own (views.RouteMatches, …).
const (
	RouteDashboard    = "/"
	RouteRebuild      = "/rebuild"
	RouteProjections  = "/projections"
	RouteRetryParked  = "/projections/retry"
	RouteRebuildModel = "/projections/rebuild"
	RouteModelDocs    = "/projections/docs"
	RouteRebuildSwap  = "/rebuild/swap"
	RouteRebuildDrop  = "/rebuild/discard"
	RouteEvents       = "/events"
	RouteStreamEvents = "/streams/{type}/{id}/events"
	RouteStreamState  = "/streams/{type}/{id}/state"
	RouteTimeline     = "/streams/{type}/{id}/timeline"
	RouteLive         = "/ws"
	RouteHealth       = "/healthz"
	RouteMetrics      = "/metrics"
)

// Path builds a URL from a route pattern, as miniflux's route.Path does from
// a route's name: each {placeholder} in turn takes the next argument,
// path-escaped. Handlers, views and templates build every URL with it, from
// the same patterns the router serves.
func Path(pattern string, args ...string) string {
	var b strings.Builder
	rest := pattern
	for len(rest) > 0 {
		open := strings.IndexByte(rest, '{')
		if open < 0 {
			b.WriteString(rest)
			break
		}
		end := strings.IndexByte(rest[open:], '}')
		if end < 0 {
			b.WriteString(rest)
			break
		}
		b.WriteString(rest[:open])
		if len(args) > 0 {
			b.WriteString(url.PathEscape(args[0]))
			args = args[1:]
		}
		rest = rest[open+end+1:]
	}
	return b.String()
}
