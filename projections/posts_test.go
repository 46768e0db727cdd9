package projections

import (
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/foldboard/foldboard/domain/blog"
	"github.com/foldboard/foldboard/es"
)

// Names with a space and an apostrophe: their drafts topics must be escaped.
var authors = []string{"ana", "bo", "ana maria", "O'Brien"}

// postCommand is a random post command by a random author: most are
// refused (someone else's post, a post not yet created, published twice),
// which is the point.
func postCommand(rng *rand.Rand, s blog.State) (blog.Command, string) {
	who := pick(rng, authors...)
	switch rng.IntN(6) {
	case 0, 1:
		return blog.CreatePost{Title: pick(rng, "Hello", "Notes", " "), Body: "text", Author: who}, who
	case 2:
		return blog.PublishPost{Actor: who}, who
	default:
		return blog.ChangeTitle{Title: fmt.Sprintf("Title %d", rng.IntN(100)), Actor: who}, who
	}
}

// postFacts is what the log says of a post, read directly from it.
type postFacts struct {
	author, title string
	published     bool
}

// postsFromLog reads the posts straight from a log: the author is the actor
// of PostCreated (the contract's rule), the title the last one given.
func postsFromLog(t *testing.T, log []es.Envelope) map[string]postFacts {
	t.Helper()
	posts := map[string]postFacts{}
	for _, env := range log {
		var data struct {
			Title string `json:"title"`
		}
		if err := json.Unmarshal(env.Data, &data); err != nil {
			t.Fatal(err)
		}
		p := posts[env.Stream.ID]
		switch env.Type {
		case "PostCreated":
			p = postFacts{author: env.Actor, title: data.Title}
		case "TitleChanged":
			p.title = data.Title
		case "PostPublished":
			p.published = true
		}
		posts[env.Stream.ID] = p
	}
	return posts
}

// checkPosts compares the published list and every author's drafts with the
// facts.
func checkPosts(t *testing.T, what string, m *Posts, facts map[string]postFacts) {
	t.Helper()
	summary := func(list []Post) []string {
		var out []string
		for _, p := range list {
			out = append(out, p.ID+" "+p.State.Author+" "+p.State.Title)
		}
		slices.Sort(out)
		return out
	}
	var published []string
	drafts := map[string][]string{}
	for id, f := range facts {
		line := id + " " + f.author + " " + f.title
		if f.published {
			published = append(published, line)
		} else {
			drafts[f.author] = append(drafts[f.author], line)
		}
	}
	slices.Sort(published)
	all, total, err := m.NewestPublished(t.Context(), ListLimit)
	if err != nil || total != len(published) {
		t.Fatalf("%s: %d published, %v; want %d", what, total, err, len(published))
	}
	if got := summary(all); !slices.Equal(got, published) {
		t.Fatalf("%s: published\n got %q\nwant %q", what, got, published)
	}
	for _, a := range authors {
		want := drafts[a]
		slices.Sort(want)
		list, err := m.Drafts(t.Context(), a)
		if err != nil {
			t.Fatal(err)
		}
		if got := summary(list); !slices.Equal(got, want) {
			t.Fatalf("%s: drafts of %s\n got %q\nwant %q", what, a, got, want)
		}
	}
}

func TestPostsArePublishedOrTheirAuthorsDrafts(t *testing.T) {
	events := 0
	for seed := range uint64(300) {
		rng := rand.New(rand.NewPCG(seed, 7))
		log := randomLog(t, rng, blog.Decider(), 1+rng.IntN(15), rng.IntN(200), postCommand)
		m := NewPosts()
		applyAll(t, log, m)
		checkPosts(t, fmt.Sprintf("seed %d", seed), m, postsFromLog(t, log))
		events += len(log)
	}
	if events < 3000 {
		t.Fatalf("only %d events in all", events)
	}
}

func TestPostsThroughTheProjectorSurviveARestart(t *testing.T) {
	for seed := range uint64(25) {
		rng := rand.New(rand.NewPCG(seed, 8))
		log := randomLog(t, rng, blog.Decider(), 1+rng.IntN(15), 50+rng.IntN(200), postCommand)
		facts := postsFromLog(t, log)
		m := NewPosts()
		store := project(t, rng, log, m)
		what := fmt.Sprintf("seed %d", seed)
		checkPosts(t, what, m, facts)
		checkPosts(t, what+" reloaded", reload(t, store, NewPosts()), facts)
	}
}

// Every event of a post that was or becomes a draft changes its author's
// drafts list; every event of a post that was or becomes published changes
// the published list. Checked event by event against the facts so far.
func TestPostsMarkTheTopicsOfTheListsTheyChange(t *testing.T) {
	for seed := range uint64(100) {
		rng := rand.New(rand.NewPCG(seed, 9))
		log := randomLog(t, rng, blog.Decider(), 1+rng.IntN(6), rng.IntN(120), postCommand)
		m := NewPosts()
		for i, env := range log {
			before := postsFromLog(t, log[:i])[env.Stream.ID]
			after := postsFromLog(t, log[:i+1])[env.Stream.ID]
			ch := newChanges()
			if err := m.Apply(env, ch); err != nil {
				t.Fatal(err)
			}
			_, existed := postsFromLog(t, log[:i])[env.Stream.ID]
			draftsChange := !existed || !before.published || !after.published
			publishedChange := before.published || after.published
			for topic, want := range map[string]bool{
				DraftsTopic(after.author): draftsChange,
				TopicPosts:                publishedChange,
				env.Stream.String():       true,
			} {
				if _, got := ch.topics[topic]; want && !got {
					t.Fatalf("seed %d: %s v%d %s does not mark %s (marked %v)", seed, env.Stream, env.Version, env.Type, topic, ch.Topics())
				}
			}
			if _, got := ch.topics[DraftsTopic(after.author)]; got && !draftsChange {
				t.Fatalf("seed %d: %s v%d %s marks the drafts of %s, which it does not change", seed, env.Stream, env.Version, env.Type, after.author)
			}
		}
	}
}

func TestDraftsTopicsEscapeNamesAndReadBack(t *testing.T) {
	for _, tc := range []struct{ author, topic string }{
		{"ana", "drafts/ana"},
		{"ana maria", "drafts/ana%20maria"},
		{"O'Brien", "drafts/O%27Brien"},
		{"a/b", "drafts/a%2Fb"},
		{"Zoë", "drafts/Zo%C3%AB"},
	} {
		if got := DraftsTopic(tc.author); got != tc.topic {
			t.Errorf("DraftsTopic(%q) = %q, want %q", tc.author, got, tc.topic)
		}
		if got, ok := DraftsAuthor(tc.topic); !ok || got != tc.author {
			t.Errorf("DraftsAuthor(%q) = %q, %v", tc.topic, got, ok)
		}
	}
	// Only what DraftsTopic makes: one spelling per author.
	for _, topic := range []string{"drafts/", "drafts", "drafts/ana maria", "drafts/%61na", "drafts/%zz", "post/ana", "drafts/a/b"} {
		if a, ok := DraftsAuthor(topic); ok {
			t.Errorf("DraftsAuthor(%q) = %q, true", topic, a)
		}
	}
}
