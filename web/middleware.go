package web

import (
	"log/slog"
	"net/http"
	"time"

	"github.com/go-chi/chi/v5"
	"github.com/go-chi/chi/v5/middleware"

	"github.com/foldboard/foldboard/handlers"
)

// contentSecurityPolicy allows the pages' own files and nothing else: no
// inline script or style, no framing, forms only to this site.
const contentSecurityPolicy = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; " +
	"connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'; object-src 'none'"

func securityHeaders(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("Content-Security-Policy", contentSecurityPolicy)
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("X-Frame-Options", "DENY")
		h.Set("Referrer-Policy", "same-origin")
		next.ServeHTTP(w, r)
	})
}

// crossOriginProtection refuses unsafe requests from another site (Go's
// CrossOriginProtection, by Sec-Fetch-Site or Origin) with the contract's
// 403. The WebSocket's GET upgrade is checked by the hub's Accept instead.
func crossOriginProtection(app *handlers.App) func(http.Handler) http.Handler {
	cop := http.NewCrossOriginProtection()
	cop.SetDenyHandler(app.Handle(app.CrossOrigin))
	return cop.Handler
}

// limitBody caps every request body; reading past it is a 413.
func limitBody(n int64) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			r.Body = http.MaxBytesReader(w, r.Body, n)
			next.ServeHTTP(w, r)
		})
	}
}

// logRequests logs each request: method, route, status, duration; and
// counts it in the metrics.
func logRequests(log *slog.Logger, m *metrics) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			start := time.Now()
			ww := middleware.NewWrapResponseWriter(w, r.ProtoMajor)
			next.ServeHTTP(ww, r)
			route := routeLabel(r)
			took := time.Since(start)
			log.LogAttrs(r.Context(), slog.LevelInfo, "request",
				slog.String("method", handlers.LogText(r.Method, 32)), slog.String("route", route), slog.String("path", handlers.LogText(r.URL.Path, handlers.LogLong)),
				slog.Int("status", ww.Status()), slog.Duration("duration", took))
			m.request(r.Method, route, ww.Status(), took)
		})
	}
}

// routeLabel is the chi pattern that served r; "" when none matched (the
// not-found and method-not-allowed answers).
func routeLabel(r *http.Request) string {
	rc := chi.RouteContext(r.Context())
	if rc == nil {
		return ""
	}
	return rc.RoutePattern()
}
