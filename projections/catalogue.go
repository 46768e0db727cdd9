package projections

import (
	"cmp"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/foldboard/foldboard/es"
)

// StreamInfo is the catalogue's entry for one stream.
type StreamInfo struct {
	Stream    es.StreamRef `json:"-"`
	Version   int64        `json:"version"`
	Created   time.Time    `json:"created"`
	Updated   time.Time    `json:"updated"`
	CreatedBy string       `json:"createdBy"`
	LastType  string       `json:"lastType"`
	LastActor string       `json:"lastActor"`
	// Parked holds the error of an event no read model could apply: the
	// stream's read models stay at Version until a rebuild.
	Parked        string `json:"parked,omitempty"`
	ParkedVersion int64  `json:"parkedVersion,omitempty"`
}

// Stats are totals over the whole log.
type Stats struct {
	Events  int64            `json:"events"`
	Streams int64            `json:"streams"`
	ByType  map[string]int64 `json:"byType"`
	// Last is the time of the newest event applied.
	Last time.Time `json:"last"`
}

// Catalogue knows every stream, the version the read models have applied for
// it, and totals; the projector consults it to apply each event exactly once.
type Catalogue struct {
	mu      sync.RWMutex
	streams map[es.StreamRef]*StreamInfo
	stats   Stats
	// parked indexes the parked streams, so the dashboard need not scan them all.
	parked map[es.StreamRef]struct{}
	// rate counts events by the second of their time, over the last
	// RateWindow before the newest event: the dashboard's events per second.
	rate eventRate
	// hot counts each stream's recent events: the busiest streams. Not
	// saved: it is about the last seconds.
	hot hotStreams
}

const (
	catalogueKey = "stream/"
	statsKey     = "stats"
	rateKey      = "rate"
	// TopicDashboard changes with every event.
	TopicDashboard = "dashboard"
)

// NewCatalogue makes an empty catalogue.
func NewCatalogue() *Catalogue {
	return &Catalogue{
		streams: map[es.StreamRef]*StreamInfo{}, stats: Stats{ByType: map[string]int64{}},
		parked: map[es.StreamRef]struct{}{}, rate: newEventRate(),
	}
}

// Owns claims the catalogue's, the statistics' and the rate's documents.
func (c *Catalogue) Owns(key string) bool {
	return strings.HasPrefix(key, catalogueKey) || key == statsKey || key == rateKey
}

// Load restores a saved document.
func (c *Catalogue) Load(key string, doc json.RawMessage) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if key == statsKey {
		var s Stats
		if err := json.Unmarshal(doc, &s); err != nil {
			return err
		}
		if s.ByType == nil {
			s.ByType = map[string]int64{}
		}
		c.stats = s
		return nil
	}
	if key == rateKey {
		return json.Unmarshal(doc, &c.rate)
	}
	ref, err := es.ParseStreamRef(strings.TrimPrefix(key, catalogueKey))
	if err != nil {
		return err
	}
	var info StreamInfo
	if err := json.Unmarshal(doc, &info); err != nil {
		return err
	}
	info.Stream = ref
	c.streams[ref] = &info
	if info.Parked != "" {
		c.parked[ref] = struct{}{}
	}
	return nil
}

// Doc returns a document's current value.
func (c *Catalogue) Doc(key string) (json.RawMessage, error) {
	c.mu.RLock()
	defer c.mu.RUnlock()
	if key == statsKey {
		return json.Marshal(c.stats)
	}
	if key == rateKey {
		return json.Marshal(&c.rate)
	}
	ref, err := es.ParseStreamRef(strings.TrimPrefix(key, catalogueKey))
	if err != nil {
		return nil, err
	}
	info, ok := c.streams[ref]
	if !ok {
		return nil, nil
	}
	return json.Marshal(info)
}

// Apply records the event in the stream's entry and the totals. The
// projector calls it after every other model has applied the event.
func (c *Catalogue) Apply(env es.Envelope, ch *Changes) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	info := c.entry(env)
	info.Version = env.Version
	info.Updated = env.Time
	info.LastType = env.Type
	info.LastActor = env.Actor
	c.stats.Events++
	c.stats.ByType[env.Type]++
	if env.Time.After(c.stats.Last) {
		c.stats.Last = env.Time
	}
	if c.rate.add(env.Time) {
		ch.Doc(c, rateKey)
	}
	c.hot.add(env, time.Now())
	ch.Doc(c, catalogueKey+env.Stream.String())
	ch.Doc(c, statsKey)
	ch.Topic(TopicDashboard, TimelineTopic(env.Stream))
	return nil
}

