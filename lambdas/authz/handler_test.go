package authz

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/golang-jwt/jwt/v5"

	"github.com/secure-api-go/apigw-jwt/internal/iampolicy"
	"github.com/secure-api-go/apigw-jwt/internal/testjwt"
	"github.com/secure-api-go/apigw-jwt/lambdas/jwtverify"
	"github.com/secure-api-go/apigw-jwt/lambdas/policy"
)

const (
	issuer   = "https://issuer.example.com/"
	clientID = "client123"
	base     = "arn:aws:execute-api:eu-west-1:123456789012:abc123/prod/"
)

type fixture struct {
	idp *testjwt.IdP
	h   *Handler
	log *bytes.Buffer
}

func newFixture(t testing.TB) *fixture {
	t.Helper()
	idp, err := testjwt.New("k1")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(idp.Close)
	env := map[string]string{
		"ISSUER":      issuer,
		"JWKS_URI":    idp.JWKSURI(),
		"AUDIENCE":    clientID,
		"SCOPE_RULES": `[{"method":"GET","resource":"/pets","clients":["client123"]},{"method":"POST","resource":"/pets","scopes":["admin-client123"]}]`,
	}
	var buf bytes.Buffer
	h, err := FromEnv(func(k string) string { return env[k] }, slog.New(slog.NewJSONHandler(&buf, nil)))
	if err != nil {
		t.Fatal(err)
	}
	return &fixture{idp: idp, h: h, log: &buf}
}

