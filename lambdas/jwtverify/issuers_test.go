package jwtverify

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"
)

// TestSeveralIssuers: the token's iss selects the issuer, whose keys,
// audiences and token use alone apply.
func TestSeveralIssuers(t *testing.T) {
	const issA, issB = "https://a.example.com/", "https://b.example.com/tenant"
	keyA := testKey{kid: "ka", priv: rsaKey(t, 0), alg: "RS256", use: "sig"}
	keyB := testKey{kid: "kb", priv: rsaKey(t, 1), alg: "RS256", use: "sig"}
	jwksA, jwksB := newJWKS(t, keyA), newJWKS(t, keyB)
	v := newVerifier(t, jwksA, func(c *Config) {
		c.Issuers = []Issuer{
			{Issuer: issA, JWKSURI: jwksA.URL + "/jwks", Audiences: []string{"aud-a"}, TokenUse: "id"},
			{Issuer: issB, JWKSURI: jwksB.URL + "/jwks", Audiences: []string{"aud-b"}},
		}
	})
	claims := func(iss, aud string) map[string]any {
		return with(idClaims(), "iss", iss, "aud", aud)
	}
	tests := []struct {
		name         string
		key          testKey
		claims       map[string]any
		want         error
		wantRequests [2]int64 // JWKS requests of A and B so far
	}{
		{"A's token, A's key", keyA, claims(issA, "aud-a"), nil, [2]int64{1, 0}},
		{"B's token, B's key", keyB, claims(issB, "aud-b"), nil, [2]int64{1, 1}},
		{"iss A signed with B's key (B's kid)", keyB, claims(issA, "aud-a"), ErrUnknownKey, [2]int64{2, 1}},
		{"iss A signed with B's key under A's kid", testKey{kid: "ka", priv: keyB.priv}, claims(issA, "aud-a"), ErrSignature, [2]int64{2, 1}},
		{"A's token with B's audience", keyA, claims(issA, "aud-b"), ErrAudience, [2]int64{2, 1}},
		{"A requires token_use id", keyA, with(claims(issA, "aud-a"), "token_use", "access"), ErrTokenUse, [2]int64{2, 1}},
		{"B accepts any token_use", keyB, with(claims(issB, "aud-b"), "token_use", "access"), nil, [2]int64{2, 1}},
		{"unknown iss", keyA, claims("https://c.example.com/", "aud-a"), ErrIssuer, [2]int64{2, 1}},
		{"iss differing by a slash", keyB, claims(issB+"/", "aud-b"), ErrIssuer, [2]int64{2, 1}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := v.Verify(context.Background(), sign(t, tt.key, tt.claims, nil))
			if tt.want == nil && err != nil || tt.want != nil && !errors.Is(err, tt.want) {
				t.Fatalf("Verify: %v, want %v", err, tt.want)
			}
			got := [2]int64{jwksA.requests.Load(), jwksB.requests.Load()}
			if got != tt.wantRequests {
				t.Fatalf("JWKS requests (A, B) = %v, want %v", got, tt.wantRequests)
			}
		})
	}
	if s := v.Stats(); s.JWKSFetches != 3 {
		t.Fatalf("Stats().JWKSFetches = %d, want 3 (the sum over issuers)", s.JWKSFetches)
	}
}

// TestIssuerOutageIsIsolated: one issuer's JWKS down does not affect the
// other's tokens, and an unknown iss costs no request at all.
func TestIssuerOutageIsIsolated(t *testing.T) {
	keyA := testKey{kid: "ka", priv: rsaKey(t, 0)}
	keyB := testKey{kid: "kb", priv: rsaKey(t, 1)}
	jwksA, jwksB := newJWKS(t, keyA), newJWKS(t, keyB)
	jwksA.set(func(s *jwksServer) { s.status = 500 })
	clock := newClock()
	v := newVerifier(t, jwksA, func(c *Config) {
		c.Now = clock.Now
		c.Issuers = []Issuer{
			{Issuer: "https://a.example.com/", JWKSURI: jwksA.URL + "/jwks", Audiences: []string{testClientID}},
			{Issuer: "https://b.example.com/", JWKSURI: jwksB.URL + "/jwks", Audiences: []string{testClientID}, JWKS: jwksDoc(t, keyB)},
		}
	})
	ctx := context.Background()
	for i := range 20 {
		now := clock.Now()
		if _, err := v.Verify(ctx, sign(t, keyA, with(claimsAt(now), "iss", "https://a.example.com/", "jti", fmt.Sprint(i)), nil)); !errors.Is(err, ErrKeySource) {
			t.Fatalf("A during its outage: %v, want ErrKeySource", err)
		}
		if _, err := v.Verify(ctx, sign(t, keyB, with(claimsAt(now), "iss", "https://b.example.com/", "jti", fmt.Sprint(i)), nil)); err != nil {
			t.Fatalf("B during A's outage: %v", err)
		}
		if _, err := v.Verify(ctx, sign(t, keyB, with(claimsAt(now), "iss", "https://evil.example.com/", "jti", fmt.Sprint(i)), nil)); !errors.Is(err, ErrIssuer) {
			t.Fatalf("unknown iss: %v, want ErrIssuer", err)
		}
		clock.Advance(100 * time.Millisecond)
	}
	if n := jwksB.requests.Load(); n != 0 {
		t.Fatalf("B (seeded) was fetched %d times", n)
	}
	if n := jwksA.requests.Load(); n < 1 || n > 2 {
		t.Fatalf("A was fetched %d times in 2 s of outage, want 1-2 (backoff)", n)
	}
}
