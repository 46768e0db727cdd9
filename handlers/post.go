package handlers

import (
	"context"
	"fmt"
	"math/rand/v2"
	"net/http"
	"time"

	"github.com/a-h/templ"
	"github.com/go-chi/chi/v5"

	"github.com/foldboard/foldboard/domain/blog"
	"github.com/foldboard/foldboard/es"
	"github.com/foldboard/foldboard/projections"
	"github.com/foldboard/foldboard/views"
)

// Posts is the blog module: posts written, published and retitled, each
// author's drafts seen by that author.
func Posts() Module {
	return Module{
		Name: "post",
		// A draft is its author's until it is published.
		Owner: func(s any) string {
			if st, ok := s.(blog.State); ok && st.Exists && !st.Published {
				return st.Author
			}
			return ""
		},
		Kind: NewKind(blog.Decider(), func(id string, v int64, s blog.State) templ.Component {
			return views.PostView(views.Post{ID: id, Version: v, State: s})
		}, postRoutes, randomPostCommand),
		Page: views.RoutePost,
		Sections: []views.Section{{ID: "posts", Path: views.RoutePosts, Label: "Posts",
			Card: "Blog posts", Blurb: "Write, publish, retitle"}},
		ReadModels: []projections.ReadModel{{Name: projections.TopicPosts, New: func() projections.Model { return projections.NewPosts() }}},
		Topics: []Topic{{Name: projections.TopicPosts, Throttle: listThrottle, Fragment: func(a *App) templ.Component {
			return lazy(func(ctx context.Context) (templ.Component, error) {
				posts, total, err := a.posts().NewestPublished(ctx, projections.ListLimit)
				return views.PostList(posts, total), err
			})
		}}},
		OtherTopic: func(topic string) func(a *App) templ.Component {
			author, ok := projections.DraftsAuthor(topic)
			if !ok || !validActor(author) {
				return nil
			}
			return func(a *App) templ.Component {
				return lazy(func(ctx context.Context) (templ.Component, error) {
					drafts, err := a.posts().Drafts(ctx, author)
					return views.DraftList(author, drafts), err
				})
			}
		},
		StreamTopic: func(a *App, id string) templ.Component {
			return lazy(func(ctx context.Context) (templ.Component, error) {
				post, ok, err := a.posts().Get(ctx, id)
				if !ok || err != nil {
					return templ.NopComponent, err
				}
				return views.PostLive(post), nil
			})
		},
		ReadState: func(ctx context.Context, rs *projections.ReadSide, id string) (any, bool, error) {
			p, ok, err := projections.ModelOf[*projections.Posts](rs, projections.TopicPosts).Get(ctx, id)
			return p.State, ok, err
		},
		Seed: seedPosts,
		Load: []LoadWork{{Name: "post", Life: 10, Next: loadPost}},
		Examples: []Example{
			{Path: views.RoutePosts, Fields: map[string]any{"postId": "{id}", "title": "Hello", "body": "Some text"}, Text: []string{"title", "body"}},
			{Path: views.RoutePostTitle, Fields: map[string]any{"title": "Hello again"}, Text: []string{"title"}},
			{Path: views.RoutePostPublish, Fields: map[string]any{}},
		},
	}
}

func (a *App) posts() *projections.Posts {
	return projections.ModelOf[*projections.Posts](a.read(), projections.TopicPosts)
}

func postRoutes(a *App, h *es.Handler[blog.State, blog.Command, blog.Event], r chi.Router) {
	r.Get(views.RoutePosts, a.Handle(a.PostsPage).ServeHTTP)
	r.Post(views.RoutePosts, a.Handle(a.createPost(h)).ServeHTTP)
	r.Get(views.RoutePost, a.Handle(a.PostPage).ServeHTTP)
	r.Post(views.RoutePostPublish, a.Handle(a.publishPost(h)).ServeHTTP)
	r.Post(views.RoutePostTitle, a.Handle(a.changeTitle(h)).ServeHTTP)
}

