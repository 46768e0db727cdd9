package handlers

import (
	"bytes"
	"context"
	"net/http"
	"strings"

	"github.com/a-h/templ"

	"github.com/foldboard/foldboard/es"
	"github.com/foldboard/foldboard/projections"
	"github.com/foldboard/foldboard/views"
)

// ValidTopic reports whether a page may subscribe to a topic: a list topic,
// or one stream of a known type.
func (a *App) ValidTopic(topic string) bool {
	return a.fragment(topic) != nil
}

// Viewer is whom a live fragment is drawn for.
type Viewer struct {
	Name  string // Anonymous for no one signed in
	Admin bool
}

// Sees reports whether the viewer may see a stream whose Owner is owner.
func (v Viewer) Sees(owner string) bool { return v.Admin || owner == "" || owner == v.Name }

// The audiences of the hub (Audience): everyone alike, all the admins, or
// one person. No name is "*" (user.ValidName).
const (
	everyone = ""
	admins   = "*"
)

func viewerOf(audience string) Viewer {
	switch audience {
	case everyone:
		return Viewer{Name: Anonymous}
	case admins:
		return Viewer{Name: admins, Admin: true}
	}
	return Viewer{Name: audience}
}

// Audience says whom the request watches a live topic as (the hub's
// HubConfig.Audience): an author's drafts only that author and the admins
// may watch; a topic that shows a private stream (a draft, a cart, a
// timeline of one) or a list that differs by who looks (the carts, the
// events' total) is rendered for each person apart, showing them what they
// may see — a stream they may not see as one with no events, so its id
// cannot be probed; every other topic is the same for everyone.
func (a *App) Audience(r *http.Request, topic string) (string, bool) {
	id := a.whoIs(r)
	if id.err != nil {
		id = who{name: Anonymous}
	}
	audience := id.name
	switch {
	case id.admin:
		audience = admins
	case id.name == Anonymous:
		audience = everyone
	}
	if author, ok := projections.DraftsAuthor(topic); ok {
		return everyone, id.admin || id.name != Anonymous && id.name == author
	}
	if a.perViewer(topic) {
		return audience, true
	}
	return everyone, true
}

// perViewer reports whether a topic's fragment depends on who watches it.
func (a *App) perViewer(topic string) bool {
	if topic == projections.TopicEvents {
		return true
	}
	for _, m := range a.modules {
		for _, t := range m.Topics {
			if t.Name == topic {
				return t.ForViewer != nil
			}
		}
	}
	ref, err := es.ParseStreamRef(strings.TrimPrefix(topic, "timeline/"))
	if err != nil {
		return false
	}
	m, ok := a.streams[ref.Type]
	return ok && m.Owner != nil
}

// Fragment renders a topic's current fragment for an audience (Audience)
// for the live-update hub: the same components the pages render, their top
// elements carrying the ids of the elements they replace.
func (a *App) Fragment(ctx context.Context, topic, audience string) ([]byte, error) {
	c := a.fragment(topic)
	if c == nil {
		return nil, nil
	}
	var buf bytes.Buffer
	err := c(ctx, viewerOf(audience)).Render(ctx, &buf)
	return buf.Bytes(), err
}

// fragment finds the component of a topic, nil for an unknown one.
func (a *App) fragment(topic string) func(context.Context, Viewer) templ.Component {
	switch topic {
	case projections.TopicDashboard:
		return func(ctx context.Context, _ Viewer) templ.Component { return views.DashboardLive(a.dashboard(ctx)) }
	case projections.TopicEvents:
		return func(ctx context.Context, v Viewer) templ.Component {
			return views.EventsTotal(a.eventsTotal(ctx, v, a.read().Events.Total()))
		}
	}
	for _, m := range a.modules {
		for _, t := range m.Topics {
			if t.Name != topic {
				continue
			}
			if t.ForViewer != nil {
				return func(_ context.Context, v Viewer) templ.Component { return t.ForViewer(a, v) }
			}
			return func(context.Context, Viewer) templ.Component { return t.Fragment(a) }
		}
	}
	if rest, ok := strings.CutPrefix(topic, "timeline/"); ok {
		ref, err := es.ParseStreamRef(rest)
		if err != nil {
			return nil
		}
		return func(ctx context.Context, v Viewer) templ.Component {
			if !a.liveSees(ctx, v, ref) {
				return views.TimelineLatest(0) // as a stream with no events
			}
			info, _, err := a.proj().Catalogue().Stream(ctx, ref)
			if err != nil {
				return failed(err)
			}
			return views.TimelineLatest(info.Version)
		}
	}
	typ, id, ok := strings.Cut(topic, "/")
	if m, known := a.streams[typ]; ok && known && es.ValidID(id) && m.StreamTopic != nil {
		ref := es.StreamRef{Type: typ, ID: id}
		return func(ctx context.Context, v Viewer) templ.Component {
			if a.liveSees(ctx, v, ref) {
				return m.StreamTopic(a, id)
			}
			if m.Unseen != nil {
				return m.Unseen(id)
			}
			return templ.NopComponent
		}
	}
	for _, m := range a.modules {
		if m.OtherTopic == nil {
			continue
		}
		if render := m.OtherTopic(topic); render != nil {
			return func(context.Context, Viewer) templ.Component { return render(a) }
		}
	}
	return nil
}

// liveSees reports whether v may see the stream as the read models hold it
// (what its fragment shows). One the read models do not have yet is shown
// as unseen, which is how a stream with no events looks: were it shown, its
// first event might be applied between this look and the render. Once a
// stream is there its owner stays, and a draft only ever becomes public. A
// module with no read state asks the store.
func (a *App) liveSees(ctx context.Context, v Viewer, ref es.StreamRef) bool {
	m, ok := a.streams[ref.Type]
	if !ok || m.Owner == nil || v.Admin {
		return true
	}
	if m.ReadState == nil {
		owner, err := a.ownerOf(ctx, ref)
		return err == nil && v.Sees(owner)
	}
	state, ok, err := m.ReadState(ctx, a.read(), ref.ID)
	return err == nil && ok && v.Sees(m.Owner(state))
}
