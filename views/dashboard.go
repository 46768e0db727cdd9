package views

import (
	"fmt"
	"math"
	"time"

	"github.com/foldboard/foldboard/es"
	"github.com/foldboard/foldboard/projections"
)

// Dashboard is the home page's view model.
type Dashboard struct {
	Store string
	Stats projections.Stats
	// Events splits Stats.Events as anyone may see it: the dashboard is
	// pushed to every watcher alike, so drafts', carts' and people's own
	// events are counted only as private.
	Events    EventsCount
	Recent    []projections.IndexedEvent
	Parked    []projections.StreamInfo
	Projector ProjectorStatus
	Rate      RateChart
	Rebuild   RebuildStatus
	// Busiest are the streams with the most events a second lately, most
	// first.
	Busiest []BusyStream
	// Pages finds each stream's page.
	Pages StreamPages
	// Reactions are how the reactors do: position, outcomes, parked events.
	Reactions []es.ReactorStatus
	// Latency is the last minute's command → browser figures.
	Latency LiveLatency
	// Cluster is the cluster this instance is one of; nil alone.
	Cluster *Cluster
}

// Cluster is the instances of a cluster as one of them sees them.
type Cluster struct {
	// Self is this instance's id.
	Self string
	// HighWater is the newest event time any instance appended or applied.
	HighWater time.Time
	// Behind is how far this instance's read models are behind HighWater.
	Behind time.Duration
	// Instances are every instance listed, this one included, by id.
	Instances []Instance
}

// Instance is one instance of a cluster: its role, the position of its
// read models, its WebSocket clients, how far it is behind.
type Instance struct {
	ID, Role, Position string
	Clients            int
	Applied, Seen      time.Time
	Behind             time.Duration
	Self               bool
}

// HotShare is the part of a stream's write limit past which the dashboard
// warns: time to spread the writes over more streams, before the store
// throttles them.
const HotShare = 0.5

// BusyStream is one of the busiest streams lately (projections.HotStream).
type BusyStream = projections.HotStream

// hot says a busy stream's busiest second took HotShare or more of its limit.
func hot(b BusyStream) bool { return b.Limit > 0 && b.Share >= HotShare }

// percent writes a share as a whole percentage.
func percent(share float64) string { return fmt.Sprintf("%.0f%%", math.Floor(share*100)) }

// ProjectorStatus is the projector as the dashboard shows it.
type ProjectorStatus struct {
	Name    string
	Running bool
	Applied int64
	Error   string
	// Lag: events not applied yet, and how long the oldest has waited.
	LagEvents int64
	LagMillis int64
	// LagExact says the store counted the lag; otherwise it counts this
	// instance's appends only.
	LagExact bool
	// LagCluster says the time is measured against the cluster's
	// high-water mark too (the larger of the two is shown).
	LagCluster bool
	LagError   string
}

// RebuildStatus is a read-model rebuild as the dashboard shows it.
type RebuildStatus struct {
	Running bool
	// Name is the projector being built (or last built).
	Name    string
	Applied int64
	// Total is how many events the rebuild expects to replay (0 unknown).
	Total int64
	// Rate is the events applied per second lately.
	Rate     float64
	Elapsed  time.Duration
	Finished bool
	Error    string
	// Review: the rebuild is compared before it is swapped in; Diff is the
	// comparison once made, Deciding that it waits for swap or discard,
	// Discarded that it was.
	Review    bool
	Diff      *projections.Diff
	Deciding  bool
	Discarded bool
	// Model is the one read model rebuilt alone ("" for all of them).
	Model string
}

// Percent is the rebuild's progress, 0-100.
func (r RebuildStatus) Percent() int {
	if r.Finished && r.Error == "" {
		return 100
	}
	if r.Total <= 0 {
		return 0
	}
	return int(min(100, r.Applied*100/r.Total))
}

// The events-per-second chart's drawing, in the SVG's own units.
const (
	rateWidth   = 720
	rateHeight  = 150
	rateTop     = 18
	rateBottom  = 22
	RateBars    = 60
	RatePeriod  = 5 * time.Second // each bar: the mean rate over 5 s
	rateSpanMin = 5               // minutes the chart spans: RateBars × RatePeriod
)

