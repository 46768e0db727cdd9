package blog

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"github.com/foldboard/foldboard/es"
	"github.com/foldboard/foldboard/es/decidertest"
)

var (
	created   = PostCreated{Title: "Hello", Body: "First post.", Author: "ana"}
	published = PostPublished{}
	retitled  = TitleChanged{Title: "Hello, world"}
)

type scenario = decidertest.Scenario[Command, Event]

func TestDecide(t *testing.T) {
	title200 := strings.Repeat("ß", MaxTitleLen)
	body64k := strings.Repeat("x", MaxBodyBytes)
	decidertest.Run(t, Decider(), []scenario{
		// CreatePost
		{Name: "create a post", When: CreatePost{Title: "Hello", Body: "First post.", Author: "ana"}, Then: []Event{created}},
		{Name: "create trims the title, not the body", When: CreatePost{Title: "  Hello\n", Body: "  indented\n", Author: "ana"},
			Then: []Event{PostCreated{Title: "Hello", Body: "  indented\n", Author: "ana"}}},
		{Name: "create without a body", When: CreatePost{Title: "T", Author: "ana"}, Then: []Event{PostCreated{Title: "T", Author: "ana"}}},
		{Name: "create with a title of 200 characters", When: CreatePost{Title: title200, Author: "ana"}, Then: []Event{PostCreated{Title: title200, Author: "ana"}}},
		{Name: "create with a body of 64 KiB", When: CreatePost{Title: "T", Body: body64k, Author: "ana"}, Then: []Event{PostCreated{Title: "T", Body: body64k, Author: "ana"}}},
		{Name: "an anonymous author", When: CreatePost{Title: "T", Author: "anonymous"}, Then: []Event{PostCreated{Title: "T", Author: "anonymous"}}},
		{Name: "create without a title", When: CreatePost{Title: "", Author: "ana"}, Err: ErrBadTitle},
		{Name: "create with a blank title", When: CreatePost{Title: " \t\n", Author: "ana"}, Err: ErrBadTitle},
		{Name: "create with a title of 201 characters", When: CreatePost{Title: title200 + "!", Author: "ana"}, Err: ErrBadTitle},
		{Name: "create with a title that is not UTF-8", When: CreatePost{Title: "Hi \xc3", Author: "ana"}, Err: ErrBadTitle},
		{Name: "create with a body over 64 KiB", When: CreatePost{Title: "T", Body: body64k + "x", Author: "ana"}, Err: ErrBodyTooLong},
		{Name: "a body is measured in bytes", When: CreatePost{Title: "T", Body: strings.Repeat("é", MaxBodyBytes/2+1), Author: "ana"}, Err: ErrBodyTooLong},
		{Name: "create with a body that is not UTF-8", When: CreatePost{Title: "T", Body: "caf\xe9", Author: "ana"}, Err: ErrBadBody},
		{Name: "create without an author", When: CreatePost{Title: "T", Author: ""}, Err: ErrBadAuthor},
		{Name: "create with a blank author", When: CreatePost{Title: "T", Author: "  "}, Err: ErrBadAuthor},
		{Name: "create with an author of 201 characters", When: CreatePost{Title: "T", Author: strings.Repeat("a", 201)}, Err: ErrBadAuthor},
		{Name: "create a post that exists", Given: []Event{created}, When: CreatePost{Title: "Again", Author: "ana"}, Err: ErrPostExists},
		{Name: "create a post that exists, as someone else", Given: []Event{created}, When: CreatePost{Title: "Mine", Author: "bob"}, Err: ErrPostExists},

		// PublishPost
		{Name: "publish", Given: []Event{created}, When: PublishPost{Actor: "ana"}, Then: []Event{published}},
		{Name: "publish after a new title", Given: []Event{created, retitled}, When: PublishPost{Actor: "ana"}, Then: []Event{published}},
		{Name: "publish a post that does not exist", When: PublishPost{Actor: "ana"}, Err: ErrPostNotFound},
		{Name: "publish someone else's post", Given: []Event{created}, When: PublishPost{Actor: "bob"}, Err: ErrNotAuthor},
		{Name: "an actor must match the author exactly", Given: []Event{created}, When: PublishPost{Actor: "Ana"}, Err: ErrNotAuthor},
		{Name: "publish anonymously", Given: []Event{created}, When: PublishPost{Actor: ""}, Err: ErrNotAuthor},
		{Name: "an admin publishes someone's post", Given: []Event{created}, When: PublishPost{Actor: "root", Admin: true}, Then: []Event{published}},
		{Name: "an admin retitles someone's post", Given: []Event{created}, When: ChangeTitle{Title: "Hello, world", Actor: "root", Admin: true}, Then: []Event{retitled}},
		{Name: "publish twice", Given: []Event{created, published}, When: PublishPost{Actor: "ana"}, Err: ErrAlreadyPublished},
		{Name: "a non-author is refused before the state", Given: []Event{created, published}, When: PublishPost{Actor: "bob"}, Err: ErrNotAuthor},

		// ChangeTitle
		{Name: "change the title of a draft", Given: []Event{created}, When: ChangeTitle{Title: "Hello, world", Actor: "ana"}, Then: []Event{retitled}},
		{Name: "change the title after publishing", Given: []Event{created, published}, When: ChangeTitle{Title: "Hello, world", Actor: "ana"}, Then: []Event{retitled}},
		{Name: "change the title twice", Given: []Event{created, retitled}, When: ChangeTitle{Title: "Third", Actor: "ana"}, Then: []Event{TitleChanged{Title: "Third"}}},
		{Name: "change the title to the same one", Given: []Event{created}, When: ChangeTitle{Title: "Hello", Actor: "ana"}, Then: []Event{TitleChanged{Title: "Hello"}}},
		{Name: "change trims the title", Given: []Event{created}, When: ChangeTitle{Title: " Hello, world ", Actor: "ana"}, Then: []Event{retitled}},
		{Name: "change to a title of 200 characters", Given: []Event{created}, When: ChangeTitle{Title: title200, Actor: "ana"}, Then: []Event{TitleChanged{Title: title200}}},
		{Name: "change the title of a post that does not exist", When: ChangeTitle{Title: "T", Actor: "ana"}, Err: ErrPostNotFound},
		{Name: "change the title of someone else's post", Given: []Event{created}, When: ChangeTitle{Title: "Mine", Actor: "bob"}, Err: ErrNotAuthor},
		{Name: "a non-author is refused before a bad title", Given: []Event{created}, When: ChangeTitle{Title: "", Actor: "bob"}, Err: ErrNotAuthor},
		{Name: "change to no title", Given: []Event{created}, When: ChangeTitle{Title: "  ", Actor: "ana"}, Err: ErrBadTitle},
		{Name: "change to a title of 201 characters", Given: []Event{created}, When: ChangeTitle{Title: title200 + "x", Actor: "ana"}, Err: ErrBadTitle},

		// Not a command
		{Name: "a nil command", When: nil, Err: ErrUnknownCommand},
		{Name: "a pointer to a command", Given: []Event{created}, When: &PublishPost{Actor: "ana"}, Err: ErrUnknownCommand},
	})
}

