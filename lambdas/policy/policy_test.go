package policy

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"github.com/aws/aws-lambda-go/events"

	"github.com/secure-api-go/apigw-jwt/internal/iampolicy"
)

const (
	base       = "arn:aws:execute-api:eu-west-1:123456789012:abc123/prod/"
	arnGetPets = base + "GET/pets"
	appClient  = "app123"
	adminScope = "admin-app123"
	petsRead   = "petstore/pets.read"
	petsWrite  = "petstore/pets.write"
)

// stackRules are the rules the stack writes (see infra.AuthorizerRules).
var stackRules = []Rule{
	{Method: "GET", Resource: "/pets", Clients: []string{appClient}, Scopes: []string{petsRead, petsWrite}},
	{Method: "GET", Resource: "/pets/{petId}", Clients: []string{appClient}, Scopes: []string{petsRead, petsWrite}},
	{Method: "POST", Resource: "/pets", Scopes: []string{adminScope, petsWrite}},
}

var (
	regularUser  = Token{Scopes: []string{"regular-app123"}, Audience: []string{appClient}}
	adminUser    = Token{Scopes: []string{adminScope, "regular-app123"}, Audience: []string{appClient}}
	userAccess   = Token{Scopes: []string{"regular-app123"}, ClientID: appClient}
	machineRead  = Token{Scopes: []string{petsRead}, ClientID: "m2m"}
	machineWrite = Token{Scopes: []string{petsWrite}, ClientID: "m2m"}
	machineNone  = Token{ClientID: "m2m"}
	otherClient  = Token{Scopes: []string{adminScope}, Audience: []string{"someone-else"}}
	// A token for another audience whose client_id names the app client: the
	// audience is aud when there is one, so client_id does not qualify it.
	otherAudAppClientID = Token{Audience: []string{"partner-api"}, ClientID: appClient}
)

// document converts the authorizer's response into what IAM evaluates.
func document(t testing.TB, resp events.APIGatewayCustomAuthorizerResponse) iampolicy.Document {
	t.Helper()
	b, err := json.Marshal(resp.PolicyDocument)
	if err != nil {
		t.Fatal(err)
	}
	var doc iampolicy.Document
	if err := json.Unmarshal(b, &doc); err != nil {
		t.Fatal(err)
	}
	return doc
}

func build(t testing.TB, tok Token, rules []Rule, asked string) (iampolicy.Document, int) {
	t.Helper()
	arn, err := ParseMethodARN(asked)
	if err != nil {
		t.Fatal(err)
	}
	resp, granted := Build("sub-1", arn, tok, rules, map[string]any{"sub": "sub-1"})
	if resp.PrincipalID != "sub-1" || resp.Context["sub"] != "sub-1" {
		t.Fatalf("response %+v", resp)
	}
	return document(t, resp), granted
}

func allowed(doc iampolicy.Document, arn string) bool {
	return iampolicy.Evaluate(doc, "execute-api:Invoke", arn) == iampolicy.Allow
}

// escapes are spellings and methods that must never be allowed without the
// admin scope: each one reached the PetStore under the old Allow-stage-minus-Deny policy.
var escapes = []string{
	base + "POST/pets", base + "POST/pets/", base + "POST//pets", base + "POST/pets%2F", base + "POST/PETS",
	base + "PUT/pets/1", base + "PATCH/pets/1", base + "DELETE/pets/1", base + "DELETE/pets",
	base + "POST/pets/1", base + "OPTIONS/pets", base + "HEAD/pets", base + "GET/PETS", base + "GET//pets",
	"arn:aws:execute-api:eu-west-1:123456789012:abc123/test/GET/pets",
	"arn:aws:execute-api:eu-west-1:123456789012:abc123/test/POST/pets",
	"arn:aws:execute-api:eu-west-1:123456789012:zzz999/prod/GET/pets",
	"arn:aws:execute-api:us-east-1:123456789012:abc123/prod/GET/pets",
	"arn:aws:execute-api:eu-west-1:999999999999:abc123/prod/GET/pets",
}

