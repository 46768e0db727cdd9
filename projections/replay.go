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

// ReplayRows replays events, oldest first, into a fresh model of each of
// models and returns the documents the last event changed, before and after
// it: what each read model made of that event, as it was then.
func ReplayRows(models []ReadModel, events []es.Envelope) ([]Row, error) {
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
			after, err := m.Doc(key)
			if err != nil {
				return nil, err
			}
			out = append(out, Row{Model: rm.Name, Key: key, Before: before[key], After: after})
		}
	}
	return out, nil
}
