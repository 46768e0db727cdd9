package user

import (
	"encoding/json"
	"fmt"
	"reflect"
	"strings"
	"testing"

	"github.com/foldboard/foldboard/es"
	"github.com/foldboard/foldboard/es/decidertest"
)

const (
	hashA = "$argon2id$v=19$m=19456,t=2,p=1$c2FsdHNhbHRzYWx0c2FsdA$a2V5a2V5a2V5a2V5a2V5a2V5a2V5a2V5a2V5a2U"
	hashB = "$argon2id$v=19$m=19456,t=2,p=1$b3RoZXJzYWx0b3RoZXJzYQ$b3RoZXJrZXlvdGhlcmtleW90aGVya2V5b3RoZXI"
)

var (
	sess1 = strings.Repeat("1a", 32)
	sess2 = strings.Repeat("2b", 32)
	tokH1 = strings.Repeat("3c", 32)
	tokH2 = strings.Repeat("4d", 32)

	registered = Registered{Name: "ana", PasswordHash: hashA}
	started1   = SessionStarted{Session: sess1}
	issued1    = TokenIssued{Token: "t1", Hash: tokH1}
)

type scenario = decidertest.Scenario[Command, Event]

func TestDecide(t *testing.T) {
	tokens := []Event{registered}
	for i := range MaxTokens {
		tokens = append(tokens, TokenIssued{Token: fmt.Sprintf("t%d", i), Hash: fmt.Sprintf("%064x", i)})
	}
	decidertest.Run(t, Decider(), []scenario{
		// Register
		{Name: "register", When: Register{Name: "ana", PasswordHash: hashA}, Then: []Event{registered}},
		{Name: "register a name with spaces and marks", When: Register{Name: "Zoë O'Neil-Smith", PasswordHash: hashA},
			Then: []Event{Registered{Name: "Zoë O'Neil-Smith", PasswordHash: hashA}}},
		{Name: "register a name of 40 characters", When: Register{Name: strings.Repeat("é", 40), PasswordHash: hashA},
			Then: []Event{Registered{Name: strings.Repeat("é", 40), PasswordHash: hashA}}},
		{Name: "register and start a session", When: Register{Name: "ana", PasswordHash: hashA, Session: sess1}, Then: []Event{registered, started1}},
		{Name: "register with a session that is not a hash", When: Register{Name: "ana", PasswordHash: hashA, Session: "s"}, Err: ErrBadHash},
		{Name: "register a taken name", Given: []Event{registered}, When: Register{Name: "ana", PasswordHash: hashB}, Err: ErrNameTaken},
		{Name: "register no name", When: Register{Name: "", PasswordHash: hashA}, Err: ErrBadActor},
		{Name: "register a name of 41 characters", When: Register{Name: strings.Repeat("a", 41), PasswordHash: hashA}, Err: ErrBadActor},
		{Name: "register a name with a space at its end", When: Register{Name: "ana ", PasswordHash: hashA}, Err: ErrBadActor},
		{Name: "register a name with markup", When: Register{Name: "<b>ana</b>", PasswordHash: hashA}, Err: ErrBadActor},
		{Name: "register a reaction's name", When: Register{Name: "system/loyalty", PasswordHash: hashA}, Err: ErrBadActor},
		{Name: "register with a password that is not an argon2id hash", When: Register{Name: "ana", PasswordHash: "hunter22"}, Err: ErrBadHash},
		{Name: "a bad name is refused before a taken one", Given: []Event{registered}, When: Register{Name: "a\x00", PasswordHash: hashA}, Err: ErrBadActor},

		// ChangePassword
		{Name: "change the password", Given: []Event{registered}, When: ChangePassword{Actor: "ana", PasswordHash: hashB},
			Then: []Event{PasswordChanged{PasswordHash: hashB}}},
		{Name: "change the password of no account", When: ChangePassword{Actor: "ana", PasswordHash: hashB}, Err: ErrUserNotFound},
		{Name: "change someone else's password", Given: []Event{registered}, When: ChangePassword{Actor: "ben", PasswordHash: hashB}, Err: ErrNotYou},
		{Name: "the owner's name must match exactly", Given: []Event{registered}, When: ChangePassword{Actor: "Ana", PasswordHash: hashB}, Err: ErrNotYou},
		{Name: "change to a password that is not a hash", Given: []Event{registered}, When: ChangePassword{Actor: "ana", PasswordHash: "x"}, Err: ErrBadHash},

		// Sessions
		{Name: "start a session", Given: []Event{registered}, When: StartSession{Actor: "ana", Session: sess1}, Then: []Event{started1}},
		{Name: "start a second session", Given: []Event{registered, started1}, When: StartSession{Actor: "ana", Session: sess2},
			Then: []Event{SessionStarted{Session: sess2}}},
		{Name: "start a session twice", Given: []Event{registered, started1}, When: StartSession{Actor: "ana", Session: sess1}, Err: ErrSessionExists},
		{Name: "start a session for no account", When: StartSession{Actor: "ana", Session: sess1}, Err: ErrUserNotFound},
		{Name: "start a session for someone else", Given: []Event{registered}, When: StartSession{Actor: "ben", Session: sess1}, Err: ErrNotYou},
		{Name: "start a session that is not a hash", Given: []Event{registered}, When: StartSession{Actor: "ana", Session: "raw-session-id"}, Err: ErrBadHash},
		{Name: "a session hash is lower-case hex", Given: []Event{registered}, When: StartSession{Actor: "ana", Session: strings.ToUpper(sess1)}, Err: ErrBadHash},
		{Name: "end a session", Given: []Event{registered, started1}, When: EndSession{Actor: "ana", Session: sess1}, Then: []Event{SessionEnded{Session: sess1}}},
		{Name: "end a session twice", Given: []Event{registered, started1, SessionEnded{Session: sess1}}, When: EndSession{Actor: "ana", Session: sess1}, Err: ErrNoSuchSession},
		{Name: "end someone else's session", Given: []Event{registered, started1}, When: EndSession{Actor: "ben", Session: sess1}, Err: ErrNotYou},
		{Name: "a session ended everywhere is gone", Given: []Event{registered, started1, SignedOutEverywhere{}}, When: EndSession{Actor: "ana", Session: sess1}, Err: ErrNoSuchSession},

		// Tokens
		{Name: "issue a token", Given: []Event{registered}, When: IssueToken{Actor: "ana", Token: "t1", Hash: tokH1}, Then: []Event{issued1}},
		{Name: "issue a token for someone else", Given: []Event{registered}, When: IssueToken{Actor: "ben", Token: "t1", Hash: tokH1}, Err: ErrNotYou},
		{Name: "issue a token with a live id", Given: []Event{registered, issued1}, When: IssueToken{Actor: "ana", Token: "t1", Hash: tokH2}, Err: ErrTokenExists},
		{Name: "issue a token with a live hash", Given: []Event{registered, issued1}, When: IssueToken{Actor: "ana", Token: "t2", Hash: tokH1}, Err: ErrTokenExists},
		{Name: "issue a token with a bad id", Given: []Event{registered}, When: IssueToken{Actor: "ana", Token: "t 1", Hash: tokH1}, Err: ErrBadHash},
		{Name: "issue a token with a bad hash", Given: []Event{registered}, When: IssueToken{Actor: "ana", Token: "t1", Hash: "abc"}, Err: ErrBadHash},
		{Name: "issue a token beyond the most", Given: tokens, When: IssueToken{Actor: "ana", Token: "more", Hash: tokH1}, Err: ErrTooManyTokens},
		{Name: "revoke a token", Given: []Event{registered, issued1}, When: RevokeToken{Actor: "ana", Token: "t1"}, Then: []Event{TokenRevoked{Token: "t1"}}},
		{Name: "revoke a token never issued", Given: []Event{registered}, When: RevokeToken{Actor: "ana", Token: "t1"}, Err: ErrNoSuchToken},
		{Name: "revoke someone else's token", Given: []Event{registered, issued1}, When: RevokeToken{Actor: "ben", Token: "t1"}, Err: ErrNotYou},

		// SignOutEverywhere
		{Name: "sign out everywhere", Given: []Event{registered, started1, issued1}, When: SignOutEverywhere{Actor: "ana"}, Then: []Event{SignedOutEverywhere{}}},
		{Name: "sign out everywhere with nothing live", Given: []Event{registered}, When: SignOutEverywhere{Actor: "ana"}, Then: []Event{SignedOutEverywhere{}}},
		{Name: "sign someone else out everywhere", Given: []Event{registered, started1}, When: SignOutEverywhere{Actor: "ben"}, Err: ErrNotYou},
		{Name: "sign out everywhere from no account", When: SignOutEverywhere{Actor: "ana"}, Err: ErrUserNotFound},

		// Not a command
		{Name: "a nil command", When: nil, Err: ErrUnknownCommand},
		{Name: "a pointer to a command", Given: []Event{registered}, When: &SignOutEverywhere{Actor: "ana"}, Err: ErrUnknownCommand},
	})
}

