package jwtverify

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

func TestVerifyAccepts(t *testing.T) {
	k := testKey{kid: "k1", priv: rsaKey(t, 0), alg: "RS256", use: "sig"}
	jwks := newJWKS(t, k)
	tests := []struct {
		name      string
		claims    jwt.MapClaims
		mod       func(*Config)
		wantSub   string
		wantScope []string
	}{
		{"ID token", idClaims(), nil, "11111111-2222-3333-4444-555555555555", []string{"admin-client123", "regular-client123"}},
		{"access token with client_id and no aud", accessClaims(), nil, "11111111-2222-3333-4444-555555555555", []string{"openid", "regular-client123"}},
		{"aud array holding the client", with(idClaims(), "aud", []string{"other", testClientID}), nil, "11111111-2222-3333-4444-555555555555", nil},
		{"scp array (Okta style)", with(accessClaims(), "scope", nil, "scp", []string{"a", "b"}), nil, "11111111-2222-3333-4444-555555555555", []string{"a", "b"}},
		{"expired within leeway", with(idClaims(), "exp", testNow.Add(-30*time.Second).Unix()), nil, "11111111-2222-3333-4444-555555555555", nil},
		{"token_use id required and present", idClaims(), func(c *Config) { c.Issuers[0].TokenUse = "id" }, "11111111-2222-3333-4444-555555555555", nil},
		{"second of several audiences", with(idClaims(), "aud", "api://pets"), func(c *Config) { c.Issuers[0].Audiences = []string{testClientID, "api://pets"} }, "11111111-2222-3333-4444-555555555555", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			v := newVerifier(t, jwks, tt.mod)
			c, err := v.Verify(context.Background(), sign(t, k, tt.claims, nil))
			if err != nil {
				t.Fatalf("Verify: %v", err)
			}
			if c.Subject != tt.wantSub {
				t.Errorf("sub = %q, want %q", c.Subject, tt.wantSub)
			}
			if tt.wantScope != nil && strings.Join(c.Scopes, " ") != strings.Join(tt.wantScope, " ") {
				t.Errorf("scopes = %q, want %q", c.Scopes, tt.wantScope)
			}
		})
	}
}

