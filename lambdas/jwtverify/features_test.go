package jwtverify

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"encoding/base64"
	"encoding/json"
	"errors"
	"math/big"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

// ecJWK is the public JWK of an EC key.
func ecJWK(kid, alg string, k *ecdsa.PrivateKey) map[string]string {
	size := (k.Curve.Params().BitSize + 7) / 8
	crv := map[int]string{256: "P-256", 384: "P-384", 521: "P-521"}[k.Curve.Params().BitSize]
	m := map[string]string{"kty": "EC", "crv": crv, "kid": kid, "use": "sig",
		"x": base64.RawURLEncoding.EncodeToString(k.X.FillBytes(make([]byte, size))),
		"y": base64.RawURLEncoding.EncodeToString(k.Y.FillBytes(make([]byte, size)))}
	if alg != "" {
		m["alg"] = alg
	}
	return m
}

// rawJWKS serves a fixed JWKS document of the given JWKs.
func rawJWKS(t *testing.T, jwks ...map[string]string) *jwksServer {
	s := newJWKS(t)
	b, _ := json.Marshal(map[string]any{"keys": jwks})
	s.set(func(s *jwksServer) { s.raw = string(b) })
	return s
}

// TestAlgorithms: each issuer's allow-list admits exactly its algorithms,
// among RS, PS and ES; none and HMAC never pass, and a key verifies only
// the algorithm family (and curve) it is made for.
func TestAlgorithms(t *testing.T) {
	rsaPriv := rsaKey(t, 0)
	p256, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	p384, _ := ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	rsaJWK := jwkOf(testKey{kid: "rsa", priv: rsaPriv})
	jwks := rawJWKS(t, rsaJWK, ecJWK("p256", "", p256), ecJWK("p384", "", p384))
	signWith := func(m jwt.SigningMethod, kid string, key crypto.Signer) string {
		tok := jwt.NewWithClaims(m, idClaims())
		tok.Header["kid"] = kid
		s, err := tok.SignedString(key)
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	all := []string{"RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384"}
	// pss is m signing with the given salt length.
	pss := func(m *jwt.SigningMethodRSAPSS, salt int) jwt.SigningMethod {
		return &jwt.SigningMethodRSAPSS{SigningMethodRSA: m.SigningMethodRSA, Options: &rsa.PSSOptions{SaltLength: salt}}
	}
	tests := []struct {
		name  string
		token string
		algs  []string
		want  error
	}{
		{"RS256 by default", signWith(jwt.SigningMethodRS256, "rsa", rsaPriv), nil, nil},
		{"PS256 not allowed by default", signWith(jwt.SigningMethodPS256, "rsa", rsaPriv), nil, ErrAlgorithm},
		{"ES256 not allowed by default", signWith(jwt.SigningMethodES256, "p256", p256), nil, ErrAlgorithm},
		{"RS384", signWith(jwt.SigningMethodRS384, "rsa", rsaPriv), all, nil},
		{"RS512", signWith(jwt.SigningMethodRS512, "rsa", rsaPriv), all, nil},
		{"PS256", signWith(jwt.SigningMethodPS256, "rsa", rsaPriv), all, nil},
		{"PS384", signWith(jwt.SigningMethodPS384, "rsa", rsaPriv), all, nil},
		{"PS512", signWith(jwt.SigningMethodPS512, "rsa", rsaPriv), all, nil},
		{"ES256", signWith(jwt.SigningMethodES256, "p256", p256), all, nil},
		{"ES384", signWith(jwt.SigningMethodES384, "p384", p384), all, nil},
		{"PS256, salt = hash length", signWith(pss(jwt.SigningMethodPS256, 32), "rsa", rsaPriv), all, nil},
		{"PS512, salt = hash length", signWith(pss(jwt.SigningMethodPS512, 64), "rsa", rsaPriv), all, nil},
		{"PS256, no salt (RFC 7518 3.5: salt = hash length)", signWith(pss(jwt.SigningMethodPS256, 0), "rsa", rsaPriv), all, ErrSignature},
		{"PS256, 100-byte salt", signWith(pss(jwt.SigningMethodPS256, 100), "rsa", rsaPriv), all, ErrSignature},
		{"PS256, longest salt (PSSSaltLengthAuto)", signWith(pss(jwt.SigningMethodPS256, rsa.PSSSaltLengthAuto), "rsa", rsaPriv), all, ErrSignature},
		{"PS384, 32-byte salt", signWith(pss(jwt.SigningMethodPS384, 32), "rsa", rsaPriv), all, ErrSignature},
		// ECDSA signatures are malleable: (r, n-s) verifies as well as (r, s).
		// IdPs emit either, so both pass: a second spelling of the same token
		// (see the package doc: use jti to spot a replay).
		{"ES256, s flipped to n-s", flipS(t, signWith(jwt.SigningMethodES256, "p256", p256), elliptic.P256()), all, nil},
		{"ES384, s flipped to n-s", flipS(t, signWith(jwt.SigningMethodES384, "p384", p384), elliptic.P384()), all, nil},
		{"PS256 only: RS256 refused", signWith(jwt.SigningMethodRS256, "rsa", rsaPriv), []string{"PS256"}, ErrAlgorithm},
		{"ES256 under the P-384 key", signWith(jwt.SigningMethodES256, "p384", p256), all, ErrUnknownKey},
		{"ES384 under the P-256 key", signWith(jwt.SigningMethodES384, "p256", p384), all, ErrUnknownKey},
		{"ES256 under the RSA kid", signWith(jwt.SigningMethodES256, "rsa", p256), all, ErrUnknownKey},
		{"RS256 under an EC kid", signWith(jwt.SigningMethodRS256, "p256", rsaPriv), all, ErrUnknownKey},
		{"ES512 never", signWith(jwt.SigningMethodES512, "p256", mustP521(t)), all, ErrAlgorithm},
		{"HS256 with the JWK's modulus as secret", func() string {
			tok := jwt.NewWithClaims(jwt.SigningMethodHS256, idClaims())
			tok.Header["kid"] = "rsa"
			s, _ := tok.SignedString([]byte(rsaJWK["n"]))
			return s
		}(), all, ErrAlgorithm},
		{"none", func() string {
			tok := jwt.NewWithClaims(jwt.SigningMethodNone, idClaims())
			tok.Header["kid"] = "rsa"
			s, _ := tok.SignedString(jwt.UnsafeAllowNoneSignatureType)
			return s
		}(), all, ErrAlgorithm},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			v := newVerifier(t, jwks, func(c *Config) { c.Issuers[0].Algorithms = tt.algs })
			_, err := v.Verify(context.Background(), tt.token)
			if tt.want == nil && err != nil {
				t.Fatalf("Verify: %v, want success", err)
			}
			if tt.want != nil && !errors.Is(err, tt.want) {
				t.Fatalf("Verify: %v, want %v", err, tt.want)
			}
		})
	}
}

