package handlers

import (
	"bytes"
	"context"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/a-h/templ"
)

func TestAPageThatFailsToRenderIsLoggedAndGetsTheFallbackPage(t *testing.T) {
	var logged bytes.Buffer
	a := &App{log: slog.New(slog.NewTextHandler(&logged, nil))}
	broken := templ.ComponentFunc(func(_ context.Context, w io.Writer) error {
		_, _ = io.WriteString(w, "<p>half a page")
		return errors.New("the view model had no scoreboard")
	})
	rec := httptest.NewRecorder()
	a.render(rec, httptest.NewRequest(http.MethodGet, "/matches/m-1", nil), http.StatusOK, broken)

	if rec.Code != http.StatusInternalServerError || rec.Header().Get("Content-Type") != "text/html; charset=utf-8" {
		t.Fatalf("status %d, content type %q", rec.Code, rec.Header().Get("Content-Type"))
	}
	if body := rec.Body.String(); strings.Contains(body, "half a page") || !strings.Contains(body, "RenderFailed") || !strings.Contains(body, `href="/"`) {
		t.Errorf("the answer is not the fallback page: %q", body)
	}
	if l := logged.String(); !strings.Contains(l, "rendering a page failed") || !strings.Contains(l, "path=/matches/m-1") || !strings.Contains(l, "no scoreboard") {
		t.Errorf("log: %q", l)
	}
}

func TestARenderedPageIsAnsweredWithItsStatus(t *testing.T) {
	a := &App{log: slog.New(slog.NewTextHandler(io.Discard, nil))}
	rec := httptest.NewRecorder()
	a.render(rec, httptest.NewRequest(http.MethodGet, "/", nil), http.StatusNotFound, templ.Raw("<p>gone</p>"))
	if rec.Code != http.StatusNotFound || rec.Body.String() != "<p>gone</p>" {
		t.Errorf("%d %q", rec.Code, rec.Body)
	}
}
