package reactions_test

import (
	"encoding/json"
	"fmt"
	"reflect"
	"testing"
	"time"

	"github.com/foldboard/foldboard/domain/cart"
	"github.com/foldboard/foldboard/es"
	"github.com/foldboard/foldboard/reactions"
)

// cartEvent is a given event of the reminder's table: its type, sku and
// minutes after the start.
type cartEvent struct {
	cart    string
	typ     string
	sku     string
	minutes int
}

var t0 = time.Date(2026, 6, 1, 9, 0, 0, 0, time.UTC)

// envelopes numbers the given events per cart, as a feed would bring them.
func envelopes(t *testing.T, given []cartEvent) []es.Envelope {
	t.Helper()
	versions := map[string]int64{}
	var out []es.Envelope
	for _, g := range given {
		versions[g.cart]++
		v := versions[g.cart]
		data := json.RawMessage(`{}`)
		if g.sku != "" {
			data = json.RawMessage(fmt.Sprintf(`{"sku":%q,"qty":1,"price":"1.00"}`, g.sku))
		}
		out = append(out, es.Envelope{
			ID: fmt.Sprintf("%s-v%d", g.cart, v), Stream: es.StreamRef{Type: "cart", ID: g.cart}, Version: v,
			Type: g.typ, Time: t0.Add(time.Duration(g.minutes) * time.Minute), CorrelationID: "corr-" + g.cart, Data: data,
		})
	}
	return out
}

func reminder(id string, version int64) es.DueCommand {
	stream := es.StreamRef{Type: "cart", ID: id}
	return es.DueCommand{
		IssuedCommand: es.IssuedCommand{Stream: stream, Command: cart.SendReminder{Actor: "system/cart-reminder"}, AtVersion: version},
		CauseID:       fmt.Sprintf("%s-v%d", id, version), CauseStream: stream, CauseCorrelation: "corr-" + id,
	}
}

func TestCartReminderTable(t *testing.T) {
	const after = 60 // minutes
	for _, rw := range []struct {
		name  string
		given []cartEvent
		now   int // minutes after the start
		then  []es.DueCommand
	}{
		{"a cart quiet for the time is due", []cartEvent{{"c1", "ItemAdded", "tea", 0}}, 60, []es.DueCommand{reminder("c1", 1)}},
		{"a cart quiet for less is not", []cartEvent{{"c1", "ItemAdded", "tea", 0}}, 59, nil},
		{"the spell runs from the last change", []cartEvent{{"c1", "ItemAdded", "tea", 0}, {"c1", "ItemAdded", "cup", 30}}, 70, nil},
		{"the reminder names the last change", []cartEvent{{"c1", "ItemAdded", "tea", 0}, {"c1", "ItemAdded", "cup", 30}}, 90, []es.DueCommand{reminder("c1", 2)}},
		{"a reminded cart is not due again", []cartEvent{{"c1", "ItemAdded", "tea", 0}, {"c1", "ReminderSent", "", 61}}, 500, nil},
		{"a reminded cart that changes begins a new spell", []cartEvent{{"c1", "ItemAdded", "tea", 0}, {"c1", "ReminderSent", "", 61}, {"c1", "ItemAdded", "cup", 100}}, 160, []es.DueCommand{reminder("c1", 3)}},
		{"a reminded cart keeps its items", []cartEvent{{"c1", "ItemAdded", "tea", 0}, {"c1", "ItemAdded", "cup", 0}, {"c1", "ReminderSent", "", 61}, {"c1", "ItemRemoved", "cup", 100}}, 160, []es.DueCommand{reminder("c1", 4)}},
		{"a checked-out cart is never due", []cartEvent{{"c1", "ItemAdded", "tea", 0}, {"c1", "CheckedOut", "", 1}}, 500, nil},
		{"an emptied cart is not due", []cartEvent{{"c1", "ItemAdded", "tea", 0}, {"c1", "ItemRemoved", "tea", 1}}, 500, nil},
		{"a cart with an item left is due", []cartEvent{{"c1", "ItemAdded", "tea", 0}, {"c1", "ItemAdded", "cup", 0}, {"c1", "ItemRemoved", "tea", 1}}, 61, []es.DueCommand{reminder("c1", 3)}},
		{"the quietest cart comes first", []cartEvent{{"c2", "ItemAdded", "tea", 5}, {"c1", "ItemAdded", "tea", 10}, {"c3", "ItemAdded", "tea", 50}}, 100, []es.DueCommand{reminder("c2", 1), reminder("c1", 1)}},
	} {
		t.Run(rw.name, func(t *testing.T) {
			q := reactions.NewQuietCarts(after * time.Minute)
			for _, env := range envelopes(t, rw.given) {
				if _, err := q.Watch(t.Context(), env); err != nil {
					t.Fatal(err)
				}
			}
			got, err := q.Due(t.Context(), t0.Add(time.Duration(rw.now)*time.Minute))
			if err != nil {
				t.Fatal(err)
			}
			if len(got) == 0 {
				got = nil
			}
			if !reflect.DeepEqual(got, rw.then) {
				t.Errorf("due:\n got %s\nwant %s", show(got), show(rw.then))
			}
		})
	}
}

func TestCartReminderIgnoresRedeliveredAndSavedEvents(t *testing.T) {
	given := envelopes(t, []cartEvent{{"c1", "ItemAdded", "tea", 0}, {"c1", "CheckedOut", "", 1}})
	q := reactions.NewQuietCarts(time.Minute)
	for _, env := range append(given, given...) { // the feed hands them on twice
		if _, err := q.Watch(t.Context(), env); err != nil {
			t.Fatal(err)
		}
	}
	if due, _ := q.Due(t.Context(), t0.Add(time.Hour)); len(due) != 0 {
		t.Fatalf("a checked-out cart whose events came again is due: %s", show(due))
	}
	// What is saved loads into an equal schedule.
	q = reactions.NewQuietCarts(time.Minute)
	keys, _ := q.Watch(t.Context(), given[0])
	loaded := reactions.NewQuietCarts(time.Minute)
	for _, key := range keys {
		doc, err := q.Doc(key)
		if err != nil {
			t.Fatal(err)
		}
		if err := loaded.Load(key, doc); err != nil {
			t.Fatal(err)
		}
	}
	got, _ := loaded.Due(t.Context(), t0.Add(time.Hour))
	want, _ := q.Due(t.Context(), t0.Add(time.Hour))
	if !reflect.DeepEqual(got, want) || len(got) != 1 {
		t.Fatalf("loaded schedule is due %s, the one saved %s", show(got), show(want))
	}
}
