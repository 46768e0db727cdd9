package relay

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"

	"github.com/redis/go-redis/v9"

	"github.com/foldboard/foldboard/es"
)

// Entry fields in the stream.
const (
	fieldEpoch     = "epoch"
	fieldFrom      = "from"
	fieldTo        = "to"
	fieldPart      = "part"  // 1, 2, … of parts
	fieldParts     = "parts" // how many entries the batch takes
	fieldEvents    = "events"
	fieldPositions = "positions" // "" when no event has one
)

// publishScript writes every part of one batch, refuses an epoch older than
// the newest published, and keeps the index of where each checkpoint's batch
// begins.
//
// KEYS: stream, index, order, last.
// ARGV: maxlen, epoch, from, to, parts, the index key of from (indexKey),
// then events and positions of each part.
//
// The index maps a checkpoint to the first entry of the newest run of entries
// starting from it: a run of entries from a checkpoint to itself (the holder's
// feed handed on events without moving its checkpoint) keeps the run's first
// entry, so that a follower at that checkpoint is handed the run's events
// again rather than skip them. The order list trims the index to as many
// batches as the stream keeps entries. The same batch twice in a row (a retry
// of a call whose answer was lost) is written once; the last hash also tells
// a follower at the newest checkpoint where the stream ends.
var publishScript = redis.NewScript(`
local epoch, from, to, parts, fromkey = tonumber(ARGV[2]), ARGV[3], ARGV[4], tonumber(ARGV[5]), ARGV[6]
local last = redis.call('HMGET', KEYS[4], 'epoch', 'from', 'to', 'id')
if last[1] and tonumber(last[1]) > epoch then
  return redis.error_reply('STALEEPOCH ' .. ARGV[2] .. ' is older than ' .. last[1])
end
if last[1] == ARGV[2] and last[2] == from and last[3] == to and from ~= to then
  return last[4]
end
local first, id
for i = 1, parts do
  id = redis.call('XADD', KEYS[1], 'MAXLEN', '~', ARGV[1], '*',
    'epoch', ARGV[2], 'from', from, 'to', to, 'part', tostring(i), 'parts', ARGV[5],
    'events', ARGV[5 + 2 * i], 'positions', ARGV[6 + 2 * i])
  first = first or id
end
local run = last[2] == from and last[3] == from and redis.call('HEXISTS', KEYS[2], fromkey) == 1
if not run then
  redis.call('HSET', KEYS[2], fromkey, first)
  redis.call('RPUSH', KEYS[3], first .. ' ' .. fromkey)
  while redis.call('LLEN', KEYS[3]) > tonumber(ARGV[1]) do
    local old = redis.call('LPOP', KEYS[3])
    local sp = string.find(old, ' ', 1, true)
    local oid, okey = string.sub(old, 1, sp - 1), string.sub(old, sp + 1)
    if redis.call('HGET', KEYS[2], okey) == oid then
      redis.call('HDEL', KEYS[2], okey)
    end
  end
end
redis.call('HSET', KEYS[4], 'epoch', ARGV[2], 'from', from, 'to', to, 'id', id)
return first
`)

// Publish writes one applied batch to the stream: the holder's checkpoint
// before it (from), its events and its checkpoint after it (b.Checkpoint),
// with the holder's lease epoch. Call it after every batch the holder
// applies, empty ones too (followers need each checkpoint to continue).
// It fails with ErrTooLarge for a batch over Options.MaxBatchBytes and with
// ErrStaleEpoch when a newer epoch has published; then nothing is written.
// A failed publish leaves a gap that followers meet as ErrBehind (and reload
// from the saved read models) at the next batch: the holder logs it and goes
// on. So that they find out when no next batch comes (an idle cluster), a
// holder also publishes an empty batch from its checkpoint to itself every
// few seconds while idle (a heartbeat, cheap: one small entry). Give ctx a
// deadline (say a second): while Redis is away a call waits that long.
//
// An empty batch from a checkpoint to itself is a heartbeat. One read before
// a batch and sent after it would not continue that batch and send every
// follower to reload, so while this relay has been given a batch of the same
// epoch since (published or not), a heartbeat is sent at that batch's
// checkpoint instead. Calls are sent one at a time, in the order they come.
func (r *Relay) Publish(ctx context.Context, epoch int64, from string, b es.Batch) error {
	r.publishing.Lock()
	defer r.publishing.Unlock()
	if len(b.Events) == 0 && from == b.Checkpoint && r.holder.known && r.holder.epoch == epoch {
		from, b.Checkpoint = r.holder.at, r.holder.at
	}
	r.holder.known, r.holder.epoch, r.holder.at = true, epoch, b.Checkpoint
	parts, err := r.encodeParts(b.Events)
	if err != nil {
		return fmt.Errorf("relay: publishing batch to %q: %w", short(b.Checkpoint), err)
	}
	args := make([]any, 0, 6+2*len(parts))
	args = append(args, r.opts.MaxLen, epoch, from, b.Checkpoint, len(parts), indexKey(from))
	for _, p := range parts {
		args = append(args, p.events, p.positions)
	}
	k := r.keys
	err = publishScript.Run(ctx, r.client, []string{k.stream, k.index, k.order, k.last}, args...).Err()
	if err != nil && strings.HasPrefix(err.Error(), "STALEEPOCH") {
		return fmt.Errorf("relay: publishing epoch %d: %w (%v)", epoch, ErrStaleEpoch, err)
	}
	if err != nil {
		return fmt.Errorf("relay: publishing batch to %q (epoch %d): %w", short(b.Checkpoint), epoch, err)
	}
	return nil
}

