package lambdahost

import (
	"encoding/json"
	"errors"
	"os"
	"reflect"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/secure-api-go/apigw-jwt/internal/gobuild"
	"github.com/secure-api-go/apigw-jwt/internal/testjwt"
)

const (
	authIssuer   = "https://issuer.example.com/"
	authClientID = "client123"
)

// recordedEvent is a recorded authorizer event of lambdas/authz/testdata
// with its Authorization header (and, for payload 2.0, identity source) set
// to auth, or removed when auth is "".
func recordedEvent(t *testing.T, file, auth string) []byte {
	t.Helper()
	raw, err := os.ReadFile("../../lambdas/authz/testdata/" + file)
	if err != nil {
		t.Fatal(err)
	}
	var ev map[string]any
	if err := json.Unmarshal(raw, &ev); err != nil {
		t.Fatal(err)
	}
	for _, key := range []string{"headers", "multiValueHeaders"} {
		h, _ := ev[key].(map[string]any)
		for k := range h {
			if !strings.EqualFold(k, "authorization") {
				continue
			}
			switch {
			case auth == "":
				delete(h, k)
			case key == "headers":
				h[k] = auth
			default:
				h[k] = []string{auth}
			}
		}
	}
	if ev["version"] == "2.0" {
		if auth == "" {
			// API Gateway does not call the authorizer without its identity
			// source (401 at once); the binary must refuse the event all the same.
			delete(ev, "identitySource")
		} else {
			ev["identitySource"] = []string{auth}
		}
	}
	out, _ := json.Marshal(ev)
	return out
}

