package policy

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"
)

const arnGetPets = "arn:aws:execute-api:eu-west-1:123456789012:abc123/prod/GET/pets"

var adminRule = []Rule{{Method: "POST", Resource: "/pets", Scopes: []string{"admin-c1"}}}

// allows evaluates a policy the way API Gateway does for one method ARN:
// an explicit Deny wins, then an Allow must match. '*' matches any run of characters.
func allows(t *testing.T, stmts []statement, methodARN string) bool {
	t.Helper()
	allowed := false
	for _, s := range stmts {
		for _, r := range s.Resource {
			if !globMatch(r, methodARN) {
				continue
			}
			if s.Effect == "Deny" {
				return false
			}
			allowed = true
		}
	}
	return allowed
}

type statement struct {
	Effect   string
	Resource []string
}

func globMatch(pattern, s string) bool {
	if pattern == "" {
		return s == ""
	}
	if pattern[0] == '*' {
		for i := 0; i <= len(s); i++ {
			if globMatch(pattern[1:], s[i:]) {
				return true
			}
		}
		return false
	}
	return s != "" && pattern[0] == s[0] && globMatch(pattern[1:], s[1:])
}

func statements(t *testing.T, principal string, scopes []string, rules []Rule, askedARN string) []statement {
	t.Helper()
	arn, err := ParseMethodARN(askedARN)
	if err != nil {
		t.Fatal(err)
	}
	resp := Build(principal, arn, scopes, rules, map[string]any{"sub": principal})
	if resp.PrincipalID != principal {
		t.Fatalf("principalId = %q", resp.PrincipalID)
	}
	var out []statement
	for _, s := range resp.PolicyDocument.Statement {
		if len(s.Action) != 1 || s.Action[0] != "execute-api:Invoke" {
			t.Fatalf("action = %q", s.Action)
		}
		out = append(out, statement{s.Effect, s.Resource})
	}
	return out
}

func TestCachedPolicyCoversTheStage(t *testing.T) {
	base := "arn:aws:execute-api:eu-west-1:123456789012:abc123/prod/"
	tests := []struct {
		name   string
		scopes []string
		asked  string
		check  string
		want   bool
	}{
		{"policy for GET /pets allows GET /pets/7", []string{"regular-c1"}, base + "GET/pets", base + "GET/pets/7", true},
		{"policy for GET /pets/7 allows GET /pets", []string{"regular-c1"}, base + "GET/pets/7", base + "GET/pets", true},
		{"regular denied POST /pets", []string{"regular-c1"}, base + "GET/pets", base + "POST/pets", false},
		{"regular denied POST /pets when asked first", []string{"regular-c1"}, base + "POST/pets", base + "POST/pets", false},
		{"regular still allowed GET after POST was asked", []string{"regular-c1"}, base + "POST/pets", base + "GET/pets", true},
		{"admin allowed POST /pets", []string{"admin-c1", "regular-c1"}, base + "GET/pets", base + "POST/pets", true},
		{"no scopes may GET", nil, base + "GET/pets", base + "GET/pets/1", true},
		{"another stage is not covered", []string{"admin-c1"}, base + "GET/pets", "arn:aws:execute-api:eu-west-1:123456789012:abc123/test/GET/pets", false},
		{"another API is not covered", []string{"admin-c1"}, base + "GET/pets", "arn:aws:execute-api:eu-west-1:123456789012:zzz999/prod/GET/pets", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			st := statements(t, "sub-1", tt.scopes, adminRule, tt.asked)
			if got := allows(t, st, tt.check); got != tt.want {
				t.Fatalf("allows(%s) = %v, want %v; policy %+v", tt.check, got, tt.want, st)
			}
		})
	}
}

