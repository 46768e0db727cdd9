package handlers

import (
	"bytes"
	"context"
	"strings"

	"github.com/a-h/templ"

	"github.com/foldboard/foldboard/domain/blog"
	"github.com/foldboard/foldboard/domain/cart"
	"github.com/foldboard/foldboard/domain/cricket"
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
			return views.EventsTotal(a.read().Events.Page(projections.IndexQuery{}).Total)
		}
	case projections.TopicMatches:
		return func(context.Context) templ.Component {
			return views.MatchList(a.read().Matches.Newest(projections.ListLimit, nil))
		}
	case projections.TopicCarts:
		return func(context.Context) templ.Component {
			return views.CartList(a.read().Carts.Newest(projections.ListLimit, nil))
		}
	case projections.TopicSales:
		return func(context.Context) templ.Component { return views.SalesLive(a.salesChart()) }
	case projections.TopicPosts:
		return func(context.Context) templ.Component {
			return views.PostList(a.read().Posts.NewestPublished(projections.ListLimit))
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
	if author, ok := projections.DraftsAuthor(topic); ok {
		if !validActor(author) {
			return nil
		}
		return func(context.Context) templ.Component { return views.DraftList(author, a.read().Posts.Drafts(author)) }
	}
	typ, id, ok := strings.Cut(topic, "/")
	if !ok || !es.ValidID(id) {
		return nil
	}
	switch typ {
	case cricket.StreamType:
		return func(context.Context) templ.Component {
			m, ok := a.read().Matches.Get(id)
			if !ok {
				return templ.NopComponent
			}
			return views.MatchLive(m)
		}
	case cart.StreamType:
		// A cart with no events yet is live too: its page waits for the
		// first item.
		return func(context.Context) templ.Component { return views.CartLive(a.cartView(id)) }
	case blog.StreamType:
		return func(context.Context) templ.Component {
			post, ok := a.read().Posts.Get(id)
			if !ok {
				return templ.NopComponent
			}
			return views.PostLive(post)
		}
	}
	return nil
}
