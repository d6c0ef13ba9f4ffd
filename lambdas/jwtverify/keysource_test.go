package jwtverify

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"math/big"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

// fakeClock is an injectable clock the tests advance by hand, so backoff and
// rate limits are tested without sleeping.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func newClock() *fakeClock { return &fakeClock{t: testNow} }

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// claimsAt are idClaims valid at t.
func claimsAt(t time.Time) jwt.MapClaims {
	return with(idClaims(), "iat", t.Add(-time.Minute).Unix(), "exp", t.Add(time.Hour).Unix())
}

// jwksDoc is a JWKS document of the keys, as JWKS_JSON holds it.
func jwksDoc(t testing.TB, keys ...testKey) json.RawMessage {
	t.Helper()
	set := []map[string]string{}
	for _, k := range keys {
		set = append(set, jwkOf(k))
	}
	b, err := json.Marshal(map[string]any{"keys": set})
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// weakJWK is an RSA JWK with the given modulus size and exponent: such keys
// are refused at load, so they need no private half.
func weakJWK(kid string, bits int, e int64) map[string]string {
	n := new(big.Int).Lsh(big.NewInt(1), uint(bits-1))
	n.Add(n, big.NewInt(12345))
	return map[string]string{
		"kty": "RSA", "alg": "RS256", "use": "sig", "kid": kid,
		"n": base64.RawURLEncoding.EncodeToString(n.Bytes()),
		"e": base64.RawURLEncoding.EncodeToString(big.NewInt(e).Bytes()),
	}
}

// TestSeededJWKS: JWKS_JSON keys verify with no request; an unknown kid still
// fetches at once (the seed did not use up the allowance), and the fetched
// set replaces the seed.
func TestSeededJWKS(t *testing.T) {
	seedKey := testKey{kid: "seed", priv: rsaKey(t, 0), alg: "RS256", use: "sig"}
	fetched := testKey{kid: "fetched", priv: rsaKey(t, 1), alg: "RS256", use: "sig"}
	jwks := newJWKS(t, fetched)
	v := newVerifier(t, jwks, func(c *Config) { c.Issuers[0].JWKS = jwksDoc(t, seedKey) })
	ctx := context.Background()
	for i := range 3 {
		if _, err := v.Verify(ctx, sign(t, seedKey, with(idClaims(), "jti", fmt.Sprint(i)), nil)); err != nil {
			t.Fatalf("seeded kid: %v", err)
		}
	}
	if n := jwks.requests.Load(); n != 0 || v.Stats().JWKSFetches != 0 {
		t.Fatalf("seeded kid caused %d JWKS requests (stats %d), want 0", n, v.Stats().JWKSFetches)
	}
	if _, err := v.Verify(ctx, sign(t, fetched, idClaims(), nil)); err != nil {
		t.Fatalf("kid outside the seed: %v", err)
	}
	if n := jwks.requests.Load(); n != 1 {
		t.Fatalf("kid outside the seed: %d requests, want 1 at once", n)
	}
	// The fetched set replaced the seed: the seed's key is gone.
	if _, err := v.Verify(ctx, sign(t, seedKey, with(idClaims(), "jti", "after"), nil)); !errors.Is(err, ErrUnknownKey) {
		t.Fatalf("seed key after the fetch: %v, want ErrUnknownKey", err)
	}
	if s := v.Stats(); s.JWKSFetches != 1 {
		t.Fatalf("Stats().JWKSFetches = %d, want 1", s.JWKSFetches)
	}
}

func TestSeedMustBeAUsableJWKS(t *testing.T) {
	k := testKey{kid: "k1", priv: rsaKey(t, 0)}
	tests := []struct{ name, seed string }{
		{"not JSON", `{"keys":`},
		{"no keys member", `{"kid":"k1"}`},
		{"bad modulus", `{"keys":[{"kty":"RSA","kid":"k1","n":"!!","e":"AQAB"}]}`},
		{"a list", `[]`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := New(Config{Issuers: []Issuer{{Issuer: testIssuer, JWKSURI: "https://idp.example.com/jwks", Audiences: []string{"a"}, JWKS: json.RawMessage(tt.seed)}}})
			var ce *ConfigError
			if !errors.Is(err, ErrConfig) || !errors.As(err, &ce) || ce.Issuer != 0 || ce.Field != "JWKS" {
				t.Fatalf("New: %v, want a ConfigError for Issuers[0].JWKS", err)
			}
		})
	}
	if _, err := New(Config{Issuers: []Issuer{{Issuer: testIssuer, JWKSURI: "https://idp.example.com/jwks", Audiences: []string{"a"}, JWKS: jwksDoc(t, k)}}}); err != nil {
		t.Fatalf("good seed: %v", err)
	}
}