func TestPathParameterRules(t *testing.T) {
	rules := []Rule{{Method: "DELETE", Resource: "/pets/{petId}", Scopes: []string{"admin-c1"}}, {Method: "*", Resource: "/admin/*", Scopes: []string{"admin-c1"}}}
	base := "arn:aws:execute-api:eu-west-1:123456789012:abc123/prod/"
	st := statements(t, "u", []string{"regular-c1"}, rules, base+"GET/pets")
	for arn, want := range map[string]bool{
		base + "DELETE/pets/7":     false,
		base + "GET/pets/7":        true,
		base + "GET/admin/users":   false,
		base + "POST/admin/a/b":    false,
		base + "GET/administrator": true,
	} {
		if got := allows(t, st, arn); got != want {
			t.Errorf("allows(%s) = %v, want %v", arn, got, want)
		}
	}
}

func TestPolicySizeStaysSmall(t *testing.T) {
	var rules []Rule
	for _, m := range []string{"GET", "POST", "PUT", "PATCH", "DELETE"} {
		for _, r := range []string{"/pets", "/pets/{petId}", "/owners", "/owners/{ownerId}/pets"} {
			rules = append(rules, Rule{Method: m, Resource: r, Scopes: []string{"admin-0123456789abcdefghijklmnop"}})
		}
	}
	arn, _ := ParseMethodARN(arnGetPets)
	resp := Build("11111111-2222-3333-4444-555555555555", arn, nil, rules, map[string]any{"sub": "x", "scope": strings.Repeat("s", 200)})
	b, _ := json.Marshal(resp)
	// API Gateway rejects authorizer responses whose policy grows too large; stay well below 8 KB.
	if len(b) > 4096 {
		t.Fatalf("policy with 20 denied rules is %d bytes", len(b))
	}
}

func TestParseRules(t *testing.T) {
	tests := []struct {
		name, in, wantErr string
		want              int
	}{
		{"empty", "", "", 0},
		{"one", `[{"method":"POST","resource":"/pets","scopes":["admin-c"]}]`, "", 1},
		{"path param", `[{"method":"GET","resource":"/pets/{petId}","scopes":["a"]}]`, "", 1},
		{"bad method", `[{"method":"FETCH","resource":"/pets","scopes":["a"]}]`, "method", 0},
		{"bad resource", `[{"method":"GET","resource":"pets","scopes":["a"]}]`, "resource", 0},
		{"no scopes", `[{"method":"GET","resource":"/pets","scopes":[]}]`, "scopes is empty", 0},
		{"scope with space", `[{"method":"GET","resource":"/pets","scopes":["a b"]}]`, "not a valid scope", 0},
		{"unknown field", `[{"method":"GET","resource":"/pets","scope":"a"}]`, "JSON array", 0},
		{"not json", `POST /pets admin`, "JSON array", 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rules, err := ParseRules(tt.in)
			if tt.wantErr != "" {
				if !errors.Is(err, ErrRules) || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v, want ErrRules with %q", err, tt.wantErr)
				}
				return
			}
			if err != nil || len(rules) != tt.want {
				t.Fatalf("rules = %v, err = %v", rules, err)
			}
		})
	}
}

func TestParseMethodARN(t *testing.T) {
	m, err := ParseMethodARN("arn:aws-cn:execute-api:cn-north-1:123456789012:abc123/prod/GET/pets/7")
	if err != nil {
		t.Fatal(err)
	}
	if m.Base != "arn:aws-cn:execute-api:cn-north-1:123456789012:abc123" || m.Stage != "prod" || m.Verb != "GET" || m.Path != "pets/7" {
		t.Fatalf("parsed %+v", m)
	}
	if m.StageARN() != "arn:aws-cn:execute-api:cn-north-1:123456789012:abc123/prod/*" {
		t.Fatalf("StageARN = %s", m.StageARN())
	}
	for _, bad := range []string{"", "arn:aws:lambda:eu-west-1:1:function:x", "arn:aws:execute-api:eu-west-1:1:abc", "arn:aws:execute-api:eu-west-1:1:abc/prod", "not-an-arn"} {
		if _, err := ParseMethodARN(bad); !errors.Is(err, ErrMethodARN) {
			t.Errorf("ParseMethodARN(%q) err = %v", bad, err)
		}
	}
}
