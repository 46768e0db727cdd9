package handlers

import (
	"fmt"
	"math"
	"net"
	"net/http"
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

// maxLimited bounds the keys a limiter remembers; past it, the buckets
// that have filled up again are forgotten (they hold nothing).
const maxLimited = 10_000

// limiter keeps a token bucket per key (an address, a name).
type limiter struct {
	limit RateLimit
	mu    sync.Mutex
	keys  map[string]*rate.Limiter
}

func newLimiter(l RateLimit) *limiter {
	return &limiter{limit: l.withDefaults(), keys: map[string]*rate.Limiter{}}
}

// take spends one attempt of key, or says how long until there is one.
func (l *limiter) take(key string, now time.Time) (time.Duration, bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	lim, ok := l.keys[key]
	if !ok {
		if len(l.keys) >= maxLimited {
			l.forgetFull(now)
		}
		lim = rate.NewLimiter(rate.Every(l.limit.Every), l.limit.Burst)
		l.keys[key] = lim
	}
	r := lim.ReserveN(now, 1)
	if d := r.DelayFrom(now); d > 0 {
		r.CancelAt(now)
		return d, false
	}
	return 0, true
}

func (l *limiter) forgetFull(now time.Time) {
	for k, lim := range l.keys {
		if lim.TokensAt(now) >= float64(l.limit.Burst) {
			delete(l.keys, k)
		}
	}
	for k := range l.keys { // all busy: forget any, rather than grow
		if len(l.keys) < maxLimited {
			break
		}
		delete(l.keys, k)
	}
}

// signInLimits bound sign-ins and sign-ups per address and per name, so
// that neither one machine nor a guess at one person's password runs free.
type signInLimits struct {
	byAddr, byName *limiter
}

func newSignInLimits(l RateLimit) *signInLimits {
	return &signInLimits{byAddr: newLimiter(l), byName: newLimiter(l)}
}

// allow spends an attempt of the request's address and of name, or answers
// 429 RateLimited with Retry-After.
func (s *signInLimits) allow(w http.ResponseWriter, r *http.Request, name string) error {
	now := time.Now()
	wait, ok := s.byAddr.take(ClientAddress(r), now)
	if ok && name != "" {
		wait, ok = s.byName.take(strings.ToLower(name), now)
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
// IP, an IPv6 one by its /64 (one machine is given a whole /64 to take
// fresh addresses from).
func ClientAddress(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		host = r.RemoteAddr
	}
	ip := net.ParseIP(host)
	if ip == nil {
		return host
	}
	if ip4 := ip.To4(); ip4 != nil {
		return ip4.String()
	}
	return ip.Mask(net.CIDRMask(64, 128)).String() + "/64"
}