type postHandler = *es.Handler[blog.State, blog.Command, blog.Event]

// Who sees a draft: its author and the admins, on every path (privacy.go):
// to anyone else it is a post that does not exist.

// PostsPage is GET /posts: the published posts, the actor's own drafts, and
// the form to write one. Both lists are live: the published ones on the
// "posts" topic, the drafts on the actor's own drafts topic.
func (a *App) PostsPage(w http.ResponseWriter, r *http.Request) error {
	actor, err := a.actor(r)
	if err != nil {
		return err
	}
	a.render(w, r, http.StatusOK, a.postsPage(r, actor, views.Form{Name: "create", CommandID: newCommandID()}))
	return nil
}

func (a *App) postsPage(r *http.Request, actor string, f views.Form) templ.Component {
	p := a.page(r, "Posts")
	p.Section, p.Path = "posts", views.RoutePosts
	p.Topics = []string{projections.TopicPosts}
	if actor != Anonymous {
		// Only its author (and the admins) may watch an author's drafts.
		p.Topics = append(p.Topics, projections.DraftsTopic(actor))
	}
	published, total, err := a.posts().NewestPublished(r.Context(), projections.ListLimit)
	if err != nil {
		return failed(err)
	}
	drafts, err := a.posts().Drafts(r.Context(), actor)
	if err != nil {
		return failed(err)
	}
	return views.PostsPage(p, views.Posts{Actor: actor, Published: published, PublishedTotal: total, Drafts: drafts}, f)
}

// PostPage is GET /posts/{id}: the live post, with its forms for its author.
func (a *App) PostPage(w http.ResponseWriter, r *http.Request) error {
	id := chi.URLParam(r, "id")
	if err := validStreamID(id); err != nil {
		return err
	}
	page := a.postPage(r, id, views.Form{CommandID: newCommandID()})
	if page == nil {
		return errStreamNotFound(es.StreamRef{Type: blog.StreamType, ID: id})
	}
	a.render(w, r, http.StatusOK, page)
	return nil
}

// postPage is the page of post id as the request's actor may see it; nil
// when there is no such post, or it is a draft of someone else.
func (a *App) postPage(r *http.Request, id string, f views.Form) templ.Component {
	actor, err := a.actor(r)
	if err != nil {
		return nil
	}
	post, ok, err := a.posts().Get(r.Context(), id)
	if err != nil {
		return failed(err)
	}
	if !ok {
		return nil
	}
	if seen, err := a.visible(r, es.StreamRef{Type: blog.StreamType, ID: id}); err != nil || !seen {
		return nil // a draft of someone else: as a post that does not exist
	}
	p := a.page(r, post.State.Title)
	p.Section, p.Path = "posts", postLocation(id)
	p.Topics = []string{es.StreamRef{Type: blog.StreamType, ID: id}.String()}
	return views.PostPage(p, post, actor, f)
}

func postLocation(id string) string { return views.Path(views.RoutePost, id) }

// createPost is POST /posts. The author is the request's actor.
func (a *App) createPost(h postHandler) func(http.ResponseWriter, *http.Request) error {
	return func(w http.ResponseWriter, r *http.Request) error {
		c := command[blog.State, blog.Command, blog.Event]{
			handler: h, form: "create", location: postLocation,
			decode: func(in *input) (blog.Command, error) {
				title, err := in.requiredText("title")
				if err != nil {
					return nil, err
				}
				body, _, err := in.multiLineText("body")
				if err != nil {
					return nil, err
				}
				author, err := a.actor(r)
				return blog.CreatePost{Title: title, Body: body, Author: author}, err
			},
			page: func(r *http.Request, _ string, f views.Form) templ.Component {
				actor, err := a.actor(r)
				if err != nil {
					return nil
				}
				return a.postsPage(r, actor, f)
			},
		}
		return c.run(a, w, r, newID("postId"))
	}
}

