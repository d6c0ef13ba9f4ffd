package main

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/secure-api-go/apigw-jwt/internal/testjwt"
)

// buildAndEvent builds the real authorizer binary, starts a loopback JWKS,
// and writes an event carrying a valid token.
func buildAndEvent(tb testing.TB) (bin, event string, env []string) {
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
	env = []string{"ISSUER=" + issuer, "JWKS_URI=" + idp.JWKSURI(), "AUDIENCE=c1",
		`SCOPE_RULES=[{"method":"POST","resource":"/pets","scopes":["admin-c1"]}]`}
	return bin, event, env
}

func TestInvokeOnce(t *testing.T) {
	bin, event, env := buildAndEvent(t)
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
// JWKS fetch over loopback, verification and the printed policy. It reports
// the peak resident memory of the process as peak-MB.
func BenchmarkColdStart(b *testing.B) {
	bin, event, env := buildAndEvent(b)
	var peakKB int64
	for b.Loop() {
		cmd := exec.Command(bin, "-event", event)
		cmd.Env = env
		if out, err := cmd.CombinedOutput(); err != nil {
			b.Fatalf("%v\n%s", err, out)
		}
		if ru, ok := cmd.ProcessState.SysUsage().(*syscall.Rusage); ok && ru.Maxrss > peakKB {
			peakKB = ru.Maxrss
		}
	}
	b.ReportMetric(float64(peakKB)/1024, "peak-MB")
}
