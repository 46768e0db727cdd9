package crashtest

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	neturl "net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/foldboard/foldboard/es"
	"github.com/foldboard/foldboard/handlers"
	"github.com/foldboard/foldboard/internal/apptest"
	"github.com/foldboard/foldboard/internal/testsupport"
	"github.com/foldboard/foldboard/projections"
	"github.com/foldboard/foldboard/reactions"
)

// streamsOf lists the streams the outcomes' commands name.
func streamsOf(outs []outcome) []string {
	seen := map[string]bool{}
	var out []string
	for _, o := range outs {
		if !seen[o.cmd.stream] {
			seen[o.cmd.stream] = true
			out = append(out, o.cmd.stream)
		}
	}
	slices.Sort(out)
	return out
}

// withReports adds to streams the report of every match among them (the
// match-report reaction's post): its events are in the log too, and its
// commands must be appended once like any other.
func withReports(streams []string) []string {
	out := slices.Clone(streams)
	for _, s := range streams {
		if typ, id := splitStream(s); typ == "match" {
			out = append(out, reactions.ReportStream(id).String())
		}
	}
	slices.Sort(out)
	return out
}

// verifier is the admin the checks read as: carts and drafts are private to
// their owners, and the checks must see every stream.
const verifier = "verifier"

// getJSON GETs a path and decodes its JSON answer.
func getJSON(t testing.TB, url string, v any) {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Accept", "application/json")
	req.Header.Set("X-Actor", verifier)
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	if res.StatusCode != http.StatusOK {
		t.Fatalf("GET %s: %d %s", url, res.StatusCode, b)
	}
	if err := json.Unmarshal(b, v); err != nil {
		t.Fatalf("GET %s: %v in %q", url, err, b)
	}
}

// readLogs reads each stream through GET /streams/{type}/{id}/events and
// checks that its versions run 1, 2, 3 … to its version with no gap and no
// duplicate, each event once.
func readLogs(t *testing.T, base string, streams []string) map[string][]es.Envelope {
	t.Helper()
	logs := map[string][]es.Envelope{}
	for _, s := range streams {
		var ans struct {
			Events  []es.Envelope `json:"events"`
			Version int64         `json:"version"`
		}
		getJSON(t, base+"/streams/"+s+"/events?limit=10000", &ans)
		if int64(len(ans.Events)) != ans.Version {
			t.Errorf("%s: %d events, but the stream is at version %d", s, len(ans.Events), ans.Version)
		}
		ids := map[string]bool{}
		for i, e := range ans.Events {
			if e.Version != int64(i)+1 {
				t.Fatalf("%s: event %d has version %d: a gap or a duplicate", s, i+1, e.Version)
			}
			if ids[e.ID] {
				t.Fatalf("%s: event %s appears twice", s, e.ID)
			}
			ids[e.ID] = true
		}
		logs[s] = ans.Events
	}
	return logs
}

// checkOutcomes checks every outcome against the logs: each acknowledged
// command's events are in its stream at the versions its answer gave; a
// command id is appended at most once (one run of versions); a command every
// send of which was refused appended nothing. It returns the number of
// acknowledged commands and of those lost.
func checkOutcomes(t *testing.T, logs map[string][]es.Envelope, outs []outcome) (acked, lost int) {
	t.Helper()
	stored := map[string][]int64{} // stream + " " + command id → versions
	for s, envs := range logs {
		for _, e := range envs {
			if e.CommandID != "" {
				k := s + " " + e.CommandID
				stored[k] = append(stored[k], e.Version)
			}
		}
	}
	var outside []string
	again := map[string]bool{} // sent again out of the window: one command per run of versions
	for k, vs := range stored {
		stream, _, _ := strings.Cut(k, " ")
		for i := 1; i < len(vs); i++ {
			if vs[i] == vs[i-1]+1 {
				continue
			}
			// The id was sent again after its first append: a repeat
			// within the window (es.RecentCommands ids kept in the head)
			// must have answered the first result. Beyond it, the id is
			// new again, as the README states.
			if n := commandsBetween(logs[stream], vs[i-1], vs[i]); n < es.RecentCommands {
				t.Errorf("command %s was appended more than once, within its window (%d other commands between): versions %v", k, n, vs)
			} else {
				outside = append(outside, fmt.Sprintf("%s %v", k, vs))
				again[k] = true
			}
			break
		}
	}
	if len(outside) > 0 {
		t.Logf("sent again after %d other commands on their stream (out of the window, new again): %v", es.RecentCommands, outside)
	}
	onlyRefused := map[string]bool{}
	for _, o := range outs {
		k := o.cmd.stream + " " + o.cmd.id
		refused := o.status >= 400 && o.status < 500
		if prev, ok := onlyRefused[k]; ok {
			onlyRefused[k] = prev && refused
		} else {
			onlyRefused[k] = refused
		}
		if o.status >= 500 {
			t.Errorf("%s %s: status %d (%s)", o.cmd.path, o.cmd.id, o.status, o.code)
		}
		if !o.acked() {
			continue
		}
		acked++
		if len(o.versions) == 0 {
			continue // nothing to append (not made by these commands)
		}
		if got := stored[k]; again[k] && !hasRun(got, o.versions) || !again[k] && !slices.Equal(got, o.versions) {
			lost++
			t.Errorf("acknowledged command %s on %s (versions %v) is in the store at versions %v", o.cmd.id, o.cmd.stream, o.versions, got)
		}
	}
	for k, refused := range onlyRefused {
		if refused && len(stored[k]) > 0 {
			t.Errorf("command %s was refused, yet it appended versions %v", k, stored[k])
		}
	}
	return acked, lost
}

