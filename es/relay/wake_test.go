package relay_test

import (
	"context"
	"fmt"
	"maps"
	"strings"
	"testing"
	"time"

	"github.com/foldboard/foldboard/es"
	"github.com/foldboard/foldboard/es/relay"
	"github.com/foldboard/foldboard/internal/redistest"
)

// wakeWithin reports whether ch receives within d.
func wakeWithin(ch <-chan relay.Wake, d time.Duration) bool {
	_, ok := nextWake(ch, d)
	return ok
}

// nextWake returns what ch hands on within d.
func nextWake(ch <-chan relay.Wake, d time.Duration) (relay.Wake, bool) {
	select {
	case w := <-ch:
		return w, true
	case <-time.After(d):
		return relay.Wake{}, false
	}
}

// drain takes what ch hands on until it is quiet for 100 ms.
func drain(ch <-chan relay.Wake) {
	for wakeWithin(ch, 100*time.Millisecond) {
	}
}

// post is the stream the tests' appends name.
var post = es.StreamRef{Type: "post", ID: "p-1"}

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
	for v := range appends {
		appender.NotifyAppended(post, int64(v+1))
	}
	// However the wake-ups were cut, the last names the last version, and
	// none says more than was named.
	var last relay.Wake
	for {
		w, ok := nextWake(wake, 500*time.Millisecond)
		if !ok {
			break
		}
		if w.More {
			t.Errorf("a wake-up for named appends says More: %+v", w)
		}
		last = w
	}
	if got := last.Appends[post]; got != appends || len(last.Appends) != 1 {
		t.Fatalf("after 1,000 appends to %s the last wake-up named %v, want %s at %d", post, last.Appends, post, appends)
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
	time.Sleep(300 * time.Millisecond) // they arrive meanwhile
	if w, ok := nextWake(wake, 10*time.Second); !ok || !w.More || len(w.Appends) != 0 {
		t.Errorf("100 old-style wake-ups while the holder was busy: %+v (%v), want one with More", w, ok)
	}
	if wakeWithin(wake, 300*time.Millisecond) {
		t.Error("100 wake-ups while the holder was busy handed on more than one")
	}

	// A single append after quiet wakes it again.
	appender.NotifyAppended(post, appends+1)
	if w, ok := nextWake(wake, 10*time.Second); !ok || w.Appends[post] != appends+1 {
		t.Fatalf("an append after quiet: %+v (%v)", w, ok)
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
		appender.NotifyAppended(post, 1)
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
		appender.NotifyAppended(post, 1)
		if wakeWithin(wake, 200*time.Millisecond) {
			return
		}
		if time.Now().After(deadline) {
			t.Fatal("a subscription begun while Redis was away never woke")
		}
	}
}

func TestWakeUpsNameTheStreamsAndVersionsAppended(t *testing.T) {
	url, prefix := redistest.URL(t), redistest.Prefix(t)
	holder := open(t, url, relay.Options{Prefix: prefix})
	appender := open(t, url, relay.Options{Prefix: prefix})
	wake := holder.Appended(t.Context())
	if w, ok := nextWake(wake, 10*time.Second); !ok || !w.More {
		t.Fatalf("the subscription's wake-up: %+v (%v), want More: appends meanwhile were not heard", w, ok)
	}

	match := es.StreamRef{Type: "match", ID: "m-2"}
	appender.NotifyAppended(post, 3)
	appender.NotifyAppended(match, 17)
	appender.NotifyAppended(post, 2) // older than what is pending: kept at 3
	got := map[es.StreamRef]int64{}
	for len(got) < 2 || got[post] < 3 {
		w, ok := nextWake(wake, 10*time.Second)
		if !ok {
			t.Fatalf("named %v, want post/p-1 at 3 and match/m-2 at 17", got)
		}
		if w.More {
			t.Errorf("a wake-up of named appends says More: %+v", w)
		}
		for s, v := range w.Appends {
			got[s] = max(got[s], v)
		}
	}
	if len(got) != 2 || got[post] != 3 || got[match] != 17 {
		t.Errorf("named %v, want post/p-1 at 3 and match/m-2 at 17", got)
	}

	// What cannot be named is sent as "something".
	appender.NotifyAppended(es.StreamRef{Type: "post", ID: "no spaces"}, 1)
	if w, ok := nextWake(wake, 10*time.Second); !ok || !w.More || len(w.Appends) != 0 {
		t.Errorf("an append to an invalid stream: %+v (%v), want More alone", w, ok)
	}
}

