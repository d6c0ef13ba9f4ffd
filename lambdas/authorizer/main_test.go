package main

import (
	"encoding/json"
	"encoding/pem"
	"errors"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/secure-api-go/apigw-jwt/internal/testjwt"
)

// buildAndEvent builds the real authorizer binary, starts a loopback JWKS
// and writes an event carrying a valid token. jwks is how the binary gets
// its keys: "http" and "https" (trusted through SSL_CERT_FILE) fetch them,
// "seeded" passes them in JWKS_JSON as the deploy-time custom resource does.
// The IdP counts the JWKS requests.
func buildAndEvent(tb testing.TB, jwks string) (bin, event string, env []string, idp *testjwt.IdP) {
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
	switch jwks {
	case "http":
		return bin, event, append(env, "JWKS_URI="+idp.JWKSURI()), idp
	case "seeded":
		seed, _ := json.Marshal(map[string]any{"keys": []map[string]string{testjwt.JWK("k1", &idp.Key.PublicKey)}})
		return bin, event, append(env, "JWKS_URI="+idp.JWKSURI(), "JWKS_JSON="+string(seed)), idp
	}
	srv := httptest.NewTLSServer(idp.Server.Config.Handler)
	tb.Cleanup(srv.Close)
	bundle := filepath.Join(dir, "ca.pem")
	os.WriteFile(bundle, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: srv.Certificate().Raw}), 0o644)
	return bin, event, append(env, "JWKS_URI="+srv.URL+"/.well-known/jwks.json", "SSL_CERT_FILE="+bundle), idp
}

func TestInvokeOnce(t *testing.T) {
	bin, event, env, idp := buildAndEvent(t, "http")
	// A seed holding another kid only: the token's kid must then be fetched.
	other, err := testjwt.New("k0")
	if err != nil {
		t.Fatal(err)
	}
	other.Close()
	seed, _ := json.Marshal(map[string]any{"keys": []map[string]string{testjwt.JWK("k0", &other.Key.PublicKey)}})
	seedEnv := append(slices.Clone(env), "JWKS_JSON="+string(seed))
	tests := []struct {
		name         string
		env          []string
		wantCode     int
		wantOut      []string
		wantRequests int64
	}{
		{"valid token, JWKS fetched", env, 0, []string{`"principalId": "s1"`, `"Effect": "Allow"`}, 1},
		{"valid token, kid not in JWKS_JSON: fetched at once", seedEnv, 0, []string{`"Effect": "Allow"`}, 1},
		{"refused token", append(slices.Clone(env), "AUDIENCE=other"), 1, []string{"error: Unauthorized"}, 1},
		{"every configuration problem, once", []string{"ISSUER=https://x", "TOKEN_ISSUER=https://y", "JWKS_URI=http://idp.example.com/jwks", "JWKS_JSON={", "SCOPE_RULES=nope"}, 2,
			[]string{"5 configuration problem(s)", "TOKEN_ISSUER is an alias of ISSUER", "must use https", "AUDIENCE is empty", "JWKS_JSON is not a usable JWKS", "SCOPE_RULES"}, 0},
		{"ISSUERS beside ISSUER", []string{"ISSUER=https://x", `ISSUERS=[{"issuer":"https://x","jwksUri":"https://x/jwks","audiences":["a"]}]`}, 2,
			[]string{"1 configuration problem(s)", "ISSUERS and ISSUER are both set"}, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			idp.Requests.Store(0)
			cmd := exec.Command(bin, "-event", event)
			cmd.Env = tt.env
			out, err := cmd.CombinedOutput()
			code := 0
			var exit *exec.ExitError
			if errors.As(err, &exit) {
				code = exit.ExitCode()
			} else if err != nil {
				t.Fatal(err)
			}
			if code != tt.wantCode {
				t.Fatalf("exit code %d, want %d\n%s", code, tt.wantCode, out)
			}
			for _, w := range tt.wantOut {
				if n := strings.Count(string(out), w); n != 1 {
					t.Fatalf("output holds %q %d times, want once:\n%s", w, n, out)
				}
			}
			if n := idp.Requests.Load(); n != tt.wantRequests {
				t.Fatalf("%d JWKS requests, want %d", n, tt.wantRequests)
			}
		})
	}
}

