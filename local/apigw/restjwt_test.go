package apigw

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/secure-api-go/apigw-jwt/local/template"
)

// oidcIdP is an issuer with a discovery document and a key set (an RSA and
// an EC key, made here); discoveryIssuer is what its document claims.
type oidcIdP struct {
	srv             *httptest.Server
	rsaKey          *rsa.PrivateKey
	ecKey           *ecdsa.PrivateKey
	discoveryIssuer string
	noDiscovery     bool // the discovery document answers 404
	discoveries     atomic.Int64
}

func newOIDCIdP(t *testing.T) *oidcIdP {
	t.Helper()
	p := &oidcIdP{}
	var err error
	if p.rsaKey, err = rsa.GenerateKey(rand.Reader, 2048); err != nil {
		t.Fatal(err)
	}
	if p.ecKey, err = ecdsa.GenerateKey(elliptic.P256(), rand.Reader); err != nil {
		t.Fatal(err)
	}
	b64 := base64.RawURLEncoding.EncodeToString
	jwks, _ := json.Marshal(map[string]any{"keys": []map[string]string{
		{"kty": "RSA", "kid": "rsa1", "use": "sig", "n": b64(p.rsaKey.N.Bytes()), "e": b64([]byte{1, 0, 1})},
		{"kty": "EC", "kid": "ec1", "use": "sig", "crv": "P-256", "x": b64(p.ecKey.X.FillBytes(make([]byte, 32))), "y": b64(p.ecKey.Y.FillBytes(make([]byte, 32)))},
	}})
	mux := http.NewServeMux()
	mux.HandleFunc("/pool/.well-known/openid-configuration", func(w http.ResponseWriter, _ *http.Request) {
		p.discoveries.Add(1)
		if p.noDiscovery {
			http.NotFound(w, nil)
			return
		}
		json.NewEncoder(w).Encode(map[string]string{"issuer": p.discoveryIssuer, "jwks_uri": p.srv.URL + "/keys"})
	})
	mux.HandleFunc("/keys", func(w http.ResponseWriter, _ *http.Request) { w.Write(jwks) })
	p.srv = httptest.NewServer(mux)
	t.Cleanup(p.srv.Close)
	p.discoveryIssuer = p.issuer()
	return p
}

func (p *oidcIdP) issuer() string { return p.srv.URL + "/pool" }

