package handlers

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"net/http"
	"net/url"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/foldboard/foldboard/views"
)

const (
	actorCookie = "foldboard_actor"
	// Anonymous is the actor of a request that named nobody.
	Anonymous = "anonymous"
	maxActor  = 40
)

// validActor accepts 1-40 letters, digits, spaces and - _ . ' (no control or
// markup characters, so a name is safe anywhere it is shown).
func validActor(name string) bool {
	if name == "" || utf8.RuneCountInString(name) > maxActor || strings.TrimSpace(name) != name {
		return false
	}
	for _, r := range name {
		if !unicode.IsLetter(r) && !unicode.IsDigit(r) && !strings.ContainsRune(" -_.'", r) {
			return false
		}
	}
	return true
}

// actor returns who issued the request: the X-Actor header of a program, or
// the name in the signed cookie, or Anonymous. A malformed X-Actor is a 400;
// a cookie whose signature does not match (forged or from before a key
// change) is ignored.
func (a *App) actor(r *http.Request) (string, error) {
	if h := r.Header.Get("X-Actor"); h != "" {
		if !validActor(h) {
			return "", badRequest("BadActor", "X-Actor", "X-Actor must be 1-40 letters, digits, spaces or - _ . '")
		}
		return h, nil
	}
	return a.cookieActor(r), nil
}

func (a *App) cookieActor(r *http.Request) string {
	c, err := r.Cookie(actorCookie)
	if err != nil {
		return Anonymous
	}
	name, ok := a.verify(c.Value)
	if !ok {
		return Anonymous
	}
	return name
}

// sign makes a cookie value: the name, base64, a dot, its HMAC.
func (a *App) sign(name string) string {
	enc := base64.RawURLEncoding.EncodeToString([]byte(name))
	return enc + "." + base64.RawURLEncoding.EncodeToString(a.mac(enc))
}

func (a *App) verify(value string) (string, bool) {
	enc, sig, ok := strings.Cut(value, ".")
	if !ok {
		return "", false
	}
	got, err := base64.RawURLEncoding.DecodeString(sig)
	if err != nil || !hmac.Equal(got, a.mac(enc)) {
		return "", false
	}
	name, err := base64.RawURLEncoding.DecodeString(enc)
	if err != nil || !validActor(string(name)) {
		return "", false
	}
	return string(name), true
}

func (a *App) mac(s string) []byte {
	m := hmac.New(sha256.New, a.secret)
	m.Write([]byte("actor:" + s))
	return m.Sum(nil)
}

// SetActor is POST /actor. It answers the page header's "who are you" form: it signs the name
// into a cookie (HttpOnly, SameSite=Lax) and goes back to the page.
func (a *App) SetActor(w http.ResponseWriter, r *http.Request) error {
	in, err := readInput(r)
	if err != nil {
		return err
	}
	name, err := in.requiredText("name")
	if err != nil {
		return err
	}
	name = strings.TrimSpace(name)
	cookie := &http.Cookie{
		Name: actorCookie, Path: "/", HttpOnly: true, SameSite: http.SameSiteLaxMode,
		Secure: r.TLS != nil, MaxAge: 365 * 24 * 3600,
	}
	switch {
	case name == "":
		cookie.MaxAge = -1 // an empty name signs out
	case !validActor(name):
		bad := badRequest("BadActor", "name", "a name is 1-40 letters, digits, spaces or - _ . '")
		if wantsJSON(r) {
			return bad
		}
		back, _, _ := in.text("back")
		http.Redirect(w, r, whoProblem(localPath(back), name), http.StatusSeeOther)
		return nil
	default:
		cookie.Value = a.sign(name)
	}
	http.SetCookie(w, cookie)
	if wantsJSON(r) {
		writeJSON(w, http.StatusOK, map[string]string{"actor": name})
		return nil
	}
	back, _, _ := in.text("back")
	http.Redirect(w, r, localPath(back), http.StatusSeeOther)
	return nil
}

// localPath is p when it is a path on this site, else the home page: a form's
// "back" field never sends anyone to another site (sameOriginPath).
func localPath(p string) string {
	if sameOriginPath(p) {
		return p
	}
	return "/"
}

// whoProblem is the page back again with the header form's problem: the name
// as typed and the code, which the page shows by the form (a form that
// fails keeps the page it was on, and what was typed).
func whoProblem(back, name string) string {
	u, err := url.Parse(back)
	if err != nil {
		return "/"
	}
	q := u.Query()
	q.Set(whoErrorParam, "BadActor")
	q.Set(whoNameParam, clipRunes(name, 2*maxActor))
	u.RawQuery = q.Encode()
	return u.String()
}

const (
	whoErrorParam = "who-error"
	whoNameParam  = "who"
)

// whoMessages are the header form's problems, by code: the page shows only
// these, never text from the address.
var whoMessages = map[string]string{
	"BadActor": "A name is 1 to 40 letters, digits, spaces or - _ . ' (no other characters).",
}

// whoForm is the header form's state on a page: the problem its last
// sending had, from the address whoProblem made.
func whoForm(r *http.Request) views.Form {
	q := r.URL.Query()
	msg, ok := whoMessages[q.Get(whoErrorParam)]
	if !ok {
		return views.Form{Name: "who"}
	}
	return views.Form{Name: "who", Code: q.Get(whoErrorParam), Error: msg, Field: "name",
		Values: map[string]string{"name": clipRunes(q.Get(whoNameParam), 2*maxActor)}}
}

func clipRunes(s string, n int) string {
	if r := []rune(s); len(r) > n {
		return string(r[:n])
	}
	return s
}