// TestWeakRSAKeysRefused: keys under 2048 bits or with an exponent other than
// 65537 are refused when the set is loaded - fetched or seeded - and logged
// once per key set, not per token; the good keys of the same set still work.
func TestWeakRSAKeysRefused(t *testing.T) {
	good := testKey{kid: "good", priv: rsaKey(t, 0), alg: "RS256", use: "sig"}
	weakSet := func() string {
		b, _ := json.Marshal(map[string]any{"keys": []map[string]string{
			weakJWK("small", 1024, 65537), weakJWK("exp3", 2048, 3), weakJWK("exp-big", 2048, 1<<40+1), jwkOf(good),
		}})
		return string(b)
	}()
	for _, from := range []string{"fetched", "seeded"} {
		t.Run(from, func(t *testing.T) {
			jwks := newJWKS(t)
			jwks.set(func(s *jwksServer) { s.raw = weakSet })
			var logs bytes.Buffer
			v := newVerifier(t, jwks, func(c *Config) {
				c.Log = slog.New(slog.NewJSONHandler(&logs, nil))
				c.RefreshMinInterval = time.Millisecond
				switch from {
				case "seeded":
					c.Issuers[0].JWKS = json.RawMessage(weakSet)
				}
			})
			ctx := context.Background()
			for round := range 3 {
				for _, kid := range []string{"small", "exp3", "exp-big"} {
					tok := sign(t, testKey{kid: kid, priv: rsaKey(t, 1)}, with(idClaims(), "jti", fmt.Sprint(round)), nil)
					if _, err := v.Verify(ctx, tok); !errors.Is(err, ErrWeakKey) || Reason(err) != "weak_key" {
						t.Fatalf("kid %s: %v, want ErrWeakKey", kid, err)
					}
				}
				if _, err := v.Verify(ctx, sign(t, good, with(idClaims(), "jti", fmt.Sprint(round)), nil)); err != nil {
					t.Fatalf("good key beside weak ones: %v", err)
				}
				// A refetch of the same set (an unknown kid) must not log again.
				v.Verify(ctx, sign(t, testKey{kid: fmt.Sprint("unknown-", round), priv: rsaKey(t, 1)}, idClaims(), nil))
			}
			if n := strings.Count(logs.String(), "jwks keys refused"); n != 1 {
				t.Fatalf("refused keys logged %d times, want once per key set:\n%s", n, logs.String())
			}
			for _, want := range []string{"RSA modulus of 1024 bits", "RSA exponent 3,", "RSA exponent 1099511627777"} {
				if !strings.Contains(logs.String(), want) {
					t.Fatalf("log lacks %q:\n%s", want, logs.String())
				}
			}
		})
	}
}

