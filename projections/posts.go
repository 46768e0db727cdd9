package projections

import (
	"encoding/json"
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
// fragment per author, the same for every page of that author.
type Posts struct {
	*Streams[blog.State, blog.Event]
	privateEvents // the drafts' events, by author
}

// NewPosts makes an empty posts model.
func NewPosts() *Posts {
	return &Posts{Streams: NewStreams(blog.Decider(), TopicPosts)}
}

// Apply evolves the post's view, and marks its author's drafts topic when the
// post was a draft.
func (m *Posts) Apply(env es.Envelope, ch *Changes) error {
	if env.Stream.Type != blog.StreamType {
		return nil
	}
	before, _ := m.Get(env.Stream.ID)
	if err := m.Streams.Apply(env, ch); err != nil {
		return err
	}
	after, _ := m.Get(env.Stream.ID)
	m.move(draftShare(before), draftShare(after))
	// A post that was a draft (or did not exist) before the event is in, or
	// leaves, its author's drafts: created, retitled or published. A
	// published post never goes back.
	if !before.State.Published && after.State.Exists {
		ch.Topic(DraftsTopic(after.State.Author))
	}
	return nil
}

// Load restores one post's view.
func (m *Posts) Load(key string, doc json.RawMessage) error {
	id := key[len(blog.StreamType)+1:]
	before, _ := m.Get(id)
	if err := m.Streams.Load(key, doc); err != nil {
		return err
	}
	after, _ := m.Get(id)
	m.move(draftShare(before), draftShare(after))
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

// Published lists the published posts, newest first.
func (m *Posts) Published() []Post {
	return m.List(published)
}

// NewestPublished returns the n newest published posts and how many there
// are (see Newest).
func (m *Posts) NewestPublished(n int) ([]Post, int) {
	return m.Newest(n, published)
}

func published(p Post) bool { return p.State.Published }

// Drafts lists an author's drafts, newest first.
func (m *Posts) Drafts(author string) []Post {
	return m.List(func(p Post) bool { return p.State.Exists && !p.State.Published && p.State.Author == author })
}
