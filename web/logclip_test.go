package web_test

import (
	"log/slog"
	"strings"
	"testing"

	"github.com/foldboard/foldboard/internal/apptest"
	"github.com/foldboard/foldboard/internal/testsupport"
	"github.com/foldboard/foldboard/web"
)

// A stream id from the path, an actor from a header and a path of any
// length reach the logs clipped, with their control characters escaped: a
// client can neither forge a log line nor make one as long as its request.
func TestLogsClipAndEscapeWhatClientsChoose(t *testing.T) {
	logs := &testsupport.TailBuffer{Max: 1 << 20}
	app := apptest.Start(t, apptest.Options{Configure: func(d *web.Deps) {
		d.Log = slog.New(slog.NewTextHandler(logs, nil))
	}})
	c := newClient(t, app)
	long := strings.Repeat("a", 6000)
	forged := "x%0Alevel=ERROR%20msg=forged%E2%80%AE" + long
	r := c.do("POST", "/carts/"+forged+"/items", "application/x-www-form-urlencoded", "sku=a&qty=1&price=1.00",
		map[string]string{"X-Actor": "ana"})
	if r.status != 422 && r.status != 400 {
		t.Fatalf("a bad stream id: %d %s", r.status, r.body)
	}
	var command, request string
	for _, line := range strings.Split(logs.String(), "\n") {
		switch {
		case strings.Contains(line, "msg=command "):
			command = line
		case strings.Contains(line, "msg=request ") && strings.Contains(line, "/carts/"):
			request = line
		}
	}
	if command == "" || request == "" {
		t.Fatalf("no command or request line in the log:\n%s", logs.String())
	}
	for _, line := range []string{command, request} {
		if len(line) > 1000 {
			t.Errorf("a log line of %d bytes for a %d-byte id: %.300s…", len(line), len(forged), line)
		}
		if strings.Contains(line, "\u202e") || strings.Contains(logs.String(), "\nlevel=ERROR msg=forged") {
			t.Errorf("a control character reached the log as it is: %q", line)
		}
	}
	if !strings.Contains(command, `x\\nlevel=ERROR`) {
		t.Errorf("the command line does not show the id's newline escaped: %.300s", command)
	}
}
