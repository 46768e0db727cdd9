package handlers

import "net/http"

// RateActor is the actor whose rate limit a request spends: "" for none.
// Anonymous is everyone who has not said who they are, so it is never
// limited as one actor (its requests are limited by their address).
func (a *App) RateActor(r *http.Request) string {
	name, err := a.actor(r)
	if err != nil || name == Anonymous {
		return ""
	}
	return name
}
