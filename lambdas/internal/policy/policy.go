// Package policy builds the IAM policy a REST TOKEN authorizer returns.
//
// API Gateway caches that policy per token for the authorizer's TTL and
// applies it to every method of the API, so the policy must describe the
// whole stage, never just the method asked about: it allows the stage and
// explicitly denies each method whose scope rule the token does not meet.
package policy

import (
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strings"

	"github.com/aws/aws-lambda-go/events"
)

// ErrRules reports a malformed SCOPE_RULES value.
var ErrRules = errors.New("scope rules")

// ErrMethodARN reports a methodArn that is not an execute-api method ARN.
var ErrMethodARN = errors.New("methodArn")

// Rule says that Method on Resource needs one of Scopes. Resource is the API
// Gateway resource path ("/pets", "/pets/{petId}"); path parameters and a
// trailing "*" match any value.
type Rule struct {
	Method   string   `json:"method"`
	Resource string   `json:"resource"`
	Scopes   []string `json:"scopes"`
}

var (
	methodRE   = regexp.MustCompile(`^(\*|GET|POST|PUT|PATCH|DELETE|HEAD|OPTIONS)$`)
	resourceRE = regexp.MustCompile(`^/([A-Za-z0-9._~\-]+|\{[A-Za-z0-9_]+\+?\})?(/([A-Za-z0-9._~\-]+|\{[A-Za-z0-9_]+\+?\}))*(/\*)?$`)
	paramRE    = regexp.MustCompile(`\{[^}]+\}`)
)

// ParseRules reads rules as JSON: [{"method":"POST","resource":"/pets","scopes":["admin-abc"]}].
// An empty string means no rules: every valid token may call every method.
func ParseRules(s string) ([]Rule, error) {
	if strings.TrimSpace(s) == "" {
		return nil, nil
	}
	dec := json.NewDecoder(strings.NewReader(s))
	dec.DisallowUnknownFields()
	var rules []Rule
	if err := dec.Decode(&rules); err != nil {
		return nil, fmt.Errorf("%w: SCOPE_RULES is not a JSON array of {method, resource, scopes}: %v", ErrRules, err)
	}
	for i, r := range rules {
		if !methodRE.MatchString(r.Method) {
			return nil, fmt.Errorf("%w: rule %d: method %q: want GET, POST, PUT, PATCH, DELETE, HEAD, OPTIONS or *", ErrRules, i, r.Method)
		}
		if !resourceRE.MatchString(r.Resource) {
			return nil, fmt.Errorf("%w: rule %d: resource %q: want a path like /pets or /pets/{petId}", ErrRules, i, r.Resource)
		}
		if len(r.Scopes) == 0 {
			return nil, fmt.Errorf("%w: rule %d (%s %s): scopes is empty", ErrRules, i, r.Method, r.Resource)
		}
		for _, sc := range r.Scopes {
			if sc == "" || strings.ContainsAny(sc, " \t\"\\") {
				return nil, fmt.Errorf("%w: rule %d (%s %s): scope %q is not a valid scope token", ErrRules, i, r.Method, r.Resource, sc)
			}
		}
	}
	return rules, nil
}

// MethodARN is a parsed arn:<partition>:execute-api:<region>:<account>:<apiId>/<stage>/<VERB>/<path>.
type MethodARN struct {
	// Base is everything up to and including the api id.
	Base  string
	Stage string
	Verb  string
	Path  string
}

// ParseMethodARN splits an authorizer's methodArn.
func ParseMethodARN(s string) (MethodARN, error) {
	parts := strings.SplitN(s, ":", 6)
	if len(parts) != 6 || parts[0] != "arn" || parts[2] != "execute-api" || parts[3] == "" || parts[4] == "" {
		return MethodARN{}, fmt.Errorf("%w: %q is not an execute-api ARN", ErrMethodARN, s)
	}
	res := strings.SplitN(parts[5], "/", 4)
	if len(res) < 3 || res[0] == "" || res[1] == "" || res[2] == "" {
		return MethodARN{}, fmt.Errorf("%w: %q lacks <apiId>/<stage>/<verb>", ErrMethodARN, s)
	}
	m := MethodARN{Base: strings.Join(parts[:5], ":") + ":" + res[0], Stage: res[1], Verb: res[2]}
	if len(res) == 4 {
		m.Path = res[3]
	}
	return m, nil
}

// StageARN is the ARN pattern for every method of the stage.
func (m MethodARN) StageARN() string { return m.Base + "/" + m.Stage + "/*" }

// Resource is the ARN pattern of a rule's method and resource in this stage.
func (m MethodARN) Resource(r Rule) string {
	path := paramRE.ReplaceAllString(strings.TrimPrefix(r.Resource, "/"), "*")
	return m.Base + "/" + m.Stage + "/" + r.Method + "/" + path
}

// Build returns the response for a verified token: Allow on the whole stage,
// plus one Deny listing every rule the token's scopes do not satisfy.
// Context values must be strings, numbers or booleans; callers pass strings.
func Build(principal string, arn MethodARN, scopes []string, rules []Rule, context map[string]any) events.APIGatewayCustomAuthorizerResponse {
	statements := []events.IAMPolicyStatement{{
		Action:   []string{"execute-api:Invoke"},
		Effect:   "Allow",
		Resource: []string{arn.StageARN()},
	}}
	if denied := Denied(arn, scopes, rules); len(denied) > 0 {
		statements = append(statements, events.IAMPolicyStatement{
			Action:   []string{"execute-api:Invoke"},
			Effect:   "Deny",
			Resource: denied,
		})
	}
	return events.APIGatewayCustomAuthorizerResponse{
		PrincipalID:    principal,
		PolicyDocument: events.APIGatewayCustomAuthorizerPolicy{Version: "2012-10-17", Statement: statements},
		Context:        context,
	}
}

// Denied lists the ARN patterns of the rules none of whose scopes the token holds.
func Denied(arn MethodARN, scopes []string, rules []Rule) []string {
	var out []string
	seen := map[string]bool{}
	for _, r := range rules {
		if holdsAny(scopes, r.Scopes) {
			continue
		}
		res := arn.Resource(r)
		if !seen[res] {
			seen[res] = true
			out = append(out, res)
		}
	}
	return out
}

// holdsAny reports whether the token holds one of the needed scopes. Rules
// for the same method and resource are independent: each must be met.
func holdsAny(have, need []string) bool {
	return slices.ContainsFunc(need, func(n string) bool { return slices.Contains(have, n) })
}