func TestAllowList(t *testing.T) {
	reads := []string{base + "GET/pets", base + "GET/pets/", base + "GET/pets/1", base + "GET/pets/1/"}
	tests := []struct {
		name  string
		tok   Token
		allow []string // everything else in reads, writes and escapes is denied
	}{
		{"regular user (ID token of the app client)", regularUser, reads},
		{"regular user (access token, client_id)", userAccess, reads},
		{"admin user", adminUser, append([]string{base + "POST/pets", base + "POST/pets/"}, reads...)},
		{"machine with pets.read", machineRead, reads},
		{"machine with pets.write", machineWrite, append([]string{base + "POST/pets", base + "POST/pets/"}, reads...)},
		{"machine without scopes", machineNone, nil},
		{"admin scope for another audience", otherClient, []string{base + "POST/pets", base + "POST/pets/"}},
		{"another aud with the app client's client_id", otherAudAppClientID, nil},
	}
	every := append(append([]string{}, reads...), escapes...)
	for _, tt := range tests {
		for _, asked := range []string{arnGetPets, base + "POST/pets", base + "GET/pets/7"} {
			t.Run(tt.name+" asked "+strings.TrimPrefix(asked, base), func(t *testing.T) {
				doc, _ := build(t, tt.tok, stackRules, asked)
				for _, arn := range every {
					want := false
					for _, a := range tt.allow {
						want = want || a == arn
					}
					if got := allowed(doc, arn); got != want {
						t.Errorf("%s: allowed = %v, want %v; policy %+v", arn, got, want, doc.Statement)
					}
					if m, err := ParseMethodARN(arn); err == nil && strings.HasPrefix(arn, base) && Allows(m, tt.tok, stackRules) != want {
						t.Errorf("%s: Allows = %v, want %v", arn, !want, want)
					}
				}
			})
		}
	}
}

// TestGroupRules: a rule naming groups grants its method to a token in one
// of them, and to no other.
func TestGroupRules(t *testing.T) {
	rules, err := ParseRules(`[{"method":"GET","resource":"/pets","anyToken":true},{"method":"POST","resource":"/pets","groups":["admin"]}]`)
	if err != nil {
		t.Fatal(err)
	}
	post, _ := ParseMethodARN(base + "POST/pets")
	tests := []struct {
		name string
		tok  Token
		want bool
	}{
		{"in the group", Token{Groups: []string{"regular", "admin"}}, true},
		{"another group", Token{Groups: []string{"regular"}}, false},
		{"a scope named like the group", Token{Scopes: []string{"admin"}}, false},
		{"a group of another case", Token{Groups: []string{"Admin"}}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			doc, _ := build(t, tt.tok, rules, arnGetPets)
			if got := allowed(doc, base+"POST/pets"); got != tt.want || Allows(post, tt.tok, rules) != tt.want {
				t.Fatalf("POST /pets allowed = %v (Allows %v), want %v; policy %+v", got, Allows(post, tt.tok, rules), tt.want, doc.Statement)
			}
		})
	}
}

func TestPolicyShape(t *testing.T) {
	doc, granted := build(t, adminUser, stackRules, arnGetPets)
	if granted != 3 || len(doc.Statement) != 1 || doc.Statement[0].Effect != "Allow" {
		t.Fatalf("granted %d, policy %+v", granted, doc.Statement)
	}
	want := []string{base + "GET/pets", base + "GET/pets/", base + "GET/pets/*", base + "POST/pets", base + "POST/pets/"}
	if got := doc.Statement[0].Resource; strings.Join(got, " ") != strings.Join(want, " ") {
		t.Fatalf("resources %q, want %q", got, want)
	}
	for _, r := range doc.Statement[0].Resource {
		if strings.Contains(r, "?") || strings.HasSuffix(r, "/prod/*") {
			t.Fatalf("pattern %q: no '?' and never the whole stage", r)
		}
	}
	// Entitled to nothing: a valid token, so 403 (a Deny), not 401.
	doc, granted = build(t, machineNone, stackRules, arnGetPets)
	if granted != 0 || len(doc.Statement) != 1 || doc.Statement[0].Effect != "Deny" || doc.Statement[0].Resource[0] != base+"*" {
		t.Fatalf("granted %d, policy %+v", granted, doc.Statement)
	}
	if d := iampolicy.Evaluate(doc, "execute-api:Invoke", arnGetPets); d != iampolicy.ExplicitDeny {
		t.Fatalf("decision %v", d)
	}
	// No rules at all: nothing is allowed either.
	if doc, _ = build(t, adminUser, nil, arnGetPets); allowed(doc, arnGetPets) {
		t.Fatalf("no rules allowed %s", arnGetPets)
	}
}