func TestEvolve(t *testing.T) {
	for _, tc := range []struct {
		name  string
		given []Event
		want  State
	}{
		{"no events", nil, State{}},
		{"registered", []Event{registered}, State{Exists: true, Name: "ana", PasswordHash: hashA}},
		{"a new password", []Event{registered, PasswordChanged{PasswordHash: hashB}}, State{Exists: true, Name: "ana", PasswordHash: hashB}},
		{"two sessions, one ended", []Event{registered, started1, SessionStarted{Session: sess2}, SessionEnded{Session: sess1}},
			State{Exists: true, Name: "ana", PasswordHash: hashA, Sessions: []string{sess2}}},
		{"a token revoked", []Event{registered, issued1, TokenIssued{Token: "t2", Hash: tokH2}, TokenRevoked{Token: "t1"}},
			State{Exists: true, Name: "ana", PasswordHash: hashA, Tokens: []Token{{ID: "t2", Hash: tokH2}}}},
		{"signed out everywhere", []Event{registered, started1, issued1, SignedOutEverywhere{}},
			State{Exists: true, Name: "ana", PasswordHash: hashA}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := es.Fold(Evolve, Initial(), tc.given)
			if len(got.Sessions) == 0 {
				got.Sessions = nil
			}
			if len(got.Tokens) == 0 {
				got.Tokens = nil
			}
			if !reflect.DeepEqual(got, tc.want) {
				t.Fatalf("got  %+v\nwant %+v", got, tc.want)
			}
		})
	}
}

