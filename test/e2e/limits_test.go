package e2e

import (
	"context"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/secure-api-go/apigw-jwt/local/stack"
)

// checkLimits drives the running stack over the limits AWS documents:
//   - a 7 MB body passes API Gateway's 10 MB and the model, but not Lambda's
//     6 MB invoke quota (https://docs.aws.amazon.com/lambda/latest/dg/gettingstarted-limits.html):
//     413 "Request Too Long", and the PetStore Lambda never runs;
//   - GET / (a MOCK with passthrough NEVER) refuses a non-JSON Content-Type
//     with 415 (https://docs.aws.amazon.com/apigateway/latest/developerguide/integration-passthrough-behaviors.html).
//
// The stack having started at all shows every function's environment fits
// Lambda's 4 KB (lambdahost refuses one that does not).
func checkLimits(t *testing.T, ctx context.Context, root string, s *stack.Stack) {
	t.Helper()
	target := LocalTarget(root, s)
	r := &runner{t: target, client: &http.Client{Timeout: 60 * time.Second}}
	tok, err := r.login(ctx, target.Admin)
	if err != nil {
		t.Fatalf("login: %v", err)
	}
	do := func(method, url, contentType, token, body string) (int, string) {
		t.Helper()
		req, _ := http.NewRequestWithContext(ctx, method, url, strings.NewReader(body))
		if contentType != "" {
			req.Header.Set("Content-Type", contentType)
		}
		if token != "" {
			req.Header.Set("Authorization", "Bearer "+token)
		}
		resp, err := r.client.Do(req)
		if err != nil {
			t.Fatalf("%s %s: %v", method, url, err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	before := target.Invocations("petstore")
	padded := `{"type":"dog","price":1` + strings.Repeat(" ", 7<<20) + `}`
	if status, body := do("POST", target.RESTAPIURL+"/pets", "application/json", tok.id, padded); status != 413 || body != `{"message":"Request Too Long"}` {
		t.Errorf("7 MB POST /pets: %d %.200s, want 413 Request Too Long", status, body)
	}
	if n := target.Invocations("petstore") - before; n != 0 {
		t.Errorf("the PetStore Lambda ran %d times for a 7 MB event", n)
	}
	for ct, want := range map[string]int{"": 200, "application/json": 200, "text/plain": 415} {
		if status, body := do("GET", target.RESTAPIURL+"/", ct, "", ""); status != want {
			t.Errorf("GET / with Content-Type %q: %d %.200s, want %d", ct, status, body, want)
		}
	}
}
