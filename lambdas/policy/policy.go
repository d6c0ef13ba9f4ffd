// Package policy holds the authorizer's rules and builds the IAM policy an
// API Gateway Lambda authorizer returns for a verified token.
//
// # How to use it
//
// Write the rules, one per method and resource the API has, and check them
// once at start (ParseRules from JSON, or Validate):
//
//	rules, err := policy.ParseRules(`[
//	  {"method":"GET",  "resource":"/pets",         "scopes":["pets.read"]},
//	  {"method":"GET",  "resource":"/pets/{petId}", "scopes":["pets.read"]},
//	  {"method":"POST", "resource":"/pets",         "groups":["admin"]},
//	  {"method":"GET",  "resource":"/",             "anyToken":true}]`)
//
// For each request, Build turns the method ARN API Gateway sends and what
// the token holds (Token: scopes, groups, accepted audiences) into the
// response; Allows answers the same question for one request, and
// AllowsRoute for every request of an HTTP API route key (simple
// responses, which API Gateway caches per route key and method).
//
//	arn, err := policy.ParseMethodARN(event.MethodArn)
//	resp, granted := policy.Build(claims.Subject, arn, policy.Token{Scopes: ..., Groups: ...}, rules, context)
//
// # The policy
//
// The policy is an allow-list: one Allow statement listing the ARN patterns
// of every method and resource the rules grant the token, and nothing else,
// so a method no rule grants - a verb added to the API later, or a spelling
// no pattern covers - is implicitly denied (403). API Gateway caches the
// policy per token for the authorizer's TTL and applies it to every method of
// the API, so it covers the whole API and stage, never only the method asked
// about; and it never allows the stage as a whole. CheckSize reports rules
// whose policy, for a token granted every rule, could exceed the room API
// Gateway's 8 KB response leaves it (WorstCaseSize, MaxPolicyBytes).
package policy

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"regexp"
	"slices"
	"strings"
	"unicode"

	"github.com/aws/aws-lambda-go/events"

	"github.com/secure-api-go/apigw-jwt/internal/iampolicy"
	"github.com/secure-api-go/apigw-jwt/internal/scope"
)

// ErrRules reports a malformed rule or rule set.
var ErrRules = errors.New("scope rules")

// ErrMethodARN reports a methodArn that is not an execute-api method ARN.
var ErrMethodARN = errors.New("methodArn")

// Methods a rule may name. There is no "*": in an execute-api ARN the verb
// is followed by the path, and IAM's '*' spans '/', so "*/pets" would also
// match "GET/anything/pets"; and expanding "*" to every verb would grant
// verbs added to the API later, the very gap an allow-list closes.
var Methods = []string{"GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"}

// Rule grants Method on Resource to a token that holds one of Scopes, OR is
// in one of Groups, OR whose aud (any entry; client_id when it has no aud)
// is one of Clients, OR to any valid token when AnyToken is set. Several
// rules for the same method and resource add up (a token granted by any of
// them is granted). Resource is an API Gateway resource path (REST) or route
// path (HTTP API): "/", "/pets", "/pets/{petId}", "/files/{path+}".
type Rule struct {
	// Method: GET, POST, PUT, PATCH, DELETE, HEAD or OPTIONS (no "*": name
	// each method, so a verb added later is not granted by accident). Required.
	Method string `json:"method"`
	// Resource is the API's resource path as declared: "/", "/pets",
	// "/pets/{petId}", "/files/{path+}". Required.
	Resource string `json:"resource"`
	// Scopes: a token holding one of them is granted. Default: none.
	Scopes []string `json:"scopes,omitempty"`
	// Groups: a token whose groups claim (cognito:groups by default) holds
	// one of them is granted. Default: none.
	Groups []string `json:"groups,omitempty"`
	// Clients: a token issued to one of these audiences or app client ids is
	// granted. Default: none.
	Clients []string `json:"clients,omitempty"`
	// AnyToken grants every valid token; it excludes the other three.
	// Default: false.
	AnyToken bool `json:"anyToken,omitempty"`
}

// Token is what the rules look at in a verified token.
type Token struct {
	Scopes []string
	Groups []string
	// Audience are the token's audiences its issuer vouches for
	// (jwtverify.Claims.Accepted); ClientID is read only when it is empty.
	Audience []string
	ClientID string
}