// flipS respells an ES256/ES384 token's signature (r, s) as (r, n-s),
// which needs no key, and checks that the spelling changed.
func flipS(t *testing.T, tok string, curve elliptic.Curve) string {
	t.Helper()
	dot := strings.LastIndexByte(tok, '.')
	sig, err := base64.RawURLEncoding.DecodeString(tok[dot+1:])
	if err != nil {
		t.Fatal(err)
	}
	half := len(sig) / 2
	s := new(big.Int).SetBytes(sig[half:])
	s.Sub(curve.Params().N, s)
	flipped := append(append([]byte(nil), sig[:half]...), s.FillBytes(make([]byte, half))...)
	out := tok[:dot+1] + base64.RawURLEncoding.EncodeToString(flipped)
	if out == tok {
		t.Fatal("flipS made the same token")
	}
	return out
}

func mustP521(t *testing.T) *ecdsa.PrivateKey {
	k, err := ecdsa.GenerateKey(elliptic.P521(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

// TestAlgorithmsPerIssuer: one issuer's allowance does not extend to another's tokens.
func TestAlgorithmsPerIssuer(t *testing.T) {
	k := testKey{kid: "k1", priv: rsaKey(t, 0)}
	jwks := newJWKS(t, k)
	const other = "https://other.example.com"
	v := newVerifier(t, jwks, func(c *Config) {
		c.Issuers = append(c.Issuers, Issuer{Issuer: other, JWKSURI: jwks.URL + "/jwks", Audiences: []string{testClientID}, Algorithms: []string{"PS256"}})
	})
	ps := func(iss string) string {
		tok := jwt.NewWithClaims(jwt.SigningMethodPS256, with(idClaims(), "iss", iss))
		tok.Header["kid"] = "k1"
		s, _ := tok.SignedString(k.priv)
		return s
	}
	if _, err := v.Verify(context.Background(), ps(other)); err != nil {
		t.Fatalf("PS256 of the issuer that allows it: %v", err)
	}
	if _, err := v.Verify(context.Background(), ps(testIssuer)); !errors.Is(err, ErrAlgorithm) {
		t.Fatalf("PS256 of the RS256-only issuer: %v, want ErrAlgorithm", err)
	}
}

// discoveryServer serves an OIDC discovery document and a JWKS, counting
// requests to each.
type discoveryServer struct {
	*httptest.Server
	doc, keys atomic.Int64
	issuer    atomic.Pointer[string] // what the document claims; default its own URL
	jwksURI   atomic.Pointer[string] // default its own /keys
	status    atomic.Int64           // of the document; default 200
}

func newDiscovery(t *testing.T, k testKey) *discoveryServer {
	d := &discoveryServer{}
	d.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/tenant/.well-known/openid-configuration":
			d.doc.Add(1)
			if s := d.status.Load(); s != 0 {
				w.WriteHeader(int(s))
				return
			}
			iss, uri := d.URL+"/tenant", d.URL+"/keys"
			if p := d.issuer.Load(); p != nil {
				iss = *p
			}
			if p := d.jwksURI.Load(); p != nil {
				uri = *p
			}
			json.NewEncoder(w).Encode(map[string]string{"issuer": iss, "jwks_uri": uri, "authorization_endpoint": d.URL + "/authorize"})
		case "/keys":
			d.keys.Add(1)
			json.NewEncoder(w).Encode(map[string]any{"keys": []map[string]string{jwkOf(k)}})
		default:
			http.NotFound(w, r)
		}
	}))
	t.Cleanup(d.Close)
	return d
}

