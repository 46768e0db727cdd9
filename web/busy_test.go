package web_test

import (
	"context"
	"net/http"
	"strconv"
	"testing"
	"time"

	"github.com/foldboard/foldboard/es"
	"github.com/foldboard/foldboard/internal/apptest"
	"github.com/foldboard/foldboard/web"
)

// slowLogStore takes 100 ms for every page of the log: a read that costs
// the server time, as a list of 26,000 streams does (4-14 ms a page: 16
// such reads at once from one address, within its rate, made another
// address's /matches take 325 ms at the median instead of 3).
type slowLogStore struct{ es.Store }

func (s slowLogStore) ReadLog(ctx context.Context, q es.LogQuery) (es.LogPage, error) {
	time.Sleep(100 * time.Millisecond)
	return s.Store.ReadLog(ctx, q)
}

// TestAnAddressPastItsShareOfTheServersTimeIsRefusedUntilItPaysItBack: an
// address's requests may take so much of the server's time over time
// (Rates.AddressBusy, BusyBurst); past it every request of that address is
// refused 429 RateLimited with Retry-After, cheap ones too, until the time
// has come back; another address is served meanwhile.
func TestAnAddressPastItsShareOfTheServersTimeIsRefusedUntilItPaysItBack(t *testing.T) {
	app := apptest.Start(t, apptest.Options{Configure: func(d *web.Deps) {
		d.Store = slowLogStore{d.Store}
		d.Guard.Rates = web.Rates{AddressBusy: 0.05, BusyBurst: 0.2, AddressReads: 1000, ReadBurst: 1000}
	}})
	a, b := fromAddress("127.0.0.2"), fromAddress("127.0.0.3")
	page := app.URL + "/events?limit=1"
	var refused response
	served := 0
	for range 8 {
		r := send(t, a, "GET", page, "", nil)
		if r.status == http.StatusTooManyRequests {
			refused = r
			break
		}
		wantStatus(t, r, http.StatusOK, "")
		served++
	}
	if served < 2 || served > 4 {
		t.Fatalf("%d reads of 100 ms served to an address with 200 ms at once and 50 a second, then %d", served, refused.status)
	}
	wantStatus(t, refused, http.StatusTooManyRequests, "RateLimited")
	retry, err := strconv.Atoi(refused.header.Get("Retry-After"))
	if err != nil || retry < 1 || retry > 5 {
		t.Fatalf("Retry-After %q", refused.header.Get("Retry-After"))
	}
	wantStatus(t, send(t, a, "GET", app.URL+"/healthz", "", nil), http.StatusTooManyRequests, "RateLimited")
	wantStatus(t, send(t, b, "GET", page, "", nil), http.StatusOK, "")

	time.Sleep(time.Duration(retry) * time.Second)
	wantStatus(t, send(t, a, "GET", page, "", nil), http.StatusOK, "")
}
