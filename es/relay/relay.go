// Package relay carries what the lease holder applied to every other
// instance of a foldboard cluster, through Redis (Redis OSS, Valkey or
// ElastiCache; go-redis v9 speaks to all of them).
//
// Three things travel through it, each with its own Redis mechanism:
//
//   - What the holder applied, in order: a Redis Stream with one entry per
//     applied batch (XADD, capped by an approximate MAXLEN). The holder calls
//     Publish after each batch; every other instance follows Feed(), an
//     es.Feed, with the same projections as the holder, and so holds the same
//     read models in memory.
//   - "Something was appended": pub/sub (PUBLISH/SUBSCRIBE), fire and forget.
//     Any instance calls NotifyAppended after an append, naming the stream
//     and its version; the holder selects on Appended to read the DynamoDB
//     Stream at once instead of at its idle poll, and eagerly only until its
//     feed has handed those versions on.
//   - Who is there: the instance registry (Announce, Members), for the
//     dashboard and /healthz; an instance that stops announcing drops out.
//
// # Checkpoints and contiguity
//
// The feed's checkpoints are the holder's own checkpoints: the strings the
// holder saves with its read models. Each stream entry carries the holder's
// checkpoint before its batch (from), the batch's events, and the checkpoint
// after it (to), and the holder's lease epoch. Follow(ctx, from, apply) finds
// the retained entry whose from is the follower's checkpoint and hands on it
// and each entry after it, but only while each entry's from is the previous
// entry's to. So a follower's read models are always the fold of a prefix of
// the log, never a mix. When the follower's checkpoint is not among the
// retained entries (trimmed away, Redis restarted empty, a new holder that
// started from an older saved checkpoint, so that its batches begin
// elsewhere), or the next entry does not continue it, Follow returns an error
// matching ErrBehind, having applied nothing that does not continue: the
// caller reloads the saved read models and follows again from their
// checkpoint. A network blip or a Redis restart is not an error: Follow
// reconnects with backoff and resumes after the last entry it read; only a
// break in continuity ends it.
//
// Delivery is like the holder's own feed, at least once: a checkpoint that the
// holder's feed left where it was (from equal to to) is found at the first
// entry of such a run, so a follower may be handed those events again; read
// models ignore versions they have applied.
//
// # Sizes
//
// A batch is split into entries (parts) of at most Options.MaxEntryBytes of
// encoded events each (an event larger than that travels alone), written in
// one atomic step; a follower applies a batch only once it has all its parts,
// as one es.Batch. A batch over Options.MaxBatchBytes is refused with
// ErrTooLarge and nothing is written: followers then find that the next batch
// does not continue theirs (ErrBehind) and reload.
//
// # Fencing
//
// Publish refuses an epoch older than the newest one published (ErrStaleEpoch),
// checked atomically by Redis with the write, so a deposed holder that has not
// noticed yet cannot append to what followers read.
//
// # Wiring it
//
// The holder, after applying each batch (and before saving it, so that a
// saved checkpoint has normally been published already): Publish(ctx with a
// deadline of about a second, its epoch, its checkpoint before the batch, the
// batch). ErrStaleEpoch: step down. Any other error: log it and go on. While
// idle, every few seconds, it publishes an empty batch from its checkpoint to
// itself (a heartbeat), so that a follower that missed a failed publish
// finds out. Its feed tailer selects on Appended(ctx).
//
// A follower loads the saved read models (checkpoint C) and runs
// Feed().Follow(ctx, C, apply). On ErrBehind it reloads the saved read models
// and follows again from their checkpoint, pausing a little (growing while it
// repeats: the saved checkpoint may be a moment ahead of what was published).
//
// Every instance calls NotifyAppended after each append, and Announce every
// few seconds (well within Options.MemberTTL).
//
// # Keys
//
// Every key holds Options.Prefix (foldboards sharing a Redis key by their
// table prefix) in one hash tag, so that on a Redis Cluster all of them live
// in one slot:
//
//	{PREFIXrelay}:applied   the stream
//	{PREFIXrelay}:index     checkpoint (hashed) → id of the entry that starts from it
//	{PREFIXrelay}:order     the index's entries, oldest first (to trim it)
//	{PREFIXrelay}:last      the newest entry's epoch, from, to and id
//	{PREFIXrelay}:appended  the pub/sub channel
//	{PREFIXrelay}:members   member ids by last announcement (a sorted set)
//	{PREFIXrelay}:member:ID one member, expiring (Options.MemberTTL)
package relay

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"
)

// Defaults of Options.
const (
	DefaultMaxLen        = 20_000
	DefaultMaxEntryBytes = 512 << 10
	DefaultMaxBatchBytes = 64 << 20
	DefaultMemberTTL     = 15 * time.Second
	DefaultMaxMembers    = 64
)

