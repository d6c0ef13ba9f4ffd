package policy

import (
	"strings"
	"testing"
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

// FuzzParseRules: any accepted rule set yields deny patterns inside the stage.
func FuzzParseRules(f *testing.F) {
	f.Add(`[{"method":"POST","resource":"/pets","scopes":["admin-c"]}]`)
	f.Add(`[{"method":"*","resource":"/a/{b}/*","scopes":["x"]}]`)
	f.Add(`[]`)
	f.Fuzz(func(t *testing.T, s string) {
		rules, err := ParseRules(s)
		if err != nil {
			return
		}
		m, _ := ParseMethodARN(arnGetPets)
		for _, d := range Denied(m, nil, rules) {
			if !strings.HasPrefix(d, m.Base+"/"+m.Stage+"/") {
				t.Fatalf("deny %q outside the stage", d)
			}
		}
	})
}
