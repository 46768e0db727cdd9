package loadgen_test

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/foldboard/foldboard/es"
	"github.com/foldboard/foldboard/internal/apptest"
	"github.com/foldboard/foldboard/internal/loadgen"
)

// mixFor is the mix for a test: every kind of work of every module, one
// part each and two for carts.
func mixFor(t *testing.T, _ *apptest.App) loadgen.Mix {
	t.Helper()
	var parts []string
	for _, name := range loadgen.KindNames() {
		w := 1
		if name == "cart" {
			w = 2
		}
		parts = append(parts, fmt.Sprintf("%s=%d", name, w))
	}
	m, err := loadgen.ParseMix(strings.Join(parts, ","))
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// logLength counts the load's events in the store's global log, and each
// stream's versions.
func logLength(t *testing.T, s es.Store) (n int64, perStream map[es.StreamRef][]int64) {
	t.Helper()
	perStream = map[es.StreamRef][]int64{}
	cursor := ""
	for {
		page, err := s.ReadLog(t.Context(), es.LogQuery{After: cursor, Limit: 1000})
		if err != nil {
			t.Fatal(err)
		}
		if len(page.Events) == 0 {
			return n, perStream
		}
		for _, e := range page.Events {
			// The load's own events: a reaction's (the match report of
			// an ended match, …) answer no command the load sent, nor do
			// the accounts it signed up.
			if es.IsSystemActor(e.Actor) || e.Stream.Type == "user" {
				continue
			}
			perStream[e.Stream] = append(perStream[e.Stream], e.Version)
			n++
		}
		cursor = page.Next
	}
}

func sumStatus(r *loadgen.Report) (all, ok, conflict int64) {
	for code, n := range r.Status {
		all += n
		if code/100 == 2 {
			ok += n
		}
		if code == http.StatusConflict {
			conflict += n
		}
	}
	return all, ok, conflict
}

func TestLoadOnManyStreamsSendsTheCountAndEveryCommandLands(t *testing.T) {
	app := apptest.Start(t, apptest.Options{})
	rep, err := loadgen.Run(t.Context(), loadgen.Config{
		Addr: strings.TrimPrefix(app.URL, "http://"), Clients: 4, Count: 90, Duration: time.Minute,
		Mix: mixFor(t, app), CommandIDs: true,
	})
	if err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	rep.Print(&out)
	t.Log("\n" + out.String())
	all, ok, _ := sumStatus(rep)
	if rep.Commands != 90 || rep.Requests != 90 || all != 90 || rep.Errors != 0 || rep.Retries != 0 {
		t.Fatalf("commands %d, requests %d, statuses %d, errors %d, retries %d; want 90, 90, 90, 0, 0", rep.Commands, rep.Requests, all, rep.Errors, rep.Retries)
	}
	if ok != 90 || rep.Accepted != 90 {
		t.Fatalf("2xx %d, accepted %d; want every command accepted: %v", ok, rep.Accepted, rep.Status)
	}
	if rep.Status[http.StatusCreated] == 0 || rep.Status[http.StatusOK] == 0 {
		t.Errorf("statuses %v: want both streams started (201) and commands on them (200)", rep.Status)
	}
	var byKind int64
	for _, n := range rep.ByKind {
		byKind += n
	}
	if byKind != rep.Accepted {
		t.Errorf("accepted by kind add up to %d, want %d", byKind, rep.Accepted)
	}
	if n, _ := logLength(t, app.Store); n != rep.Accepted {
		t.Errorf("the log holds %d events, want one per accepted command: %d", n, rep.Accepted)
	}
	if h := &rep.Latency; h.Quantile(0.5) <= 0 || h.Quantile(0.99) < h.Quantile(0.5) || h.Max() < h.Quantile(0.99) {
		t.Errorf("latency p50 %v p99 %v max %v: want 0 < p50 <= p99 <= max", h.Quantile(0.5), h.Quantile(0.99), h.Max())
	}
}

func TestLoadOnAHotStreamRetriesConflictsAndLeavesNoGaps(t *testing.T) {
	app := apptest.Start(t, apptest.Options{})
	rep, err := loadgen.Run(t.Context(), loadgen.Config{
		Addr: strings.TrimPrefix(app.URL, "http://"), Clients: 8, Count: 60, Duration: time.Minute,
		Mix: mixFor(t, app), Hot: true, Retries: loadgen.MaxRetries,
	})
	if err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	rep.Print(&out)
	t.Log("\n" + out.String())
	all, ok, conflict := sumStatus(rep)
	if rep.Errors != 0 || all != rep.Requests || rep.Requests != rep.Commands+rep.Retries {
		t.Fatalf("requests %d, statuses %d, commands %d + retries %d, errors %d: want requests = statuses = commands + retries",
			rep.Requests, all, rep.Commands, rep.Retries, rep.Errors)
	}
	if ok+conflict != all || conflict != rep.Retries {
		t.Fatalf("statuses %v: want only 2xx and one 409 per retry (%d)", rep.Status, rep.Retries)
	}
	if rep.Commands != 60 || rep.Accepted != 60 || ok != 60 {
		t.Fatalf("commands %d, accepted %d, 2xx %d; want 60 of each", rep.Commands, rep.Accepted, ok)
	}
	n, streams := logLength(t, app.Store)
	if n != rep.Accepted {
		t.Errorf("the log holds %d events, want %d", n, rep.Accepted)
	}
	for ref, versions := range streams {
		if !strings.Contains(ref.ID, "-hot-") {
			t.Errorf("stream %s is not a hot stream", ref)
		}
		for i, v := range versions {
			if v != int64(i)+1 {
				t.Fatalf("stream %s has versions %v: want 1, 2, 3 … without gaps", ref, versions)
			}
		}
	}
}

func TestLoadCommandPrintsProgressAndTheReport(t *testing.T) {
	app := apptest.Start(t, apptest.Options{})
	var out, errs bytes.Buffer
	err := loadgen.Command(t.Context(), []string{"-addr", app.URL, "-clients", "2", "-count", "12", "-mix", "innings=1,cart=1"}, &out, &errs)
	if err != nil {
		t.Fatalf("load: %v\n%s", err, errs.String())
	}
	for _, want := range []string{"12 sent, 12 accepted", "latency    p50", "status     200: ", "201: "} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("output lacks %q:\n%s", want, out.String())
		}
	}
	for _, args := range [][]string{
		{"-streams", "lukewarm"}, {"-mix", "innings=x"}, {"-mix", "cricket=1"}, {"-mix", "innings=0"},
		{"-clients", "0"}, {"-clients", "5000"}, {"-count", "-1"}, {"-duration", "0s"}, {"extra"},
	} {
		args = append([]string{"-addr", app.URL}, args...)
		if err := loadgen.Command(context.Background(), args, &out, &errs); err == nil {
			t.Errorf("load %v: no error", args)
		}
	}
}

