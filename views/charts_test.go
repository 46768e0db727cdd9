package views

import (
	"bytes"
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"golang.org/x/net/html"

	"github.com/foldboard/foldboard/domain/cart"
	"github.com/foldboard/foldboard/projections"
)

func parseComponent(t *testing.T, render func(*bytes.Buffer) error) *html.Node {
	t.Helper()
	var buf bytes.Buffer
	if err := render(&buf); err != nil {
		t.Fatal(err)
	}
	doc, err := html.Parse(&buf)
	if err != nil {
		t.Fatal(err)
	}
	return doc
}

func find(n *html.Node, match func(*html.Node) bool) []*html.Node {
	var out []*html.Node
	var walk func(*html.Node)
	walk = func(n *html.Node) {
		if n.Type == html.ElementNode && match(n) {
			out = append(out, n)
		}
		for c := n.FirstChild; c != nil; c = c.NextSibling {
			walk(c)
		}
	}
	walk(n)
	return out
}

func attr(n *html.Node, key string) string {
	for _, a := range n.Attr {
		if a.Key == key {
			return a.Val
		}
	}
	return ""
}

func text(n *html.Node) string {
	var b strings.Builder
	var walk func(*html.Node)
	walk = func(n *html.Node) {
		if n.Type == html.TextNode {
			b.WriteString(n.Data)
		}
		for c := n.FirstChild; c != nil; c = c.NextSibling {
			walk(c)
		}
	}
	walk(n)
	return strings.TrimSpace(b.String())
}

func hasClass(n *html.Node, class string) bool {
	return n.Type == html.ElementNode && strings.Contains(" "+attr(n, "class")+" ", " "+class+" ")
}

func TestTheSalesChartHasAScaleAndEveryBarSaysItsValue(t *testing.T) {
	days := []projections.DaySales{
		{Day: "2026-06-01", Total: cart.Money(12000), Count: 3},
		{Day: "2026-06-02", Total: cart.Money(4000), Count: 1},
		{Day: "2026-06-03", Total: cart.Money(0), Count: 1},
	}
	c := NewSalesChart(days)
	doc := parseComponent(t, func(b *bytes.Buffer) error { return salesSVG(c).Render(context.Background(), b) })
	var ticks []string
	for _, n := range find(doc, func(n *html.Node) bool { return hasClass(n, "tick") }) {
		ticks = append(ticks, text(n))
	}
	// 120.00 at most: the scale reads 0, 100 and 200 (a round top).
	if got := strings.Join(ticks, " "); got != "0 100 200" {
		t.Errorf("the scale reads %q", got)
	}
	bars := find(doc, func(n *html.Node) bool { return hasClass(n, "bar") })
	if len(bars) != 3 {
		t.Fatalf("%d bars", len(bars))
	}
	if got := attr(bars[0], "aria-label"); got != "2026-06-01: 120.00 from 3 checkouts" {
		t.Errorf("the first bar says %q", got)
	}
	if attr(bars[0], "role") != "img" || attr(bars[0], "tabindex") != "0" {
		t.Errorf("a bar is not one image a keyboard reaches")
	}
	// Heights against the scale: 120 of 200, 40 of 200.
	h := func(b *html.Node) string {
		return attr(find(b, func(n *html.Node) bool { return n.Data == "rect" })[0], "height")
	}
	plot := float64(c.Baseline - chartTop)
	if want := fmt.Sprint(int(plot*0.6 + 0.5)); h(bars[0]) != want {
		t.Errorf("120 of 200 is %s high, want %s", h(bars[0]), want)
	}
	if want := fmt.Sprint(int(plot*0.2 + 0.5)); h(bars[1]) != want {
		t.Errorf("40 of 200 is %s high, want %s", h(bars[1]), want)
	}
}

func TestASalesChartOfManyDaysShowsEachValueOnHover(t *testing.T) {
	var days []projections.DaySales
	for i := range 20 {
		days = append(days, projections.DaySales{Day: fmt.Sprintf("2026-06-%02d", i+1), Total: cart.Money(100 * (i + 1)), Count: 1})
	}
	doc := parseComponent(t, func(b *bytes.Buffer) error { return salesSVG(NewSalesChart(days)).Render(context.Background(), b) })
	hover := find(doc, func(n *html.Node) bool { return hasClass(n, "hover") })
	if len(hover) != 20 || text(hover[19]) != "20.00" {
		t.Fatalf("%d hover values (the last %q)", len(hover), text(hover[len(hover)-1]))
	}
}

func TestTheRateChartHasAScaleAndMinutes(t *testing.T) {
	counts := make([]int64, RateBars)
	counts[10], counts[59] = 35, 10 // 7/s at most: the scale's top is 10/s
	doc := parseComponent(t, func(b *bytes.Buffer) error {
		return rateSVG(NewRateChart(counts, RatePeriod)).Render(context.Background(), b)
	})
	var scale, minutes []string
	for _, n := range find(doc, func(n *html.Node) bool { return hasClass(n, "scale") }) {
		scale = append(scale, text(n))
	}
	for _, n := range find(doc, func(n *html.Node) bool { return hasClass(n, "tick") }) {
		minutes = append(minutes, text(n))
	}
	if got := strings.Join(scale, " "); got != "5.0/s 10/s" {
		t.Errorf("the scale reads %q", got)
	}
	if got := strings.Join(minutes, " "); !strings.Contains(got, "−1 min −2 min −3 min −4 min") {
		t.Errorf("the minutes read %q", got)
	}
}

func TestTheEventTableShowsTimesBriefly(t *testing.T) {
	at := time.Date(2026, 12, 2, 16, 24, 5, 0, time.UTC)
	if got := shortTime(at); got != "12-02 16:24:05" {
		t.Errorf("shortTime: %q", got)
	}
	if got := isoTime(at.In(time.FixedZone("x", 3600))); got != "2026-12-02T16:24:05Z" {
		t.Errorf("isoTime: %q", got)
	}
}
