package iampolicy

import (
	"encoding/json"
	"strings"
	"testing"
)

func TestMatch(t *testing.T) {
	tests := []struct {
		pattern, s string
		want       bool
	}{
		{"", "", true},
		{"", "a", false},
		{"abc", "abc", true},
		{"abc", "abd", false},
		{"abc", "ab", false},
		{"*", "", true},
		{"*", "any/thing/at all", true},
		{"a*", "a", true},
		{"a*c", "abbbc", true},
		{"a*c", "abbbd", false},
		{"GET/pets/*", "GET/pets/7", true},
		{"GET/pets/*", "GET/pets/7/owner", true}, // '*' spans '/'
		{"GET/pets/*", "GET/pets/", true},        // and matches nothing at all
		{"GET/pets/*", "GET/pets", false},
		{"GET/pets", "GET/PETS", false}, // resources are case-sensitive
		{"GET/pets", "GET/pets/", false},
		{"?", "", false},
		{"?", "a", true},
		{"?", "ab", false},
		{"GET/pets/?", "GET/pets/7", true},
		{"GET/pets/?", "GET/pets/77", false},
		{"a?c*", "abcdef", true},
		{"*a*b*c*", "xxaxxbxxcxx", true},
		{"*a*b*c*", "xxaxxcxxbxx", false},
		{"a*", "*", false},
		{"*", "*", true},
		{"a\\*", "a\\x", true}, // no escapes in IAM: '\' is literal, '*' still a wildcard
		{strings.Repeat("*a", 30) + "b", strings.Repeat("a", 200), false},
	}
	for _, tt := range tests {
		if got := Match(tt.pattern, tt.s); got != tt.want {
			t.Errorf("Match(%q, %q) = %v, want %v", tt.pattern, tt.s, got, tt.want)
		}
	}
}

func TestEvaluate(t *testing.T) {
	const arn = "arn:aws:execute-api:us-east-1:1:api/prod/GET/pets/7"
	allowStage := `{"Effect":"Allow","Action":"execute-api:Invoke","Resource":"arn:aws:execute-api:us-east-1:1:api/prod/*"}`
	tests := []struct {
		name   string
		stmts  []string
		action string
		want   Decision
	}{
		{"allow stage", []string{allowStage}, "execute-api:Invoke", Allow},
		{"deny wins over allow", []string{allowStage, `{"Effect":"Deny","Action":"execute-api:Invoke","Resource":["arn:aws:execute-api:us-east-1:1:api/prod/GET/pets/*"]}`}, "execute-api:Invoke", ExplicitDeny},
		{"deny first still wins", []string{`{"Effect":"Deny","Action":"*","Resource":"*"}`, allowStage}, "execute-api:Invoke", ExplicitDeny},
		{"deny elsewhere", []string{allowStage, `{"Effect":"Deny","Action":"execute-api:Invoke","Resource":"arn:aws:execute-api:us-east-1:1:api/prod/POST/pets"}`}, "execute-api:Invoke", Allow},
		{"allow another method only", []string{`{"Effect":"Allow","Action":"execute-api:Invoke","Resource":"arn:aws:execute-api:us-east-1:1:api/prod/GET/pets"}`}, "execute-api:Invoke", ImplicitDeny},
		{"? wildcard and action wildcard", []string{`{"Effect":"Allow","Action":"execute-api:*","Resource":"arn:aws:execute-api:us-east-1:1:api/prod/GET/pets/?"}`}, "execute-api:Invoke", Allow},
		{"action case-insensitive", []string{`{"Effect":"Allow","Action":"EXECUTE-API:invoke","Resource":"*"}`}, "execute-api:Invoke", Allow},
		{"other action", []string{`{"Effect":"Allow","Action":"s3:GetObject","Resource":"*"}`}, "execute-api:Invoke", ImplicitDeny},
		{"deny of another action does not apply", []string{allowStage, `{"Effect":"Deny","Action":"s3:*","Resource":"*"}`}, "execute-api:Invoke", Allow},
		{"unknown effect matches nothing", []string{`{"Effect":"allow","Action":"*","Resource":"*"}`}, "execute-api:Invoke", ImplicitDeny},
		{"list of resources", []string{`{"Effect":"Allow","Action":["execute-api:Invoke"],"Resource":["x","arn:aws:execute-api:us-east-1:1:api/prod/GET/pets/*"]}`}, "execute-api:Invoke", Allow},
		{"another stage", []string{`{"Effect":"Allow","Action":"execute-api:Invoke","Resource":"arn:aws:execute-api:us-east-1:1:api/test/*"}`}, "execute-api:Invoke", ImplicitDeny},
		{"empty", nil, "execute-api:Invoke", ImplicitDeny},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var doc Document
			if err := json.Unmarshal([]byte(`{"Version":"2012-10-17","Statement":[`+strings.Join(tt.stmts, ",")+`]}`), &doc); err != nil {
				t.Fatal(err)
			}
			if got := Evaluate(doc, tt.action, arn); got != tt.want {
				t.Fatalf("Evaluate = %v, want %v", got, tt.want)
			}
		})
	}
}

func TestStringsRejectsOtherJSON(t *testing.T) {
	var s Strings
	if err := json.Unmarshal([]byte(`{"a":1}`), &s); err == nil {
		t.Fatalf("object accepted as Strings: %v", s)
	}
}