// entry is the stream's entry, made at its first event. c.mu is held.
func (c *Catalogue) entry(env es.Envelope) *StreamInfo {
	info, ok := c.streams[env.Stream]
	if !ok {
		info = &StreamInfo{Stream: env.Stream, Created: env.Time, CreatedBy: env.Actor}
		c.streams[env.Stream] = info
		c.stats.Streams++
	}
	return info
}

// park records that the event at env.Version could not be applied.
func (c *Catalogue) park(env es.Envelope, cause error, ch *Changes) {
	c.mu.Lock()
	defer c.mu.Unlock()
	info := c.entry(env)
	info.Parked = fmt.Sprintf("%s v%d (%s): %v", env.Stream, env.Version, env.Type, cause)
	info.ParkedVersion = env.Version
	c.parked[env.Stream] = struct{}{}
	ch.Doc(c, catalogueKey+env.Stream.String())
	ch.Topic(TopicDashboard)
}

// unpark lifts a stream's park, for a retry.
func (c *Catalogue) unpark(ref es.StreamRef, ch *Changes) {
	c.mu.Lock()
	defer c.mu.Unlock()
	info, ok := c.streams[ref]
	if !ok {
		return
	}
	info.Parked, info.ParkedVersion = "", 0
	delete(c.parked, ref)
	ch.Doc(c, catalogueKey+ref.String())
	ch.Topic(TopicDashboard)
}

// repark puts back the park a retry lifted, as it was.
func (c *Catalogue) repark(was StreamInfo, ch *Changes) {
	c.mu.Lock()
	defer c.mu.Unlock()
	info, ok := c.streams[was.Stream]
	if !ok {
		return
	}
	info.Parked, info.ParkedVersion = was.Parked, was.ParkedVersion
	c.parked[was.Stream] = struct{}{}
	ch.Doc(c, catalogueKey+was.Stream.String())
	ch.Topic(TopicDashboard)
}

// TimelineTopic is the topic of a stream's timeline page.
func TimelineTopic(s es.StreamRef) string { return "timeline/" + s.String() }

// applied returns the version the read models have applied for a stream and
// whether the stream is parked.
func (c *Catalogue) applied(s es.StreamRef) (int64, bool) {
	c.mu.RLock()
	defer c.mu.RUnlock()
	info, ok := c.streams[s]
	if !ok {
		return 0, false
	}
	return info.Version, info.Parked != ""
}

// Stream returns one stream's entry.
func (c *Catalogue) Stream(s es.StreamRef) (StreamInfo, bool) {
	c.mu.RLock()
	defer c.mu.RUnlock()
	info, ok := c.streams[s]
	if !ok {
		return StreamInfo{}, false
	}
	return *info, true
}

// Streams lists the streams of a type ("" for all), most recently changed first.
func (c *Catalogue) Streams(typ string) []StreamInfo {
	c.mu.RLock()
	out := make([]StreamInfo, 0, len(c.streams))
	for ref, info := range c.streams {
		if typ == "" || ref.Type == typ {
			out = append(out, *info)
		}
	}
	c.mu.RUnlock()
	slices.SortFunc(out, func(a, b StreamInfo) int {
		if d := b.Updated.Compare(a.Updated); d != 0 {
			return d
		}
		return cmp.Compare(a.Stream.String(), b.Stream.String())
	})
	return out
}

// Parked lists the parked streams, by name.
func (c *Catalogue) Parked() []StreamInfo {
	c.mu.RLock()
	out := make([]StreamInfo, 0, len(c.parked))
	for ref := range c.parked {
		out = append(out, *c.streams[ref])
	}
	c.mu.RUnlock()
	slices.SortFunc(out, func(a, b StreamInfo) int { return cmp.Compare(a.Stream.String(), b.Stream.String()) })
	return out
}

// Busiest returns the n streams nearest their write limit (where the store
// has one) or with the most events a second, over the HotWindow before now.
func (c *Catalogue) Busiest(now time.Time, n int) []HotStream {
	c.mu.RLock()
	defer c.mu.RUnlock()
	return c.hot.busiest(now, n)
}

// Rate counts the events of each of n periods of width each, the last one
// ending at now, oldest first: the dashboard's events per second.
func (c *Catalogue) Rate(now time.Time, n int, width time.Duration) []int64 {
	c.mu.RLock()
	defer c.mu.RUnlock()
	return c.rate.series(now, n, width)
}

// Stats returns the totals.
func (c *Catalogue) Stats() Stats {
	c.mu.RLock()
	defer c.mu.RUnlock()
	s := c.stats
	s.ByType = make(map[string]int64, len(c.stats.ByType))
	for k, v := range c.stats.ByType {
		s.ByType[k] = v
	}
	return s
}