// TestSeededColdStartMakesNoRequest: with JWKS_JSON the first token of a
// fresh process is verified without any JWKS request.
func TestSeededColdStartMakesNoRequest(t *testing.T) {
	bin, event, env, idp := buildAndEvent(t, "seeded")
	cmd := exec.Command(bin, "-event", event)
	cmd.Env = env
	out, err := cmd.CombinedOutput()
	if err != nil || !strings.Contains(string(out), `"Effect": "Allow"`) {
		t.Fatalf("%v\n%s", err, out)
	}
	if n := idp.Requests.Load(); n != 0 {
		t.Fatalf("seeded cold start made %d JWKS requests, want 0", n)
	}
}

// BenchmarkColdStart measures a whole process: start, configuration, the
// keys (a JWKS fetch over loopback plain HTTP, over HTTPS with the CA bundle
// and a TLS handshake, or JWKS_JSON with no fetch), verification and the
// printed policy. It reports the median run (median-ms), its CPU time
// (cpu-median-ms), the JWKS requests per run (jwks-req/op) and the peak
// resident memory (peak-MB).
//
// The yardstick "hello" is a Go program that prints one line: what any Go
// process costs on this machine at this moment (a busy machine inflates
// every figure alike).
func BenchmarkColdStart(b *testing.B) {
	b.Run("hello", func(b *testing.B) {
		dir := b.TempDir()
		os.WriteFile(filepath.Join(dir, "main.go"), []byte("package main\n\nimport \"fmt\"\n\nfunc main() { fmt.Println(\"{}\") }\n"), 0o644)
		os.WriteFile(filepath.Join(dir, "go.mod"), []byte("module hello\n\ngo 1.26\n"), 0o644)
		build := exec.Command("go", "build", "-trimpath", "-ldflags", "-s -w", "-o", "hello", ".")
		build.Dir, build.Env = dir, append(os.Environ(), "CGO_ENABLED=0")
		if out, err := build.CombinedOutput(); err != nil {
			b.Fatalf("build: %v\n%s", err, out)
		}
		coldStart(b, filepath.Join(dir, "hello"), nil, nil, nil)
	})
	for _, jwks := range []string{"http", "https", "seeded"} {
		b.Run(jwks, func(b *testing.B) {
			bin, event, env, idp := buildAndEvent(b, jwks)
			coldStart(b, bin, []string{"-event", event}, env, idp)
		})
	}
}

func coldStart(b *testing.B, bin string, args, env []string, idp *testjwt.IdP) {
	if idp != nil {
		idp.Requests.Store(0)
	}
	var runs, cpu []time.Duration
	for b.Loop() {
		cmd := exec.Command(bin, args...)
		cmd.Env = env
		t0 := time.Now()
		out, err := cmd.CombinedOutput()
		runs = append(runs, time.Since(t0))
		if err != nil {
			b.Fatalf("%v\n%s", err, out)
		}
		cpu = append(cpu, cmd.ProcessState.UserTime()+cmd.ProcessState.SystemTime())
	}
	b.StopTimer()
	median := func(d []time.Duration) float64 {
		slices.Sort(d)
		return float64(d[len(d)/2].Microseconds()) / 1000
	}
	b.ReportMetric(median(runs), "median-ms")
	// CPU time (user+system, all threads) hardly moves when other work
	// shares the machine; wall time does.
	b.ReportMetric(median(cpu), "cpu-median-ms")
	if idp == nil {
		return
	}
	b.ReportMetric(float64(idp.Requests.Load())/float64(len(runs)), "jwks-req/op")
	if mb, ok := peakMB(bin, args, env); ok {
		b.ReportMetric(mb, "peak-MB")
	}
}

// peakMB runs the binary once under /usr/bin/time, which forks it from a
// small process: the kernel's maxrss of a child started straight from this
// (large) test binary would include the parent's pages. ok is false
// without /usr/bin/time.
func peakMB(bin string, args, env []string) (float64, bool) {
	if _, err := os.Stat("/usr/bin/time"); err != nil {
		return 0, false
	}
	cmd := exec.Command("/usr/bin/time", append([]string{"-f", "peak-kb=%M", bin}, args...)...)
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
