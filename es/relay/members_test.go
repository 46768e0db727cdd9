package relay_test

import (
	"reflect"
	"strconv"
	"testing"
	"time"

	"github.com/foldboard/foldboard/es/relay"
	"github.com/foldboard/foldboard/internal/redistest"
)

func ids(ms []relay.Member) []string {
	var out []string
	for _, m := range ms {
		out = append(out, m.ID)
	}
	return out
}

func members(t *testing.T, r *relay.Relay) []relay.Member {
	t.Helper()
	ms, err := r.Members(t.Context())
	if err != nil {
		t.Fatalf("Members: %v", err)
	}
	return ms
}

func TestMembersAreListedAsAnnounced(t *testing.T) {
	url, prefix := redistest.URL(t), redistest.Prefix(t)
	a := open(t, url, relay.Options{Prefix: prefix})
	b := open(t, url, relay.Options{Prefix: prefix})
	projector := relay.Member{
		ID: "i-b", Role: relay.RoleProjector, Position: `{"shards":{"s-1":"000123"}}`,
		Appended: base.Add(time.Second), Applied: base, Clients: 12, Seen: base.Add(2 * time.Second),
	}
	follower := relay.Member{ID: "i-a", Role: relay.RoleFollower, Position: "", Clients: 3}
	if err := b.Announce(t.Context(), projector); err != nil {
		t.Fatal(err)
	}
	before := time.Now()
	if err := a.Announce(t.Context(), follower); err != nil {
		t.Fatal(err)
	}
	got := members(t, a)
	if len(got) != 2 {
		t.Fatalf("Members = %v, want i-a and i-b", ids(got))
	}
	if got[1] != projector {
		t.Errorf("Members[1] = %+v, want %+v", got[1], projector)
	}
	if got[0].ID != "i-a" || got[0].Role != relay.RoleFollower || got[0].Clients != 3 || got[0].Seen.Before(before.Add(-time.Second)) {
		t.Errorf("Members[0] = %+v; want i-a, a follower with 3 clients, seen now (Seen set by Announce)", got[0])
	}
	if hw := relay.HighWater(got); !hw.Equal(projector.Appended) {
		t.Errorf("HighWater = %v, want the newest appended, %v", hw, projector.Appended)
	}

	// Announcing again replaces what was said.
	projector.Role, projector.Clients = relay.RoleFollower, 0
	if err := b.Announce(t.Context(), projector); err != nil {
		t.Fatal(err)
	}
	if got := members(t, a); len(got) != 2 || !reflect.DeepEqual(got[1], projector) {
		t.Errorf("after a second announcement Members = %+v, want i-b as a follower with no clients", got)
	}
}

func TestAMemberThatStopsAnnouncingDropsOut(t *testing.T) {
	url, prefix := redistest.URL(t), redistest.Prefix(t)
	r := open(t, url, relay.Options{Prefix: prefix, MemberTTL: 400 * time.Millisecond})
	announce := func(id string) {
		t.Helper()
		if err := r.Announce(t.Context(), relay.Member{ID: id, Role: relay.RoleFollower}); err != nil {
			t.Fatal(err)
		}
	}
	announce("stays")
	announce("stops")
	if got := ids(members(t, r)); !reflect.DeepEqual(got, []string{"stays", "stops"}) {
		t.Fatalf("Members = %v, want both", got)
	}
	for range 6 {
		time.Sleep(150 * time.Millisecond)
		announce("stays")
	}
	if got := ids(members(t, r)); !reflect.DeepEqual(got, []string{"stays"}) {
		t.Fatalf("Members 900 ms after the last announcement of one (TTL 400 ms) = %v, want only the other", got)
	}
}

func TestMembersAreBounded(t *testing.T) {
	url, prefix := redistest.URL(t), redistest.Prefix(t)
	const most = 3
	r := open(t, url, relay.Options{Prefix: prefix, MaxMembers: most})
	for i := range 10 {
		m := relay.Member{ID: "m" + strconv.Itoa(i), Role: relay.RoleFollower, Seen: base.Add(time.Duration(i) * time.Second)}
		if err := r.Announce(t.Context(), m); err != nil {
			t.Fatal(err)
		}
	}
	if got := ids(members(t, r)); !reflect.DeepEqual(got, []string{"m7", "m8", "m9"}) {
		t.Errorf("Members = %v, want the %d seen last", got, most)
	}
	if n := rawClient(t, url).ZCard(t.Context(), "{"+prefix+"relay}:members").Val(); n > 2*most {
		t.Errorf("the members' set holds %d ids, want at most %d", n, 2*most)
	}
}

func TestAnnounceRefusesABadID(t *testing.T) {
	r := open(t, redistest.URL(t), relay.Options{})
	for _, id := range []string{"", "with space", string(make([]byte, 200))} {
		if err := r.Announce(t.Context(), relay.Member{ID: id}); err == nil {
			t.Errorf("Announce(%q) succeeded", id)
		}
	}
}

// Behind is the high-water mark less the newest event applied, or less
// when the read models were loaded before any event was applied; never
// below zero.
func TestMemberBehindTheHighWaterMark(t *testing.T) {
	t0 := time.Date(2026, 12, 3, 12, 0, 0, 0, time.UTC)
	members := []relay.Member{
		{ID: "a", Appended: t0.Add(9 * time.Second), Applied: t0.Add(4 * time.Second)},
		{ID: "b", Loaded: t0.Add(2 * time.Second)},
		{ID: "c", Applied: t0.Add(7 * time.Second), Loaded: t0.Add(8 * time.Second)},
		{ID: "d"},
		{ID: "e", Applied: t0.Add(11 * time.Second)},
	}
	hw := relay.HighWater(members)
	if !hw.Equal(t0.Add(11 * time.Second)) {
		t.Fatalf("high water %v", hw)
	}
	for i, want := range []time.Duration{7 * time.Second, 9 * time.Second, 4 * time.Second, 0, 0} {
		if got := members[i].Behind(hw); got != want {
			t.Errorf("%s behind %v, want %v", members[i].ID, got, want)
		}
	}
	if got := members[0].Behind(time.Time{}); got != 0 {
		t.Errorf("behind no high water: %v", got)
	}
}