func TestVerifyRejectsAttacks(t *testing.T) {
	k := testKey{kid: "k1", priv: rsaKey(t, 0), alg: "RS256", use: "sig"}
	other := testKey{kid: "k1", priv: rsaKey(t, 1)} // same kid, another key
	encKey := testKey{kid: "enc", priv: rsaKey(t, 2), use: "enc"}
	psKey := testKey{kid: "ps", priv: rsaKey(t, 2), alg: "PS256"}
	jwks := newJWKS(t, k, encKey, psKey)
	valid := sign(t, k, idClaims(), nil)
	parts := strings.Split(valid, ".")

	pubDER, _ := x509.MarshalPKIXPublicKey(&k.priv.PublicKey)
	pubPEM := pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: pubDER})
	hsWithPublicKey := func() string {
		tok := jwt.NewWithClaims(jwt.SigningMethodHS256, idClaims())
		tok.Header["kid"] = "k1"
		s, _ := tok.SignedString(pubPEM)
		return s
	}()
	noneToken := func() string {
		tok := jwt.NewWithClaims(jwt.SigningMethodNone, idClaims())
		tok.Header["kid"] = "k1"
		s, _ := tok.SignedString(jwt.UnsafeAllowNoneSignatureType)
		return s
	}()
	tamperedPayload := func() string {
		c := idClaims()
		c["sub"] = "someone-else"
		c["scope"] = "admin-client123"
		b, _ := json.Marshal(c)
		return parts[0] + "." + base64.RawURLEncoding.EncodeToString(b) + "." + parts[2]
	}()
	// A header that embeds an attacker key (jwk) and points at an attacker JWKS (jku, x5u),
	// signed with the attacker's key under a kid the real JWKS does not have.
	injected := sign(t, testKey{kid: "attacker", priv: rsaKey(t, 1)}, idClaims(), func(tok *jwt.Token) {
		tok.Header["jwk"] = jwkOf(testKey{kid: "attacker", priv: rsaKey(t, 1)})
		tok.Header["jku"] = "https://attacker.example/jwks.json"
		tok.Header["x5u"] = "https://attacker.example/cert.pem"
	})
	// The same injection, but under the real kid: the embedded key must not be used.
	injectedKnownKid := sign(t, other, idClaims(), func(tok *jwt.Token) {
		tok.Header["jwk"] = jwkOf(other)
	})
	hmacRaw := func() string {
		h := base64.RawURLEncoding.EncodeToString([]byte(`{"alg":"HS256","typ":"JWT","kid":"k1"}`))
		mac := hmac.New(sha256.New, pubPEM)
		mac.Write([]byte(h + "." + parts[1]))
		return h + "." + parts[1] + "." + base64.RawURLEncoding.EncodeToString(mac.Sum(nil))
	}()

	tests := []struct {
		name  string
		token string
		mod   func(*Config)
		want  error
	}{
		{"alg none", noneToken, nil, ErrAlgorithm},
		{"HS256 signed with the public key", hsWithPublicKey, nil, ErrAlgorithm},
		{"HS256 hand-made", hmacRaw, nil, ErrAlgorithm},
		{"unknown kid", sign(t, testKey{kid: "nope", priv: rsaKey(t, 0)}, idClaims(), nil), nil, ErrUnknownKey},
		{"no kid", sign(t, k, idClaims(), func(tok *jwt.Token) { delete(tok.Header, "kid") }), nil, ErrNoKeyID},
		{"known kid, other key's signature", sign(t, other, idClaims(), nil), nil, ErrSignature},
		{"tampered payload", tamperedPayload, nil, ErrSignature},
		{"expired", sign(t, k, with(idClaims(), "exp", testNow.Add(-2*time.Minute).Unix()), nil), nil, ErrExpired},
		{"no exp", sign(t, k, with(idClaims(), "exp", nil), nil), nil, ErrClaims},
		{"nbf in the future", sign(t, k, with(idClaims(), "nbf", testNow.Add(5*time.Minute).Unix()), nil), nil, ErrNotYetValid},
		{"iat in the future", sign(t, k, with(idClaims(), "iat", testNow.Add(5*time.Minute).Unix()), nil), nil, ErrNotYetValid},
		{"wrong iss", sign(t, k, with(idClaims(), "iss", "https://evil.example"), nil), nil, ErrIssuer},
		{"trailing-slash iss", sign(t, k, with(idClaims(), "iss", testIssuer+"/"), nil), nil, ErrIssuer},
		{"no iss", sign(t, k, with(idClaims(), "iss", nil), nil), nil, ErrClaims},
		{"iss of another type", sign(t, k, with(idClaims(), "iss", 7), nil), nil, ErrMalformed},
		{"wrong aud", sign(t, k, with(idClaims(), "aud", "other-client"), nil), nil, ErrAudience},
		{"aud present but wrong, client_id right", sign(t, k, with(idClaims(), "aud", "other", "client_id", testClientID), nil), nil, ErrAudience},
		{"access token of another client", sign(t, k, with(accessClaims(), "client_id", "other"), nil), nil, ErrAudience},
		{"neither aud nor client_id", sign(t, k, with(accessClaims(), "client_id", nil), nil), nil, ErrAudience},
		{"aud null, client_id right", sign(t, k, with(idClaims(), "aud", json.RawMessage("null"), "client_id", testClientID), nil), nil, ErrAudience},
		{"aud [], client_id right", sign(t, k, with(idClaims(), "aud", []string{}, "client_id", testClientID), nil), nil, ErrAudience},
		{"aud null, no client_id", sign(t, k, with(idClaims(), "aud", json.RawMessage("null")), nil), nil, ErrAudience},
		{"token_use access required, id given", valid, func(c *Config) { c.Issuers[0].TokenUse = "access" }, ErrTokenUse},
		{"no sub", sign(t, k, with(idClaims(), "sub", nil), nil), nil, ErrClaims},
		{"jwk/jku/x5u header injection", injected, nil, ErrUnknownKey},
		{"jwk header under a known kid", injectedKnownKid, nil, ErrSignature},
		{"key with use=enc", sign(t, encKey, idClaims(), nil), nil, ErrUnknownKey},
		{"JWK alg disagrees with token alg", sign(t, psKey, idClaims(), nil), nil, ErrUnknownKey},
		{"RS256 not allowed when only PS256 is", valid, func(c *Config) { c.Issuers[0].Algorithms = []string{"PS256"} }, ErrAlgorithm},
		{"1 MB token", strings.Repeat("a", 1<<20), nil, ErrTooLarge},
		{"malformed base64", parts[0] + ".@@@." + parts[2], nil, ErrMalformed},
		{"extra segments", valid + ".extra", nil, ErrMalformed},
		{"two segments", parts[0] + "." + parts[1], nil, ErrMalformed},
		{"empty", "", nil, ErrMalformed},
		{"scope of wrong type", sign(t, k, with(idClaims(), "scope", 42), nil), nil, ErrMalformed},
		{"crit header", sign(t, k, idClaims(), func(tok *jwt.Token) { tok.Header["crit"] = []string{"exp"} }), nil, ErrCrit},
		{"empty crit header", sign(t, k, idClaims(), func(tok *jwt.Token) { tok.Header["crit"] = []string{} }), nil, ErrCrit},
		{"exp as a string of digits", sign(t, k, with(idClaims(), "exp", fmt.Sprint(testNow.Add(time.Hour).Unix())), nil), nil, ErrClaimType},
		{"nbf as a string", sign(t, k, with(idClaims(), "nbf", "0"), nil), nil, ErrClaimType},
		{"iat as a string", sign(t, k, with(idClaims(), "iat", fmt.Sprint(testNow.Unix())), nil), nil, ErrClaimType},
		{"exp null", sign(t, k, with(idClaims(), "exp", json.RawMessage("null")), nil), nil, ErrClaimType},
		{"iat true", sign(t, k, with(idClaims(), "iat", true), nil), nil, ErrClaimType},
		{"token_use refresh, TOKEN_USE unset", sign(t, k, with(idClaims(), "token_use", "refresh"), nil), nil, ErrTokenUse},
		{"token_use ID (wrong case)", sign(t, k, with(idClaims(), "token_use", "ID"), nil), nil, ErrTokenUse},
		{"scp element with a space", sign(t, k, with(accessClaims(), "scp", []string{"pets.read admin-client123"}), nil), nil, ErrScope},
		{"scope array element with a tab", sign(t, k, with(accessClaims(), "scope", []string{"a\tadmin-client123"}), nil), nil, ErrScope},
		{"scp empty element", sign(t, k, with(accessClaims(), "scp", []string{""}), nil), nil, ErrScope},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			v := newVerifier(t, jwks, tt.mod)
			c, err := v.Verify(context.Background(), tt.token)
			if err == nil {
				t.Fatalf("Verify accepted the token (sub %q)", c.Subject)
			}
			if !errors.Is(err, tt.want) {
				t.Fatalf("Verify error = %v, want %v", err, tt.want)
			}
			if got, want := Reason(err), Reason(tt.want); got != want {
				t.Fatalf("Reason = %q, want %q (%v)", got, want, err)
			}
			if errors.Is(err, ErrKeySource) {
				t.Fatalf("a bad token must not be reported as a JWKS fault: %v", err)
			}
			if len(tt.token) > 20 && strings.Contains(err.Error(), tt.token) {
				t.Fatalf("error message contains the token")
			}
		})
	}
}

