package jwtauth

import (
	"net/http"
	"sync/atomic"
)

// Stats are the verifier's cumulative counters since it was made, for metrics.
type Stats struct {
	// CacheHits counts tokens answered from the verified-token cache (no RSA work).
	CacheHits uint64
	// JWKSFetches counts HTTP requests for the JWKS (initial, refresh, unknown kid).
	JWKSFetches uint64
}

// Stats returns the counters so far; callers take deltas per invocation.
func (v *Verifier) Stats() Stats {
	return Stats{CacheHits: v.counters.cacheHits.Load(), JWKSFetches: v.counters.fetches.Load()}
}

type counters struct {
	cacheHits atomic.Uint64
	fetches   atomic.Uint64
}

// countFetches returns a copy of c whose transport counts every request, so
// the count covers whatever jwkset fetches, whoever supplied the client.
func (n *counters) countFetches(c *http.Client) *http.Client {
	cc := *c
	rt := cc.Transport
	if rt == nil {
		rt = http.DefaultTransport
	}
	cc.Transport = countingTransport{rt: rt, n: &n.fetches}
	return &cc
}

type countingTransport struct {
	rt http.RoundTripper
	n  *atomic.Uint64
}

func (t countingTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	t.n.Add(1)
	return t.rt.RoundTrip(r)
}
