package web_test

import (
	"context"
	"encoding/json"
	"html"
	"strings"
	"testing"
	"time"

	"github.com/foldboard/foldboard/es"
	"github.com/foldboard/foldboard/internal/apptest"
)

// appendRaw appends one event to a stream directly in the store, past the
// deciders, as a buggy writer or an older or newer program might.
func appendRaw(t *testing.T, store es.Store, ref es.StreamRef, typ, data string) {
	t.Helper()
	ctx := context.Background()
	head, err := store.Head(ctx, ref)
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now().UTC()
	v := head.Version + 1
	_, err = store.Append(ctx, es.AppendRequest{
		Stream: ref, Expected: head.Version,
		Events: []es.Envelope{{
			ID: es.NewULID(now), Stream: ref, Version: v, Type: typ, SchemaVersion: 1, Time: now,
			Actor: "intruder", CorrelationID: "poison", CausationID: "poison", Data: json.RawMessage(data),
		}},
		State: es.StateRecord{Version: v, Schema: head.Schema, Data: head.Data},
	})
	if err != nil {
		t.Fatalf("appending %s to %s: %v", typ, ref, err)
	}
}

// TestAPoisonEventParksItsStreamAndTheDashboardShowsIt appends, past the
// deciders, an event of a type no program knows to one match and an event
// whose payload its read model cannot read to another. Each stream is parked
// at that version: its read model stays where it was even when more events
// follow, the dashboard shows the stream with the error, the other streams go
// on, and a restart keeps it all so.
func TestAPoisonEventParksItsStreamAndTheDashboardShowsIt(t *testing.T) {
	for _, store := range apptest.Stores {
		t.Run(store, func(t *testing.T) {
			app := apptest.Start(t, apptest.Options{Store: store})
			c := newClient(t, app)
			for _, id := range []string{"p-1", "p-2", "ok-1"} {
				startMatch(t, c, id)
			}
			p1, p2, ok1 := es.StreamRef{Type: "match", ID: "p-1"}, es.StreamRef{Type: "match", ID: "p-2"}, es.StreamRef{Type: "match", ID: "ok-1"}
			appendRaw(t, app.Store, p1, "BogusHappened", `{}`)
			appendRaw(t, app.Store, p2, "InningsCompleted", `{"innings":"one","runs":1,"wickets":1}`)
			// Commands go on: the deciders work on the stored state.
			wantStatus(t, c.postJSON("/matches/p-1/innings", `{"innings":1,"runs":321,"wickets":3}`), 200, "")
			wantStatus(t, c.postJSON("/matches/ok-1/innings", `{"innings":1,"runs":123,"wickets":4}`), 200, "")

			check := func(t *testing.T, app *apptest.App) {
				t.Helper()
				p := app.Server.Projector()
				ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
				defer cancel()
				for ref, v := range map[es.StreamRef]int64{p1: 3, p2: 2, ok1: 2} {
					if !p.WaitFor(ctx, ref, v) {
						t.Fatalf("the projector neither applied nor parked %s up to %d", ref, v)
					}
				}
				for ref, want := range map[es.StreamRef]string{
					p1: `match/p-1 v2 (BogusHappened): es: unknown event type "BogusHappened"`,
					p2: `match/p-2 v2 (InningsCompleted): es: decoding InningsCompleted`,
				} {
					info, _, _ := p.Catalogue().Stream(t.Context(), ref)
					if info.Version != 1 || info.ParkedVersion != 2 || !strings.Contains(info.Parked, want) {
						t.Errorf("%s: version %d, parked at %d with %q; want still at 1, parked at 2 with %q", ref, info.Version, info.ParkedVersion, info.Parked, want)
					}
					page := html.UnescapeString(newClient(t, app).get("/").body)
					if !strings.Contains(page, "Parked: "+want) {
						t.Errorf("the dashboard does not show %s parked with its error %q", ref, want)
					}
				}
				if info, _, _ := p.Catalogue().Stream(t.Context(), ok1); info.Version != 2 || info.Parked != "" {
					t.Errorf("%s: version %d, parked %q; the other streams must go on", ok1, info.Version, info.Parked)
				}
				// Nothing of p-1 after its poison reached its read model.
				if page := newClient(t, app).get("/matches/p-1").body; strings.Contains(page, ">321<") {
					t.Errorf("the innings after the poison event reached match p-1's read model")
				}
				if n := p.Catalogue().Stats().Events; n != 4 {
					t.Errorf("the read models applied %d events, want 4 (3 starts and ok-1's innings)", n)
				}
			}
			check(t, app)
			app.Stop()
			check(t, apptest.Start(t, app.Options))
		})
	}
}
