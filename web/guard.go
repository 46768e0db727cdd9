package web

import (
	"net/http"

	"github.com/foldboard/foldboard/handlers"
)

// Guard bounds what one client may take of the server, and names the hosts
// it serves; a zero Guard serves loopback names and IP addresses with the
// default limits.
type Guard struct {
	// PublicURL is the address people use; its host is served.
	PublicURL string
	// AllowedHosts are the other host names served ("*.example.com": its
	// subdomains); loopback's names and IP addresses always are.
	AllowedHosts []string
	// Rates limit the requests of one address and one actor.
	Rates Rates
	// Live bounds the WebSocket connections of one address and one actor.
	Live LiveLimits
}

// guards are a Guard made ready for the middleware.
type guards struct {
	hosts hostPolicy
	rates *rateLimits
}

func newGuards(g Guard, app *handlers.App) (guards, error) {
	hosts, err := newHostPolicy(g.PublicURL, g.AllowedHosts)
	if err != nil {
		return guards{}, err
	}
	return guards{hosts: hosts, rates: newRateLimits(g.Rates, app.RateActor)}, nil
}

// middleware are the guards in the order they run: the host first (a
// request for another site's name is read no further), then the rate.
func (g guards) middleware(app *handlers.App) []func(http.Handler) http.Handler {
	return []func(http.Handler) http.Handler{checkHost(g.hosts, app), limitRate(g.rates, app)}
}