func TestEvolveKeepsTheNewestSessions(t *testing.T) {
	events := []Event{registered}
	for i := range MaxSessions + 3 {
		events = append(events, SessionStarted{Session: fmt.Sprintf("%064x", i)})
	}
	s := es.Fold(Evolve, Initial(), events)
	if len(s.Sessions) != MaxSessions {
		t.Fatalf("%d sessions kept, want %d", len(s.Sessions), MaxSessions)
	}
	if s.HasSession(fmt.Sprintf("%064x", 2)) || !s.HasSession(fmt.Sprintf("%064x", 3)) || !s.HasSession(fmt.Sprintf("%064x", MaxSessions+2)) {
		t.Fatalf("the oldest sessions should go first: %v", s.Sessions)
	}
}

func TestEvolveIgnoresForeignEvents(t *testing.T) {
	decidertest.IgnoresForeignEvents(t, Decider(), []Event{registered, started1})
}

func TestEvolveDoesNotChangeItsState(t *testing.T) {
	base := es.Fold(Evolve, Initial(), []Event{registered, started1, issued1})
	branches := decidertest.Branches(t, Decider(), base,
		[]Event{SessionStarted{Session: sess2}, SessionEnded{Session: sess1}, TokenRevoked{Token: "t1"}, SignedOutEverywhere{}})
	if len(branches[0].Sessions) != 2 || len(branches[1].Sessions) != 0 || len(branches[2].Tokens) != 0 || len(base.Sessions) != 1 || len(base.Tokens) != 1 {
		t.Fatalf("base %+v, branches %+v", base, branches)
	}
}

func TestStateRoundTripsThroughJSON(t *testing.T) {
	decidertest.RoundTrips(t, Decider(), [][]Event{
		nil, {registered}, {registered, started1, issued1}, {registered, started1, SignedOutEverywhere{}},
	}, State{Name: "stale", Sessions: []string{"x"}})
}

func TestEventsEncodeAsStored(t *testing.T) {
	decidertest.EncodesAs(t, Decider().Events, []decidertest.Encoding[Event]{
		{Event: registered, Name: "Registered", Schema: 1, Data: `{"name":"ana","passwordHash":"` + hashA + `"}`},
		{Event: PasswordChanged{PasswordHash: hashB}, Name: "PasswordChanged", Schema: 1, Data: `{"passwordHash":"` + hashB + `"}`},
		{Event: started1, Name: "SessionStarted", Schema: 1, Data: `{"session":"` + sess1 + `"}`},
		{Event: SessionEnded{Session: sess1}, Name: "SessionEnded", Schema: 1, Data: `{"session":"` + sess1 + `"}`},
		{Event: issued1, Name: "TokenIssued", Schema: 1, Data: `{"token":"t1","hash":"` + tokH1 + `"}`},
		{Event: TokenRevoked{Token: "t1"}, Name: "TokenRevoked", Schema: 1, Data: `{"token":"t1"}`},
		{Event: SignedOutEverywhere{}, Name: "SignedOutEverywhere", Schema: 1, Data: `{}`},
	})
}