// hasRun says versions appears in stored as a whole run of consecutive
// versions: one of the appends of a command id sent again out of its window.
func hasRun(stored, versions []int64) bool {
	for i := range stored {
		if slices.Equal(stored[i:min(i+len(versions), len(stored))], versions) &&
			(i == 0 || stored[i-1] != versions[0]-1) &&
			(i+len(versions) == len(stored) || stored[i+len(versions)] != versions[len(versions)-1]+1) {
			return true
		}
	}
	return false
}

// commandsBetween counts the commands with ids that appended a stream's
// versions after from and before to: the ids that pushed from's out of the
// stream's head when there are es.RecentCommands of them.
func commandsBetween(envs []es.Envelope, from, to int64) int {
	ids := map[string]bool{}
	for _, e := range envs {
		if e.Version > from && e.Version < to && e.CommandID != "" {
			ids[e.CommandID] = true
		}
	}
	return len(ids)
}

// fold folds a stream's events with its module's evolve, from scratch.
func fold(t *testing.T, stream string, envs []es.Envelope) any {
	t.Helper()
	typ, _ := splitStream(stream)
	for _, m := range handlers.Modules() {
		if m.StreamType() == typ {
			s, err := m.Kind.Fold(envs)
			if err != nil {
				t.Fatalf("%s: %v", stream, err)
			}
			return s
		}
	}
	t.Fatalf("no module has %s", stream)
	return nil
}

// sameJSON compares two values as JSON documents.
func sameJSON(t *testing.T, a, b any) bool { return testsupport.SameJSON(t, a, b) }

// checkStates compares each stream's state as GET /streams/…/state serves it
// (its state item, or a fold from a snapshot) with a fold from scratch.
func checkStates(t *testing.T, base string, logs map[string][]es.Envelope) {
	t.Helper()
	for s, envs := range logs {
		if len(envs) == 0 {
			continue
		}
		var ans struct {
			Version int64           `json:"version"`
			State   json.RawMessage `json:"state"`
		}
		getJSON(t, base+"/streams/"+s+"/state", &ans)
		if want := fold(t, s, envs); ans.Version != int64(len(envs)) || !sameJSON(t, ans.State, want) {
			t.Errorf("%s: the served state (version %d) is\n%s\nthe fold of its %d events\n%s", s, ans.Version, ans.State, len(envs), js(want))
		}
	}
}

func js(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}

// readModels returns the documents the server saved.
func readModels(t *testing.T, o opened) map[string]json.RawMessage {
	t.Helper()
	name, err := projections.CurrentName(context.Background(), o.settings)
	if err != nil {
		t.Fatalf("the read models' name: %v", err)
	}
	_, docs, err := o.rm.LoadReadModels(context.Background(), name)
	if err != nil {
		t.Fatalf("loading the read models: %v", err)
	}
	return docs
}