func TestRulePatterns(t *testing.T) {
	rules := []Rule{
		{Method: "GET", Resource: "/", AnyToken: true},
		{Method: "GET", Resource: "/owners/{ownerId}/pets", AnyToken: true},
		{Method: "GET", Resource: "/files/{path+}", AnyToken: true},
		{Method: "DELETE", Resource: "/pets/{petId}", Scopes: []string{adminScope}},
	}
	if err := Validate(rules); err != nil {
		t.Fatal(err)
	}
	doc, _ := build(t, regularUser, rules, arnGetPets)
	for arn, want := range map[string]bool{
		base + "GET/":               true,
		base + "GET//":              false,
		base + "GET/owners/7/pets":  true,
		base + "GET/owners/7/pets/": true,
		base + "GET/owners/7":       false,
		base + "GET/owners/7/cats":  false,
		base + "GET/files/a/b/c":    true,
		base + "GET/files":          false,
		base + "DELETE/pets/7":      false,
		base + "GET/pets":           false,
	} {
		if got := allowed(doc, arn); got != want {
			t.Errorf("allowed(%s) = %v, want %v", arn, got, want)
		}
	}
}

func TestPolicySizeStaysSmall(t *testing.T) {
	var rules []Rule
	for _, m := range Methods[:5] {
		for _, r := range []string{"/pets", "/pets/{petId}", "/owners", "/owners/{ownerId}/pets"} {
			rules = append(rules, Rule{Method: m, Resource: r, Scopes: []string{"admin-0123456789abcdefghijklmnop"}})
		}
	}
	arn, _ := ParseMethodARN(arnGetPets)
	resp, granted := Build("11111111-2222-3333-4444-555555555555", arn, Token{Scopes: []string{"admin-0123456789abcdefghijklmnop"}}, rules, map[string]any{"sub": "x", "scope": strings.Repeat("s", 200)})
	b, _ := json.Marshal(resp)
	// API Gateway rejects authorizer responses whose policy grows too large; stay well below 8 KB.
	if granted != 20 || len(b) > 4096 {
		t.Fatalf("policy granting %d methods is %d bytes", granted, len(b))
	}
}

