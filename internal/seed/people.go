package seed

import (
	"context"
	"crypto/rand"
	"encoding/base32"
	"errors"
	"fmt"
	"strings"

	"github.com/foldboard/foldboard/domain/user"
	"github.com/foldboard/foldboard/es"
	"github.com/foldboard/foldboard/handlers"
)

// Person is a demo account: its name and, when seeding made it now, its
// password (shown once; only its hash is kept).
type Person struct {
	Name     string
	Password string
}

// People makes the accounts of the demo's people (handlers.DemoPeople, the
// actors of the demo data), each with a new random password, hashed with hash; an account
// that exists already is left as it is, and comes back with no password.
func People(ctx context.Context, store es.Store, hash func(context.Context, string) (string, error)) ([]Person, error) {
	users := &es.Handler[user.State, user.Command, user.Event]{Decider: user.Decider(), Store: store}
	var people []Person
	for _, name := range handlers.DemoPeople() {
		password := newPassword()
		phc, err := hash(ctx, password)
		if err != nil {
			return people, err
		}
		// No command id: the hash differs at every seed (a new salt), and
		// a second seed meets the name taken.
		meta := es.Meta{StreamID: user.StreamID(name), Expected: es.AnyVersion, Actor: name}
		_, err = users.Handle(ctx, meta, user.Register{Name: name, PasswordHash: phc})
		switch {
		case errors.Is(err, user.ErrNameTaken):
			password = ""
		case err != nil:
			return people, fmt.Errorf("seed the account %s: %w", name, err)
		}
		people = append(people, Person{Name: name, Password: password})
	}
	return people, nil
}

// newPassword is 16 random letters and digits, in groups of four.
func newPassword() string {
	var b [10]byte
	_, _ = rand.Read(b[:])
	s := strings.ToLower(base32.StdEncoding.EncodeToString(b[:]))
	return s[0:4] + "-" + s[4:8] + "-" + s[8:12] + "-" + s[12:16]
}
