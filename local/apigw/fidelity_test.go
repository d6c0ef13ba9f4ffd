package apigw

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"

	"github.com/secure-api-go/apigw-jwt/local/lambdahost"
	"github.com/secure-api-go/apigw-jwt/local/template"
)

// send is a request with headers; it returns the status, headers and body.
func send(t *testing.T, method, url string, headers map[string]string, body string) (int, http.Header, string) {
	t.Helper()
	req, _ := http.NewRequest(method, url, strings.NewReader(body))
	for k, v := range headers {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, resp.Header, string(b)
}

// TestRESTLandingPassthroughNever: GET / is a MOCK integration with
// passthrough NEVER and a request template for application/json only, so API
// Gateway refuses any other content type with 415 Unsupported Media Type
// (https://docs.aws.amazon.com/apigateway/latest/developerguide/integration-passthrough-behaviors.html);
// no Content-Type counts as application/json.
func TestRESTLandingPassthroughNever(t *testing.T) {
	f := newFixture(t)
	for _, tt := range []struct {
		contentType string
		want        int
		wantBody    string
	}{
		{"", 200, "<h1>PetStore</h1>"},
		{"application/json", 200, "<h1>PetStore</h1>"},
		{"application/json; charset=utf-8", 200, "<h1>PetStore</h1>"},
		{"text/plain", 415, `{"message":"Unsupported Media Type"}`},
		{"application/x-www-form-urlencoded", 415, `{"message":"Unsupported Media Type"}`},
	} {
		t.Run(tt.contentType, func(t *testing.T) {
			h := map[string]string{}
			if tt.contentType != "" {
				h["Content-Type"] = tt.contentType
			}
			status, hdr, body := send(t, "GET", f.rest.URL+"/prod/", h, "")
			if status != tt.want || !strings.Contains(body, tt.wantBody) {
				t.Fatalf("%d %s, want %d %s", status, body, tt.want, tt.wantBody)
			}
			if status == 200 && hdr.Get("Content-Type") != "text/html" {
				t.Fatalf("Content-Type %q", hdr.Get("Content-Type"))
			}
		})
	}
}

// corsFixture adds to the template what corsOrigins synthesizes: the CDK's
// OPTIONS mock on /pets (its preflight VTL, copied from a synth with two
// origins), gateway responses carrying CORS headers, and the HTTP API's
// CorsConfiguration. The e2e test runs the real synthesized one.
func corsFixture(t *testing.T) *fixture {
	f := newFixture(t)
	var api, pets string
	for _, id := range f.tpl.OfType("AWS::ApiGateway::Resource") {
		if f.tpl.Resources[id].Properties["PathPart"] == "pets" {
			pets = id
		}
	}
	api = f.tpl.OfType("AWS::ApiGateway::RestApi")[0]
	vtlTemplate := "#set($origin = $input.params().header.get(\"Origin\"))\n#if($origin == \"\")\n  #set($origin = $input.params().header.get(\"origin\"))\n#end\n#if($origin == \"https://admin.example.com\")\n  #set($context.responseOverride.header.Access-Control-Allow-Origin = $origin)\n#end"
	f.tpl.Resources["PetsOptions"] = tplResource("AWS::ApiGateway::Method", map[string]any{
		"AuthorizationType": "NONE", "HttpMethod": "OPTIONS", "ResourceId": map[string]any{"Ref": pets}, "RestApiId": map[string]any{"Ref": api},
		"Integration": map[string]any{"Type": "MOCK", "RequestTemplates": map[string]any{"application/json": "{ statusCode: 200 }"},
			"IntegrationResponses": []any{map[string]any{"StatusCode": "204", "ResponseTemplates": map[string]any{"application/json": vtlTemplate},
				"ResponseParameters": map[string]any{
					"method.response.header.Access-Control-Allow-Headers": "'Authorization,Content-Type,Idempotency-Key'",
					"method.response.header.Access-Control-Allow-Origin":  "'https://app.example.com'",
					"method.response.header.Vary":                         "'Origin'",
					"method.response.header.Access-Control-Allow-Methods": "'GET,POST'",
				}}}},
	})
	cors := map[string]any{"gatewayresponse.header.Access-Control-Allow-Origin": "'https://app.example.com'", "gatewayresponse.header.Vary": "'Origin'"}
	for _, typ := range []string{"DEFAULT_4XX", "DEFAULT_5XX"} {
		f.tpl.Resources["Resp"+typ] = tplResource("AWS::ApiGateway::GatewayResponse", map[string]any{"ResponseType": typ, "RestApiId": map[string]any{"Ref": api}, "ResponseParameters": cors})
	}
	for _, id := range f.tpl.OfType("AWS::ApiGateway::GatewayResponse") {
		if f.tpl.Resources[id].Properties["ResponseType"] == "BAD_REQUEST_BODY" {
			f.tpl.Resources[id].Properties["ResponseParameters"] = cors
		}
	}
	httpAPI := f.tpl.OfType("AWS::ApiGatewayV2::Api")[0]
	f.tpl.Resources[httpAPI].Properties["CorsConfiguration"] = map[string]any{"AllowHeaders": []any{"Authorization", "Content-Type"}, "AllowMethods": []any{"GET"},
		"AllowOrigins": []any{"https://app.example.com", "https://admin.example.com"}, "MaxAge": 3600.0}
	opts := Options{Invoker: f.inv, Now: f.restAPI.opts.Now}
	h, err := NewHTTPAPI(f.tpl, opts)
	if err != nil {
		t.Fatal(err)
	}
	rest, err := NewRESTAPI(f.tpl, opts)
	if err != nil {
		t.Fatal(err)
	}
	f.restAPI = rest
	f.http.Config.Handler, f.rest.Config.Handler = h, rest
	return f
}

// TestRESTCORS: what a browser sees from the REST API with corsOrigins:
// the preflight is the OPTIONS mock (first origin static, others through the
// response override), and the gateway's own errors carry the gateway
// responses' headers (https://docs.aws.amazon.com/apigateway/latest/developerguide/how-to-cors.html:
// with a proxy integration the backend must send the headers on its responses).
func TestRESTCORS(t *testing.T) {
	f := corsFixture(t)
	f.policyAuthorizer(map[string]bool{"admin.x.y": true})
	base := f.rest.URL + "/prod"
	preflight := func(origin string) map[string]string {
		return map[string]string{"Origin": origin, "Access-Control-Request-Method": "POST", "Access-Control-Request-Headers": "authorization,content-type"}
	}
	for _, tt := range []struct {
		name, method, path, auth, body string
		headers                        map[string]string
		want                           int
		wantOrigin                     string
	}{
		{"preflight, first origin", "OPTIONS", "/pets", "", "", preflight("https://app.example.com"), 204, "https://app.example.com"},
		{"preflight, second origin", "OPTIONS", "/pets", "", "", preflight("https://admin.example.com"), 204, "https://admin.example.com"},
		// API Gateway answers the static first origin: the browser blocks the other.
		{"preflight, other origin", "OPTIONS", "/pets", "", "", preflight("https://evil.example"), 204, "https://app.example.com"},
		{"401 carries DEFAULT_4XX headers", "GET", "/pets", "", "", map[string]string{"Origin": "https://app.example.com"}, 401, "https://app.example.com"},
		{"403 deny carries them", "POST", "/pets", "Bearer regular.x.y", `{"type":"dog","price":1}`, map[string]string{"Origin": "https://app.example.com"}, 403, "https://app.example.com"},
		{"400 body carries its own response's", "POST", "/pets", "Bearer admin.x.y", `{"type":"dog"}`, map[string]string{"Origin": "https://app.example.com"}, 400, "https://app.example.com"},
		{"403 missing token carries them", "GET", "/owners", "", "", map[string]string{"Origin": "https://app.example.com"}, 403, "https://app.example.com"},
		{"500 carries DEFAULT_5XX headers", "GET", "/pets", "Bearer fault.fault.fault", "", map[string]string{"Origin": "https://app.example.com"}, 500, "https://app.example.com"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			h := map[string]string{}
			for k, v := range tt.headers {
				h[k] = v
			}
			if tt.auth != "" {
				h["Authorization"] = tt.auth
			}
			if tt.body != "" {
				h["Content-Type"] = "application/json"
			}
			calls := f.inv.count(f.fnAuth)
			status, hdr, body := send(t, tt.method, base+tt.path, h, tt.body)
			if status != tt.want || hdr.Get("Access-Control-Allow-Origin") != tt.wantOrigin || hdr.Get("Vary") != "Origin" {
				t.Fatalf("%d %v %s, want %d with Access-Control-Allow-Origin %s and Vary: Origin", status, hdr, body, tt.want, tt.wantOrigin)
			}
			if tt.method == "OPTIONS" {
				if hdr.Get("Access-Control-Allow-Methods") != "GET,POST" || !strings.Contains(hdr.Get("Access-Control-Allow-Headers"), "Authorization") {
					t.Fatalf("preflight headers %v", hdr)
				}
				if f.inv.count(f.fnAuth) != calls {
					t.Fatal("the preflight ran the authorizer")
				}
			}
		})
	}
}