// publishPost is POST /posts/{id}/publish.
func (a *App) publishPost(h postHandler) func(http.ResponseWriter, *http.Request) error {
	return func(w http.ResponseWriter, r *http.Request) error {
		c := command[blog.State, blog.Command, blog.Event]{
			handler: h, form: "publish", location: postLocation, page: a.postPage,
			decode: func(*input) (blog.Command, error) {
				actor, err := a.actor(r)
				return blog.PublishPost{Actor: actor}, err
			},
		}
		return c.run(a, w, r, routeID(r))
	}
}

// changeTitle is POST /posts/{id}/title.
func (a *App) changeTitle(h postHandler) func(http.ResponseWriter, *http.Request) error {
	return func(w http.ResponseWriter, r *http.Request) error {
		c := command[blog.State, blog.Command, blog.Event]{
			handler: h, form: "title", location: postLocation, page: a.postPage,
			decode: func(in *input) (blog.Command, error) {
				title, err := in.requiredText("title")
				if err != nil {
					return nil, err
				}
				actor, err := a.actor(r)
				return blog.ChangeTitle{Title: title, Actor: actor}, err
			},
		}
		return c.run(a, w, r, routeID(r))
	}
}

// randomPostCommand is a command a post might get next, by its author or
// someone else, often one it refuses.
func randomPostCommand(r *rand.Rand, s blog.State) blog.Command {
	who := pick(r, "ana", "ana", "bo")
	switch r.IntN(6) {
	case 0:
		return blog.CreatePost{Title: pick(r, "Hello", "Notes"), Body: "text", Author: who}
	case 1:
		return blog.PublishPost{Actor: who}
	default:
		return blog.ChangeTitle{Title: fmt.Sprintf("Title %d", r.IntN(100)), Actor: who}
	}
}

var seedPostTexts = []struct{ title, retitle, body string }{
	{"Why event sourcing", "Why we keep every event", "State is a fold over what happened; keep what happened."},
	{"Deciders in Go", "", "decide(command, state) → events, evolve(state, event) → state. Nothing else."},
	{"Optimistic concurrency, plainly", "", "Every append names the version it expects."},
	{"Projections that rebuild", "Read models you can throw away", "A read model is a cache of the log."},
	{"DynamoDB Streams in practice", "", "Shards split, records arrive out of order across them."},
	{"A cricket scoreboard as a stream", "", "MatchStarted, InningsCompleted, MatchEnded."},
	{"Exact money", "", "Cents in an int64, written with two decimals."},
	{"Notes for next week", "", "A draft nobody else sees."},
}

// seedPosts plans posts by several people, most of them published, some
// retitled, the last a draft.
func seedPosts(p *SeedPlan) {
	for i, t := range seedPostTexts {
		id := fmt.Sprintf("seed-post-%d", i+1)
		author := p.Person(i % 4)
		at := p.Day(-11+i, 9+p.Rand.IntN(8), p.Rand.IntN(60))
		p.Add(at, blog.StreamType, id, "create", author, blog.CreatePost{Title: t.title, Body: t.body, Author: author})
		if i < len(seedPostTexts)-1 {
			p.Add(at.Add(40*time.Minute), blog.StreamType, id, "publish", author, blog.PublishPost{Actor: author})
		}
		if t.retitle != "" {
			p.Add(at.Add(26*time.Hour), blog.StreamType, id, "retitle", author, blog.ChangeTitle{Title: t.retitle, Actor: author})
		}
	}
}

// loadPost is a post's life for the load generator: created, published,
// retitled eight times.
func loadPost(id string, v int64, n int, _ int, _ *rand.Rand, b []byte) (string, []byte) {
	switch {
	case v == 0:
		b = fmt.Appendf(b, `"postId":%q,"title":"Load test %d","body":"Written by foldboard load."`, id, n)
		return views.RoutePosts, b
	case v == 1:
		return views.Path(views.RoutePostPublish, id), b
	default:
		b = fmt.Appendf(b, `"title":"Load test %d, take %d"`, n, v)
		return views.Path(views.RoutePostTitle, id), b
	}
}
