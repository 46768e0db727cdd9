package handlers

import (
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"

	"github.com/foldboard/foldboard/domain/user"
	"github.com/foldboard/foldboard/es"
	"github.com/foldboard/foldboard/projections"
	"github.com/foldboard/foldboard/views"
)

// timelineWindow is how many events the timeline lists on each side of the
// version it shows.
const timelineWindow = 20

// Timeline is GET /streams/{type}/{id}/timeline?v=N: the stream replayed to
// version N (the latest by default), the event at N and what it changed, and
// the events around it. With ?fragment=1 it answers only the part a step of
// the timeline swaps in.
func (a *App) Timeline(w http.ResponseWriter, r *http.Request) error {
	ref, kind, latest, err := a.replayStream(r)
	if err != nil {
		return err
	}
	v, ok := timelineVersion(r, latest)
	if !ok {
		return a.noSuchVersion(w, r, ref, latest)
	}
	if wantsJSON(r) {
		return a.timelineJSON(w, r, ref, kind, v)
	}
	t, err := a.timeline(r, ref, kind, v, latest)
	if err != nil {
		return err
	}
	if r.URL.Query().Get("fragment") == "1" {
		w.Header().Set("Cache-Control", "no-store")
		a.render(w, r, http.StatusOK, views.TimelineBody(t))
		return nil
	}
	p := a.page(r, "Timeline of "+ref.String())
	p.Topics = []string{projections.TimelineTopic(ref)}
	a.render(w, r, http.StatusOK, views.TimelinePage(p, t))
	return nil
}

// timeline is the stream replayed to version v: the state, the event at v
// and what it changed, the events around it, and the "what if" forms.
func (a *App) timeline(r *http.Request, ref es.StreamRef, kind mounted, v, latest int64) (views.Timeline, error) {
	before, after, event, err := kind.handler.Step(r.Context(), ref.ID, v)
	if err != nil {
		return views.Timeline{}, err
	}
	t := views.Timeline{Stream: ref, At: v, Latest: latest, Event: event, Page: views.Path(kind.Page, ref.ID)}
	if v > 0 { // version 0 is before the first event: nothing to draw
		t.State = views.Nested(kind.Kind.view(ref.ID, v, after))
	}
	stateJSON, err := json.MarshalIndent(after, "", "  ")
	if err != nil {
		return t, err
	}
	t.StateJSON = string(stateJSON)
	if t.Changes, err = diffStates(before, after); err != nil {
		return t, err
	}
	from := max(1, v-timelineWindow)
	if t.Events, err = a.store.ReadStream(r.Context(), ref, es.ReadOptions{From: from, Limit: 2*timelineWindow + 1}); err != nil {
		return t, err
	}
	for i := range t.Events {
		t.Events[i] = user.Redact(t.Events[i])
	}
	if event != nil {
		corr := event.CorrelationID // an effect's, its cause's; else its own id
		if corr == "" {
			corr = event.ID
		}
		if t.Effects, err = a.chains().Effects(r.Context(), corr, event.ID); err != nil {
			return t, err
		}
		t.Cause = a.causeOf(r.Context(), *event, t.Events)
	}
	t.TryForms = a.tryForms(ref, v)
	rows, notes, err := a.rowsAt(r, ref, event)
	if err != nil {
		return t, err
	}
	t.RowNotes = notes
	t.Rows, err = rowViews(rows)
	return t, err
}

// timelineRow is a read model's row in a timeline's JSON.
type timelineRow struct {
	Name   string          `json:"name"`
	Key    string          `json:"key"`
	Before json.RawMessage `json:"before"`
	After  json.RawMessage `json:"after"`
}

