package stack

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/secure-api-go/apigw-jwt/internal/gobuild"
	"github.com/secure-api-go/apigw-jwt/internal/procs"
	"github.com/secure-api-go/apigw-jwt/internal/testjwt"
	"github.com/secure-api-go/apigw-jwt/local/lambdahost"
	"github.com/secure-api-go/apigw-jwt/local/template"
)

// TestRunJWKSSeeds runs the real jwksseed binary under the Lambda host, as
// the local run does, against a loopback IdP, and checks that the
// authorizer's JWKS_JSON then resolves to the IdP's key - an EC key when
// the seed's Algorithms property (a list the template resolves) says ES256 -
// and that a wrong JWKS URL stops the run with CloudFormation's FAILED reason.
func TestRunJWKSSeeds(t *testing.T) {
	root, err := gobuild.ModuleRoot(".")
	if err != nil {
		t.Fatal(err)
	}
	bin, err := gobuild.Build(gobuild.Options{Dir: root, Package: "./lambdas/jwksseed", OutDir: t.TempDir(), GOOS: runtime.GOOS, GOARCH: runtime.GOARCH})
	if err != nil {
		t.Fatal(err)
	}
	idp, err := testjwt.New("local-key")
	if err != nil {
		t.Fatal(err)
	}
	defer idp.Close()
	raw, err := os.ReadFile("testdata/seed.template.json")
	if err != nil {
		t.Fatal(err)
	}
	missing := httptest.NewServer(http.NotFoundHandler())
	defer missing.Close()
	// An IdP publishing an RSA and an EC key.
	ec, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	point, _ := ec.PublicKey.Bytes()
	b64 := base64.RawURLEncoding.EncodeToString
	both, _ := json.Marshal(map[string]any{"keys": []any{testjwt.JWK("local-key", &idp.Key.PublicKey),
		map[string]string{"kty": "EC", "crv": "P-256", "kid": "local-ec", "use": "sig", "alg": "ES256", "x": b64(point[1:33]), "y": b64(point[33:])}}})
	var bothRequests atomic.Int64
	mixed := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		bothRequests.Add(1)
		w.Write(both)
	}))
	defer mixed.Close()
	for _, tc := range []struct {
		name, issuer, wantErr string
		algorithms            []any  // the seed's Algorithms property; nil: absent (RS256)
		wantKid, notKid       string // in JWKS_JSON, and not
		requests              *atomic.Int64
	}{
		{name: "seeded", issuer: idp.Server.URL + "/pool", wantKid: "local-key", requests: &idp.Requests},
		{name: "RSA and EC keys, RS256 by default", issuer: mixed.URL + "/pool", wantKid: "local-key", notKid: "local-ec", requests: &bothRequests},
		{name: "RSA and EC keys, ES256", issuer: mixed.URL + "/pool", algorithms: []any{"ES256"}, wantKid: "local-ec", notKid: "local-key", requests: &bothRequests},
		{name: "wrong URL", issuer: missing.URL + "/pool", wantErr: "FAILED"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tpl, err := template.Parse(raw)
			if err != nil {
				t.Fatal(err)
			}
			tpl.Attrs["Pool.ProviderURL"] = tc.issuer
			if tc.algorithms != nil {
				tpl.Resources["Seed"].Properties["Algorithms"] = tc.algorithms
			}
			dir := t.TempDir()
			os.MkdirAll(filepath.Join(dir, "logs"), 0o755)
			s := &Stack{opts: Options{StateDir: dir}, Template: tpl, Functions: map[string]string{},
				Host:     &lambdahost.Host{},
				dynalite: &procs.Dynalite{Endpoint: "http://127.0.0.1:1"}}
			defer func() { // what Stop does, without dynalite
				s.Host.Stop()
				for _, srv := range s.servers {
					srv.Close()
				}
				closeLogs()
			}()
			var before int64
			if tc.requests != nil {
				before = tc.requests.Load()
			}
			started, err := s.runJWKSSeeds(context.Background(), map[string]string{"SeedFn": bin})
			if !started["SeedFn"] {
				t.Errorf("started %v, want SeedFn", started)
			}
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) || !strings.Contains(err.Error(), tc.issuer+"/.well-known/jwks.json") {
					t.Fatalf("error %v, want %s naming the JWKS URL", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if n := tc.requests.Load() - before; n != 1 {
				t.Errorf("%d JWKS requests, want 1", n)
			}
			env, err := s.functionEnv("AuthorizerFn")
			if err != nil {
				t.Fatal(err)
			}
			if !strings.Contains(env["JWKS_JSON"], `"kid":"`+tc.wantKid+`"`) || tc.notKid != "" && strings.Contains(env["JWKS_JSON"], tc.notKid) || strings.Contains(env["JWKS_JSON"], "x5c") {
				t.Fatalf("JWKS_JSON %q", env["JWKS_JSON"])
			}
			if tpl.Attrs["Seed.KeyCount"] != "1" || tpl.Refs["Seed"] != "jwks-seed-Seed" {
				t.Errorf("attrs %v refs %v", tpl.Attrs, tpl.Refs["Seed"])
			}
		})
	}
}