func TestVerifyFaultsFailClosed(t *testing.T) {
	k := testKey{kid: "k1", priv: rsaKey(t, 0), alg: "RS256"}
	tests := []struct {
		name   string
		before func(s *jwksServer) // before the first token
		after  func(s *jwksServer) // after one successful verification
		claims jwt.MapClaims
		kid    string
		want   error // nil: verification must still succeed from the cache of keys
		// timeout of one JWKS request; default newVerifier's
		timeout time.Duration
	}{
		{name: "JWKS 500 at cold start", before: func(s *jwksServer) { s.status = 500 }, kid: "k1", want: ErrKeySource},
		{name: "malformed JWKS", before: func(s *jwksServer) { s.raw = `{"keys":[{"kty":"RSA","kid":"k1","n":"!!","e":"AQAB"}]}` }, kid: "k1", want: ErrKeySource},
		{name: "JWKS not JSON", before: func(s *jwksServer) { s.raw = `<html>` }, kid: "k1", want: ErrKeySource},
		{name: "JWKS slower than the timeout", before: func(s *jwksServer) { s.delay = 3 * time.Second }, timeout: 300 * time.Millisecond, kid: "k1", want: ErrKeySource},
		{name: "JWKS down after warm-up, known kid", after: func(s *jwksServer) { s.status = 503 }, kid: "k1", want: nil},
		{name: "JWKS down after warm-up, unknown kid", after: func(s *jwksServer) { s.status = 503 }, kid: "k2", want: ErrKeySource},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			jwks := newJWKS(t, k)
			if tt.before != nil {
				jwks.set(tt.before)
			}
			v := newVerifier(t, jwks, func(c *Config) {
				if tt.timeout > 0 {
					c.HTTPTimeout = tt.timeout
				}
				c.CacheSize = -1
			})
			if tt.after != nil {
				if _, err := v.Verify(context.Background(), sign(t, k, idClaims(), nil)); err != nil {
					t.Fatalf("warm-up: %v", err)
				}
				jwks.set(tt.after)
			}
			token := sign(t, testKey{kid: tt.kid, priv: k.priv}, idClaims(), func(tok *jwt.Token) { tok.Header["kid"] = tt.kid })
			_, err := v.Verify(context.Background(), token)
			if tt.want == nil {
				if err != nil {
					t.Fatalf("Verify: %v, want success from cached keys", err)
				}
				return
			}
			if !errors.Is(err, tt.want) {
				t.Fatalf("Verify error = %v, want %v", err, tt.want)
			}
			if Reason(err) != "jwks_unavailable" {
				t.Fatalf("Reason = %q", Reason(err))
			}
		})
	}
}

