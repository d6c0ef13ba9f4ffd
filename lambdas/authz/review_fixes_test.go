package authz

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/golang-jwt/jwt/v5"

	"github.com/secure-api-go/apigw-jwt/internal/testjwt"
	"github.com/secure-api-go/apigw-jwt/lambdas/jwtverify"
	"github.com/secure-api-go/apigw-jwt/lambdas/policy"
)

// TestSimpleResponsesAreSafeToCache: API Gateway caches a simple response
// per Authorization, route key and method; the answer must hold for every
// request sharing that key, so a greedy route or $default is allowed only
// when a rule covers all of it.
func TestSimpleResponsesAreSafeToCache(t *testing.T) {
	f := newFixture(t)
	rules, err := policy.ParseRules(`[{"method":"GET","resource":"/public","anyToken":true},{"method":"GET","resource":"/admin","groups":["admin"]},
		{"method":"GET","resource":"/orders","anyToken":true},{"method":"DELETE","resource":"/orders","groups":["admin"]},
		{"method":"GET","resource":"/all/{proxy+}","anyToken":true}]`)
	if err != nil {
		t.Fatal(err)
	}
	f.h.Rules, f.h.SimpleResponses = rules, true
	regular := f.token(t, "regular-client123", nil)
	tests := []struct {
		name, routeKey, verb, path string
		want                       bool
		reason                     string
	}{
		{"route per rule", "GET /public", "GET", "public", true, ""},
		{"ANY route, GET granted", "ANY /orders", "GET", "orders", true, ""},
		{"ANY route, DELETE not granted", "ANY /orders", "DELETE", "orders", false, "no_grant"},
		{"greedy route, granted path", "ANY /{proxy+}", "GET", "public", false, "route_not_covered"},
		{"greedy route, other path", "ANY /{proxy+}", "GET", "admin", false, "no_grant"},
		{"$default, granted path", "$default", "GET", "public", false, "route_not_covered"},
		{"greedy route a greedy rule covers", "GET /all/{proxy+}", "GET", "all/a/b", true, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var d Decision
			f.h.OnDecision = func(x Decision) { d = x }
			ev := events.APIGatewayV2CustomAuthorizerV2Request{Version: "2.0", Type: "REQUEST",
				RouteArn: base + tt.verb + "/" + tt.path, RouteKey: tt.routeKey,
				Headers: map[string]string{"authorization": "Bearer " + regular}}
			ev.RequestContext.HTTP.Method = tt.verb
			out, err := f.h.HandleHTTP(context.Background(), ev)
			if err != nil {
				t.Fatal(err)
			}
			if resp := out.(events.APIGatewayV2CustomAuthorizerSimpleResponse); resp.IsAuthorized != tt.want || d.Reason != tt.reason {
				t.Fatalf("isAuthorized %v reason %q, want %v %q", resp.IsAuthorized, d.Reason, tt.want, tt.reason)
			}
		})
	}
}

// TestContextNamesTheIssuer: with several issuers the context carries iss
// (sub is unique only within it), and aud only the audiences the token's
// issuer vouches for.
func TestContextNamesTheIssuer(t *testing.T) {
	a, err := testjwt.New("ka")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(a.Close)
	b, err := testjwt.New("kb")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(b.Close)
	v, err := jwtverify.New(jwtverify.Config{Issuers: []jwtverify.Issuer{
		{Issuer: "https://cognito.example.com", JWKSURI: a.JWKSURI(), Audiences: []string{"appA"}},
		{Issuer: "https://partner.example.com", JWKSURI: b.JWKSURI(), Audiences: []string{"appB"}},
	}})
	if err != nil {
		t.Fatal(err)
	}
	rules, _ := policy.ParseRules(`[{"method":"GET","resource":"/orders","anyToken":true}]`)
	h := &Handler{Verifier: v, Rules: rules}
	now := time.Now()
	sign := func(idp *testjwt.IdP, iss string, aud any) string {
		s, err := idp.Sign(jwt.MapClaims{"iss": iss, "sub": "same-sub", "aud": aud, "iat": now.Unix(), "exp": now.Add(time.Hour).Unix()})
		if err != nil {
			t.Fatal(err)
		}
		return "Bearer " + s
	}
	tests := []struct {
		name, auth, iss, aud string
	}{
		{"pool token", sign(a, "https://cognito.example.com", "appA"), "https://cognito.example.com", "appA"},
		{"partner token naming the pool's audience too", sign(b, "https://partner.example.com", []string{"appB", "appA"}), "https://partner.example.com", "appB"},
		{"aud entry with a space is not carried", sign(a, "https://cognito.example.com", []string{"appA", "x appA"}), "https://cognito.example.com", "appA"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp, err := h.HandleToken(context.Background(), event(tt.auth, base+"GET/orders"))
			if err != nil {
				t.Fatal(err)
			}
			if resp.Context["iss"] != tt.iss || resp.Context["aud"] != tt.aud || resp.Context["sub"] != "same-sub" {
				t.Fatalf("context %v, want iss %q aud %q", resp.Context, tt.iss, tt.aud)
			}
		})
	}
}

