package authz

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"log/slog"
	"math/big"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/secure-api-go/apigw-jwt/internal/testjwt"
)

// weakJWK is an RSA public JWK of the given size and exponent (no private
// half needed: the authorizer refuses it when it loads the JWKS).
func weakJWK(kid string, bits int, e int64) map[string]string {
	n := new(big.Int).Lsh(big.NewInt(1), uint(bits-1))
	n.Add(n, big.NewInt(99))
	return map[string]string{"kty": "RSA", "alg": "RS256", "use": "sig", "kid": kid,
		"n": base64.RawURLEncoding.EncodeToString(n.Bytes()),
		"e": base64.RawURLEncoding.EncodeToString(big.NewInt(e).Bytes())}
}

// strictFixture is a handler whose JWKS holds the IdP's good key and two
// weak ones, logging into a buffer.
func strictFixture(t *testing.T) (*fixture, *bytes.Buffer) {
	t.Helper()
	idp, err := testjwt.New("k1")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(idp.Close)
	body, _ := json.Marshal(map[string]any{"keys": []map[string]string{
		testjwt.JWK("k1", &idp.Key.PublicKey), weakJWK("small", 1024, 65537), weakJWK("exp3", 2048, 3),
	}})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.Write(body)
	}))
	t.Cleanup(srv.Close)
	env := map[string]string{"ISSUER": issuer, "JWKS_URI": srv.URL + "/jwks", "AUDIENCE": clientID}
	var buf bytes.Buffer
	h, err := FromEnv(func(k string) string { return env[k] }, slog.New(slog.NewJSONHandler(&buf, nil)))
	if err != nil {
		t.Fatal(err)
	}
	return &fixture{idp: idp, h: h, log: &buf}, &buf
}

// signWith signs claims with the IdP's key under the header changes of mod.
func signWith(t *testing.T, f *fixture, claims jwt.MapClaims, mod func(*jwt.Token)) string {
	t.Helper()
	tok := jwt.NewWithClaims(jwt.SigningMethodRS256, claims)
	tok.Header["kid"] = "k1"
	if mod != nil {
		mod(tok)
	}
	s, err := tok.SignedString(f.idp.Key)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// TestStrictTokens: each point of "strict tokens" is exactly Unauthorized
// from the handler, with its own reason code in the one denial log line.
func TestStrictTokens(t *testing.T) {
	f, logs := strictFixture(t)
	claims := func(kv ...any) jwt.MapClaims {
		c := jwt.MapClaims{"sub": "sub-1", "iss": issuer, "aud": clientID, "scope": "regular-client123",
			"iat": time.Now().Unix(), "exp": time.Now().Add(time.Hour).Unix()}
		for i := 0; i+1 < len(kv); i += 2 {
			c[kv[i].(string)] = kv[i+1]
		}
		return c
	}
	kid := func(k string) func(*jwt.Token) { return func(t *jwt.Token) { t.Header["kid"] = k } }
	future := time.Now().Add(time.Hour).Unix()
	tests := []struct {
		name, token, reason string
	}{
		{"crit header naming an extension", signWith(t, f, claims(), func(t *jwt.Token) { t.Header["crit"] = []string{"b64"}; t.Header["b64"] = false }), "crit"},
		{"crit header naming a registered claim", signWith(t, f, claims(), func(t *jwt.Token) { t.Header["crit"] = []string{"exp"} }), "crit"},
		{"exp a string of digits", signWith(t, f, claims("exp", strings.Repeat("9", 10)), nil), "claim_type"},
		{"nbf a string", signWith(t, f, claims("nbf", "0"), nil), "claim_type"},
		{"iat a string", signWith(t, f, claims("iat", time.Now().Format(time.RFC3339)), nil), "claim_type"},
		{"exp an object", signWith(t, f, claims("exp", map[string]int64{"n": future}), nil), "claim_type"},
		{"token_use refresh with TOKEN_USE unset", signWith(t, f, claims("token_use", "refresh"), nil), "token_use"},
		{"RSA key of 1024 bits", signWith(t, f, claims(), kid("small")), "weak_key"},
		{"RSA exponent 3", signWith(t, f, claims(), kid("exp3")), "weak_key"},
		{"scp array element holding a space", signWith(t, f, claims("scp", []string{"pets.read admin-client123"}), nil), "scope"},
		{"scope array element holding a newline", signWith(t, f, claims("scope", []string{"regular-client123\nadmin-client123"}), nil), "scope"},
	}
	// The valid token of the same shape is allowed: the rows fail for their point alone.
	if _, err := f.h.HandleToken(context.Background(), event("Bearer "+signWith(t, f, claims("token_use", "id", "scp", []string{"a"}), nil), base+"GET/pets")); err != nil {
		t.Fatalf("baseline token: %v", err)
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			logs.Reset()
			_, err := f.h.HandleToken(context.Background(), event("Bearer "+tt.token, base+"GET/pets"))
			if err != ErrUnauthorized || err.Error() != "Unauthorized" {
				t.Fatalf("err = %v, want exactly Unauthorized", err)
			}
			var line struct{ Msg, Reason string }
			last := lastLine(logs.String())
			if err := json.Unmarshal([]byte(last), &line); err != nil {
				t.Fatalf("log %q: %v", last, err)
			}
			if line.Msg != "denied" || line.Reason != tt.reason {
				t.Fatalf("log %s, want denied with reason %q", last, tt.reason)
			}
		})
	}
}

