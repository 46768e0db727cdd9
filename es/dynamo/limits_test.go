package dynamo

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/foldboard/foldboard/es"
)

func TestAnEventsWriteUnitsAreTwoPerKBOfItsItem(t *testing.T) {
	var s Store
	e := es.Envelope{
		ID: es.NewULID(time.Now()), Stream: es.StreamRef{Type: "cart", ID: "c-1"}, Version: 12,
		Type: "ItemAdded", SchemaVersion: 1, Time: time.Now(), Actor: "ana",
	}
	size := itemSize(eventItem(e))
	for _, c := range []struct {
		data int
		want float64
	}{
		{0, 2}, {1024 - size - 10, 2}, // within the first KB
		{1024 - size + 10, 4}, // just over it
		{3 * 1024, 8},         // 3 KB of data and the rest: 4 KB begun
	} {
		e.Data = nil
		if c.data > 0 {
			e.Data = json.RawMessage(`"` + strings.Repeat("x", c.data-2) + `"`)
		}
		if got := s.EventWriteUnits(e); got != c.want {
			t.Errorf("%d bytes of data (an item of %d): %v units, want %v", c.data, itemSize(eventItem(e)), got, c.want)
		}
	}
	// A long actor or ids count too: the item is what is priced.
	e.Data, e.Actor = nil, strings.Repeat("a", 1100)
	if got := s.EventWriteUnits(e); got != 4 {
		t.Errorf("an event with a 1,100-byte actor: %v units, want 4", got)
	}
	if s.StreamWriteUnits() != 1000 {
		t.Errorf("StreamWriteUnits %v, want DynamoDB's 1,000 a partition key", s.StreamWriteUnits())
	}
}
