package policy

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"testing"
)

// TestAllowsRoute: a simple response is cached per route key and verb, so
// it may be true only when the rules grant every path of the route; a
// route per rule keeps working.
func TestAllowsRoute(t *testing.T) {
	rules := []Rule{
		{Method: "GET", Resource: "/public", AnyToken: true},
		{Method: "GET", Resource: "/admin", Groups: []string{"admin"}},
		{Method: "GET", Resource: "/orders", AnyToken: true},
		{Method: "DELETE", Resource: "/orders", Groups: []string{"admin"}},
		{Method: "GET", Resource: "/pets/{petId}", AnyToken: true},
		{Method: "GET", Resource: "/files/{path+}", Groups: []string{"admin"}},
	}
	everything := []Rule{{Method: "GET", Resource: "/{proxy+}", Groups: []string{"admin"}}}
	regular, admin := Token{Groups: []string{"regular"}}, Token{Groups: []string{"admin"}}
	tests := []struct {
		name, routeKey, verbPath string
		rules                    []Rule
		tok                      Token
		want                     bool
	}{
		{"route per rule", "GET /public", "GET/public", rules, regular, true},
		{"route with a parameter", "GET /pets/{petId}", "GET/pets/7", rules, regular, true},
		{"ANY route, granted verb", "ANY /orders", "GET/orders", rules, regular, true},
		{"ANY route, verb not granted", "ANY /orders", "DELETE/orders", rules, regular, false},
		{"ANY route, admin DELETE", "ANY /orders", "DELETE/orders", rules, admin, true},
		{"greedy route, public path: another path shares the key", "ANY /{proxy+}", "GET/public", rules, regular, false},
		{"greedy route, admin path", "ANY /{proxy+}", "GET/admin", rules, admin, false},
		{"$default, public path", "$default", "GET/public", rules, regular, false},
		{"greedy route covered by a greedy rule", "ANY /{proxy+}", "GET/anything/deep", everything, admin, true},
		{"$default covered by a greedy rule", "$default", "GET/x", everything, admin, true},
		{"$default, token without the greedy grant", "$default", "GET/x", everything, regular, false},
		{"greedy route under a greedy rule", "GET /files/{path+}", "GET/files/a/b", rules, admin, true},
		{"route key verb differs from the request", "POST /public", "GET/public", rules, regular, false},
		{"route key unreadable", "GET", "GET/public", rules, regular, false},
		{"route key empty", "", "GET/public", rules, regular, false},
		{"path not granted at all", "GET /admin", "GET/admin", rules, regular, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			arn, err := ParseMethodARN(base + tt.verbPath)
			if err != nil {
				t.Fatal(err)
			}
			if got := AllowsRoute(tt.routeKey, arn, tt.tok, tt.rules); got != tt.want {
				t.Fatalf("AllowsRoute(%q, %s) = %v, want %v", tt.routeKey, tt.verbPath, got, tt.want)
			}
		})
	}
}

// TestCheckSize: a rule set whose policy, for a token granted every rule,
// could not fit API Gateway's 8 KB response on the longest stage name is
// reported; a short stage fits far more rules; Validate (what the authorizer
// refuses at cold start) does not depend on it.
func TestCheckSize(t *testing.T) {
	many := func(n int) []Rule {
		var rs []Rule
		for i := 0; i < n; i++ {
			rs = append(rs, Rule{Method: "GET", Resource: fmt.Sprintf("/customers/{customerId}/orders%02d", i), AnyToken: true})
		}
		return rs
	}
	tests := []struct {
		name     string
		rules    []Rule
		stageLen int
		ok       bool
	}{
		{"one rule", many(1), 0, true},
		{"15 rules", many(15), 0, true},
		{"17 rules, longest stage", many(17), 0, false},
		{"17 rules, stage prod", many(17), 4, true},
		{"60 rules (the review's set), longest stage", many(60), 0, false},
		{"60 rules, stage prod", many(60), 4, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := CheckSize(tt.rules, tt.stageLen)
			if tt.ok != (err == nil) {
				t.Fatalf("CheckSize: %v (worst case %d bytes), want ok=%v", err, worstCaseSize(tt.rules, tt.stageLen), tt.ok)
			}
			if err != nil && (!errors.Is(err, ErrRules) || !strings.Contains(err.Error(), "fewer rules")) {
				t.Fatalf("error %q: want ErrRules naming the fix", err)
			}
			if err := Validate(tt.rules); err != nil {
				t.Fatalf("Validate refuses by size: %v", err)
			}
		})
	}
	// The bound is a real worst case: the longest stage's policy is larger
	// than a short stage's, and WorstCaseSize is at least as large as it.
	rs := many(15)
	arn := MethodARN{Base: worstCaseARN.Base, Stage: worstCaseARN.Stage}
	resp, _ := Build("", arn, Token{}, anyTokenRules(rs), nil)
	short, _ := Build("", MethodARN{Base: "arn:aws:execute-api:eu-west-1:123456789012:abc123", Stage: "prod"}, Token{}, anyTokenRules(rs), nil)
	if len(resp.PolicyDocument.Statement[0].Resource) != 30 || WorstCaseSize(rs) <= jsonLen(t, short) {
		t.Fatalf("worst case %d bytes, short stage %d", WorstCaseSize(rs), jsonLen(t, short))
	}
}

func jsonLen(t *testing.T, v any) int {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return len(b)
}
