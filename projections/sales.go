package projections

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/foldboard/foldboard/domain/cart"
	"github.com/foldboard/foldboard/es"
)

const (
	// TopicSales changes with every checkout.
	TopicSales = "sales"
	salesKey   = "sales/"
)

// DaySales is one UTC day's checkouts: the sum of their totals and how many
// there were.
type DaySales struct {
	Day   string     `json:"day"` // 2006-01-02, the UTC day of the CheckedOut events
	Total cart.Money `json:"total"`
	Count int64      `json:"count"`
}

// SalesByDay sums the CheckedOut events of every cart by the UTC day of the
// event's time. It keeps no record of which carts it has counted: the
// projector applies each event once per stream version, so a redelivered
// checkout never reaches it twice. Each day is one document, "sales/2006-01-02".
type SalesByDay struct {
	events *es.Registry[cart.Event]

	mu   sync.RWMutex
	days map[string]DaySales
}

// NewSalesByDay makes an empty sales-by-day model.
func NewSalesByDay() *SalesByDay {
	return &SalesByDay{events: cart.Events(), days: map[string]DaySales{}}
}

// Owns claims the days' documents.
func (m *SalesByDay) Owns(key string) bool { return strings.HasPrefix(key, salesKey) }

// Load restores one day.
func (m *SalesByDay) Load(key string, doc json.RawMessage) error {
	var d DaySales
	if err := json.Unmarshal(doc, &d); err != nil {
		return err
	}
	if day := strings.TrimPrefix(key, salesKey); d.Day != day {
		return fmt.Errorf("sales document %s holds day %q", key, d.Day)
	}
	m.mu.Lock()
	m.days[d.Day] = d
	m.mu.Unlock()
	return nil
}

// Doc returns one day as a document.
func (m *SalesByDay) Doc(key string) (json.RawMessage, error) {
	m.mu.RLock()
	defer m.mu.RUnlock()
	d, ok := m.days[strings.TrimPrefix(key, salesKey)]
	if !ok {
		return nil, nil
	}
	return json.Marshal(d)
}

// Apply adds a checkout to its day; every other event leaves the model alone.
func (m *SalesByDay) Apply(env es.Envelope, ch *Changes) error {
	if env.Stream.Type != cart.StreamType || env.Type != (cart.CheckedOut{}).EventType() {
		return nil
	}
	e, err := m.events.DecodeEnvelope(env)
	if err != nil {
		return err
	}
	checkout, ok := e.(cart.CheckedOut)
	if !ok {
		return fmt.Errorf("%s version %d: a %s event decoded as %T", env.Stream, env.Version, env.Type, e)
	}
	day := SalesDay(env.Time)
	m.mu.Lock()
	d := m.days[day]
	total, ok := addMoney(d.Total, checkout.Total)
	if !ok {
		m.mu.Unlock()
		return fmt.Errorf("%s version %d: the sales of %s (%s) and this checkout's total (%s) add beyond what a total holds", env.Stream, env.Version, day, d.Total, checkout.Total)
	}
	d.Day, d.Total = day, total
	d.Count++
	m.days[day] = d
	m.mu.Unlock()
	ch.Doc(m, salesKey+day)
	ch.Topic(TopicSales)
	return nil
}

// addMoney adds two amounts; ok is false when the sum does not fit (the
// day's total is left as it was, and the event is refused).
func addMoney(a, b cart.Money) (cart.Money, bool) {
	sum := a + b
	if (b > 0 && sum < a) || (b < 0 && sum > a) {
		return a, false
	}
	return sum, true
}

// SalesDay is the day a checkout at t counts for: its UTC date.
func SalesDay(t time.Time) string { return t.UTC().Format(time.DateOnly) }

// Days lists every day with a checkout, oldest first.
func (m *SalesByDay) Days() []DaySales {
	m.mu.RLock()
	out := make([]DaySales, 0, len(m.days))
	for _, d := range m.days {
		out = append(out, d)
	}
	m.mu.RUnlock()
	slices.SortFunc(out, func(a, b DaySales) int { return strings.Compare(a.Day, b.Day) })
	return out
}
