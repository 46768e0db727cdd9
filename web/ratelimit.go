package web

import (
	"net/http"
	"strconv"
	"time"

	"github.com/foldboard/foldboard/handlers"
	"github.com/foldboard/foldboard/views"
)

// Rates are the request rate limits: token buckets per client address (an
// IPv6 address by its /64, what one subscriber gets) and per actor. A zero
// field takes its default from RatesAt(DefaultCommandRate).
type Rates struct {
	// Off turns every rate limit off (a benchmark's server).
	Off bool
	// Commands (every method but GET, HEAD and OPTIONS) a second from one
	// address, and how many may come at once.
	AddressCommands float64
	AddressBurst    int
	// Commands a second of one actor, from however many addresses; twice an
	// address's, so that one address cannot spend another's actor alone.
	ActorCommands float64
	ActorBurst    int
	// Reads (GET, HEAD, OPTIONS) a second from one address: pages, their
	// files, the JSON reads.
	AddressReads float64
	ReadBurst    int
	// AddressBusy is how much of the server's time (seconds of handling a
	// second, summed over its requests) one address may take over time, and
	// BusyBurst how much at once: a request's time is known once it has run,
	// so an address past its share is refused until it has paid it back.
	// Every request counts but the live connections' (bounded apart).
	AddressBusy float64
	BusyBurst   float64
	// Clients is how many addresses (and actors) are remembered; the least
	// recently seen is forgotten first.
	Clients int
}

// DefaultCommandRate is an address's commands a second by default: far
// beyond what people at one address click, far below a loop's thousands.
const DefaultCommandRate = 50

// RatesAt scales every limit from an address's commands a second: bursts
// of ten seconds' worth, an actor twice an address, reads four times, and
// an address's share of the server's time a hundredth of its commands (at
// 50: half a second of handling a second, ten at once). 0 turns them off.
func RatesAt(commandsPerSecond float64) Rates {
	if commandsPerSecond <= 0 {
		return Rates{Off: true}
	}
	n := commandsPerSecond
	return Rates{
		AddressCommands: n, AddressBurst: int(10 * n),
		ActorCommands: 2 * n, ActorBurst: int(20 * n),
		AddressReads: 4 * n, ReadBurst: int(40 * n),
		AddressBusy: n / 100, BusyBurst: n / 5,
		Clients: 50_000,
	}
}

func (r Rates) withDefaults() Rates {
	def := RatesAt(DefaultCommandRate)
	pick := func(v *float64, d float64) {
		if *v <= 0 {
			*v = d
		}
	}
	pickInt := func(v *int, d int) {
		if *v <= 0 {
			*v = d
		}
	}
	pick(&r.AddressCommands, def.AddressCommands)
	pick(&r.ActorCommands, def.ActorCommands)
	pick(&r.AddressReads, def.AddressReads)
	pick(&r.AddressBusy, def.AddressBusy)
	pick(&r.BusyBurst, def.BusyBurst)
	pickInt(&r.AddressBurst, def.AddressBurst)
	pickInt(&r.ActorBurst, def.ActorBurst)
	pickInt(&r.ReadBurst, def.ReadBurst)
	pickInt(&r.Clients, def.Clients)
	return r
}

// rateLimits holds every client's buckets.
type rateLimits struct {
	off                             bool
	addrCommands, actors, addrReads *handlers.Buckets
	// addrBusy are the addresses' shares of the server's time, in
	// milliseconds of handling.
	addrBusy *handlers.Buckets
	// actorOf is the actor a request is counted against, "" for none.
	actorOf func(*http.Request) string
}

func newRateLimits(r Rates, actorOf func(*http.Request) string) *rateLimits {
	if r.Off {
		return &rateLimits{off: true}
	}
	r = r.withDefaults()
	return &rateLimits{
		addrCommands: handlers.NewBuckets(r.AddressCommands, r.AddressBurst, r.Clients),
		actors:       handlers.NewBuckets(r.ActorCommands, r.ActorBurst, r.Clients),
		addrReads:    handlers.NewBuckets(r.AddressReads, r.ReadBurst, r.Clients),
		addrBusy:     handlers.NewBuckets(1000*r.AddressBusy, int(1000*r.BusyBurst), r.Clients),
		actorOf:      actorOf,
	}
}

// allow spends r's tokens: its address's, then, for a command, its actor's
// (an address already over its rate spends none of its actor's).
func (l *rateLimits) allow(r *http.Request, now time.Time) *handlers.RateLimitedError {
	addr := clientAddress(r)
	if owes, retry := l.addrBusy.Owes(addr, now); owes {
		return &handlers.RateLimitedError{Who: "address", Retry: retry}
	}
	switch r.Method {
	case http.MethodGet, http.MethodHead, http.MethodOptions:
		if ok, retry := l.addrReads.Take(addr, now); !ok {
			return &handlers.RateLimitedError{Who: "address", Retry: retry}
		}
		return nil
	}
	if ok, retry := l.addrCommands.Take(addr, now); !ok {
		return &handlers.RateLimitedError{Who: "address", Retry: retry}
	}
	if actor := l.actorOf(r); actor != "" {
		if ok, retry := l.actors.Take(actor, now); !ok {
			return &handlers.RateLimitedError{Who: "actor", Retry: retry}
		}
	}
	return nil
}

// limitRate answers 429 RateLimited, with Retry-After, to a request over
// its client's rate.
func limitRate(l *rateLimits, app *handlers.App) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		if l.off {
			return next
		}
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			start := time.Now()
			if refused := l.allow(r, start); refused != nil {
				w.Header().Set("Retry-After", strconv.FormatInt(handlers.RetryAfterSeconds(refused.Retry), 10))
				app.Handle(func(http.ResponseWriter, *http.Request) error { return refused }).ServeHTTP(w, r)
				return
			}
			next.ServeHTTP(w, r)
			if r.URL.Path != views.RouteLive {
				end := time.Now()
				l.addrBusy.Spend(clientAddress(r), int(end.Sub(start).Milliseconds()), end)
			}
		})
	}
}

// clientAddress is the address a request's limits are kept by: its peer's
// IP, an IPv6 one by its /64 (one subscriber's network).
func clientAddress(r *http.Request) string { return handlers.ClientAddress(r) }
