package dynamo

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/foldboard/foldboard/es"
)

func TestStreamEventLimitCountsTheEventItemsWriteUnits(t *testing.T) {
	// The overhead is what itemSize gives an event with every field set,
	// to within a few bytes either way.
	e := es.Envelope{
		ID: es.NewULID(time.Now()), Stream: es.StreamRef{Type: "cart", ID: "01JD0000000000000000000000"}, Version: 1234,
		Type: "ItemAdded", SchemaVersion: 1, Time: time.Now(), Actor: "a person with a name",
		CorrelationID: es.NewULID(time.Now()), CausationID: es.NewULID(time.Now()), CommandID: es.NewULID(time.Now()),
	}
	if got := itemSize(eventItem(e)); got > eventItemOverhead || got < eventItemOverhead-60 {
		t.Errorf("an event item without data is %d bytes; eventItemOverhead %d is off", got, eventItemOverhead)
	}
	e.Data = json.RawMessage(`{"pad":"` + strings.Repeat("x", 3000) + `"}`)
	units := transactWriteUnits(itemSize(eventItem(e)))
	var s Store
	if got, want := s.StreamEventLimit(len(e.Data)), float64(PartitionWriteUnits)/float64(units); got != want {
		t.Errorf("limit for 3 KB events: %.1f a second, want %.1f (%d units each)", got, want, units)
	}
	for _, c := range []struct {
		data int
		want float64
	}{{0, 500}, {200, 500}, {1000, 250}, {1800, 1000.0 / 6}, {-1, 500}} {
		if got := s.StreamEventLimit(c.data); got != c.want {
			t.Errorf("StreamEventLimit(%d) = %.1f, want %.1f", c.data, got, c.want)
		}
	}
}
