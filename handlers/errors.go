package handlers

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"time"

	"github.com/a-h/templ"
	"github.com/foldboard/foldboard/es"
	"github.com/foldboard/foldboard/views"
)

// Problem is an error as the HTTP interface answers it: a status, a stable
// code and a message for people.
type Problem struct {
	Status  int    `json:"-"`
	Code    string `json:"code"`
	Message string `json:"message"`
	// CurrentVersion is the stream's version, on a VersionConflict.
	CurrentVersion *int64 `json:"currentVersion,omitempty"`
	// Details are a domain error's details (es.Error.Details), answered as
	// fields of the error object beside its code and message.
	Details map[string]string `json:"-"`
	// Field is the request's field the problem is about, when one is
	// known (a form marks it invalid); programs read the code.
	Field string `json:"-"`
}

// MarshalJSON writes the problem with its details as fields of their own.
func (p Problem) MarshalJSON() ([]byte, error) {
	type plain Problem
	b, err := json.Marshal(plain(p))
	if err != nil || len(p.Details) == 0 {
		return b, err
	}
	fields := map[string]any{}
	if err := json.Unmarshal(b, &fields); err != nil {
		return nil, err
	}
	for k, v := range p.Details {
		if _, taken := fields[k]; !taken {
			fields[k] = v
		}
	}
	return json.Marshal(fields)
}

// BadRequest is a request the server cannot read: a malformed body, a missing
// field, a number that is not one, an id outside the alphabet.
type BadRequest struct {
	Code    string
	Field   string
	Message string
}

func (e *BadRequest) Error() string { return e.Message }

func badRequest(code, field, format string, args ...any) *BadRequest {
	return &BadRequest{Code: code, Field: field, Message: fmt.Sprintf(format, args...)}
}

var errUnsupportedMedia = errors.New("send application/x-www-form-urlencoded or application/json")

// bodyError is a request body that could not be read to its end.
type bodyError struct{ err error }

func (e *bodyError) Error() string { return "reading the request body: " + e.err.Error() }
func (e *bodyError) Unwrap() error { return e.err }

// timedOut reports whether a body read ended at the server's read timeout.
func (e *bodyError) timedOut() bool {
	var ne net.Error
	return errors.Is(e.err, os.ErrDeadlineExceeded) || errors.As(e.err, &ne) && ne.Timeout()
}

// MisdirectedError is a request for a host this server does not serve.
type MisdirectedError struct{ Host string }

func (e *MisdirectedError) Error() string {
	return fmt.Sprintf("this server does not serve the host %.100q; its address is the one to use (an operator adds others with -allowed-hosts)", e.Host)
}

// RateLimitedError is a request beyond its client's rate: Retry is when to
// try again.
type RateLimitedError struct {
	Who   string // "address" or "actor"
	Retry time.Duration
}

func (e *RateLimitedError) Error() string {
	return fmt.Sprintf("too many requests from this %s; try again in %d s", e.Who, RetryAfterSeconds(e.Retry))
}

// RetryAfterSeconds is a wait as Retry-After says it: whole seconds, at
// least 1.
func RetryAfterSeconds(d time.Duration) int64 {
	return max(1, int64((d+time.Second-1)/time.Second))
}

// ProblemOf maps an error to the contract's status and code. It is the one
// place that knows the mapping; anything it does not recognise is a 500.
func ProblemOf(err error) Problem {
	var (
		domain   *es.Error
		conflict *es.ConflictError
		bad      *BadRequest
		tooBig   *http.MaxBytesError
	)
	var own *problemError
	switch {
	case errors.As(err, &own):
		return own.p
	case errors.As(err, &domain):
		status := map[es.Kind]int{
			es.Invalid: http.StatusUnprocessableEntity, es.Refused: http.StatusConflict,
			es.Forbidden: http.StatusForbidden, es.Missing: http.StatusNotFound,
		}[domain.Kind]
		if status == 0 {
			status = http.StatusInternalServerError
		}
		return Problem{Status: status, Code: domain.Code, Message: domain.Message, Details: domain.Details}
	case errors.As(err, &conflict):
		p := Problem{Status: http.StatusConflict, Code: "VersionConflict", Message: conflict.Error()}
		if conflict.Actual >= 0 {
			p.CurrentVersion = &conflict.Actual
			p.Message = fmt.Sprintf("%s changed while you had it open: it is now at version %d, and you saw version %d. Look at it again, then retry.", conflict.Stream, conflict.Actual, conflict.Expected)
		}
		return p
	case errors.As(err, &bad):
		return Problem{Status: http.StatusBadRequest, Code: bad.Code, Message: bad.Message, Field: bad.Field}
	case errors.As(err, &tooBig):
		return Problem{Status: http.StatusRequestEntityTooLarge, Code: "BodyTooLarge", Message: fmt.Sprintf("the request body is over %d bytes", tooBig.Limit)}
	case errors.As(err, new(*bodyError)):
		var be *bodyError
		errors.As(err, &be)
		if be.timedOut() {
			return Problem{Status: http.StatusRequestTimeout, Code: "RequestTimeout", Message: "the request body did not arrive in time"}
		}
		return Problem{Status: http.StatusBadRequest, Code: "BadBody", Message: "the request body could not be read to its end"}
	case errors.Is(err, errUnsupportedMedia):
		return Problem{Status: http.StatusUnsupportedMediaType, Code: "UnsupportedMediaType", Message: err.Error()}
	case errors.As(err, new(*methodError)):
		return Problem{Status: http.StatusMethodNotAllowed, Code: "MethodNotAllowed", Message: err.Error()}
	case errors.Is(err, es.ErrBadCursor):
		return Problem{Status: http.StatusBadRequest, Code: "BadCursor", Message: "after must be a cursor this log gave (an event's position, or a page's next)"}
	case errors.As(err, new(*MisdirectedError)):
		return Problem{Status: http.StatusMisdirectedRequest, Code: "MisdirectedRequest", Message: err.Error()}
	case errors.As(err, new(*RateLimitedError)):
		return Problem{Status: http.StatusTooManyRequests, Code: "RateLimited", Message: err.Error()}
	case errors.Is(err, es.ErrNotFound):
		return Problem{Status: http.StatusNotFound, Code: "NotFound", Message: err.Error()}
	}
	return Problem{Status: http.StatusInternalServerError, Code: "Internal", Message: "something went wrong on our side; it has been logged"}
}

