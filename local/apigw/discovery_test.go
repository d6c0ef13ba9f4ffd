package apigw

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/secure-api-go/apigw-jwt/internal/testjwt"
)

// TestHTTPAPIJWTDiscovery: the JWT authorizer finds the keys through the
// jwks_uri of <issuer>/.well-known/openid-configuration, as API Gateway does
// (https://docs.aws.amazon.com/apigateway/latest/developerguide/http-api-jwt-authorizer.html),
// wherever that points; a missing document or one naming another issuer
// refuses every token.
func TestHTTPAPIJWTDiscovery(t *testing.T) {
	f := newFixture(t)
	jwks, _ := json.Marshal(map[string]any{"keys": []any{testjwt.JWK(f.idp.KID, &f.idp.Key.PublicKey)}})
	for _, tt := range []struct {
		name     string
		issuerOf func(base string) string // the discovery document's issuer
		serve    bool                     // serve a discovery document at all
		want     int
	}{
		{"keys at a custom jwks_uri", func(base string) string { return base + "/pool" }, true, 200},
		{"document names another issuer", func(string) string { return "https://other.example.com/pool" }, true, 401},
		{"no discovery document", nil, false, 401},
	} {
		t.Run(tt.name, func(t *testing.T) {
			var keyFetches atomic.Int64
			var srv *httptest.Server
			srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				switch {
				case r.URL.Path == "/pool/.well-known/openid-configuration" && tt.serve:
					json.NewEncoder(w).Encode(map[string]string{"issuer": tt.issuerOf(srv.URL), "jwks_uri": srv.URL + "/keys/custom"})
				case r.URL.Path == "/keys/custom":
					keyFetches.Add(1)
					w.Write(jwks)
				default: // no key set at the fixed Cognito path
					http.NotFound(w, r)
				}
			}))
			defer srv.Close()
			pool := f.tpl.OfType("AWS::Cognito::UserPool")[0]
			f.tpl.Attrs[pool+".ProviderURL"] = srv.URL + "/pool"
			h, err := NewHTTPAPI(f.tpl, Options{Invoker: f.inv, Now: func() time.Time { return f.now }})
			if err != nil {
				t.Fatal(err)
			}
			api := httptest.NewServer(h)
			defer api.Close()
			token := f.token(t, func(c jwt.MapClaims) { c["iss"] = srv.URL + "/pool" })
			status, _, body := send(t, "GET", api.URL+"/claims", map[string]string{"Authorization": "Bearer " + token}, "")
			if status != tt.want {
				t.Fatalf("%d %s, want %d", status, body, tt.want)
			}
			if (keyFetches.Load() > 0) != (tt.want == 200) {
				t.Fatalf("key set fetched %d times", keyFetches.Load())
			}
		})
	}
}
