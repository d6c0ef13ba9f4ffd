package lambdahost

import (
	"context"
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

func TestInvokeAPI(t *testing.T) {
	h := startPretoken(t, 1)
	srv := httptest.NewServer(h.InvokeAPI())
	defer srv.Close()
	event, _ := os.ReadFile("../../lambdas/internal/pretoken/testdata/v1.json")
	resp, err := http.Post(srv.URL+"/2015-03-31/functions/pretoken/invocations", "application/json", strings.NewReader(string(event)))
	if err != nil {
		t.Fatal(err)
	}
	var body map[string]any
	json.NewDecoder(resp.Body).Decode(&body)
	if resp.StatusCode != 200 || resp.Header.Get("X-Amz-Function-Error") != "" || body["response"] == nil {
		t.Fatalf("status %d, body %v", resp.StatusCode, body)
	}
	resp, _ = http.Post(srv.URL+"/2015-03-31/functions/pretoken/invocations", "application/json", strings.NewReader(`{"version":"9"}`))
	if resp.Header.Get("X-Amz-Function-Error") != "Unhandled" {
		t.Fatalf("function error not flagged: %v", resp.Header)
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
