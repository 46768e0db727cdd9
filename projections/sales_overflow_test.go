package projections

import (
	"encoding/json"
	"math"
	"testing"
	"time"

	"github.com/foldboard/foldboard/domain/cart"
	"github.com/foldboard/foldboard/es"
)

// TestSalesByDayRefusesATotalThatWouldOverflow: checkouts whose totals add
// beyond what a day's total holds are refused (the projector parks their
// stream) and the day keeps the sum it had, instead of wrapping to a
// negative figure.
func TestSalesByDayRefusesATotalThatWouldOverflow(t *testing.T) {
	m := NewSalesByDay()
	at := time.Date(2024, 6, 1, 12, 0, 0, 0, time.UTC)
	checkout := func(id string, total cart.Money) es.Envelope {
		data, _ := json.Marshal(cart.CheckedOut{Total: total, Items: 1})
		return es.Envelope{Stream: es.StreamRef{Type: "cart", ID: id}, Version: 2, Type: "CheckedOut", SchemaVersion: 1, Time: at, Data: data}
	}
	big := cart.Money(math.MaxInt64/2 + 1)
	if err := m.Apply(checkout("c-1", big), newChanges()); err != nil {
		t.Fatal(err)
	}
	if err := m.Apply(checkout("c-2", big), newChanges()); err == nil {
		t.Fatalf("a sum beyond int64 was applied: %+v", m.Days())
	}
	if _, ok := addMoney(math.MinInt64+1, -2); ok {
		t.Errorf("a sum below int64 adds")
	}
	days := m.Days()
	if len(days) != 1 || days[0].Total != big || days[0].Count != 1 {
		t.Errorf("after the refused checkouts the day holds %+v, want the first alone", days)
	}
}