// TestOIDCDiscovery: with no JWKS URI the keys are found through the
// issuer's discovery document, once; a document for another issuer, a
// jwks_uri breaking the https rule or an unreachable document fail closed.
func TestOIDCDiscovery(t *testing.T) {
	k := testKey{kid: "k1", priv: rsaKey(t, 0), alg: "RS256", use: "sig"}
	ctx := context.Background()
	verifier := func(d *discoveryServer) (*Verifier, string) {
		iss := d.URL + "/tenant"
		v, err := New(Config{Issuers: []Issuer{{Issuer: iss, Audiences: []string{testClientID}}}, Now: func() time.Time { return testNow }, CacheSize: -1})
		if err != nil {
			t.Fatal(err)
		}
		return v, sign(t, k, with(idClaims(), "iss", iss), nil)
	}

	t.Run("found once, then cached", func(t *testing.T) {
		d := newDiscovery(t, k)
		v, tok := verifier(d)
		for range 3 {
			if _, err := v.Verify(ctx, tok); err != nil {
				t.Fatalf("Verify: %v", err)
			}
		}
		if d.doc.Load() != 1 || d.keys.Load() != 1 {
			t.Fatalf("%d discovery and %d JWKS requests, want 1 and 1", d.doc.Load(), d.keys.Load())
		}
	})
	faults := []struct {
		name string
		mod  func(d *discoveryServer)
		want string
	}{
		{"document for another issuer", func(d *discoveryServer) { s := "https://evil.example.com/tenant"; d.issuer.Store(&s) }, "want"},
		{"jwks_uri over plain http elsewhere", func(d *discoveryServer) { s := "http://keys.example.com/jwks"; d.jwksURI.Store(&s) }, "must use https"},
		{"no jwks_uri", func(d *discoveryServer) { s := ""; d.jwksURI.Store(&s) }, "no jwks_uri"},
		{"document unavailable", func(d *discoveryServer) { d.status.Store(503) }, "HTTP status 503"},
	}
	for _, tt := range faults {
		t.Run(tt.name, func(t *testing.T) {
			d := newDiscovery(t, k)
			tt.mod(d)
			v, tok := verifier(d)
			_, err := v.Verify(ctx, tok)
			if !errors.Is(err, ErrKeySource) || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("Verify: %v, want ErrKeySource mentioning %q", err, tt.want)
			}
			if d.keys.Load() != 0 {
				t.Fatalf("the JWKS was fetched after a failed discovery")
			}
		})
	}
}

