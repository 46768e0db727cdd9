package handlers

import (
	"net/http"

	"github.com/a-h/templ"
	"github.com/go-chi/chi/v5"

	"github.com/foldboard/foldboard/domain/blog"
	"github.com/foldboard/foldboard/es"
	"github.com/foldboard/foldboard/projections"
	"github.com/foldboard/foldboard/views"
)

// Who sees a draft: its author, on the posts page and on the post's own
// page; anyone else gets the 404 of a post that does not exist. That keeps
// drafts out of other people's way; it does not make them secret, and
// nothing here pretends to: a program may name any actor with X-Actor, and
// the stream routes (/streams/post/{id}/…) and live topics serve any stream
// to whoever names it. Secrecy would need sign-in, which foldboard does not
// have.

// PostsPage is GET /posts: the published posts, the actor's own drafts, and
// the form to write one. Both lists are live: the published ones on the
// "posts" topic, the drafts on the actor's own drafts topic.
func (a *App) PostsPage(w http.ResponseWriter, r *http.Request) error {
	actor, err := a.actor(r)
	if err != nil {
		return err
	}
	render(w, r, http.StatusOK, a.postsPage(r, actor, views.Form{Name: "create", CommandID: newCommandID()}))
	return nil
}

func (a *App) postsPage(r *http.Request, actor string, f views.Form) templ.Component {
	p := a.page(r, "Posts")
	p.Section, p.Path = "posts", "/posts"
	p.Topics = []string{projections.TopicPosts, projections.DraftsTopic(actor)}
	published, total := a.read().Posts.NewestPublished(projections.ListLimit)
	return views.PostsPage(p, views.Posts{Actor: actor, Published: published, PublishedTotal: total, Drafts: a.read().Posts.Drafts(actor)}, f)
}

// PostPage is GET /posts/{id}: the live post, with its forms for its author.
func (a *App) PostPage(w http.ResponseWriter, r *http.Request) error {
	id := chi.URLParam(r, "id")
	if err := validStreamID(id); err != nil {
		return err
	}
	page := a.postPage(r, id, views.Form{CommandID: newCommandID()})
	if page == nil {
		return es.Errorf(es.Missing, "PostNotFound", "there is no post %s", id)
	}
	render(w, r, http.StatusOK, page)
	return nil
}

// postPage is the page of post id as the request's actor may see it; nil
// when there is no such post, or it is a draft of someone else.
func (a *App) postPage(r *http.Request, id string, f views.Form) templ.Component {
	actor, err := a.actor(r)
	if err != nil {
		return nil
	}
	post, ok := a.read().Posts.Get(id)
	if !ok || !post.State.Published && post.State.Author != actor {
		return nil
	}
	p := a.page(r, post.State.Title)
	p.Section, p.Path = "posts", postLocation(id)
	p.Topics = []string{es.StreamRef{Type: blog.StreamType, ID: id}.String()}
	return views.PostPage(p, post, actor, f)
}

func postLocation(id string) string { return "/posts/" + id }

// CreatePost is POST /posts. The author is the request's actor.
func (a *App) CreatePost(w http.ResponseWriter, r *http.Request) error {
	c := command[blog.State, blog.Command, blog.Event]{
		handler: a.posts, form: "create", location: postLocation,
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

// PublishPost is POST /posts/{id}/publish.
func (a *App) PublishPost(w http.ResponseWriter, r *http.Request) error {
	c := command[blog.State, blog.Command, blog.Event]{
		handler: a.posts, form: "publish", location: postLocation, page: a.postPage,
		decode: func(*input) (blog.Command, error) {
			actor, err := a.actor(r)
			return blog.PublishPost{Actor: actor}, err
		},
	}
	return c.run(a, w, r, routeID(r))
}

// ChangeTitle is POST /posts/{id}/title.
func (a *App) ChangeTitle(w http.ResponseWriter, r *http.Request) error {
	c := command[blog.State, blog.Command, blog.Event]{
		handler: a.posts, form: "title", location: postLocation, page: a.postPage,
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
