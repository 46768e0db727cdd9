package handlers

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"runtime"
	"strings"
	"unicode/utf8"

	"golang.org/x/crypto/argon2"
)

// OWASP's argon2id parameters (Password Storage Cheat Sheet): 19 MiB, two
// passes, one lane. The hash is kept in the PHC string form that carries
// them, so that a later change of parameters still verifies old hashes.
const (
	argonMemory  = 19 * 1024 // KiB
	argonTime    = 2
	argonThreads = 1
	argonSaltLen = 16
	argonKeyLen  = 32

	minPassword = 8
	maxPassword = 256
)

var errBadPHC = errors.New("not an argon2id hash in PHC form")

// hasher hashes and verifies passwords, a few at a time: each takes 19 MiB
// and a core for tens of milliseconds, so sign-ins beyond the slots wait
// (or give up with their request) instead of exhausting the machine.
type hasher struct{ slots chan struct{} }

func newHasher() *hasher { return &hasher{slots: make(chan struct{}, max(1, runtime.GOMAXPROCS(0)))} }

func (h *hasher) take(ctx context.Context) error {
	select {
	case h.slots <- struct{}{}:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

func (h *hasher) give() { <-h.slots }

// hash makes the PHC string of password with a new salt:
// $argon2id$v=19$m=19456,t=2,p=1$<salt>$<key>, both base64 without padding.
func (h *hasher) hash(ctx context.Context, password string) (string, error) {
	salt := make([]byte, argonSaltLen)
	if _, err := rand.Read(salt); err != nil {
		return "", err
	}
	if err := h.take(ctx); err != nil {
		return "", err
	}
	defer h.give()
	key := argon2.IDKey([]byte(password), salt, argonTime, argonMemory, argonThreads, argonKeyLen)
	return fmt.Sprintf("$argon2id$v=%d$m=%d,t=%d,p=%d$%s$%s", argon2.Version, argonMemory, argonTime, argonThreads,
		base64.RawStdEncoding.EncodeToString(salt), base64.RawStdEncoding.EncodeToString(key)), nil
}

// verify reports whether password matches the PHC string phc, comparing in
// constant time.
func (h *hasher) verify(ctx context.Context, phc, password string) (bool, error) {
	p, err := parsePHC(phc)
	if err != nil {
		return false, err
	}
	if err := h.take(ctx); err != nil {
		return false, err
	}
	defer h.give()
	key := argon2.IDKey([]byte(password), p.salt, p.time, p.memory, p.threads, uint32(len(p.key)))
	return subtle.ConstantTimeCompare(key, p.key) == 1, nil
}

type phcHash struct {
	memory, time uint32
	threads      uint8
	salt, key    []byte
}

func parsePHC(s string) (phcHash, error) {
	parts := strings.Split(s, "$")
	if len(parts) != 6 || parts[0] != "" || parts[1] != "argon2id" || parts[2] != fmt.Sprintf("v=%d", argon2.Version) {
		return phcHash{}, errBadPHC
	}
	var p phcHash
	if _, err := fmt.Sscanf(parts[3], "m=%d,t=%d,p=%d", &p.memory, &p.time, &p.threads); err != nil {
		return phcHash{}, fmt.Errorf("%w: %v", errBadPHC, err)
	}
	// Bounds, so that a stored hash cannot make a sign-in cost anything.
	if p.memory < 8 || p.memory > 1<<20 || p.time < 1 || p.time > 10 || p.threads < 1 || p.threads > 16 {
		return phcHash{}, fmt.Errorf("%w: parameters out of bounds", errBadPHC)
	}
	var err error
	if p.salt, err = base64.RawStdEncoding.DecodeString(parts[4]); err != nil || len(p.salt) < 8 {
		return phcHash{}, fmt.Errorf("%w: salt", errBadPHC)
	}
	if p.key, err = base64.RawStdEncoding.DecodeString(parts[5]); err != nil || len(p.key) < 16 || len(p.key) > 64 {
		return phcHash{}, fmt.Errorf("%w: key", errBadPHC)
	}
	return p, nil
}

// validPassword is 8-256 characters of UTF-8.
func validPassword(p string) error {
	if n := utf8.RuneCountInString(p); n < minPassword || n > maxPassword || !utf8.ValidString(p) {
		return &problemError{Problem{Status: 422, Code: "BadPassword",
			Message: fmt.Sprintf("a password is %d-%d characters", minPassword, maxPassword)}}
	}
	return nil
}

// HashPassword is the argon2id hash, in PHC form, that an account keeps of
// password (for seeding accounts outside a request).
func HashPassword(ctx context.Context, password string) (string, error) {
	if err := validPassword(password); err != nil {
		return "", err
	}
	return newHasher().hash(ctx, password)
}

// DemoPeople are the people of the demo data, who get accounts when it is
// seeded.
func DemoPeople() []string { return append([]string(nil), seedActors...) }