// TestGroupsAndRawClaims: groups come from cognito:groups or the issuer's
// claim; other claims are read raw by their exact names.
func TestGroupsAndRawClaims(t *testing.T) {
	k := testKey{kid: "k1", priv: rsaKey(t, 0), alg: "RS256", use: "sig"}
	jwks := newJWKS(t, k)
	tests := []struct {
		name        string
		claimName   string
		claims      jwt.MapClaims
		wantGroups  []string
		wantErr     error
		wantRawName string
	}{
		{"cognito:groups by default", "", with(idClaims(), "cognito:groups", []string{"admin", "regular"}), []string{"admin", "regular"}, nil, "cognito:groups"},
		{"no groups", "", idClaims(), nil, nil, "sub"},
		{"a claim named by the issuer", "groups", with(idClaims(), "groups", []string{"Everyone", "pets admins"}, "cognito:groups", []string{"admin"}), []string{"Everyone", "pets admins"}, nil, "groups"},
		{"one string is one group", "groups", with(idClaims(), "groups", "admin"), []string{"admin"}, nil, "groups"},
		{"a number is refused", "", with(idClaims(), "cognito:groups", 7), nil, ErrClaimType, ""},
		{"an empty group name is refused", "", with(idClaims(), "cognito:groups", []string{""}), nil, ErrClaimType, ""},
		{"an array of numbers is refused", "", with(idClaims(), "cognito:groups", []int{1}), nil, ErrClaimType, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			v := newVerifier(t, jwks, func(c *Config) { c.Issuers[0].GroupsClaim = tt.claimName })
			c, err := v.Verify(context.Background(), sign(t, k, tt.claims, nil))
			if tt.wantErr != nil {
				if !errors.Is(err, tt.wantErr) {
					t.Fatalf("Verify: %v, want %v", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("Verify: %v", err)
			}
			if !slices.Equal(c.Groups, tt.wantGroups) {
				t.Fatalf("Groups = %q, want %q", c.Groups, tt.wantGroups)
			}
			if _, ok := c.Claim(tt.wantRawName); !ok || !slices.Contains(c.ClaimNames(), tt.wantRawName) {
				t.Fatalf("Claim(%q) missing; names %q", tt.wantRawName, c.ClaimNames())
			}
		})
	}
}

// TestCheckHook: the custom check sees the verified claims and its refusal
// is ErrCheck, also for a token served from the cache.
func TestCheckHook(t *testing.T) {
	k := testKey{kid: "k1", priv: rsaKey(t, 0), alg: "RS256", use: "sig"}
	var refuse atomic.Bool
	var seen atomic.Pointer[Claims]
	v := newVerifier(t, newJWKS(t, k), func(c *Config) {
		c.Check = func(_ context.Context, cl *Claims) error {
			seen.Store(cl)
			if refuse.Load() {
				return errors.New("tenant suspended")
			}
			return nil
		}
	})
	tok := sign(t, k, idClaims(), nil)
	if _, err := v.Verify(context.Background(), tok); err != nil {
		t.Fatalf("Verify: %v", err)
	}
	if c := seen.Load(); c == nil || c.Subject != "11111111-2222-3333-4444-555555555555" {
		t.Fatalf("the check saw %+v", c)
	}
	refuse.Store(true)
	_, err := v.Verify(context.Background(), tok) // cached by now
	if !errors.Is(err, ErrCheck) || Reason(err) != "check" || !strings.Contains(err.Error(), "tenant suspended") {
		t.Fatalf("Verify: %v, want ErrCheck with the check's reason", err)
	}
	if v.Stats().CacheHits != 1 {
		t.Fatalf("the second call was not served from the cache: %+v", v.Stats())
	}
}

// TestConfigErrors: every problem at once, each naming its issuer and field.
func TestConfigErrors(t *testing.T) {
	_, err := New(Config{Issuers: []Issuer{
		{Issuer: "http://idp.example.com", Audiences: nil, TokenUse: "refresh", Algorithms: []string{"HS256", "none"}},
		{Issuer: "https://a.example.com", JWKSURI: "ftp://a.example.com/jwks", Audiences: []string{"x"}},
		{Issuer: "https://a.example.com", Audiences: []string{"x"}, JWKS: []byte(`[]`)},
	}})
	want := []struct {
		issuer int
		field  string
		text   string
	}{
		{0, "Issuer", "must use https"}, {0, "Audiences", "is empty"}, {0, "TokenUse", `"refresh"`},
		{0, "Algorithms", `"HS256"`}, {0, "Algorithms", `"none"`}, {1, "JWKSURI", "must use https"},
		{2, "Issuer", "listed twice"}, {2, "JWKS", "not a usable JWKS"},
	}
	var got []*ConfigError
	for _, e := range err.(interface{ Unwrap() []error }).Unwrap() {
		var ce *ConfigError
		if !errors.As(e, &ce) || !errors.Is(e, ErrConfig) {
			t.Fatalf("%v is not a ConfigError", e)
		}
		got = append(got, ce)
	}
	if len(got) != len(want) {
		t.Fatalf("%d problems, want %d:\n%v", len(got), len(want), err)
	}
	for i, w := range want {
		if got[i].Issuer != w.issuer || got[i].Field != w.field || !strings.Contains(got[i].Error(), w.text) {
			t.Errorf("problem %d = %v (Issuers[%d].%s), want Issuers[%d].%s mentioning %s", i, got[i], got[i].Issuer, got[i].Field, w.issuer, w.field, w.text)
		}
	}
	if _, err := New(Config{}); !errors.Is(err, ErrConfig) {
		t.Fatalf("no issuers: %v, want ErrConfig", err)
	}
}
