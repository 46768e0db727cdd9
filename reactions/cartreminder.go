package reactions

import (
	"context"
	"encoding/json"
	"fmt"
	"maps"
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
	return CartReminderOf(NewQuietCarts(after), every)
}

// CartReminderOf is the cart reminder on the schedule q, asked what is due
// every every.
func CartReminderOf(q *QuietCarts, every time.Duration) es.Reaction {
	return es.Timed(CartReminder, []string{"ItemAdded", "ItemRemoved", "CheckedOut", "ReminderSent"}, every, q)
}

// QuietCarts is the cart-reminder's schedule: the carts that have items,
// are not checked out and were not reminded since they last changed.
//
// It keeps them in the store, among its reactor's documents
// (es.StoredSchedule): a document a cart (under its id: its version, its
// items, whether it was reminded since it changed, and when it last
// changed), kept after it leaves the schedule so that a redelivered older
// event does not bring it back; and an index of the scheduled ones by when
// they last changed, quiet/<at>/<cart> (at fixed-width UTC, so that keys
// sort by time), from which Due reads the oldest up to now, at most
// PerTick (500). Memory holds only what changed since the reactor's last
// save (at most es.DocsPerSave documents), or everything when there is no
// store to read back from (no reactor, or saves that read nothing on
// demand).
type QuietCarts struct {
	after   time.Duration
	perTick int
	saved   es.SavedDocs // nil: everything is held in carts and quiet
	// carts are the carts' documents changed since the last save; quiet
	// the index's entries, nil for one deleted.
	carts map[string]*openCart
	quiet map[string]*quietEntry
}

// openCart is one cart's document, under its id. The cart is scheduled
// while it has items and was not reminded since its last change.
type openCart struct {
	Version     int64     `json:"version"`
	LastEvent   string    `json:"lastEvent,omitempty"`
	Correlation string    `json:"correlation,omitempty"`
	At          time.Time `json:"at,omitzero"`
	SKUs        []string  `json:"skus,omitempty"` // sorted
	Reminded    bool      `json:"reminded,omitempty"`
}

func (c *openCart) scheduled() bool { return c != nil && len(c.SKUs) > 0 && !c.Reminded }

// quietEntry is an entry of the index, quiet/<at>/<cart>: what the
// cart's reminder names.
type quietEntry struct {
	Version     int64  `json:"version"`
	LastEvent   string `json:"lastEvent"`
	Correlation string `json:"correlation,omitempty"`
}

const (
	// quietPrefix begins the index's keys.
	quietPrefix = "quiet/"
	// quietStamp is the index's time: fixed-width, so that keys sort by it.
	quietStamp = "2006-01-02T15:04:05.000000000Z"
	// maxDuePerTick bounds a tick's work (and its read of the index); the
	// rest are due at the next.
	maxDuePerTick = 500
)

// quietKey is the index's key of a cart that last changed at.
func quietKey(id string, at time.Time) string {
	return quietPrefix + at.UTC().Format(quietStamp) + "/" + id
}

// NewQuietCarts makes an empty schedule of carts quiet for after.
func NewQuietCarts(after time.Duration) *QuietCarts {
	return &QuietCarts{after: after, perTick: maxDuePerTick, carts: map[string]*openCart{}, quiet: map[string]*quietEntry{}}
}

var _ es.StoredSchedule = (*QuietCarts)(nil)

// PerTick sets the most reminders q finds due at a tick (500 unless set;
// 1 to es.MaxDocRange), and returns q.
func (q *QuietCarts) PerTick(n int) *QuietCarts {
	q.perTick = min(max(n, 1), es.MaxDocRange)
	return q
}

// Watch follows one cart event; it returns the keys of the documents it
// changed: the cart's, and the index's entries it left and joined.
func (q *QuietCarts) Watch(ctx context.Context, env es.Envelope) ([]string, error) {
	if env.Stream.Type != cart.StreamType {
		return nil, nil
	}
	id := env.Stream.ID
	c, err := q.cart(ctx, id)
	if err != nil {
		return nil, err
	}
	if c != nil && env.Version <= c.Version {
		return nil, nil // seen before
	}
	next := &openCart{Version: env.Version}
	if c != nil {
		next.SKUs = slices.Clone(c.SKUs)
	}
	switch env.Type {
	case "ItemAdded", "ItemRemoved":
		var e struct {
			SKU string `json:"sku"`
		}
		if err := json.Unmarshal(env.Data, &e); err != nil {
			return nil, es.Permanent(err)
		}
		next.SKUs = withSKU(next.SKUs, e.SKU, env.Type == "ItemAdded")
		next.LastEvent, next.Correlation, next.At = env.ID, env.CorrelationID, env.Time
	case "ReminderSent":
		// Out of the schedule until it changes again, its items kept.
		next.Reminded = true
	default: // checked out: out for good
		next.SKUs = nil
	}
	changed := []string{id}
	q.carts[id] = next
	if c.scheduled() {
		key := quietKey(id, c.At)
		q.quiet[key] = nil
		changed = append(changed, key)
	}
	if next.scheduled() {
		key := quietKey(id, next.At)
		q.quiet[key] = &quietEntry{Version: next.Version, LastEvent: next.LastEvent, Correlation: next.Correlation}
		if !slices.Contains(changed, key) {
			changed = append(changed, key)
		}
	}
	return changed, nil
}

