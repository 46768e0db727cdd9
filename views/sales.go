package views

import (
	"math"
	"slices"
	"strings"

	"github.com/foldboard/foldboard/domain/cart"
	"github.com/foldboard/foldboard/projections"
)

// The sales chart's drawing, in the SVG's own units (it scales to its box).
const (
	chartDays   = 31 // the most recent days with sales that the chart draws
	chartWidth  = 720
	chartHeight = 260
	chartTop    = 24 // room for the value above the tallest bar
	chartBottom = 36 // room for the day under each bar
	chartLeft   = 64 // room for the scale's values
	chartRight  = 8
)

// SalesChart is the sales page's view model: a bar per day for the chart
// (the latest chartDays days that had sales), and every day for the table,
// newest first.
type SalesChart struct {
	Bars  []SalesBar
	Days  []projections.DaySales
	Width int
	// Height is the SVG's height; Baseline is the y of the bars' foot.
	Height, Baseline int
	// Ticks are the scale's lines, from 0 to the top.
	Ticks []Tick
}

// Tick is one line of a chart's scale: its height and its value.
type Tick struct {
	Y     int
	Label string
}

// SalesBar is one day's bar, placed.
type SalesBar struct {
	projections.DaySales
	X, Y, W, H int
	// LabelX is the centre of the bar, where its texts go.
	LabelX int
	// Label is the day under the bar, empty where bars are too many to
	// label each; Value says whether the total goes above it.
	Label string
	Value bool
}

// NewSalesChart lays out days (oldest first, as SalesByDay.Days gives them).
// Bars are as tall as their day's total against the largest drawn; a day
// with sales of 0.00 gets a sliver, so that it still shows.
func NewSalesChart(days []projections.DaySales) SalesChart {
	c := SalesChart{Width: chartWidth, Height: chartHeight, Baseline: chartHeight - chartBottom}
	c.Days = slices.Clone(days)
	slices.Reverse(c.Days)
	drawn := days[max(0, len(days)-chartDays):]
	if len(drawn) == 0 {
		return c
	}
	var most float64
	for _, d := range drawn {
		most = max(most, float64(d.Total))
	}
	// The scale's top is a round amount at or above the largest day.
	most = niceCeil(most/100) * 100
	for _, f := range []float64{0, 0.5, 1} {
		y := c.Baseline - int(math.Round(f*float64(c.Baseline-chartTop)))
		c.Ticks = append(c.Ticks, Tick{Y: y, Label: moneyTick(cart.Money(math.Round(f * most)))})
	}
	// A few days get wider bars, but never wider than a week's would be.
	slot := (chartWidth - chartLeft - chartRight) / max(len(drawn), 7)
	plot := float64(c.Baseline - chartTop)
	every := (len(drawn) + 15) / 16 // label at most 16 days, the newest always
	for i, d := range drawn {
		h := 1
		if most > 0 {
			h = max(1, int(math.Round(float64(d.Total)/most*plot)))
		}
		x := chartLeft + i*slot + slot/8
		w := slot - slot/4
		b := SalesBar{DaySales: d, X: x, W: w, Y: c.Baseline - h, H: h, LabelX: x + w/2, Value: len(drawn) <= 12}
		if (len(drawn)-1-i)%every == 0 {
			b.Label = shortDay(d.Day)
		}
		c.Bars = append(c.Bars, b)
	}
	return c
}

// moneyTick writes a scale's amount without cents when it has none.
func moneyTick(m cart.Money) string {
	return strings.TrimSuffix(m.String(), ".00")
}

// barLabel is what a bar says to a screen reader and on hover.
func barLabel(b SalesBar) string {
	return b.Day + ": " + b.Total.String() + " from " + checkouts(b.Count)
}

// shortDay is a day as the chart labels it: "06-01".
func shortDay(day string) string {
	if len(day) == len("2006-01-02") {
		return day[5:]
	}
	return day
}

// checkouts says how many: "1 checkout", "3 checkouts".
func checkouts(n int64) string {
	if n == 1 {
		return "1 checkout"
	}
	return itoa(n) + " checkouts"
}