// fakeVerifier returns fixed claims.
type fakeVerifier struct{ c *jwtverify.Claims }

func (f fakeVerifier) Verify(context.Context, string) (*jwtverify.Claims, error) { return f.c, nil }

// TestAcceptedAudienceWithSpaceIsRefused: the context's aud is
// space-separated, so an accepted audience holding a space (reachable only
// through a verifier configured with one) is refused, as scp entries are.
func TestAcceptedAudienceWithSpaceIsRefused(t *testing.T) {
	rules, _ := policy.ParseRules(`[{"method":"GET","resource":"/orders","anyToken":true}]`)
	tests := []struct {
		name     string
		accepted []string
		want     error
	}{
		{"plain audience", []string{"appA"}, nil},
		{"audience with a space", []string{"appA", "x admin"}, ErrUnauthorized},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var d Decision
			h := &Handler{Verifier: fakeVerifier{&jwtverify.Claims{Issuer: "https://i", Subject: "s", Audience: tt.accepted, Accepted: tt.accepted}},
				Rules: rules, OnDecision: func(x Decision) { d = x }}
			_, err := h.HandleToken(context.Background(), event("Bearer x", base+"GET/orders"))
			if !errors.Is(err, tt.want) || (tt.want != nil && d.Reason != "bad_audience") {
				t.Fatalf("err %v reason %q, want %v", err, d.Reason, tt.want)
			}
		})
	}
}

// TestBigClaimNeverPushesAnotherOut: each configured claim has its own share
// of the response: a big (user-chosen) claim is itself left out and named
// in omittedClaims; the others stay.
func TestBigClaimNeverPushesAnotherOut(t *testing.T) {
	f := newFixture(t)
	f.h.ContextClaims = []string{"name", "custom:tenant"}
	tests := []struct {
		name                 string
		nameBytes            int
		wantName, wantTenant bool
		omitted              string
	}{
		{"both small", 100, true, true, ""},
		{"name over its share, the rest fits", 6000, true, true, ""},
		{"name crowding the response", 7950, false, true, "name"},
		{"name alone over the limit", 8400, false, true, "name"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tok := f.token(t, "regular-client123", func(c jwt.MapClaims) {
				c["name"] = strings.Repeat("<", tt.nameBytes/6) // '<' is 6 bytes in JSON
				c["custom:tenant"] = "tenant-42"
			})
			resp, err := f.h.HandleToken(context.Background(), event("Bearer "+tok, base+"GET/pets"))
			if err != nil {
				t.Fatal(err)
			}
			_, hasName := resp.Context["name"]
			if hasName != tt.wantName || (resp.Context["custom:tenant"] == "tenant-42") != tt.wantTenant || resp.Context["omittedClaims"] != nilIfEmpty(tt.omitted) {
				t.Fatalf("name %v tenant %q omitted %q", hasName, resp.Context["custom:tenant"], resp.Context["omittedClaims"])
			}
			if b, _ := json.Marshal(resp); len(b) > MaxResponseBytes {
				t.Fatalf("response of %d bytes", len(b))
			}
		})
	}
}

// TestNoNameSizePushesTheTenantOut: whatever the size of the first claim,
// the second, small one stays in the context.
func TestNoNameSizePushesTheTenantOut(t *testing.T) {
	f := newFixture(t)
	f.h.ContextClaims = []string{"name", "custom:tenant"}
	for n := 7000; n < 8400; n += 6 {
		tok := f.token(t, "regular-client123", func(c jwt.MapClaims) {
			c["name"] = strings.Repeat("<", n/6)
			c["custom:tenant"] = "tenant-42"
		})
		resp, err := f.h.HandleToken(context.Background(), event("Bearer "+tok, base+"GET/pets"))
		if err != nil {
			t.Fatal(err)
		}
		if resp.Context["custom:tenant"] != "tenant-42" {
			t.Fatalf("name of %d bytes pushed custom:tenant out (omittedClaims %q)", n, resp.Context["omittedClaims"])
		}
	}
}

