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
)

// envFixture is a handler read from the environment the fixture's IdP
// serves keys for, with extra variables.
func envFixture(t *testing.T, extra map[string]string) *fixture {
	t.Helper()
	idp, err := testjwt.New("k1")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(idp.Close)
	env := map[string]string{
		"ISSUER": issuer, "JWKS_URI": idp.JWKSURI(), "AUDIENCE": clientID,
		"SCOPE_RULES": `[{"method":"GET","resource":"/pets","clients":["client123"]},{"method":"POST","resource":"/pets","scopes":["admin-client123"],"groups":["admin"]}]`,
	}
	for k, v := range extra {
		env[k] = v
	}
	var buf bytes.Buffer
	h, err := FromEnv(func(k string) string { return env[k] }, slog.New(slog.NewJSONHandler(&buf, nil)))
	if err != nil {
		t.Fatal(err)
	}
	return &fixture{idp: idp, h: h, log: &buf}
}

// loadEvent reads a recorded event from testdata and sets its
// Authorization header (REQUEST and HTTP events) or token (TOKEN events)
// and its method or route ARN's verb.
func loadEvent(t *testing.T, file, auth, verb string) json.RawMessage {
	t.Helper()
	raw, err := os.ReadFile("testdata/" + file)
	if err != nil {
		t.Fatal(err)
	}
	var ev map[string]any
	if err := json.Unmarshal(raw, &ev); err != nil {
		t.Fatal(err)
	}
	setVerb := func(key string) {
		arn := ev[key].(string)
		ev[key] = strings.Replace(arn, "/GET/", "/"+verb+"/", 1)
	}
	switch ev["type"] {
	case "TOKEN":
		ev["authorizationToken"] = auth
		setVerb("methodArn")
	case "REQUEST":
		headers := ev["headers"].(map[string]any)
		for k := range headers {
			if strings.EqualFold(k, "authorization") {
				if auth == "" {
					delete(headers, k)
				} else {
					headers[k] = auth
				}
			}
		}
		if multi, ok := ev["multiValueHeaders"].(map[string]any); ok {
			if auth == "" {
				delete(multi, "Authorization")
			} else {
				multi["Authorization"] = []string{auth}
			}
		}
		if ev["version"] == "2.0" {
			ev["identitySource"] = []string{auth}
			setVerb("routeArn")
			ev["routeKey"] = strings.Replace(ev["routeKey"].(string), "GET ", verb+" ", 1)
		} else {
			setVerb("methodArn")
		}
	}
	out, _ := json.Marshal(ev)
	return out
}

// policyOf returns the IAM policy of a REST or HTTP IAM-policy response.
func policyOf(t *testing.T, resp any) iampolicy.Document {
	t.Helper()
	var doc iampolicy.Document
	b, _ := json.Marshal(resp)
	var m struct {
		PolicyDocument json.RawMessage `json:"policyDocument"`
	}
	if err := json.Unmarshal(b, &m); err != nil || json.Unmarshal(m.PolicyDocument, &doc) != nil {
		t.Fatalf("no policy in %s", b)
	}
	return doc
}

// TestEventKinds: the same binary answers a REST TOKEN event, a REST
// REQUEST event, an HTTP API payload 1.0 and a 2.0 event (recorded shapes,
// as in aws-lambda-go's events/testdata), with the same allow-list.
func TestEventKinds(t *testing.T) {
	f := envFixture(t, nil)
	regular := "Bearer " + f.token(t, "regular-client123", nil)
	admin := "Bearer " + f.token(t, "", func(c jwt.MapClaims) { c["cognito:groups"] = []string{"admin"} })
	const rest, http = "arn:aws:execute-api:eu-west-1:123456789012:abc123/prod/", "arn:aws:execute-api:eu-west-1:123456789012:abc123/$default/"
	tests := []struct {
		file, stage string
		wantType    string
	}{
		{"token-event.json", rest, "events.APIGatewayCustomAuthorizerResponse"},
		{"request-event.json", rest, "events.APIGatewayCustomAuthorizerResponse"},
		{"http-v1-event.json", http, "events.APIGatewayCustomAuthorizerResponse"},
		{"http-event.json", http, "events.APIGatewayV2CustomAuthorizerIAMPolicyResponse"},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			for _, c := range []struct {
				name, auth, verb string
				postAllowed      bool
			}{
				{"regular user asking GET", regular, "GET", false},
				{"regular user asking POST", regular, "POST", false},
				{"admin group asking POST", admin, "POST", true},
				{"lower-case scheme", strings.Replace(admin, "Bearer", "bearer", 1), "GET", true},
			} {
				resp, err := f.h.Handle(context.Background(), loadEvent(t, tt.file, c.auth, c.verb))
				if err != nil {
					t.Fatalf("%s: %v", c.name, err)
				}
				if got := typeName(resp); got != tt.wantType {
					t.Fatalf("%s: response %s, want %s", c.name, got, tt.wantType)
				}
				doc := policyOf(t, resp)
				for arn, want := range map[string]bool{tt.stage + "GET/pets": true, tt.stage + "POST/pets": c.postAllowed, tt.stage + "DELETE/pets": false} {
					if got := iampolicy.Evaluate(doc, "execute-api:Invoke", arn) == iampolicy.Allow; got != want {
						t.Errorf("%s: %s allowed %v, want %v", c.name, arn, got, want)
					}
				}
			}
			for _, bad := range []string{"", "Basic dXNlcg==", "Bearer a.b.c", "Bearer  " + strings.TrimPrefix(regular, "Bearer ")} {
				if _, err := f.h.Handle(context.Background(), loadEvent(t, tt.file, bad, "GET")); err != ErrUnauthorized {
					t.Errorf("Authorization %.20q: %v, want Unauthorized", bad, err)
				}
			}
		})
	}
}