// Grants reports whether r grants its method and resource to t.
func (r Rule) Grants(t Token) bool {
	if r.AnyToken {
		return true
	}
	for _, s := range r.Scopes {
		if slices.Contains(t.Scopes, s) {
			return true
		}
	}
	for _, g := range r.Groups {
		if slices.Contains(t.Groups, g) {
			return true
		}
	}
	// The token's audience, read as the verifier reads it: aud when the token
	// has one, client_id only when it has none (Cognito access tokens), so a
	// token for another audience cannot qualify through its client_id.
	for _, c := range r.Clients {
		if len(t.Audience) > 0 && slices.Contains(t.Audience, c) || len(t.Audience) == 0 && c == t.ClientID {
			return true
		}
	}
	return false
}

// A resource path: "/" or "/"-separated segments, each a literal, a {param},
// or, last only, a greedy {param+}. Literals never hold '*' or '?', the IAM
// wildcards, so a pattern is never broader than the rule says.
var resourceRE = regexp.MustCompile(`^/$|^(/([A-Za-z0-9._~\-]+|\{[A-Za-z0-9_]+\}))*(/\{[A-Za-z0-9_]+\+\})?$`)

// ValidResource reports whether path is a resource path a Rule may name.
func ValidResource(path string) bool { return resourceRE.MatchString(path) }

// ParseRules reads rules from JSON (the authorizer's SCOPE_RULES): an array
// of {"method", "resource", "scopes"?, "groups"?, "clients"?, "anyToken"?}.
// Unknown fields, trailing data and rules that grant nothing are errors,
// reported at cold start. An empty string means no rules: every token is
// refused (403).
func ParseRules(s string) ([]Rule, error) {
	if strings.TrimSpace(s) == "" {
		return nil, nil
	}
	dec := json.NewDecoder(strings.NewReader(s))
	dec.DisallowUnknownFields()
	var rules []Rule
	if err := dec.Decode(&rules); err != nil {
		return nil, fmt.Errorf("%w: SCOPE_RULES is not a JSON array of {method, resource, scopes, groups, clients, anyToken}: %v", ErrRules, err)
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, fmt.Errorf("%w: SCOPE_RULES has data after the JSON array: give exactly one array", ErrRules)
	}
	if rules == nil {
		return nil, fmt.Errorf("%w: SCOPE_RULES is null: give a JSON array of rules", ErrRules)
	}
	if err := Validate(rules); err != nil {
		return nil, err
	}
	return rules, nil
}

// Validate checks each rule and that no rule's ARN pattern reaches another
// rule's resource more generously than that resource's own rules do.
func Validate(rules []Rule) error {
	for i, r := range rules {
		name := fmt.Sprintf("rule %d (%s %s)", i, r.Method, r.Resource)
		if !slices.Contains(Methods, r.Method) {
			return fmt.Errorf("%w: rule %d: method %q: want one of %s (no \"*\": name each method)", ErrRules, i, r.Method, strings.Join(Methods, ", "))
		}
		if !resourceRE.MatchString(r.Resource) {
			return fmt.Errorf("%w: rule %d: resource %q: want an API Gateway resource path like /, /pets or /pets/{petId}", ErrRules, i, r.Resource)
		}
		if !r.AnyToken && len(r.Scopes) == 0 && len(r.Groups) == 0 && len(r.Clients) == 0 {
			return fmt.Errorf("%w: %s grants nothing: give scopes, groups, clients or \"anyToken\": true", ErrRules, name)
		}
		if r.AnyToken && (len(r.Scopes) > 0 || len(r.Groups) > 0 || len(r.Clients) > 0) {
			return fmt.Errorf("%w: %s: anyToken grants every valid token, so its scopes, groups and clients would be ignored: drop one or the other", ErrRules, name)
		}
		for _, g := range r.Groups {
			if g == "" || strings.ContainsFunc(g, unicode.IsControl) {
				return fmt.Errorf("%w: %s: group %q is empty or holds a control character", ErrRules, name, g)
			}
		}
		for _, sc := range r.Scopes {
			if !scope.ValidToken(sc) {
				return fmt.Errorf("%w: %s: scope %q is not a valid scope token (printable ASCII, no space, '\"' or '\\')", ErrRules, name, sc)
			}
		}
		for _, c := range r.Clients {
			if !scope.ValidToken(c) {
				return fmt.Errorf("%w: %s: client %q is not a valid audience or client id (printable ASCII, no space, '\"' or '\\')", ErrRules, name, c)
			}
		}
	}
	return checkOverlaps(rules)
}

