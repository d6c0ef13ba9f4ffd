package stack

import (
	"context"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/secure-api-go/apigw-jwt/internal/gobuild"
	"github.com/secure-api-go/apigw-jwt/internal/procs"
	"github.com/secure-api-go/apigw-jwt/internal/testjwt"
	"github.com/secure-api-go/apigw-jwt/local/lambdahost"
	"github.com/secure-api-go/apigw-jwt/local/template"
)

// TestRunJWKSSeeds runs the real jwksseed binary under the Lambda host, as
// the local run does, against a loopback IdP, and checks that the
// authorizer's JWKS_JSON then resolves to the IdP's key - and that a wrong
// JWKS URL stops the run with CloudFormation's FAILED reason.
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
	for _, tc := range []struct {
		name, issuer, wantErr string
	}{
		{name: "seeded", issuer: idp.Server.URL + "/pool"},
		{name: "wrong URL", issuer: missing.URL + "/pool", wantErr: "FAILED"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tpl, err := template.Parse(raw)
			if err != nil {
				t.Fatal(err)
			}
			tpl.Attrs["Pool.ProviderURL"] = tc.issuer
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
			before := idp.Requests.Load()
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
			if n := idp.Requests.Load() - before; n != 1 {
				t.Errorf("%d JWKS requests, want 1", n)
			}
			env, err := s.functionEnv("AuthorizerFn")
			if err != nil {
				t.Fatal(err)
			}
			if !strings.Contains(env["JWKS_JSON"], `"kid":"local-key"`) || strings.Contains(env["JWKS_JSON"], "x5c") {
				t.Fatalf("JWKS_JSON %q", env["JWKS_JSON"])
			}
			if tpl.Attrs["Seed.KeyCount"] != "1" || tpl.Refs["Seed"] != "jwks-seed-Seed" {
				t.Errorf("attrs %v refs %v", tpl.Attrs, tpl.Refs["Seed"])
			}
		})
	}
}
