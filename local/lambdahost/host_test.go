package lambdahost

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"os"
	"runtime"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"

	"github.com/secure-api-go/apigw-jwt/internal/gobuild"
)

// startPretoken runs the real pretoken bootstrap under the host.
func startPretoken(t *testing.T, instances int) *Host {
	t.Helper()
	root, err := gobuild.ModuleRoot(".")
	if err != nil {
		t.Fatal(err)
	}
	bin, err := gobuild.Build(gobuild.Options{Dir: root, Package: "./lambdas/pretoken", OutDir: t.TempDir(), GOARCH: runtime.GOARCH})
	if err != nil {
		t.Fatal(err)
	}
	h := &Host{}
	if err := h.Start([]Function{{Name: "pretoken", Binary: bin, Instances: instances}}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(h.Stop)
	return h
}

func TestInvokeRealBinary(t *testing.T) {
	h := startPretoken(t, 2)
	event, _ := os.ReadFile("../../lambdas/internal/pretoken/testdata/v2.json")
	var wg sync.WaitGroup
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			out, err := h.Invoke(context.Background(), "pretoken", event)
			if err != nil {
				t.Error(err)
				return
			}
			if !strings.Contains(string(out), `"scopesToAdd":["regular-1example23456789"]`) {
				t.Errorf("response %s", out)
			}
		}()
	}
	wg.Wait()

	// A function error comes back as Lambda's error payload.
	out, err := h.Invoke(context.Background(), "pretoken", []byte(`{"version":"9"}`))
	if !errors.Is(err, ErrFunction) || !strings.Contains(ErrorMessage(out), "unsupported event version") {
		t.Fatalf("function error: %v %s", err, out)
	}
	if _, err := h.Invoke(context.Background(), "nope", nil); err == nil {
		t.Fatal("unknown function invoked")
	}
}

// signed is an Invoke API request signed as the AWS SDKs sign it (SigV4).
func signed(t *testing.T, url string, body []byte) *http.Request {
	t.Helper()
	req, _ := http.NewRequest(http.MethodPost, url, bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	sum := sha256.Sum256(body)
	if err := v4.NewSigner().SignHTTP(context.Background(), aws.Credentials{AccessKeyID: "local", SecretAccessKey: "local"}, req, hex.EncodeToString(sum[:]), "lambda", "us-east-1", time.Now()); err != nil {
		t.Fatal(err)
	}
	return req
}

func TestInvokeAPI(t *testing.T) {
	h := startPretoken(t, 1)
	srv := httptest.NewServer(h.InvokeAPI())
	defer srv.Close()
	url := srv.URL + "/2015-03-31/functions/pretoken/invocations"
	event, _ := os.ReadFile("../../lambdas/internal/pretoken/testdata/v1.json")
	resp, err := http.DefaultClient.Do(signed(t, url, event))
	if err != nil {
		t.Fatal(err)
	}
	var body map[string]any
	json.NewDecoder(resp.Body).Decode(&body)
	if resp.StatusCode != 200 || resp.Header.Get("X-Amz-Function-Error") != "" || body["response"] == nil {
		t.Fatalf("status %d, body %v", resp.StatusCode, body)
	}
	resp, _ = http.DefaultClient.Do(signed(t, url, []byte(`{"version":"9"}`)))
	if resp.Header.Get("X-Amz-Function-Error") != "Unhandled" {
		t.Fatalf("function error not flagged: %v", resp.Header)
	}
}

// TestInvokeAPIRefusesBrowsersAndUnsigned: a web page on any site can POST
// text/plain to a loopback port without a preflight; the Invoke API must not
// run the function for it, nor for any request without the SDK's
// Authorization header, and a CORS preflight must fail.
func TestInvokeAPIRefusesBrowsersAndUnsigned(t *testing.T) {
	h := startPretoken(t, 1)
	srv := httptest.NewServer(h.InvokeAPI())
	defer srv.Close()
	url := srv.URL + "/2015-03-31/functions/pretoken/invocations"
	event, _ := os.ReadFile("../../lambdas/internal/pretoken/testdata/v1.json")
	tests := []struct {
		name   string
		req    func() *http.Request
		status int
		reason string
	}{
		{"cross-site text/plain POST", func() *http.Request {
			r, _ := http.NewRequest(http.MethodPost, url, bytes.NewReader(event))
			r.Header.Set("Content-Type", "text/plain")
			r.Header.Set("Origin", "https://evil.example")
			return r
		}, 403, "browser"},
		{"no Authorization header", func() *http.Request {
			r, _ := http.NewRequest(http.MethodPost, url, bytes.NewReader(event))
			r.Header.Set("Content-Type", "application/json")
			return r
		}, 403, "Authorization"},
		{"signed but with an Origin", func() *http.Request {
			r := signed(t, url, event)
			r.Header.Set("Origin", "http://localhost:3000")
			return r
		}, 403, "browser"},
		{"Origin null (sandboxed frame)", func() *http.Request {
			r := signed(t, url, event)
			r.Header.Set("Origin", "null")
			return r
		}, 403, "browser"},
		{"empty Origin header", func() *http.Request {
			r := signed(t, url, event)
			r.Header["Origin"] = []string{""}
			return r
		}, 403, "browser"},
		{"CORS preflight", func() *http.Request {
			r, _ := http.NewRequest(http.MethodOptions, url, nil)
			r.Header.Set("Origin", "https://evil.example")
			r.Header.Set("Access-Control-Request-Method", "POST")
			r.Header.Set("Access-Control-Request-Headers", "authorization")
			return r
		}, 403, "browser"},
		{"SDK-signed call", func() *http.Request { return signed(t, url, event) }, 200, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := h.Invocations("pretoken")
			resp, err := http.DefaultClient.Do(tt.req())
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			var body struct {
				Message string `json:"message"`
			}
			json.NewDecoder(resp.Body).Decode(&body)
			if resp.StatusCode != tt.status {
				t.Fatalf("status %d, want %d (%s)", resp.StatusCode, tt.status, body.Message)
			}
			if resp.Header.Get("Access-Control-Allow-Origin") != "" {
				t.Errorf("CORS header granted: %v", resp.Header)
			}
			invoked := h.Invocations("pretoken") - before
			if tt.status == 403 {
				if invoked != 0 || !strings.Contains(body.Message, tt.reason) || resp.Header.Get("Content-Type") != "application/json" {
					t.Errorf("refusal: invoked %d times, %s message %q", invoked, resp.Header.Get("Content-Type"), body.Message)
				}
			} else if invoked != 1 {
				t.Errorf("allowed call invoked the function %d times", invoked)
			}
		})
	}
}

