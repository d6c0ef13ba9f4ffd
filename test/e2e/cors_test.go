package e2e

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/secure-api-go/apigw-jwt/internal/gobuild"
	"github.com/secure-api-go/apigw-jwt/internal/procs"
	"github.com/secure-api-go/apigw-jwt/local/stack"
)

const (
	corsApp   = "https://app.example.com"
	corsAdmin = "https://admin.example.com"
	corsEvil  = "https://evil.example"
)

// TestLocalStackCORS synthesizes the stack with corsOrigins (as
// `make local CONTEXT="corsOrigins=..."` does) into a temporary cdk.out,
// starts it, and sends what a browser sends: preflights and requests with an
// Origin, to both APIs. It checks what the browser would see: the
// Access-Control-Allow-Origin it compares with its own origin.
func TestLocalStackCORS(t *testing.T) {
	root, err := gobuild.ModuleRoot(".")
	if err != nil {
		t.Fatal(err)
	}
	cdkOut := filepath.Join(t.TempDir(), "cdk.out")
	cdk, err := procs.NodeBin(root, "cdk")
	if err != nil {
		t.Fatal(err)
	}
	synth := exec.Command(cdk, "synth", "--quiet", "--output", cdkOut, "-c", "corsOrigins="+corsApp+","+corsAdmin)
	synth.Dir = root
	synth.Env = append(os.Environ(), "JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION=20", "JSII_SILENCE_WARNING_DEPRECATED_NODE_VERSION=1", "JSII_SILENCE_WARNING_UNTESTED_NODE_VERSION=1")
	if out, err := synth.CombinedOutput(); err != nil {
		t.Fatalf("cdk synth with corsOrigins: %v\n%s", err, out)
	}
	var progress bytes.Buffer
	ctx := context.Background()
	s, err := stack.Start(ctx, stack.Options{ModuleRoot: root, CDKOut: cdkOut, StateDir: t.TempDir(), Progress: &progress, Instances: 1})
	if err != nil {
		t.Fatalf("start: %v\n%s", err, progress.String())
	}
	defer s.Stop()
	target := LocalTarget(root, s)
	r := &runner{t: target, client: &http.Client{Timeout: 10 * time.Second}}
	tok, err := r.login(ctx, target.Regular)
	if err != nil {
		t.Fatalf("login: %v", err)
	}
	type answer struct {
		status int
		header http.Header
		body   string
	}
	send := func(method, url string, h map[string]string) answer {
		t.Helper()
		req, _ := http.NewRequestWithContext(ctx, method, url, nil)
		for k, v := range h {
			req.Header.Set(k, v)
		}
		resp, err := r.client.Do(req)
		if err != nil {
			t.Fatalf("%s %s: %v", method, url, err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return answer{resp.StatusCode, resp.Header, string(b)}
	}
	preflight := func(url, origin, method string) answer {
		return send("OPTIONS", url, map[string]string{"Origin": origin, "Access-Control-Request-Method": method, "Access-Control-Request-Headers": "authorization"})
	}
	allow := func(a answer) string { return a.header.Get("Access-Control-Allow-Origin") }

	t.Run("HTTP API", func(t *testing.T) {
		url := target.HTTPAPIURL + "/RegularUser"
		for _, origin := range []string{corsApp, corsAdmin} {
			if a := preflight(url, origin, "GET"); a.status != 204 || allow(a) != origin || !strings.Contains(a.header.Get("Access-Control-Allow-Headers"), "Authorization") {
				t.Errorf("preflight from %s: %d %v", origin, a.status, a.header)
			}
			if a := send("GET", url, map[string]string{"Origin": origin, "Authorization": "Bearer " + tok.id}); a.status != 200 || allow(a) != origin {
				t.Errorf("GET from %s: %d %v %s", origin, a.status, a.header, a.body)
			}
		}
		if a := preflight(url, corsEvil, "GET"); allow(a) != "" {
			t.Errorf("preflight from %s allowed: %v", corsEvil, a.header)
		}
		if a := send("GET", url, map[string]string{"Origin": corsEvil, "Authorization": "Bearer " + tok.id}); allow(a) != "" {
			t.Errorf("GET from %s allowed: %v", corsEvil, a.header)
		}
	})

	t.Run("REST API", func(t *testing.T) {
		url := target.RESTAPIURL + "/pets"
		// The CDK's preflight mock: the first origin statically, the others
		// through the response override; an origin not listed gets the first
		// one, which the browser refuses.
		for origin, want := range map[string]string{corsApp: corsApp, corsAdmin: corsAdmin, corsEvil: corsApp} {
			a := preflight(url, origin, "POST")
			if a.status != 204 || allow(a) != want || a.header.Get("Vary") != "Origin" || !strings.Contains(a.header.Get("Access-Control-Allow-Methods"), "POST") {
				t.Errorf("preflight from %s: %d %v, want Access-Control-Allow-Origin %s", origin, a.status, a.header, want)
			}
		}
		// A real request: the PetStore Lambda answers the CORS headers of an
		// allowed origin itself (a proxy integration); never another origin.
		for _, origin := range []string{corsApp, corsAdmin, corsEvil} {
			a := send("GET", url, map[string]string{"Origin": origin, "Authorization": "Bearer " + tok.id})
			if a.status != 200 {
				t.Fatalf("GET /pets from %s: %d %s", origin, a.status, a.body)
			}
			if got := allow(a); got != "" && got != origin {
				t.Errorf("GET /pets from %s: Access-Control-Allow-Origin %q, another origin's", origin, got)
			}
			if origin == corsEvil && allow(a) == corsEvil {
				t.Errorf("GET /pets allowed %s", corsEvil)
			}
		}
		// The gateway's own 401 carries what the template's gateway response declares.
		a := send("GET", url, map[string]string{"Origin": corsApp})
		if a.status != 401 {
			t.Fatalf("GET /pets without a token: %d", a.status)
		}
		want := gatewayResponseHeader(s, "UNAUTHORIZED", "Access-Control-Allow-Origin")
		if want == "method.request.header.Origin" {
			want = corsApp
		}
		if allow(a) != want {
			t.Errorf("401: Access-Control-Allow-Origin %q, the template's gateway response says %q", allow(a), want)
		}
	})
}

// gatewayResponseHeader is what the template's gateway response of typ
// (else DEFAULT_4XX) maps header from: a static value unquoted, or the
// mapping expression ("" when none).
func gatewayResponseHeader(s *stack.Stack, typ, header string) string {
	for _, want := range []string{typ, "DEFAULT_4XX"} {
		for _, id := range s.Template.OfType("AWS::ApiGateway::GatewayResponse") {
			p := s.Template.Resources[id].Properties
			if p["ResponseType"] != want {
				continue
			}
			params, _ := p["ResponseParameters"].(map[string]any)
			v, _ := params["gatewayresponse.header."+header].(string)
			return strings.Trim(v, "'")
		}
	}
	return ""
}