func TestParseRules(t *testing.T) {
	tests := []struct {
		name, in, wantErr string
		want              int
	}{
		{"empty: nothing granted", "", "", 0},
		{"empty array", "[]", "", 0},
		{"scopes", `[{"method":"POST","resource":"/pets","scopes":["admin-c"]}]`, "", 1},
		{"clients", `[{"method":"GET","resource":"/pets","clients":["c1","https://api.example.com"]}]`, "", 1},
		{"anyToken", `[{"method":"GET","resource":"/","anyToken":true}]`, "", 1},
		{"groups", `[{"method":"POST","resource":"/pets","groups":["admin","pets admins"]}]`, "", 1},
		{"empty group", `[{"method":"POST","resource":"/pets","groups":[""]}]`, "group", 0},
		{"group with a newline", `[{"method":"POST","resource":"/pets","groups":["a\nb"]}]`, "control character", 0},
		{"anyToken with groups", `[{"method":"GET","resource":"/pets","anyToken":true,"groups":["a"]}]`, "ignored", 0},
		{"a group reaching a resource granting less", `[{"method":"GET","resource":"/pets/{petId}","groups":["g"]},{"method":"GET","resource":"/pets","scopes":["a"]}]`, "also matches requests to GET /pets", 0},
		{"path param", `[{"method":"GET","resource":"/pets/{petId}","scopes":["a"]}]`, "", 1},
		{"the stack's rules", `[{"method":"GET","resource":"/pets","clients":["c"],"scopes":["petstore/pets.read","petstore/pets.write"]},{"method":"GET","resource":"/pets/{petId}","clients":["c"],"scopes":["petstore/pets.read","petstore/pets.write"]},{"method":"POST","resource":"/pets","scopes":["admin-c","petstore/pets.write"]}]`, "", 3},
		{"wildcard method", `[{"method":"*","resource":"/pets","scopes":["a"]}]`, `no "*"`, 0},
		{"bad method", `[{"method":"FETCH","resource":"/pets","scopes":["a"]}]`, "method", 0},
		{"lower-case method", `[{"method":"get","resource":"/pets","scopes":["a"]}]`, "method", 0},
		{"relative resource", `[{"method":"GET","resource":"pets","scopes":["a"]}]`, "resource", 0},
		{"wildcard resource", `[{"method":"GET","resource":"/pets/*","scopes":["a"]}]`, "resource", 0},
		{"? in resource", `[{"method":"GET","resource":"/pets?","scopes":["a"]}]`, "resource", 0},
		{"trailing slash", `[{"method":"GET","resource":"/pets/","scopes":["a"]}]`, "resource", 0},
		{"empty segment", `[{"method":"GET","resource":"//pets","scopes":["a"]}]`, "resource", 0},
		{"greedy not last", `[{"method":"GET","resource":"/{a+}/b","scopes":["a"]}]`, "resource", 0},
		{"grants nothing", `[{"method":"GET","resource":"/pets","scopes":[]}]`, "grants nothing", 0},
		{"anyToken false grants nothing", `[{"method":"GET","resource":"/pets","anyToken":false}]`, "grants nothing", 0},
		{"anyToken with scopes", `[{"method":"GET","resource":"/pets","anyToken":true,"scopes":["a"]}]`, "ignored", 0},
		{"scope with space", `[{"method":"GET","resource":"/pets","scopes":["a b"]}]`, "not a valid scope", 0},
		{"empty client", `[{"method":"GET","resource":"/pets","clients":[""]}]`, "not a valid audience", 0},
		{"unknown field", `[{"method":"GET","resource":"/pets","scope":"a"}]`, "JSON array", 0},
		{"scopes not a list", `[{"method":"GET","resource":"/pets","scopes":"a"}]`, "JSON array", 0},
		{"trailing data", `[{"method":"GET","resource":"/pets","scopes":["a"]}] []`, "after the JSON array", 0},
		{"null", `null`, "null", 0},
		{"not json", `POST /pets admin`, "JSON array", 0},
		{"parameter reaches the parent's trailing slash", `[{"method":"GET","resource":"/pets/{petId}","anyToken":true},{"method":"GET","resource":"/pets","scopes":["a"]}]`, "also matches requests to GET /pets", 0},
		{"parameter reaches a deeper resource", `[{"method":"GET","resource":"/pets/{petId}","scopes":["a","b"]},{"method":"GET","resource":"/pets/{petId}/owner","scopes":["a"]}]`, "also matches requests to GET /pets/{petId}/owner", 0},
		{"deeper resource granting more is fine", `[{"method":"GET","resource":"/pets/{petId}","scopes":["a"]},{"method":"GET","resource":"/pets/{petId}/owner","scopes":["a","b"]}]`, "", 2},
		{"union of rules counts", `[{"method":"GET","resource":"/pets/{petId}","scopes":["a"]},{"method":"GET","resource":"/pets","scopes":["b"]},{"method":"GET","resource":"/pets","scopes":["a"]}]`, "", 3},
		{"other methods do not overlap", `[{"method":"GET","resource":"/pets/{petId}","anyToken":true},{"method":"POST","resource":"/pets","scopes":["a"]}]`, "", 2},
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

func TestGlobsOverlap(t *testing.T) {
	for _, tt := range []struct {
		p, q string
		want bool
	}{
		{"pets/*", "pets/", true},
		{"pets/*", "pets", false},
		{"pets", "pets/", false},
		{"pets/", "pets/\x01\x02", false},
		{"pets/*", "pets/\x01\x02/owner", true},
		{"pets/*/owner", "pets/\x01\x02", false}, // a parameter's value holds no '/'
		{"pets/*/owner", "pets/\x01*", true},     // a greedy one may
		{"pets/?", "pets/\x01\x02", true},
		{"a*b", "*c", false},
		{"a*b", "*b", true},
		{"*", "", true},
		{"?", "", false},
		{"a?c", "*b*", true},
	} {
		if got := globsOverlap(tt.p, tt.q); got != tt.want {
			t.Errorf("globsOverlap(%q, %q) = %v, want %v", tt.p, tt.q, got, tt.want)
		}
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