func (p *oidcIdP) sign(t *testing.T, method jwt.SigningMethod, kid string, claims jwt.MapClaims) string {
	t.Helper()
	tok := jwt.NewWithClaims(method, claims)
	tok.Header["kid"] = kid
	var key any = p.rsaKey
	if strings.HasPrefix(method.Alg(), "ES") {
		key = p.ecKey
	}
	s, err := tok.SignedString(key)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// jwtTemplate is a REST API as the stack synthesizes it with
// restAuthorizer=jwt: GET /pets any valid token, POST /pets with a scope,
// GET / public; the authorizer trusts the IdP for app and m2m, with
// token_use required when tokenUse is set.
func jwtTemplate(t *testing.T, issuer string, algs []string, tokenUse string) *template.Template {
	t.Helper()
	iss := map[string]any{"Issuer": issuer, "Audiences": []any{"app", "m2m"}}
	if tokenUse != "" {
		iss["AdditionalClaims"] = []any{map[string]any{"ClaimName": "token_use", "Format": "SINGLE_STRING", "ExpectedValues": []any{tokenUse}, "Required": true}}
	}
	fnArn := map[string]any{"Fn::Join": []any{"", []any{"arn:aws:apigateway:us-east-1:lambda:path/2015-03-31/functions/", map[string]any{"Fn::GetAtt": []any{"Fn", "Arn"}}, "/invocations"}}}
	method := func(verb, resource string, auth map[string]any) map[string]any {
		p := map[string]any{"HttpMethod": verb, "ResourceId": resource, "RestApiId": map[string]any{"Ref": "Api"},
			"Integration": map[string]any{"Type": "AWS_PROXY", "Uri": fnArn}}
		for k, v := range auth {
			p[k] = v
		}
		return map[string]any{"Type": "AWS::ApiGateway::Method", "Properties": p}
	}
	jwtAuth := map[string]any{"AuthorizationType": "JWT", "AuthorizerId": map[string]any{"Ref": "Auth"}}
	post := map[string]any{"AuthorizationType": "JWT", "AuthorizerId": map[string]any{"Ref": "Auth"}, "AuthorizationScopes": []any{"admin-app", "rs/pets.write"}}
	mock := map[string]any{"Type": "AWS::ApiGateway::Method", "Properties": map[string]any{"HttpMethod": "GET", "AuthorizationType": "NONE",
		"ResourceId": map[string]any{"Fn::GetAtt": []any{"Api", "RootResourceId"}}, "Integration": map[string]any{"Type": "MOCK",
			"RequestTemplates": map[string]any{"application/json": `{"statusCode": 200}`}, "IntegrationResponses": []any{map[string]any{"StatusCode": "200"}}}}}
	tpl := map[string]any{"Resources": map[string]any{
		"Api":   map[string]any{"Type": "AWS::ApiGateway::RestApi", "Properties": map[string]any{}},
		"Stage": map[string]any{"Type": "AWS::ApiGateway::Stage", "Properties": map[string]any{"StageName": "prod"}},
		"Fn":    map[string]any{"Type": "AWS::Lambda::Function", "Properties": map[string]any{}},
		"Pets":  map[string]any{"Type": "AWS::ApiGateway::Resource", "Properties": map[string]any{"PathPart": "pets", "ParentId": map[string]any{"Fn::GetAtt": []any{"Api", "RootResourceId"}}}},
		"Auth": map[string]any{"Type": "AWS::ApiGateway::Authorizer", "Properties": map[string]any{"Type": "JWT", "Name": "JwtAuthorizer",
			"IdentitySource": "method.request.header.Authorization", "RestApiId": map[string]any{"Ref": "Api"},
			"JwtConfiguration": map[string]any{"DefaultAlgorithms": algs, "Issuers": []any{iss}}}},
		"GetPets":  method("GET", "", jwtAuth),
		"PostPets": method("POST", "", post),
		"Root":     mock,
	}}
	res := tpl["Resources"].(map[string]any)
	for _, id := range []string{"GetPets", "PostPets"} {
		res[id].(map[string]any)["Properties"].(map[string]any)["ResourceId"] = map[string]any{"Ref": "Pets"}
	}
	raw, _ := json.Marshal(tpl)
	parsed, err := template.Parse(raw)
	if err != nil {
		t.Fatal(err)
	}
	return parsed
}

// TestRESTNativeJWTAuthorizer walks the documented checks one by one.
func TestRESTNativeJWTAuthorizer(t *testing.T) {
	idp := newOIDCIdP(t)
	now := time.Now()
	claims := func(mod func(jwt.MapClaims)) jwt.MapClaims {
		c := jwt.MapClaims{"iss": idp.issuer(), "sub": "u1", "aud": "app", "token_use": "id", "scope": "regular-app",
			"iat": now.Add(-time.Minute).Unix(), "exp": now.Add(time.Hour).Unix()}
		if mod != nil {
			mod(c)
		}
		return c
	}
	rs := func(mod func(jwt.MapClaims)) string { return idp.sign(t, jwt.SigningMethodRS256, "rsa1", claims(mod)) }
	inv := &fakeInvoker{calls: map[string]int{}, last: map[string]map[string]any{}, fn: map[string]func(map[string]any) ([]byte, error){
		"Fn": func(ev map[string]any) ([]byte, error) { return []byte(`{"statusCode":200,"body":"ok"}`), nil },
	}}
	api, err := NewRESTAPI(jwtTemplate(t, idp.issuer(), []string{"RS256", "ES256"}, "id"), Options{Invoker: inv, Now: func() time.Time { return now }})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(api)
	t.Cleanup(srv.Close)

	untrusted := newOIDCIdP(t) // another issuer, its own keys
	for _, tt := range []struct {
		name, method, header string
		want                 int
		wantBody             string
	}{
		{"no token", "GET", "", 401, `"Unauthorized"`},
		{"Bearer and a valid ID token", "GET", "Bearer " + rs(nil), 200, "ok"},
		{"the token alone, no scheme", "GET", rs(nil), 200, "ok"},
		{"bearer in lower case", "GET", "bearer " + rs(nil), 200, "ok"},
		{"another scheme", "GET", "Basic " + rs(nil), 401, `"Unauthorized"`},
		{"ES256, an allowed algorithm", "GET", "Bearer " + idp.sign(t, jwt.SigningMethodES256, "ec1", claims(nil)), 200, "ok"},
		{"RS384, not allowed", "GET", "Bearer " + idp.sign(t, jwt.SigningMethodRS384, "rsa1", claims(nil)), 401, ""},
		{"iss differs by a trailing slash", "GET", "Bearer " + rs(func(c jwt.MapClaims) { c["iss"] = idp.issuer() + "/" }), 401, ""},
		{"untrusted issuer", "GET", "Bearer " + untrusted.sign(t, jwt.SigningMethodRS256, "rsa1", claims(func(c jwt.MapClaims) { c["iss"] = untrusted.issuer() })), 401, ""},
		{"trusted iss, other key", "GET", "Bearer " + untrusted.sign(t, jwt.SigningMethodRS256, "rsa1", claims(nil)), 401, ""},
		{"aud of another client", "GET", "Bearer " + rs(func(c jwt.MapClaims) { c["aud"] = "other" }), 401, ""},
		{"aud array holding app", "GET", "Bearer " + rs(func(c jwt.MapClaims) { c["aud"] = []any{"other", "app"} }), 200, "ok"},
		{"aud wins over client_id", "GET", "Bearer " + rs(func(c jwt.MapClaims) { c["aud"] = "other"; c["client_id"] = "app" }), 401, ""},
		{"expired", "GET", "Bearer " + rs(func(c jwt.MapClaims) { c["exp"] = now.Add(-time.Second).Unix() }), 401, ""},
		{"no exp", "GET", "Bearer " + rs(func(c jwt.MapClaims) { delete(c, "exp") }), 401, ""},
		{"not yet valid (nbf)", "GET", "Bearer " + rs(func(c jwt.MapClaims) { c["nbf"] = now.Add(time.Minute).Unix() }), 401, ""},
		{"token_use access, id required", "GET", "Bearer " + rs(func(c jwt.MapClaims) { c["token_use"] = "access" }), 401, ""},
		{"token_use missing, required", "GET", "Bearer " + rs(func(c jwt.MapClaims) { delete(c, "token_use") }), 401, ""},
		{"token_use as an array", "GET", "Bearer " + rs(func(c jwt.MapClaims) { c["token_use"] = []any{"id"} }), 401, ""},
		{"valid token without the method's scopes", "POST", "Bearer " + rs(nil), 403, `"Forbidden"`},
		{"one of the scopes in scope", "POST", "Bearer " + rs(func(c jwt.MapClaims) { c["scope"] = "openid rs/pets.write" }), 200, "ok"},
		{"one of the scopes in scp (array)", "POST", "Bearer " + rs(func(c jwt.MapClaims) { delete(c, "scope"); c["scp"] = []any{"admin-app"} }), 200, "ok"},
		{"a scope's prefix is not the scope", "POST", "Bearer " + rs(func(c jwt.MapClaims) { c["scope"] = "rs/pets.writer admin-ap" }), 403, ""},
		{"invalid token on a scoped method: 401 first", "POST", "Bearer " + rs(func(c jwt.MapClaims) { c["aud"] = "other"; c["scope"] = "admin-app" }), 401, ""},
	} {
		t.Run(tt.name, func(t *testing.T) {
			req, _ := http.NewRequest(tt.method, srv.URL+"/prod/pets", strings.NewReader(`{}`))
			if tt.header != "" {
				req.Header.Set("Authorization", tt.header)
			}
			before := inv.count("Fn")
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != tt.want || !strings.Contains(string(body), tt.wantBody) {
				t.Fatalf("%d %s, want %d with %q", resp.StatusCode, body, tt.want, tt.wantBody)
			}
			if called := inv.count("Fn") > before; called != (tt.want == 200) {
				t.Fatalf("integration called: %v, want %v", called, tt.want == 200)
			}
		})
	}
	// The integration sees the claims with their JSON types.
	ev := inv.last["Fn"]
	c, _ := ev["requestContext"].(map[string]any)["authorizer"].(map[string]any)["claims"].(map[string]any)
	if c["sub"] != "u1" || c["iat"] == nil || fmt.Sprint(c["scp"]) != "[admin-app]" {
		t.Fatalf("authorizer context %v", ev["requestContext"])
	}
	if n := idp.discoveries.Load(); n != 1 {
		t.Fatalf("%d discovery fetches, want 1 (the keys are cached)", n)
	}
	// GET / stays public.
	resp, err := http.Get(srv.URL + "/prod/")
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("GET /: %v %v", resp, err)
	}
	resp.Body.Close()
}