func TestStopLeavesNoProcess(t *testing.T) {
	h := startPretoken(t, 2)
	pids := h.PIDs()
	if len(pids) != 2 {
		t.Fatalf("pids %v", pids)
	}
	h.Stop()
	for _, pid := range pids {
		if err := syscall.Kill(pid, 0); err == nil {
			t.Errorf("process %d still running after Stop", pid)
		}
	}
}

// TestRuntimeAPIServesOnlyItsProcess: a browser page (Origin) or a DNS
// rebinding attack (another Host) cannot take an event off the queue or
// answer it; the function's own process, which calls 127.0.0.1:<port>, can.
func TestRuntimeAPIServesOnlyItsProcess(t *testing.T) {
	h := startPretoken(t, 1)
	addr := h.funcs["pretoken"].listener.Addr().String()
	next := "http://" + addr + "/2018-06-01/runtime/invocation/next"
	tests := []struct {
		name         string
		method, path string
		origin, host string
	}{
		{"next from a page", "GET", next, "https://evil.example", ""},
		{"next through DNS rebinding", "GET", next, "", "evil.example:" + strings.Split(addr, ":")[1]},
		{"a forged response", "POST", "http://" + addr + "/2018-06-01/runtime/invocation/some-id/response", "", "localhost:1"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req, _ := http.NewRequest(tt.method, tt.path, strings.NewReader(`{"principalId":"x"}`))
			if tt.origin != "" {
				req.Header.Set("Origin", tt.origin)
			}
			if tt.host != "" {
				req.Host = tt.host
			}
			ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
			defer cancel()
			resp, err := http.DefaultClient.Do(req.WithContext(ctx))
			if err != nil {
				t.Fatalf("%v (a request that is not refused waits for an event)", err)
			}
			resp.Body.Close()
			if resp.StatusCode != http.StatusForbidden {
				t.Fatalf("status %d, want 403", resp.StatusCode)
			}
		})
	}
	// The function's own process still gets its events.
	event, _ := os.ReadFile("../../lambdas/internal/pretoken/testdata/v1.json")
	if _, err := h.Invoke(context.Background(), "pretoken", event); err != nil {
		t.Fatalf("invocation after the refusals: %v", err)
	}
}