// TestHTTPAPICORS: the HTTP API's CorsConfiguration as API Gateway applies it
// (https://docs.aws.amazon.com/apigateway/latest/developerguide/http-api-cors.html):
// preflights answered by the gateway without a route or the authorizer, the
// configured headers on responses to allowed origins, the integration's own
// CORS headers ignored.
func TestHTTPAPICORS(t *testing.T) {
	f := corsFixture(t)
	regular := f.token(t, nil)
	for id := range f.inv.fn {
		f.inv.fn[id] = func(map[string]any) ([]byte, error) {
			return []byte(`{"statusCode":200,"headers":{"Access-Control-Allow-Origin":"*"},"body":"ok"}`), nil
		}
	}
	for _, tt := range []struct {
		name, method, origin, auth string
		preflight                  bool
		want                       int
		wantOrigin                 string
	}{
		{"preflight, allowed origin", "OPTIONS", "https://app.example.com", "", true, 204, "https://app.example.com"},
		{"preflight, second origin", "OPTIONS", "https://admin.example.com", "", true, 204, "https://admin.example.com"},
		{"preflight, other origin gets no headers", "OPTIONS", "https://evil.example", "", true, 204, ""},
		{"OPTIONS without preflight headers is routed", "OPTIONS", "https://app.example.com", "", false, 404, "https://app.example.com"},
		{"request, allowed origin", "GET", "https://app.example.com", "Bearer " + regular, false, 200, "https://app.example.com"},
		{"request, other origin: backend's * ignored", "GET", "https://evil.example", "Bearer " + regular, false, 200, ""},
		{"request without Origin: backend's * ignored", "GET", "", "Bearer " + regular, false, 200, ""},
		{"401, allowed origin", "GET", "https://app.example.com", "", false, 401, "https://app.example.com"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			h := map[string]string{}
			if tt.origin != "" {
				h["Origin"] = tt.origin
			}
			if tt.preflight {
				h["Access-Control-Request-Method"] = "GET"
				h["Access-Control-Request-Headers"] = "authorization"
			}
			if tt.auth != "" {
				h["Authorization"] = tt.auth
			}
			status, hdr, body := send(t, tt.method, f.http.URL+"/RegularUser", h, "")
			if status != tt.want || hdr.Get("Access-Control-Allow-Origin") != tt.wantOrigin {
				t.Fatalf("%d %v %s, want %d with Access-Control-Allow-Origin %q", status, hdr, body, tt.want, tt.wantOrigin)
			}
			// The answer depends on Origin (the allowed one is echoed): a
			// shared cache must not serve it to another origin.
			if !slices.Contains(hdr.Values("Vary"), "Origin") {
				t.Fatalf("Vary %q, want Origin", hdr.Values("Vary"))
			}
			if tt.preflight && tt.wantOrigin != "" && (hdr.Get("Access-Control-Allow-Methods") != "GET" || hdr.Get("Access-Control-Allow-Headers") != "Authorization,Content-Type" || hdr.Get("Access-Control-Max-Age") != "3600") {
				t.Fatalf("preflight headers %v", hdr)
			}
		})
	}
}

