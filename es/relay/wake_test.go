package relay_test

import (
	"context"
	"testing"
	"time"

	"github.com/foldboard/foldboard/es/relay"
	"github.com/foldboard/foldboard/internal/redistest"
)

// wakeWithin reports whether ch receives within d.
func wakeWithin(ch <-chan struct{}, d time.Duration) bool {
	select {
	case <-ch:
		return true
	case <-time.After(d):
		return false
	}
}

// drain empties ch of what it holds now.
func drain(ch <-chan struct{}) {
	for {
		select {
		case <-ch:
		default:
			return
		}
	}
}

func TestWakeUpsReachTheHolderAndCoalesce(t *testing.T) {
	url, prefix := redistest.URL(t), redistest.Prefix(t)
	holder := open(t, url, relay.Options{Prefix: prefix})
	appender := open(t, url, relay.Options{Prefix: prefix})
	wake := holder.Appended(t.Context())
	if !wakeWithin(wake, 10*time.Second) {
		t.Fatal("no wake-up when the subscription began")
	}

	// Count what travels, with a listener of the test's own.
	sub := rawClient(t, url).Subscribe(t.Context(), "{"+prefix+"relay}:appended")
	if _, err := sub.Receive(t.Context()); err != nil { // the subscription's confirmation
		t.Fatal(err)
	}
	published := sub.Channel()

	const appends = 1000
	for range appends {
		appender.NotifyAppended()
	}
	if !wakeWithin(wake, 10*time.Second) {
		t.Fatal("no wake-up after 1,000 appends")
	}
	time.Sleep(300 * time.Millisecond) // the rest of what was published arrives
	drain(wake)
	if wakeWithin(wake, 300*time.Millisecond) {
		t.Error("a wake-up came after the channel was drained: the appends were not coalesced")
	}
	n := 0
	for len(published) > 0 {
		<-published
		n++
	}
	t.Logf("%d appends published %d wake-ups", appends, n)
	if n == 0 || n >= appends/2 {
		t.Errorf("%d appends published %d wake-ups; want at least one and far fewer than the appends", appends, n)
	}

	// Wake-ups from many instances while the holder is busy wait as one.
	raw := rawClient(t, url)
	for range 100 {
		if err := raw.Publish(t.Context(), "{"+prefix+"relay}:appended", "appended").Err(); err != nil {
			t.Fatal(err)
		}
	}
	waitUntil(t, "a wake-up waiting", func() bool { return len(wake) > 0 })
	time.Sleep(300 * time.Millisecond) // the others arrive meanwhile
	if n := len(wake); n != 1 {
		t.Errorf("100 wake-ups while the holder was busy left %d waiting, want 1", n)
	}
	drain(wake)

	// A single append after quiet wakes it again.
	appender.NotifyAppended()
	if !wakeWithin(wake, 10*time.Second) {
		t.Fatal("no wake-up for an append after quiet")
	}
}

func TestWakeUpsSurviveARedisRestart(t *testing.T) {
	srv := redistest.NewServer(t)
	prefix := redistest.Prefix(t)
	holder := open(t, srv.URL(), relay.Options{Prefix: prefix, Logger: quiet})
	appender := open(t, srv.URL(), relay.Options{Prefix: prefix, Logger: quiet})
	wake := holder.Appended(t.Context())
	if !wakeWithin(wake, 10*time.Second) {
		t.Fatal("no wake-up when the subscription began")
	}

	srv.Restart(t)
	// Subscribed again, it wakes: appends made meanwhile were not heard.
	if !wakeWithin(wake, 20*time.Second) {
		t.Fatal("no wake-up after Redis came back")
	}
	time.Sleep(200 * time.Millisecond)
	drain(wake)
	// And appends reach it again (the appender's first PUBLISH may meet a
	// dead connection; wake-ups are at most once, so ask until one arrives).
	deadline := time.Now().Add(20 * time.Second)
	for {
		appender.NotifyAppended()
		if wakeWithin(wake, 200*time.Millisecond) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("appends after a Redis restart never woke the holder")
		}
	}
}

func TestAppendedEndsWithItsContext(t *testing.T) {
	url, prefix := redistest.URL(t), redistest.Prefix(t)
	holder := open(t, url, relay.Options{Prefix: prefix})
	raw := rawClient(t, url)
	channel := "{" + prefix + "relay}:appended"
	subscribers := func() int64 {
		return raw.PubSubNumSub(t.Context(), channel).Val()[channel]
	}
	ctx, cancel := context.WithCancel(t.Context())
	holder.Appended(ctx)
	waitUntil(t, "one subscriber", func() bool { return subscribers() == 1 })
	cancel()
	waitUntil(t, "no subscriber", func() bool { return subscribers() == 0 })
}

func TestAppendedBegunWhileRedisIsAwayWakesOnceItIsBack(t *testing.T) {
	srv := redistest.NewServer(t)
	prefix := redistest.Prefix(t)
	holder := open(t, srv.URL(), relay.Options{Prefix: prefix, Logger: quiet})
	srv.Stop(t)
	wake := holder.Appended(t.Context())
	if wakeWithin(wake, 300*time.Millisecond) {
		t.Fatal("a wake-up while Redis was away")
	}
	srv.Start(t)
	appender := open(t, srv.URL(), relay.Options{Prefix: prefix, Logger: quiet})
	deadline := time.Now().Add(20 * time.Second)
	for {
		appender.NotifyAppended()
		if wakeWithin(wake, 200*time.Millisecond) {
			return
		}
		if time.Now().After(deadline) {
			t.Fatal("a subscription begun while Redis was away never woke")
		}
	}
}
