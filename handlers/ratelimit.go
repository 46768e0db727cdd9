package handlers

import (
	"container/list"
	"fmt"
	"math"
	"net"
	"net/http"
	"net/netip"
	"strconv"
	"strings"
	"sync"
	"time"

	"golang.org/x/time/rate"
)

// RateLimit is a token bucket: Burst attempts at once, then one every Every.
type RateLimit struct {
	Every time.Duration
	Burst int
}

func (l RateLimit) withDefaults() RateLimit {
	if l.Every <= 0 {
		l.Every = 3 * time.Second
	}
	if l.Burst <= 0 {
		l.Burst = 20
	}
	return l
}

// maxLimited bounds the names and addresses the sign-in limits remember.
const maxLimited = 10_000

// Buckets are the token buckets of one kind of client, at most max of
// them: the least recently used is forgotten (its client starts afresh,
// which is what an idle client's full bucket would give it anyway).
type Buckets struct {
	limit rate.Limit
	burst int
	max   int

	mu    sync.Mutex
	byKey map[string]*list.Element
	lru   *list.List // of *bucket, most recent first
}

type bucket struct {
	key string
	lim *rate.Limiter
}

// NewBuckets keeps at most max clients' buckets of burst tokens, filled
// perSecond.
func NewBuckets(perSecond float64, burst, max int) *Buckets {
	return &Buckets{limit: rate.Limit(perSecond), burst: burst, max: max, byKey: map[string]*list.Element{}, lru: list.New()}
}

// Take spends a token of key's bucket; when there is none, it spends
// nothing and says how long until there is one.
func (b *Buckets) Take(key string, now time.Time) (ok bool, retry time.Duration) {
	b.mu.Lock()
	defer b.mu.Unlock()
	var lim *rate.Limiter
	if el, found := b.byKey[key]; found {
		b.lru.MoveToFront(el)
		lim = el.Value.(*bucket).lim
	} else {
		if b.lru.Len() >= b.max {
			oldest := b.lru.Back()
			b.lru.Remove(oldest)
			delete(b.byKey, oldest.Value.(*bucket).key)
		}
		lim = rate.NewLimiter(b.limit, b.burst)
		b.byKey[key] = b.lru.PushFront(&bucket{key: key, lim: lim})
	}
	res := lim.ReserveN(now, 1)
	if d := res.DelayFrom(now); d > 0 {
		res.CancelAt(now)
		return false, d
	}
	return true, 0
}

// Owes reports whether key's bucket is spent (Spend took it below
// nothing), and how long until it is not.
func (b *Buckets) Owes(key string, now time.Time) (owes bool, retry time.Duration) {
	b.mu.Lock()
	defer b.mu.Unlock()
	el, found := b.byKey[key]
	if !found {
		return false, 0
	}
	b.lru.MoveToFront(el)
	if tokens := el.Value.(*bucket).lim.TokensAt(now); tokens < 0 {
		return true, time.Duration(-tokens / float64(b.limit) * float64(time.Second))
	}
	return false, 0
}

// Spend takes n tokens of key's bucket (at most its burst), into debt when
// there are fewer: what a request cost is known only once it has run.
func (b *Buckets) Spend(key string, n int, now time.Time) {
	b.mu.Lock()
	defer b.mu.Unlock()
	el, found := b.byKey[key]
	if !found {
		if b.lru.Len() >= b.max {
			oldest := b.lru.Back()
			b.lru.Remove(oldest)
			delete(b.byKey, oldest.Value.(*bucket).key)
		}
		el = b.lru.PushFront(&bucket{key: key, lim: rate.NewLimiter(b.limit, b.burst)})
		b.byKey[key] = el
	}
	b.lru.MoveToFront(el)
	el.Value.(*bucket).lim.ReserveN(now, min(n, b.burst))
}

// Size is how many clients' buckets are remembered.
func (b *Buckets) Size() int {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.lru.Len()
}

// signInLimits bound sign-ins and sign-ups per address and per name, so
// that neither one machine nor a guess at one person's password runs free.
// A name has twice an address's attempts, at twice its rate: one address
// guessing at a name as fast as it may spends at most half of the name's,
// so it cannot keep the person out (were they equal, it could, with an
// attempt each time one came back); guesses from many addresses at once
// still run out at the name's.
type signInLimits struct {
	byAddr, byName *Buckets
}

func newSignInLimits(l RateLimit) *signInLimits {
	l = l.withDefaults()
	perSecond := 1 / l.Every.Seconds()
	return &signInLimits{
		byAddr: NewBuckets(perSecond, l.Burst, maxLimited),
		byName: NewBuckets(2*perSecond, 2*l.Burst, maxLimited),
	}
}

// allow spends an attempt of the request's address and of name, or answers
// 429 RateLimited with Retry-After.
func (s *signInLimits) allow(w http.ResponseWriter, r *http.Request, name string) error {
	now := time.Now()
	ok, wait := s.byAddr.Take(ClientAddress(r), now)
	if ok && name != "" {
		ok, wait = s.byName.Take(strings.ToLower(name), now)
	}
	if ok {
		return nil
	}
	secs := int(math.Ceil(wait.Seconds()))
	w.Header().Set("Retry-After", strconv.Itoa(secs))
	return &problemError{Problem{Status: http.StatusTooManyRequests, Code: "RateLimited",
		Message: fmt.Sprintf("too many attempts to sign in; try again in %d s", secs)}}
}

// ClientAddress is the address a client's limits are kept by: its peer's
// IP, or behind trusted proxies the client's they forwarded
// (App.ClientAddresses); an IPv6 one by its /64 (one machine is given a
// whole /64 to take fresh addresses from).
func ClientAddress(r *http.Request) string {
	ip, ok := r.Context().Value(clientKey{}).(netip.Addr)
	if !ok {
		if ip, ok = peerAddr(r); !ok {
			if host, _, err := net.SplitHostPort(r.RemoteAddr); err == nil {
				return host
			}
			return r.RemoteAddr
		}
	}
	if ip.Is4() {
		return ip.String()
	}
	p, _ := ip.Prefix(64)
	return p.Addr().String() + "/64"
}