// TestRESTLambdaLimits: a request API Gateway accepts (under 10 MB) whose
// event is over Lambda's 6 MB invoke quota gets 413 "Request Too Long", and a
// failing or malformed integration 502, each through the gateway responses.
func TestRESTLambdaLimits(t *testing.T) {
	f := corsFixture(t)
	f.policyAuthorizer(map[string]bool{"admin.x.y": true})
	pets := f.inv.fn[f.fnPets]
	// The fake host refuses oversized events as lambdahost does (its own test proves lambdahost).
	f.inv.fn[f.fnPets] = func(ev map[string]any) ([]byte, error) {
		b, _ := json.Marshal(ev)
		if len(b) > lambdahost.MaxRequestPayload {
			return nil, fmt.Errorf("lambdahost: %w", lambdahost.ErrRequestTooLarge)
		}
		return pets(ev)
	}
	// Whitespace keeps the body valid for the model: 7 MB passes API Gateway's 10 MB.
	padded := `{"type":"dog","price":1` + strings.Repeat(" ", 7<<20) + `}`
	h := map[string]string{"Authorization": "Bearer admin.x.y", "Content-Type": "application/json", "Origin": "https://app.example.com"}
	status, hdr, body := send(t, "POST", f.rest.URL+"/prod/pets", h, padded)
	if status != 413 || body != `{"message":"Request Too Long"}` || hdr.Get("Access-Control-Allow-Origin") != "https://app.example.com" {
		t.Fatalf("7 MB: %d %v %.200s", status, hdr, body)
	}
	status, _, body = send(t, "POST", f.rest.URL+"/prod/pets", h, `{"type":"dog","price":1}`)
	if status != 200 {
		t.Fatalf("small body: %d %.200s", status, body)
	}
	for name, fn := range map[string]func(map[string]any) ([]byte, error){
		"function error": func(map[string]any) ([]byte, error) {
			return []byte(`{"errorMessage":"boom","errorType":"Error"}`), errors.New("function error: boom")
		},
		"malformed response": func(map[string]any) ([]byte, error) { return []byte(`"not a proxy response"`), nil },
	} {
		t.Run(name, func(t *testing.T) {
			f.inv.fn[f.fnPets] = fn
			status, hdr, body := send(t, "GET", f.rest.URL+"/prod/pets", map[string]string{"Authorization": "Bearer regular.x.y", "Origin": "https://app.example.com"}, "")
			if status != 502 || body != `{"message":"Internal server error"}` || hdr.Get("Access-Control-Allow-Origin") != "https://app.example.com" {
				t.Fatalf("%d %v %s", status, hdr, body)
			}
		})
	}
}

