package apigw

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// TestRESTValidationErrorsReadable: a body the model refuses gets the
// template's BAD_REQUEST_BODY gateway response, valid JSON with the
// validator's detail, and no Lambda runs.
func TestRESTValidationErrorsReadable(t *testing.T) {
	f := newFixture(t)
	f.policyAuthorizer(map[string]bool{"admin.x.y": true})
	tests := []struct{ name, body, want string }{
		{"missing price", `{"type":"dog"}`, `[body: "price" is required]`},
		{"extra field", `{"type":"dog","price":1,"x":1}`, `[body: "x" is not allowed]`},
		{"negative price", `{"type":"dog","price":-1}`, `[body.price: below 0]`},
		{"price as string", `{"type":"dog","price":"1"}`, `[body.price: want number]`},
		{"pattern", `{"type":"d\"og","price":1}`, `[body.type: does not match ^[A-Za-z]+$]`},
		{"not JSON", `dog`, `[body is not JSON]`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := f.inv.count(f.fnPets)
			status, body := do(t, "POST", f.rest.URL+"/prod/pets", "Bearer admin.x.y", tt.body)
			if status != 400 {
				t.Fatalf("status %d %s, want 400", status, body)
			}
			var got map[string]string
			if err := json.Unmarshal([]byte(body), &got); err != nil {
				t.Fatalf("body %s is not JSON: %v", body, err)
			}
			if got["message"] != "Invalid request body" || got["validationErrors"] != tt.want {
				t.Fatalf("body %s, want validationErrors %q", body, tt.want)
			}
			if f.inv.count(f.fnPets) != before {
				t.Fatal("the PetStore Lambda ran for a body the model refuses")
			}
		})
	}
}

// TestRESTDefaultBadRequestBody: without a gateway response in the template
// the emulator answers API Gateway's default.
func TestRESTDefaultBadRequestBody(t *testing.T) {
	f := newFixture(t)
	f.policyAuthorizer(map[string]bool{"admin.x.y": true})
	for _, id := range f.tpl.OfType("AWS::ApiGateway::GatewayResponse") {
		delete(f.tpl.Resources, id)
	}
	api, err := NewRESTAPI(f.tpl, Options{Invoker: f.inv})
	if err != nil {
		t.Fatal(err)
	}
	req := httptest.NewRequest("POST", "/prod/pets", strings.NewReader(`{"type":"dog"}`))
	req.Header.Set("Authorization", "Bearer admin.x.y")
	req.Header.Set("Content-Type", "application/json")
	rec := httptest.NewRecorder()
	api.ServeHTTP(rec, req)
	if rec.Code != 400 || rec.Body.String() != `{"message":"Invalid request body"}` {
		t.Fatalf("%d %s", rec.Code, rec.Body.String())
	}
}

// TestRESTPayloadLimit: API Gateway's REST payload limit is 10 MB; above it
// the answer is 413 before the authorizer or any Lambda runs.
func TestRESTPayloadLimit(t *testing.T) {
	f := newFixture(t)
	f.policyAuthorizer(map[string]bool{"admin.x.y": true})
	pad := func(n int) string {
		b := `{"type":"dog","price":1}`
		return b + strings.Repeat(" ", n-len(b))
	}
	tests := []struct {
		name    string
		body    string
		chunked bool
		want    int
	}{
		{"exactly 10 MB passes", pad(MaxPayloadBytes), false, 200},
		{"one byte more is 413", pad(MaxPayloadBytes + 1), false, 413},
		{"413 without Content-Length too", pad(MaxPayloadBytes + 1), true, 413},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			auth, pets := f.inv.count(f.fnAuth), f.inv.count(f.fnPets)
			f.restAPI.cache = map[string]cachedPolicy{} // the authorizer runs unless refused first
			var r *strings.Reader = strings.NewReader(tt.body)
			req, _ := http.NewRequest("POST", f.rest.URL+"/prod/pets", r)
			if tt.chunked {
				req, _ = http.NewRequest("POST", f.rest.URL+"/prod/pets", struct{ *strings.Reader }{r})
				req.ContentLength = -1
			}
			req.Header.Set("Authorization", "Bearer admin.x.y")
			req.Header.Set("Content-Type", "application/json")
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			var got map[string]any
			json.NewDecoder(resp.Body).Decode(&got)
			if resp.StatusCode != tt.want {
				t.Fatalf("status %d %v, want %d", resp.StatusCode, got, tt.want)
			}
			if tt.want == 413 {
				if got["message"] != "Request Too Long" {
					t.Fatalf("body %v", got)
				}
				if f.inv.count(f.fnAuth) != auth || f.inv.count(f.fnPets) != pets {
					t.Fatal("a request over the limit reached the authorizer or the Lambda")
				}
			}
		})
	}
}