// timelineJSON is the timeline for programs: the state at v and what each
// read model made of event v, as it was then.
func (a *App) timelineJSON(w http.ResponseWriter, r *http.Request, ref es.StreamRef, kind mounted, v int64) error {
	_, after, event, err := kind.handler.Step(r.Context(), ref.ID, v)
	if err != nil {
		return err
	}
	rows, notes, err := a.rowsAt(r, ref, event)
	if err != nil {
		return err
	}
	out := []timelineRow{}
	for _, row := range rows {
		out = append(out, timelineRow{Name: row.Model, Key: row.Key, Before: orNull(row.Before), After: orNull(row.After)})
	}
	if notes == nil {
		notes = []string{}
	}
	writeJSON(w, http.StatusOK, map[string]any{"version": v, "state": after, "readModels": out, "notes": notes})
	return nil
}

func orNull(doc json.RawMessage) json.RawMessage {
	if doc == nil {
		return json.RawMessage("null")
	}
	return doc
}

// timelineVersion is ?v=N when it names one of the stream's versions (the
// latest when absent).
func timelineVersion(r *http.Request, latest int64) (int64, bool) {
	vs := r.URL.Query()["v"]
	if len(vs) == 0 || vs[0] == "" {
		return latest, len(vs) <= 1
	}
	v, err := strconv.ParseInt(vs[0], 10, 64)
	if len(vs) > 1 || err != nil || v < 0 || v > latest || vs[0][0] == '+' {
		return 0, false
	}
	return v, true
}

// noSuchVersion answers a ?v= that names no version, in words, with links
// to the versions there are (a JSON client gets the code and the count).
func (a *App) noSuchVersion(w http.ResponseWriter, r *http.Request, ref es.StreamRef, latest int64) error {
	v := r.URL.Query().Get("v")
	status, code := http.StatusNotFound, "NoSuchVersion"
	if n, err := strconv.ParseInt(v, 10, 64); err != nil || n < 0 || v[0] == '+' {
		status, code = http.StatusBadRequest, "BadVersion"
	}
	msg := fmt.Sprintf("%s has %s: versions 1 to %d, and 0 before the first event; %.40q is not one of them", ref, views.Count(latest, "event"), latest, v)
	if wantsJSON(r) {
		writeJSON(w, status, map[string]Problem{"error": {Code: code, Message: msg}})
		return nil
	}
	p := a.page(r, "Timeline of "+ref.String())
	a.render(w, r, status, views.NoSuchVersion(p, views.Timeline{Stream: ref, Latest: latest}, v, code))
	return nil
}

// diffStates lists what differs between two states, field by field, as their
// JSON shows them.
func diffStates(before, after any) ([]views.Change, error) {
	var b, a any
	if err := roundTrip(before, &b); err != nil {
		return nil, err
	}
	if err := roundTrip(after, &a); err != nil {
		return nil, err
	}
	fb, fa := map[string]string{}, map[string]string{}
	flatten("", b, fb)
	flatten("", a, fa)
	var out []views.Change
	for path, av := range fa {
		if bv, ok := fb[path]; !ok || bv != av {
			out = append(out, views.Change{Path: path, Before: fb[path], After: av})
		}
	}
	for path, bv := range fb {
		if _, ok := fa[path]; !ok {
			out = append(out, views.Change{Path: path, Before: bv})
		}
	}
	slices.SortFunc(out, func(x, y views.Change) int { return strings.Compare(x.Path, y.Path) })
	return out, nil
}

func roundTrip(v any, out *any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return err
	}
	return json.Unmarshal(b, out)
}

// flatten writes every leaf of a decoded JSON value under its path
// ("innings[1].runs").
func flatten(path string, v any, out map[string]string) {
	switch v := v.(type) {
	case map[string]any:
		for k, child := range v {
			p := k
			if path != "" {
				p = path + "." + k
			}
			flatten(p, child, out)
		}
	case []any:
		for i, child := range v {
			flatten(fmt.Sprintf("%s[%d]", path, i), child, out)
		}
	default:
		b, _ := json.Marshal(v)
		out[path] = string(b)
	}
}