// TestRESTAuthorizerResponseLimit: an authorizer response over 8 KB (a token
// with many scopes copied into the context) fails the request with 500, as
// API Gateway refuses it; one just under passes.
func TestRESTAuthorizerResponseLimit(t *testing.T) {
	f := newFixture(t)
	answer := func(scopeBytes int) func(map[string]any) ([]byte, error) {
		return func(ev map[string]any) ([]byte, error) {
			arn := ev["methodArn"].(string)
			return json.Marshal(map[string]any{"principalId": "u1",
				"policyDocument": map[string]any{"Version": "2012-10-17", "Statement": []any{map[string]any{"Action": "execute-api:Invoke", "Effect": "Allow", "Resource": arn}}},
				"context":        map[string]any{"scope": strings.Repeat("s", scopeBytes)}})
		}
	}
	probe, _ := answer(0)(map[string]any{"methodArn": "arn:aws:execute-api:us-east-1:000000000000:" + f.restAPI.apiID + "/prod/GET/pets"})
	overhead := len(probe)
	for _, tt := range []struct {
		name  string
		scope int
		want  int
	}{
		{"8 KB exactly", MaxAuthorizerResponse - overhead, 200},
		{"one byte over", MaxAuthorizerResponse - overhead + 1, 500},
	} {
		t.Run(tt.name, func(t *testing.T) {
			f.inv.fn[f.fnAuth] = answer(tt.scope)
			status, _, body := send(t, "GET", f.rest.URL+"/prod/pets", map[string]string{"Authorization": fmt.Sprintf("Bearer t.%d.x", tt.scope)}, "")
			if status != tt.want {
				t.Fatalf("%d %s, want %d", status, body, tt.want)
			}
			if status == 500 && body != `{"message":null}` {
				t.Fatalf("body %s", body)
			}
		})
	}
}

// TestVTLRefusesWhatItCannotEvaluate: a mapping template beyond the CORS
// preflight's is an error at start, not a wrong answer.
func TestVTLRefusesWhatItCannotEvaluate(t *testing.T) {
	for _, src := range []string{"$input.json('$')", "#foreach($x in $y)#end", "#if($a == \"b\")", "#end"} {
		if _, err := parseVTL(src); err == nil {
			t.Errorf("%q accepted", src)
		}
	}
	p, err := parseVTL("#set($o = $input.params().header.get(\"Origin\"))#if($o == \"a\" || $o == \"b\")#set($context.responseOverride.header.X-Y = $o)#end")
	if err != nil {
		t.Fatal(err)
	}
	for origin, want := range map[string]string{"a": "a", "b": "b", "c": ""} {
		req := httptest.NewRequest("OPTIONS", "/", nil)
		req.Header.Set("Origin", origin)
		if _, o := p.run(req); o["X-Y"] != want {
			t.Errorf("origin %s: overrides %v", origin, o)
		}
	}
}

func tplResource(typ string, props map[string]any) template.Resource {
	return template.Resource{Type: typ, Properties: props}
}
