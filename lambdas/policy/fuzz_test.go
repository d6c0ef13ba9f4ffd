package policy

import (
	"strings"
	"testing"

	"github.com/secure-api-go/apigw-jwt/internal/iampolicy"
	"github.com/secure-api-go/apigw-jwt/internal/scope"
)

// FuzzParseMethodARN checks that any methodArn either fails to parse or
// yields a stage pattern that is a prefix-pattern of the ARN itself, so a
// policy can never reach outside the API and stage it was asked about.
func FuzzParseMethodARN(f *testing.F) {
	for _, s := range []string{arnGetPets, "arn:aws:execute-api:r:a:api/stage/GET/", "arn:aws:execute-api:r:a:api//GET/x", "arn:::::", "arn:aws:execute-api:r:a:a/b/c/d/e/f"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		m, err := ParseMethodARN(s)
		if err != nil {
			return
		}
		if !strings.HasPrefix(s, strings.TrimSuffix(m.StageARN(), "*")) {
			t.Fatalf("stage pattern %q does not cover %q", m.StageARN(), s)
		}
		if strings.Contains(m.Stage, "/") || m.Stage == "" || m.Verb == "" {
			t.Fatalf("parsed %+v from %q", m, s)
		}
	})
}

// FuzzParseRules: any accepted rule set yields patterns inside the stage,
// without '?' and never the whole stage.
func FuzzParseRules(f *testing.F) {
	f.Add(`[{"method":"POST","resource":"/pets","scopes":["admin-c"]}]`)
	f.Add(`[{"method":"GET","resource":"/a/{b}/{c+}","clients":["x"]}]`)
	f.Add(`[{"method":"GET","resource":"/","anyToken":true}]`)
	f.Add(`[]`)
	f.Fuzz(func(t *testing.T, s string) {
		rules, err := ParseRules(s)
		if err != nil {
			return
		}
		m, _ := ParseMethodARN(arnGetPets)
		resp, _ := Build("p", m, Token{}, rules, nil)
		for _, st := range resp.PolicyDocument.Statement {
			for _, r := range st.Resource {
				if st.Effect == "Allow" && (!strings.HasPrefix(r, base) || r == m.StageARN() || strings.Contains(r, "?")) {
					t.Fatalf("Allow %q from %s", r, s)
				}
			}
		}
	})
}

// fuzzResources are the resources of the fuzzed API; fuzzGrants the grants a rule may carry.
var (
	fuzzResources = []string{"/", "/pets", "/pets/{petId}", "/pets/{petId}/owner", "/owners/{ownerId}/pets", "/files/{path+}"}
	fuzzGrants    = []Rule{{AnyToken: true}, {Scopes: []string{"s1"}}, {Scopes: []string{"s2"}}, {Clients: []string{"c1"}}, {Scopes: []string{"s1", "s2"}, Clients: []string{"c2"}}, {Groups: []string{"g1"}}}
)

