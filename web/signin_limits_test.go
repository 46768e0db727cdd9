package web_test

import (
	"net/http"
	"testing"
	"time"

	"github.com/foldboard/foldboard/handlers"
	"github.com/foldboard/foldboard/internal/apptest"
	"github.com/foldboard/foldboard/web"
)

// TestOneAddressCannotLockAPersonOutOfSigningIn: a client that guesses at
// ana's password from one address as fast as its address may spends her
// name's attempts too; were they as many as an address's, that one client
// would keep her out (issue 18's Done clause: one client denies nothing to
// others). A name has twice an address's attempts, so she still signs in
// from her own; guesses from several addresses at once still run out.
func TestOneAddressCannotLockAPersonOutOfSigningIn(t *testing.T) {
	const burst = 3
	app := apptest.Start(t, apptest.Options{SignInOnly: true, Configure: func(d *web.Deps) {
		d.Identity.SignInRate = handlers.RateLimit{Every: time.Hour, Burst: burst}
	}})
	signIn := func(ip, password string) response {
		return send(t, fromAddress(ip), "POST", app.URL+"/signin", jsonOf(t, map[string]string{"name": "ana", "password": password}), nil)
	}
	wantStatus(t, send(t, fromAddress("127.0.0.9"), "POST", app.URL+"/signup", `{"name":"ana","password":"correct horse"}`, nil), http.StatusCreated, "")

	// One address (not hers) spends all it may, and more.
	var last response
	for range burst + 2 {
		last = signIn("127.0.0.2", "wrong horse")
	}
	wantStatus(t, last, http.StatusTooManyRequests, "RateLimited")
	wantStatus(t, signIn("127.0.0.3", "correct horse"), http.StatusOK, "")

	// What is left of the name's (twice burst, less the sign-up, the
	// guesses and her sign-in) a second address spends before its own runs
	// out: guessing from many addresses is still bounded by the name.
	for range 2*burst - 1 - burst - 1 {
		wantStatus(t, signIn("127.0.0.4", "wrong horse"), http.StatusUnauthorized, "BadCredentials")
	}
	wantStatus(t, signIn("127.0.0.4", "wrong horse"), http.StatusTooManyRequests, "RateLimited")
}