func TestEvolve(t *testing.T) {
	for _, tc := range []struct {
		name  string
		given []Event
		want  State
	}{
		{"no events", nil, State{}},
		{"a draft", []Event{created}, State{Exists: true, Title: "Hello", Body: "First post.", Author: "ana"}},
		{"published", []Event{created, published}, State{Exists: true, Title: "Hello", Body: "First post.", Author: "ana", Published: true}},
		{"retitled after publishing", []Event{created, published, retitled},
			State{Exists: true, Title: "Hello, world", Body: "First post.", Author: "ana", Published: true}},
		{"retitled twice", []Event{created, retitled, TitleChanged{Title: "Third"}},
			State{Exists: true, Title: "Third", Body: "First post.", Author: "ana"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := es.Fold(Evolve, Initial(), tc.given); got != tc.want {
				t.Fatalf("got  %+v\nwant %+v", got, tc.want)
			}
		})
	}
}

func TestEvolveIgnoresForeignEvents(t *testing.T) {
	decidertest.IgnoresForeignEvents(t, Decider(), []Event{created})
}

func TestEvolveDoesNotChangeItsState(t *testing.T) {
	base := es.Fold(Evolve, Initial(), []Event{created})
	branches := decidertest.Branches(t, Decider(), base, []Event{retitled, published})
	a, b := branches[0], branches[1]
	if a.Title != "Hello, world" || a.Published || b.Title != "Hello" || !b.Published {
		t.Fatalf("base %+v, a %+v, b %+v", base, a, b)
	}
}

