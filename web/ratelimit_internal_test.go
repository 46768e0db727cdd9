package web

import (
	"fmt"
	"net/http"
	"testing"
	"time"

	"github.com/foldboard/foldboard/handlers"
)

// TestBucketsAreBoundedAndForgetTheLeastRecentlyUsed: however many clients
// come, at most max buckets are kept; the one forgotten is the least
// recently used, and a client that keeps coming keeps its (empty) bucket.
func TestBucketsAreBoundedAndForgetTheLeastRecentlyUsed(t *testing.T) {
	b := handlers.NewBuckets(0.001, 2, 100)
	now := time.Now()
	for range 2 {
		if ok, _ := b.Take("loop", now); !ok {
			t.Fatal("a fresh bucket refused its burst")
		}
	}
	for i := range 10_000 {
		b.Take(fmt.Sprintf("10.0.%d.%d", i/256, i%256), now)
		if i%50 == 0 {
			if ok, retry := b.Take("loop", now); ok || retry <= 0 {
				t.Fatalf("the loop's empty bucket was forgotten while in use (ok %v, retry %v)", ok, retry)
			}
		}
	}
	if n := b.Size(); n != 100 {
		t.Errorf("%d buckets kept, want the bound, 100", n)
	}
}

func TestClientAddressKeepsIPv6ByItsSlash64(t *testing.T) {
	for remote, want := range map[string]string{
		"192.0.2.7:5000":              "192.0.2.7",
		"[2001:db8:1:2:aaaa::1]:443":  "2001:db8:1:2::/64",
		"[2001:db8:1:2:ffff:1:2:3]:1": "2001:db8:1:2::/64",
		"[::ffff:192.0.2.7]:80":       "192.0.2.7",
		"not an address":              "not an address",
	} {
		if got := clientAddress(&http.Request{RemoteAddr: remote}); got != want {
			t.Errorf("clientAddress(%q) = %q, want %q", remote, got, want)
		}
	}
}