func nilIfEmpty(s string) any {
	if s == "" {
		return nil
	}
	return s
}

// TestReservedContextClaims: a Handler built directly cannot let a claim
// overwrite a built-in key or shadow one API Gateway adds: it faults,
// never allows; FromEnv refuses the same names.
func TestReservedContextClaims(t *testing.T) {
	f := newFixture(t)
	for _, name := range []string{"username", "iss", "principalId", "integrationLatency", "claims"} {
		t.Run(name, func(t *testing.T) {
			var d Decision
			f.h.OnDecision = func(x Decision) { d = x }
			f.h.ContextClaims = []string{"email", name}
			tok := f.token(t, "regular-client123", func(c jwt.MapClaims) {
				if name != "iss" {
					c[name] = "admin"
				}
			})
			if _, err := f.h.HandleToken(context.Background(), event("Bearer "+tok, base+"GET/pets")); !errors.Is(err, ErrFault) || d.Reason != "reserved_context_claim" {
				t.Fatalf("err %v reason %q, want a fault reserved_context_claim", err, d.Reason)
			}
			env := map[string]string{"ISSUER": issuer, "JWKS_URI": f.idp.JWKSURI(), "AUDIENCE": clientID, "SCOPE_RULES": "[]", "CONTEXT_CLAIMS": "email," + name}
			if _, err := FromEnv(func(k string) string { return env[k] }, nil); err == nil || !strings.Contains(err.Error(), "CONTEXT_CLAIMS names \""+name+"\"") {
				t.Fatalf("FromEnv: %v", err)
			}
		})
	}
}

// TestFromEnvWarnsOfOversizedRules: rules whose policy for a broadly
// granted token could exceed API Gateway's 8 KB (on the longest stage name)
// start with a warning, not a refusal: such a request faults (500), and a
// short stage fits far more; simple responses carry no policy, no warning.
func TestFromEnvWarnsOfOversizedRules(t *testing.T) {
	f := newFixture(t)
	rule := func(i int) string {
		return `{"method":"GET","resource":"/customers/{customerId}/orders` + string(rune('a'+i%26)) + string(rune('a'+i/26)) + `","anyToken":true}`
	}
	tests := []struct {
		name   string
		n      int
		simple string
		warn   bool
	}{{"10 rules", 10, "", false}, {"60 rules", 60, "", true}, {"60 rules, simple responses", 60, "true", false}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var rs []string
			for i := 0; i < tt.n; i++ {
				rs = append(rs, rule(i))
			}
			env := map[string]string{"ISSUER": issuer, "JWKS_URI": f.idp.JWKSURI(), "AUDIENCE": clientID, "SCOPE_RULES": "[" + strings.Join(rs, ",") + "]", "SIMPLE_RESPONSES": tt.simple}
			var logs bytes.Buffer
			if _, err := FromEnv(func(k string) string { return env[k] }, slog.New(slog.NewJSONHandler(&logs, nil))); err != nil {
				t.Fatalf("FromEnv: %v", err)
			}
			if got := strings.Contains(logs.String(), `"reason":"policy_may_exceed_limit"`); got != tt.warn {
				t.Fatalf("warning logged = %v, want %v: %s", got, tt.warn, logs.String())
			}
		})
	}
}

// TestNoGrantIsLoggedAsDenied: a valid token the rules grant nothing gets a
// Deny policy, and the log says so.
func TestNoGrantIsLoggedAsDenied(t *testing.T) {
	f := newFixture(t)
	tests := []struct {
		name, scope, msg string
		aud              string
	}{
		{"granted", "admin-client123", `"msg":"allowed"`, clientID},
		{"granted nothing", "nothing", `"reason":"no_grant"`, "other"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var logs bytes.Buffer
			f.h.Log = slog.New(slog.NewJSONHandler(&logs, nil))
			f.h.Rules, _ = policy.ParseRules(`[{"method":"POST","resource":"/pets","scopes":["admin-client123"]}]`)
			resp, err := f.h.HandleToken(context.Background(), event("Bearer "+f.token(t, tt.scope, nil), base+"POST/pets"))
			if err != nil {
				t.Fatal(err)
			}
			line := logs.String()
			if !strings.Contains(line, tt.msg) || (resp.PolicyDocument.Statement[0].Effect == "Deny") != strings.Contains(line, `"msg":"denied"`) {
				t.Fatalf("effect %s, log %s", resp.PolicyDocument.Statement[0].Effect, line)
			}
		})
	}
}
