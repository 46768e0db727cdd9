package handlers

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"net/http"
	"net/netip"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/foldboard/foldboard/domain/user"
	"github.com/foldboard/foldboard/es"
)

// Identity configures how a request's actor is known.
type Identity struct {
	// Admins may run operations and see everything.
	Admins []string
	// ActorHeader, with TrustedProxies, takes the actor from a proxy's
	// header (X-Forwarded-User, say), on connections from those ranges
	// only: RemoteAddr, never X-Forwarded-For.
	ActorHeader    string
	TrustedProxies []netip.Prefix
	// SecureCookies marks the session cookie Secure (behind TLS).
	SecureCookies bool
	// SessionIdle ends a session unused for this long; default 7 days.
	SessionIdle time.Duration
	// SignInRate bounds sign-ins and sign-ups per address: by default 20
	// at once, then one every 3 s; a name has twice that (signInLimits).
	SignInRate RateLimit
}

func (i Identity) withDefaults() Identity {
	if i.SessionIdle <= 0 {
		i.SessionIdle = 7 * 24 * time.Hour
	}
	return i
}

const (
	sessionCookie = "foldboard_session"
	tokenPrefix   = "fbt."
	// touchEvery is how stale a session cookie's last use may be before
	// an answer renews it.
	touchEvery = time.Minute
)

// who is a request's identity, found once per request.
type who struct {
	name  string
	admin bool
	// account is the stream of the person's account; empty for an actor
	// from a trusted header, who has none here.
	account es.StreamRef
	// session is the hash of the session the request came with.
	session string
	err     error
}

type whoKey struct{}

// Identify finds the request's actor (session, token or trusted header)
// once, for every handler after it, and renews a session cookie that is
// getting stale.
func (a *App) Identify(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		id := a.identify(w, r)
		next.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), whoKey{}, id)))
	})
}

func (a *App) whoIs(r *http.Request) who {
	if id, ok := r.Context().Value(whoKey{}).(who); ok {
		return id
	}
	return a.identify(nil, r)
}

// actor returns who issued the request: a signed-in person, an actor from
// a trusted proxy, or Anonymous. A malformed trusted header or a token that
// is not live is an error.
func (a *App) actor(r *http.Request) (string, error) {
	id := a.whoIs(r)
	return id.name, id.err
}

// cookieActor is the actor for showing a page: Anonymous when it cannot tell.
func (a *App) cookieActor(r *http.Request) string {
	if id := a.whoIs(r); id.err == nil {
		return id.name
	}
	return Anonymous
}

func (a *App) identify(w http.ResponseWriter, r *http.Request) who {
	anon := who{name: Anonymous}
	if h := a.ident.ActorHeader; h != "" && a.fromTrustedProxy(r) {
		if name := r.Header.Get(h); name != "" {
			if !validActor(name) {
				anon.err = badRequest("BadActor", h, "%s must be 1-40 letters, digits, spaces or - _ . '", h)
				return anon
			}
			return who{name: name, admin: a.isAdmin(name)}
		}
	}
	if auth := r.Header.Get("Authorization"); auth != "" {
		return a.tokenActor(r.Context(), auth)
	}
	if c, err := r.Cookie(sessionCookie); err == nil {
		if id, ok := a.sessionActor(w, r, c.Value); ok {
			return id
		}
	}
	return anon
}

func (a *App) fromTrustedProxy(r *http.Request) bool {
	ip, ok := peerAddr(r)
	return ok && a.trusted(ip)
}

func (a *App) isAdmin(name string) bool {
	return name != Anonymous && slices.Contains(a.ident.Admins, name)
}

// tokenActor is the owner of a live bearer token; anything else is 401.
func (a *App) tokenActor(ctx context.Context, auth string) who {
	bad := who{name: Anonymous, err: &problemError{Problem{Status: http.StatusUnauthorized, Code: "BadToken",
		Message: "the bearer token is not one foldboard issued, or it has been revoked"}}}
	token, ok := strings.CutPrefix(auth, "Bearer ")
	if !ok {
		return bad
	}
	account, secret, ok := splitSecret(strings.TrimPrefix(token, tokenPrefix))
	if !ok || !strings.HasPrefix(token, tokenPrefix) {
		return bad
	}
	st, err := a.people.state(ctx, account)
	if err != nil {
		return who{name: Anonymous, err: err}
	}
	if !st.Exists || !st.HasToken(secretHash(secret)) {
		return bad
	}
	return who{name: st.Name, admin: a.isAdmin(st.Name), account: account}
}

