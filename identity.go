package main

import (
	"crypto/rand"
	"encoding/base64"
	"errors"
	"flag"
	"fmt"
	"io/fs"
	"log/slog"
	"net/netip"
	"os"
	"strings"
	"time"

	"github.com/foldboard/foldboard/handlers"
)

// identityFlags are the sign-in settings of contract.md's "Identity".
type identityFlags struct {
	admins         string
	actorHeader    string
	trustedProxies string
	sessionIdle    time.Duration
}

func (f *identityFlags) register(fs *flag.FlagSet, env func(name, def string) string) {
	fs.StringVar(&f.admins, "admins", env("FOLDBOARD_ADMINS", ""), "comma-separated actors who may run operations and see everything (FOLDBOARD_ADMINS)")
	fs.StringVar(&f.actorHeader, "actor-header", env("FOLDBOARD_ACTOR_HEADER", ""), "take the actor from this header of a trusted proxy (X-Forwarded-User, say); needs -trusted-proxies (FOLDBOARD_ACTOR_HEADER)")
	fs.StringVar(&f.trustedProxies, "trusted-proxies", env("FOLDBOARD_TRUSTED_PROXIES", ""), "comma-separated CIDR ranges of the proxies in front: their connections may set -actor-header, and X-Forwarded-For names the client the limits per address count (FOLDBOARD_TRUSTED_PROXIES)")
	fs.DurationVar(&f.sessionIdle, "session-idle", 7*24*time.Hour, "end a session unused for this long")
}

// identity checks the flags and makes the handlers' settings of them;
// publicURL is -public-url's, whose https:// makes cookies Secure.
func (f identityFlags) identity(publicURL string) (handlers.Identity, error) {
	id := handlers.Identity{ActorHeader: f.actorHeader, SessionIdle: f.sessionIdle}
	for _, a := range strings.Split(f.admins, ",") {
		if a = strings.TrimSpace(a); a != "" {
			id.Admins = append(id.Admins, a)
		}
	}
	for _, c := range strings.Split(f.trustedProxies, ",") {
		if c = strings.TrimSpace(c); c == "" {
			continue
		}
		p, err := netip.ParsePrefix(c)
		if err != nil {
			return id, fmt.Errorf("-trusted-proxies %q: %w", c, err)
		}
		id.TrustedProxies = append(id.TrustedProxies, p.Masked())
	}
	if id.ActorHeader != "" && len(id.TrustedProxies) == 0 {
		return id, errors.New("-actor-header needs -trusted-proxies: the header is taken only from those ranges")
	}
	if f.sessionIdle < time.Minute {
		return id, errors.New("-session-idle must be a minute or more")
	}
	id.SecureCookies = strings.HasPrefix(strings.ToLower(publicURL), "https://")
	return id, nil
}

// sessionSecret is the key that signs session cookies: FOLDBOARD_SECRET
// when given. Else a cluster cannot start (its instances must share the
// key); the embedded store keeps one it makes in a file of its own beside
// the database (0600), never in a table; DynamoDB alone makes one for the
// run, so sessions need signing in again after a restart.
func sessionSecret(cfg config, cluster bool, log *slog.Logger) ([]byte, error) {
	if cfg.secret != "" {
		if len(cfg.secret) < 16 {
			return nil, errors.New("FOLDBOARD_SECRET must be at least 16 characters")
		}
		return []byte(cfg.secret), nil
	}
	switch {
	case cluster:
		return nil, errors.New("FOLDBOARD_SECRET is required when instances share a cluster (-redis): they must sign sessions with one key")
	case cfg.store == "sqlite":
		return secretFile(cfg.db + ".secret")
	}
	log.Warn("FOLDBOARD_SECRET is not set: sessions last until this process stops")
	return nil, nil
}

// secretFile reads the key kept at path, or makes one and keeps it there,
// readable by its owner only.
func secretFile(path string) ([]byte, error) {
	if b, err := os.ReadFile(path); err == nil {
		if key, err := base64.StdEncoding.DecodeString(strings.TrimSpace(string(b))); err == nil && len(key) >= 32 {
			return key, nil
		}
		return nil, fmt.Errorf("%s does not hold a key foldboard made: remove it to make a new one", path)
	} else if !errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("reading the session key: %w", err)
	}
	key := make([]byte, 32)
	if _, err := rand.Read(key); err != nil {
		return nil, err
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if errors.Is(err, fs.ErrExist) {
		return secretFile(path) // another process made it first
	} else if err != nil {
		return nil, fmt.Errorf("keeping the session key: %w", err)
	}
	_, err = f.WriteString(base64.StdEncoding.EncodeToString(key) + "\n")
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return nil, fmt.Errorf("keeping the session key in %s: %w", path, err)
	}
	return key, nil
}