// TestRecoveryAfterOutage: JWKS 500 at cold start, healthy again after 2 s:
// a valid token is allowed within 3 s of the recovery, not after the
// one-minute unknown-kid interval; nothing is allowed before.
func TestRecoveryAfterOutage(t *testing.T) {
	k := testKey{kid: "k1", priv: rsaKey(t, 0)}
	jwks := newJWKS(t, k)
	jwks.set(func(s *jwksServer) { s.status = 500 })
	clock := newClock()
	v := newVerifier(t, jwks, func(c *Config) { c.Now = clock.Now; c.RefreshMinInterval = time.Minute })
	ctx := context.Background()
	start := clock.Now()
	var allowedAt time.Duration
	for step := 0; step < 100; step++ { // tokens every 100 ms, for 10 s
		elapsed := clock.Now().Sub(start)
		if elapsed >= 2*time.Second {
			jwks.set(func(s *jwksServer) { s.status = 200 })
		}
		_, err := v.Verify(ctx, sign(t, k, with(claimsAt(clock.Now()), "jti", fmt.Sprint(step)), nil))
		if err == nil {
			if elapsed < 2*time.Second {
				t.Fatalf("allowed at %v while the JWKS was down", elapsed)
			}
			allowedAt = elapsed
			break
		}
		if !errors.Is(err, ErrKeySource) {
			t.Fatalf("at %v: %v, want ErrKeySource during the outage", elapsed, err)
		}
		clock.Advance(100 * time.Millisecond)
	}
	if allowedAt == 0 || allowedAt > 5*time.Second {
		t.Fatalf("first Allow at %v after cold start, want within 3 s of the recovery at 2 s", allowedAt)
	}
	t.Logf("JWKS back at 2s, first Allow at %v, %d requests", allowedAt, jwks.requests.Load())
}

// TestOutageBackoff: JWKS down for 30 s under 50 requests/s costs a handful
// of requests (1 s backoff, doubling: at 0, 1, 3, 7, 15 s) and never an Allow.
func TestOutageBackoff(t *testing.T) {
	k := testKey{kid: "k1", priv: rsaKey(t, 0)}
	jwks := newJWKS(t, k)
	jwks.set(func(s *jwksServer) { s.status = 503 })
	clock := newClock()
	v := newVerifier(t, jwks, func(c *Config) { c.Now = clock.Now })
	ctx := context.Background()
	for i := range 30 * 50 {
		if _, err := v.Verify(ctx, sign(t, k, with(claimsAt(clock.Now()), "jti", fmt.Sprint(i)), nil)); !errors.Is(err, ErrKeySource) {
			t.Fatalf("request %d at %v: %v, want ErrKeySource", i, clock.Now().Sub(testNow), err)
		}
		clock.Advance(20 * time.Millisecond)
	}
	n := jwks.requests.Load()
	if n < 4 || n > 6 {
		t.Fatalf("30 s outage under 50 req/s: %d JWKS requests, want 4-6 (backoff from 1 s, doubling)", n)
	}
	if s := v.Stats(); s.JWKSFetches != uint64(n) {
		t.Fatalf("Stats().JWKSFetches = %d, server saw %d", s.JWKSFetches, n)
	}
	// The backoff is capped at the unknown-kid interval (1 min): after a long
	// outage the next try is at most a minute away.
	clock.Advance(10 * time.Minute)
	jwks.set(func(s *jwksServer) { s.status = 200 })
	if _, err := v.Verify(ctx, sign(t, k, claimsAt(clock.Now()), nil)); err != nil {
		t.Fatalf("after the outage: %v", err)
	}
}

// TestOneRequestInFlight: concurrent tokens during a slow fetch join it.
func TestOneRequestInFlight(t *testing.T) {
	k := testKey{kid: "k1", priv: rsaKey(t, 0)}
	var inFlight, maxInFlight atomic.Int64
	jwks := newJWKS(t, k)
	inner := jwks.Config.Handler
	slow := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n := inFlight.Add(1)
		defer inFlight.Add(-1)
		for {
			m := maxInFlight.Load()
			if n <= m || maxInFlight.CompareAndSwap(m, n) {
				break
			}
		}
		time.Sleep(100 * time.Millisecond)
		inner.ServeHTTP(w, r)
	}))
	defer slow.Close()
	clock := newClock()
	v := newVerifier(t, jwks, func(c *Config) { c.Issuers[0].JWKSURI = slow.URL + "/jwks"; c.Now = clock.Now; c.CacheSize = -1 })
	var wg sync.WaitGroup
	errs := make(chan error, 64)
	for i := range 32 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			kid := "k1"
			if i%2 == 1 {
				kid = fmt.Sprint("unknown-", i)
			}
			_, err := v.Verify(context.Background(), sign(t, testKey{kid: kid, priv: k.priv}, idClaims(), nil))
			if kid == "k1" && err != nil {
				errs <- err
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	if m := maxInFlight.Load(); m != 1 {
		t.Fatalf("%d JWKS requests in flight at once, want 1", m)
	}
	if n := jwks.requests.Load(); n > 2 {
		t.Fatalf("%d JWKS requests for 32 concurrent tokens, want at most 2", n)
	}
}