// TestDenialLogsAreBounded: kid, iss, aud and other attacker-chosen values
// are cut to 256 bytes each, so one denial writes at most ~2 KB.
func TestDenialLogsAreBounded(t *testing.T) {
	f, logs := strictFixture(t)
	huge := strings.Repeat("A", 6000)
	claims := jwt.MapClaims{"sub": "sub-1", "iss": issuer, "aud": clientID, "iat": time.Now().Unix(), "exp": time.Now().Add(time.Hour).Unix()}
	with := func(k string, v any) jwt.MapClaims {
		c := jwt.MapClaims{}
		for k, v := range claims {
			c[k] = v
		}
		c[k] = v
		return c
	}
	tests := []struct {
		name, token, reason string
	}{
		{"huge kid", signWith(t, f, claims, func(t *jwt.Token) { t.Header["kid"] = huge }), "unknown_kid"},
		{"huge iss", signWith(t, f, with("iss", huge), nil), "issuer"},
		{"huge aud", signWith(t, f, with("aud", []string{huge, huge[:3000]}), nil), "audience"},
		{"huge crit", signWith(t, f, claims, func(t *jwt.Token) { t.Header["crit"] = []string{huge} }), "crit"},
		{"huge token_use", signWith(t, f, with("token_use", huge), nil), "token_use"},
		{"huge scp element", signWith(t, f, with("scp", []string{huge + " x"}), nil), "scope"},
		{"huge exp string", signWith(t, f, with("exp", huge), nil), "claim_type"},
		{"huge alg", signWith(t, f, claims, func(t *jwt.Token) { t.Header["alg"] = huge }), "algorithm"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if len(tt.token) > 16<<10 {
				t.Fatalf("test token of %d bytes is over the verifier's size limit", len(tt.token))
			}
			logs.Reset()
			if _, err := f.h.HandleToken(context.Background(), event("Bearer "+tt.token, base+"GET/pets")); err != ErrUnauthorized {
				t.Fatalf("err = %v, want Unauthorized", err)
			}
			if !strings.Contains(logs.String(), `"reason":"`+tt.reason+`"`) {
				t.Fatalf("log lacks reason %s: %.300s", tt.reason, logs.String())
			}
			if n := logs.Len(); n > 2048 {
				t.Fatalf("one denial wrote %d bytes of log, want at most 2 KB: %.400s...", n, logs.String())
			}
		})
	}
}

func lastLine(s string) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	return lines[len(lines)-1]
}
