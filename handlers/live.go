package handlers

import (
	"bytes"
	"context"
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

// Fragment renders a topic's current fragment for the live-update hub: the
// same components the pages render, their top elements carrying the ids of
// the elements they replace.
func (a *App) Fragment(ctx context.Context, topic string) ([]byte, error) {
	c := a.fragment(topic)
	if c == nil {
		return nil, nil
	}
	var buf bytes.Buffer
	err := c(ctx).Render(ctx, &buf)
	return buf.Bytes(), err
}

// fragment finds the component of a topic, nil for an unknown one.
func (a *App) fragment(topic string) func(context.Context) templ.Component {
	switch topic {
	case projections.TopicDashboard:
		return func(ctx context.Context) templ.Component { return views.DashboardLive(a.dashboard(ctx)) }
	case projections.TopicEvents:
		return func(context.Context) templ.Component {
			return views.EventsTotal(a.read().Events.Total())
		}
	}
	for _, m := range a.modules {
		for _, t := range m.Topics {
			if t.Name == topic {
				return func(context.Context) templ.Component { return t.Fragment(a) }
			}
		}
	}
	if rest, ok := strings.CutPrefix(topic, "timeline/"); ok {
		ref, err := es.ParseStreamRef(rest)
		if err != nil {
			return nil
		}
		return func(context.Context) templ.Component {
			info, _ := a.proj().Catalogue().Stream(ref)
			return views.TimelineLatest(info.Version)
		}
	}
	typ, id, ok := strings.Cut(topic, "/")
	if m, known := a.streams[typ]; ok && known && es.ValidID(id) && m.StreamTopic != nil {
		return func(context.Context) templ.Component { return m.StreamTopic(a, id) }
	}
	for _, m := range a.modules {
		if m.OtherTopic == nil {
			continue
		}
		if render := m.OtherTopic(topic); render != nil {
			return func(context.Context) templ.Component { return render(a) }
		}
	}
	return nil
}