// A rolling deploy mixes versions: an older instance's wake-up, "appended"
// alone, still wakes the holder, and a newer one's wakes an older holder
// (whatever the message, any wakes it).
func TestOldStyleAndHostileWakeUpsWakeAndAreBounded(t *testing.T) {
	url, prefix := redistest.URL(t), redistest.Prefix(t)
	holder := open(t, url, relay.Options{Prefix: prefix})
	appender := open(t, url, relay.Options{Prefix: prefix})
	raw := rawClient(t, url)
	channel := "{" + prefix + "relay}:appended"
	wake := holder.Appended(t.Context())
	if !wakeWithin(wake, 10*time.Second) {
		t.Fatal("no wake-up when the subscription began")
	}
	drain(wake)

	huge := "appended " + strings.Repeat("post/p-1@1 ", 100_000) // 1.1 MB
	many := "appended"
	for i := range 200 { // 200 short pairs in under 4 KiB
		many += fmt.Sprintf(" p/%d@1", i)
	}
	for _, c := range []struct {
		name, msg string
		want      map[es.StreamRef]int64
	}{
		{"an older instance's", "appended", nil},
		{"another word", "hello", nil},
		{"empty", "", nil},
		{"over the size limit", huge, nil},
		{"a bad version", "appended post/p-1@x post/p-2@0 post/p-3@-4 post/p-4@99999999999999999999", nil},
		{"a bad stream", "appended post@3 /p@1 post/@2 post/../x@1 post/..@1 " + strings.Repeat("x", 70) + "/a@1", nil},
		{"a good and a bad field", "appended post/p-1@4 garbage", map[es.StreamRef]int64{post: 4}},
		{"named and more", "appended post/p-1@5 +", map[es.StreamRef]int64{post: 5}},
		{"blanks", "appended  post/p-1@6  ", map[es.StreamRef]int64{post: 6}},
	} {
		if err := raw.Publish(t.Context(), channel, c.msg).Err(); err != nil {
			t.Fatal(err)
		}
		w, ok := nextWake(wake, 10*time.Second)
		if !ok {
			t.Fatalf("%s message woke no one", c.name)
		}
		if !w.More || !maps.Equal(w.Appends, c.want) {
			t.Errorf("%s message: %+v, want More and %v", c.name, w, c.want)
		}
	}

	// More pairs than a message may name: the first ones, and More.
	if err := raw.Publish(t.Context(), channel, many).Err(); err != nil {
		t.Fatal(err)
	}
	w, ok := nextWake(wake, 10*time.Second)
	if !ok || !w.More || len(w.Appends) != relay.MaxWakePairs {
		t.Errorf("200 pairs in a message: %d named, More %v (%v); want %d and More", len(w.Appends), w.More, ok, relay.MaxWakePairs)
	}

	// While the reader is busy, what it is handed is bounded too: 50
	// messages of 64 streams each are more than it holds.
	for m := range 50 {
		msg := "appended"
		for i := range relay.MaxWakePairs {
			msg += fmt.Sprintf(" p/%d-%d@1", m, i)
		}
		if err := raw.Publish(t.Context(), channel, msg).Err(); err != nil {
			t.Fatal(err)
		}
	}
	time.Sleep(300 * time.Millisecond) // they arrive meanwhile
	w, ok = nextWake(wake, 10*time.Second)
	if !ok || !w.More || len(w.Appends) != relay.MaxHeldAppends {
		t.Errorf("3,200 streams named while the reader was busy: %d handed on, More %v (%v); want %d and More", len(w.Appends), w.More, ok, relay.MaxHeldAppends)
	}
	drain(wake)

	// And the holder goes on hearing named appends.
	appender.NotifyAppended(post, 7)
	if w, ok := nextWake(wake, 10*time.Second); !ok || w.More || w.Appends[post] != 7 {
		t.Errorf("an append after the hostile ones: %+v (%v)", w, ok)
	}
}

func TestAWakeUpMessageStaysWithinItsBounds(t *testing.T) {
	long := strings.Repeat("a", 64)
	w := relay.Wake{Appends: map[es.StreamRef]int64{}}
	for i := range relay.MaxWakePairs {
		w.Appends[es.StreamRef{Type: long, ID: fmt.Sprintf("%s-%d", long[:60], i)}] = 1 << 62
	}
	msg := relay.EncodeWake(w)
	if len(msg) > relay.MaxWakeBytes {
		t.Errorf("a wake-up of %d long names is %d bytes, over %d", relay.MaxWakePairs, len(msg), relay.MaxWakeBytes)
	}
	back := relay.DecodeWake(msg)
	if !back.More || len(back.Appends) == 0 || len(back.Appends) >= relay.MaxWakePairs {
		t.Errorf("what did not fit is not folded into More: %d named, More %v", len(back.Appends), back.More)
	}
	for s, v := range back.Appends {
		if w.Appends[s] != v {
			t.Errorf("%s at %d read back, want %d", s, v, w.Appends[s])
		}
	}
	// What fits goes through whole, without More.
	small := relay.Wake{Appends: map[es.StreamRef]int64{post: 3, {Type: "match", ID: "m.2_x"}: 1}}
	if back := relay.DecodeWake(relay.EncodeWake(small)); back.More || !maps.Equal(back.Appends, small.Appends) {
		t.Errorf("%+v read back as %+v", small, back)
	}
}
