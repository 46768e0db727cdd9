package estest

import (
	"encoding/json"
	"fmt"
	"reflect"
	"slices"
	"testing"
	"time"

	"github.com/foldboard/foldboard/es"
)

// newEvents makes n envelopes for stream, numbered after+1 … after+n, with
// every field set.
func newEvents(stream es.StreamRef, after int64, n int, commandID string) []es.Envelope {
	now := time.Now().UTC()
	out := make([]es.Envelope, n)
	for i := range out {
		v := after + int64(i) + 1
		out[i] = es.Envelope{
			ID:            es.NewULID(now),
			Stream:        stream,
			Version:       v,
			Type:          "Ticked",
			SchemaVersion: 1,
			Time:          now,
			Actor:         "tester",
			CorrelationID: "corr-" + stream.ID,
			CausationID:   fmt.Sprintf("cause-%d", v),
			CommandID:     commandID,
			Data:          json.RawMessage(fmt.Sprintf(`{"stream":%q,"version":%d}`, stream, v)),
		}
	}
	return out
}

// request is an append of n new events to stream at expected, with the state
// record a decider would have written.
func request(stream es.StreamRef, expected int64, n int, commandID string) es.AppendRequest {
	last := expected + int64(n)
	return es.AppendRequest{
		Stream:    stream,
		Expected:  expected,
		Events:    newEvents(stream, expected, n, commandID),
		State:     es.StateRecord{Version: last, Schema: 1, Data: stateData(stream, last)},
		CommandID: commandID,
	}
}

func stateData(stream es.StreamRef, version int64) json.RawMessage {
	return json.RawMessage(fmt.Sprintf(`{"stream":%q,"count":%d}`, stream, version))
}

// appendCopy appends a deep copy of req, so that a store that changes its
// request cannot change what the test expects too.
func appendCopy(t *testing.T, h Harness, req es.AppendRequest) (es.AppendResult, error) {
	c := req
	c.Events = make([]es.Envelope, len(req.Events))
	for i, e := range req.Events {
		e.Data = slices.Clone(e.Data)
		c.Events[i] = e
	}
	c.State.Data = slices.Clone(req.State.Data)
	if req.Snapshot != nil {
		s := *req.Snapshot
		s.Data = slices.Clone(s.Data)
		c.Snapshot = &s
	}
	return h.Store.Append(ctx(t), c)
}

// mustAppend appends req and fails the test on an error.
func mustAppend(t *testing.T, h Harness, req es.AppendRequest) es.AppendResult {
	t.Helper()
	res, err := appendCopy(t, h, req)
	if err != nil {
		t.Fatalf("append to %s at %d: %v", req.Stream, req.Expected, err)
	}
	if h.Wake != nil {
		h.Wake(res)
	}
	return res
}

// mustRead reads a stream and fails the test on an error.
func mustRead(t *testing.T, h Harness, stream es.StreamRef, opts es.ReadOptions) []es.Envelope {
	t.Helper()
	envs, err := h.Store.ReadStream(ctx(t), stream, opts)
	if err != nil {
		t.Fatalf("read %s %+v: %v", stream, opts, err)
	}
	return envs
}

func versions(envs []es.Envelope) []int64 {
	vs := make([]int64, len(envs))
	for i, e := range envs {
		vs[i] = e.Version
	}
	return vs
}

// span is from, from±1, … to.
func span(from, to int64) []int64 {
	var vs []int64
	if from <= to {
		for v := from; v <= to; v++ {
			vs = append(vs, v)
		}
		return vs
	}
	for v := from; v >= to; v-- {
		vs = append(vs, v)
	}
	return vs
}