// CheckSize reports rules whose policy, for a token granted every rule,
// could exceed MaxPolicyBytes on a stage whose name has stageLen characters
// (0 or less: 128, the longest API Gateway allows), with the longest
// partition, region, account and API id. Such a token's response would be
// refused by API Gateway: the authorizer answers it with a fault (500),
// never an Allow. It is not part of Validate: the bound is a worst case
// (about 16 literal resources fit a 128-character stage, far more a short
// one), so the authorizer warns at cold start and the construct at synth.
func CheckSize(rules []Rule, stageLen int) error {
	if n := worstCaseSize(rules, stageLen); n > MaxPolicyBytes {
		return fmt.Errorf("%w: a token granted every rule gets a policy of up to %d bytes (with the longest region, account and API id, and a %d-character stage), over the %d bytes the authorizer response leaves for it (API Gateway's limit is 8 KB, context included): such requests would fail with 500; use fewer rules (one greedy /{proxy+} rule covers a subtree) or split the API between authorizers",
			ErrRules, n, stageLength(stageLen), MaxPolicyBytes)
	}
	return nil
}

// MaxPolicyBytes is the most the policy of a response may take: API Gateway
// refuses an authorizer response over 8 KB ("Lambda authorizer result
// size": https://docs.aws.amazon.com/apigateway/latest/developerguide/limits.html),
// and 1 KB of it is left for the principalId and the context.
const MaxPolicyBytes = 7 << 10

// worstCaseARN is the longest method ARN base and stage API Gateway can
// send: partition aws-us-gov, a region name of 16 characters (the longest
// today have 14), a 12-digit account, a 10-character API id, and a stage
// name of 128 characters, the maximum
// (Stage.stageName in the API Gateway API reference, e.g.
// https://docs.aws.amazon.com/sdk-for-kotlin/api/latest/apigateway/aws.sdk.kotlin.services.apigateway.model/-stage/stage-name.html).
var worstCaseARN = MethodARN{
	Base:  "arn:aws-us-gov:execute-api:" + strings.Repeat("r", 16) + ":" + strings.Repeat("1", 12) + ":" + strings.Repeat("a", 10),
	Stage: strings.Repeat("s", 128),
}

// WorstCaseSize is the size in bytes of the JSON response Build returns for
// a token every rule grants, in the longest ARN API Gateway can send,
// without principalId and context.
func WorstCaseSize(rules []Rule) int { return worstCaseSize(rules, 0) }

func worstCaseSize(rules []Rule, stageLen int) int {
	arn := worstCaseARN
	arn.Stage = strings.Repeat("s", stageLength(stageLen))
	resp, _ := Build("", arn, Token{}, anyTokenRules(rules), nil)
	b, _ := json.Marshal(resp)
	return len(b)
}

// stageLength is stageLen, or 128 (the longest stage name) when unknown.
func stageLength(stageLen int) int {
	if stageLen <= 0 {
		return len(worstCaseARN.Stage)
	}
	return stageLen
}

// anyTokenRules are rules granting their methods and resources to every token.
func anyTokenRules(rules []Rule) []Rule {
	out := make([]Rule, len(rules))
	for i, r := range rules {
		out[i] = Rule{Method: r.Method, Resource: r.Resource, AnyToken: true}
	}
	return out
}

// checkOverlaps enforces what makes '*' for a path parameter safe. IAM's '*'
// matches any run of characters, '/' and nothing included, so the pattern
// "GET/pets/*" of GET /pets/{petId} also matches "GET/pets/" (API Gateway's
// trailing-slash spelling of GET /pets) and "GET/pets/7/owner" (a deeper
// resource). That is harmless only when whoever may call the one may call
// the other: so every resource another rule's pattern reaches must grant at
// least as much as that rule. (Resources no rule names are not reached: API
// Gateway calls the authorizer and applies the policy only for methods that
// exist, and the stack writes a rule for each.)
func checkOverlaps(rules []Rule) error {
	type key struct{ method, resource string }
	grants := map[key]Rule{}
	var keys []key
	for _, r := range rules {
		k := key{r.Method, r.Resource}
		g, seen := grants[k]
		if !seen {
			keys = append(keys, k)
		}
		g.AnyToken = g.AnyToken || r.AnyToken
		g.Scopes = append(g.Scopes, r.Scopes...)
		g.Groups = append(g.Groups, r.Groups...)
		g.Clients = append(g.Clients, r.Clients...)
		grants[k] = g
	}
	for _, a := range keys {
		for _, b := range keys {
			if a == b || a.method != b.method || !reaches(a.resource, b.resource) {
				continue
			}
			if !covers(grants[b], grants[a]) {
				return fmt.Errorf("%w: the ARN pattern of %s %s (%s) also matches requests to %s %s, which grants less: IAM's '*' spans '/'; grant %s %s at least the same scopes, groups, clients or anyToken",
					ErrRules, a.method, a.resource, strings.Join(patterns(a.method, a.resource), ", "), b.method, b.resource, b.method, b.resource)
			}
		}
	}
	return nil
}

