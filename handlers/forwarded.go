package handlers

import (
	"context"
	"net"
	"net/http"
	"net/netip"
	"slices"
	"strings"
)

// clientKey carries the address a request came from, past the trusted
// proxies in front of foldboard (ClientAddresses).
type clientKey struct{}

// ClientAddresses finds, for a request that a trusted proxy forwarded, the
// address of the client it came from, so that the limits per address are
// each client's and not the proxy's (behind a load balancer, every client
// would otherwise share one): X-Forwarded-For read from the right, the
// first entry that is not itself a trusted proxy. Only a trusted proxy's
// header is read; from anywhere else, or without one, the peer is the
// client, whatever the request says. An entry that is no address stops the
// search there (the peer before it is taken): a client cannot make up an
// address beyond what the proxies appended.
func (a *App) ClientAddresses(next http.Handler) http.Handler {
	if len(a.ident.TrustedProxies) == 0 {
		return next
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if ip, ok := a.forwardedFor(r); ok {
			r = r.WithContext(context.WithValue(r.Context(), clientKey{}, ip))
		}
		next.ServeHTTP(w, r)
	})
}

func (a *App) forwardedFor(r *http.Request) (netip.Addr, bool) {
	peer, ok := peerAddr(r)
	if !ok || !a.trusted(peer) {
		return netip.Addr{}, false
	}
	client := peer
	values := r.Header.Values("X-Forwarded-For")
	for i := len(values) - 1; i >= 0; i-- {
		parts := strings.Split(values[i], ",")
		for j := len(parts) - 1; j >= 0; j-- {
			ip, err := netip.ParseAddr(strings.TrimSpace(parts[j]))
			if err != nil {
				return client, client != peer
			}
			client = ip.Unmap()
			if !a.trusted(client) {
				return client, true
			}
		}
	}
	return client, client != peer
}

func (a *App) trusted(ip netip.Addr) bool {
	return slices.ContainsFunc(a.ident.TrustedProxies, func(p netip.Prefix) bool { return p.Contains(ip) })
}

// peerAddr is the address of the connection's other end.
func peerAddr(r *http.Request) (netip.Addr, bool) {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		host = r.RemoteAddr
	}
	ip, err := netip.ParseAddr(host)
	if err != nil {
		return netip.Addr{}, false
	}
	return ip.Unmap(), true
}