func (f *fixture) token(t *testing.T, scope string, mod func(jwt.MapClaims)) string {
	t.Helper()
	c := jwt.MapClaims{
		"sub": "sub-1", "iss": issuer, "aud": clientID, "token_use": "id", "cognito:username": "regularuser",
		"scope": scope, "iat": time.Now().Unix(), "exp": time.Now().Add(time.Hour).Unix(), "jti": "jti-7",
	}
	if mod != nil {
		mod(c)
	}
	s, err := f.idp.Sign(c)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func event(auth, arn string) events.APIGatewayCustomAuthorizerRequest {
	return events.APIGatewayCustomAuthorizerRequest{Type: "TOKEN", AuthorizationToken: auth, MethodArn: arn}
}

func TestHandle(t *testing.T) {
	f := newFixture(t)
	regular := f.token(t, "regular-client123", nil)
	admin := f.token(t, "admin-client123 regular-client123", nil)
	tests := []struct {
		name        string
		auth, arn   string
		wantErr     error
		wantAllowed []string
	}{
		{"regular GET /pets", "Bearer " + regular, base + "GET/pets", nil, []string{base + "GET/pets", base + "GET/pets/"}},
		{"regular POST /pets: the same allow-list, without POST", "Bearer " + regular, base + "POST/pets", nil, []string{base + "GET/pets", base + "GET/pets/"}},
		{"admin POST /pets", "Bearer " + admin, base + "POST/pets", nil, []string{base + "GET/pets", base + "GET/pets/", base + "POST/pets", base + "POST/pets/"}},
		{"missing Bearer", regular, base + "GET/pets", ErrUnauthorized, nil},
		{"lowercase bearer (RFC 7235: the scheme is case-insensitive)", "bearer " + regular, base + "GET/pets", nil, []string{base + "GET/pets", base + "GET/pets/"}},
		{"BEARER", "BEARER " + regular, base + "GET/pets", nil, []string{base + "GET/pets", base + "GET/pets/"}},
		{"bEaReR", "bEaReR " + regular, base + "GET/pets", nil, []string{base + "GET/pets", base + "GET/pets/"}},
		{"two spaces after the scheme", "Bearer  " + regular, base + "GET/pets", ErrUnauthorized, nil},
		{"tab after the scheme", "Bearer\t" + regular, base + "GET/pets", ErrUnauthorized, nil},
		{"no space after the scheme", "Bearer" + regular, base + "GET/pets", ErrUnauthorized, nil},
		{"trailing space after the token", "Bearer " + regular + " ", base + "GET/pets", ErrUnauthorized, nil},
		{"leading space before the scheme", " Bearer " + regular, base + "GET/pets", ErrUnauthorized, nil},
		{"Cyrillic e in the scheme", "B\u0435arer " + regular, base + "GET/pets", ErrUnauthorized, nil},
		{"Basic", "Basic dXNlcjpwYXNz", base + "GET/pets", ErrUnauthorized, nil},
		{"empty", "", base + "GET/pets", ErrUnauthorized, nil},
		{"Bearer and nothing", "Bearer ", base + "GET/pets", ErrUnauthorized, nil},
		{"garbage", "Bearer abc.def.ghi", base + "GET/pets", ErrUnauthorized, nil},
		{"expired", "Bearer " + f.token(t, "", func(c jwt.MapClaims) { c["exp"] = time.Now().Add(-time.Hour).Unix() }), base + "GET/pets", ErrUnauthorized, nil},
		{"bad methodArn is a fault", "Bearer " + regular, "arn:aws:lambda:x", ErrFault, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp, err := f.h.HandleToken(context.Background(), event(tt.auth, tt.arn))
			if tt.wantErr != nil {
				if err != tt.wantErr {
					t.Fatalf("err = %v, want %v", err, tt.wantErr)
				}
				if tt.wantErr == ErrUnauthorized && err.Error() != "Unauthorized" {
					t.Fatalf("message %q, API Gateway needs exactly Unauthorized", err.Error())
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if resp.PrincipalID != "sub-1" {
				t.Fatalf("principalId = %q", resp.PrincipalID)
			}
			st := resp.PolicyDocument.Statement
			if len(st) != 1 || st[0].Effect != "Allow" || strings.Join(st[0].Resource, ",") != strings.Join(tt.wantAllowed, ",") {
				t.Fatalf("policy %+v, want one Allow of %q", st, tt.wantAllowed)
			}
			for k, v := range resp.Context {
				if _, ok := v.(string); !ok {
					t.Fatalf("context %s is %T, API Gateway needs strings", k, v)
				}
			}
			if resp.Context["sub"] != "sub-1" || resp.Context["username"] != "regularuser" || resp.Context["token_use"] != "id" || resp.Context["aud"] != clientID {
				t.Fatalf("context %v", resp.Context)
			}
		})
	}
	if strings.Contains(f.log.String(), regular) || strings.Contains(f.log.String(), strings.Split(regular, ".")[2]) {
		t.Fatal("a token was logged")
	}
	var line map[string]any
	first := strings.SplitN(f.log.String(), "\n", 2)[0]
	if err := json.Unmarshal([]byte(first), &line); err != nil || line["msg"] == nil {
		t.Fatalf("log line is not JSON: %q", first)
	}
	if !strings.Contains(f.log.String(), `"reason":"expired"`) || !strings.Contains(f.log.String(), `"jti":"jti-7"`) {
		t.Fatalf("logs lack reason codes or jti:\n%s", f.log.String())
	}
}

type faultyVerifier struct{}

func (faultyVerifier) Verify(context.Context, string) (*jwtverify.Claims, error) {
	return nil, errors.Join(jwtverify.ErrKeySource, errors.New("connection refused"))
}

func TestJWKSFaultIsNot401(t *testing.T) {
	h := &Handler{Verifier: faultyVerifier{}, Log: slog.New(slog.NewJSONHandler(&bytes.Buffer{}, nil))}
	resp, err := h.HandleToken(context.Background(), event("Bearer a.b.c", base+"GET/pets"))
	if err != ErrFault || err.Error() == "Unauthorized" {
		t.Fatalf("err = %v, want ErrFault (500)", err)
	}
	if len(resp.PolicyDocument.Statement) != 0 {
		t.Fatal("a fault returned a policy")
	}
}

func TestAccessTokenContext(t *testing.T) {
	c := &jwtverify.Claims{ClientID: "c1", TokenUse: "access", Username: "u"}
	c.Subject = "s"
	c.Scopes = []string{"a", "b"}
	ctx := Context(c)
	if ctx["client_id"] != "c1" || ctx["scope"] != "a b" || ctx["username"] != "u" || ctx["aud"] != nil {
		t.Fatalf("context %v", ctx)
	}
}

func TestConfigErrors(t *testing.T) {
	env := map[string]string{"ISSUER": issuer, "JWKS_URI": "https://issuer.example.com/jwks", "AUDIENCE": "a", "SCOPE_RULES": "nope"}
	if _, err := FromEnv(func(k string) string { return env[k] }, NewLogger()); !errors.Is(err, policy.ErrRules) {
		t.Fatalf("bad SCOPE_RULES: %v", err)
	}
	env["SCOPE_RULES"] = " \n"
	if _, err := FromEnv(func(k string) string { return env[k] }, NewLogger()); !errors.Is(err, policy.ErrRules) || !strings.Contains(err.Error(), "blank") {
		t.Fatalf("blank SCOPE_RULES: %v, want a configuration error", err)
	}
	env["SCOPE_RULES"] = ""
	env["JWKS_URI"] = "http://idp.example.com/jwks"
	if _, err := FromEnv(func(k string) string { return env[k] }, NewLogger()); !errors.Is(err, jwtverify.ErrConfig) {
		t.Fatalf("http JWKS: %v", err)
	}
}

func TestExampleEventParses(t *testing.T) {
	raw, err := os.ReadFile("testdata/token-event.json")
	if err != nil {
		t.Fatal(err)
	}
	var ev events.APIGatewayCustomAuthorizerRequest
	if err := json.Unmarshal(raw, &ev); err != nil {
		t.Fatal(err)
	}
	f := newFixture(t)
	if _, err := f.h.HandleToken(context.Background(), ev); err != ErrUnauthorized {
		t.Fatalf("example event with a dummy token: %v, want Unauthorized", err)
	}
}

// TestDefaultRulesWithoutScopeRules: without SCOPE_RULES (a standalone run;
// the stack always sets it) a valid token may GET anything and nothing else,
// the default passes the rule checks, and the cold start says so.
func TestDefaultRulesWithoutScopeRules(t *testing.T) {
	raw, err := json.Marshal(DefaultRules)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := policy.ParseRules(string(raw)); err != nil {
		t.Fatalf("DefaultRules do not pass ParseRules: %v", err)
	}
	f := newFixture(t)
	env := map[string]string{"ISSUER": issuer, "JWKS_URI": f.idp.JWKSURI(), "AUDIENCE": clientID}
	var logs bytes.Buffer
	h, err := FromEnv(func(k string) string { return env[k] }, slog.New(slog.NewJSONHandler(&logs, nil)))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(logs.String(), "SCOPE_RULES is unset") || !strings.Contains(logs.String(), "set SCOPE_RULES to your JSON allow-list") {
		t.Errorf("no cold-start warning: %s", logs.String())
	}
	resp, err := h.HandleToken(context.Background(), event("Bearer "+f.token(t, "", nil), base+"GET/pets"))
	if err != nil {
		t.Fatal(err)
	}
	b, _ := json.Marshal(resp.PolicyDocument)
	var doc iampolicy.Document
	json.Unmarshal(b, &doc)
	for arn, want := range map[string]bool{
		base + "GET/pets": true, base + "GET/pets/1": true, base + "GET/": true,
		base + "POST/pets": false, base + "DELETE/pets/1": false, base + "PUT/pets/1": false,
		"arn:aws:execute-api:eu-west-1:123456789012:abc123/test/GET/pets": false,
	} {
		if got := iampolicy.Evaluate(doc, "execute-api:Invoke", arn) == iampolicy.Allow; got != want {
			t.Errorf("%s: allowed %v, want %v (policy %s)", arn, got, want, b)
		}
	}
}

// TestExtraIssuerCannotBorrowThePoolsClient: with several issuers, a token
// counts only for the audiences its own issuer vouches for: an extra
// issuer's token that also names the pool's app client in aud gets no read
// the pool's users get (only its scopes count).
func TestExtraIssuerCannotBorrowThePoolsClient(t *testing.T) {
	pool, err := testjwt.New("pool-key")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(pool.Close)
	extra, err := testjwt.New("extra-key")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(extra.Close)
	const extraIssuer = "https://extra.example.com/"
	issuers, _ := json.Marshal([]map[string]any{
		{"issuer": issuer, "jwksUri": pool.JWKSURI(), "audiences": []string{clientID}},
		{"issuer": extraIssuer, "jwksUri": extra.JWKSURI(), "audiences": []string{"ext-api"}},
	})
	env := map[string]string{
		"ISSUERS":     string(issuers),
		"SCOPE_RULES": `[{"method":"GET","resource":"/pets","clients":["client123"],"scopes":["petstore/pets.read"]}]`,
	}
	h, err := FromEnv(func(k string) string { return env[k] }, slog.New(slog.NewJSONHandler(&bytes.Buffer{}, nil)))
	if err != nil {
		t.Fatal(err)
	}
	sign := func(idp *testjwt.IdP, iss string, aud any, scope string) string {
		s, err := idp.Sign(jwt.MapClaims{"sub": "s", "iss": iss, "aud": aud, "scope": scope,
			"iat": time.Now().Unix(), "exp": time.Now().Add(time.Hour).Unix()})
		if err != nil {
			t.Fatal(err)
		}
		return "Bearer " + s
	}
	tests := []struct {
		name, auth string
		want       bool
	}{
		{"pool token for the app client", sign(pool, issuer, clientID, ""), true},
		{"extra token naming the pool's client too", sign(extra, extraIssuer, []string{"ext-api", clientID}, ""), false},
		{"extra token with the read scope", sign(extra, extraIssuer, "ext-api", "petstore/pets.read"), true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp, err := h.HandleToken(context.Background(), event(tt.auth, base+"GET/pets"))
			if err != nil {
				t.Fatal(err)
			}
			b, _ := json.Marshal(resp.PolicyDocument)
			var doc iampolicy.Document
			json.Unmarshal(b, &doc)
			if got := iampolicy.Evaluate(doc, "execute-api:Invoke", base+"GET/pets") == iampolicy.Allow; got != tt.want {
				t.Fatalf("GET /pets allowed %v, want %v (policy %s)", got, tt.want, b)
			}
		})
	}
}