// problemError is an error that is its own answer (sign-in's 401s, 429).
type problemError struct{ p Problem }

func (e *problemError) Error() string { return e.p.Code + ": " + e.p.Message }

// pageError carries the page to render again, with the problem by its form,
// when a browser's form post fails.
type pageError struct {
	err  error
	page func(Problem) templ.Component
}

func (e *pageError) Error() string { return e.err.Error() }
func (e *pageError) Unwrap() error { return e.err }

// onPage wraps a command's error with the page that shows it.
func onPage(err error, page func(Problem) templ.Component) error {
	if err == nil {
		return nil
	}
	return &pageError{err: err, page: page}
}

// Func is a handler that returns its error instead of answering it.
type Func func(w http.ResponseWriter, r *http.Request) error

// Handle turns a Func into an http.Handler: an error becomes the contract's
// status with JSON or a page, as the request's Accept asks.
func (a *App) Handle(fn Func) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if err := fn(w, r); err != nil {
			a.fail(w, r, err)
		}
	})
}

func (a *App) fail(w http.ResponseWriter, r *http.Request, err error) {
	p := ProblemOf(err)
	if p.Status >= 500 {
		a.log.ErrorContext(r.Context(), "request failed", "method", r.Method, "path", r.URL.Path, "err", err)
	}
	if wantsJSON(r) {
		writeJSON(w, p.Status, map[string]Problem{"error": p})
		return
	}
	var pe *pageError
	if errors.As(err, &pe) {
		if page := pe.page(p); page != nil {
			a.render(w, r, p.Status, page)
			return
		}
	}
	a.render(w, r, p.Status, views.ErrorPage(a.page(r, "Error"), p.Status, p.Code, p.Message))
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	enc := json.NewEncoder(w)
	_ = enc.Encode(v) // the status is written; a failed write has nowhere to go
}

// render renders a page into memory first, so that a failure to render is a
// clean 500 rather than half a page: the failure is logged and answered with
// the fallback page, which needs nothing that could fail (as pkgsite's
// servePage falls back to its pre-rendered error page).
func (a *App) render(w http.ResponseWriter, r *http.Request, status int, c templ.Component) {
	var buf bytes.Buffer
	if err := c.Render(r.Context(), &buf); err != nil {
		a.log.ErrorContext(r.Context(), "rendering a page failed", "method", r.Method, "path", r.URL.Path, "status", status, "err", err)
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		w.WriteHeader(http.StatusInternalServerError)
		_, _ = w.Write(fallbackPage)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(status)
	_, _ = w.Write(buf.Bytes())
}

// fallbackPage is the page of a page that failed to render: plain HTML, with
// the site's style and a way back.
var fallbackPage = []byte(`<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>Error · foldboard</title><link rel="stylesheet" href="/static/app.css"></head>
<body><main id="main"><h1>500 RenderFailed</h1>
<p class="problem" role="alert">This page could not be drawn; the failure has been logged.</p>
<p><a href="/">Back to the dashboard</a></p></main></body></html>
`)

// CrossOrigin answers a state-changing request from another site.
func (a *App) CrossOrigin(w http.ResponseWriter, r *http.Request) error {
	return es.Errorf(es.Forbidden, "CrossOrigin", "requests that change things must come from foldboard's own pages")
}

// NotFound answers a path no route serves.
func (a *App) NotFound(w http.ResponseWriter, r *http.Request) error {
	return es.Errorf(es.Missing, "NotFound", "there is no page at %s", r.URL.Path)
}

// MethodNotAllowed answers a route asked with the wrong method.
func (a *App) MethodNotAllowed(w http.ResponseWriter, r *http.Request) error {
	w.Header().Set("Allow", "GET, POST")
	return &methodError{method: r.Method}
}

type methodError struct{ method string }

func (e *methodError) Error() string { return e.method + " is not allowed here" }

// failed is a component whose render fails with err: a page whose read
// model could not be read back is the page that could not be drawn (500,
// logged by render).
func failed(err error) templ.Component {
	return templ.ComponentFunc(func(context.Context, io.Writer) error { return err })
}

// lazy renders what build makes when the component renders, with the
// render's context: a live fragment reads its read model (on demand, from
// the store) when it is drawn.
func lazy(build func(ctx context.Context) (templ.Component, error)) templ.Component {
	return templ.ComponentFunc(func(ctx context.Context, w io.Writer) error {
		c, err := build(ctx)
		if err != nil {
			return err
		}
		return c.Render(ctx, w)
	})
}