// appliedEvents is the number of events the saved read models have applied.
func appliedEvents(t *testing.T, o opened) int64 {
	t.Helper()
	var stats struct {
		Events int64 `json:"events"`
	}
	if doc, ok := readModels(t, o)["stats"]; ok {
		if err := json.Unmarshal(doc, &stats); err != nil {
			t.Fatalf("stats document: %v", err)
		}
	}
	return stats.Events
}

// checkReadModels compares the read models the server saved with the logs:
// each stream's view holds its fold at its version, the catalogue knows its
// version and did not park it; and every saved document equals the one a
// fresh projector makes by replaying the whole log (sameAsFold). It returns
// that fresh fold, to compare what else was made of the log with.
func checkReadModels(t *testing.T, o opened, logs map[string][]es.Envelope, ordered bool) func(key string) (json.RawMessage, error) {
	t.Helper()
	live := readModels(t, o)
	var total int64
	heads := map[es.StreamRef]int64{}
	for s, envs := range logs {
		total += int64(len(envs))
		if len(envs) == 0 {
			continue
		}
		heads[envs[0].Stream] = int64(len(envs))
		var view struct {
			Version int64           `json:"version"`
			State   json.RawMessage `json:"state"`
		}
		if err := json.Unmarshal(live[s], &view); err != nil {
			t.Errorf("%s: read model %q: %v", s, live[s], err)
			continue
		}
		if want := fold(t, s, envs); view.Version != int64(len(envs)) || !sameJSON(t, view.State, want) {
			t.Errorf("%s: the read model (version %d) is\n%s\nthe fold of its %d events\n%s", s, view.Version, view.State, len(envs), js(want))
		}
		var info projections.StreamInfo
		if err := json.Unmarshal(live["stream/"+s], &info); err != nil || info.Version != int64(len(envs)) || info.Parked != "" {
			t.Errorf("%s: catalogue entry %s (%v), want version %d, not parked", s, live["stream/"+s], err, len(envs))
		}
	}
	if got := appliedEvents(t, o); got != total {
		t.Errorf("the read models applied %d events; the log holds %d", got, total)
	}
	fresh := replay(t, o, heads)
	sameAsFold(t, "saved read model", live, fresh, ordered)
	return fresh
}

// sameAsFold compares each of docs (what as, in the messages) with the
// fresh fold's. Unless the store's feed is ordered, the documents that
// follow the order across streams are compared as sets (the event index)
// or not at all (the recent rate).
func sameAsFold(t *testing.T, what string, docs map[string]json.RawMessage, fresh func(key string) (json.RawMessage, error), ordered bool) {
	t.Helper()
	var liveIndex, freshIndex []string
	for key, doc := range docs {
		want, err := fresh(key)
		if err != nil {
			t.Errorf("replayed document %s: %v", key, err)
			continue
		}
		if !ordered && strings.HasPrefix(key, "events/") {
			liveIndex, freshIndex = appendEntries(t, liveIndex, doc), appendEntries(t, freshIndex, want)
			continue
		}
		if !ordered && key == "rate" {
			continue
		}
		if !sameJSON(t, doc, want) {
			t.Errorf("%s %s differs from a full replay:\n%s %s\nreplay %s", what, key, what, clip(doc), clip(want))
		}
	}
	slices.Sort(liveIndex)
	slices.Sort(freshIndex)
	if !slices.Equal(liveIndex, freshIndex) {
		t.Errorf("the %s's event index holds %d entries, a full replay %d, or others", what, len(liveIndex), len(freshIndex))
	}
}

// servedDocs is every read-model document the instance at url serves,
// through GET /projections/docs page after page (held in memory, else read
// back as its model does: a follower's are its own fold of the relay), and
// the position they stand at, which every page must share.
func servedDocs(t *testing.T, url string) (string, map[string]json.RawMessage) {
	t.Helper()
	docs := map[string]json.RawMessage{}
	position := ""
	for q := (neturl.Values{"limit": {"100"}}); ; {
		var page struct {
			Position string `json:"position"`
			Docs     []struct {
				Key string          `json:"key"`
				Doc json.RawMessage `json:"doc"`
			} `json:"docs"`
			Next string `json:"next"`
		}
		getJSON(t, url+"/projections/docs?"+q.Encode(), &page)
		if position != "" && page.Position != position {
			t.Fatalf("%s's read models moved from %q to %q while they were read", url, position, page.Position)
		}
		position = page.Position
		for _, d := range page.Docs {
			docs[d.Key] = d.Doc
		}
		if page.Next == "" {
			return position, docs
		}
		q.Set("before", page.Next)
	}
}

