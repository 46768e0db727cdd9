package handlers

import (
	"context"
	"math/rand/v2"
	"sync"
	"time"

	"github.com/a-h/templ"
	"github.com/go-chi/chi/v5"

	"github.com/foldboard/foldboard/domain/user"
	"github.com/foldboard/foldboard/es"
	"github.com/foldboard/foldboard/views"
)

// accountsCacheTTL is how long an account's state is trusted once read: a
// sign-out on another instance reaches this one within it.
const (
	accountsCacheTTL  = 2 * time.Second
	accountsCacheSize = 4096
)

// people runs the account commands and reads accounts for every request
// that names one, from the store (so that every instance of a cluster
// agrees), through a small cache of recently read states.
type people struct {
	handler *es.Handler[user.State, user.Command, user.Event]

	mu    sync.Mutex
	cache map[string]cachedAccount
}

type cachedAccount struct {
	state user.State
	read  time.Time
}

func newPeople(h *es.Handler[user.State, user.Command, user.Event]) *people {
	return &people{handler: h, cache: map[string]cachedAccount{}}
}

// state is the account's state, at most accountsCacheTTL old.
func (ac *people) state(ctx context.Context, account es.StreamRef) (user.State, error) {
	ac.mu.Lock()
	c, ok := ac.cache[account.ID]
	ac.mu.Unlock()
	if ok && time.Since(c.read) < accountsCacheTTL {
		return c.state, nil
	}
	st, _, err := ac.handler.Load(ctx, account)
	if err != nil {
		return user.State{}, err
	}
	ac.remember(account, st)
	return st, nil
}

func (ac *people) remember(account es.StreamRef, st user.State) {
	ac.mu.Lock()
	defer ac.mu.Unlock()
	if len(ac.cache) >= accountsCacheSize {
		// Drop the stale first, else any one (maps iterate in no order).
		now := time.Now()
		for id, c := range ac.cache {
			if now.Sub(c.read) >= accountsCacheTTL || len(ac.cache) >= accountsCacheSize {
				delete(ac.cache, id)
			}
		}
	}
	ac.cache[account.ID] = cachedAccount{state: st, read: time.Now()}
}

// run handles one account command by actor and remembers the state it
// leaves.
func (ac *people) run(ctx context.Context, account es.StreamRef, actor string, cmd user.Command) (es.Result[user.State], error) {
	res, err := ac.handler.Handle(ctx, es.Meta{
		StreamID: account.ID, Expected: es.AnyVersion, Actor: actor,
		CorrelationID: newCommandID(),
	}, cmd)
	if err != nil {
		return res, err
	}
	ac.remember(account, res.State)
	return res, nil
}

// peopleModule serves the account streams to the timeline and the state
// route like any domain's, as user.Public and user.Redact allow: never a
// password hash's salt and key. Accounts are not among Modules: their
// routes are the sign-in routes, and they have no lists, seed or load.
func peopleModule(users *es.Handler[user.State, user.Command, user.Event]) mounted {
	view := func(id string, v int64, s user.State) templ.Component {
		return views.PersonView(views.Person{ID: id, Version: v, State: s.Public()})
	}
	noRoutes := func(*App, *es.Handler[user.State, user.Command, user.Event], chi.Router) {}
	noRandom := func(*rand.Rand, user.State) user.Command { return user.SignOutEverywhere{} }
	return mounted{
		Module: Module{Name: "user", Kind: NewKind(users.Decider, view, noRoutes, noRandom), Page: "/me",
			// An account's stream is its person's (and the admins').
			Owner: func(s any) string {
				if st, ok := s.(user.State); ok {
					return st.Name
				}
				return ""
			}},
		handler: publicAccounts{streamHandler[user.State, user.Command, user.Event]{users}},
	}
}

// publicAccounts is the accounts' handler as the read routes use it.
type publicAccounts struct{ StreamHandler }

func public(s any) any {
	if st, ok := s.(user.State); ok {
		return st.Public()
	}
	return s
}

func (p publicAccounts) Load(ctx context.Context, ref es.StreamRef) (any, int64, error) {
	s, v, err := p.StreamHandler.Load(ctx, ref)
	return public(s), v, err
}

func (p publicAccounts) LoadAt(ctx context.Context, ref es.StreamRef, version int64) (any, int64, error) {
	s, v, err := p.StreamHandler.LoadAt(ctx, ref, version)
	return public(s), v, err
}

func (p publicAccounts) Step(ctx context.Context, id string, version int64) (any, any, *es.Envelope, error) {
	before, after, e, err := p.StreamHandler.Step(ctx, id, version)
	if e != nil {
		shown := user.Redact(*e)
		e = &shown
	}
	return public(before), public(after), e, err
}