// FuzzAllowList: whatever the rules (the stack's, or ones built from the
// fuzzer's bytes and accepted by Validate), the token and the method ARN,
// IAM allows the ARN only if the reference matcher - written independently,
// segment by segment - finds a rule for that verb whose resource the path
// spells and which grants the token. Paths that spell no rule's resource for
// the verb reach no method on API Gateway (403 before any policy) and are
// only checked to stay inside the API and stage. Allows (the HTTP API simple
// response) must agree with IAM's reading of the policy on every ARN.
func FuzzAllowList(f *testing.F) {
	f.Add([]byte{}, "POST", "pets/", "regular-app123", "app123", "")
	f.Add([]byte{}, "POST", "/pets", "regular-app123", "app123", "")
	f.Add([]byte{}, "POST", "pets%2F", "", "", "m2m")
	f.Add([]byte{}, "GET", "pets/1/", "petstore/pets.read", "", "m2m")
	f.Add([]byte{}, "DELETE", "pets/1", "admin-app123", "app123", "")
	f.Add([]byte{1, 12, 7, 3}, "GET", "pets/7/owner", "s1", "", "c1")
	f.Add([]byte{2, 10, 20}, "GET", "files/a/b/", "s2", "c2", "")
	f.Add([]byte{5, 4, 30}, "GET", "", "", "", "")
	f.Add([]byte{5, 20, 35}, "POST", "pets/", "g1", "", "")
	f.Fuzz(func(t *testing.T, sel []byte, verb, path, scopes, aud, client string) {
		rules := stackRules
		if len(sel) > 0 {
			rules = nil
			for _, b := range sel {
				g := fuzzGrants[int(b)%len(fuzzGrants)]
				g.Method = Methods[int(b/5)%3] // GET, POST, PUT
				g.Resource = fuzzResources[int(b/15)%len(fuzzResources)]
				rules = append(rules, g)
			}
			if Validate(rules) != nil {
				return
			}
		}
		tok := Token{Scopes: scope.Split(scopes), Groups: scope.Split(scopes), Audience: strings.Split(aud, ","), ClientID: client}
		doc, _ := build(t, tok, rules, arnGetPets)
		for _, arn := range []string{base + verb + "/" + path, "arn:aws:execute-api:eu-west-1:123456789012:abc123/" + path, "arn:aws:execute-api:eu-west-1:123456789012:zzz999/prod/" + verb + "/" + path} {
			allowed := iampolicy.Evaluate(doc, "execute-api:Invoke", arn) == iampolicy.Allow
			if m, err := ParseMethodARN(arn); err == nil && strings.HasPrefix(arn, base) && Allows(m, tok, rules) != allowed {
				t.Fatalf("Allows(%s) = %v, but IAM reads the policy as %v; rules %+v, token %+v", arn, !allowed, allowed, rules, tok)
			}
			if !allowed {
				continue
			}
			rest, ok := strings.CutPrefix(arn, base)
			if !ok {
				t.Fatalf("allowed %s outside the API and stage; policy %+v", arn, doc.Statement)
			}
			v, p, _ := strings.Cut(rest, "/")
			spelled, granted := false, false
			for _, r := range rules {
				if r.Method == v && spells(p, r.Resource) {
					spelled = true
					granted = granted || referenceGrants(r, tok)
				}
			}
			if spelled && !granted {
				t.Fatalf("allowed %s but no rule grants it; rules %+v, token %+v, policy %+v", arn, rules, tok, doc.Statement)
			}
			if !spelled && !slicesContainsVerb(rules, v) {
				t.Fatalf("allowed %s for a verb no rule names", arn)
			}
		}
	})
}

// spells is the reference matcher: does the ARN path (no leading '/') spell
// the resource template, segment by segment, with one trailing slash tolerated?
func spells(path, resource string) bool {
	if path != "" {
		path = strings.TrimSuffix(path, "/")
	}
	var segs, tmpl []string
	if path != "" {
		segs = strings.Split(path, "/")
	}
	if resource != "/" {
		tmpl = strings.Split(resource[1:], "/")
	}
	for i, tp := range tmpl {
		if strings.HasSuffix(tp, "+}") {
			if i >= len(segs) {
				return false
			}
			for _, s := range segs[i:] {
				if s == "" {
					return false
				}
			}
			return true
		}
		if i >= len(segs) || segs[i] == "" {
			return false
		}
		if !strings.HasPrefix(tp, "{") && tp != segs[i] {
			return false
		}
	}
	return len(segs) == len(tmpl)
}

// referenceGrants re-states the grant rule without Rule.Grants.
func referenceGrants(r Rule, t Token) bool {
	if r.AnyToken {
		return true
	}
	for _, s := range r.Scopes {
		for _, h := range t.Scopes {
			if s == h {
				return true
			}
		}
	}
	for _, g := range r.Groups {
		for _, h := range t.Groups {
			if g == h {
				return true
			}
		}
	}
	for _, c := range r.Clients {
		if c == t.ClientID {
			return true
		}
		for _, a := range t.Audience {
			if c == a {
				return true
			}
		}
	}
	return false
}

func slicesContainsVerb(rules []Rule, verb string) bool {
	for _, r := range rules {
		if r.Method == verb {
			return true
		}
	}
	return false
}
