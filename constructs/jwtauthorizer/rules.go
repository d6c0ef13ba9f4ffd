package jwtauthorizer

import (
	"encoding/json"
	"fmt"
	"regexp"
	"slices"
	"strings"

	"github.com/secure-api-go/apigw-jwt/lambdas/policy"
)

// Rule grants Method on Resource to a token that holds one of Scopes, OR is
// in one of Groups, OR whose audience (aud; client_id when it has no aud) is
// one of Clients, OR to any valid token when AnyToken is set. Several rules
// for one method and resource add up. A method no rule grants is refused
// (403): the rules are an allow-list. It is one element of the authorizer's
// SCOPE_RULES.
type Rule struct {
	// Method: GET, POST, PUT, PATCH, DELETE, HEAD or OPTIONS (no "*": name
	// each method, so a verb added later is not granted by accident). Required.
	Method string `json:"method"`
	// Resource is the API's resource path as declared: "/", "/pets",
	// "/pets/{petId}", "/files/{path+}". Required.
	Resource string `json:"resource"`
	// Scopes: a token holding one of them is granted. Default: none.
	Scopes []string `json:"scopes,omitempty"`
	// Groups: a token whose groups claim (cognito:groups) holds one of them
	// is granted. Default: none.
	Groups []string `json:"groups,omitempty"`
	// Clients: a token issued to one of these audiences or app client ids is
	// granted. Default: none.
	Clients []string `json:"clients,omitempty"`
	// AnyToken grants every valid token; it excludes the other three.
	// Default: false.
	AnyToken bool `json:"anyToken,omitempty"`
}

// Methods a Rule may name.
var Methods = []string{"GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"}

// A resource path: "/" or "/"-separated segments, each a literal or a
// {param}, and last only a greedy {param+}; no IAM wildcard in a literal.
var resourceRE = regexp.MustCompile(`^/$|^(/([A-Za-z0-9._~\-]+|\{[A-Za-z0-9_]+\}))*(/\{[A-Za-z0-9_]+\+\})?$`)

func validateRules(rules []Rule) error {
	if len(rules) == 0 {
		return fmt.Errorf("no rules: Rules is empty: every call would be refused; give a Rule for each method that uses the authorizer")
	}
	for i, r := range rules {
		name := fmt.Sprintf("Rules[%d] (%s %s)", i, r.Method, r.Resource)
		if !slices.Contains(Methods, r.Method) {
			return fmt.Errorf("%s: Method %q: want one of %s (no \"*\" or ANY: name each method)", name, r.Method, strings.Join(Methods, ", "))
		}
		if !resourceRE.MatchString(r.Resource) {
			return fmt.Errorf("%s: Resource %q: want a resource path like /, /pets, /pets/{petId} or /files/{path+}", name, r.Resource)
		}
		some := len(r.Scopes) > 0 || len(r.Groups) > 0 || len(r.Clients) > 0
		if !r.AnyToken && !some {
			return fmt.Errorf("%s grants nothing: give Scopes, Groups, Clients or AnyToken", name)
		}
		if r.AnyToken && some {
			return fmt.Errorf("%s: AnyToken grants every valid token, so its Scopes, Groups and Clients would be ignored: drop one or the other", name)
		}
		for _, v := range slices.Concat(r.Scopes, r.Groups, r.Clients) {
			if v == "" || strings.ContainsAny(v, " \"\\") {
				return fmt.Errorf("%s: %q is not a valid scope, group or client (no space, '\"' or '\\')", name, v)
			}
		}
	}
	// The authorizer checks the rules again at cold start (scope syntax,
	// overlaps of path parameters under IAM's '*'): what it would refuse,
	// the synth refuses, with the same words.
	if _, err := policyRules(rules); err != nil {
		return fmt.Errorf("the authorizer would refuse these Rules at cold start: %v", err)
	}
	return nil
}

// policyRules are rules as the authorizer reads them from SCOPE_RULES.
func policyRules(rules []Rule) ([]policy.Rule, error) {
	b, err := json.Marshal(rules)
	if err != nil {
		return nil, err
	}
	return policy.ParseRules(string(b))
}

// segments splits a resource path into its segments, a {param} as "{}" and
// a greedy {param+} as "{+}", so templates compare whatever the names.
func segments(path string) []string {
	var out []string
	for _, s := range strings.Split(strings.Trim(path, "/"), "/") {
		switch {
		case s == "":
		case strings.HasPrefix(s, "{") && strings.HasSuffix(s, "+}"):
			out = append(out, "{+}")
		case strings.HasPrefix(s, "{") && strings.HasSuffix(s, "}"):
			out = append(out, "{}")
		default:
			out = append(out, s)
		}
	}
	return out
}

// reaches reports whether a rule for resource rule could allow some request
// to the API resource api: segment by segment, a literal matches itself, a
// {param} any one segment, a greedy {param+} the rest; an API resource's
// greedy segment is matched by a greedy rule only.
func reaches(rule, api string) bool {
	r, a := segments(rule), segments(api)
	for i, seg := range r {
		if seg == "{+}" {
			return i < len(a)
		}
		if i >= len(a) || a[i] == "{+}" || seg != "{}" && seg != a[i] {
			return false
		}
	}
	return len(r) == len(a)
}

// endpoint is one method or route that uses the authorizer.
type endpoint struct {
	method   string // a verb, or ANY
	resource string
	path     string // construct path, for messages
}

func (e endpoint) String() string { return e.method + " " + e.resource }

// allows reports whether rule r could allow a call to e.
func (e endpoint) allows(r Rule) bool {
	return (e.method == "ANY" || e.method == r.Method) && reaches(r.Resource, e.resource)
}

// check compares the rules with the endpoints that use the authorizer.
func check(rules []Rule, used []endpoint) []string {
	var errs []string
	for _, e := range used {
		if !slices.ContainsFunc(rules, e.allows) {
			errs = append(errs, fmt.Sprintf("%s (%s) uses this authorizer, but no rule could allow it: every call would be refused (403). Add a Rule{Method: %q, Resource: %q, ...}, or protect it otherwise",
				e, e.path, ruleMethod(e.method), e.resource))
		}
	}
	names := make([]string, len(used))
	for i, e := range used {
		names[i] = e.String()
	}
	for i, r := range rules {
		if !slices.ContainsFunc(used, func(e endpoint) bool { return e.allows(r) }) {
			on := "no method or route uses this authorizer"
			if len(names) > 0 {
				on = "the ones that use it are " + strings.Join(names, ", ")
			}
			errs = append(errs, fmt.Sprintf("Rules[%d] (%s %s) names no method of the API that uses this authorizer (%s): fix its Method or Resource, or drop it", i, r.Method, r.Resource, on))
		}
	}
	return errs
}

func ruleMethod(m string) string {
	if m == "ANY" {
		return "GET"
	}
	return m
}
