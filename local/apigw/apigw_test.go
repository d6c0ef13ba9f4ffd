package apigw

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/secure-api-go/apigw-jwt/internal/testjwt"
	"github.com/secure-api-go/apigw-jwt/local/template"
)

// fakeInvoker stands in for the Lambda host: it records calls and answers
// with a per-function function.
type fakeInvoker struct {
	mu    sync.Mutex
	calls map[string]int
	last  map[string]map[string]any
	fn    map[string]func(ev map[string]any) ([]byte, error)
}

func (f *fakeInvoker) Invoke(_ context.Context, fn string, event []byte) ([]byte, error) {
	var ev map[string]any
	json.Unmarshal(event, &ev)
	f.mu.Lock()
	f.calls[fn]++
	f.last[fn] = ev
	h := f.fn[fn]
	f.mu.Unlock()
	if h == nil {
		return nil, errors.New("no such function " + fn)
	}
	return h(ev)
}

func (f *fakeInvoker) count(fn string) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.calls[fn]
}

type fixture struct {
	tpl        *template.Template
	idp        *testjwt.IdP
	inv        *fakeInvoker
	http, rest *httptest.Server
	restAPI    *RESTAPI
	now        time.Time
	clientID   string
	fnAuth     string
	fnPets     string
}

// newFixture loads the real synthesized template (the snapshot) and resolves it locally.
func newFixture(t *testing.T) *fixture {
	t.Helper()
	tpl, err := template.Load("../../test/testdata", "SecureApiJwt")
	if err != nil {
		t.Fatal(err)
	}
	idp, err := testjwt.New("k1")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(idp.Close)
	f := &fixture{tpl: tpl, idp: idp, clientID: "client123", now: time.Now()}
	pool := tpl.OfType("AWS::Cognito::UserPool")[0]
	tpl.Attrs[pool+".ProviderURL"] = idp.Server.URL + "/pool"
	for i, id := range tpl.OfType("AWS::Cognito::UserPoolClient") {
		tpl.Refs[id] = fmt.Sprintf("client%d", i) // the machine client's, as the stack maps each by logical id
		if i == 0 {
			tpl.Refs[id] = f.clientID // logical ids sort the user client ("...Client...") before "...MachineClient..."
		}
	}
	for _, id := range tpl.OfType("AWS::Lambda::Function") {
		env, _ := json.Marshal(tpl.Resources[id].Properties["Environment"])
		switch {
		case strings.Contains(string(env), "SCOPE_RULES"):
			f.fnAuth = id
		case strings.Contains(string(env), "TABLE_NAME"):
			f.fnPets = id
		}
	}
	f.inv = &fakeInvoker{calls: map[string]int{}, last: map[string]map[string]any{}, fn: map[string]func(map[string]any) ([]byte, error){}}
	opts := Options{Invoker: f.inv, Now: func() time.Time { return f.now }}
	h, err := NewHTTPAPI(tpl, opts)
	if err != nil {
		t.Fatal(err)
	}
	f.restAPI, err = NewRESTAPI(tpl, opts)
	if err != nil {
		t.Fatal(err)
	}
	f.http = httptest.NewServer(h)
	f.rest = httptest.NewServer(f.restAPI)
	t.Cleanup(f.http.Close)
	t.Cleanup(f.rest.Close)
	// Every Lambda answers 200 with the event it saw.
	for _, id := range tpl.OfType("AWS::Lambda::Function") {
		f.inv.fn[id] = func(ev map[string]any) ([]byte, error) {
			b, _ := json.Marshal(ev)
			return json.Marshal(map[string]any{"statusCode": 200, "body": string(b)})
		}
	}
	return f
}