// TestBackgroundRefresh: a healthy set is refetched after RefreshInterval
// without making the token wait, and a changed set takes effect.
func TestBackgroundRefresh(t *testing.T) {
	k := testKey{kid: "k1", priv: rsaKey(t, 0)}
	jwks := newJWKS(t, k)
	clock := newClock()
	v := newVerifier(t, jwks, func(c *Config) { c.Now = clock.Now; c.RefreshInterval = time.Hour; c.CacheSize = -1 })
	ctx := context.Background()
	if _, err := v.Verify(ctx, sign(t, k, claimsAt(clock.Now()), nil)); err != nil {
		t.Fatal(err)
	}
	clock.Advance(30 * time.Minute)
	v.Verify(ctx, sign(t, k, claimsAt(clock.Now()), nil))
	if n := jwks.requests.Load(); n != 1 {
		t.Fatalf("%d requests before the refresh interval, want 1", n)
	}
	clock.Advance(31 * time.Minute)
	if _, err := v.Verify(ctx, sign(t, k, claimsAt(clock.Now()), nil)); err != nil {
		t.Fatalf("token while the refresh starts: %v", err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for jwks.requests.Load() < 2 && time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond)
	}
	if n := jwks.requests.Load(); n != 2 {
		t.Fatalf("%d requests after the refresh interval, want 2", n)
	}
}

// waitRequests waits (in real time: the fetch runs in a goroutine) until the
// JWKS server has seen n requests and the verifier has installed the answer.
func waitRequests(t *testing.T, jwks *jwksServer, v *Verifier, n int64) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for jwks.requests.Load() < n && time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond)
	}
	if got := jwks.requests.Load(); got != n {
		t.Fatalf("%d JWKS requests, want %d", got, n)
	}
	for _, is := range v.issuers {
		is.keys.mu.Lock()
		done := is.keys.inflight
		is.keys.mu.Unlock()
		if done != nil {
			<-done
		}
	}
}

// TestRevokedKeyDoesNotLiveOn: a key the IdP removed stops verifying within
// the refresh interval, for a token already in the verified-token cache and
// for a key that came from the deploy-time seed.
func TestRevokedKeyDoesNotLiveOn(t *testing.T) {
	old := testKey{kid: "old", priv: rsaKey(t, 0), alg: "RS256", use: "sig"}
	next := testKey{kid: "next", priv: rsaKey(t, 1), alg: "RS256", use: "sig"}
	ctx := context.Background()

	t.Run("cached token", func(t *testing.T) {
		jwks := newJWKS(t, old, next)
		clock := newClock()
		v := newVerifier(t, jwks, func(c *Config) { c.Now = clock.Now; c.RefreshInterval = time.Hour })
		// A token valid for a day, verified and cached under the old key.
		tok := sign(t, old, with(claimsAt(clock.Now()), "exp", clock.Now().Add(24*time.Hour).Unix()), nil)
		if _, err := v.Verify(ctx, tok); err != nil {
			t.Fatal(err)
		}
		if _, err := v.Verify(ctx, tok); err != nil || v.Stats().CacheHits != 1 {
			t.Fatalf("repeat: %v, cache hits %d, want a hit", err, v.Stats().CacheHits)
		}
		jwks.set(func(s *jwksServer) { s.keys = []testKey{next} }) // the IdP rotates "old" out
		clock.Advance(61 * time.Minute)
		// Past the refresh: the cache entry has expired, the set is refetched...
		v.Verify(ctx, tok)
		waitRequests(t, jwks, v, 2)
		// ...and the token of the removed key is refused, cached or not.
		if _, err := v.Verify(ctx, tok); !errors.Is(err, ErrUnknownKey) {
			t.Fatalf("token of a removed key after the refresh: %v, want ErrUnknownKey", err)
		}
	})

	t.Run("seeded key", func(t *testing.T) {
		jwks := newJWKS(t, next) // the IdP revoked "old" after the deploy that seeded it
		clock := newClock()
		v := newVerifier(t, jwks, func(c *Config) {
			c.Now = clock.Now
			c.Issuers[0].JWKS = jwksDoc(t, old, next)
			c.RefreshMinInterval = time.Minute
			c.RefreshInterval = time.Hour
		})
		if _, err := v.Verify(ctx, sign(t, old, claimsAt(clock.Now()), nil)); err != nil {
			t.Fatalf("seeded key at cold start: %v", err)
		}
		if n := jwks.requests.Load(); n != 0 {
			t.Fatalf("cold start with a seed made %d requests, want 0", n)
		}
		clock.Advance(2 * time.Minute)
		v.Verify(ctx, sign(t, old, with(claimsAt(clock.Now()), "jti", "2"), nil))
		waitRequests(t, jwks, v, 1)
		if _, err := v.Verify(ctx, sign(t, old, with(claimsAt(clock.Now()), "jti", "3"), nil)); !errors.Is(err, ErrUnknownKey) {
			t.Fatalf("revoked seeded key two minutes after cold start: %v, want ErrUnknownKey", err)
		}
	})
}