// covers reports whether every token g grants is also granted by h.
func covers(h, g Rule) bool {
	if h.AnyToken {
		return true
	}
	if g.AnyToken {
		return false
	}
	for _, s := range g.Scopes {
		if !slices.Contains(h.Scopes, s) {
			return false
		}
	}
	for _, gr := range g.Groups {
		if !slices.Contains(h.Groups, gr) {
			return false
		}
	}
	for _, c := range g.Clients {
		if !slices.Contains(h.Clients, c) {
			return false
		}
	}
	return true
}

// reaches reports whether a pattern of resource a matches some spelling API
// Gateway may send for resource b: b with every parameter non-empty, with or
// without a trailing slash.
func reaches(a, b string) bool {
	spell := strings.TrimPrefix(b, "/")
	spell = greedyRE.ReplaceAllString(spell, segment+"*") // {path+}: one or more segments
	spell = paramRE.ReplaceAllString(spell, segment+anyInSegment)
	spellings := []string{spell}
	if spell != "" {
		spellings = append(spellings, spell+"/")
	}
	for _, p := range patterns("", a) {
		for _, s := range spellings {
			if globsOverlap(p, s) {
				return true
			}
		}
	}
	return false
}

// Symbols of a spelling (the q of globsOverlap) for a path parameter's
// value: one character other than '/', then any run of them.
const (
	segment      = "\x01"
	anyInSegment = "\x02"
)

var greedyRE = regexp.MustCompile(`\{[^}]+\+\}`)

// globsOverlap reports whether some string matches both p and q, patterns
// with '*' (any run) and '?' (one character); q may also hold segment and
// anyInSegment, which never match '/'.
func globsOverlap(p, q string) bool {
	memo := map[[2]int]bool{}
	var f func(i, j int) bool
	f = func(i, j int) bool {
		k := [2]int{i, j}
		if v, ok := memo[k]; ok {
			return v
		}
		var r bool
		switch {
		case i == len(p) && j == len(q):
			r = true
		case i < len(p) && p[i] == '*':
			r = f(i+1, j) || (j < len(q) && f(i, j+1))
		case j < len(q) && q[j] == '*':
			r = f(i, j+1) || (i < len(p) && f(i+1, j))
		case j < len(q) && q[j] == anyInSegment[0]:
			r = f(i, j+1) || (i < len(p) && p[i] != '/' && f(i+1, j))
		case j < len(q) && q[j] == segment[0]:
			r = i < len(p) && p[i] != '/' && f(i+1, j+1)
		case i < len(p) && j < len(q) && (p[i] == '?' || q[j] == '?' || p[i] == q[j]):
			r = f(i+1, j+1)
		}
		memo[k] = r
		return r
	}
	return f(0, 0)
}

var paramRE = regexp.MustCompile(`\{[^}]+\}`)