// TestAuthorizerBinaryAnswersRequestAndHTTPEvents: the real authorizer
// bootstrap, run under this host with its environment pointing at a test
// issuer, answers recorded REST REQUEST and HTTP API payload 2.0 events: the
// allow-list IAM policy (or a simple response) for a valid token, and the
// error "Unauthorized" exactly for a bad signature, an expired token and no
// token.
func TestAuthorizerBinaryAnswersRequestAndHTTPEvents(t *testing.T) {
	idp, err := testjwt.New("k1")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(idp.Close)
	other, err := testjwt.New("k1") // same kid, another key: a forged signature
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(other.Close)

	root, err := gobuild.ModuleRoot(".")
	if err != nil {
		t.Fatal(err)
	}
	bin, err := gobuild.Build(gobuild.Options{Dir: root, Package: "./lambdas/authorizer", OutDir: t.TempDir(), GOARCH: runtime.GOARCH})
	if err != nil {
		t.Fatal(err)
	}
	env := map[string]string{
		"ISSUER": authIssuer, "JWKS_URI": idp.JWKSURI(), "AUDIENCE": authClientID, "CONTEXT_CLAIMS": "email",
		"SCOPE_RULES": `[{"method":"GET","resource":"/pets","scopes":["pets.read"]},{"method":"POST","resource":"/pets","scopes":["pets.write"]}]`,
	}
	simple := map[string]string{"SIMPLE_RESPONSES": "true"}
	for k, v := range env {
		simple[k] = v
	}
	h := &Host{}
	if err := h.Start([]Function{
		{Name: "authorizer", Binary: bin, Env: env, Timeout: 10 * time.Second},
		{Name: "simple", Binary: bin, Env: simple, Timeout: 10 * time.Second},
	}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(h.Stop)

	sign := func(p *testjwt.IdP, exp time.Time) string {
		tok, err := p.Sign(jwt.MapClaims{
			"iss": authIssuer, "sub": "user-1", "aud": authClientID, "token_use": "id", "cognito:username": "alice",
			"email": "alice@example.com", "scope": "pets.read", "iat": time.Now().Add(-2 * time.Hour).Unix(), "exp": exp.Unix(),
		})
		if err != nil {
			t.Fatal(err)
		}
		return "Bearer " + tok
	}
	valid := sign(idp, time.Now().Add(time.Hour))
	ctxWant := map[string]any{
		"iss": authIssuer, "sub": "user-1", "scope": "pets.read", "aud": authClientID, "token_use": "id", "username": "alice", "email": "alice@example.com",
	}
	allow := func(stage string) map[string]any {
		return map[string]any{
			"principalId": "user-1",
			"policyDocument": map[string]any{"Version": "2012-10-17", "Statement": []any{map[string]any{
				// The policy package lists /pets and /pets/, which API Gateway routes alike.
				"Action": []any{"execute-api:Invoke"}, "Effect": "Allow",
				"Resource": []any{"arn:aws:execute-api:eu-west-1:123456789012:abc123/" + stage + "/GET/pets", "arn:aws:execute-api:eu-west-1:123456789012:abc123/" + stage + "/GET/pets/"},
			}}},
			"context": ctxWant,
		}
	}
	for _, tc := range []struct {
		name, fn, file, auth string
		want                 map[string]any // nil: the error Unauthorized
	}{
		{"REQUEST valid", "authorizer", "request-event.json", valid, allow("prod")},
		{"REQUEST bad signature", "authorizer", "request-event.json", sign(other, time.Now().Add(time.Hour)), nil},
		{"REQUEST expired", "authorizer", "request-event.json", sign(idp, time.Now().Add(-time.Hour)), nil},
		{"REQUEST not a JWT", "authorizer", "request-event.json", "Bearer not.a.jwt", nil},
		{"REQUEST no token", "authorizer", "request-event.json", "", nil},
		{"HTTP 2.0 valid", "authorizer", "http-event.json", valid, allow("$default")},
		{"HTTP 2.0 bad signature", "authorizer", "http-event.json", sign(other, time.Now().Add(time.Hour)), nil},
		{"HTTP 2.0 expired", "authorizer", "http-event.json", sign(idp, time.Now().Add(-time.Hour)), nil},
		{"HTTP 2.0 no token", "authorizer", "http-event.json", "", nil},
		{"HTTP 2.0 simple valid", "simple", "http-event.json", valid, map[string]any{"isAuthorized": true, "context": ctxWant}},
		{"HTTP 2.0 simple bad signature", "simple", "http-event.json", sign(other, time.Now().Add(time.Hour)), nil},
		{"HTTP 2.0 simple no token", "simple", "http-event.json", "", nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			out, err := h.Invoke(t.Context(), tc.fn, recordedEvent(t, tc.file, tc.auth))
			if tc.want == nil {
				if !errors.Is(err, ErrFunction) || ErrorMessage(out) != "Unauthorized" {
					t.Fatalf("got %v %s, want the error Unauthorized exactly", err, out)
				}
				return
			}
			if err != nil {
				t.Fatalf("%v %s", err, out)
			}
			var got map[string]any
			if err := json.Unmarshal(out, &got); err != nil {
				t.Fatalf("response %s: %v", out, err)
			}
			if !reflect.DeepEqual(got, tc.want) {
				want, _ := json.Marshal(tc.want)
				t.Fatalf("response\n %s\nwant\n %s", out, want)
			}
		})
	}

	// A token that grants nothing on the route asked: a Deny (403), and for
	// a simple response isAuthorized false; not an error.
	writer := func() string {
		tok, err := idp.Sign(jwt.MapClaims{"iss": authIssuer, "sub": "svc", "aud": authClientID, "scope": "other",
			"iat": time.Now().Unix(), "exp": time.Now().Add(time.Hour).Unix()})
		if err != nil {
			t.Fatal(err)
		}
		return "Bearer " + tok
	}()
	out, err := h.Invoke(t.Context(), "simple", recordedEvent(t, "http-event.json", writer))
	if err != nil || !strings.Contains(string(out), `"isAuthorized":false`) {
		t.Fatalf("simple response for a token without the scope: %v %s", err, out)
	}
	out, err = h.Invoke(t.Context(), "authorizer", recordedEvent(t, "request-event.json", writer))
	if err != nil || !strings.Contains(string(out), `"Effect":"Deny"`) || strings.Contains(string(out), `"Allow"`) {
		t.Fatalf("policy for a token without the scope: %v %s", err, out)
	}
}