func TestStateRoundTripsThroughJSON(t *testing.T) {
	histories := [][]Event{
		nil,
		{created},
		{created, published, retitled},
		{PostCreated{Title: "<b>&amp;</b>", Body: "line\r\nline\u2028\x00\ttab \"q\" 😀", Author: "zoë"}},
	}
	// Loaded into Initial(), and over a stale state: nothing of it must remain.
	decidertest.RoundTrips(t, Decider(), histories, State{Title: "stale", Published: true})
	b, _ := json.Marshal(es.Fold(Evolve, Initial(), []Event{created, published}))
	want := `{"exists":true,"title":"Hello","body":"First post.","author":"ana","published":true}`
	if string(b) != want {
		t.Errorf("state JSON\n got %s\nwant %s", b, want)
	}
}

func TestEventsEncodeAsTheContractSays(t *testing.T) {
	reg := Decider().Events
	decidertest.EncodesAs(t, reg, []decidertest.Encoding[Event]{
		{Event: created, Name: "PostCreated", Schema: 1, Data: `{"title":"Hello","body":"First post.","author":"ana"}`},
		{Event: published, Name: "PostPublished", Schema: 1, Data: `{}`},
		{Event: retitled, Name: "TitleChanged", Schema: 1, Data: `{"title":"Hello, world"}`},
	})
	// A payload-less event may be stored with no data at all.
	if e, err := reg.Decode("PostPublished", 1, nil); err != nil || e != (PostPublished{}) {
		t.Errorf("Decode(PostPublished, no data) = %#v, %v", e, err)
	}
}

func TestDecider(t *testing.T) {
	d := Decider()
	if d.StreamType != "post" || d.StateSchema != 1 || d.Initial == nil || d.Decide == nil || d.Evolve == nil || d.Events == nil {
		t.Fatalf("Decider() = %+v", d)
	}
}

func TestErrorCodesAreStable(t *testing.T) {
	decidertest.ErrorCodes(t, []decidertest.Code{
		{Err: ErrPostNotFound, Code: "PostNotFound", Kind: es.Missing},
		{Err: ErrNotAuthor, Code: "NotAuthor", Kind: es.Forbidden},
		{Err: ErrPostExists, Code: "PostExists", Kind: es.Refused},
		{Err: ErrAlreadyPublished, Code: "AlreadyPublished", Kind: es.Refused},
		{Err: ErrBadTitle, Code: "BadTitle", Kind: es.Invalid},
		{Err: ErrBodyTooLong, Code: "BodyTooLong", Kind: es.Invalid},
		{Err: ErrBadBody, Code: "BadBody", Kind: es.Invalid},
		{Err: ErrBadAuthor, Code: "BadAuthor", Kind: es.Invalid},
		{Err: ErrUnknownCommand, Code: "UnknownCommand", Kind: es.Invalid},
	})
	if !errors.Is(ErrPostNotFound, es.ErrNotFound) {
		t.Error("ErrPostNotFound does not match es.ErrNotFound")
	}
}
