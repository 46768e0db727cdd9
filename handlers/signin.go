package handlers

import (
	"encoding/json"
	"errors"
	"net/http"
	"strings"
	"time"

	"github.com/a-h/templ"
	"github.com/go-chi/chi/v5"

	"github.com/foldboard/foldboard/domain/user"
	"github.com/foldboard/foldboard/es"
	"github.com/foldboard/foldboard/views"
)

// dummyHash is verified against for a name that has no account, so that a
// wrong name costs what a wrong password does and answers alike. Its
// password is no one's.
const dummyHash = "$argon2id$v=19$m=19456,t=2,p=1$Zm9sZGJvYXJkLWR1bW15IQ$qjHpYwPiHmZb8mWeUtiKkt/daqgI670thS2X2RIDpZo"

func errBadCredentials() error {
	return &problemError{Problem{Status: http.StatusUnauthorized, Code: "BadCredentials", Message: "that name and password do not match an account"}}
}

func errSignInRequired() error {
	return &problemError{Problem{Status: http.StatusUnauthorized, Code: "SignInRequired", Message: "sign in first: commands are made by someone"}}
}

// credentials are a sign-in form's fields.
type credentials struct {
	name, password, back string
}

func readCredentials(r *http.Request) (*input, credentials, error) {
	in, err := readInput(r)
	if err != nil {
		return nil, credentials{}, err
	}
	var c credentials
	if c.name, err = in.requiredText("name"); err != nil {
		return in, c, err
	}
	if c.password, err = in.requiredText("password"); err != nil {
		return in, c, err
	}
	c.back, _, _ = in.text("back")
	c.name = strings.TrimSpace(c.name)
	return in, c, in.done()
}

// SignUp is POST /signup: a new account, and its first session.
func (a *App) SignUp(w http.ResponseWriter, r *http.Request) error {
	in, c, err := readCredentials(r)
	if err != nil {
		return a.signInFailed(r, in, "signup", err)
	}
	if err := a.signIns.allow(w, r, c.name); err != nil {
		return a.signInFailed(r, in, "signup", err)
	}
	if !validActor(c.name) {
		return a.signInFailed(r, in, "signup", es.Errorf(es.Invalid, "BadActor", "a name is 1-40 letters, digits, spaces or - _ . '"))
	}
	if strings.EqualFold(c.name, Anonymous) {
		return a.signInFailed(r, in, "signup", es.Errorf(es.Refused, "NameTaken", "the name %q is taken", c.name))
	}
	if err := validPassword(c.password); err != nil {
		return a.signInFailed(r, in, "signup", err)
	}
	hash, err := a.hasher.hash(r.Context(), c.password)
	if err != nil {
		return err
	}
	account, secret := user.Stream(c.name), newSecret()
	if _, err := a.people.run(r.Context(), account, c.name, user.Register{Name: c.name, PasswordHash: hash, Session: secretHash(secret)}); err != nil {
		return a.signInFailed(r, in, "signup", err)
	}
	a.setSession(w, account, secret)
	return a.signedIn(w, r, http.StatusCreated, c.name, c.back)
}

// SignIn is POST /signin: a new session (a new id, whatever the request
// came with) for the right name and password. A wrong name and a wrong
// password cost the same hashing and answer the same.
func (a *App) SignIn(w http.ResponseWriter, r *http.Request) error {
	in, c, err := readCredentials(r)
	if err != nil {
		return a.signInFailed(r, in, "signin", err)
	}
	if err := a.signIns.allow(w, r, c.name); err != nil {
		return a.signInFailed(r, in, "signin", err)
	}
	account := user.Stream(c.name)
	st := user.State{}
	if validActor(c.name) {
		if st, err = a.people.state(r.Context(), account); err != nil {
			return err
		}
	}
	phc := dummyHash
	if st.Exists {
		phc = st.PasswordHash
	}
	ok, err := a.hasher.verify(r.Context(), phc, c.password)
	if err != nil && !errors.Is(err, errBadPHC) {
		return err
	}
	if !ok || !st.Exists {
		return a.signInFailed(r, in, "signin", errBadCredentials())
	}
	secret := newSecret()
	if _, err := a.people.run(r.Context(), account, st.Name, user.StartSession{Actor: st.Name, Session: secretHash(secret)}); err != nil {
		return err
	}
	a.setSession(w, account, secret)
	return a.signedIn(w, r, http.StatusOK, st.Name, c.back)
}

func (a *App) signedIn(w http.ResponseWriter, r *http.Request, status int, name, back string) error {
	if wantsJSON(r) {
		writeJSON(w, status, map[string]string{"actor": name})
		return nil
	}
	http.Redirect(w, r, localPath(back), http.StatusSeeOther)
	return nil
}

// signInField is the field each sign-in problem is about.
var signInField = map[string]string{"BadActor": "name", "NameTaken": "name", "BadPassword": "password"}

// signInFailed shows the sign-in page again with the problem by its form.
func (a *App) signInFailed(r *http.Request, in *input, form string, err error) error {
	return onPage(err, func(p Problem) templ.Component {
		f := views.Form{Name: form, Code: p.Code, Error: p.Message, Values: map[string]string{}, Field: signInField[p.Code]}
		if in != nil {
			for k, vs := range in.form {
				if k != "password" {
					f.Values[k] = vs[0]
				}
			}
		}
		return views.SignInPage(a.page(r, "Sign in"), f)
	})
}

