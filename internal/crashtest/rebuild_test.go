package crashtest

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
)

// post POSTs form to path on url as the admin, asking for JSON, and
// returns the status and the body.
func post(t *testing.T, url, path, form string) (int, string) {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, url+path, strings.NewReader(form))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Accept", "application/json")
	req.Header.Set("X-Actor", verifier)
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("POST %s%s: %v", url, path, err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return res.StatusCode, string(b)
}

// page GETs a page of url as the admin.
func page(t *testing.T, url string) string {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, url, nil)
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
	return string(b)
}

// until waits for ok within limit, failing with what last says.
func until(t *testing.T, limit time.Duration, what string, ok func() (bool, string)) {
	t.Helper()
	deadline := time.Now().Add(limit)
	for {
		done, last := ok()
		if done {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s within %v: %s", what, limit, last)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// A rebuild is one for the cluster: asked for on a follower (two requests at
// once on two instances: one is taken, the other refused, and so is one on
// the third), run by the lease holder, seen on another instance's dashboard
// (the diff of a saved document tampered with), swapped in by a choice made
// on that other instance; when the holder is killed while the rebuild waits
// for the choice, the next holder starts it again under a new name. Then
// every instance serves the rebuilt read models (by name, at the saved
// checkpoint, the tampered document repaired on every one's page), the
// replaced ones are dropped, and the saved ones equal a fresh fold.
func TestClusterRebuildAskedOnAFollowerRunsOnTheHolderAndSwapsEverywhere(t *testing.T) {
	c := newCluster(t, "b1")
	// b1 projects before it is stopped: a stop while it is still joining
	// waits out its drain deadline (seen: 9 s, past the 10 s given below).
	c.holder("")
	carts := []string{"rb-1", "rb-2", "rb-3"}
	for i, id := range carts {
		body := fmt.Sprintf(`{"sku":"sku-%s","qty":%d,"price":"2.50"}`, id, i+1)
		req, _ := http.NewRequest(http.MethodPost, c.procs["b1"].url+"/carts/"+id+"/items", strings.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Accept", "application/json")
		req.Header.Set("X-Actor", verifier)
		res, err := http.DefaultClient.Do(req)
		if err != nil || res.StatusCode >= 300 {
			t.Fatalf("adding to %s: %v %v", id, res, err)
		}
		res.Body.Close()
	}
	// Applied (a stop drains what was appended, but only until its deadline,
	// which a slow machine can pass), then stopped, its read models saved;
	// one saved document is tampered with, and every instance started after
	// loads it.
	until(t, 60*time.Second, "b1 applies the carts", func() (bool, string) {
		got := page(t, c.procs["b1"].url+"/carts/rb-3")
		return strings.Contains(got, "sku-rb-3"), ""
	})
	if code, _ := c.procs["b1"].terminate(t, 30*time.Second); code != 0 {
		t.Fatalf("b1 exited %d", code)
	}
	delete(c.procs, "b1")
	ctx := context.Background()
	old := readModelsName(t, c.o)
	cp, docs, err := c.o.rm.LoadReadModels(ctx, old)
	if err != nil {
		t.Fatal(err)
	}
	doc := string(docs["cart/rb-2"])
	if !strings.Contains(doc, `"sku-rb-2"`) {
		t.Fatalf("the saved cart/rb-2 is %s", doc)
	}
	tampered := strings.ReplaceAll(doc, `"sku-rb-2"`, `"sku-tampered"`)
	if err := c.o.rm.SaveReadModels(ctx, old, cp, map[string]json.RawMessage{"cart/rb-2": json.RawMessage(tampered)}); err != nil {
		t.Fatal(err)
	}
	for _, id := range []string{"b1", "b2", "b3"} {
		c.start(id)
	}
	for id, p := range c.procs {
		if got := page(t, p.url+"/carts/rb-2"); !strings.Contains(got, "sku-tampered") {
			t.Fatalf("%s's cart page does not show the tampered document", id)
		}
	}
	holder, _ := c.holder("")
	var followers []string
	for _, id := range slices.Sorted(maps.Keys(c.procs)) {
		if id != holder {
			followers = append(followers, id)
		}
	}
	asker, watcher := followers[0], followers[1]
	// Commands all along, on a follower the test does not kill.
	load := newDriver(c.procs[followers[0]].url, "rb", 2)
	loadCtx, stopLoad := context.WithCancel(ctx)
	loaded := make(chan struct{})
	go func() { defer close(loaded); load.drive(loadCtx, 2, 7) }()
	defer func() { stopLoad(); <-loaded; load.close() }()

	// Two requests at once, on the two followers: one rebuild.
	type answer struct {
		on   string
		code int
		body string
	}
	answers := make([]answer, 2)
	var wg sync.WaitGroup
	for i, on := range followers {
		wg.Go(func() {
			code, body := post(t, c.procs[on].url, "/rebuild", "review=1")
			answers[i] = answer{on, code, body}
		})
	}
	wg.Wait()
	var started answer
	for _, a := range answers {
		switch a.code {
		case http.StatusAccepted:
			if started.on != "" {
				t.Fatalf("two rebuilds started at once: %+v", answers)
			}
			started = a
		case http.StatusConflict:
			if !strings.Contains(a.body, "RebuildRunning") {
				t.Errorf("the refused request on %s: %s", a.on, a.body)
			}
		default:
			t.Fatalf("POST /rebuild on %s: %d %s", a.on, a.code, a.body)
		}
	}
	if started.on == "" {
		t.Fatalf("neither request started a rebuild: %+v", answers)
	}
	if started.on != asker {
		asker, watcher = watcher, asker
	}
	var ans struct {
		Rebuild struct{ Projector string }
	}
	if err := json.Unmarshal([]byte(started.body), &ans); err != nil || !strings.HasPrefix(ans.Rebuild.Projector, "readmodels-") {
		t.Fatalf("the started rebuild's answer: %s (%v)", started.body, err)
	}
	// And one on the third instance, the holder.
	if code, body := post(t, c.procs[holder].url, "/rebuild", ""); code != http.StatusConflict || !strings.Contains(body, "RebuildRunning") {
		t.Fatalf("a second rebuild on the holder %s: %d %s", holder, code, body)
	}

	// The watcher's dashboard shows the holder's rebuild caught up, the
	// tampered document among the differences, and the choice.
	diffShown := func(on string) func() (bool, string) {
		return func() (bool, string) {
			p := page(t, c.procs[on].url+"/")
			ok := strings.Contains(p, `id="rebuild-diff"`) && strings.Contains(p, "cart/rb-2") &&
				strings.Contains(p, "sku-tampered") && strings.Contains(p, `id="rebuild-swap"`)
			i := strings.Index(p, `id="rebuild-progress"`)
			return ok, p[max(i, 0):min(len(p), max(i, 0)+600)]
		}
	}
	until(t, 60*time.Second, watcher+"'s dashboard shows the rebuild's diff", diffShown(watcher))
	first := rebuildRecordOf(t, c)
	if first.ID != ans.Rebuild.Projector || first.RunBy != holder || first.State != "review" || first.RequestedBy != asker {
		t.Fatalf("the rebuild's record: %+v (asked on %s, holder %s, into %s)", first, asker, holder, ans.Rebuild.Projector)
	}

	// The holder dies while the rebuild waits: the next holder runs it
	// again, under a new name, and drops what the first saved.
	c.procs[holder].kill9(t)
	delete(c.procs, holder)
	second, _ := c.holder(holder)
	var again rebuildRecord
	until(t, 60*time.Second, "the next holder runs the rebuild again", func() (bool, string) {
		again = rebuildRecordOf(t, c)
		return again.State == "review" && again.RunBy == second && again.ID != first.ID, fmt.Sprintf("%+v", again)
	})
	until(t, 20*time.Second, "the dead holder's rebuild dropped", func() (bool, string) {
		_, docs, err := c.o.rm.LoadReadModels(ctx, first.ID)
		return err == nil && len(docs) == 0, fmt.Sprintf("%d documents left", len(docs))
	})
	other := asker
	if other == second {
		other = watcher
	}
	until(t, 30*time.Second, other+"'s dashboard shows the new diff", diffShown(other))

	// Swapped in by a choice on the instance that is not the holder.
	if code, body := post(t, c.procs[other].url, "/rebuild/swap", ""); code != http.StatusOK {
		t.Fatalf("swap on %s: %d %s", other, code, body)
	}
	if code, body := post(t, c.procs[second].url, "/rebuild/swap", ""); code != http.StatusConflict || !strings.Contains(body, "NoRebuildUnderReview") {
		t.Errorf("a second swap on %s: %d %s", second, code, body)
	}
	c.start(holder) // back, as a follower: it loads the read models in use
	until(t, 60*time.Second, "every instance serves the rebuilt read models", func() (bool, string) {
		var last []string
		for id, p := range c.procs {
			// Not through getJSON: an instance answers 503 while it loads
			// the new read models.
			req, _ := http.NewRequest(http.MethodGet, p.url+"/healthz", nil)
			req.Header.Set("Accept", "application/json")
			res, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			var h struct{ Status, ReadModels string }
			err = json.NewDecoder(res.Body).Decode(&h)
			res.Body.Close()
			if err != nil || h.Status != "ok" || h.ReadModels != again.ID {
				last = append(last, fmt.Sprintf("%s: %d %+v %v", id, res.StatusCode, h, err))
			}
		}
		return len(last) == 0 && readModelsName(t, c.o) == again.ID, strings.Join(last, "; ")
	})
	stopLoad()
	<-loaded
	outs := load.snapshot()
	t.Logf("commands during the rebuild: %s", describe(outs))
	if rec := rebuildRecordOf(t, c); rec.State != "done" || rec.ID != again.ID {
		t.Errorf("the finished rebuild's record: %+v", rec)
	}
	for id, p := range c.procs {
		got := page(t, p.url+"/carts/rb-2")
		if strings.Contains(got, "sku-tampered") || !strings.Contains(got, "sku-rb-2") {
			t.Errorf("%s's cart page after the rebuild still shows the tampered document", id)
		}
		// Each instance reads the rebuild's record every second.
		until(t, 30*time.Second, id+"'s dashboard says the rebuild finished", func() (bool, string) {
			return strings.Contains(page(t, p.url+"/"), "Rebuilt <code>"+again.ID+"</code>"), ""
		})
	}
	until(t, 30*time.Second, "the replaced read models dropped", func() (bool, string) {
		_, docs, err := c.o.rm.LoadReadModels(ctx, old)
		return err == nil && len(docs) == 0, fmt.Sprintf("%d documents of %s left", len(docs), old)
	})
	c.liveEverywhere("after")
	logs := readLogs(t, c.procs[second].url, loggedStreams(t, c.o))
	waitApplied(t, c.o, c.procs[second], totalEvents(logs))
	if acked, _ := checkOutcomes(t, logs, outs); acked < 20 {
		t.Errorf("only %d commands acknowledged during the rebuild", acked)
	}
	c.sameEverywhere()
	c.servedAsFold(t, checkReadModels(t, c.o, logs, c.b.ordered))
}

// rebuildRecord is the cluster's rebuild as its setting records it.
type rebuildRecord struct {
	ID, State, RunBy, RequestedBy string
	Epoch                         int64
}

func rebuildRecordOf(t *testing.T, c *cluster) rebuildRecord {
	t.Helper()
	raw, ok, err := c.o.settings.Setting(context.Background(), "rebuild")
	if err != nil || !ok {
		t.Fatalf("the rebuild setting: %v (found %v)", err, ok)
	}
	var rec rebuildRecord
	if err := json.Unmarshal(raw, &rec); err != nil {
		t.Fatalf("the rebuild setting %s: %v", raw, err)
	}
	return rec
}
