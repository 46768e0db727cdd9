package blog

import (
	"encoding/json"
	"errors"
	"reflect"
	"strings"
	"testing"

	"github.com/foldboard/foldboard/es"
)

var (
	created   = PostCreated{Title: "Hello", Body: "First post.", Author: "ana"}
	published = PostPublished{}
	retitled  = TitleChanged{Title: "Hello, world"}
)

type scenario struct {
	name  string
	given []Event
	when  Command
	then  []Event   // the events decided, when err is nil
	err   *es.Error // the sentinel whose code and kind the error must have
}

func TestDecide(t *testing.T) {
	title200 := strings.Repeat("ß", MaxTitleLen)
	body64k := strings.Repeat("x", MaxBodyBytes)
	run(t, []scenario{
		// CreatePost
		{name: "create a post", when: CreatePost{Title: "Hello", Body: "First post.", Author: "ana"}, then: []Event{created}},
		{name: "create trims the title, not the body", when: CreatePost{Title: "  Hello\n", Body: "  indented\n", Author: "ana"},
			then: []Event{PostCreated{Title: "Hello", Body: "  indented\n", Author: "ana"}}},
		{name: "create without a body", when: CreatePost{Title: "T", Author: "ana"}, then: []Event{PostCreated{Title: "T", Author: "ana"}}},
		{name: "create with a title of 200 characters", when: CreatePost{Title: title200, Author: "ana"}, then: []Event{PostCreated{Title: title200, Author: "ana"}}},
		{name: "create with a body of 64 KiB", when: CreatePost{Title: "T", Body: body64k, Author: "ana"}, then: []Event{PostCreated{Title: "T", Body: body64k, Author: "ana"}}},
		{name: "an anonymous author", when: CreatePost{Title: "T", Author: "anonymous"}, then: []Event{PostCreated{Title: "T", Author: "anonymous"}}},
		{name: "create without a title", when: CreatePost{Title: "", Author: "ana"}, err: ErrBadTitle},
		{name: "create with a blank title", when: CreatePost{Title: " \t\n", Author: "ana"}, err: ErrBadTitle},
		{name: "create with a title of 201 characters", when: CreatePost{Title: title200 + "!", Author: "ana"}, err: ErrBadTitle},
		{name: "create with a title that is not UTF-8", when: CreatePost{Title: "Hi \xc3", Author: "ana"}, err: ErrBadTitle},
		{name: "create with a body over 64 KiB", when: CreatePost{Title: "T", Body: body64k + "x", Author: "ana"}, err: ErrBodyTooLong},
		{name: "a body is measured in bytes", when: CreatePost{Title: "T", Body: strings.Repeat("é", MaxBodyBytes/2+1), Author: "ana"}, err: ErrBodyTooLong},
		{name: "create with a body that is not UTF-8", when: CreatePost{Title: "T", Body: "caf\xe9", Author: "ana"}, err: ErrBadBody},
		{name: "create without an author", when: CreatePost{Title: "T", Author: ""}, err: ErrBadAuthor},
		{name: "create with a blank author", when: CreatePost{Title: "T", Author: "  "}, err: ErrBadAuthor},
		{name: "create with an author of 201 characters", when: CreatePost{Title: "T", Author: strings.Repeat("a", 201)}, err: ErrBadAuthor},
		{name: "create a post that exists", given: []Event{created}, when: CreatePost{Title: "Again", Author: "ana"}, err: ErrPostExists},
		{name: "create a post that exists, as someone else", given: []Event{created}, when: CreatePost{Title: "Mine", Author: "bob"}, err: ErrPostExists},

		// PublishPost
		{name: "publish", given: []Event{created}, when: PublishPost{Actor: "ana"}, then: []Event{published}},
		{name: "publish after a new title", given: []Event{created, retitled}, when: PublishPost{Actor: "ana"}, then: []Event{published}},
		{name: "publish a post that does not exist", when: PublishPost{Actor: "ana"}, err: ErrPostNotFound},
		{name: "publish someone else's post", given: []Event{created}, when: PublishPost{Actor: "bob"}, err: ErrNotAuthor},
		{name: "an actor must match the author exactly", given: []Event{created}, when: PublishPost{Actor: "Ana"}, err: ErrNotAuthor},
		{name: "publish anonymously", given: []Event{created}, when: PublishPost{Actor: ""}, err: ErrNotAuthor},
		{name: "publish twice", given: []Event{created, published}, when: PublishPost{Actor: "ana"}, err: ErrAlreadyPublished},
		{name: "a non-author is refused before the state", given: []Event{created, published}, when: PublishPost{Actor: "bob"}, err: ErrNotAuthor},

		// ChangeTitle
		{name: "change the title of a draft", given: []Event{created}, when: ChangeTitle{Title: "Hello, world", Actor: "ana"}, then: []Event{retitled}},
		{name: "change the title after publishing", given: []Event{created, published}, when: ChangeTitle{Title: "Hello, world", Actor: "ana"}, then: []Event{retitled}},
		{name: "change the title twice", given: []Event{created, retitled}, when: ChangeTitle{Title: "Third", Actor: "ana"}, then: []Event{TitleChanged{Title: "Third"}}},
		{name: "change the title to the same one", given: []Event{created}, when: ChangeTitle{Title: "Hello", Actor: "ana"}, then: []Event{TitleChanged{Title: "Hello"}}},
		{name: "change trims the title", given: []Event{created}, when: ChangeTitle{Title: " Hello, world ", Actor: "ana"}, then: []Event{retitled}},
		{name: "change to a title of 200 characters", given: []Event{created}, when: ChangeTitle{Title: title200, Actor: "ana"}, then: []Event{TitleChanged{Title: title200}}},
		{name: "change the title of a post that does not exist", when: ChangeTitle{Title: "T", Actor: "ana"}, err: ErrPostNotFound},
		{name: "change the title of someone else's post", given: []Event{created}, when: ChangeTitle{Title: "Mine", Actor: "bob"}, err: ErrNotAuthor},
		{name: "a non-author is refused before a bad title", given: []Event{created}, when: ChangeTitle{Title: "", Actor: "bob"}, err: ErrNotAuthor},
		{name: "change to no title", given: []Event{created}, when: ChangeTitle{Title: "  ", Actor: "ana"}, err: ErrBadTitle},
		{name: "change to a title of 201 characters", given: []Event{created}, when: ChangeTitle{Title: title200 + "x", Actor: "ana"}, err: ErrBadTitle},

		// Not a command
		{name: "a nil command", when: nil, err: ErrUnknownCommand},
		{name: "a pointer to a command", given: []Event{created}, when: &PublishPost{Actor: "ana"}, err: ErrUnknownCommand},
	})
}