// SignOut is POST /signout: it ends the request's session, or with
// everywhere=true every session and token of the actor.
func (a *App) SignOut(w http.ResponseWriter, r *http.Request) error {
	in, err := readInput(r)
	if err != nil {
		return err
	}
	everywhere, err := in.flag("everywhere")
	if err != nil {
		return err
	}
	back, _, _ := in.text("back")
	if err := in.done(); err != nil {
		return err
	}
	id := a.whoIs(r)
	if id.err != nil {
		return id.err
	}
	switch {
	case everywhere && id.account.ID != "":
		_, err = a.people.run(r.Context(), id.account, id.name, user.SignOutEverywhere{Actor: id.name})
	case id.session != "":
		_, err = a.people.run(r.Context(), id.account, id.name, user.EndSession{Actor: id.name, Session: id.session})
	}
	if err != nil && !errors.Is(err, user.ErrNoSuchSession) {
		return err
	}
	a.clearSession(w)
	if wantsJSON(r) {
		writeJSON(w, http.StatusOK, map[string]any{"actor": nil})
		return nil
	}
	http.Redirect(w, r, localPath(back), http.StatusSeeOther)
	return nil
}

// MakeToken is POST /tokens: a token for programs, shown this once.
func (a *App) MakeToken(w http.ResponseWriter, r *http.Request) error {
	if _, err := readInput(r); err != nil {
		return err
	}
	id, err := a.signedInAccount(r)
	if err != nil {
		return err
	}
	secret := newSecret()
	tokenID := es.NewULID(time.Now())
	if _, err := a.people.run(r.Context(), id.account, id.name, user.IssueToken{Actor: id.name, Token: tokenID, Hash: secretHash(secret)}); err != nil {
		return err
	}
	token := tokenPrefix + joinSecret(id.account, secret)
	if wantsJSON(r) {
		writeJSON(w, http.StatusCreated, map[string]string{"token": token, "id": tokenID})
		return nil
	}
	return a.renderMe(w, r, http.StatusCreated, token)
}

// RevokeToken is POST /tokens/{id}/revoke.
func (a *App) RevokeToken(w http.ResponseWriter, r *http.Request) error {
	if _, err := readInput(r); err != nil {
		return err
	}
	id, err := a.signedInAccount(r)
	if err != nil {
		return err
	}
	if _, err := a.people.run(r.Context(), id.account, id.name, user.RevokeToken{Actor: id.name, Token: chi.URLParam(r, "id")}); err != nil {
		return err
	}
	if wantsJSON(r) {
		writeJSON(w, http.StatusOK, map[string]any{"revoked": chi.URLParam(r, "id")})
		return nil
	}
	http.Redirect(w, r, "/me", http.StatusSeeOther)
	return nil
}

// signedInAccount is the request's person, who must have an account here
// (an actor from a trusted header has none).
func (a *App) signedInAccount(r *http.Request) (who, error) {
	id := a.whoIs(r)
	if id.err != nil {
		return id, id.err
	}
	if id.account.ID == "" {
		if id.name == Anonymous {
			return id, errSignInRequired()
		}
		return id, es.Errorf(es.Forbidden, "NoAccount", "%s signs in through the proxy and has no account here", id.name)
	}
	return id, nil
}

// Me is GET /me: who the request is ({"actor": null} when signed out); for
// a browser, the person's page (tokens, sign out everywhere), or the
// sign-in page.
func (a *App) Me(w http.ResponseWriter, r *http.Request) error {
	id := a.whoIs(r)
	if id.err != nil {
		return id.err
	}
	if wantsJSON(r) {
		var actor any
		if id.name != Anonymous {
			actor = id.name
		}
		writeJSON(w, http.StatusOK, map[string]any{"actor": actor, "admin": id.admin})
		return nil
	}
	if id.name == Anonymous {
		a.render(w, r, http.StatusOK, views.SignInPage(a.page(r, "Sign in"), views.Form{}))
		return nil
	}
	return a.renderMe(w, r, http.StatusOK, "")
}

func (a *App) renderMe(w http.ResponseWriter, r *http.Request, status int, newToken string) error {
	id := a.whoIs(r)
	me := views.Me{Name: id.name, Admin: id.admin, NewToken: newToken, HasAccount: id.account.ID != ""}
	if id.account.ID != "" {
		st, err := a.people.state(r.Context(), id.account)
		if err != nil {
			return err
		}
		me.Sessions, me.Stream = len(st.Sessions), id.account.String()
		for _, t := range st.Tokens {
			me.Tokens = append(me.Tokens, t.ID)
		}
	}
	p := a.page(r, id.name)
	p.Path = "/me"
	a.render(w, r, status, views.MePage(p, me))
	return nil
}

// SignInPage is GET /signin: the forms to sign in and to sign up.
func (a *App) SignInPage(w http.ResponseWriter, r *http.Request) error {
	p := a.page(r, "Sign in")
	p.Path = localPath(r.URL.Query().Get("back"))
	a.render(w, r, http.StatusOK, views.SignInPage(p, views.Form{}))
	return nil
}

// flag reads an optional yes-or-no field: a JSON boolean, or the form text
// "true" (anything else in a form is no).
func (in *input) flag(name string) (bool, error) {
	in.used[name] = true
	if in.json != nil {
		raw, ok := in.json[name]
		if !ok || string(raw) == "null" {
			return false, nil
		}
		var b bool
		if err := json.Unmarshal(raw, &b); err != nil {
			return false, badRequest("BadField", name, "%s must be true or false", name)
		}
		return b, nil
	}
	return in.form.Get(name) == "true", nil
}
