package relay

import (
	"context"
	"strconv"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/foldboard/foldboard/es"
)

// notifyTimeout bounds one PUBLISH of a wake-up.
const notifyTimeout = time.Second

// A wake-up names what was appended, so that the holder reads eagerly only
// until its feed has handed those versions on (as after an append of its
// own), instead of for a fixed while after every wake-up. The message is
//
//	appended post/p-1@3 match/m-2@17 +
//
// the word, then each stream and its version after the append, then "+"
// when more was appended than the message names. "appended" alone (what
// instances before this format send, and what a sender falls back to) says
// only that something was appended. Stream types and ids have no space, "/",
// "@" or "+" (es.ValidID), so the fields need no quoting.
const (
	wakeWord = "appended"
	// maxWakePairs caps the streams one wake-up names, and so the streams a
	// sender keeps pending between two messages; the rest is folded into
	// "+".
	maxWakePairs = 64
	// maxWakeBytes caps one wake-up's size (a named stream takes up to 150
	// bytes); a longer message received is taken as "something" unread.
	maxWakeBytes = 4096
	// maxHeldAppends caps the streams a receiver holds for a busy reader
	// of Appended, merged from the wake-ups meanwhile; the rest is More.
	maxHeldAppends = 1024
)

// Wake is what the wake-ups received since the last one handed on say was
// appended.
type Wake struct {
	// Appends holds each stream named and its newest version named: the
	// reader has all of it once its feed has handed on that version.
	Appends map[es.StreamRef]int64
	// More says that something else was appended too, unnamed: a wake-up
	// that named no stream (an older instance's, or more than a message
	// holds), one that could not be read, or a (re)subscription, after
	// which appends made while away were not heard.
	More bool
}

// pendingWake gathers what wake-ups name until they are sent (a sender's)
// or read (a receiver's), at most max streams.
type pendingWake struct {
	appends map[es.StreamRef]int64
	more    bool
	max     int
}

func (p *pendingWake) any() bool { return p.more || len(p.appends) > 0 }

// add notes stream at version, or more when it cannot.
func (p *pendingWake) add(stream es.StreamRef, version int64) {
	if version < 1 || stream.Validate() != nil {
		p.more = true
		return
	}
	v, known := p.appends[stream]
	switch {
	case known:
		p.appends[stream] = max(v, version)
	case len(p.appends) < p.max:
		if p.appends == nil {
			p.appends = map[es.StreamRef]int64{}
		}
		p.appends[stream] = version
	default:
		p.more = true
	}
}

// merge adds what w says.
func (p *pendingWake) merge(w Wake) {
	p.more = p.more || w.More
	for stream, v := range w.Appends {
		p.add(stream, v)
	}
}

// take returns what is pending and forgets it.
func (p *pendingWake) take() Wake {
	w := Wake{Appends: p.appends, More: p.more}
	p.appends, p.more = nil, false
	return w
}

// encodeWake writes w as one message of at most maxWakeBytes; the streams
// that do not fit are folded into "+".
func encodeWake(w Wake) string {
	var b strings.Builder
	b.WriteString(wakeWord)
	more := w.More
	for stream, v := range w.Appends {
		field := " " + stream.Type + "/" + stream.ID + "@" + strconv.FormatInt(v, 10)
		if b.Len()+len(field)+len(" +") > maxWakeBytes {
			more = true
			break
		}
		b.WriteString(field)
	}
	if more {
		b.WriteString(" +")
	}
	return b.String()
}

// decodeWake reads a message of the channel. Whatever it cannot read (too
// long, another word, a field that is no stream and version, more than
// maxWakePairs streams) makes More, never an error: any message wakes, as
// it always did, and none is kept beyond maxWakePairs streams.
func decodeWake(msg string) Wake {
	p := pendingWake{max: maxWakePairs}
	if len(msg) > maxWakeBytes {
		p.more = true
		return p.take()
	}
	word, rest, _ := strings.Cut(msg, " ")
	if word != wakeWord {
		p.more = true
		return p.take()
	}
	if rest == "" { // "appended" alone: an older instance's
		p.more = true
		return p.take()
	}
	for field := range strings.SplitSeq(rest, " ") {
		if field == "+" {
			p.more = true
			continue
		}
		ref, at, ok := strings.Cut(field, "@")
		stream, err := es.ParseStreamRef(ref)
		version, verr := strconv.ParseInt(at, 10, 64)
		if !ok || err != nil || verr != nil {
			p.more = true
			continue
		}
		p.add(stream, version)
	}
	return p.take()
}

// NotifyAppended tells the holder that stream is at version after an append
// of this instance's, so that it reads the events table's stream at once
// and eagerly until its feed has handed that version on. It never waits:
// the wake-up is published in the background, and wake-ups asked for while
// one is on its way are sent as one message naming them all (up to
// maxWakePairs streams; the rest fold into "something else too"). An
// invalid stream or a version below 1 is sent as "something". Pub/sub
// keeps nothing for an absent listener (at most once), which is all a
// wake-up needs: the holder polls anyway.
func (r *Relay) NotifyAppended(stream es.StreamRef, version int64) {
	r.pendingMu.Lock()
	r.pending.add(stream, version)
	r.pendingMu.Unlock()
	select {
	case r.notify <- struct{}{}:
	default: // one is already pending
	}
}

// runNotifier publishes the pending wake-ups until the relay is closed.
func (r *Relay) runNotifier() {
	defer r.done.Done()
	failing := false
	for {
		select {
		case <-r.closed:
			return
		case <-r.notify:
		}
		r.pendingMu.Lock()
		w := r.pending.take()
		r.pendingMu.Unlock()
		if !w.More && len(w.Appends) == 0 {
			continue // taken by the message before
		}
		ctx, cancel := context.WithTimeout(context.Background(), notifyTimeout)
		err := r.client.Publish(ctx, r.keys.channel, encodeWake(w)).Err()
		cancel()
		switch {
		case err != nil && !failing:
			r.log.Warn("relay: publishing a wake-up failed; the holder will find the append at its poll", "channel", r.keys.channel, "err", err)
		case err == nil && failing:
			r.log.Info("relay: publishing wake-ups again", "channel", r.keys.channel)
		}
		failing = err != nil
	}
}

// Appended returns a channel that hands on what any instance's
// NotifyAppended named, soon after, until ctx ends or the relay is closed;
// it is never closed. Wake-ups coalesce: a reader that is busy receives one
// Wake for everything named meanwhile (at most maxHeldAppends streams, the
// rest More). The subscription survives Redis restarts (go-redis subscribes
// again), and each (re)subscription also hands on a Wake with More, since
// appends made while it was away were not heard.
func (r *Relay) Appended(ctx context.Context) <-chan Wake {
	out := make(chan Wake)
	ctx, cancel := r.untilClosed(ctx)
	ps := r.client.Subscribe(ctx, r.keys.channel)
	in := ps.ChannelWithSubscriptions(redis.WithChannelSize(16))
	go func() {
		defer cancel()
		defer ps.Close()
		held := pendingWake{max: maxHeldAppends}
		for {
			var send chan<- Wake
			if held.any() {
				send = out
			}
			select {
			case <-ctx.Done():
				return
			case m, ok := <-in:
				if !ok {
					return
				}
				if msg, isMsg := m.(*redis.Message); isMsg {
					held.merge(decodeWake(msg.Payload))
				} else {
					held.more = true // subscribed (again)
				}
			case send <- Wake{Appends: held.appends, More: held.more}:
				held.take()
			}
		}
	}()
	return out
}