// cart is the cart's document: changed since the last save, else saved;
// nil for a cart never seen.
func (q *QuietCarts) cart(ctx context.Context, id string) (*openCart, error) {
	if c, ok := q.carts[id]; ok || q.saved == nil {
		return c, nil
	}
	doc, err := q.saved.Doc(ctx, id)
	if err != nil || doc == nil {
		return nil, err
	}
	var c openCart
	if err := json.Unmarshal(doc, &c); err != nil {
		return nil, es.Permanent(fmt.Errorf("cart %s's document: %w", id, err))
	}
	return &c, nil
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

// Reset forgets every cart, and the store read back from.
func (q *QuietCarts) Reset() {
	clear(q.carts)
	clear(q.quiet)
	q.saved = nil
}

// Load restores one document, held in memory (from saves that read
// nothing on demand).
func (q *QuietCarts) Load(key string, doc json.RawMessage) error {
	if strings.HasPrefix(key, quietPrefix) {
		var e quietEntry
		if err := json.Unmarshal(doc, &e); err != nil {
			return err
		}
		q.quiet[key] = &e
		return nil
	}
	var c openCart
	if err := json.Unmarshal(doc, &c); err != nil {
		return err
	}
	q.carts[key] = &c
	return nil
}

// Use reads the saved documents through saved from now on.
func (q *QuietCarts) Use(saved es.SavedDocs) { q.saved = saved }

// Saved lets go of what changed: the store holds it now.
func (q *QuietCarts) Saved() {
	if q.saved != nil {
		clear(q.carts)
		clear(q.quiet)
	}
}

// Held is how many documents the schedule holds in memory.
func (q *QuietCarts) Held() int { return len(q.carts) + len(q.quiet) }

// Doc is the document under key as Watch changed it, nil for an entry of
// the index deleted.
func (q *QuietCarts) Doc(key string) (json.RawMessage, error) {
	if strings.HasPrefix(key, quietPrefix) {
		e, ok := q.quiet[key]
		switch {
		case !ok:
			return nil, fmt.Errorf("cart reminder: no change to %s held", key)
		case e == nil:
			return nil, nil
		}
		return json.Marshal(e)
	}
	c, ok := q.carts[key]
	if !ok {
		return nil, fmt.Errorf("cart reminder: no change to cart %s held", key)
	}
	return json.Marshal(c)
}

// Due lists a reminder for every cart quiet for the schedule's time at now,
// the quietest first, at most PerTick: the index's oldest entries up
// to now less the time, the saved ones with what changed since laid over.
func (q *QuietCarts) Due(ctx context.Context, now time.Time) ([]es.DueCommand, error) {
	before := es.RangeEnd(quietPrefix + now.Add(-q.after).UTC().Format(quietStamp) + "/")
	over := map[string]*quietEntry{}
	for key, e := range q.quiet {
		if key < before {
			over[key] = e
		}
	}
	entries := map[string]*quietEntry{}
	if q.saved != nil {
		// Each entry changed since the save may hide a saved one.
		limit := min(q.perTick+len(over), es.MaxDocRange)
		docs, err := q.saved.Range(ctx, es.DocRange{Prefix: quietPrefix, Before: before, Limit: limit, Ascending: true})
		if err != nil {
			return nil, err
		}
		for _, d := range docs {
			var e quietEntry
			if err := json.Unmarshal(d.Data, &e); err != nil {
				return nil, fmt.Errorf("cart reminder: %s: %w", d.Key, err)
			}
			entries[d.Key] = &e
		}
		if len(docs) == limit {
			// The index has more: an entry changed past the last read
			// would come after saved ones not read.
			last := docs[len(docs)-1].Key
			for key := range over {
				if key > last {
					delete(over, key)
				}
			}
		}
	}
	for key, e := range over {
		if e == nil {
			delete(entries, key)
		} else {
			entries[key] = e
		}
	}
	keys := slices.Sorted(maps.Keys(entries))
	due := make([]es.DueCommand, 0, min(len(keys), q.perTick))
	for _, key := range keys[:min(len(keys), q.perTick)] {
		e := entries[key]
		stream := es.StreamRef{Type: cart.StreamType, ID: key[len(quietPrefix)+len(quietStamp)+1:]}
		due = append(due, es.DueCommand{
			IssuedCommand: es.IssuedCommand{Stream: stream, Command: cart.SendReminder{Actor: es.SystemActor(CartReminder)}, AtVersion: e.Version},
			CauseID:       e.LastEvent, CauseStream: stream, CauseCorrelation: e.Correlation,
		})
	}
	return due, nil
}