func (f *fixture) token(t *testing.T, mod func(jwt.MapClaims)) string {
	c := jwt.MapClaims{"sub": "u1", "iss": f.idp.Server.URL + "/pool", "aud": f.clientID, "token_use": "id",
		"cognito:groups": []any{"regular"}, "scope": "regular-client123", "iat": f.now.Unix(), "exp": f.now.Add(time.Hour).Unix()}
	if mod != nil {
		mod(c)
	}
	s, err := f.idp.Sign(c)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func do(t *testing.T, method, url, auth, body string) (int, string) {
	t.Helper()
	req, _ := http.NewRequest(method, url, strings.NewReader(body))
	if auth != "" {
		req.Header.Set("Authorization", auth)
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

func TestHTTPAPIJWTAuthorizer(t *testing.T) {
	f := newFixture(t)
	regular := f.token(t, nil)
	admin := f.token(t, func(c jwt.MapClaims) { c["scope"] = "admin-client123 regular-client123" })
	access := f.token(t, func(c jwt.MapClaims) { delete(c, "aud"); c["client_id"] = f.clientID; c["scope"] = "regular-client123" })
	tests := []struct {
		name, path, auth string
		want             int
	}{
		{"no token", "/RegularUser", "", 401},
		{"garbage", "/RegularUser", "Bearer abc", 401},
		{"regular on RegularUser", "/RegularUser", "Bearer " + regular, 200},
		{"without Bearer prefix", "/RegularUser", regular, 200},
		{"regular on AdminUser", "/AdminUser", "Bearer " + regular, 403},
		{"admin on AdminUser", "/AdminUser", "Bearer " + admin, 200},
		{"access token with client_id", "/RegularUser", "Bearer " + access, 200},
		{"claims needs no scope", "/claims", "Bearer " + f.token(t, func(c jwt.MapClaims) { delete(c, "scope") }), 200},
		{"expired", "/claims", "Bearer " + f.token(t, func(c jwt.MapClaims) { c["exp"] = f.now.Add(-time.Minute).Unix() }), 401},
		{"not yet valid", "/claims", "Bearer " + f.token(t, func(c jwt.MapClaims) { c["nbf"] = f.now.Add(time.Hour).Unix() }), 401},
		{"wrong audience", "/claims", "Bearer " + f.token(t, func(c jwt.MapClaims) { c["aud"] = "pool-id" }), 401},
		{"wrong issuer", "/claims", "Bearer " + f.token(t, func(c jwt.MapClaims) { c["iss"] = "https://evil" }), 401},
		{"unknown route", "/nope", "Bearer " + regular, 404},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			status, body := do(t, "GET", f.http.URL+tt.path, tt.auth, "")
			if status != tt.want {
				t.Fatalf("status %d, want %d: %s", status, tt.want, body)
			}
			switch status {
			case 401:
				if body != `{"message":"Unauthorized"}` {
					t.Fatalf("body %s", body)
				}
			case 403:
				if body != `{"message":"Forbidden"}` {
					t.Fatalf("body %s", body)
				}
			}
		})
	}
	// Payload 2.0 claims are strings; arrays render as "[a b]".
	_, body := do(t, "GET", f.http.URL+"/claims", "Bearer "+admin, "")
	var ev map[string]any
	json.Unmarshal([]byte(body), &ev)
	claims := ev["requestContext"].(map[string]any)["authorizer"].(map[string]any)["jwt"].(map[string]any)["claims"].(map[string]any)
	if claims["cognito:groups"] != "[regular]" || claims["sub"] != "u1" || claims["exp"] != jsonNumber(f.now.Add(time.Hour).Unix()) {
		t.Fatalf("claims %v", claims)
	}
	if ev["version"] != "2.0" || ev["routeKey"] != "GET /claims" {
		t.Fatalf("event %v", ev)
	}
}

func jsonNumber(n int64) string { b, _ := json.Marshal(n); return string(b) }

// policyAuthorizer makes the authorizer Lambda answer like ours: an
// allow-list of GET /pets and GET /pets/{petId}, plus POST /pets for admins.
func (f *fixture) policyAuthorizer(admin map[string]bool) {
	f.inv.fn[f.fnAuth] = func(ev map[string]any) ([]byte, error) {
		token := strings.TrimPrefix(ev["authorizationToken"].(string), "Bearer ")
		if token == "bad.bad.bad" {
			return []byte(`{"errorMessage":"Unauthorized","errorType":"errorString"}`), errors.New("function error: Unauthorized")
		}
		if token == "fault.fault.fault" {
			return []byte(`{"errorMessage":"authorizer fault","errorType":"errorString"}`), errors.New("function error: authorizer fault")
		}
		arn := ev["methodArn"].(string)
		base := arn[:strings.Index(arn, "/prod/")+len("/prod/")]
		allow := []string{base + "GET/pets", base + "GET/pets/", base + "GET/pets/*"}
		if admin[token] {
			allow = append(allow, base+"POST/pets", base+"POST/pets/")
		}
		stmts := []map[string]any{{"Action": "execute-api:Invoke", "Effect": "Allow", "Resource": allow}}
		return json.Marshal(map[string]any{"principalId": "p-" + token[:1], "policyDocument": map[string]any{"Version": "2012-10-17", "Statement": stmts}, "context": map[string]any{"scope": "s"}})
	}
}

func TestRESTTokenAuthorizer(t *testing.T) {
	f := newFixture(t)
	f.policyAuthorizer(map[string]bool{"admin.x.y": true})
	base := f.rest.URL + "/prod"
	tests := []struct {
		name, method, path, auth, body string
		want                           int
		wantBody                       string
		authorizerCalled               bool
	}{
		{"landing page is public", "GET", "/", "", "", 200, "<!doctype html>", false},
		{"no token", "GET", "/pets", "", "", 401, `{"message":"Unauthorized"}`, false},
		{"regex mismatch skips the authorizer", "GET", "/pets", "Bearer a b", "", 401, `{"message":"Unauthorized"}`, false},
		{"Basic skips the authorizer", "GET", "/pets", "Basic x", "", 401, `{"message":"Unauthorized"}`, false},
		{"Unauthorized from the authorizer", "GET", "/pets", "Bearer bad.bad.bad", "", 401, `{"message":"Unauthorized"}`, true},
		{"other authorizer error is 500", "GET", "/pets", "Bearer fault.fault.fault", "", 500, `{"message":null}`, true},
		{"regular GET /pets", "GET", "/pets", "Bearer regular.x.y", "", 200, `"principalId":"p-r"`, true},
		{"regular POST /pets denied", "POST", "/pets", "Bearer regular.x.y", `{"type":"dog","price":1}`, 403, `{"Message":"User is not authorized to access this resource"}`, false},
		{"admin POST /pets", "POST", "/pets", "Bearer admin.x.y", `{"type":"dog","price":1}`, 200, `"resource":"/pets"`, true},
		{"bad body is 400 before the Lambda", "POST", "/pets", "Bearer admin.x.y", `{"type":"dog"}`, 400, `{"message":"Invalid request body","validationErrors":"[body: \"price\" is required]"}`, false},
		{"extra field is 400", "POST", "/pets", "Bearer admin.x.y", `{"type":"dog","price":1,"x":1}`, 400, "Invalid request body", false},
		{"negative price is 400", "POST", "/pets", "Bearer admin.x.y", `{"type":"dog","price":-1}`, 400, "Invalid request body", false},
		{"path parameter", "GET", "/pets/7", "Bearer regular.x.y", "", 200, `"petId":"7"`, false},
		{"unknown path", "GET", "/owners", "Bearer regular.x.y", "", 403, "Missing Authentication Token", false},
		{"wrong stage", "GET", "/../test/pets", "Bearer regular.x.y", "", 403, "Missing Authentication Token", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := f.inv.count(f.fnAuth)
			status, body := do(t, tt.method, base+tt.path, tt.auth, tt.body)
			if status != tt.want || !strings.Contains(body, tt.wantBody) {
				t.Fatalf("%d %s, want %d containing %s", status, body, tt.want, tt.wantBody)
			}
			if called := f.inv.count(f.fnAuth) > before; called != tt.authorizerCalled {
				t.Fatalf("authorizer called = %v, want %v", called, tt.authorizerCalled)
			}
		})
	}
	ev := f.inv.last[f.fnPets]
	auth := ev["requestContext"].(map[string]any)["authorizer"].(map[string]any)
	if auth["principalId"] != "p-r" || auth["scope"] != "s" {
		t.Fatalf("requestContext.authorizer %v", auth)
	}
	if f.inv.last[f.fnAuth]["methodArn"] != "arn:aws:execute-api:us-east-1:000000000000:"+f.restAPI.apiID+"/prod/POST/pets" {
		t.Fatalf("methodArn %v", f.inv.last[f.fnAuth]["methodArn"])
	}
}

