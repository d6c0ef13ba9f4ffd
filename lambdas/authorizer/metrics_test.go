package main

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/secure-api-go/apigw-jwt/internal/metrics"
	"github.com/secure-api-go/apigw-jwt/internal/testjwt"
	"github.com/secure-api-go/apigw-jwt/lambdas/authz"
	"github.com/secure-api-go/apigw-jwt/lambdas/internal/emf"
)

// TestMetrics runs one invocation per outcome, in order on one handler (as
// one Lambda instance would), and checks the invocation's EMF line: valid by
// the specification, the decision counted once with its reason, and the
// verifier's cache hits and JWKS fetches as deltas of that invocation.
func TestMetrics(t *testing.T) {
	idp, err := testjwt.New("k1")
	if err != nil {
		t.Fatal(err)
	}
	defer idp.Close()
	const issuer = "https://issuer.example.com/"
	env := map[string]string{"ISSUER": issuer, "JWKS_URI": idp.JWKSURI(), "AUDIENCE": "client123",
		"SCOPE_RULES": `[{"method":"GET","resource":"/pets","clients":["client123"]}]`}
	h, err := authz.FromEnv(func(k string) string { return env[k] }, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	h.OnDecision = newRecorder(&emf.Emitter{Namespace: "SecureApiJwt", Out: &out}, h).record
	sign := func(exp time.Time) string {
		s, err := idp.Sign(jwt.MapClaims{"sub": "s", "iss": issuer, "aud": "client123", "iat": time.Now().Unix(), "exp": exp.Unix()})
		if err != nil {
			t.Fatal(err)
		}
		return "Bearer " + s
	}
	example, err := os.ReadFile("../authz/testdata/token-event.json")
	if err != nil {
		t.Fatal(err)
	}
	var base map[string]string
	json.Unmarshal(example, &base)
	good := sign(time.Now().Add(time.Hour))
	tests := []struct {
		name, auth, arn  string
		decision, reason string
		hits, fetches    float64
	}{
		{"first valid token fetches the JWKS", good, "", metrics.Allow, "", 0, 1},
		{"same token is a cache hit", good, "", metrics.Allow, "", 1, 0},
		{"no bearer", "Basic abc", "", metrics.Deny, "no_bearer", 0, 0},
		{"expired", sign(time.Now().Add(-time.Hour)), "", metrics.Deny, "expired", 0, 0},
		{"example event: no exp, dummy signature", base["authorizationToken"], "", metrics.Deny, "claims", 0, 0},
		{"bad methodArn", good, "arn:aws:lambda:x", metrics.Fault, "bad_method_arn", 0, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out.Reset()
			ev := map[string]string{"type": "TOKEN", "authorizationToken": tt.auth, "methodArn": base["methodArn"]}
			if tt.arn != "" {
				ev["methodArn"] = tt.arn
			}
			raw, _ := json.Marshal(ev)
			h.Handle(context.Background(), raw)
			line := out.Bytes()
			if bytes.Count(line, []byte("\n")) != 1 {
				t.Fatalf("want one EMF line per invocation, got %q", line)
			}
			if err := emf.Validate(line); err != nil {
				t.Fatalf("%v: %s", err, line)
			}
			var m map[string]any
			json.Unmarshal(line, &m)
			for _, d := range []string{metrics.Allow, metrics.Deny, metrics.Fault} {
				want := 0.0
				if d == tt.decision {
					want = 1
				}
				if m[d] != want {
					t.Errorf("%s = %v, want %v", d, m[d], want)
				}
			}
			if tt.reason != "" && m[metrics.Reason] != tt.reason {
				t.Errorf("Reason = %v, want %q", m[metrics.Reason], tt.reason)
			}
			if tt.reason == "" && m[metrics.Reason] != nil {
				t.Errorf("Allow carries a Reason %v", m[metrics.Reason])
			}
			if m[metrics.CacheHits] != tt.hits || m[metrics.JWKSFetches] != tt.fetches {
				t.Errorf("cache hits %v, JWKS fetches %v; want %v, %v", m[metrics.CacheHits], m[metrics.JWKSFetches], tt.hits, tt.fetches)
			}
			if strings.Contains(string(line), strings.TrimPrefix(good, "Bearer ")) {
				t.Fatal("the metrics line holds the token")
			}
		})
	}
}