func typeName(v any) string {
	switch v.(type) {
	case events.APIGatewayCustomAuthorizerResponse:
		return "events.APIGatewayCustomAuthorizerResponse"
	case events.APIGatewayV2CustomAuthorizerIAMPolicyResponse:
		return "events.APIGatewayV2CustomAuthorizerIAMPolicyResponse"
	case events.APIGatewayV2CustomAuthorizerSimpleResponse:
		return "events.APIGatewayV2CustomAuthorizerSimpleResponse"
	}
	return "unknown"
}

// TestAuthorizationHeaderIsUnambiguous: REQUEST events carry headers as
// sent; the header is found in any case, but two of them are refused.
func TestAuthorizationHeaderIsUnambiguous(t *testing.T) {
	tests := []struct {
		name    string
		headers map[string]string
		multi   map[string][]string
		want    string
		ok      bool
	}{
		{"canonical", map[string]string{"Authorization": "Bearer x"}, map[string][]string{"Authorization": {"Bearer x"}}, "Bearer x", true},
		{"lower case, no multi-value map", map[string]string{"authorization": "Bearer x"}, nil, "Bearer x", true},
		{"absent", map[string]string{"Accept": "*/*"}, nil, "", false},
		{"two spellings", map[string]string{"Authorization": "Bearer x", "authorization": "Bearer y"}, nil, "", false},
		{"two values", map[string]string{"Authorization": "Bearer y"}, map[string][]string{"Authorization": {"Bearer x", "Bearer y"}}, "", false},
		{"multi-value disagrees", map[string]string{"Authorization": "Bearer x"}, map[string][]string{"Authorization": {"Bearer y"}}, "", false},
		{"multi-value only", nil, map[string][]string{"Authorization": {"Bearer x"}}, "", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, ok := authorizationHeader(tt.headers, tt.multi)
			if got != tt.want || ok != tt.ok {
				t.Fatalf("authorizationHeader = %q, %v; want %q, %v", got, ok, tt.want, tt.ok)
			}
		})
	}
}

// TestSimpleResponses: with SIMPLE_RESPONSES=true an HTTP API event gets
// {"isAuthorized","context"} for the route asked; a bad token is still 401.
func TestSimpleResponses(t *testing.T) {
	f := envFixture(t, map[string]string{"SIMPLE_RESPONSES": "true"})
	regular := "Bearer " + f.token(t, "regular-client123", nil)
	admin := "Bearer " + f.token(t, "admin-client123", nil)
	tests := []struct {
		name, auth, verb string
		want             bool
	}{
		{"regular GET", regular, "GET", true},
		{"regular POST: valid token, route not granted (403)", regular, "POST", false},
		{"admin POST", admin, "POST", true},
		{"DELETE: no rule", admin, "DELETE", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out, err := f.h.Handle(context.Background(), loadEvent(t, "http-event.json", tt.auth, tt.verb))
			if err != nil {
				t.Fatal(err)
			}
			resp, ok := out.(events.APIGatewayV2CustomAuthorizerSimpleResponse)
			if !ok || resp.IsAuthorized != tt.want {
				t.Fatalf("response %#v, want isAuthorized %v", out, tt.want)
			}
			if tt.want && (resp.Context["sub"] != "sub-1" || resp.Context["username"] != "regularuser") {
				t.Fatalf("context %v", resp.Context)
			}
		})
	}
	if _, err := f.h.Handle(context.Background(), loadEvent(t, "http-event.json", "Bearer a.b.c", "GET")); err != ErrUnauthorized {
		t.Fatalf("bad token: %v, want Unauthorized", err)
	}
	// A REST event still gets a policy: simple responses exist only for HTTP APIs.
	if out, err := f.h.Handle(context.Background(), loadEvent(t, "token-event.json", regular, "GET")); err != nil || typeName(out) != "events.APIGatewayCustomAuthorizerResponse" {
		t.Fatalf("TOKEN event with SIMPLE_RESPONSES: %T, %v", out, err)
	}
}