// StartOver tells the relay that the next Publish comes from a projector
// that begins at a checkpoint of its own, not after the last batch given
// to Publish (the holder reloaded its read models, under a new name after a
// rebuild): a heartbeat is sent where it says, no longer moved to that
// batch's checkpoint.
func (r *Relay) StartOver() {
	r.publishing.Lock()
	r.holder.known = false
	r.publishing.Unlock()
}

// indexKey is a checkpoint's key in the index: a hash, since checkpoints run
// to a kilobyte (a DynamoDB checkpoint names the stream and every shard) and
// the index holds one per retained batch. A follower checks the entry it
// finds by its from, so a collision could only cost an ErrBehind.
func indexKey(checkpoint string) string {
	sum := sha256.Sum256([]byte(checkpoint))
	return hex.EncodeToString(sum[:16])
}

// part is the encoded events of one stream entry.
type part struct {
	events    string // a JSON array of envelopes, as es encodes them
	positions string // a JSON array of their positions, or "" when all are ""
}

// encodeParts encodes events into parts of at most MaxEntryBytes each (an
// event bigger than that alone in its part); an empty batch is one empty part.
func (r *Relay) encodeParts(events []es.Envelope) ([]part, error) {
	var (
		parts []part
		buf   bytes.Buffer
		pos   []string
		total int
	)
	flush := func() {
		buf.WriteByte(']')
		parts = append(parts, part{events: buf.String(), positions: encodePositions(pos)})
		buf.Reset()
		pos = pos[:0]
	}
	for i, e := range events {
		enc, err := json.Marshal(e)
		if err != nil {
			return nil, fmt.Errorf("encoding event %s (%s v%d): %w", e.ID, e.Stream, e.Version, err)
		}
		if total += len(enc); total > r.opts.MaxBatchBytes {
			return nil, fmt.Errorf("%w: %d events, over %d bytes at event %d", ErrTooLarge, len(events), r.opts.MaxBatchBytes, i)
		}
		if buf.Len() > 0 && buf.Len()+len(enc)+1 > r.opts.MaxEntryBytes {
			flush()
		}
		if buf.Len() == 0 {
			buf.WriteByte('[')
		} else {
			buf.WriteByte(',')
		}
		buf.Write(enc)
		pos = append(pos, e.Position)
	}
	if buf.Len() == 0 {
		buf.WriteByte('[')
	}
	flush()
	return parts, nil
}

func encodePositions(pos []string) string {
	for _, p := range pos {
		if p != "" {
			enc, _ := json.Marshal(pos) // strings always encode
			return string(enc)
		}
	}
	return ""
}

// entry is one decoded stream entry.
type entry struct {
	id          string
	epoch       int64
	from, to    string
	part, parts int
	events      []es.Envelope
}

// decodeEntry reads a stream entry as Publish wrote it.
func decodeEntry(m redis.XMessage) (entry, error) {
	e := entry{id: m.ID}
	str := func(name string) (string, error) {
		v, ok := m.Values[name].(string)
		if !ok {
			return "", fmt.Errorf("relay: stream entry %s has no %s", m.ID, name)
		}
		return v, nil
	}
	num := func(name string) (int64, error) {
		s, err := str(name)
		if err != nil {
			return 0, err
		}
		n, err := strconv.ParseInt(s, 10, 64)
		if err != nil {
			return 0, fmt.Errorf("relay: stream entry %s: %s %q: %w", m.ID, name, s, err)
		}
		return n, nil
	}
	var err error
	var part, parts int64
	if e.epoch, err = num(fieldEpoch); err != nil {
		return e, err
	}
	if part, err = num(fieldPart); err != nil {
		return e, err
	}
	if parts, err = num(fieldParts); err != nil {
		return e, err
	}
	e.part, e.parts = int(part), int(parts)
	if e.from, err = str(fieldFrom); err != nil {
		return e, err
	}
	if e.to, err = str(fieldTo); err != nil {
		return e, err
	}
	events, err := str(fieldEvents)
	if err != nil {
		return e, err
	}
	if err := json.Unmarshal([]byte(events), &e.events); err != nil {
		return e, fmt.Errorf("relay: stream entry %s: events: %w", m.ID, err)
	}
	if len(e.events) == 0 {
		e.events = nil // as an empty batch is usually made
	}
	return e, decodePositions(m, e.events)
}

// decodePositions sets each event's Position from the entry's positions.
func decodePositions(m redis.XMessage, events []es.Envelope) error {
	raw, _ := m.Values[fieldPositions].(string)
	if raw == "" {
		return nil
	}
	var pos []string
	if err := json.Unmarshal([]byte(raw), &pos); err != nil {
		return fmt.Errorf("relay: stream entry %s: positions: %w", m.ID, err)
	}
	if len(pos) != len(events) {
		return fmt.Errorf("relay: stream entry %s: %d positions for %d events", m.ID, len(pos), len(events))
	}
	for i := range events {
		events[i].Position = pos[i]
	}
	return nil
}
