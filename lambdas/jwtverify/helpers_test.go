package jwtverify

import (
	"crypto/rand"
	"crypto/rsa"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/secure-api-go/apigw-jwt/internal/testjwt"
)

const (
	testIssuer   = "https://cognito-idp.eu-west-1.amazonaws.com/eu-west-1_TEST"
	testClientID = "client123"
)

// testKey is an RSA key with its kid; keys are made once per test binary
// because RSA generation is slow.
type testKey struct {
	kid  string
	priv *rsa.PrivateKey
	alg  string // JWK alg; "" omits it
	use  string // JWK use; "" omits it
}

var (
	keysOnce sync.Once
	keyPool  []*rsa.PrivateKey
)

func rsaKey(t testing.TB, i int) *rsa.PrivateKey {
	t.Helper()
	keysOnce.Do(func() {
		for range 3 {
			k, err := rsa.GenerateKey(rand.Reader, 2048)
			if err != nil {
				panic(err)
			}
			keyPool = append(keyPool, k)
		}
	})
	return keyPool[i]
}

// jwkOf is the key's public JWK, with alg and use only when the test sets them.
func jwkOf(k testKey) map[string]string {
	m := testjwt.JWK(k.kid, &k.priv.PublicKey)
	m["alg"], m["use"] = k.alg, k.use
	for _, opt := range []string{"alg", "use"} {
		if m[opt] == "" {
			delete(m, opt)
		}
	}
	return m
}

// jwksServer serves a key set that tests can change, fail or slow down, and
// counts requests.
type jwksServer struct {
	*httptest.Server
	mu       sync.Mutex
	keys     []testKey
	raw      string // when set, served instead of keys
	status   int
	delay    time.Duration
	requests atomic.Int64
}

func newJWKS(t testing.TB, keys ...testKey) *jwksServer {
	s := &jwksServer{keys: keys, status: 200}
	s.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.requests.Add(1)
		s.mu.Lock()
		status, delay, raw := s.status, s.delay, s.raw
		set := []map[string]string{}
		for _, k := range s.keys {
			set = append(set, jwkOf(k))
		}
		s.mu.Unlock()
		if delay > 0 {
			select {
			case <-time.After(delay):
			case <-r.Context().Done():
				return
			}
		}
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(status)
		if raw != "" {
			w.Write([]byte(raw))
			return
		}
		json.NewEncoder(w).Encode(map[string]any{"keys": set})
	}))
	t.Cleanup(s.Close)
	return s
}

func (s *jwksServer) set(f func(s *jwksServer)) {
	s.mu.Lock()
	defer s.mu.Unlock()
	f(s)
}

// fixedClock is the injectable clock of the tests.
var testNow = time.Date(2026, 11, 21, 12, 0, 0, 0, time.UTC)

func newVerifier(t testing.TB, jwks *jwksServer, mod func(*Config)) *Verifier {
	t.Helper()
	cfg := Config{
		Issuers:     []Issuer{{Issuer: testIssuer, JWKSURI: jwks.URL + "/.well-known/jwks.json", Audiences: []string{testClientID}}},
		HTTPTimeout: 5 * time.Second, // loopback, but the test machine may be busy
		Now:         func() time.Time { return testNow },
	}
	if mod != nil {
		mod(&cfg)
	}
	v, err := New(cfg)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return v
}

// idClaims are the claims of a Cognito ID token for the test client.
func idClaims() jwt.MapClaims {
	return jwt.MapClaims{
		"sub":              "11111111-2222-3333-4444-555555555555",
		"iss":              testIssuer,
		"aud":              testClientID,
		"token_use":        "id",
		"cognito:username": "adminuser",
		"scope":            "admin-client123 regular-client123",
		"iat":              testNow.Add(-time.Minute).Unix(),
		"exp":              testNow.Add(time.Hour).Unix(),
		"jti":              "jti-1",
	}
}

// accessClaims are the claims of a Cognito access token: client_id, no aud.
func accessClaims() jwt.MapClaims {
	return jwt.MapClaims{
		"sub":       "11111111-2222-3333-4444-555555555555",
		"iss":       testIssuer,
		"client_id": testClientID,
		"token_use": "access",
		"username":  "regularuser",
		"scope":     "openid regular-client123",
		"iat":       testNow.Add(-time.Minute).Unix(),
		"exp":       testNow.Add(time.Hour).Unix(),
	}
}

func sign(t testing.TB, k testKey, claims jwt.MapClaims, mod func(*jwt.Token)) string {
	t.Helper()
	tok := jwt.NewWithClaims(jwt.SigningMethodRS256, claims)
	tok.Header["kid"] = k.kid
	if mod != nil {
		mod(tok)
	}
	s, err := tok.SignedString(k.priv)
	if err != nil {
		t.Fatalf("sign: %v", err)
	}
	return s
}

func with(c jwt.MapClaims, kv ...any) jwt.MapClaims {
	out := jwt.MapClaims{}
	for k, v := range c {
		out[k] = v
	}
	for i := 0; i+1 < len(kv); i += 2 {
		if kv[i+1] == nil {
			delete(out, kv[i].(string))
			continue
		}
		out[kv[i].(string)] = kv[i+1]
	}
	return out
}