// TestUnconfirmedKeysFailClosed: while the IdP cannot be reached, keys it
// may have revoked are not trusted forever: a seed for two
// RefreshMinIntervals after the cold start, a fetched set for two
// RefreshIntervals after its fetch; then verification is a fault (500),
// never an Allow. An instance that was merely idle that long refetches and
// goes on.
func TestUnconfirmedKeysFailClosed(t *testing.T) {
	old := testKey{kid: "old", priv: rsaKey(t, 0), alg: "RS256", use: "sig"}
	ctx := context.Background()
	cfg := func(clock *fakeClock, seed bool) func(*Config) {
		return func(c *Config) {
			c.Now = clock.Now
			c.RefreshMinInterval = time.Minute
			c.RefreshInterval = time.Hour
			c.CacheSize = -1
			if seed {
				c.Issuers[0].JWKS = jwksDoc(t, old)
			}
		}
	}
	down := func(s *jwksServer) { s.status = http.StatusServiceUnavailable }

	t.Run("seed during an outage", func(t *testing.T) {
		jwks := newJWKS(t, old)
		jwks.set(down)
		clock := newClock()
		v := newVerifier(t, jwks, cfg(clock, true))
		if _, err := v.Verify(ctx, sign(t, old, claimsAt(clock.Now()), nil)); err != nil {
			t.Fatalf("seeded key at cold start: %v", err)
		}
		clock.Advance(3 * time.Minute)
		_, err := v.Verify(ctx, sign(t, old, claimsAt(clock.Now()), nil))
		if !errors.Is(err, ErrKeySource) {
			t.Fatalf("seed never confirmed, 3 min after the cold start: %v, want ErrKeySource", err)
		}
	})

	t.Run("fetched set during a long outage", func(t *testing.T) {
		jwks := newJWKS(t, old)
		clock := newClock()
		v := newVerifier(t, jwks, cfg(clock, false))
		if _, err := v.Verify(ctx, sign(t, old, claimsAt(clock.Now()), nil)); err != nil {
			t.Fatal(err)
		}
		jwks.set(down)
		clock.Advance(90 * time.Minute) // past the refresh, within twice the interval
		if _, err := v.Verify(ctx, sign(t, old, claimsAt(clock.Now()), nil)); err != nil {
			t.Fatalf("fetched set 90 min into an outage: %v, want it still trusted", err)
		}
		waitRequests(t, jwks, v, 2)
		clock.Advance(31 * time.Minute)
		if _, err := v.Verify(ctx, sign(t, old, claimsAt(clock.Now()), nil)); !errors.Is(err, ErrKeySource) {
			t.Fatalf("fetched set 2 h 1 min old, IdP down: %v, want ErrKeySource", err)
		}
	})

	t.Run("idle instance", func(t *testing.T) {
		jwks := newJWKS(t, old)
		clock := newClock()
		v := newVerifier(t, jwks, cfg(clock, false))
		if _, err := v.Verify(ctx, sign(t, old, claimsAt(clock.Now()), nil)); err != nil {
			t.Fatal(err)
		}
		clock.Advance(3 * time.Hour) // no request at all meanwhile
		if _, err := v.Verify(ctx, sign(t, old, claimsAt(clock.Now()), nil)); err != nil {
			t.Fatalf("after 3 idle hours with the IdP up: %v, want a refetch and success", err)
		}
	})
}

