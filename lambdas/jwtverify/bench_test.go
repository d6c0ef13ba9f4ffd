package jwtverify

import (
	"context"
	"crypto"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"fmt"
	"strings"
	"testing"
	"time"
)

// BenchmarkRSAVerifyBare is the yardstick: one bare RSA-2048 PKCS#1 v1.5
// verification of a real token's signature, nothing else.
func BenchmarkRSAVerifyBare(b *testing.B) {
	k := testKey{kid: "k1", priv: rsaKey(b, 0)}
	tok := sign(b, k, idClaims(), nil)
	i := strings.LastIndexByte(tok, '.')
	sig, _ := base64.RawURLEncoding.DecodeString(tok[i+1:])
	digest := sha256.Sum256([]byte(tok[:i]))
	pub := &k.priv.PublicKey
	b.ReportAllocs()
	for b.Loop() {
		if err := rsa.VerifyPKCS1v15(pub, crypto.SHA256, digest[:], sig); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkVerifyFresh verifies a token the cache has not seen: parse,
// key lookup by kid, RSA verification and every claim check. The sub-benchmarks
// vary the JWKS size: the cost per token must not grow with it.
func BenchmarkVerifyFresh(b *testing.B) {
	for _, n := range []int{1, 50} {
		b.Run(fmt.Sprintf("jwks=%d", n), func(b *testing.B) {
			k := testKey{kid: "k1", priv: rsaKey(b, 0), alg: "RS256", use: "sig"}
			keys := []testKey{}
			for i := range n - 1 {
				keys = append(keys, testKey{kid: fmt.Sprintf("other-%d", i), priv: rsaKey(b, 1), alg: "RS256", use: "sig"})
			}
			keys = append(keys, k) // the token's key last: worst case for a linear lookup
			jwks := newJWKS(b, keys...)
			v := newVerifier(b, jwks, func(c *Config) { c.CacheSize = -1 })
			tok := sign(b, k, idClaims(), nil)
			ctx := context.Background()
			if _, err := v.Verify(ctx, tok); err != nil {
				b.Fatal(err)
			}
			b.ReportAllocs()
			b.ResetTimer()
			for b.Loop() {
				if _, err := v.Verify(ctx, tok); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkVerifyRepeated verifies the same token again: served from the
// cache of verified tokens after hashing it.
func BenchmarkVerifyRepeated(b *testing.B) {
	k := testKey{kid: "k1", priv: rsaKey(b, 0)}
	jwks := newJWKS(b, k)
	v := newVerifier(b, jwks, func(c *Config) { c.Now = time.Now })
	tok := sign(b, k, with(idClaims(), "iat", time.Now().Unix(), "exp", time.Now().Add(time.Hour).Unix()), nil)
	ctx := context.Background()
	if _, err := v.Verify(ctx, tok); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := v.Verify(ctx, tok); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkFreshVsBare interleaves one bare RSA verification and one full
// Verify of a fresh token per iteration, so machine noise hits both alike,
// and reports the ratio: the target is at most 1.4.
func BenchmarkFreshVsBare(b *testing.B) {
	k := testKey{kid: "k1", priv: rsaKey(b, 0), alg: "RS256", use: "sig"}
	jwks := newJWKS(b, k)
	v := newVerifier(b, jwks, func(c *Config) { c.CacheSize = -1 })
	tok := sign(b, k, idClaims(), nil)
	i := strings.LastIndexByte(tok, '.')
	sig, _ := base64.RawURLEncoding.DecodeString(tok[i+1:])
	pub := &k.priv.PublicKey
	ctx := context.Background()
	if _, err := v.Verify(ctx, tok); err != nil {
		b.Fatal(err)
	}
	var bare, full time.Duration
	for b.Loop() {
		t0 := time.Now()
		digest := sha256.Sum256([]byte(tok[:i]))
		if err := rsa.VerifyPKCS1v15(pub, crypto.SHA256, digest[:], sig); err != nil {
			b.Fatal(err)
		}
		t1 := time.Now()
		if _, err := v.Verify(ctx, tok); err != nil {
			b.Fatal(err)
		}
		t2 := time.Now()
		bare += t1.Sub(t0)
		full += t2.Sub(t1)
	}
	b.ReportMetric(float64(full)/float64(bare), "x-bare")
	b.ReportMetric(float64(bare.Nanoseconds())/float64(b.N), "bare-ns/op")
	b.ReportMetric(float64(full.Nanoseconds())/float64(b.N), "verify-ns/op")
}
