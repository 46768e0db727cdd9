package web_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"path/filepath"
	"testing"
	"time"

	"github.com/foldboard/foldboard/es"
	"github.com/foldboard/foldboard/es/sqlite"
	"github.com/foldboard/foldboard/internal/apptest"
)

// BenchmarkDashboard renders the dashboard (the page; the live fragment is
// most of it) over a log of 20,000 events in 2,000 streams, as the hub does
// at most every 250 ms while events come.
func BenchmarkDashboard(b *testing.B) {
	db := filepath.Join(b.TempDir(), "foldboard.db")
	fill(b, db, 2000, 10)
	app := apptest.Start(b, apptest.Options{DB: db})
	ctx := context.Background()
	deadline := time.Now().Add(time.Minute)
	for {
		lag, err := app.Server.Projector().Lag(ctx, time.Now())
		if err == nil && lag.Events == 0 && app.Server.Projector().Status().Applied == 20000 {
			break
		}
		if time.Now().After(deadline) {
			b.Fatalf("the projector did not catch up: %+v %v", lag, err)
		}
		time.Sleep(10 * time.Millisecond)
	}
	client := &http.Client{}
	b.ResetTimer()
	for b.Loop() {
		res, err := client.Get(app.URL + "/")
		if err != nil || res.StatusCode != http.StatusOK {
			b.Fatalf("GET /: %v", err)
		}
		res.Body.Close()
	}
}

// fill appends events straight to a SQLite file: streams × perStream events,
// one append per stream.
func fill(b *testing.B, db string, streams, perStream int) {
	b.Helper()
	ctx := context.Background()
	s, err := sqlite.Open(ctx, db)
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	now := time.Now()
	for i := range streams {
		ref := es.StreamRef{Type: "match", ID: fmt.Sprintf("m-%d", i)}
		req := es.AppendRequest{Stream: ref, State: es.StateRecord{Version: int64(perStream), Schema: 1, Data: json.RawMessage(`{}`)}}
		for v := 1; v <= perStream; v++ {
			data := `{"innings":1,"runs":10,"wickets":1}`
			typ := "InningsCompleted"
			if v == 1 {
				typ, data = "MatchStarted", `{"venue":"Lord's","homeTeam":"A","awayTeam":"B"}`
			}
			req.Events = append(req.Events, es.Envelope{
				ID: es.NewULID(now), Stream: ref, Version: int64(v), Type: typ, SchemaVersion: 1,
				Time: now, Actor: "bench", Data: json.RawMessage(data),
			})
		}
		if _, err := s.Append(ctx, req); err != nil {
			b.Fatal(err)
		}
	}
}
