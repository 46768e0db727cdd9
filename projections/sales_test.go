package projections

import (
	"encoding/json"
	"fmt"
	"math/big"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/foldboard/foldboard/domain/cart"
	"github.com/foldboard/foldboard/es"
)

// cartCommand is a random cart command: mostly adds, from a few skus at
// prices that test exactness (a cent, the highest price), some removals,
// and now and then a checkout.
func cartCommand(rng *rand.Rand, s cart.State) (cart.Command, string) {
	actor := pick(rng, "ana", "bo")
	switch rng.IntN(10) {
	case 0, 1:
		return cart.CheckOut{}, actor
	case 2:
		return cart.RemoveItem{SKU: pick(rng, "tea", "cup", "pot")}, actor
	}
	sku := pick(rng, "tea", "cup", "pot", "car")
	price := map[string]cart.Money{"tea": 1999, "cup": 1, "pot": 0, "car": cart.MaxPrice}[sku]
	if rng.IntN(20) == 0 {
		price++ // refused as a price mismatch when the sku is in the cart
	}
	return cart.AddItem{SKU: sku, Qty: 1 + rng.IntN(5), Price: price}, actor
}

// salesFromLog is the sales by day computed from a log directly: each
// checkout's total from the lines its cart held, in exact rationals, summed
// by the UTC day of the event. It shares no code with SalesByDay.
func salesFromLog(t *testing.T, log []es.Envelope) map[string]daySum {
	t.Helper()
	type line struct {
		qty   int64
		price *big.Rat
	}
	carts := map[es.StreamRef]map[string]line{}
	totals, counts := map[string]*big.Rat{}, map[string]int64{}
	for _, env := range log {
		var data struct {
			SKU   string `json:"sku"`
			Qty   int64  `json:"qty"`
			Price string `json:"price"`
			Total string `json:"total"`
		}
		if err := json.Unmarshal(env.Data, &data); err != nil {
			t.Fatal(err)
		}
		lines := carts[env.Stream]
		if lines == nil {
			lines = map[string]line{}
			carts[env.Stream] = lines
		}
		switch env.Type {
		case "ItemAdded":
			price, ok := new(big.Rat).SetString(data.Price)
			if !ok {
				t.Fatalf("price %q", data.Price)
			}
			l := lines[data.SKU]
			lines[data.SKU] = line{qty: l.qty + data.Qty, price: price}
		case "ItemRemoved":
			delete(lines, data.SKU)
		case "CheckedOut":
			total := new(big.Rat)
			for _, l := range lines {
				total.Add(total, new(big.Rat).Mul(l.price, new(big.Rat).SetInt64(l.qty)))
			}
			if total.FloatString(2) != data.Total {
				t.Fatalf("%s checked out for %s, its lines make %s", env.Stream, data.Total, total.FloatString(2))
			}
			day := env.Time.In(time.UTC).Format("2006-01-02")
			if totals[day] == nil {
				totals[day] = new(big.Rat)
			}
			totals[day].Add(totals[day], total)
			counts[day]++
		}
	}
	want := map[string]daySum{}
	for day, total := range totals {
		want[day] = daySum{total: total.FloatString(2), count: counts[day]}
	}
	return want
}

// daySum is a day's sales as salesFromLog computes them.
type daySum struct {
	total string
	count int64
}

func checkSales(t *testing.T, what string, got []DaySales, want map[string]daySum) {
	t.Helper()
	if !slices.IsSortedFunc(got, func(a, b DaySales) int { return strings.Compare(a.Day, b.Day) }) {
		t.Errorf("%s: days out of order: %+v", what, got)
	}
	if len(got) != len(want) {
		t.Fatalf("%s: %d days, want %d:\n got %+v\nwant %+v", what, len(got), len(want), got, want)
	}
	for _, d := range got {
		if w := want[d.Day]; d.Total.String() != w.total || d.Count != w.count {
			t.Fatalf("%s: %s is %s from %d checkouts, want %s from %d", what, d.Day, d.Total, d.Count, w.total, w.count)
		}
	}
}

func TestSalesByDayIsTheSumOfCheckoutsByUTCDay(t *testing.T) {
	checkouts := 0
	for seed := range uint64(300) {
		rng := rand.New(rand.NewPCG(seed, 5))
		log := randomLog(t, rng, cart.Decider(), 2+rng.IntN(30), rng.IntN(400), cartCommand)
		want := salesFromLog(t, log)
		m := NewSalesByDay()
		applyAll(t, log, m)
		checkSales(t, fmt.Sprintf("seed %d", seed), m.Days(), want)
		for _, d := range want {
			checkouts += int(d.count)
		}
	}
	if checkouts < 1000 {
		t.Fatalf("only %d checkouts in all: the generator is too timid to test much", checkouts)
	}
}

func TestSalesByDayThroughTheProjectorCountsEachCheckoutOnce(t *testing.T) {
	for seed := range uint64(25) {
		rng := rand.New(rand.NewPCG(seed, 6))
		log := randomLog(t, rng, cart.Decider(), 2+rng.IntN(20), 100+rng.IntN(300), cartCommand)
		want := salesFromLog(t, log)
		m := NewSalesByDay()
		// Alongside a cart view, as in the read side.
		store := project(t, rng, log, NewStreams(cart.Decider(), TopicCarts), m)
		what := fmt.Sprintf("seed %d", seed)
		checkSales(t, what, m.Days(), want)
		// What was saved is the same: one document per day.
		checkSales(t, what+" reloaded", reload(t, store, NewSalesByDay()).Days(), want)
		for day := range want {
			if _, ok := store.docs["sales/"+day]; !ok {
				t.Fatalf("%s: no document sales/%s", what, day)
			}
		}
	}
}

func TestSalesByDayMarksItsDayAndTopic(t *testing.T) {
	m := NewSalesByDay()
	ch := newChanges()
	data, _ := json.Marshal(cart.CheckedOut{Total: 20050, Items: 3})
	late := time.Date(2024, 6, 1, 23, 30, 0, 0, time.FixedZone("UTC-7", -7*3600)) // 06:30 UTC on June 2
	env := es.Envelope{Stream: es.StreamRef{Type: "cart", ID: "c-1"}, Version: 4, Type: "CheckedOut", SchemaVersion: 1, Time: late, Data: data}
	if err := m.Apply(env, ch); err != nil {
		t.Fatal(err)
	}
	if _, ok := ch.docs["sales/2024-06-02"]; !ok || !slices.Equal(ch.Topics(), []string{TopicSales}) {
		t.Fatalf("changes: docs %v, topics %v", ch.docs, ch.Topics())
	}
	doc, _ := m.Doc("sales/2024-06-02")
	if string(doc) != `{"day":"2024-06-02","total":"200.50","count":1}` {
		t.Errorf("document %s", doc)
	}
	// Other events, of carts or not, change nothing.
	ch = newChanges()
	for _, other := range []es.Envelope{
		{Stream: es.StreamRef{Type: "cart", ID: "c-1"}, Version: 1, Type: "ItemAdded", Data: json.RawMessage(`{"sku":"x","qty":1,"price":"1"}`)},
		{Stream: es.StreamRef{Type: "match", ID: "m-1"}, Version: 1, Type: "CheckedOut", Data: data},
	} {
		if err := m.Apply(other, ch); err != nil {
			t.Fatal(err)
		}
	}
	if len(ch.docs) != 0 || len(ch.topics) != 0 {
		t.Errorf("non-checkouts changed %v %v", ch.docs, ch.topics)
	}
	if err := m.Load("sales/2024-06-03", doc); err == nil {
		t.Errorf("a document under another day's key loads")
	}
}
