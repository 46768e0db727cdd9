package reactions

import (
	"encoding/json"
	"slices"
	"strings"
	"time"

	"github.com/foldboard/foldboard/domain/cart"
	"github.com/foldboard/foldboard/es"
)

// DefaultReminderAfter is how long a cart with items must be quiet before
// its reminder (-reminder-after).
const DefaultReminderAfter = 24 * time.Hour

// CartReminderReaction sends ReminderSent to every cart with items that has
// been quiet for after, once per quiet spell. Time enters it from the
// reactor's clock, as the argument of its schedule's Due: the schedule
// remembers each open cart's last event (its time, by the store's clock at
// the append, and its version), and at each tick finds the carts whose last
// event is older than after. Its command names the version it saw quiet,
// so a cart that moved since refuses with a conflict; and its command id
// comes from that last event, so a reminder due again after a restart is
// not sent twice. The cart's decider takes no time at all.
func CartReminderReaction(after time.Duration) es.Reaction {
	if after <= 0 {
		after = DefaultReminderAfter
	}
	every := min(max(after/4, 100*time.Millisecond), time.Minute)
	return es.Timed(CartReminder, []string{"ItemAdded", "ItemRemoved", "CheckedOut", "ReminderSent"}, every, NewQuietCarts(after))
}

// QuietCarts is the cart-reminder's schedule: the carts that have items,
// are not checked out and were not reminded since they last changed.
type QuietCarts struct {
	after time.Duration
	carts map[string]*openCart
	// done remembers the versions of carts that left the schedule lately,
	// so that a redelivered older event does not bring one back.
	done      map[string]int64
	doneOrder []string
}

// openCart is one cart of the schedule, saved as a document.
type openCart struct {
	Version     int64     `json:"version"`
	LastEvent   string    `json:"lastEvent"`
	Correlation string    `json:"correlation,omitempty"`
	At          time.Time `json:"at"`
	SKUs        []string  `json:"skus"` // sorted
}

const (
	// doneKeep bounds the memory of carts that left the schedule.
	doneKeep = 10_000
	// maxDuePerTick bounds a tick's work; the rest are due at the next.
	maxDuePerTick = 500
)

// NewQuietCarts makes an empty schedule of carts quiet for after.
func NewQuietCarts(after time.Duration) *QuietCarts {
	return &QuietCarts{after: after, carts: map[string]*openCart{}, done: map[string]int64{}}
}

// Watch follows one cart event; it returns the cart's id as the document
// changed.
func (q *QuietCarts) Watch(env es.Envelope) ([]string, error) {
	if env.Stream.Type != cart.StreamType {
		return nil, nil
	}
	id := env.Stream.ID
	c := q.carts[id]
	if (c != nil && env.Version <= c.Version) || env.Version <= q.done[id] {
		return nil, nil // seen before
	}
	switch env.Type {
	case "ItemAdded", "ItemRemoved":
		var e struct {
			SKU string `json:"sku"`
		}
		if err := json.Unmarshal(env.Data, &e); err != nil {
			return nil, err
		}
		if c == nil {
			c = &openCart{}
		}
		c.SKUs = withSKU(c.SKUs, e.SKU, env.Type == "ItemAdded")
		c.Version, c.LastEvent, c.Correlation, c.At = env.Version, env.ID, env.CorrelationID, env.Time
		if len(c.SKUs) > 0 {
			q.carts[id] = c
			return []string{id}, nil
		}
	}
	// Checked out, reminded or emptied: out of the schedule until it
	// changes again.
	_, scheduled := q.carts[id]
	delete(q.carts, id)
	q.forget(id, env.Version)
	if !scheduled {
		return nil, nil
	}
	return []string{id}, nil
}

func withSKU(skus []string, sku string, add bool) []string {
	i, found := slices.BinarySearch(skus, sku)
	switch {
	case add && !found:
		return slices.Insert(skus, i, sku)
	case !add && found:
		return slices.Delete(skus, i, i+1)
	}
	return skus
}

func (q *QuietCarts) forget(id string, version int64) {
	if _, ok := q.done[id]; !ok {
		if len(q.doneOrder) >= doneKeep {
			delete(q.done, q.doneOrder[0])
			q.doneOrder = q.doneOrder[1:]
		}
		q.doneOrder = append(q.doneOrder, id)
	}
	q.done[id] = version
}

// Reset forgets every cart.
func (q *QuietCarts) Reset() {
	clear(q.carts)
	clear(q.done)
	q.doneOrder = nil
}

// Load restores one cart.
func (q *QuietCarts) Load(key string, doc json.RawMessage) error {
	var c openCart
	if err := json.Unmarshal(doc, &c); err != nil {
		return err
	}
	q.carts[key] = &c
	return nil
}

// Doc is one cart's document, nil once it left the schedule.
func (q *QuietCarts) Doc(key string) (json.RawMessage, error) {
	c, ok := q.carts[key]
	if !ok {
		return nil, nil
	}
	return json.Marshal(c)
}

// Due lists a reminder for every cart quiet for the schedule's time at now,
// the quietest first.
func (q *QuietCarts) Due(now time.Time) []es.DueCommand {
	var ids []string
	for id, c := range q.carts {
		if now.Sub(c.At) >= q.after {
			ids = append(ids, id)
		}
	}
	slices.SortFunc(ids, func(a, b string) int {
		if c := q.carts[a].At.Compare(q.carts[b].At); c != 0 {
			return c
		}
		return strings.Compare(a, b)
	})
	due := make([]es.DueCommand, 0, min(len(ids), maxDuePerTick))
	for _, id := range ids[:min(len(ids), maxDuePerTick)] {
		c := q.carts[id]
		stream := es.StreamRef{Type: cart.StreamType, ID: id}
		due = append(due, es.DueCommand{
			IssuedCommand: es.IssuedCommand{Stream: stream, Command: cart.SendReminder{Actor: es.SystemActor(CartReminder)}, AtVersion: c.Version},
			CauseID:       c.LastEvent, CauseStream: stream, CauseCorrelation: c.Correlation,
		})
	}
	return due
}