// Options configure a Relay; the zero value of each field means its default.
type Options struct {
	// Prefix starts every key: the table prefix, so that several foldboards
	// can share one Redis. No braces (they would break the hash tag).
	Prefix string
	// MaxLen caps the stream at about this many entries (XADD MAXLEN ~);
	// DefaultMaxLen. A follower further behind than that reloads. Redis
	// holds about MaxLen times an entry's size: its events and two
	// checkpoints (a DynamoDB one is a few hundred bytes to a kilobyte), so
	// some 20-60 MB at the default, minutes of a busy cluster's batches.
	MaxLen int64
	// MaxEntryBytes caps the encoded events of one entry; a bigger batch is
	// split. DefaultMaxEntryBytes.
	MaxEntryBytes int
	// MaxBatchBytes caps the encoded events of one batch; a bigger one is
	// refused (ErrTooLarge). DefaultMaxBatchBytes.
	MaxBatchBytes int
	// MemberTTL is how long a member stays listed after its last Announce;
	// DefaultMemberTTL. Announce well within it.
	MemberTTL time.Duration
	// MaxMembers caps the members Members lists; DefaultMaxMembers.
	MaxMembers int
	// Logger receives the relay's own reports (reconnections, failed
	// notifications); slog.Default() when nil.
	Logger *slog.Logger
}

func (o Options) withDefaults() Options {
	if o.MaxLen <= 0 {
		o.MaxLen = DefaultMaxLen
	}
	if o.MaxEntryBytes <= 0 {
		o.MaxEntryBytes = DefaultMaxEntryBytes
	}
	if o.MaxBatchBytes <= 0 {
		o.MaxBatchBytes = DefaultMaxBatchBytes
	}
	if o.MemberTTL <= 0 {
		o.MemberTTL = DefaultMemberTTL
	}
	if o.MaxMembers <= 0 {
		o.MaxMembers = DefaultMaxMembers
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	return o
}

// keys are the Redis keys of one relay.
type keys struct {
	stream, index, order, last, channel, members, member string
}

func newKeys(prefix string) keys {
	tag := "{" + prefix + "relay}:"
	return keys{
		stream: tag + "applied", index: tag + "index", order: tag + "order", last: tag + "last",
		channel: tag + "appended", members: tag + "members", member: tag + "member:",
	}
}

// Relay is one instance's connection to the cluster's Redis.
type Relay struct {
	opts   Options
	ropts  *redis.Options
	client *redis.Client
	keys   keys
	log    *slog.Logger

	// publishing orders Publish calls; holder is the checkpoint after the
	// last batch given to Publish, for heartbeats.
	publishing sync.Mutex
	holder     struct {
		known bool
		epoch int64
		at    string
	}

	notify    chan struct{} // NotifyAppended's pending wake-up, at most one
	pendingMu sync.Mutex
	pending   pendingWake // what the pending wake-up names
	closed    chan struct{}
	closeOnce sync.Once
	done      sync.WaitGroup
}

// Open connects to the Redis at url (redis:// or rediss://, as go-redis's
// ParseURL reads it: redis://user:password@host:6379/0?dial_timeout=1s) and
// checks that it answers.
func Open(ctx context.Context, url string, opts Options) (*Relay, error) {
	ropts, err := redis.ParseURL(url)
	if err != nil {
		return nil, fmt.Errorf("relay: redis URL: %w", err)
	}
	if strings.ContainsAny(opts.Prefix, "{}") {
		return nil, fmt.Errorf("relay: key prefix %q: no braces, please", opts.Prefix)
	}
	// So that a caller's deadline bounds a call, as a holder's Publish
	// needs while Redis is away (go-redis would otherwise retry for seconds).
	ropts.ContextTimeoutEnabled = true
	opts = opts.withDefaults()
	r := &Relay{
		opts: opts, ropts: ropts, client: redis.NewClient(ropts), keys: newKeys(opts.Prefix),
		log:    opts.Logger.With("redis", ropts.Addr),
		notify: make(chan struct{}, 1), closed: make(chan struct{}),
		pending: pendingWake{max: maxWakePairs},
	}
	if err := r.client.Ping(ctx).Err(); err != nil {
		r.client.Close()
		return nil, fmt.Errorf("relay: redis at %s: %w", ropts.Addr, err)
	}
	r.done.Add(1)
	go r.runNotifier()
	return r, nil
}

// Close stops the relay's work (a running Follow and Appended end soon after)
// and closes its connections.
func (r *Relay) Close() error {
	var err error
	r.closeOnce.Do(func() {
		close(r.closed)
		r.done.Wait()
		err = r.client.Close()
	})
	return err
}

// untilClosed is ctx, ended also when the relay is closed.
func (r *Relay) untilClosed(ctx context.Context) (context.Context, context.CancelFunc) {
	ctx, cancel := context.WithCancel(ctx)
	go func() {
		select {
		case <-r.closed:
			cancel()
		case <-ctx.Done():
		}
	}()
	return ctx, cancel
}

// Errors of the relay.
var (
	// ErrBehind says the follower's checkpoint is not among the retained
	// entries, or the next entry does not continue it: reload the saved
	// read models and follow from their checkpoint.
	ErrBehind = errors.New("relay: the follower's checkpoint is not continued by the retained entries")
	// ErrTooLarge says a batch is over Options.MaxBatchBytes; nothing was
	// published.
	ErrTooLarge = errors.New("relay: batch too large to publish")
	// ErrStaleEpoch says a newer holder has published: this one is deposed.
	ErrStaleEpoch = errors.New("relay: a newer lease epoch has published")
)

// short is a checkpoint cut for a log line or an error.
func short(cp string) string {
	if len(cp) > 80 {
		return cp[:80] + "…"
	}
	return cp
}