func TestLoadDrivesOnlyALoopbackAddress(t *testing.T) {
	for _, addr := range []string{
		"10.0.0.1:8080", "192.168.1.2:80", "8.8.8.8:53", "example.com:80", "0.0.0.0:8080", "[::]:8080",
		"127.0.0.1", "127.0.0.1:0", "127.0.0.1:99999", "http://127.0.0.1:8080/x", "user@127.0.0.1:80", "",
	} {
		_, err := loadgen.Run(t.Context(), loadgen.Config{Addr: addr, Clients: 1, Count: 1, Duration: time.Second, Mix: mix(t, "innings=1")})
		if err == nil {
			t.Errorf("Run against %q: no error, want a refusal before any request", addr)
		}
	}
	// Loopback addresses are driven: nothing listens on port 9, so each
	// request fails to connect, and the run reports it.
	for _, addr := range []string{"127.0.0.1:9", "127.3.4.5:9", "localhost:9", "LOCALHOST:9", "[::1]:9", "http://127.0.0.1:9"} {
		rep, err := loadgen.Run(t.Context(), loadgen.Config{Addr: addr, Clients: 1, Count: 2, Duration: 5 * time.Second, Mix: mix(t, "innings=1"), Tokens: []string{"t"}})
		if err != nil {
			t.Errorf("Run against %q: %v", addr, err)
			continue
		}
		if rep.Requests != 0 || rep.Errors != 2 {
			t.Errorf("Run against %q: %d answered, %d errors; want 0 and 2", addr, rep.Requests, rep.Errors)
		}
	}
}

func TestParseMix(t *testing.T) {
	m, err := loadgen.ParseMix("innings=1,cart=2,post=1")
	if err != nil || m.String() != "innings=1,cart=2,post=1" {
		t.Fatalf("ParseMix: %v %v", m, err)
	}
	if m, err := loadgen.ParseMix("cart=3"); err != nil || m.String() != "cart=3" {
		t.Fatalf("ParseMix(cart=3): %v %v", m, err)
	}
}

func TestHistogramQuantilesAreWithinABucket(t *testing.T) {
	var h loadgen.Histogram
	for i := 1; i <= 1000; i++ {
		h.Record(time.Duration(i) * time.Millisecond)
	}
	for _, c := range []struct {
		q    float64
		want time.Duration
	}{{0.5, 500 * time.Millisecond}, {0.95, 950 * time.Millisecond}, {0.99, 990 * time.Millisecond}, {1, time.Second}} {
		got := h.Quantile(c.q)
		if got < c.want || float64(got) > float64(c.want)*1.035 {
			t.Errorf("p%v = %v, want %v (within 3.5%% above)", c.q*100, got, c.want)
		}
	}
	if h.Max() != time.Second || h.Count() != 1000 {
		t.Errorf("max %v count %d", h.Max(), h.Count())
	}
	var small loadgen.Histogram
	for i := range 50 {
		small.Record(time.Duration(i) * time.Microsecond)
	}
	if got := small.Quantile(0.5); got != 24*time.Microsecond && got != 25*time.Microsecond {
		t.Errorf("p50 of 0-49 µs = %v, want exact microseconds", got)
	}
}

func TestLoadAtARateIsPaced(t *testing.T) {
	app := apptest.Start(t, apptest.Options{})
	rep, err := loadgen.Run(t.Context(), loadgen.Config{
		Addr: strings.TrimPrefix(app.URL, "http://"), Clients: 4, Count: 20, Rate: 100, Duration: time.Minute,
		Mix: mix(t, "innings=1,cart=1,post=1"),
	})
	if err != nil {
		t.Fatal(err)
	}
	// 20 commands at 100 a second: the last one is due 190 ms after the start.
	if rep.Accepted != 20 || rep.Elapsed < 190*time.Millisecond {
		t.Fatalf("%d accepted in %v, want 20 in 190 ms or more", rep.Accepted, rep.Elapsed)
	}
	if _, err := loadgen.Run(t.Context(), loadgen.Config{Addr: "127.0.0.1:9", Clients: 1, Count: 1, Rate: -1, Duration: time.Second, Mix: mix(t, "innings=1")}); err == nil {
		t.Error("a negative rate was taken")
	}
}

func mix(t *testing.T, s string) loadgen.Mix {
	t.Helper()
	m, err := loadgen.ParseMix(s)
	if err != nil {
		t.Fatal(err)
	}
	return m
}
