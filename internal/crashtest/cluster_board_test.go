package crashtest

import (
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/foldboard/foldboard/es"
)

// boardStream is the "stream" part of GET /projections.
type boardStream struct {
	Stream *struct {
		ReportedBy string
		Error      string
		Shards     []struct {
			ID, State, Position, Countdown string
			AgeSeconds                     *int64
		}
	}
}

// addToCart adds an item to cart on url, as the verifier.
func addToCart(t *testing.T, url, cart string, qty int) {
	t.Helper()
	body := fmt.Sprintf(`{"sku":"sku-%s","qty":%d,"price":"1.00"}`, cart, qty)
	req, _ := http.NewRequest(http.MethodPost, url+"/carts/"+cart+"/items", strings.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/json")
	req.Header.Set("X-Actor", verifier)
	res, err := http.DefaultClient.Do(req)
	if err != nil || res.StatusCode >= 300 {
		t.Fatalf("adding to %s on %s: %v %v", cart, url, res, err)
	}
	res.Body.Close()
}

// Every instance's projections board shows the Stream's shards: the
// holder lists them for its checkpoint, the followers show that report
// (naming the holder), each with its age, position and countdown (caught
// up, on an idle table); after the holder is killed, the next one reports.
func TestEveryInstancesBoardShowsTheStreamsShardsFromTheHolder(t *testing.T) {
	c := newCluster(t, "s1", "s2", "s3")
	holder, _ := c.holder("")
	addToCart(t, c.procs[holder].url, "board-1", 1)
	shown := func(holder string) func() (bool, string) {
		return func() (bool, string) {
			var last []string
			positions := map[string]string{}
			for _, id := range slices.Sorted(maps.Keys(c.procs)) {
				var b boardStream
				getJSON(t, c.procs[id].url+"/projections", &b)
				s := b.Stream
				switch {
				case s == nil:
					last = append(last, id+": no stream")
				case s.Error != "" || len(s.Shards) != 1:
					last = append(last, fmt.Sprintf("%s: %+v", id, *s))
				case (id == holder) != (s.ReportedBy == ""), id != holder && s.ReportedBy != holder:
					last = append(last, fmt.Sprintf("%s: reported by %q (holder %s)", id, s.ReportedBy, holder))
				default:
					sh := s.Shards[0]
					if !strings.HasPrefix(sh.ID, "shardId-") || sh.State != "open" || sh.Position == "" || sh.AgeSeconds == nil || sh.Countdown != "caughtUp" {
						last = append(last, fmt.Sprintf("%s: shard %+v", id, sh))
					}
					positions[id] = sh.Position
				}
			}
			if len(last) > 0 {
				return false, strings.Join(last, "; ")
			}
			for id, p := range positions {
				if p != positions[holder] {
					return false, fmt.Sprintf("%s shows position %s, the holder %s", id, p, positions[holder])
				}
			}
			return true, ""
		}
	}
	until(t, 30*time.Second, "every board shows the holder's shard", shown(holder))

	c.procs[holder].kill9(t)
	delete(c.procs, holder)
	next, _ := c.holder(holder)
	addToCart(t, c.procs[next].url, "board-2", 2)
	until(t, 30*time.Second, "every board shows the next holder's shard", shown(next))
}

// clusterOp is a cluster operation's record (the "rebuild" or "retry"
// setting) as the test reads it.
type clusterOp struct {
	ID, State, RunBy, RequestedBy, Model, Stream, Code, Error string
	Epoch, Reloads                                            int64
	Result                                                    *struct {
		Applied, Version int64
		Parked           string
	}
}

func opRecord(t *testing.T, c *cluster, setting string) clusterOp {
	t.Helper()
	raw, ok, err := c.o.settings.Setting(context.Background(), setting)
	if err != nil {
		t.Fatalf("the %s setting: %v", setting, err)
	}
	var rec clusterOp
	if ok {
		if err := json.Unmarshal(raw, &rec); err != nil {
			t.Fatalf("the %s setting %s: %v", setting, raw, err)
		}
	}
	return rec
}

// appendPoison appends, past the deciders, an event of a type no program
// knows to ref: the read models park the stream at it.
func appendPoison(t *testing.T, store es.Store, ref es.StreamRef) {
	t.Helper()
	ctx := context.Background()
	head, err := store.Head(ctx, ref)
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now().UTC()
	v := head.Version + 1
	if _, err := store.Append(ctx, es.AppendRequest{
		Stream: ref, Expected: head.Version,
		Events: []es.Envelope{{
			ID: es.NewULID(now), Stream: ref, Version: v, Type: "BogusHappened", SchemaVersion: 1, Time: now,
			Actor: "intruder", CorrelationID: "poison", CausationID: "poison", Data: json.RawMessage(`{}`),
		}},
		State: es.StateRecord{Version: v, Schema: head.Schema, Data: head.Data},
	}); err != nil {
		t.Fatalf("appending a poison event to %s: %v", ref, err)
	}
}

// parkedOn says whether instance url's board lists stream as parked.
func parkedOn(t *testing.T, url, stream string) bool {
	t.Helper()
	var b struct {
		ReadModels []struct {
			Parked []struct{ Stream string }
		}
	}
	getJSON(t, url+"/projections", &b)
	for _, rm := range b.ReadModels {
		for _, p := range rm.Parked {
			if p.Stream == stream {
				return true
			}
		}
	}
	return false
}

// A model rebuild and a retry of a parked stream are the cluster's, asked
// for on any instance: recorded with a conditional write (a model rebuild
// refused while a rebuild waits for its review, a second retry while one
// is under way), carried out by the lease holder, seen on every instance.
// The holder kills itself right after it took each (a crash point), and
// the next holder carries it out; every other instance then loads the
// saved read models again, and the saved ones equal a fresh fold.
func TestAModelRebuildAndARetryAskedAnywhereRunOnTheHolderThroughItsDeath(t *testing.T) {
	// h1 dies at its first operation, f1 and f2 at their second: whichever
	// holds the lease next carries the first out and dies at the second.
	crash := map[string]string{"h1": "1", "f1": "2", "f2": "2"}
	opts := clusterOptions{failover: 2 * time.Second, envOf: func(id string) []string {
		if n := crash[id]; n != "" {
			return []string{"FOLDBOARD_CRASH_AFTER_CLUSTER_CLAIMS=" + n}
		}
		return nil
	}}
	c := newClusterOn(t, dynamoBackend(t), opts, "h1")
	c.holder("")
	c.start("f1")
	c.start("f2")
	for i, cart := range []string{"mr-1", "mr-2", "mr-3"} {
		addToCart(t, c.procs["f1"].url, cart, i+1)
	}
	// A saved document of the carts put wrong behind the instances' backs
	// (its total, at its version): an instance that loads it serves it so,
	// until the model is rebuilt; the checks at the end fail while it stays.
	tamper(t, c, "cart/mr-2", "cart/mr-1", "cart/mr-3")

	// While a rebuild waits for its review, a model rebuild is refused.
	if code, body := post(t, c.procs["f1"].url, "/rebuild", "review=1"); code != http.StatusAccepted {
		t.Fatalf("a rebuild to review: %d %s", code, body)
	}
	until(t, 60*time.Second, "the rebuild under review", func() (bool, string) {
		rec := opRecord(t, c, "rebuild")
		return rec.State == "review", fmt.Sprintf("%+v", rec)
	})
	if code, body := post(t, c.procs["f2"].url, "/projections/rebuild", "model=carts"); code != http.StatusConflict || !strings.Contains(body, "RebuildRunning") {
		t.Fatalf("a model rebuild while a rebuild waits: %d %s", code, body)
	}
	if code, body := post(t, c.procs["f2"].url, "/rebuild/discard", ""); code != http.StatusOK {
		t.Fatalf("discard: %d %s", code, body)
	}
	until(t, 30*time.Second, "the rebuild discarded", func() (bool, string) {
		rec := opRecord(t, c, "rebuild")
		return rec.State == "discarded", fmt.Sprintf("%+v", rec)
	})

	// A model rebuild asked on f2: h1 takes it and dies; the next holder
	// rebuilds the model and every instance loads it.
	if code, body := post(t, c.procs["f2"].url, "/projections/rebuild", "model=carts"); code != http.StatusAccepted || !strings.Contains(body, `"model":"carts"`) {
		t.Fatalf("a model rebuild on f2: %d %s", code, body)
	}
	select {
	case <-c.procs["h1"].exited:
	case <-time.After(60 * time.Second):
		t.Fatal("h1 never took the model rebuild")
	}
	delete(c.procs, "h1")
	next, _ := c.holder("h1")
	var rec clusterOp
	until(t, 60*time.Second, "the next holder rebuilt the model", func() (bool, string) {
		rec = opRecord(t, c, "rebuild")
		return rec.State == "done" && rec.Model == "carts" && rec.RunBy == next && rec.RequestedBy == "f2", fmt.Sprintf("%+v", rec)
	})
	if rec.Reloads < 1 {
		t.Errorf("the model rebuild's record counts no reload: %+v", rec)
	}
	crash["h1"] = "" // back as a follower, no crash point
	c.start("h1")
	rebuilt := "Rebuilt <code>" + readModelsName(t, c.o) + ".carts</code>"
	for id, p := range c.procs {
		until(t, 30*time.Second, id+"'s board says the model was rebuilt", func() (bool, string) {
			pg := page(t, p.url+"/projections")
			i := strings.Index(pg, `aria-label="Rebuild of one read model"`)
			return i >= 0 && strings.Contains(pg[i:], rebuilt), ""
		})
	}
	logs := readLogs(t, c.procs[next].url, loggedStreams(t, c.o))
	waitApplied(t, c.o, c.procs[next], totalEvents(logs))
	c.healthyEverywhere() // each has loaded the rebuilt model (503 reloading meanwhile)
	c.sameEverywhere()
	c.servedAsFold(t, checkReadModels(t, c.o, logs, c.b.ordered))
	// Each follower loaded the saved read models: on
	// finding the record's reloads grown, or on the holder's change (its
	// relay starts over, and a follower loads what was saved, the rebuilt
	// model with it, and then counts the reload as seen).
	for id, p := range c.procs {
		if id == next || id == "h1" {
			continue
		}
		// The whole kept log (an offset into it means nothing once its
		// 256 KB wrap); each reads the record every second, so in time.
		until(t, 30*time.Second, id+" loads the rebuilt model", func() (bool, string) {
			log := p.log.String()
			return strings.Contains(log, "changed the read models in use in place: reloading") || strings.Contains(log, "reloading the saved read models"), ""
		})
	}

	// A parked stream, parked on every instance.
	addToCart(t, c.procs["h1"].url, "mr-pz", 1)
	ref := es.StreamRef{Type: "cart", ID: "mr-pz"}
	appendPoison(t, c.o.store, ref)
	for id, p := range c.procs {
		until(t, 30*time.Second, id+"'s board shows cart/mr-pz parked", func() (bool, string) { return parkedOn(t, p.url, "cart/mr-pz"), "" })
	}
	// Retried from an instance that is not the holder: the holder takes it
	// and dies; meanwhile a second retry is refused; the next holder
	// carries it out (the event still cannot be applied: parked again).
	asker := "h1"
	other := "f1"
	if next == "f1" {
		other = "f2"
	}
	answered := make(chan [2]string, 1)
	go func() {
		code, body := post(t, c.procs[asker].url, "/projections/retry", "stream=cart%2Fmr-pz")
		answered <- [2]string{fmt.Sprint(code), body}
	}()
	until(t, 30*time.Second, "the holder took the retry", func() (bool, string) {
		rec := opRecord(t, c, "retry")
		return rec.State == "running" && rec.RunBy == next, fmt.Sprintf("%+v", rec)
	})
	if code, body := post(t, c.procs[other].url, "/projections/retry", "stream=cart%2Fmr-pz"); code != http.StatusConflict || !strings.Contains(body, "RetryRunning") {
		t.Errorf("a second retry while one is under way: %d %s", code, body)
	}
	select {
	case <-c.procs[next].exited:
	case <-time.After(30 * time.Second):
		t.Fatal("the holder did not die at the retry it took")
	}
	delete(c.procs, next)
	last, _ := c.holder(next)
	until(t, 60*time.Second, "the next holder carried the retry out", func() (bool, string) {
		rec = opRecord(t, c, "retry")
		return rec.State == "done" && rec.RunBy == last && rec.RequestedBy == asker && rec.Stream == "cart/mr-pz", fmt.Sprintf("%+v", rec)
	})
	if r := rec.Result; r == nil || r.Applied != 0 || r.Version != 1 || !strings.Contains(r.Parked, "BogusHappened") {
		t.Errorf("the retry's outcome: %+v", rec.Result)
	}
	a := <-answered
	if a[0] != "200" && a[0] != "202" {
		t.Errorf("the retry's answer on %s: %s %s", asker, a[0], a[1])
	}
	for id, p := range c.procs {
		until(t, 30*time.Second, id+"'s board shows the retry done", func() (bool, string) {
			pg := page(t, p.url+"/projections")
			i := strings.Index(pg, `id="retry-status"`)
			return i >= 0 && strings.Contains(pg[i:], `data-state="done"`) && strings.Contains(pg[i:], "Parked again"), ""
		})
		if !parkedOn(t, p.url, "cart/mr-pz") {
			t.Errorf("%s's board no longer shows cart/mr-pz parked (it cannot be applied)", id)
		}
	}

	// The event put right in the table (as an operator repairs what a
	// faulty writer wrote) and retried once more, from h1: the holder
	// carries it out (or dies at it, if it is f1 or f2 taking its second
	// operation, and the next one does), the event is applied once, and
	// the stream is unparked on every instance, its cart served as a fresh
	// fold makes it.
	c.b.repairEvent(t, ref, 2, "ItemAdded", `{"sku":"fixed","qty":2,"price":"3.00"}`)
	go func() {
		code, body := post(t, c.procs["h1"].url, "/projections/retry", "stream=cart%2Fmr-pz")
		answered <- [2]string{fmt.Sprint(code), body}
	}()
	until(t, 90*time.Second, "a holder applied the repaired event", func() (bool, string) {
		rec = opRecord(t, c, "retry")
		r := rec.Result
		return rec.State == "done" && rec.RequestedBy == "h1" && r != nil && r.Applied == 1 && r.Version == 2 && r.Parked == "", fmt.Sprintf("%+v %+v", rec, r)
	})
	final := rec.RunBy
	if a := <-answered; a[0] != "200" && a[0] != "202" {
		t.Errorf("the retry's answer on h1: %s %s", a[0], a[1])
	}
	for _, id := range slices.Sorted(maps.Keys(c.procs)) {
		select {
		case <-c.procs[id].exited: // it died at the retry: back, as a follower
			crash[id] = ""
			c.start(id)
		default:
		}
	}
	if c.procs[final] == nil {
		t.Fatalf("the retry was carried out by %s, not an instance of %v", final, slices.Sorted(maps.Keys(c.procs)))
	}
	for id, p := range c.procs {
		until(t, 30*time.Second, id+"'s board no longer shows cart/mr-pz parked", func() (bool, string) { return !parkedOn(t, p.url, "cart/mr-pz"), "" })
	}
	logs = readLogs(t, c.procs[final].url, loggedStreams(t, c.o))
	waitApplied(t, c.o, c.procs[final], totalEvents(logs))
	c.healthyEverywhere()
	c.sameEverywhere()
	c.servedAsFold(t, checkReadModels(t, c.o, logs, c.b.ordered))
}

// tamper changes the saved document key of the read models in use (a
// view's total), at the checkpoint saved, once it and the others (all that
// was written before it) are saved: what a fault of the table's, or a
// hand, could leave there; the checkpoint it writes again is the last.
func tamper(t *testing.T, c *cluster, key string, others ...string) {
	t.Helper()
	ctx := context.Background()
	name := readModelsName(t, c.o)
	var cp string
	var doc json.RawMessage
	until(t, 30*time.Second, key+" saved", func() (bool, string) {
		var docs map[string]json.RawMessage
		var err error
		cp, docs, err = c.o.rm.LoadReadModels(ctx, name)
		doc = docs[key]
		for _, k := range others {
			if docs[k] == nil {
				return false, k + " not saved yet"
			}
		}
		return err == nil && doc != nil, fmt.Sprint(err)
	})
	var view map[string]any
	if err := json.Unmarshal(doc, &view); err != nil {
		t.Fatal(err)
	}
	state, _ := view["state"].(map[string]any)
	if state == nil || state["total"] == "999.00" {
		t.Fatalf("%s: %s", key, doc)
	}
	state["total"] = "999.00"
	wrong, _ := json.Marshal(view)
	if err := c.o.rm.SaveReadModels(ctx, name, cp, map[string]json.RawMessage{key: wrong}); err != nil {
		t.Fatalf("tampering with %s: %v", key, err)
	}
}

// healthyEverywhere waits until every instance's /healthz answers 200.
func (c *cluster) healthyEverywhere() {
	c.t.Helper()
	for id, p := range c.procs {
		deadline := time.Now().Add(30 * time.Second)
		for {
			res, err := http.Get(p.url + "/healthz")
			if err == nil {
				res.Body.Close()
				if res.StatusCode == http.StatusOK {
					break
				}
			}
			if time.Now().After(deadline) {
				c.t.Fatalf("%s's /healthz never answered 200: %v %v", id, res, err)
			}
			time.Sleep(50 * time.Millisecond)
		}
	}
}
