package handlers

import (
	"context"
	"errors"
	"net/http"
	"slices"

	"github.com/foldboard/foldboard/domain/user"
	"github.com/foldboard/foldboard/es"
	"github.com/foldboard/foldboard/projections"
	"github.com/foldboard/foldboard/views"
)

const eventsPageSize = 50

// Events is GET /events: for a browser, every event across streams, newest
// first, filtered by event type and stream type, in pages, live; for
// Accept: application/json, the global log in store order (EventsJSON).
func (a *App) Events(w http.ResponseWriter, r *http.Request) error {
	if wantsJSON(r) {
		return a.EventsJSON(w, r)
	}
	before, err := queryInt(r, "before", 0, 0, 1<<40)
	if err != nil {
		return err
	}
	q := r.URL.Query()
	b := views.EventBrowser{
		Type: q.Get("type"), StreamType: q.Get("streamType"), Before: int(before),
	}
	if b.Page, err = a.eventsPage(r, projections.IndexQuery{Type: b.Type, StreamType: b.StreamType, Before: b.Before, Limit: eventsPageSize}); err != nil {
		return err
	}
	// Another's draft or cart is left out of the page, and the total counts
	// it only as private.
	id := a.whoIs(r)
	b.Page.Events, _ = a.seerFor(r.Context(), id).indexed(b.Page.Events)
	b.Count = a.eventsTotal(r.Context(), Viewer{Name: id.name, Admin: id.admin}, b.Page.Total)
	for t := range a.proj().Catalogue().Stats().ByType {
		b.Types = append(b.Types, t)
	}
	slices.Sort(b.Types)
	for t := range a.streams {
		b.StreamTypes = append(b.StreamTypes, t)
	}
	slices.Sort(b.StreamTypes)
	b.Pages = a.pages
	if corr := q.Get("correlation"); corr != "" {
		if !es.ValidID(corr) {
			return badRequest("BadCorrelationID", "correlation", "a correlation id is 1-64 characters of A-Z a-z 0-9 - _ .")
		}
		if b.Chain, err = a.chains().Correlated(r.Context(), corr); err != nil {
			return err
		}
		b.Correlation = corr
	}
	b.Self = views.EventsLink(b.Type, b.StreamType, 0)
	if b.Page.Next > 0 {
		b.Older = views.EventsLink(b.Type, b.StreamType, b.Page.Next)
	}
	if q.Get("fragment") == "1" {
		a.render(w, r, http.StatusOK, views.EventList(b))
		return nil
	}
	p := a.page(r, "Events")
	p.Section, p.Topics = "events", []string{projections.TopicEvents}
	a.render(w, r, http.StatusOK, views.EventsPage(p, b))
	return nil
}

// eventsPage is a page of the event browser: from the store's own log when
// it pages newest first (SQLite, by position), else from the event index
// the projector keeps (by its own numbering; its newest chunks in memory,
// the rest read back from the store's read models). Either way a page's
// work is bounded by its size.
func (a *App) eventsPage(r *http.Request, q projections.IndexQuery) (projections.IndexPage, error) {
	log, ok := a.store.(es.LogBackward)
	if !ok {
		return a.read().Events.Page(r.Context(), q)
	}
	// The browser's cursor numbers events from 0, as the index does; the
	// log's positions from 1.
	before := int64(0)
	if q.Before > 0 {
		before = int64(q.Before) + 1
	}
	page, err := log.ReadLogBackward(r.Context(), es.BackwardQuery{Before: before, Type: q.Type, StreamType: q.StreamType, Limit: q.Limit})
	if errors.Is(err, errors.ErrUnsupported) {
		return a.read().Events.Page(r.Context(), q)
	}
	if err != nil {
		return projections.IndexPage{}, err
	}
	out := projections.IndexPage{Next: int(max(page.Next-1, 0)), Total: int(page.Total), Events: make([]projections.IndexedEvent, len(page.Events))}
	for i, e := range page.Events {
		out.Events[i] = projections.Indexed(e)
	}
	return out, nil
}

// EventsJSON is GET /events?type=&after=&limit= with Accept:
// application/json: a page of the store's global log, oldest first, and the
// cursor to go on after it ("" when the log has nothing after the page).
// A page by type costs work bounded by limit, not by the log: the store
// reads its index by type (SQLite), or examines a bounded stretch of the log
// and may answer fewer events, with a cursor to go on (DynamoDB).
func (a *App) EventsJSON(w http.ResponseWriter, r *http.Request) error {
	limit, err := queryInt(r, "limit", 100, 1, 1000)
	if err != nil {
		return err
	}
	q := r.URL.Query()
	page, err := a.store.ReadLog(r.Context(), es.LogQuery{After: q.Get("after"), Limit: int(limit), Type: q.Get("type")})
	if err != nil {
		return err
	}
	events, next := page.Events, page.Next
	if events == nil {
		events = []es.Envelope{}
	}
	if page.End {
		next = ""
	}
	for i := range events {
		events[i] = user.Redact(events[i])
	}
	// Another's draft or cart is left out, counted only as private.
	events, private := a.seerFor(r.Context(), a.whoIs(r)).envelopes(events)
	writeJSON(w, http.StatusOK, map[string]any{"events": events, "next": next, "private": private})
	return nil
}

// eventsTotal splits total, the events of the log, into those v may see and
// the others, which it counts only as private: the drafts' and the carts'
// events as their read models count them, and the people's own streams'
// by their event types, less v's own. The read models may be a moment
// behind the log: the split never goes below zero.
func (a *App) eventsTotal(ctx context.Context, v Viewer, total int) views.EventsCount {
	if v.Admin {
		return views.EventsCount{Shown: total}
	}
	var private int64
	for _, p := range []interface{ PrivateEvents(string) (int64, int64) }{a.posts(), a.carts()} {
		all, own := p.PrivateEvents(v.Name)
		private += all - own
	}
	cat := a.proj().Catalogue()
	byType := cat.Stats().ByType
	for _, name := range user.Events().Names() {
		private += byType[name]
	}
	if v.Name != Anonymous {
		// Unread (the store failed), the own stream's events count as
		// private: the split errs toward hiding.
		if own, _, err := cat.Stream(ctx, es.StreamRef{Type: user.StreamType, ID: user.StreamID(v.Name)}); err == nil {
			private -= own.Version
		}
	}
	private = min(max(private, 0), int64(total))
	return views.EventsCount{Shown: total - int(private), Private: int(private)}
}