// TestRESTNativeJWTDiscovery: keys come only from a discovery document
// that names the issuer exactly; otherwise no token passes (500, fail
// closed, as a deploy would fail on AWS).
func TestRESTNativeJWTDiscovery(t *testing.T) {
	idp := newOIDCIdP(t)
	now := time.Now()
	token := idp.sign(t, jwt.SigningMethodRS256, "rsa1", jwt.MapClaims{"iss": idp.issuer(), "aud": "app", "exp": now.Add(time.Hour).Unix()})
	call := func(opts Options) int {
		opts.Invoker = &fakeInvoker{calls: map[string]int{}, last: map[string]map[string]any{}, fn: map[string]func(map[string]any) ([]byte, error){
			"Fn": func(map[string]any) ([]byte, error) { return []byte(`{"statusCode":200,"body":"ok"}`), nil },
		}}
		api, err := NewRESTAPI(jwtTemplate(t, idp.issuer(), []string{"RS256"}, ""), opts)
		if err != nil {
			t.Fatal(err)
		}
		rec := httptest.NewRecorder()
		req := httptest.NewRequest("GET", "/prod/pets", nil)
		req.Header.Set("Authorization", "Bearer "+token)
		api.ServeHTTP(rec, req)
		return rec.Code
	}
	if code := call(Options{}); code != 200 {
		t.Fatalf("discovery naming the issuer: %d", code)
	}
	idp.discoveryIssuer = "http://localhost:9229/pool" // what cognito-local's document says whatever its port
	if code := call(Options{}); code != 500 {
		t.Fatalf("discovery naming another issuer: %d, want 500", code)
	}
	idp.discoveryIssuer = ""
	idp.noDiscovery = true
	if code := call(Options{}); code != 500 {
		t.Fatalf("no discovery document: %d, want 500", code)
	}
}