func TestRESTPolicyCacheTTL(t *testing.T) {
	f := newFixture(t)
	f.policyAuthorizer(nil)
	base := f.rest.URL + "/prod"
	do(t, "GET", base+"/pets", "Bearer tok.a.b", "")
	do(t, "GET", base+"/pets/1", "Bearer tok.a.b", "")
	if s, _ := do(t, "POST", base+"/pets", "Bearer tok.a.b", `{"type":"dog","price":1}`); s != 403 {
		t.Fatalf("cached policy should deny POST: %d", s)
	}
	if n := f.inv.count(f.fnAuth); n != 1 {
		t.Fatalf("authorizer called %d times within the TTL, want 1 (policy reused for other methods)", n)
	}
	f.now = f.now.Add(3601 * time.Second)
	do(t, "GET", base+"/pets", "Bearer tok.a.b", "")
	if n := f.inv.count(f.fnAuth); n != 2 {
		t.Fatalf("authorizer called %d times after the TTL, want 2", n)
	}
}

func TestSchema(t *testing.T) {
	schema := map[string]any{"type": "object", "required": []any{"type", "price"}, "additionalProperties": false,
		"properties": map[string]any{"type": map[string]any{"type": "string", "minLength": 1.0, "pattern": "^[a-z]+$"}, "price": map[string]any{"type": "number", "minimum": 0.0}}}
	for body, ok := range map[string]bool{
		`{"type":"dog","price":1}`: true, `{"type":"","price":1}`: false, `{"type":"Dog","price":1}`: false,
		`{"price":1}`: false, `{"type":"dog","price":"1"}`: false, `[]`: false, `{"type":"dog","price":1,"x":0}`: false,
	} {
		v, _ := parseJSON([]byte(body))
		if err := validateSchema(schema, v, "body"); (err == nil) != ok {
			t.Errorf("%s: err %v, want ok=%v", body, err, ok)
		}
	}
}

