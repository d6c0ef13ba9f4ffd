package jwtauthorizer

import (
	"fmt"
	"slices"
	"strings"

	"github.com/secure-api-go/apigw-jwt/lambdas/policy"
)

// Rule is one element of the authorizer's allow-list (SCOPE_RULES), the
// type the authorizer itself reads: a token may call Method on Resource when
// it holds one of Scopes, is in one of Groups, was issued to one of Clients,
// or when AnyToken is set. Several rules for one method and resource add up;
// a method no rule grants is refused (403).
type Rule = policy.Rule

// Methods a Rule may name.
var Methods = policy.Methods

func validateRules(rules []Rule) error {
	if len(rules) == 0 {
		return fmt.Errorf("no rules: Rules is empty: every call would be refused; give a Rule for each method that uses the authorizer")
	}
	for i, r := range rules {
		name := fmt.Sprintf("Rules[%d] (%s %s)", i, r.Method, r.Resource)
		if !slices.Contains(Methods, r.Method) {
			return fmt.Errorf("%s: Method %q: want one of %s (no \"*\" or ANY: name each method)", name, r.Method, strings.Join(Methods, ", "))
		}
		if !policy.ValidResource(r.Resource) {
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
	if err := policy.Validate(rules); err != nil {
		return fmt.Errorf("the authorizer would refuse these Rules at cold start: %v", err)
	}
	return nil
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