// TestRESTMethodWithUnknownAuthorizationIsRefused: a method behind an
// authorization type the emulator cannot run is an error, never served open.
func TestRESTMethodWithUnknownAuthorizationIsRefused(t *testing.T) {
	tpl := jwtTemplate(t, "https://idp.example.com/", []string{"RS256"}, "")
	tpl.Resources["GetPets"].Properties["AuthorizationType"] = "AWS_IAM"
	if _, err := NewRESTAPI(tpl, Options{}); err == nil || !strings.Contains(err.Error(), "AuthorizationType AWS_IAM not emulated") {
		t.Fatalf("error = %v", err)
	}
}

// TestRESTNativeJWTGatewayResponses: the native JWT authorizer's refusals go
// through the API's gateway responses as on AWS - UNAUTHORIZED (401),
// ACCESS_DENIED (403 for a missing scope), AUTHORIZER_CONFIGURATION_ERROR
// (500, keys not found) - with their headers (CORS, here), their templates,
// and the DEFAULT_4XX/DEFAULT_5XX fallbacks.
// https://docs.aws.amazon.com/apigateway/latest/developerguide/supported-gateway-response-types.html
func TestRESTNativeJWTGatewayResponses(t *testing.T) {
	idp := newOIDCIdP(t)
	now := time.Now()
	valid := idp.sign(t, jwt.SigningMethodRS256, "rsa1", jwt.MapClaims{"iss": idp.issuer(), "aud": "app", "token_use": "id", "scope": "regular-app",
		"iat": now.Add(-time.Minute).Unix(), "exp": now.Add(time.Hour).Unix()})
	const origin = "'https://app.example.com'"
	response := func(typ, status, tpl string) map[string]any {
		p := map[string]any{"ResponseType": typ, "RestApiId": map[string]any{"Ref": "Api"},
			"ResponseParameters": map[string]any{"gatewayresponse.header.Access-Control-Allow-Origin": origin, "gatewayresponse.header.X-Type": "'" + typ + "'"}}
		if status != "" {
			p["StatusCode"] = status
		}
		if tpl != "" {
			p["ResponseTemplates"] = map[string]any{"application/json": tpl}
		}
		return map[string]any{"Type": "AWS::ApiGateway::GatewayResponse", "Properties": p}
	}
	for _, tt := range []struct {
		name          string
		responses     map[string]map[string]any
		noDiscovery   bool
		method, token string
		want          int
		wantType      string // the X-Type header: which gateway response answered
		wantBody      string
	}{
		{"no token: UNAUTHORIZED", map[string]map[string]any{"UNAUTHORIZED": response("UNAUTHORIZED", "401", `{"error":$context.error.messageString}`)},
			false, "GET", "", 401, "UNAUTHORIZED", `{"error":"Unauthorized"}`},
		{"invalid token: DEFAULT_4XX", map[string]map[string]any{"DEFAULT_4XX": response("DEFAULT_4XX", "", "")},
			false, "GET", "Bearer not.a.jwt", 401, "DEFAULT_4XX", `{"message":"Unauthorized"}`},
		{"missing scope: ACCESS_DENIED", map[string]map[string]any{"ACCESS_DENIED": response("ACCESS_DENIED", "", `{"denied":$context.error.messageString}`)},
			false, "POST", "Bearer " + valid, 403, "ACCESS_DENIED", `{"denied":"Forbidden"}`},
		{"missing scope: DEFAULT_4XX", map[string]map[string]any{"DEFAULT_4XX": response("DEFAULT_4XX", "", "")},
			false, "POST", "Bearer " + valid, 403, "DEFAULT_4XX", `{"message":"Forbidden"}`},
		{"keys not found: AUTHORIZER_CONFIGURATION_ERROR", map[string]map[string]any{"AUTHORIZER_CONFIGURATION_ERROR": response("AUTHORIZER_CONFIGURATION_ERROR", "", "")},
			true, "GET", "Bearer " + valid, 500, "AUTHORIZER_CONFIGURATION_ERROR", `{"message":null}`},
		{"keys not found: DEFAULT_5XX", map[string]map[string]any{"DEFAULT_5XX": response("DEFAULT_5XX", "", ""), "DEFAULT_4XX": response("DEFAULT_4XX", "", "")},
			true, "GET", "Bearer " + valid, 500, "DEFAULT_5XX", `{"message":null}`},
	} {
		t.Run(tt.name, func(t *testing.T) {
			idp.noDiscovery = tt.noDiscovery
			tpl := jwtTemplate(t, idp.issuer(), []string{"RS256"}, "id")
			for id, r := range tt.responses {
				tpl.Resources["Response"+strings.ReplaceAll(id, "_", "")] = resourceOf(t, r)
			}
			inv := &fakeInvoker{calls: map[string]int{}, last: map[string]map[string]any{}, fn: map[string]func(map[string]any) ([]byte, error){
				"Fn": func(map[string]any) ([]byte, error) { return []byte(`{"statusCode":200,"body":"ok"}`), nil },
			}}
			api, err := NewRESTAPI(tpl, Options{Invoker: inv, Now: func() time.Time { return now }})
			if err != nil {
				t.Fatal(err)
			}
			req := httptest.NewRequest(tt.method, "/prod/pets", strings.NewReader(`{}`))
			if tt.token != "" {
				req.Header.Set("Authorization", tt.token)
			}
			rec := httptest.NewRecorder()
			api.ServeHTTP(rec, req)
			if rec.Code != tt.want || strings.TrimSpace(rec.Body.String()) != tt.wantBody {
				t.Fatalf("%d %s, want %d %s", rec.Code, rec.Body, tt.want, tt.wantBody)
			}
			if got := rec.Header().Get("X-Type"); got != tt.wantType {
				t.Errorf("answered by gateway response %q, want %q", got, tt.wantType)
			}
			if got := rec.Header().Get("Access-Control-Allow-Origin"); got != strings.Trim(origin, "'") {
				t.Errorf("Access-Control-Allow-Origin %q, want the gateway response's %s", got, origin)
			}
			if inv.count("Fn") != 0 {
				t.Error("the integration ran")
			}
		})
	}
}

// resourceOf turns a resource written as a map into the template's type.
func resourceOf(t *testing.T, r map[string]any) template.Resource {
	t.Helper()
	b, _ := json.Marshal(r)
	var res template.Resource
	if err := json.Unmarshal(b, &res); err != nil {
		t.Fatal(err)
	}
	return res
}
