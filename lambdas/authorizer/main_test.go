package main

import (
	"encoding/json"
	"encoding/pem"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/secure-api-go/apigw-jwt/internal/testjwt"
)

// buildAndEvent builds the real authorizer binary, starts a loopback JWKS
// (over TLS when tlsJWKS, trusted through SSL_CERT_FILE), and writes an
// event carrying a valid token.
func buildAndEvent(tb testing.TB, tlsJWKS bool) (bin, event string, env []string) {
	tb.Helper()
	dir := tb.TempDir()
	bin = filepath.Join(dir, "bootstrap")
	build := exec.Command("go", "build", "-tags", "lambda.norpc", "-trimpath", "-ldflags", "-s -w", "-o", bin, ".")
	build.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := build.CombinedOutput(); err != nil {
		tb.Fatalf("build: %v\n%s", err, out)
	}
	idp, err := testjwt.New("k1")
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(idp.Close)
	issuer := "https://issuer.example.com/pool"
	tok, err := idp.Sign(jwt.MapClaims{"sub": "s1", "iss": issuer, "aud": "c1", "scope": "admin-c1",
		"iat": time.Now().Unix(), "exp": time.Now().Add(time.Hour).Unix()})
	if err != nil {
		tb.Fatal(err)
	}
	ev, _ := json.Marshal(map[string]string{"type": "TOKEN", "authorizationToken": "Bearer " + tok,
		"methodArn": "arn:aws:execute-api:eu-west-1:123456789012:abc123/prod/GET/pets"})
	event = filepath.Join(dir, "event.json")
	os.WriteFile(event, ev, 0o644)
	env = []string{"ISSUER=" + issuer, "AUDIENCE=c1", `SCOPE_RULES=[{"method":"POST","resource":"/pets","scopes":["admin-c1"]}]`}
	if !tlsJWKS {
		return bin, event, append(env, "JWKS_URI="+idp.JWKSURI())
	}
	srv := httptest.NewTLSServer(idp.Server.Config.Handler)
	tb.Cleanup(srv.Close)
	bundle := filepath.Join(dir, "ca.pem")
	os.WriteFile(bundle, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: srv.Certificate().Raw}), 0o644)
	return bin, event, append(env, "JWKS_URI="+srv.URL+"/.well-known/jwks.json", "SSL_CERT_FILE="+bundle)
}

func TestInvokeOnce(t *testing.T) {
	bin, event, env := buildAndEvent(t, false)
	cmd := exec.Command(bin, "-event", event)
	cmd.Env = env
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	if !strings.Contains(string(out), `"principalId": "s1"`) || !strings.Contains(string(out), `"Effect": "Allow"`) {
		t.Fatalf("output %s", out)
	}
	cmd = exec.Command(bin, "-event", event)
	cmd.Env = []string{"ISSUER=https://x", "JWKS_URI=http://idp.example.com/jwks", "AUDIENCE=c1"}
	out, err = cmd.CombinedOutput()
	if err == nil || !strings.Contains(string(out), "must use https") {
		t.Fatalf("bad configuration not reported at start: %v %s", err, out)
	}
}

// BenchmarkColdStart measures a whole process: start, configuration, first
// JWKS fetch over loopback (plain HTTP, and HTTPS with the CA bundle and a
// TLS handshake), verification and the printed policy. It reports the peak
// resident memory of the process as peak-MB.
func BenchmarkColdStart(b *testing.B) {
	b.Run("http", func(b *testing.B) { coldStart(b, false) })
	b.Run("https", func(b *testing.B) { coldStart(b, true) })
}

func coldStart(b *testing.B, tlsJWKS bool) {
	bin, event, env := buildAndEvent(b, tlsJWKS)
	for b.Loop() {
		cmd := exec.Command(bin, "-event", event)
		cmd.Env = env
		if out, err := cmd.CombinedOutput(); err != nil {
			b.Fatalf("%v\n%s", err, out)
		}
	}
	b.StopTimer()
	if mb, ok := peakMB(bin, event, env); ok {
		b.ReportMetric(mb, "peak-MB")
	}
}

// peakMB runs the binary once under /usr/bin/time, which forks it from a
// small process: the kernel's maxrss of a child started straight from this
// (large) test binary would include the parent's pages. ok is false
// without /usr/bin/time.
func peakMB(bin, event string, env []string) (float64, bool) {
	if _, err := os.Stat("/usr/bin/time"); err != nil {
		return 0, false
	}
	cmd := exec.Command("/usr/bin/time", "-f", "peak-kb=%M", bin, "-event", event)
	cmd.Env = env
	out, err := cmd.CombinedOutput()
	if err != nil {
		return 0, false
	}
	i := strings.LastIndex(string(out), "peak-kb=")
	if i < 0 {
		return 0, false
	}
	kb, err := strconv.Atoi(strings.TrimSpace(string(out[i+len("peak-kb="):])))
	return float64(kb) / 1024, err == nil
}
