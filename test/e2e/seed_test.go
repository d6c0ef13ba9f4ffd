package e2e

import (
	"context"
	"net/http"
	"strconv"
	"testing"
	"time"

	"github.com/secure-api-go/apigw-jwt/internal/seedspec"
	"github.com/secure-api-go/apigw-jwt/local/stack"
)

// checkFirstTokenWithoutJWKS: the local run's authorizer starts with the
// keys the seed custom resource fetched, so its first token is verified with
// no JWKS request (counted by the local stack's proxy in front of
// cognito-local). A token with a kid outside the seed then does make it
// fetch, which shows the counter sees the authorizer's requests.
func checkFirstTokenWithoutJWKS(t *testing.T, ctx context.Context, root string, s *stack.Stack) {
	t.Helper()
	seeds := s.Template.OfType(seedspec.ResourceType)
	if len(seeds) != 1 {
		t.Fatalf("%d %s resources in the template, want 1", len(seeds), seedspec.ResourceType)
	}
	if n, _ := strconv.Atoi(s.Template.Attrs[seeds[0]+"."+seedspec.AttrKeyCount]); n < 1 {
		t.Fatalf("the seed returned %q keys, want at least 1 (see the lambda log of the seed function)", s.Template.Attrs[seeds[0]+"."+seedspec.AttrKeyCount])
	}
	target := LocalTarget(root, s)
	r := &runner{t: target, client: &http.Client{Timeout: 10 * time.Second}}
	tok, err := r.login(ctx, target.Admin)
	if err != nil {
		t.Fatalf("login: %v", err)
	}
	get := func(token string) int {
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, target.RESTAPIURL+"/pets", nil)
		req.Header.Set("Authorization", "Bearer "+token)
		resp, err := r.client.Do(req)
		if err != nil {
			t.Fatalf("GET /pets: %v", err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	if got := get(tok.id); got != http.StatusOK {
		t.Fatalf("GET /pets with the first token: %d, want 200", got)
	}
	if n := target.Invocations("authorizer"); n != 1 {
		t.Fatalf("authorizer invoked %d times, want 1", n)
	}
	if n := s.AuthorizerJWKSRequests(); n != 0 {
		t.Fatalf("the authorizer made %d JWKS request(s) for its first token, want 0: it should start with the seeded keys (JWKS_JSON)", n)
	}
	rotated, err := resign(root, tok.id, "rotated-key", nil)
	if err != nil {
		t.Fatal(err)
	}
	if got := get(rotated); got != http.StatusUnauthorized {
		t.Fatalf("GET /pets with an unknown kid: %d, want 401", got)
	}
	if n := s.AuthorizerJWKSRequests(); n < 1 {
		t.Fatalf("an unknown kid made %d JWKS requests through the counter, want at least 1: the counter does not see the authorizer", n)
	}
}