func run(t *testing.T, scenarios []scenario) {
	t.Helper()
	for _, sc := range scenarios {
		t.Run(sc.name, func(t *testing.T) {
			state := es.Fold(Evolve, Initial(), sc.given)
			before := state
			got, err := Decide(sc.when, state)
			if state != before {
				t.Errorf("Decide changed its state:\n got %+v\nwant %+v", state, before)
			}
			if sc.err != nil {
				var de *es.Error
				if !errors.As(err, &de) {
					t.Fatalf("got events %+v, error %v; want error %s", got, err, sc.err.Code)
				}
				if de.Code != sc.err.Code || de.Kind != sc.err.Kind || de.Message == "" {
					t.Fatalf("got error %s (%s) %q, want %s (%s)", de.Code, de.Kind, de.Message, sc.err.Code, sc.err.Kind)
				}
				if !errors.Is(err, sc.err) || got != nil {
					t.Fatalf("errors.Is(%v, %v) = false, or events %v with the error", err, sc.err, got)
				}
				return
			}
			if err != nil {
				t.Fatalf("got error %v, want events %.200v", err, sc.then)
			}
			if !reflect.DeepEqual(got, sc.then) {
				t.Fatalf("got events %.200v, want %.200v", got, sc.then)
			}
		})
	}
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
	s := es.Fold(Evolve, Initial(), []Event{created})
	if got := Evolve(s, nil); got != s {
		t.Fatalf("Evolve(s, nil) = %+v, want %+v", got, s)
	}
}

func TestEvolveDoesNotChangeItsState(t *testing.T) {
	base := es.Fold(Evolve, Initial(), []Event{created})
	before := base
	a := Evolve(base, retitled)
	b := Evolve(base, published)
	if base != before || a.Title != "Hello, world" || a.Published || b.Title != "Hello" || !b.Published {
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
	for _, h := range histories {
		s := es.Fold(Evolve, Initial(), h)
		b, err := json.Marshal(s)
		if err != nil {
			t.Fatal(err)
		}
		for _, into := range []State{Initial(), {Title: "stale", Published: true}} {
			got := into
			if err := json.Unmarshal(b, &got); err != nil {
				t.Fatal(err)
			}
			if got != s {
				t.Errorf("%s\nround-trips to %+v\nwant %+v", b, got, s)
			}
		}
	}
	b, _ := json.Marshal(es.Fold(Evolve, Initial(), []Event{created, published}))
	want := `{"exists":true,"title":"Hello","body":"First post.","author":"ana","published":true}`
	if string(b) != want {
		t.Errorf("state JSON\n got %s\nwant %s", b, want)
	}
}

func TestEventsEncodeAsTheContractSays(t *testing.T) {
	reg := Decider().Events
	for _, tc := range []struct {
		event Event
		name  string
		data  string
	}{
		{created, "PostCreated", `{"title":"Hello","body":"First post.","author":"ana"}`},
		{published, "PostPublished", `{}`},
		{retitled, "TitleChanged", `{"title":"Hello, world"}`},
	} {
		name, schema, data, err := reg.Encode(tc.event)
		if err != nil {
			t.Fatal(err)
		}
		if name != tc.name || schema != 1 || string(data) != tc.data {
			t.Errorf("Encode(%+v) = %s v%d %s, want %s v1 %s", tc.event, name, schema, data, tc.name, tc.data)
		}
		back, err := reg.Decode(name, schema, data)
		if err != nil {
			t.Fatal(err)
		}
		if back != tc.event {
			t.Errorf("Decode gives %#v, want %#v", back, tc.event)
		}
	}
	if n := len(reg.Names()); n != 3 {
		t.Errorf("%d event types registered, want 3", n)
	}
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
	for _, tc := range []struct {
		err  *es.Error
		code string
		kind es.Kind
	}{
		{ErrPostNotFound, "PostNotFound", es.Missing},
		{ErrNotAuthor, "NotAuthor", es.Forbidden},
		{ErrPostExists, "PostExists", es.Refused},
		{ErrAlreadyPublished, "AlreadyPublished", es.Refused},
		{ErrBadTitle, "BadTitle", es.Invalid},
		{ErrBodyTooLong, "BodyTooLong", es.Invalid},
		{ErrBadBody, "BadBody", es.Invalid},
		{ErrBadAuthor, "BadAuthor", es.Invalid},
		{ErrUnknownCommand, "UnknownCommand", es.Invalid},
	} {
		if tc.err.Code != tc.code || tc.err.Kind != tc.kind {
			t.Errorf("%s is %s (%s), want %s (%s)", tc.err.Message, tc.err.Code, tc.err.Kind, tc.code, tc.kind)
		}
	}
	if !errors.Is(ErrPostNotFound, es.ErrNotFound) {
		t.Error("ErrPostNotFound does not match es.ErrNotFound")
	}
}
