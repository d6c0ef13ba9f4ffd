package jwtverify

// Stats are cumulative counters since cold start, for metrics.
type Stats struct {
	// CacheHits counts tokens served from the verified-token cache.
	CacheHits uint64
	// JWKSFetches counts JWKS requests made, over all issuers.
	JWKSFetches uint64
}

// Stats returns the counters so far.
func (v *Verifier) Stats() Stats {
	return Stats{CacheHits: v.cacheHits.Load(), JWKSFetches: v.fetches.Load()}
}
