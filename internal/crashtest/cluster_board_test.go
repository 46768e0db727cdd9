package crashtest

import (
	"fmt"
	"maps"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"
)

// boardStream is the "stream" part of GET /projections.
type boardStream struct {
	Stream *struct {
		ReportedBy string
		Error      string
		Shards     []struct {
			ID, State, Position, Countdown string
			AgeSeconds                     *int64
		}
	}
}

// addToCart adds an item to cart on url, as the verifier.
func addToCart(t *testing.T, url, cart string, qty int) {
	t.Helper()
	body := fmt.Sprintf(`{"sku":"sku-%s","qty":%d,"price":"1.00"}`, cart, qty)
	req, _ := http.NewRequest(http.MethodPost, url+"/carts/"+cart+"/items", strings.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/json")
	req.Header.Set("X-Actor", verifier)
	res, err := http.DefaultClient.Do(req)
	if err != nil || res.StatusCode >= 300 {
		t.Fatalf("adding to %s on %s: %v %v", cart, url, res, err)
	}
	res.Body.Close()
}

// Every instance's projections board shows the Stream's shards: the
// holder lists them for its checkpoint, the followers show that report
// (naming the holder), each with its age, position and countdown (caught
// up, on an idle table); after the holder is killed, the next one reports.
func TestEveryInstancesBoardShowsTheStreamsShardsFromTheHolder(t *testing.T) {
	c := newCluster(t, "s1", "s2", "s3")
	holder, _ := c.holder("")
	addToCart(t, c.procs[holder].url, "board-1", 1)
	shown := func(holder string) func() (bool, string) {
		return func() (bool, string) {
			var last []string
			positions := map[string]string{}
			for _, id := range slices.Sorted(maps.Keys(c.procs)) {
				var b boardStream
				getJSON(t, c.procs[id].url+"/projections", &b)
				s := b.Stream
				switch {
				case s == nil:
					last = append(last, id+": no stream")
				case s.Error != "" || len(s.Shards) != 1:
					last = append(last, fmt.Sprintf("%s: %+v", id, *s))
				case (id == holder) != (s.ReportedBy == ""), id != holder && s.ReportedBy != holder:
					last = append(last, fmt.Sprintf("%s: reported by %q (holder %s)", id, s.ReportedBy, holder))
				default:
					sh := s.Shards[0]
					if !strings.HasPrefix(sh.ID, "shardId-") || sh.State != "open" || sh.Position == "" || sh.AgeSeconds == nil || sh.Countdown != "caughtUp" {
						last = append(last, fmt.Sprintf("%s: shard %+v", id, sh))
					}
					positions[id] = sh.Position
				}
			}
			if len(last) > 0 {
				return false, strings.Join(last, "; ")
			}
			for id, p := range positions {
				if p != positions[holder] {
					return false, fmt.Sprintf("%s shows position %s, the holder %s", id, p, positions[holder])
				}
			}
			return true, ""
		}
	}
	until(t, 30*time.Second, "every board shows the holder's shard", shown(holder))

	c.procs[holder].kill9(t)
	delete(c.procs, holder)
	next, _ := c.holder(holder)
	addToCart(t, c.procs[next].url, "board-2", 2)
	until(t, 30*time.Second, "every board shows the next holder's shard", shown(next))
}
