package cognito

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/golang-jwt/jwt/v5"
)

// TestDiscoveryDocument: the local Cognito serves, at
// <issuer>/.well-known/openid-configuration, the issuer its tokens carry and
// a jwks_uri that serves the key set, as a Cognito user pool does
// (cognito-local's own document names http://localhost:9229 whatever its port).
func TestDiscoveryDocument(t *testing.T) {
	l := startWithPool(t, t.TempDir(), "discovery")
	issuer := l.Endpoint + "/" + l.PoolID
	auth := login(t, l, "d")
	claims := jwt.MapClaims{}
	if _, _, err := jwt.NewParser().ParseUnverified(aws.ToString(auth.IdToken), claims); err != nil || claims["iss"] != issuer {
		t.Fatalf("token iss %v, want %s (%v)", claims["iss"], issuer, err)
	}
	get := func(url string, v any) {
		t.Helper()
		resp, err := http.Get(url)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		if resp.StatusCode != 200 {
			t.Fatalf("GET %s: %s", url, resp.Status)
		}
		if err := json.NewDecoder(resp.Body).Decode(v); err != nil {
			t.Fatal(err)
		}
	}
	var doc struct {
		Issuer  string `json:"issuer"`
		JWKSURI string `json:"jwks_uri"`
	}
	get(issuer+"/.well-known/openid-configuration", &doc)
	if doc.Issuer != issuer || !strings.HasPrefix(doc.JWKSURI, l.Endpoint+"/") {
		t.Fatalf("discovery %+v, want issuer %s", doc, issuer)
	}
	var jwks struct {
		Keys []map[string]any `json:"keys"`
	}
	get(doc.JWKSURI, &jwks)
	if len(jwks.Keys) == 0 {
		t.Fatalf("jwks_uri %s serves no keys", doc.JWKSURI)
	}
	l.Stop(3 * time.Second)
	if _, err := http.Get(l.Endpoint + "/health"); err == nil {
		t.Fatal("the front still answers after Stop")
	}
}
