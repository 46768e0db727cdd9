package relay

import (
	"context"
	"time"

	"github.com/redis/go-redis/v9"
)

// notifyTimeout bounds one PUBLISH of a wake-up.
const notifyTimeout = time.Second

// NotifyAppended tells the holder that something was appended, so that it
// reads the events table's stream at once. It never waits: the wake-up is
// published in the background, and wake-ups asked for while one is on its way
// are sent as one. Pub/sub keeps nothing for an absent listener (at most
// once), which is all a wake-up needs: the holder polls anyway.
func (r *Relay) NotifyAppended() {
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
		ctx, cancel := context.WithTimeout(context.Background(), notifyTimeout)
		err := r.client.Publish(ctx, r.keys.channel, "appended").Err()
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

// Appended returns a channel that receives a value soon after any instance's
// NotifyAppended, until ctx ends or the relay is closed; it is never closed.
// Wake-ups coalesce: the channel holds at most one, so a reader that is busy
// meets one wake-up for everything appended meanwhile. The subscription
// survives Redis restarts (go-redis subscribes again), and each
// (re)subscription also wakes the reader, since appends made while it was
// away were not heard.
func (r *Relay) Appended(ctx context.Context) <-chan struct{} {
	out := make(chan struct{}, 1)
	ctx, cancel := r.untilClosed(ctx)
	ps := r.client.Subscribe(ctx, r.keys.channel)
	in := ps.ChannelWithSubscriptions(redis.WithChannelSize(16))
	go func() {
		defer cancel()
		defer ps.Close()
		for {
			select {
			case <-ctx.Done():
				return
			case _, ok := <-in:
				if !ok {
					return
				}
				select {
				case out <- struct{}{}:
				default: // a wake-up is already waiting
				}
			}
		}
	}()
	return out
}