func TestLazyFetch(t *testing.T) {
	k := testKey{kid: "k1", priv: rsaKey(t, 0)}
	jwks := newJWKS(t, k)
	v := newVerifier(t, jwks, nil)
	if n := jwks.requests.Load(); n != 0 {
		t.Fatalf("New fetched the JWKS %d times; want lazy", n)
	}
	for range 5 {
		if _, err := v.Verify(context.Background(), sign(t, k, idClaims(), nil)); err != nil {
			t.Fatal(err)
		}
	}
	if n := jwks.requests.Load(); n != 1 {
		t.Fatalf("JWKS fetched %d times for 5 tokens, want 1", n)
	}
}

func TestKeyRotation(t *testing.T) {
	k1 := testKey{kid: "k1", priv: rsaKey(t, 0)}
	k2 := testKey{kid: "k2", priv: rsaKey(t, 1)}
	jwks := newJWKS(t, k1)
	v := newVerifier(t, jwks, nil)
	ctx := context.Background()
	if _, err := v.Verify(ctx, sign(t, k1, idClaims(), nil)); err != nil {
		t.Fatalf("warm-up: %v", err)
	}
	jwks.set(func(s *jwksServer) { s.keys = []testKey{k1, k2} })
	if _, err := v.Verify(ctx, sign(t, k2, idClaims(), nil)); err != nil {
		t.Fatalf("token under the rotated-in key: %v", err)
	}
	if n := jwks.requests.Load(); n != 2 {
		t.Fatalf("JWKS requests = %d, want 2 (first use, then one refresh for the new kid)", n)
	}
}