// RateChart is the events-per-second chart: a bar per period, oldest first,
// as tall as the period's mean rate against the chart's scale.
type RateChart struct {
	Bars     []RateBar
	Width    int
	Height   int
	Baseline int
	// Scale is the rate at the top of the plot; Now is the last period's
	// rate and Mean the mean over the whole chart, in events per second.
	Scale, Now, Mean float64
	SpanMinutes      int
	// Ticks are the scale's lines (0, half and the top, in events a
	// second); Minutes mark each minute back from now (Tick.Y is their x).
	Ticks   []Tick
	Minutes []Tick
}

// RateBar is one period's bar, placed.
type RateBar struct {
	X, Y, W, H int
	Rate       float64
	// Ago is how long before now the period ended, for its tooltip.
	Ago string
}

// NewRateChart lays out counts of events per period (oldest first, as
// Catalogue.Rate gives them).
func NewRateChart(counts []int64, period time.Duration) RateChart {
	c := RateChart{Width: rateWidth, Height: rateHeight, Baseline: rateHeight - rateBottom, SpanMinutes: rateSpanMin}
	if len(counts) == 0 {
		return c
	}
	secs := period.Seconds()
	var total int64
	most := 0.0
	for _, n := range counts {
		total += n
		most = max(most, float64(n)/secs)
	}
	c.Scale = niceCeil(most)
	c.Now = float64(counts[len(counts)-1]) / secs
	c.Mean = float64(total) / (secs * float64(len(counts)))
	slot := float64(rateWidth) / float64(len(counts))
	plot := float64(c.Baseline - rateTop)
	for _, f := range []float64{0.5, 1} {
		c.Ticks = append(c.Ticks, Tick{Y: c.Baseline - int(math.Round(f*plot)), Label: rateText(f*c.Scale) + "/s"})
	}
	perMinute := float64(time.Minute) / float64(period)
	for m := 1; m < c.SpanMinutes; m++ {
		x := int(math.Round((float64(len(counts)) - float64(m)*perMinute) * slot))
		c.Minutes = append(c.Minutes, Tick{Y: x, Label: fmt.Sprintf("−%d min", m)})
	}
	for i, n := range counts {
		rate := float64(n) / secs
		h := 0
		if c.Scale > 0 && n > 0 {
			h = max(1, int(math.Round(rate/c.Scale*plot)))
		}
		x := int(math.Round(float64(i) * slot))
		c.Bars = append(c.Bars, RateBar{
			X: x, W: max(1, int(math.Round(slot*0.8))), Y: c.Baseline - h, H: h, Rate: rate,
			Ago: fmt.Sprintf("%ds ago", int(period.Seconds())*(len(counts)-1-i)),
		})
	}
	return c
}

// niceCeil rounds a rate up to 1, 2 or 5 times a power of ten, so that the
// scale reads well; at least 1.
func niceCeil(v float64) float64 {
	if v <= 1 {
		return 1
	}
	p := math.Pow(10, math.Floor(math.Log10(v)))
	for _, m := range []float64{1, 2, 5, 10} {
		if v <= m*p {
			return m * p
		}
	}
	return 10 * p
}

// rateText writes a rate in events per second, briefly.
func rateText(r float64) string {
	switch {
	case r == 0:
		return "0"
	case r < 0.1:
		return fmt.Sprintf("%.2f", r)
	case r < 10:
		return fmt.Sprintf("%.1f", r)
	}
	return fmt.Sprintf("%.0f", r)
}

// millisText writes a lag in milliseconds as people read it.
func millisText(ms int64) string {
	d := time.Duration(ms) * time.Millisecond
	switch {
	case d < time.Second:
		return fmt.Sprintf("%d ms", ms)
	case d < time.Minute:
		return fmt.Sprintf("%.1f s", d.Seconds())
	case d < 48*time.Hour:
		return d.Round(time.Second).String()
	}
	return fmt.Sprintf("%d days", int(d.Hours()/24))
}

func durationText(d time.Duration) string {
	if d < time.Second {
		return d.Round(time.Millisecond).String()
	}
	return d.Round(100 * time.Millisecond).String()
}

func totalText(n int64) string {
	if n <= 0 {
		return "?"
	}
	return fmt.Sprint(n)
}
