package projections

import (
	"context"
	"net/url"

	"github.com/foldboard/foldboard/domain/blog"
	"github.com/foldboard/foldboard/es"
)

// TopicPosts is the topic of the published posts.
const TopicPosts = "posts"

// DraftsTopic is the topic of one author's drafts: "drafts/" and the name,
// path-escaped, since names may hold spaces (a page lists its topics
// separated by spaces) and other characters a topic should not.
func DraftsTopic(author string) string { return "drafts/" + url.PathEscape(author) }

// DraftsAuthor is the author whose drafts a topic names, for a topic that
// DraftsTopic made (one escaped any other way is not one).
func DraftsAuthor(topic string) (string, bool) {
	const prefix = "drafts/"
	if len(topic) <= len(prefix) || topic[:len(prefix)] != prefix {
		return "", false
	}
	author, err := url.PathUnescape(topic[len(prefix):])
	if err != nil || DraftsTopic(author) != topic {
		return "", false
	}
	return author, true
}

// Post is a post's read-model view.
type Post = StreamView[blog.State]

// Posts keeps a view of every post, as Streams does for every domain, and
// also marks the author's drafts topic when a draft changes (is created,
// retitled, or published and so leaves the drafts): the drafts list is one
// fragment per author, the same for every page of that author. Its lists
// are the published posts and each author's drafts; a draft's events are
// its author's private ones.
type Posts struct {
	*Streams[blog.State, blog.Event]
}

const listPublished = "published"

// NewPosts makes an empty posts model.
func NewPosts() *Posts {
	s := NewStreams(blog.Decider(), TopicPosts)
	s.listsOf = func(p Post) []string {
		switch {
		case p.State.Published:
			return []string{listPublished}
		case p.State.Exists:
			return []string{draftsList(p.State.Author)}
		}
		return nil
	}
	s.shareOf = draftShare
	return &Posts{Streams: s}
}

func draftsList(author string) string { return "drafts/" + url.PathEscape(author) }

// Apply evolves the post's view, and marks its author's drafts topic when the
// post was a draft.
func (m *Posts) Apply(env es.Envelope, ch *Changes) error {
	before, after, err := m.apply(env, ch)
	if err != nil || env.Stream.Type != blog.StreamType {
		return err
	}
	// A post that was a draft (or did not exist) before the event is in, or
	// leaves, its author's drafts: created, retitled or published. A
	// published post never goes back.
	if !before.State.Published && after.State.Exists {
		ch.Topic(DraftsTopic(after.State.Author))
	}
	return nil
}

// draftShare is a post's share of the private events: a draft's are its
// author's.
func draftShare(p Post) share {
	if !p.State.Exists || p.State.Published {
		return share{}
	}
	return share{p.State.Author, p.Version}
}

// NewestPublished returns the n newest published posts and how many there
// are (see Newest).
func (m *Posts) NewestPublished(ctx context.Context, n int) ([]Post, int, error) {
	return m.Newest(ctx, n, listPublished)
}

// Drafts lists an author's drafts, newest first: the ListLimit newest.
func (m *Posts) Drafts(ctx context.Context, author string) ([]Post, error) {
	drafts, _, err := m.Newest(ctx, ListLimit, draftsList(author))
	return drafts, err
}
