package web

import (
	"log/slog"
	"net/http"

	"github.com/go-chi/chi/v5"
	"github.com/go-chi/chi/v5/middleware"

	"github.com/foldboard/foldboard/handlers"
	"github.com/foldboard/foldboard/static"
	"github.com/foldboard/foldboard/views"
)

// routes is the one place that lists every route: foldboard's own here,
// and each module's, which the module declares (handlers.Module).
func routes(app *handlers.App, hub *Hub, log *slog.Logger, m *metrics, g guards) *chi.Mux {
	r := chi.NewRouter()
	// Who asks is known first: the rate limits spend the actor's.
	r.Use(middleware.Recoverer, app.ClientAddresses, logRequests(log, m), securityHeaders, app.Identify)
	r.Use(g.middleware(app)...)
	r.Use(crossOriginProtection(app), limitBody(1<<20))
	h := app.Handle

	r.Get(views.RouteDashboard, h(app.Dashboard).ServeHTTP)

	// Operations: every POST that is neither a domain command nor a
	// sign-in route (rebuild; on /projections retry, rebuild one model,
	// swap, discard) is mounted on ops, which only admins pass
	// (handlers.App.OnlyAdmins: 401 SignInRequired, 403 AdminOnly).
	// TestEveryOperationIsForAdminsOnly walks the routes to hold it.
	ops := r.With(app.OnlyAdmins)
	ops.Post(views.RouteRebuild, h(app.Rebuild).ServeHTTP)
	ops.Post(views.RouteRetryParked, h(app.RetryParked).ServeHTTP)
	ops.Post(views.RouteRebuildModel, h(app.RebuildModel).ServeHTTP)
	ops.Post(views.RouteRebuildSwap, h(app.RebuildSwap).ServeHTTP)
	ops.Post(views.RouteRebuildDrop, h(app.RebuildDiscard).ServeHTTP)

	r.Get("/signin", h(app.SignInPage).ServeHTTP)
	r.Post("/signin", h(app.SignIn).ServeHTTP)
	r.Post("/signup", h(app.SignUp).ServeHTTP)
	r.Post("/signout", h(app.SignOut).ServeHTTP)
	r.Get("/me", h(app.Me).ServeHTTP)
	r.Post("/tokens", h(app.MakeToken).ServeHTTP)
	r.Post("/tokens/{id}/revoke", h(app.RevokeToken).ServeHTTP)

	// Every module's pages and command routes (handlers.Modules).
	app.Mount(r)

	r.Get(views.RouteStreamEvents, h(app.StreamEvents).ServeHTTP)
	r.Get(views.RouteStreamState, h(app.StreamState).ServeHTTP)
	r.Get(views.RouteTimeline, h(app.Timeline).ServeHTTP)
	r.Post("/streams/{type}/{id}/try", h(app.Try).ServeHTTP)
	r.Get("/streams/{type}/{id}/try", h(app.TryAddress).ServeHTTP)
	r.Get(views.RouteEvents, h(app.Events).ServeHTTP)
	r.Get("/projections", h(app.Projections).ServeHTTP)
	// The documents served: every private stream's too, so admins only.
	r.With(app.OnlyAdmins).Get(views.RouteModelDocs, h(app.ProjectionDocs).ServeHTTP)

	r.Get(views.RouteLive, hub.ServeHTTP)
	r.Get(views.RouteHealth, h(app.Health).ServeHTTP)
	r.Get(views.RouteMetrics, m.handler().ServeHTTP)
	r.Handle("/static/*", http.StripPrefix("/static/", staticFiles()))
	r.NotFound(h(app.NotFound).ServeHTTP)
	r.MethodNotAllowed(h(app.MethodNotAllowed).ServeHTTP)
	return r
}

func staticFiles() http.Handler {
	files := http.FileServerFS(static.FS)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "public, max-age=300")
		files.ServeHTTP(w, r)
	})
}