// TestRESTPathVariants: every spelling of a path either reaches a resource
// and is authorized as that resource (the methodArn names the matched path),
// or reaches none (403 Missing Authentication Token, authorizer not called).
func TestRESTPathVariants(t *testing.T) {
	f := newFixture(t)
	admins := map[string]bool{}
	for i := 0; i < 20; i++ {
		admins[fmt.Sprintf("admin.%d.y", i)] = true
	}
	f.policyAuthorizer(admins)
	base := f.rest.URL + "/prod"
	arnBase := "arn:aws:execute-api:us-east-1:000000000000:" + f.restAPI.apiID + "/prod/"
	body := `{"type":"dog","price":1}`
	tests := []struct {
		name, method, path, who string
		want                    int
		wantBody, wantARN       string // wantARN "" = the authorizer is not called
		wantResource            string // the resource the PetStore Lambda saw
	}{
		{"trailing slash, regular", "POST", "/pets/", "regular", 403, "not authorized", "POST/pets", ""},
		{"trailing slash, admin", "POST", "/pets/", "admin", 200, "", "POST/pets", "/pets"},
		{"encoded slash, regular", "POST", "/pets%2F", "regular", 403, "not authorized", "POST/pets", ""},
		{"encoded slash, admin", "POST", "/pets%2F", "admin", 200, "", "POST/pets", "/pets"},
		{"double slash, regular", "POST", "//pets", "regular", 403, "Missing Authentication Token", "", ""},
		{"double slash, admin", "POST", "//pets", "admin", 403, "Missing Authentication Token", "", ""},
		{"two trailing slashes", "POST", "/pets//", "admin", 403, "Missing Authentication Token", "", ""},
		{"upper case", "POST", "/PETS", "admin", 403, "Missing Authentication Token", "", ""},
		{"upper case GET", "GET", "/PETS", "regular", 403, "Missing Authentication Token", "", ""},
		{"no such method", "DELETE", "/pets/1", "admin", 403, "Missing Authentication Token", "", ""},
		{"no such method with a slash", "PUT", "/pets/", "admin", 403, "Missing Authentication Token", "", ""},
		{"pet with a trailing slash", "GET", "/pets/1/", "regular", 200, `"petId":"1"`, "GET/pets/1", "/pets/{petId}"},
		{"pet behind an encoded slash", "GET", "/pets%2F1", "regular", 200, `"petId":"1"`, "GET/pets/1", "/pets/{petId}"},
		{"empty pet id", "GET", "/pets//", "regular", 403, "Missing Authentication Token", "", ""},
		{"landing page with a slash", "GET", "/", "", 200, "PetStore", "", ""},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			auth := ""
			if tt.who != "" {
				auth = fmt.Sprintf("Bearer %s.%d.y", tt.who, i) // a fresh token: no cached policy
			}
			calls, lambda := f.inv.count(f.fnAuth), f.inv.count(f.fnPets)
			reqBody := ""
			if tt.method == "POST" {
				reqBody = body
			}
			status, got := do(t, tt.method, base+tt.path, auth, reqBody)
			if status != tt.want || !strings.Contains(got, tt.wantBody) {
				t.Fatalf("%d %s, want %d containing %q", status, got, tt.want, tt.wantBody)
			}
			called := f.inv.count(f.fnAuth) > calls
			if called != (tt.wantARN != "") {
				t.Fatalf("authorizer called = %v, want %v", called, tt.wantARN != "")
			}
			if called && f.inv.last[f.fnAuth]["methodArn"] != arnBase+tt.wantARN {
				t.Fatalf("methodArn %v, want %s", f.inv.last[f.fnAuth]["methodArn"], arnBase+tt.wantARN)
			}
			reached := f.inv.count(f.fnPets) > lambda
			if reached != (tt.wantResource != "") {
				t.Fatalf("PetStore Lambda called = %v, want %v", reached, tt.wantResource != "")
			}
			if reached && f.inv.last[f.fnPets]["resource"] != tt.wantResource {
				t.Fatalf("resource %v, want %s", f.inv.last[f.fnPets]["resource"], tt.wantResource)
			}
		})
	}
}

func TestRoutePath(t *testing.T) {
	for in, want := range map[string]string{
		"/": "/", "/pets": "/pets", "/pets/": "/pets", "/pets/1/": "/pets/1",
		"//": "", "//pets": "", "/pets//": "", "/pets//1": "", "": "", "pets": "",
	} {
		got, ok := routePath(in)
		if got != want || ok != (want != "") {
			t.Errorf("routePath(%q) = %q, %v; want %q", in, got, ok, want)
		}
	}
}
