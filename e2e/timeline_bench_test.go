package e2e

import (
	"context"
	"fmt"
	"slices"
	"testing"

	"github.com/foldboard/foldboard/domain/blog"
	"github.com/foldboard/foldboard/es"
	"github.com/foldboard/foldboard/internal/apptest"
)

// BenchmarkTimelineSliderStep measures, in Chromium, one step of the
// timeline's slider: from the slider's input event to the new version's
// state, event and diff swapped into the page (fetch, server replay from the
// nearest snapshot, render, swap). The stream is a post retitled 2,000 times
// (the server-side cost of replay on far longer streams is measured in
// internal/bench). Reported: p50 and p99 in ms.
func BenchmarkTimelineSliderStep(b *testing.B) {
	app := apptest.Start(b, apptest.Options{})
	h := &es.Handler[blog.State, blog.Command, blog.Event]{Decider: blog.Decider(), Store: app.Store, SnapshotEvery: 100}
	ctx := context.Background()
	const versions = 2000
	if _, err := h.Handle(ctx, es.Meta{StreamID: "p-1", Expected: es.AnyVersion, Actor: "ana"}, blog.CreatePost{Title: "v1", Body: "b", Author: "ana"}); err != nil {
		b.Fatal(err)
	}
	for i := 2; i <= versions; i++ {
		if _, err := h.Handle(ctx, es.Meta{StreamID: "p-1", Expected: es.AnyVersion, Actor: "ana"}, blog.ChangeTitle{Title: fmt.Sprintf("v%d", i), Actor: "ana"}); err != nil {
			b.Fatal(err)
		}
	}
	if harness.err != nil {
		b.Fatal("no browser (make deps): ", harness.err)
	}
	bctx, err := harness.browser.NewContext()
	if err != nil {
		b.Fatal(err)
	}
	defer bctx.Close()
	page, err := bctx.NewPage()
	if err != nil {
		b.Fatal(err)
	}
	if _, err := page.Goto(app.URL + "/streams/post/p-1/timeline?v=1"); err != nil {
		b.Fatal(err)
	}
	step := `async (v) => {
		const slider = document.getElementById("tl-slider");
		const done = new Promise(r => document.addEventListener("foldboard:timeline", r, {once: true}));
		const t0 = performance.now();
		slider.value = String(v);
		slider.dispatchEvent(new Event("input"));
		await done;
		return performance.now() - t0;
	}`
	var took []float64
	b.ResetTimer()
	for i := range b.N {
		v := 1 + (i*997)%versions // jump around the history
		ms, err := page.Evaluate(step, v)
		if err != nil {
			b.Fatal(err)
		}
		switch ms := ms.(type) { // a whole number of ms comes back as an int
		case float64:
			took = append(took, ms)
		case int:
			took = append(took, float64(ms))
		default:
			b.Fatalf("step took %T %v", ms, ms)
		}
	}
	b.StopTimer()
	slices.Sort(took)
	b.ReportMetric(took[len(took)/2], "p50-ms")
	b.ReportMetric(took[len(took)*99/100], "p99-ms")
}