// TestKeysNotForSignatures: a key whose use is not sig, or whose key_ops is
// present without verify (RFC 7517 sections 4.2, 4.3), verifies nothing
// (unknown_kid, with no refetch); it is logged once per key set, and a
// signing key of the same set still works.
func TestKeysNotForSignatures(t *testing.T) {
	good := testKey{kid: "good", priv: rsaKey(t, 0)}
	jwk := func(kid string, extra map[string]any) map[string]any {
		m := map[string]any{}
		for k, v := range jwkOf(testKey{kid: kid, priv: rsaKey(t, 1)}) {
			m[k] = v
		}
		for k, v := range extra {
			m[k] = v
		}
		return m
	}
	tests := []struct {
		name    string
		extra   map[string]any
		want    error // nil: verifies
		logPart string
	}{
		{"key_ops encrypt, wrapKey", map[string]any{"key_ops": []string{"encrypt", "wrapKey"}}, ErrUnknownKey, `key_ops [\"encrypt\" \"wrapKey\"] without verify`},
		{"key_ops empty", map[string]any{"key_ops": []string{}}, ErrUnknownKey, "key_ops [] without verify"},
		{"key_ops sign only", map[string]any{"key_ops": []string{"sign"}}, ErrUnknownKey, "without verify"},
		{"use enc", map[string]any{"use": "enc"}, ErrUnknownKey, `use \"enc\", not sig`},
		{"key_ops verify", map[string]any{"key_ops": []string{"verify"}}, nil, ""},
		{"key_ops sign, verify", map[string]any{"key_ops": []string{"sign", "verify"}}, nil, ""},
		{"use sig with key_ops verify", map[string]any{"use": "sig", "key_ops": []string{"verify"}}, nil, ""},
		{"key_ops null (absent)", map[string]any{"key_ops": nil}, nil, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			doc, _ := json.Marshal(map[string]any{"keys": []any{jwk("k", tt.extra), jwkOf(good)}})
			jwks := newJWKS(t)
			jwks.set(func(s *jwksServer) { s.raw = string(doc) })
			var logs bytes.Buffer
			v := newVerifier(t, jwks, func(c *Config) { c.Log = slog.New(slog.NewJSONHandler(&logs, nil)) })
			ctx := context.Background()
			for round := range 3 {
				_, err := v.Verify(ctx, sign(t, testKey{kid: "k", priv: rsaKey(t, 1)}, with(idClaims(), "jti", fmt.Sprint(round)), nil))
				if tt.want == nil && err != nil {
					t.Fatalf("Verify: %v, want success", err)
				}
				if tt.want != nil && (!errors.Is(err, tt.want) || Reason(err) != "unknown_kid") {
					t.Fatalf("Verify: %v (reason %s), want %v (unknown_kid)", err, Reason(err), tt.want)
				}
				if _, err := v.Verify(ctx, sign(t, good, with(idClaims(), "jti", fmt.Sprint(round)), nil)); err != nil {
					t.Fatalf("signing key beside it: %v", err)
				}
			}
			if n := jwks.requests.Load(); n != 1 {
				t.Errorf("%d JWKS requests, want 1 (a key left out is not an unknown kid to refetch)", n)
			}
			want := 0
			if tt.want != nil {
				want = 1
			}
			if n := strings.Count(logs.String(), "not for verifying signatures"); n != want {
				t.Fatalf("logged %d times, want %d:\n%s", n, want, logs.String())
			}
			if !strings.Contains(logs.String(), tt.logPart) {
				t.Fatalf("log lacks %q:\n%s", tt.logPart, logs.String())
			}
		})
	}
}
