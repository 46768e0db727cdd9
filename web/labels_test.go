package web_test

import (
	"fmt"
	"net"
	"net/http"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/foldboard/foldboard/internal/apptest"
)

// rawRequest writes one HTTP/1.1 request line and headers as given (a
// method Go's client would refuse) and returns the status line.
func rawRequest(t *testing.T, addr, method, path string) string {
	t.Helper()
	conn, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	_ = conn.SetDeadline(time.Now().Add(5 * time.Second))
	fmt.Fprintf(conn, "%s %s HTTP/1.1\r\nHost: %s\r\nConnection: close\r\n\r\n", method, path, addr)
	buf := make([]byte, 64)
	n, _ := conn.Read(buf)
	line, _, _ := strings.Cut(string(buf[:n]), "\r\n")
	return line
}

// TestMetricLabelsComeFromFixedSets sends made-up methods (some 30,000
// characters long) and made-up paths: /metrics names only the standard
// methods and "other", only chi's route patterns, and does not grow with
// them.
func TestMetricLabelsComeFromFixedSets(t *testing.T) {
	app := apptest.Start(t, apptest.Options{})
	c := newClient(t, app)
	addr := strings.TrimPrefix(app.URL, "http://")
	// One of each kind first: the series they make are the fixed set.
	rawRequest(t, addr, "BREW", "/no/such/page")
	rawRequest(t, addr, "BREW", "/")
	c.get("/nowhere")
	c.get("/metrics")
	before := len(c.get("/metrics").body)
	for i := range 300 {
		method := fmt.Sprintf("BREW%d", i)
		if i%30 == 0 {
			method = strings.Repeat("X", 30_000) + method
		}
		if line := rawRequest(t, addr, method, fmt.Sprintf("/no/such/page/%d", i)); line == "" {
			t.Fatalf("no answer to method %d", i)
		}
		c.get(fmt.Sprintf("/nowhere-%d", i))
	}
	body := c.get("/metrics").body
	if grew := len(body) - before; grew > 512 {
		t.Errorf("/metrics grew by %d bytes with made-up methods and paths", grew)
	}
	standard := map[string]bool{"GET": true, "HEAD": true, "POST": true, "PUT": true, "PATCH": true, "DELETE": true,
		"CONNECT": true, "OPTIONS": true, "TRACE": true, "other": true}
	for _, m := range regexp.MustCompile(`method="([^"]*)"`).FindAllStringSubmatch(body, -1) {
		if !standard[m[1]] {
			t.Errorf("method label %.40q is not from the fixed set", m[1])
		}
	}
	for _, m := range regexp.MustCompile(`route="([^"]*)"`).FindAllStringSubmatch(body, -1) {
		if strings.Contains(m[1], "nowhere") || strings.Contains(m[1], "no/such") {
			t.Errorf("route label %q is a raw path", m[1])
		}
	}
	if !strings.Contains(body, `method="other"`) {
		t.Errorf("made-up methods are not counted as other")
	}
	if got := c.get("/metrics"); got.status != http.StatusOK {
		t.Fatalf("/metrics answered %d", got.status)
	}
}
