package jwksseed

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"encoding/base64"
	"encoding/json"
	"log/slog"
	"maps"
	"net/http"
	"net/http/httptest"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/secure-api-go/apigw-jwt/internal/seedspec"
	"github.com/secure-api-go/apigw-jwt/internal/testjwt"
	"github.com/secure-api-go/apigw-jwt/lambdas/authz"
)

func newEC(t *testing.T, curve elliptic.Curve) *ecdsa.PrivateKey {
	t.Helper()
	k, err := ecdsa.GenerateKey(curve, rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

// ecJWK is the public JWK of k as an IdP publishes it, with alg when not "".
func ecJWK(t *testing.T, kid, alg string, k *ecdsa.PrivateKey) map[string]any {
	t.Helper()
	point, err := k.PublicKey.Bytes() // 0x04, X, Y
	if err != nil {
		t.Fatal(err)
	}
	size := (len(point) - 1) / 2
	b64 := base64.RawURLEncoding.EncodeToString
	m := map[string]any{"kty": "EC", "kid": kid, "use": "sig", "crv": k.Curve.Params().Name,
		"x": b64(point[1 : 1+size]), "y": b64(point[1+size:])}
	if alg != "" {
		m["alg"] = alg
	}
	return m
}

func with(m map[string]any, kv ...any) map[string]any {
	out := maps.Clone(m)
	for i := 0; i < len(kv); i += 2 {
		if kv[i+1] == nil {
			delete(out, kv[i].(string))
		} else {
			out[kv[i].(string)] = kv[i+1]
		}
	}
	return out
}

func jwksOf(keys ...map[string]any) []byte {
	b, _ := json.Marshal(map[string]any{"keys": keys})
	return b
}

// TestReduceKeepsTheKeysTheIssuerCanUse: RSA and EC signing keys are kept
// when they can verify an algorithm the issuer allows, with only their
// public fields; private material is never kept and is reported.
func TestReduceKeepsTheKeysTheIssuerCanUse(t *testing.T) {
	p256, p384, p521 := newEC(t, elliptic.P256()), newEC(t, elliptic.P384()), newEC(t, elliptic.P521())
	rk, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	rsaKey := map[string]any{}
	for k, v := range testjwt.JWK("rsa", &rk.PublicKey) {
		rsaKey[k] = v
	}
	ec256, ec384 := ecJWK(t, "ec256", "ES256", p256), ecJWK(t, "ec384", "ES384", p384)
	d256, err := p256.Bytes()
	if err != nil {
		t.Fatal(err)
	}
	// Off the curve: y of another point.
	offCurve := with(ec256, "kid", "off", "y", ecJWK(t, "", "", newEC(t, elliptic.P256()))["y"])
	b64 := base64.RawURLEncoding.EncodeToString
	for _, tc := range []struct {
		name        string
		keys        []map[string]any
		algs        []string
		want        []string // kids kept, in order
		wantPrivate []string
	}{
		{name: "default RS256: the RSA key, not the EC one", keys: []map[string]any{rsaKey, ec256}, want: []string{"rsa"}},
		{name: "ES256 only: the P-256 key", keys: []map[string]any{rsaKey, ec256, ec384}, algs: []string{"ES256"}, want: []string{"ec256"}},
		{name: "RS256, ES256 and ES384: all three", keys: []map[string]any{rsaKey, ec256, ec384}, algs: []string{"RS256", "ES256", "ES384"}, want: []string{"rsa", "ec256", "ec384"}},
		{name: "EC key without alg fits by its curve", keys: []map[string]any{with(ec384, "alg", nil)}, algs: []string{"ES384"}, want: []string{"ec384"}},
		{name: "EC key whose alg is not allowed", keys: []map[string]any{ec256}, algs: []string{"ES384", "RS256"}, want: []string{}},
		{name: "P-256 key that says ES384", keys: []map[string]any{with(ec256, "alg", "ES384")}, algs: []string{"ES256", "ES384"}, want: []string{}},
		{name: "P-521 is not verified by the authorizer", keys: []map[string]any{ecJWK(t, "ec521", "", p521)}, algs: []string{"ES256", "ES384"}, want: []string{}},
		{name: "RSA key with alg RS256 for a PS256 issuer", keys: []map[string]any{rsaKey}, algs: []string{"PS256"}, want: []string{}},
		{name: "RSA key without alg for a PS256 issuer", keys: []map[string]any{with(rsaKey, "alg", nil)}, algs: []string{"PS256"}, want: []string{"rsa"}},
		{name: "EC encryption key", keys: []map[string]any{with(ec256, "use", "enc")}, algs: []string{"ES256"}, want: []string{}},
		{name: "EC key without kid", keys: []map[string]any{with(ec256, "kid", nil)}, algs: []string{"ES256"}, want: []string{}},
		{name: "EC point off the curve", keys: []map[string]any{offCurve, ec256}, algs: []string{"ES256"}, want: []string{"ec256"}},
		{name: "EC coordinate of the wrong length", keys: []map[string]any{with(ec256, "x", b64(make([]byte, 31)))}, algs: []string{"ES256"}, want: []string{}},
		{name: "EC coordinate not base64url", keys: []map[string]any{with(ec256, "x", "not base64!")}, algs: []string{"ES256"}, want: []string{}},
		{name: "unknown curve", keys: []map[string]any{with(ec256, "crv", "secp256k1")}, algs: []string{"ES256"}, want: []string{}},
		{name: "EC private key: refused and reported", keys: []map[string]any{with(ec256, "d", b64(d256)), ec384}, algs: []string{"ES256", "ES384"},
			want: []string{"ec384"}, wantPrivate: []string{"ec256"}},
		{name: "RSA private key: refused and reported", keys: []map[string]any{with(rsaKey, "d", "AQAB"), ec256}, algs: []string{"ES256", "RS256"},
			want: []string{"ec256"}, wantPrivate: []string{"rsa"}},
		{name: "symmetric key without kid: reported by index", keys: []map[string]any{ec256, {"kty": "oct", "k": "c2VjcmV0"}}, algs: []string{"ES256"},
			want: []string{"ec256"}, wantPrivate: []string{"#1"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			keys, private, err := seedspec.Reduce(jwksOf(tc.keys...), seedspec.Algorithms(tc.algs))
			if err != nil {
				t.Fatal(err)
			}
			kids := []string{}
			for _, k := range keys {
				kids = append(kids, k.Kid)
			}
			if !slices.Equal(kids, tc.want) || !slices.Equal(private, tc.wantPrivate) {
				t.Fatalf("kept %v, private %v; want %v, %v", kids, private, tc.want, tc.wantPrivate)
			}
			b, _ := json.Marshal(keys)
			var got []map[string]any
			json.Unmarshal(b, &got)
			for _, k := range got {
				fields := slices.Sorted(maps.Keys(k))
				want := map[any][]string{"RSA": {"alg", "e", "kid", "kty", "n", "use"}, "EC": {"alg", "crv", "kid", "kty", "use", "x", "y"}}[k["kty"]]
				if k["alg"] == nil {
					want = slices.DeleteFunc(slices.Clone(want), func(f string) bool { return f == "alg" })
				}
				if !slices.Equal(fields, want) {
					t.Errorf("key %v has fields %v, want %v", k["kid"], fields, want)
				}
			}
			if strings.Contains(string(b), `"d"`) || strings.Contains(string(b), `"k"`) {
				t.Errorf("private material kept: %s", b)
			}
		})
	}
}

// TestHandleSeedsECKeys: the handler picks each issuer's algorithms (its
// own, else the Algorithms property, else RS256), seeds the keys that fit
// them and logs a JWKS that publishes private keys.
func TestHandleSeedsECKeys(t *testing.T) {
	p256 := newEC(t, elliptic.P256())
	ec := ecJWK(t, "ec-1", "ES256", p256)
	leaked := with(ecJWK(t, "ec-leaked", "ES256", newEC(t, elliptic.P256())), "d", "AAAA")
	body := jwksOf(ec, leaked)
	for _, tc := range []struct {
		name      string
		event     string
		algs      any              // the Algorithms property; nil: absent
		perIssuer map[int][]string // issuers' own algorithms
		wantKeys  []int            // keys seeded per issuer
	}{
		{name: "JWKS_JSON, no Algorithms: RS256, nothing to seed", event: "create.json", wantKeys: []int{0}},
		{name: "JWKS_JSON, Algorithms ES256", event: "create.json", algs: []any{"ES256"}, wantKeys: []int{1}},
		{name: "JWKS_JSON, Algorithms RS256 and ES256", event: "create.json", algs: []any{"RS256", "ES256"}, wantKeys: []int{1}},
		{name: "ISSUERS, Algorithms ES256 for both", event: "update.json", algs: []any{"ES256"}, wantKeys: []int{1, 1}},
		{name: "ISSUERS, the second issuer's own RS256 wins", event: "update.json", algs: []any{"ES256"}, perIssuer: map[int][]string{1: {"RS256"}}, wantKeys: []int{1, 0}},
		{name: "ISSUERS, the second issuer's own ES256 without Algorithms", event: "update.json", perIssuer: map[int][]string{1: {"ES256"}}, wantKeys: []int{0, 1}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ev := loadEvent(t, tc.event)
			if tc.algs != nil {
				ev.ResourceProperties[seedspec.PropAlgorithms] = tc.algs
			}
			for i, algs := range tc.perIssuer {
				ev.ResourceProperties[seedspec.PropIssuers].([]any)[i].(map[string]any)["algorithms"] = algs
			}
			var logs bytes.Buffer
			_, data, err := newHandler(&idp{handler: serve(200, body)}, &logs).Handle(context.Background(), ev)
			if err != nil {
				t.Fatal(err)
			}
			var seeds []json.RawMessage
			if v, ok := data[seedspec.AttrIssuers].(string); ok {
				var list []seedspec.Issuer
				if err := json.Unmarshal([]byte(v), &list); err != nil {
					t.Fatalf("ISSUERS %q: %v", v, err)
				}
				for i, is := range list {
					seeds = append(seeds, is.JWKS)
					if !slices.Equal(is.Algorithms, tc.perIssuer[i]) {
						t.Errorf("issuer %d algorithms %v, want its own %v copied through", i, is.Algorithms, tc.perIssuer[i])
					}
				}
			} else {
				seeds = append(seeds, json.RawMessage(data[seedspec.AttrJWKS].(string)))
			}
			total := 0
			for i, want := range tc.wantKeys {
				var doc struct{ Keys []map[string]any }
				if len(seeds[i]) > 0 {
					if err := json.Unmarshal(seeds[i], &doc); err != nil {
						t.Fatalf("issuer %d seed %s: %v", i, seeds[i], err)
					}
				}
				if len(doc.Keys) != want || want > 0 && (doc.Keys[0]["kid"] != "ec-1" || doc.Keys[0]["crv"] != "P-256" || doc.Keys[0]["d"] != nil) {
					t.Errorf("issuer %d seeded %v, want %d key(s): ec-1", i, doc.Keys, want)
				}
				total += want
			}
			if data[seedspec.AttrKeyCount] != strconv.Itoa(total) {
				t.Errorf("KeyCount %v, want %d", data[seedspec.AttrKeyCount], total)
			}
			if !strings.Contains(logs.String(), `"reason":"private_key_in_jwks"`) || !strings.Contains(logs.String(), "ec-leaked") || !strings.Contains(logs.String(), `"level":"ERROR"`) {
				t.Errorf("the leaked private key is not logged:\n%s", logs.String())
			}
			if strings.Contains(logs.String(), `"AAAA"`) {
				t.Errorf("the log repeats the private material:\n%s", logs.String())
			}
			if slices.Contains(tc.wantKeys, 0) && !strings.Contains(logs.String(), "no_usable_keys") {
				t.Errorf("an issuer without a seed is not logged:\n%s", logs.String())
			}
		})
	}
}

// TestSeedVerifiesECTokensWithoutAFetch is the seed's contract with the
// authorizer: what the seed writes into JWKS_JSON or ISSUERS is read by
// authz.FromEnv (the authorizer binary's cold start), and an ES256 or ES384
// token then verifies with no JWKS request.
func TestSeedVerifiesECTokensWithoutAFetch(t *testing.T) {
	p256, p384 := newEC(t, elliptic.P256()), newEC(t, elliptic.P384())
	body := jwksOf(ecJWK(t, "ec-256", "ES256", p256), ecJWK(t, "ec-384", "", p384))
	var fetches atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fetches.Add(1)
		w.Write(body)
	}))
	defer srv.Close()
	issA, issB := srv.URL+"/a", srv.URL+"/b"
	sign := func(iss string, m jwt.SigningMethod, kid string, key *ecdsa.PrivateKey) string {
		tok := jwt.NewWithClaims(m, jwt.MapClaims{"iss": iss, "aud": "api", "sub": "user-1", "exp": time.Now().Add(time.Hour).Unix(), "iat": time.Now().Unix()})
		tok.Header["kid"] = kid
		s, err := tok.SignedString(key)
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	issuer := func(iss string, algs ...string) map[string]any {
		m := map[string]any{"issuer": iss, "jwksUri": srv.URL + "/jwks", "audiences": []any{"api"}}
		if len(algs) > 0 {
			m["algorithms"] = algs
		}
		return m
	}
	for _, tc := range []struct {
		name    string
		props   map[string]any
		env     map[string]string // besides the seeded variable
		tokens  []string          // each verifies
		refused []string          // each is refused, still without a fetch
	}{
		{name: "JWKS_JSON, ES256",
			props:   map[string]any{seedspec.PropEnv: seedspec.EnvJWKS, seedspec.PropAlgorithms: []any{"ES256"}, seedspec.PropIssuers: []any{issuer(issA)}},
			env:     map[string]string{"ISSUER": issA, "JWKS_URI": srv.URL + "/jwks", "AUDIENCE": "api", "ALGORITHMS": "ES256"},
			tokens:  []string{sign(issA, jwt.SigningMethodES256, "ec-256", p256)},
			refused: []string{sign(issA, jwt.SigningMethodES384, "ec-384", p384)}},
		{name: "ISSUERS, ES256 and ES384 by issuer",
			props: map[string]any{seedspec.PropEnv: seedspec.EnvIssuers, seedspec.PropAlgorithms: []any{"ES256"},
				seedspec.PropIssuers: []any{issuer(issA), issuer(issB, "ES384")}},
			env:     map[string]string{"ALGORITHMS": "ES256"},
			tokens:  []string{sign(issA, jwt.SigningMethodES256, "ec-256", p256), sign(issB, jwt.SigningMethodES384, "ec-384", p384)},
			refused: []string{sign(issB, jwt.SigningMethodES256, "ec-256", p256)}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tc.props[seedspec.PropMaxBytes] = "3000"
			h := &Handler{Log: slog.New(slog.DiscardHandler)}
			ev := loadEvent(t, "create.json")
			ev.ResourceProperties = tc.props
			_, data, err := h.Handle(context.Background(), ev)
			if err != nil {
				t.Fatal(err)
			}
			env := maps.Clone(tc.env)
			if v, _ := data[seedspec.AttrJWKS].(string); v != "" {
				env[seedspec.EnvJWKS] = v
			}
			if v, _ := data[seedspec.AttrIssuers].(string); v != "" {
				env[seedspec.EnvIssuers] = v
			}
			var names []string
			for k := range env {
				names = append(names, k)
			}
			sort.Strings(names)
			a, err := authz.FromEnv(func(k string) string { return env[k] }, nil)
			if err != nil {
				t.Fatalf("the authorizer refuses the seeded environment (%v): %v", names, err)
			}
			before := fetches.Load()
			for i, tok := range tc.tokens {
				if _, err := a.Verifier.Verify(context.Background(), tok); err != nil {
					t.Errorf("token %d: %v", i, err)
				}
			}
			for i, tok := range tc.refused {
				if _, err := a.Verifier.Verify(context.Background(), tok); err == nil {
					t.Errorf("refused token %d verified", i)
				}
			}
			if n := fetches.Load() - before; n != 0 {
				t.Errorf("%d JWKS requests after the seed, want 0", n)
			}
		})
	}
}