func TestUnknownKidFloodIsRateLimited(t *testing.T) {
	k := testKey{kid: "k1", priv: rsaKey(t, 0)}
	jwks := newJWKS(t, k)
	v := newVerifier(t, jwks, nil)
	ctx := context.Background()
	if _, err := v.Verify(ctx, sign(t, k, idClaims(), nil)); err != nil {
		t.Fatal(err)
	}
	for i := range 200 {
		tok := sign(t, k, idClaims(), func(tok *jwt.Token) { tok.Header["kid"] = fmt.Sprintf("random-%d", i) })
		if _, err := v.Verify(ctx, tok); !errors.Is(err, ErrUnknownKey) {
			t.Fatalf("token %d: %v, want ErrUnknownKey", i, err)
		}
	}
	if n := jwks.requests.Load(); n > 3 {
		t.Fatalf("200 random kids caused %d JWKS requests, want at most 3", n)
	}
	// The valid token still works during the flood.
	if _, err := v.Verify(ctx, sign(t, k, with(idClaims(), "jti", "after-flood"), nil)); err != nil {
		t.Fatal(err)
	}
}

func TestVerifiedTokenCache(t *testing.T) {
	k := testKey{kid: "k1", priv: rsaKey(t, 0)}
	jwks := newJWKS(t, k)
	now := testNow
	v := newVerifier(t, jwks, func(c *Config) { c.Now = func() time.Time { return now }; c.Leeway = -1 })
	ctx := context.Background()
	tok := sign(t, k, with(idClaims(), "exp", testNow.Add(10*time.Minute).Unix()), nil)
	first, err := v.Verify(ctx, tok)
	if err != nil {
		t.Fatal(err)
	}
	second, err := v.Verify(ctx, tok)
	if err != nil {
		t.Fatal(err)
	}
	if first != second {
		t.Fatal("repeated token was verified again instead of served from the cache")
	}
	now = testNow.Add(11 * time.Minute)
	if _, err := v.Verify(ctx, tok); !errors.Is(err, ErrExpired) {
		t.Fatalf("cached token after exp: %v, want ErrExpired", err)
	}
}

func TestCacheEmptiedWhenKeySetChanges(t *testing.T) {
	k1 := testKey{kid: "k1", priv: rsaKey(t, 0)}
	k2 := testKey{kid: "k2", priv: rsaKey(t, 1)}
	jwks := newJWKS(t, k1)
	v := newVerifier(t, jwks, func(c *Config) { c.RefreshMinInterval = time.Millisecond })
	ctx := context.Background()
	tok1 := sign(t, k1, idClaims(), nil)
	if _, err := v.Verify(ctx, tok1); err != nil {
		t.Fatal(err)
	}
	// k1 is revoked and k2 published; a k2 token triggers the refresh.
	jwks.set(func(s *jwksServer) { s.keys = []testKey{k2} })
	time.Sleep(5 * time.Millisecond)
	if _, err := v.Verify(ctx, sign(t, k2, idClaims(), nil)); err != nil {
		t.Fatal(err)
	}
	if _, err := v.Verify(ctx, tok1); !errors.Is(err, ErrUnknownKey) {
		t.Fatalf("token of a revoked key after refresh: %v, want ErrUnknownKey", err)
	}
}

func TestCacheIsBounded(t *testing.T) {
	c := newTokenCache(4)
	until := testNow.Add(time.Hour)
	for i := range 10 {
		c.put([32]byte{byte(i)}, &Claims{}, until, testNow, 0)
		if c.len() > 4 {
			t.Fatalf("cache holds %d entries, bound is 4", c.len())
		}
	}
	if _, ok := c.get([32]byte{9}, testNow, 0); !ok {
		t.Fatal("latest entry missing")
	}
	if _, ok := c.get([32]byte{9}, testNow, 1); ok {
		t.Fatal("entry of an older key-set generation served")
	}
}