func TestErrorCodesAreStable(t *testing.T) {
	decidertest.ErrorCodes(t, []decidertest.Code{
		{Err: ErrUserNotFound, Code: "UserNotFound", Kind: es.Missing},
		{Err: ErrNotYou, Code: "NotYou", Kind: es.Forbidden},
		{Err: ErrNameTaken, Code: "NameTaken", Kind: es.Refused},
		{Err: ErrSessionExists, Code: "SessionExists", Kind: es.Refused},
		{Err: ErrNoSuchSession, Code: "NoSuchSession", Kind: es.Refused},
		{Err: ErrTooManyTokens, Code: "TooManyTokens", Kind: es.Refused},
		{Err: ErrTokenExists, Code: "TokenExists", Kind: es.Refused},
		{Err: ErrNoSuchToken, Code: "NoSuchToken", Kind: es.Refused},
		{Err: ErrBadActor, Code: "BadActor", Kind: es.Invalid},
		{Err: ErrBadHash, Code: "BadHash", Kind: es.Invalid},
		{Err: ErrUnknownCommand, Code: "UnknownCommand", Kind: es.Invalid},
	})
}

func TestStreamIDFoldsCaseAndKeepsToTheIDAlphabet(t *testing.T) {
	for _, tc := range []struct{ name, id string }{
		{"ana", "ana"}, {"Ana", "ana"}, {"ANA_B-2", "ana_b-2"},
	} {
		if got := StreamID(tc.name); got != tc.id {
			t.Errorf("StreamID(%q) = %q, want %q", tc.name, got, tc.id)
		}
	}
	for _, pair := range [][2]string{{"Ana Lee", "ana lee"}, {"Zoë", "ZOË"}, {"o'neil", "O'Neil"}} {
		a, b := StreamID(pair[0]), StreamID(pair[1])
		if a != b || !strings.HasPrefix(a, "u.") || !es.ValidID(a) {
			t.Errorf("StreamID(%q) = %q, StreamID(%q) = %q: want one hashed id", pair[0], a, pair[1], b)
		}
	}
	if StreamID("Ana Lee") == StreamID("Ana Leé") || StreamID("ana.b") == "ana.b" {
		t.Error("different names share an id, or a dotted name is taken as plain")
	}
	if long := strings.Repeat("é", MaxNameLen); !es.ValidID(StreamID(long)) {
		t.Errorf("StreamID of 40 accented letters %q is not an id", StreamID(long))
	}
}

func TestRedactHidesThePasswordHashOnly(t *testing.T) {
	data, _ := json.Marshal(registered)
	e := Redact(es.Envelope{Stream: Stream("ana"), Type: "Registered", Data: data})
	want := `{"name":"ana","passwordHash":"$argon2id$v=19$m=19456,t=2,p=1$(hidden)"}`
	if string(e.Data) != want {
		t.Errorf("redacted %s\nwant     %s", e.Data, want)
	}
	if strings.Contains(string(e.Data), "c2FsdHNh") {
		t.Error("the salt is still shown")
	}
	post := es.Envelope{Stream: es.StreamRef{Type: "post", ID: "p"}, Type: "Registered", Data: data}
	if got := Redact(post); string(got.Data) != string(data) {
		t.Errorf("an event of another stream was changed: %s", got.Data)
	}
	s := es.Fold(Evolve, Initial(), []Event{registered}).Public()
	if s.PasswordHash != "$argon2id$v=19$m=19456,t=2,p=1$(hidden)" || s.Name != "ana" {
		t.Errorf("Public() = %+v", s)
	}
}

func TestDecider(t *testing.T) {
	d := Decider()
	if d.StreamType != "user" || d.StateSchema != 1 || d.Initial == nil || d.Decide == nil || d.Evolve == nil || d.Events == nil {
		t.Fatalf("Decider() = %+v", d)
	}
}