// servedAsFold wants every instance to serve, at the saved checkpoint, the
// saved documents' keys, each as the fresh fold made it: what a follower
// holds in memory, not only what the holder saved.
func (c *cluster) servedAsFold(t *testing.T, fresh func(key string) (json.RawMessage, error)) {
	t.Helper()
	// A follower whose every load attempt a save overlapped serves what it
	// loaded, says so in /healthz, and loads again within seconds (clean,
	// now that the commands have stopped): what it serves then is checked.
	for id, p := range c.procs {
		until(t, 90*time.Second, id+" serves read models loaded between saves", func() (bool, string) {
			req, _ := http.NewRequest(http.MethodGet, p.url+"/healthz", nil)
			req.Header.Set("Accept", "application/json")
			res, err := http.DefaultClient.Do(req)
			if err != nil {
				return false, err.Error()
			}
			defer res.Body.Close()
			var h struct {
				Status           string
				LoadedWhileSaved bool
			}
			if err := json.NewDecoder(res.Body).Decode(&h); err != nil {
				return false, err.Error()
			}
			return h.Status == "ok" && !h.LoadedWhileSaved, fmt.Sprintf("%+v", h)
		})
	}
	c.sameEverywhere()
	saved := readModels(t, c.o)
	checkpoint, _, err := c.o.rm.LoadReadModels(context.Background(), readModelsName(t, c.o))
	if err != nil {
		t.Fatal(err)
	}
	for id, p := range c.procs {
		position, docs := servedDocs(t, p.url)
		if position != checkpoint {
			t.Errorf("%s serves read models at %q, the saved ones stand at %q", id, position, checkpoint)
		}
		if len(docs) != len(saved) {
			t.Errorf("%s serves %d documents, %d are saved", id, len(docs), len(saved))
		}
		sameAsFold(t, id+" serves", docs, fresh, c.b.ordered)
	}
}

// appendEntries adds an event index chunk's entries, as JSON texts.
func appendEntries(t *testing.T, to []string, chunk json.RawMessage) []string {
	t.Helper()
	if chunk == nil {
		return to
	}
	var entries []json.RawMessage
	if err := json.Unmarshal(chunk, &entries); err != nil {
		t.Fatalf("event index chunk: %v", err)
	}
	for _, e := range entries {
		to = append(to, string(e))
	}
	return to
}

func clip(b []byte) string {
	if len(b) > 600 {
		return string(b[:600]) + "…"
	}
	return string(b)
}

// replay runs a fresh projector, under a name of its own, over the whole log
// until it has applied every stream up to heads, and returns its documents.
func replay(t *testing.T, o opened, heads map[es.StreamRef]int64) func(key string) (json.RawMessage, error) {
	t.Helper()
	p := apptest.StartProjector(t, fmt.Sprintf("crashtest-replay-%d", time.Now().UnixNano()), o.feed, o.rm)
	p.WaitCaughtUp(t, heads, 60*time.Second, "a fresh projector")
	p.Stop()
	return p.Doc
}

// waitApplied waits until the saved read models have applied total events,
// and says when (since the process began) that was.
func waitApplied(t *testing.T, o opened, p *proc, total int64) time.Duration {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for {
		got := appliedEvents(t, o)
		if got == total {
			return time.Since(p.begin)
		}
		if got > total {
			t.Fatalf("the read models applied %d events; the log holds %d", got, total)
		}
		if time.Now().After(deadline) {
			t.Fatalf("the read models applied %d events of %d within 60 s", got, total)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func totalEvents(logs map[string][]es.Envelope) int64 {
	var n int64
	for _, envs := range logs {
		n += int64(len(envs))
	}
	return n
}

// describe sums up outcomes for the log.
func describe(outs []outcome) string {
	var acked, refused, failed, lostAnswer int
	codes := map[string]int{}
	for _, o := range outs {
		switch {
		case o.acked():
			acked++
		case o.status >= 400:
			refused++
			codes[o.code]++
		case o.status > 0:
			failed++
		default:
			lostAnswer++
		}
	}
	return fmt.Sprintf("%d acknowledged, %d refused %v, %d other, %d without an answer", acked, refused, codes, failed, lostAnswer)
}
