package jwtverify

import (
	"context"
	"testing"
)

func TestStatsCountCacheHitsAndFetches(t *testing.T) {
	k := testKey{kid: "k1", priv: rsaKey(t, 0)}
	jwks := newJWKS(t, k)
	v := newVerifier(t, jwks, nil)
	if s := v.Stats(); s != (Stats{}) {
		t.Fatalf("a new verifier has stats %+v", s)
	}
	ctx := context.Background()
	tok := sign(t, k, idClaims(), nil)
	for i := range 3 {
		if _, err := v.Verify(ctx, tok); err != nil {
			t.Fatalf("verify %d: %v", i, err)
		}
	}
	s := v.Stats()
	if s.CacheHits != 2 {
		t.Errorf("CacheHits = %d after one token verified three times, want 2", s.CacheHits)
	}
	if want := uint64(jwks.requests.Load()); s.JWKSFetches != want || want == 0 {
		t.Errorf("JWKSFetches = %d, the JWKS server saw %d requests", s.JWKSFetches, want)
	}
	// A different token is verified, not a cache hit.
	if _, err := v.Verify(ctx, sign(t, k, with(idClaims(), "sub", "other"), nil)); err != nil {
		t.Fatal(err)
	}
	if got := v.Stats().CacheHits; got != 2 {
		t.Errorf("CacheHits = %d after a new token, want still 2", got)
	}
}