func TestConcurrentVerify(t *testing.T) {
	k1 := testKey{kid: "k1", priv: rsaKey(t, 0)}
	k2 := testKey{kid: "k2", priv: rsaKey(t, 1)}
	jwks := newJWKS(t, k1, k2)
	v := newVerifier(t, jwks, func(c *Config) { c.CacheSize = 8 })
	tokens := []string{}
	for i := range 16 {
		k := k1
		if i%2 == 1 {
			k = k2
		}
		tokens = append(tokens, sign(t, k, with(idClaims(), "jti", fmt.Sprint(i)), nil))
	}
	bad := sign(t, testKey{kid: "nope", priv: k1.priv}, idClaims(), nil)
	var wg sync.WaitGroup
	errs := make(chan error, 1000)
	for g := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 50 {
				if _, err := v.Verify(context.Background(), tokens[(g+i)%len(tokens)]); err != nil {
					errs <- err
				}
				if _, err := v.Verify(context.Background(), bad); err == nil {
					errs <- errors.New("bad token accepted")
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}

// TestHTTPSJWKSWithBundleFile fetches the JWKS over TLS with the CA pool
// loaded from SSL_CERT_FILE (one bundle file, no directory scan).
func TestHTTPSJWKSWithBundleFile(t *testing.T) {
	k := testKey{kid: "k1", priv: rsaKey(t, 0)}
	plain := newJWKS(t, k)
	srv := httptest.NewTLSServer(plain.Config.Handler)
	defer srv.Close()
	bundle := filepath.Join(t.TempDir(), "ca.pem")
	os.WriteFile(bundle, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: srv.Certificate().Raw}), 0o644)
	t.Setenv("SSL_CERT_FILE", bundle)
	v, err := New(Config{Issuers: []Issuer{{Issuer: testIssuer, JWKSURI: srv.URL + "/jwks", Audiences: []string{testClientID}}}, Now: func() time.Time { return testNow }})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := v.Verify(context.Background(), sign(t, k, idClaims(), nil)); err != nil {
		t.Fatalf("verify over https: %v", err)
	}
	// Without the bundle the server's certificate is not trusted: a fault, not a pass.
	t.Setenv("SSL_CERT_FILE", "/nonexistent")
	saved := caBundles
	caBundles = nil
	defer func() { caBundles = saved }()
	v, _ = New(Config{Issuers: []Issuer{{Issuer: testIssuer, JWKSURI: srv.URL + "/jwks", Audiences: []string{testClientID}}}, Now: func() time.Time { return testNow }})
	if _, err := v.Verify(context.Background(), sign(t, k, idClaims(), nil)); !errors.Is(err, ErrKeySource) {
		t.Fatalf("untrusted JWKS certificate: %v, want ErrKeySource", err)
	}
}

// TestKeyOfWrongTypeIsNotUsed: a JWKS may hold EC keys; an RS256 token whose
// kid names one is refused, not verified with the wrong algorithm.
func TestKeyOfWrongTypeIsNotUsed(t *testing.T) {
	k := testKey{kid: "k1", priv: rsaKey(t, 0)}
	rsaJWK, _ := json.Marshal(jwkOf(k))
	ecKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	ecJWK, _ := json.Marshal(map[string]string{
		"kty": "EC", "crv": "P-256", "kid": "ec", "use": "sig",
		"x": base64.RawURLEncoding.EncodeToString(ecKey.X.FillBytes(make([]byte, 32))),
		"y": base64.RawURLEncoding.EncodeToString(ecKey.Y.FillBytes(make([]byte, 32))),
	})
	jwks := newJWKS(t)
	jwks.set(func(s *jwksServer) { s.raw = `{"keys":[` + string(rsaJWK) + `,` + string(ecJWK) + `]}` })
	v := newVerifier(t, jwks, nil)
	if _, err := v.Verify(context.Background(), sign(t, k, idClaims(), nil)); err != nil {
		t.Fatalf("RSA key beside an EC key: %v", err)
	}
	tok := sign(t, testKey{kid: "ec", priv: rsaKey(t, 1)}, idClaims(), nil)
	if _, err := v.Verify(context.Background(), tok); err == nil || errors.Is(err, ErrKeySource) {
		t.Fatalf("RS256 token under an EC key: %v, want a token error", err)
	}
}
