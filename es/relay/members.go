package relay

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/foldboard/foldboard/es"
)

// Role is what an instance does in the cluster.
type Role string

// The roles.
const (
	RoleProjector Role = "projector" // holds the lease: reads the events' stream, saves, publishes
	RoleFollower  Role = "follower"  // follows the relay's feed
)

// maxMemberID bounds a member's id (a key and a set member).
const maxMemberID = 128

// Member is one instance as it last announced itself.
type Member struct {
	ID   string `json:"id"`
	Role Role   `json:"role"`
	// Position is the checkpoint its read models are at (the holder's
	// checkpoints; opaque, equal or not).
	Position string `json:"position"`
	// Appended is the time (es.Envelope.Time) of the newest event this
	// instance appended; zero if none. Applied is that of the newest event
	// its read models hold. Times compare across instances where positions
	// do not: the cluster's high-water mark is the newest of them all
	// (HighWater), and an instance's lag is the high-water mark less its
	// Applied.
	Appended time.Time `json:"appended"`
	Applied  time.Time `json:"applied"`
	// Loaded is when its read models were loaded from the saved ones: what
	// it holds is measured from there until it applies an event (Behind).
	Loaded time.Time `json:"loaded,omitzero"`
	// Clients is how many WebSocket clients it serves.
	Clients int `json:"clients"`
	// Seen is when it announced this; Announce sets it when zero.
	Seen time.Time `json:"seen"`
	// Stream, from the holder, is where its checkpoint stands in the
	// shards of the store's change feed (es.ShardedFeed): the one feed
	// read in the cluster, listed by the one instance that reads it, for
	// every instance's projections board. Nil from the others.
	Stream *es.ShardReport `json:"stream,omitempty"`
}

// HighWater is the newest event time any member appended or applied: the
// cluster's high-water mark, as far as the members know.
func HighWater(members []Member) time.Time {
	var hw time.Time
	for _, m := range members {
		for _, t := range []time.Time{m.Appended, m.Applied} {
			if t.After(hw) {
				hw = t
			}
		}
	}
	return hw
}

// Behind is how far m's read models are behind the high-water mark hw:
// hw less the newest event m applied, or, before it applied any since it
// loaded its read models, hw less when it loaded them (what was appended
// before that is taken to be in what it loaded). Zero when m is at or past
// hw. Times are the appenders' clocks: a skew between instances shows here.
func (m Member) Behind(hw time.Time) time.Duration {
	basis := m.Applied
	if basis.IsZero() {
		basis = m.Loaded
	}
	if hw.IsZero() || basis.IsZero() || !hw.After(basis) {
		return 0
	}
	return hw.Sub(basis)
}

// Announce records m as alive for Options.MemberTTL; instances announce
// every few seconds, and one that stops drops out of Members.
func (r *Relay) Announce(ctx context.Context, m Member) error {
	if m.ID == "" || len(m.ID) > maxMemberID || strings.ContainsAny(m.ID, " \r\n") {
		return fmt.Errorf("relay: member id %q: want 1-%d characters, no spaces", m.ID, maxMemberID)
	}
	if m.Seen.IsZero() {
		m.Seen = time.Now()
	}
	doc, err := json.Marshal(m)
	if err != nil {
		return fmt.Errorf("relay: member %s: %w", m.ID, err)
	}
	k := r.keys
	_, err = r.client.TxPipelined(ctx, func(p redis.Pipeliner) error {
		p.Set(ctx, k.member+m.ID, doc, r.opts.MemberTTL)
		p.ZAdd(ctx, k.members, redis.Z{Score: float64(m.Seen.UnixMilli()), Member: m.ID})
		// Keep the set bounded whatever ids come and go: the newest twice
		// as many as are listed.
		p.ZRemRangeByRank(ctx, k.members, 0, int64(-2*r.opts.MaxMembers-1))
		return nil
	})
	if err != nil {
		return fmt.Errorf("relay: announcing member %s: %w", m.ID, err)
	}
	return nil
}

// Members lists the members that announced within Options.MemberTTL, the
// Options.MaxMembers most recently seen at most, by id.
func (r *Relay) Members(ctx context.Context) ([]Member, error) {
	k := r.keys
	ids, err := r.client.ZRevRange(ctx, k.members, 0, int64(r.opts.MaxMembers-1)).Result()
	if err != nil {
		return nil, fmt.Errorf("relay: listing members: %w", err)
	}
	if len(ids) == 0 {
		return nil, nil
	}
	memberKeys := make([]string, len(ids))
	for i, id := range ids {
		memberKeys[i] = k.member + id
	}
	docs, err := r.client.MGet(ctx, memberKeys...).Result()
	if err != nil {
		return nil, fmt.Errorf("relay: reading members: %w", err)
	}
	var (
		members []Member
		gone    []any
	)
	for i, doc := range docs {
		s, ok := doc.(string)
		if !ok {
			gone = append(gone, ids[i]) // expired
			continue
		}
		var m Member
		if err := json.Unmarshal([]byte(s), &m); err != nil {
			return nil, fmt.Errorf("relay: member %s: %w", ids[i], err)
		}
		members = append(members, m)
	}
	if len(gone) > 0 {
		// Tidying only: an expired id is skipped above whether or not this works.
		if err := r.client.ZRem(ctx, k.members, gone...).Err(); err != nil && !errors.Is(err, context.Canceled) {
			r.log.Warn("relay: removing expired members", "err", err)
		}
	}
	slices.SortFunc(members, func(a, b Member) int { return strings.Compare(a.ID, b.ID) })
	return members, nil
}