// TestUnknownEventIsAFault: an event of no known kind is answered 500, never allowed.
func TestUnknownEventIsAFault(t *testing.T) {
	f := envFixture(t, nil)
	for _, raw := range []string{`{}`, `{"type":"token"}`, `{"type":"REQUEST","version":"3.0"}`, `[]`, `{"type":"TOKEN","methodArn":7}`, `null`} {
		if out, err := f.h.Handle(context.Background(), json.RawMessage(raw)); err != ErrFault || out != nil {
			t.Errorf("%s: %v, %v; want ErrFault", raw, out, err)
		}
	}
	if !strings.Contains(f.log.String(), `"reason":"unknown_event"`) {
		t.Errorf("no unknown_event log line: %s", f.log.String())
	}
}

// TestContextClaims: CONTEXT_CLAIMS pass claims to the backend (strings as
// they are, other values as JSON) and a claim too large for API Gateway's
// 8 KB authorizer response limit is left out and named, in every response kind.
func TestContextClaims(t *testing.T) {
	huge := strings.Repeat("x", 9000)
	for _, simple := range []string{"false", "true"} {
		f := envFixture(t, map[string]string{"CONTEXT_CLAIMS": "email, cognito:groups, huge, email_verified, absent", "SIMPLE_RESPONSES": simple})
		tok := "Bearer " + f.token(t, "regular-client123", func(c jwt.MapClaims) {
			c["email"], c["cognito:groups"], c["huge"], c["email_verified"] = "ann@example.com", []string{"admin", "regular"}, huge, true
		})
		for _, file := range []string{"token-event.json", "request-event.json", "http-event.json"} {
			t.Run(file+" simple="+simple, func(t *testing.T) {
				out, err := f.h.Handle(context.Background(), loadEvent(t, file, tok, "GET"))
				if err != nil {
					t.Fatal(err)
				}
				b, _ := json.Marshal(out)
				if len(b) > MaxResponseBytes {
					t.Fatalf("response of %d bytes, limit %d", len(b), MaxResponseBytes)
				}
				var resp struct {
					Context map[string]any `json:"context"`
				}
				json.Unmarshal(b, &resp)
				want := map[string]any{"email": "ann@example.com", "cognito:groups": `["admin","regular"]`, "email_verified": "true", "omittedClaims": "huge", "sub": "sub-1"}
				for k, v := range want {
					if resp.Context[k] != v {
						t.Errorf("context[%q] = %v, want %v", k, resp.Context[k], v)
					}
				}
				if _, ok := resp.Context["huge"]; ok {
					t.Error("the huge claim was passed")
				}
				if _, ok := resp.Context["absent"]; ok {
					t.Error("a claim the token lacks was passed")
				}
			})
		}
		if !strings.Contains(f.log.String(), `"reason":"claims_omitted"`) {
			t.Errorf("no claims_omitted log line")
		}
	}
}

// TestResponseTooLargeIsAFault: a response over the limit without any extra
// claim (here a 9000-byte sub) would be refused by API Gateway: a fault, not an allow.
func TestResponseTooLargeIsAFault(t *testing.T) {
	f := envFixture(t, nil)
	tok := "Bearer " + f.token(t, "regular-client123", func(c jwt.MapClaims) { c["sub"] = strings.Repeat("s", 9000) })
	var decisions []Decision
	f.h.OnDecision = func(d Decision) { decisions = append(decisions, d) }
	if _, err := f.h.Handle(context.Background(), loadEvent(t, "token-event.json", tok, "GET")); !errors.Is(err, ErrFault) {
		t.Fatalf("err = %v, want ErrFault", err)
	}
	if len(decisions) != 1 || decisions[0] != (Decision{Fault, "response_too_large"}) {
		t.Fatalf("decisions %v", decisions)
	}
}

// TestDecisions: OnDecision hears every invocation once, with its reason.
func TestDecisions(t *testing.T) {
	f := envFixture(t, nil)
	var got []Decision
	f.h.OnDecision = func(d Decision) { got = append(got, d) }
	expired := f.token(t, "", func(c jwt.MapClaims) { c["exp"] = time.Now().Add(-time.Hour).Unix() })
	other := f.token(t, "", func(c jwt.MapClaims) { c["aud"] = "other" })
	for _, auth := range []string{"Bearer " + f.token(t, "", nil), "Basic x", "Bearer " + expired, "Bearer " + other} {
		f.h.Handle(context.Background(), loadEvent(t, "request-event.json", auth, "POST"))
	}
	// The policy answers for every method: a token granted GET is an Allow even when POST was asked.
	want := []Decision{{Allow, ""}, {Deny, "no_bearer"}, {Deny, "expired"}, {Deny, "audience"}}
	if len(got) != len(want) {
		t.Fatalf("decisions %v, want %v", got, want)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("decision %d = %v, want %v", i, got[i], want[i])
		}
	}
}
