package web

import (
	"fmt"
	"net"
	"net/http"
	"net/url"
	"strings"

	"github.com/foldboard/foldboard/handlers"
)

// hostPolicy names the hosts foldboard serves: a request whose Host is any
// other name is refused before it reaches a handler, so that a page of
// another site whose name was made to resolve to this server (DNS
// rebinding) cannot use it as its own origin.
type hostPolicy struct {
	names    map[string]bool
	suffixes []string // ".example.com" for an allowed "*.example.com"
}

// newHostPolicy serves publicURL's host, the allowed names ("*.example.com"
// allows its subdomains), and always loopback's names.
func newHostPolicy(publicURL string, allowed []string) (hostPolicy, error) {
	p := hostPolicy{names: map[string]bool{"localhost": true}, suffixes: []string{".localhost"}}
	if publicURL != "" {
		u, err := url.Parse(publicURL)
		if err != nil || u.Hostname() == "" || (u.Scheme != "http" && u.Scheme != "https") {
			return p, fmt.Errorf("public URL %q: want http:// or https:// and a host", publicURL)
		}
		p.names[normalHost(u.Hostname())] = true
	}
	for _, name := range allowed {
		name = normalHost(strings.TrimSpace(name))
		switch {
		case name == "":
		case strings.HasPrefix(name, "*."):
			p.suffixes = append(p.suffixes, name[1:])
		case strings.ContainsAny(name, "/:*@ "):
			return p, fmt.Errorf("allowed host %q: want a host name, without a scheme or port", name)
		default:
			p.names[name] = true
		}
	}
	return p, nil
}

// allows reports whether a request's Host is served. An IP address is
// always served: a browser sends one only for a URL that names it, which no
// rebinding can make. No Host at all is a program (HTTP/1.0), not a page.
func (p hostPolicy) allows(hostport string) bool {
	if hostport == "" {
		return true
	}
	host := hostport
	if h, _, err := net.SplitHostPort(hostport); err == nil {
		host = h
	}
	host = normalHost(strings.TrimSuffix(strings.TrimPrefix(host, "["), "]"))
	switch {
	case host == "":
		return false
	case net.ParseIP(host) != nil, p.names[host]:
		return true
	}
	for _, s := range p.suffixes {
		if strings.HasSuffix(host, s) {
			return true
		}
	}
	return false
}

// normalHost is a host name as DNS compares it: lower case, no final dot.
func normalHost(h string) string { return strings.TrimSuffix(strings.ToLower(h), ".") }

// checkHost answers 421 Misdirected Request to a request for a host
// foldboard does not serve, before anything else reads it.
func checkHost(p hostPolicy, app *handlers.App) func(http.Handler) http.Handler {
	refuse := app.Handle(func(w http.ResponseWriter, r *http.Request) error {
		return &handlers.MisdirectedError{Host: r.Host}
	})
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if !p.allows(r.Host) {
				refuse.ServeHTTP(w, r)
				return
			}
			next.ServeHTTP(w, r)
		})
	}
}
