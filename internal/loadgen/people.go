package loadgen

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// maxPeople bounds the accounts a run signs up (sign-ups are rate-limited
// per address): clients share them in turn. A cart's owner is whoever
// added its first item, and every stream of a client is the client's own,
// so sharing a person never makes a client act on someone else's stream.
const maxPeople = 8

// signUpPeople signs up n people of the run and makes a token for each, the
// way a program would: POST /signup, then POST /tokens with the session.
func signUpPeople(ctx context.Context, base string, dial func(ctx context.Context, network, _ string) (net.Conn, error), runID string, n int) ([]string, error) {
	client := &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{DialContext: dial}}
	defer client.CloseIdleConnections()
	tokens := make([]string, n)
	for i := range tokens {
		var pw [12]byte
		_, _ = rand.Read(pw[:])
		name := fmt.Sprintf("load %s %d", runID, i)
		body, _ := json.Marshal(map[string]string{"name": name, "password": hex.EncodeToString(pw[:])})
		res, err := send(ctx, client, base+"/signup", string(body), "")
		if err != nil {
			return nil, fmt.Errorf("signing up %s: %w", name, err)
		}
		var session string
		for _, c := range res.Cookies() {
			if c.Name == "foldboard_session" {
				session = c.Name + "=" + c.Value
			}
		}
		res, err = send(ctx, client, base+"/tokens", "{}", session)
		if err != nil {
			return nil, fmt.Errorf("making a token for %s: %w", name, err)
		}
		var tok struct{ Token string }
		if err := json.NewDecoder(res.Body).Decode(&tok); err != nil || tok.Token == "" {
			return nil, fmt.Errorf("making a token for %s: no token in the answer", name)
		}
		tokens[i] = tok.Token
	}
	return tokens, nil
}

// send posts body as JSON and wants a 2xx; a 429 waits its Retry-After and
// tries again.
func send(ctx context.Context, client *http.Client, url, body, cookie string) (*http.Response, error) {
	for {
		req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, strings.NewReader(body))
		if err != nil {
			return nil, err
		}
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Accept", "application/json")
		if cookie != "" {
			req.Header.Set("Cookie", cookie)
		}
		res, err := client.Do(req)
		if err != nil {
			return nil, err
		}
		data, _ := io.ReadAll(io.LimitReader(res.Body, 64<<10))
		res.Body.Close()
		res.Body = io.NopCloser(strings.NewReader(string(data)))
		if res.StatusCode/100 == 2 {
			return res, nil
		}
		if res.StatusCode != http.StatusTooManyRequests {
			return nil, fmt.Errorf("%s: %s", res.Status, strings.TrimSpace(string(data)))
		}
		wait, _ := strconv.Atoi(res.Header.Get("Retry-After"))
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-time.After(time.Duration(max(wait, 1)) * time.Second):
		}
	}
}
