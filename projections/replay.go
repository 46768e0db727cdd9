package projections

import (
	"encoding/json"
	"slices"

	"github.com/foldboard/foldboard/es"
)

// Row is one document a read model changed with an event: as it was before
// the event and after it (nil where there was none).
type Row struct {
	Model  string
	Key    string
	Before json.RawMessage
	After  json.RawMessage
}

// gathering is a model some of whose documents gather the events of many
// streams (a list's counts, a chain of causes and effects across streams)
// though most are one stream's: replayed from one stream's events alone,
// those documents would show that stream's share as the whole.
type gathering interface{ gathers(key string) bool }

// ReplayRows replays events, oldest first, into a fresh model of each of
// models and returns the documents the last event changed, before and after
// it: what each read model made of that event, as it was then. The events
// are the log up to the last one, so every document is as it was.
func ReplayRows(models []ReadModel, events []es.Envelope) ([]Row, error) {
	return replayRows(models, events, false)
}

// ReplayStreamRows is ReplayRows of one stream's events up to the last: the
// documents that gather other streams' events too are left out, as a
// replay of this stream alone cannot tell what they were.
func ReplayStreamRows(models []ReadModel, events []es.Envelope) ([]Row, error) {
	return replayRows(models, events, true)
}

func replayRows(models []ReadModel, events []es.Envelope, oneStream bool) ([]Row, error) {
	if len(events) == 0 {
		return nil, nil
	}
	var out []Row
	last := events[len(events)-1]
	for _, rm := range models {
		m := rm.New()
		// Every document the earlier events touched, to read as it stood
		// before the last one.
		touched := newChanges()
		for _, env := range events[:len(events)-1] {
			if err := m.Apply(env, touched); err != nil {
				return nil, err
			}
		}
		before := map[string]json.RawMessage{}
		for key := range touched.docs {
			doc, err := m.Doc(key)
			if err != nil {
				return nil, err
			}
			before[key] = doc
		}
		changed := newChanges()
		if err := m.Apply(last, changed); err != nil {
			return nil, err
		}
		keys := make([]string, 0, len(changed.docs))
		for key := range changed.docs {
			keys = append(keys, key)
		}
		slices.Sort(keys)
		for _, key := range keys {
			if g, ok := m.(gathering); ok && oneStream && g.gathers(key) {
				continue
			}
			after, err := m.Doc(key)
			if err != nil {
				return nil, err
			}
			out = append(out, Row{Model: rm.Name, Key: key, Before: before[key], After: after})
		}
	}
	return out, nil
}