// patterns are the ARN path patterns ("<VERB>/<path>") of a method and
// resource: the exact path and the trailing-slash spelling API Gateway may
// send for the same resource. A path parameter becomes '*'. IAM's '*' also
// spans '/' (checkOverlaps makes sure that reaches nothing the rules do not
// grant); a resource ending in a parameter needs no trailing-slash twin, its
// '*' covers it. '?' is never used.
func patterns(method, resource string) []string {
	path := paramRE.ReplaceAllString(strings.TrimPrefix(resource, "/"), "*")
	prefix := ""
	if method != "" {
		prefix = method + "/"
	}
	if path == "" || strings.HasSuffix(path, "*") {
		return []string{prefix + path}
	}
	return []string{prefix + path, prefix + path + "/"}
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

// StageARN is the ARN pattern for every method of the stage. The policy
// only ever denies it (a token entitled to nothing), never allows it.
func (m MethodARN) StageARN() string { return m.Base + "/" + m.Stage + "/*" }

// Resources are the ARN patterns of a rule's method and resource in this stage.
func (m MethodARN) Resources(r Rule) []string {
	ps := patterns(r.Method, r.Resource)
	for i, p := range ps {
		ps[i] = m.Base + "/" + m.Stage + "/" + p
	}
	return ps
}

// Build returns the response for a verified token: one Allow statement with
// the patterns of every method and resource the rules grant tok, and the
// number of those methods. A token granted nothing gets a Deny of the stage
// (403, not 401: the token is valid, it just may not call anything).
// Context values must be strings, numbers or booleans; callers pass strings.
func Build(principal string, arn MethodARN, tok Token, rules []Rule, context map[string]any) (events.APIGatewayCustomAuthorizerResponse, int) {
	var allowed []string
	granted := 0
	seen := map[string]bool{}
	for _, r := range rules {
		key := r.Method + " " + r.Resource
		if seen[key] || !r.Grants(tok) {
			continue
		}
		seen[key] = true
		granted++
		allowed = append(allowed, arn.Resources(r)...)
	}
	stmt := events.IAMPolicyStatement{Action: []string{"execute-api:Invoke"}, Effect: "Allow", Resource: allowed}
	if granted == 0 {
		stmt = events.IAMPolicyStatement{Action: []string{"execute-api:Invoke"}, Effect: "Deny", Resource: []string{arn.StageARN()}}
	}
	return events.APIGatewayCustomAuthorizerResponse{
		PrincipalID:    principal,
		PolicyDocument: events.APIGatewayCustomAuthorizerPolicy{Version: "2012-10-17", Statement: []events.IAMPolicyStatement{stmt}},
		Context:        context,
	}, granted
}

// Allows reports whether the policy Build returns for tok allows the
// request arn names: its verb and path matched against the allowed patterns
// as IAM matches them ('*' spans any characters, '/' included). It is the
// answer of an HTTP API simple response, which must agree with the policy.
func Allows(arn MethodARN, tok Token, rules []Rule) bool {
	want := arn.Verb + "/" + arn.Path
	for _, r := range rules {
		if !r.Grants(tok) {
			continue
		}
		for _, p := range patterns(r.Method, r.Resource) {
			if iampolicy.Match(p, want) {
				return true
			}
		}
	}
	return false
}

// AllowsRoute is Allows for an answer API Gateway caches per route key
// and method (an HTTP API simple response with $context.routeKey and
// $context.httpMethod in the identity source): it is true only when the
// rules grant tok the request arn names and every path the route key
// routeKey ("GET /pets/{petId}", "ANY /{proxy+}", "$default") can match
// with that verb, so the cached answer holds for every request sharing the
// key. Under a greedy route or $default, that takes a rule whose pattern
// covers the whole route (such as GET /{proxy+} under $default): rules
// for single paths below it, however generous, do not make the route
// allowed. A route key that cannot be read, or whose method is neither
// ANY nor the verb of arn, allows nothing.
func AllowsRoute(routeKey string, arn MethodARN, tok Token, rules []Rule) bool {
	if !Allows(arn, tok, rules) {
		return false
	}
	// The route's paths as an ARN pattern: a parameter, greedy or not,
	// stands for anything ('*'); $default for every path.
	route := "*"
	if routeKey != "$default" {
		method, path, ok := strings.Cut(routeKey, " ")
		if !ok || (method != "ANY" && method != arn.Verb) || !strings.HasPrefix(path, "/") {
			return false
		}
		route = paramRE.ReplaceAllString(strings.TrimPrefix(path, "/"), "*")
	}
	route = arn.Verb + "/" + route
	for _, r := range rules {
		if r.Method != arn.Verb || !r.Grants(tok) {
			continue
		}
		for _, p := range patterns(r.Method, r.Resource) {
			// The route's '*' are matched as characters, which only a '*' of
			// p can match (rule patterns hold no literal '*'): p matches every
			// path that route does.
			if iampolicy.Match(p, route) {
				return true
			}
		}
	}
	return false
}