// sessionActor is the person of a live session cookie that has been used
// within the idle time; it renews the cookie when its last use is stale.
func (a *App) sessionActor(w http.ResponseWriter, r *http.Request, value string) (who, bool) {
	body, sig, ok := strings.Cut(value, "~")
	if !ok || !hmac.Equal([]byte(sig), []byte(a.cookieMAC(body))) {
		return who{}, false
	}
	rest, seen, ok := strings.Cut(body, "!")
	lastUse, err := strconv.ParseInt(seen, 10, 64)
	if !ok || err != nil {
		return who{}, false
	}
	idle := time.Since(time.Unix(lastUse, 0))
	account, secret, ok := splitSecret(rest)
	if !ok || idle > a.ident.SessionIdle {
		return who{}, false
	}
	st, err := a.people.state(r.Context(), account)
	hash := secretHash(secret)
	if err != nil || !st.Exists || !st.HasSession(hash) {
		return who{}, false
	}
	if w != nil && idle > touchEvery {
		a.setSession(w, account, secret)
	}
	return who{name: st.Name, admin: a.isAdmin(st.Name), account: account, session: hash}, true
}

// newSecret is 32 random bytes, base64: a session id or a token's secret.
func newSecret() string {
	b := make([]byte, 32)
	_, _ = rand.Read(b) // crypto/rand never fails on the platforms Go supports
	return base64.RawURLEncoding.EncodeToString(b)
}

// secretHash is what an account records of a secret: its hex SHA-256.
func secretHash(secret string) string {
	sum := sha256.Sum256([]byte(secret))
	return hex.EncodeToString(sum[:])
}

// joinSecret names the account and carries the secret: the account's id,
// base64, a dot, the secret.
func joinSecret(account es.StreamRef, secret string) string {
	return base64.RawURLEncoding.EncodeToString([]byte(account.ID)) + "." + secret
}

func splitSecret(s string) (es.StreamRef, string, bool) {
	enc, secret, ok := strings.Cut(s, ".")
	id, err := base64.RawURLEncoding.DecodeString(enc)
	ref := es.StreamRef{Type: user.StreamType, ID: string(id)}
	if !ok || err != nil || len(secret) != 43 || ref.Validate() != nil {
		return es.StreamRef{}, "", false
	}
	return ref, secret, true
}

// setSession sets the session cookie: the account and session id, when it
// was last used, and their HMAC under the server's secret, so that the idle
// time cannot be stretched by hand.
func (a *App) setSession(w http.ResponseWriter, account es.StreamRef, secret string) {
	body := joinSecret(account, secret) + "!" + strconv.FormatInt(time.Now().Unix(), 10)
	http.SetCookie(w, &http.Cookie{
		Name: sessionCookie, Value: body + "~" + a.cookieMAC(body), Path: "/",
		HttpOnly: true, SameSite: http.SameSiteLaxMode, Secure: a.ident.SecureCookies,
		MaxAge: int(a.ident.SessionIdle / time.Second),
	})
}

func (a *App) clearSession(w http.ResponseWriter) {
	http.SetCookie(w, &http.Cookie{
		Name: sessionCookie, Path: "/", HttpOnly: true, SameSite: http.SameSiteLaxMode,
		Secure: a.ident.SecureCookies, MaxAge: -1,
	})
}

func (a *App) cookieMAC(body string) string {
	m := hmac.New(sha256.New, a.secret)
	m.Write([]byte("session:" + body))
	return base64.RawURLEncoding.EncodeToString(m.Sum(nil))
}

// OnlyAdmins is AdminOnly as a router's middleware: web/routes.go mounts
// every operation (any POST that is neither a domain command nor a
// sign-in route: rebuild, and on /projections retry, rebuild one model,
// swap, discard) on a router that uses it, `ops.Post(...)`.
func (a *App) OnlyAdmins(next http.Handler) http.Handler {
	return a.Handle(a.AdminOnly(func(w http.ResponseWriter, r *http.Request) error {
		next.ServeHTTP(w, r)
		return nil
	}))
}

// AdminOnly guards an operation (a rebuild, say): anyone signed out is
// asked to sign in, anyone but an admin is refused.
func (a *App) AdminOnly(fn Func) Func {
	return func(w http.ResponseWriter, r *http.Request) error {
		id := a.whoIs(r)
		switch {
		case id.err != nil:
			return id.err
		case id.name == Anonymous:
			return errSignInRequired()
		case !id.admin:
			return es.Errorf(es.Forbidden, "AdminOnly", "only an admin may do this")
		}
		return fn(w, r)
	}
}