// sameEnvelope reports every field in which got differs from want. Time must
// agree to the millisecond; Data is compared as JSON; Position only when want
// has one (a store's position comes from the store).
func sameEnvelope(t *testing.T, what string, got, want es.Envelope) {
	t.Helper()
	var diffs []string
	check := func(field string, g, w any) {
		if !reflect.DeepEqual(g, w) {
			diffs = append(diffs, fmt.Sprintf("%s = %v, want %v", field, g, w))
		}
	}
	check("ID", got.ID, want.ID)
	check("Stream", got.Stream, want.Stream)
	check("Version", got.Version, want.Version)
	check("Type", got.Type, want.Type)
	check("SchemaVersion", got.SchemaVersion, want.SchemaVersion)
	if d := got.Time.Sub(want.Time).Abs(); d >= time.Millisecond {
		diffs = append(diffs, fmt.Sprintf("Time = %v, want %v (off by %v)", got.Time, want.Time, d))
	}
	check("Actor", got.Actor, want.Actor)
	check("CorrelationID", got.CorrelationID, want.CorrelationID)
	check("CausationID", got.CausationID, want.CausationID)
	check("CommandID", got.CommandID, want.CommandID)
	if !jsonEqual(got.Data, want.Data) {
		diffs = append(diffs, fmt.Sprintf("Data = %s, want %s", got.Data, want.Data))
	}
	if want.Position != "" {
		check("Position", got.Position, want.Position)
	}
	for _, d := range diffs {
		t.Errorf("%s: %s", what, d)
	}
}

// sameEnvelopes compares two runs of envelopes one by one.
func sameEnvelopes(t *testing.T, what string, got, want []es.Envelope) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("%s: %d events (versions %v), want %d (versions %v)", what, len(got), versions(got), len(want), versions(want))
	}
	for i := range got {
		sameEnvelope(t, fmt.Sprintf("%s[%d]", what, i), got[i], want[i])
	}
}

// sameState compares state records, their data as JSON.
func sameState(t *testing.T, what string, got, want es.StateRecord) {
	t.Helper()
	if got.Version != want.Version || got.Schema != want.Schema || !jsonEqual(got.Data, want.Data) {
		t.Errorf("%s = {%d %d %s}, want {%d %d %s}", what, got.Version, got.Schema, got.Data, want.Version, want.Schema, want.Data)
	}
}

// jsonEqual compares two JSON documents by value, so that a store may keep
// them in another key order or spacing.
func jsonEqual(a, b []byte) bool {
	if len(a) == 0 || len(b) == 0 {
		return len(a) == len(b)
	}
	var x, y any
	if json.Unmarshal(a, &x) != nil || json.Unmarshal(b, &y) != nil {
		return false
	}
	return reflect.DeepEqual(x, y)
}

// checkStreamOrder fails when some stream's events, in the order given, are not
// consecutive versions; with fromStart, each stream must begin at version 1.
func checkStreamOrder(t *testing.T, what string, envs []es.Envelope, fromStart bool) {
	t.Helper()
	last := map[es.StreamRef]int64{}
	for _, e := range envs {
		prev, seen := last[e.Stream]
		switch {
		case !seen && fromStart && e.Version != 1:
			t.Errorf("%s: %s starts at version %d, want 1", what, e.Stream, e.Version)
		case seen && e.Version != prev+1:
			t.Errorf("%s: %s version %d follows %d", what, e.Stream, e.Version, prev)
		}
		last[e.Stream] = e.Version
	}
}

// checkEachOnce fails unless got holds every event of want exactly once and
// nothing else, each with its fields intact.
func checkEachOnce(t *testing.T, what string, got, want []es.Envelope) {
	t.Helper()
	wanted := map[string]es.Envelope{}
	for _, e := range want {
		wanted[e.ID] = e
	}
	seen := map[string]bool{}
	for _, e := range got {
		w, ok := wanted[e.ID]
		switch {
		case !ok:
			t.Errorf("%s: unexpected event %s (%s v%d)", what, e.ID, e.Stream, e.Version)
		case seen[e.ID]:
			t.Errorf("%s: event %s (%s v%d) delivered twice", what, e.ID, e.Stream, e.Version)
		default:
			sameEnvelope(t, what+" "+e.ID, e, w)
		}
		seen[e.ID] = true
	}
	for _, e := range want {
		if !seen[e.ID] {
			t.Errorf("%s: event %s (%s v%d) missing", what, e.ID, e.Stream, e.Version)
		}
	}
}
