package authz

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"os"
	"strings"
	"testing"

	"github.com/aws/aws-lambda-go/events"
	"github.com/golang-jwt/jwt/v5"

	"github.com/secure-api-go/apigw-jwt/internal/metrics"
	"github.com/secure-api-go/apigw-jwt/lambdas/internal/emf"
)

// TestMetrics runs one invocation per outcome, in order on one handler (as
// one Lambda instance would), and checks the invocation's EMF line: valid by
// the specification, the decision counted once with its reason, and the
// verifier's cache hits and JWKS fetches as deltas of that invocation.
func TestMetrics(t *testing.T) {
	f := newFixture(t)
	var out bytes.Buffer
	f.h.Metrics = &emf.Emitter{Namespace: "SecureApiJwt", Out: &out}
	raw, err := os.ReadFile("testdata/event.json")
	if err != nil {
		t.Fatal(err)
	}
	var base events.APIGatewayCustomAuthorizerRequest
	if err := json.Unmarshal(raw, &base); err != nil {
		t.Fatal(err)
	}
	good := "Bearer " + f.token(t, "regular-client123", nil)
	expired := "Bearer " + f.token(t, "", func(c jwt.MapClaims) { c["exp"] = 1 })
	tests := []struct {
		name, auth, arn  string
		decision, reason string
		hits, fetches    float64
	}{
		{"first valid token fetches the JWKS", good, "", "Allow", "", 0, 1},
		{"same token is a cache hit", good, "", "Allow", "", 1, 0},
		{"no bearer", "Basic abc", "", "Deny", "no_bearer", 0, 0},
		{"expired", expired, "", "Deny", "expired", 0, 0},
		{"example event: no exp, dummy signature", base.AuthorizationToken, "", "Deny", "claims", 0, 0},
		{"bad methodArn", good, "arn:aws:lambda:x", "Fault", "bad_method_arn", 0, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out.Reset()
			ev := base
			ev.AuthorizationToken = tt.auth
			if tt.arn != "" {
				ev.MethodArn = tt.arn
			}
			f.h.Handle(context.Background(), ev)
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

func TestNoMetricsByDefault(t *testing.T) {
	var out bytes.Buffer
	h := &Handler{Verifier: faultyVerifier{}, Log: slog.New(slog.NewJSONHandler(&out, nil))}
	h.Handle(context.Background(), event("Bearer a.b.c", base+"GET/pets"))
	if strings.Contains(out.String(), "_aws") {
		t.Fatalf("a Handler without Metrics wrote EMF: %s", out.String())
	}
}
