// Package infra composes the stack from the constructs and reads its
// configuration from CDK context (defaults in cdk.json, `-c key=value` to override).
package infra

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"github.com/agnivade/levenshtein"

	"github.com/secure-api-go/apigw-jwt/internal/scope"
	"github.com/secure-api-go/apigw-jwt/internal/seedspec"
)

// Config is every knob of the stack, typed and validated.
type Config struct {
	StackName string

	// Identity.
	SelfSignUp         bool
	MFA                string // off | optional | required
	FeaturePlan        string // essentials | lite | plus
	ThreatProtection   string // off | audit | enforced (plus plan only)
	CallbackURLs       []string
	LogoutURLs         []string
	DomainPrefix       string // "" derives <stack name>-<account id>
	AccessTokenMinutes float64
	IDTokenMinutes     float64
	RefreshTokenDays   float64
	DeletionProtection bool

	// Data and logs.
	RemovalPolicy    string // destroy | retain
	LogRetentionDays int

	// HTTP API.
	HTTPThrottleRate, HTTPThrottleBurst float64
	JWTIssuer                           string   // "" = the stack's user pool
	JWTAudience                         []string // empty = the stack's app client

	// REST API.
	RESTStageName                       string
	RESTThrottleRate, RESTThrottleBurst float64
	RESTAuthorizerTTL                   float64
	AuthIssuer                          string // "" = the stack's user pool
	AuthJWKSURI                         string
	AuthAudience                        []string
	AuthTokenUse                        string // "" | id | access
	AuthorizerReservedConcurrency       float64
	// RESTAuthorizer picks what guards the REST API: "lambda" (our Go TOKEN
	// authorizer) or "jwt" (API Gateway's native JWT authorizer, same issuers
	// and rules; what it cannot express is a synth error, see NativeJWT).
	RESTAuthorizer string
	// ExtraIssuers the REST authorizer trusts besides AuthIssuer (or the pool); no jwks.
	ExtraIssuers []seedspec.Issuer
	// APIGatewayCloudWatchRole: "create" makes API Gateway's account-wide
	// CloudWatch role and account setting (retained on destroy); "existing"
	// skips both, for accounts that already have one.
	APIGatewayCloudWatchRole string

	// ScopeClientID is the <clientId> in scope names "<group>-<clientId>"; "" = the stack's app client.
	ScopeClientID string
	CorsOrigins   []string
	AlarmEmail    string

	// ResourceServerID is the Cognito resource server of machine clients' scopes ("<id>/pets.read").
	ResourceServerID string
}

// Values of restAuthorizer.
const (
	RESTAuthorizerLambda = "lambda"
	RESTAuthorizerJWT    = "jwt"
)

// Lambda's concurrency quotas behind authorizerReservedConcurrency's limit:
// the default account quota, and the executions Lambda keeps unreserved.
// https://docs.aws.amazon.com/lambda/latest/dg/configuration-concurrency.html
const (
	DefaultAccountConcurrency = 1000
	UnreservedMinimum         = 100
	MaxReservedConcurrency    = DefaultAccountConcurrency - UnreservedMinimum
)

// Context keys and their defaults. cdk.json holds the same defaults so users see them.
var defaults = map[string]any{
	"stackName":                     "SecureApiJwt",
	"selfSignUp":                    false,
	"mfa":                           "optional",
	"featurePlan":                   "essentials",
	"threatProtection":              "",
	"callbackUrls":                  []any{"http://localhost:3000/callback"},
	"logoutUrls":                    []any{"http://localhost:3000/"},
	"domainPrefix":                  "",
	"accessTokenMinutes":            60.0,
	"idTokenMinutes":                60.0,
	"refreshTokenDays":              30.0,
	"deletionProtection":            false,
	"removalPolicy":                 "destroy",
	"logRetentionDays":              30.0,
	"httpThrottleRate":              100.0,
	"httpThrottleBurst":             50.0,
	"jwtIssuer":                     "",
	"jwtAudience":                   []any{},
	"restStageName":                 "prod",
	"restThrottleRate":              100.0,
	"restThrottleBurst":             50.0,
	"restAuthorizerTtl":             300.0,
	"authIssuer":                    "",
	"authJwksUri":                   "",
	"authAudience":                  []any{},
	"authTokenUse":                  "",
	"authorizerReservedConcurrency": 0.0,
	"restAuthorizer":                "lambda",
	"extraIssuers":                  []any{},
	"apiGatewayCloudWatchRole":      "create",
	"scopeClientId":                 "",
	"resourceServerId":              scope.DefaultResourceServer,
	"corsOrigins":                   []any{},
	"alarmEmail":                    "",
}

// ContextKeys lists every key LoadConfig reads, sorted.
func ContextKeys() []string {
	keys := make([]string, 0, len(defaults))
	for k := range defaults {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

// Defaults returns the default value of every context key.
func Defaults() map[string]any {
	out := make(map[string]any, len(defaults))
	for k, v := range defaults {
		out[k] = v
	}
	return out
}

// LogRetentionChoices are the retention periods CloudWatch Logs accepts.
var LogRetentionChoices = []int{1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653}

// reader reads typed context values and collects every problem, so one
// synth reports all of them.
type reader struct {
	get  func(string) any
	errs []error
}

func (r *reader) fail(key string, format string, a ...any) {
	r.errs = append(r.errs, fmt.Errorf("context key %s: %s", key, fmt.Sprintf(format, a...)))
}

func (r *reader) raw(key string) any {
	if v := r.get(key); v != nil {
		return v
	}
	return defaults[key]
}

func (r *reader) str(key string) string {
	switch v := r.raw(key).(type) {
	case string:
		return strings.TrimSpace(v)
	default:
		r.fail(key, "%v is a %T, want a string", v, v)
		return ""
	}
}

func (r *reader) boolean(key string) bool {
	switch v := r.raw(key).(type) {
	case bool:
		return v
	case string:
		b, err := strconv.ParseBool(strings.TrimSpace(v))
		if err != nil {
			r.fail(key, "%q is not true or false", v)
		}
		return b
	default:
		r.fail(key, "%v is a %T, want true or false", v, v)
		return false
	}
}

func (r *reader) number(key string, lo, hi float64, unit string) float64 {
	var n float64
	switch v := r.raw(key).(type) {
	case float64:
		n = v
	case int:
		n = float64(v)
	case string:
		f, err := strconv.ParseFloat(strings.TrimSpace(v), 64)
		if err != nil {
			r.fail(key, "%q is not a number", v)
			return 0
		}
		n = f
	default:
		r.fail(key, "%v is a %T, want a number", v, v)
		return 0
	}
	if n < lo {
		r.fail(key, "%v is below the minimum of %v%s", n, lo, unit)
	}
	if n > hi {
		r.fail(key, "%v is above the limit of %v%s", n, hi, unit)
	}
	return n
}

func (r *reader) list(key string) []string {
	var out []string
	switch v := r.raw(key).(type) {
	case []any:
		for _, e := range v {
			s, ok := e.(string)
			if !ok {
				r.fail(key, "element %v is a %T, want a string", e, e)
				continue
			}
			out = append(out, strings.TrimSpace(s))
		}
	case string:
		v = strings.TrimSpace(v)
		if strings.HasPrefix(v, "[") {
			if err := json.Unmarshal([]byte(v), &out); err != nil {
				r.fail(key, "%q is not a JSON array of strings", v)
			}
			return out
		}
		for _, s := range strings.Split(v, ",") {
			if s = strings.TrimSpace(s); s != "" {
				out = append(out, s)
			}
		}
	default:
		r.fail(key, "%v is a %T, want a list of strings or a comma-separated string", v, v)
	}
	return out
}

func (r *reader) oneOf(key string, choices ...string) string {
	s := r.str(key)
	if !slices.Contains(choices, s) {
		r.fail(key, "%q: want one of %s", s, strings.Join(choices, ", "))
	}
	return s
}

var (
	stackNameRE = regexp.MustCompile(`^[A-Za-z][A-Za-z0-9-]{0,127}$`)
	stageRE     = regexp.MustCompile(`^[A-Za-z0-9_-]{1,128}$`)
	prefixRE    = regexp.MustCompile(`^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$`)
	// resourceServerRE is Cognito's identifier pattern for a resource server.
	resourceServerRE = regexp.MustCompile(`^[\x21\x23-\x5B\x5D-\x7E]{1,256}$`)
)

// cdkKeys are the CDK's own context keys without a namespace: `cdk
// acknowledge` and `cdk cli-telemetry` write them into cdk.json or cdk.context.json.
var cdkKeys = []string{"acknowledged-issue-numbers", "cli-telemetry"}

// LoadContext reads the whole context (app.Node().GetAllContext): like
// LoadConfig, and a key that is neither this app's nor the CDK's is an error
// too, so a typo (restAuthorizerTTL) does not silently keep the default.
// Namespaced keys (with a colon: aws:cdk:*, @aws-cdk/...:flag, cached
// lookups such as availability-zones:account=...) belong to the CDK and its
// construct libraries.
func LoadContext(ctx map[string]any) (*Config, error) {
	var unknown []error
	keys := make([]string, 0, len(ctx))
	for k := range ctx {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		if _, ok := defaults[k]; ok || strings.Contains(k, ":") || slices.Contains(cdkKeys, k) {
			continue
		}
		unknown = append(unknown, fmt.Errorf("context key %s: not a setting of this app%s (the settings and their defaults are in cdk.json)", k, suggest(k)))
	}
	cfg, err := LoadConfig(func(k string) any { return ctx[k] })
	if len(unknown) > 0 {
		return nil, errors.Join(append(unknown, err)...)
	}
	return cfg, err
}

// suggest names the known key closest to a mistyped one.
func suggest(key string) string {
	best, dist := "", -1
	for _, k := range ContextKeys() {
		if d := levenshtein.ComputeDistance(strings.ToLower(key), strings.ToLower(k)); dist < 0 || d < dist {
			best, dist = k, d
		}
	}
	if dist <= max(2, len(key)/3) {
		return ": did you mean " + best + "?"
	}
	return "; the closest is " + best
}

// LoadConfig reads and validates every context key. get returns nil for an
// unset key. The error lists every problem, one per line.
func LoadConfig(get func(key string) any) (*Config, error) {
	r := &reader{get: get}
	c := &Config{
		StackName:          r.str("stackName"),
		SelfSignUp:         r.boolean("selfSignUp"),
		MFA:                r.oneOf("mfa", "off", "optional", "required"),
		FeaturePlan:        r.oneOf("featurePlan", "essentials", "lite", "plus"),
		ThreatProtection:   r.oneOf("threatProtection", "", "off", "audit", "enforced"),
		CallbackURLs:       r.list("callbackUrls"),
		LogoutURLs:         r.list("logoutUrls"),
		DomainPrefix:       r.str("domainPrefix"),
		AccessTokenMinutes: r.number("accessTokenMinutes", 5, 1440, " minutes"),
		IDTokenMinutes:     r.number("idTokenMinutes", 5, 1440, " minutes"),
		RefreshTokenDays:   r.number("refreshTokenDays", 1, 3650, " days"),
		DeletionProtection: r.boolean("deletionProtection"),
		RemovalPolicy:      r.oneOf("removalPolicy", "destroy", "retain"),
		LogRetentionDays:   int(r.number("logRetentionDays", 1, 3653, " days")),
		HTTPThrottleRate:   r.number("httpThrottleRate", 1, 10000, " requests per second"),
		HTTPThrottleBurst:  r.number("httpThrottleBurst", 1, 5000, " requests"),
		JWTIssuer:          r.str("jwtIssuer"),
		JWTAudience:        r.list("jwtAudience"),
		RESTStageName:      r.str("restStageName"),
		RESTThrottleRate:   r.number("restThrottleRate", 1, 10000, " requests per second"),
		RESTThrottleBurst:  r.number("restThrottleBurst", 1, 5000, " requests"),
		AuthIssuer:         r.str("authIssuer"),
		AuthJWKSURI:        r.str("authJwksUri"),
		AuthAudience:       r.list("authAudience"),
		AuthTokenUse:       r.oneOf("authTokenUse", "", "id", "access"),
		ScopeClientID:      r.str("scopeClientId"),
		ResourceServerID:   r.str("resourceServerId"),
		CorsOrigins:        r.list("corsOrigins"),
		AlarmEmail:         r.str("alarmEmail"),
	}
	// API Gateway's own limit, checked here so the message names the context key.
	c.RESTAuthorizerTTL = r.number("restAuthorizerTtl", 0, 3600, " seconds (API Gateway's limit)")
	// Lambda keeps 100 unreserved executions in every account: a function may
	// reserve at most the account's concurrency minus 100, 900 under the
	// default quota of 1000.
	// https://docs.aws.amazon.com/lambda/latest/dg/configuration-concurrency.html
	c.AuthorizerReservedConcurrency = r.number("authorizerReservedConcurrency", 0, MaxReservedConcurrency,
		fmt.Sprintf(" (Lambda's default account quota of %d concurrent executions minus the %d it keeps unreserved; 0 leaves the authorizer unreserved)", DefaultAccountConcurrency, UnreservedMinimum))
	c.RESTAuthorizer = r.oneOf("restAuthorizer", RESTAuthorizerLambda, RESTAuthorizerJWT)
	c.ExtraIssuers = r.issuers("extraIssuers")
	c.APIGatewayCloudWatchRole = r.oneOf("apiGatewayCloudWatchRole", "create", "existing")

	if !stackNameRE.MatchString(c.StackName) {
		r.fail("stackName", "%q: want a letter, then letters, digits and hyphens (CloudFormation's rule)", c.StackName)
	}
	if c.ThreatProtection == "" {
		c.ThreatProtection = "off"
		if c.FeaturePlan == "plus" {
			c.ThreatProtection = "audit"
		}
	}
	if c.ThreatProtection != "off" && c.FeaturePlan != "plus" {
		r.fail("threatProtection", "%q needs featurePlan plus, not %q (threat protection is a Plus feature)", c.ThreatProtection, c.FeaturePlan)
	}
	// Cognito refuses to delete a protected pool, so `cdk destroy` would fail
	// half way with removalPolicy destroy.
	// https://docs.aws.amazon.com/cognito/latest/developerguide/user-pool-settings-deletion-protection.html
	if c.DeletionProtection && c.RemovalPolicy == "destroy" {
		r.fail("deletionProtection", "true with removalPolicy destroy: Cognito refuses to delete a protected user pool, so cdk destroy would fail; set removalPolicy retain to keep the pool, or deletionProtection false to let destroy remove it")
	}
	if len(c.CallbackURLs) == 0 {
		r.fail("callbackUrls", "is empty: give at least one, e.g. http://localhost:3000/callback")
	}
	for _, u := range c.CallbackURLs {
		if err := checkRedirect(u); err != nil {
			r.fail("callbackUrls", "%v", err)
		}
	}
	for _, u := range c.LogoutURLs {
		if err := checkRedirect(u); err != nil {
			r.fail("logoutUrls", "%v", err)
		}
	}
	if c.DomainPrefix != "" {
		if !prefixRE.MatchString(c.DomainPrefix) {
			r.fail("domainPrefix", "%q: want 1-63 lower-case letters, digits and hyphens, not starting or ending with a hyphen", c.DomainPrefix)
		}
		checkReserved(r, "domainPrefix", c.DomainPrefix)
	} else {
		checkReserved(r, "stackName", strings.ToLower(c.StackName)) // the default prefix is derived from it
		// The default prefix is "<stack name>-<12-digit account id>"; Cognito allows 63 characters.
		if n := len(c.StackName) + 13; n > 63 {
			r.fail("stackName", "%q makes the default hosted-UI domain prefix %d characters long (<stack name>-<account id>), above Cognito's 63: set domainPrefix, or use a stack name of at most 50 characters", c.StackName, n)
		}
	}
	if !slices.Contains(LogRetentionChoices, c.LogRetentionDays) {
		r.fail("logRetentionDays", "%d is not a period CloudWatch Logs accepts: want one of %v", c.LogRetentionDays, LogRetentionChoices)
	}
	if !stageRE.MatchString(c.RESTStageName) {
		r.fail("restStageName", "%q: want letters, digits, hyphens or underscores", c.RESTStageName)
	}
	if c.RESTAuthorizerTTL != float64(int(c.RESTAuthorizerTTL)) {
		r.fail("restAuthorizerTtl", "%v is not a whole number of seconds", c.RESTAuthorizerTTL)
	}
	if c.JWTIssuer != "" {
		checkHTTPS(r, "jwtIssuer", c.JWTIssuer)
		if len(c.JWTAudience) == 0 {
			r.fail("jwtAudience", "is empty but jwtIssuer is set: give the audience your IdP puts in aud (or client_id)")
		}
	} else if len(c.JWTAudience) > 0 {
		r.fail("jwtAudience", "is set but jwtIssuer is not: set both to use an external IdP, or neither")
	}
	if c.AuthIssuer != "" {
		checkHTTPS(r, "authIssuer", c.AuthIssuer)
		if c.AuthJWKSURI == "" {
			c.AuthJWKSURI = strings.TrimSuffix(c.AuthIssuer, "/") + "/.well-known/jwks.json"
		}
		if len(c.AuthAudience) == 0 {
			r.fail("authAudience", "is empty but authIssuer is set: give the audience your IdP puts in aud (or client_id)")
		}
	} else if c.AuthJWKSURI != "" || len(c.AuthAudience) > 0 {
		r.fail("authIssuer", "is empty but authJwksUri or authAudience is set: set authIssuer to use an external IdP")
	}
	if c.AuthJWKSURI != "" {
		checkHTTPS(r, "authJwksUri", c.AuthJWKSURI)
	}
	checkExtraIssuers(r, c)
	checkNative(r, c)
	for _, o := range c.CorsOrigins {
		u, err := url.Parse(o)
		if o != "*" && (err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" || (u.Path != "" && u.Path != "/")) {
			r.fail("corsOrigins", "%q is not an origin like https://app.example.com", o)
		}
	}
	if c.AlarmEmail != "" && !regexp.MustCompile(`^[^@\s]+@[^@\s]+\.[^@\s]+$`).MatchString(c.AlarmEmail) {
		r.fail("alarmEmail", "%q is not an email address", c.AlarmEmail)
	}
	if c.ScopeClientID != "" && strings.ContainsAny(c.ScopeClientID, " \"\\") {
		r.fail("scopeClientId", "%q cannot be part of an OAuth scope (no spaces, quotes or backslashes)", c.ScopeClientID)
	}
	if !resourceServerRE.MatchString(c.ResourceServerID) {
		r.fail("resourceServerId", "%q: want 1-256 printable ASCII characters without spaces, quotes or backslashes (Cognito's rule), e.g. petstore or https://api.example.com", c.ResourceServerID)
	}
	if len(r.errs) > 0 {
		return nil, errors.Join(r.errs...)
	}
	return c, nil
}

func checkReserved(r *reader, key, v string) {
	for _, bad := range []string{"aws", "amazon", "cognito"} {
		if strings.Contains(v, bad) {
			r.fail(key, "%q contains %q, which Cognito refuses in a domain prefix; set domainPrefix explicitly", v, bad)
		}
	}
}

// checkRedirect applies Cognito's rule: https, or http only for localhost.
func checkRedirect(raw string) error {
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" || u.Fragment != "" {
		return fmt.Errorf("%q is not an absolute URL without a fragment", raw)
	}
	if u.Scheme == "https" || (u.Scheme == "http" && u.Hostname() == "localhost") {
		return nil
	}
	return fmt.Errorf("%q must use https (http only for localhost)", raw)
}

func checkHTTPS(r *reader, key, raw string) {
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" {
		r.fail(key, "%q is not an absolute URL", raw)
		return
	}
	if u.Scheme != "https" {
		r.fail(key, "%q must use https", raw)
	}
}

// issuers reads a JSON list of {issuer, jwksUri, audiences, tokenUse?}, from
// cdk.json (a list) or from -c (a JSON string). Unknown fields are errors, so
// a misspelt "audience" is not silently dropped.
func (r *reader) issuers(key string) []seedspec.Issuer {
	raw := r.raw(key)
	b, ok := raw.(string)
	if !ok {
		j, _ := json.Marshal(raw)
		b = string(j)
	}
	dec := json.NewDecoder(strings.NewReader(b))
	dec.DisallowUnknownFields()
	var out []seedspec.Issuer
	if err := dec.Decode(&out); err != nil {
		r.fail(key, "%s is not a JSON list of {\"issuer\", \"jwksUri\", \"audiences\": [...], \"tokenUse\"?}: %v", b, err)
		return nil
	}
	return out
}

// checkExtraIssuers: each extra issuer is https with an https JWKS (default
// <issuer>/.well-known/jwks.json), names its audiences, and is neither listed
// twice nor the authorizer's own issuer (tokens of one issuer are checked
// against one key set). The pool's issuer is known only after deploy; the
// seed resource refuses a repeat of it then.
func checkExtraIssuers(r *reader, c *Config) {
	const key = "extraIssuers"
	seen := map[string]bool{}
	for i := range c.ExtraIssuers {
		e := &c.ExtraIssuers[i]
		e.Issuer, e.JWKSURI, e.TokenUse = strings.TrimSpace(e.Issuer), strings.TrimSpace(e.JWKSURI), strings.TrimSpace(e.TokenUse)
		name := fmt.Sprintf("%s[%d]", key, i)
		if e.Issuer == "" {
			r.fail(name, "issuer is empty: give the exact iss of that IdP's tokens, e.g. https://example.eu.auth0.com/")
			continue
		}
		if len(e.JWKS) > 0 {
			r.fail(name, "has jwks: leave it out, the stack fetches the keys at deploy time")
		}
		// The PetStore's rules name scopes and clients, never groups.
		if e.GroupsClaim != "" {
			r.fail(name, "has groupsClaim %q: the PetStore's rules use no groups, so leave it out", e.GroupsClaim)
		}
		checkHTTPS(r, name+".issuer", e.Issuer)
		if e.JWKSURI == "" {
			e.JWKSURI = strings.TrimSuffix(e.Issuer, "/") + "/.well-known/jwks.json"
		}
		checkHTTPS(r, name+".jwksUri", e.JWKSURI)
		var auds []string
		for _, a := range e.Audiences {
			if a = strings.TrimSpace(a); a != "" {
				auds = append(auds, a)
			}
		}
		e.Audiences = auds
		if len(auds) == 0 {
			r.fail(name, "audiences is empty for issuer %s: give the aud (or client_id) that IdP puts in tokens for this API", e.Issuer)
		}
		if e.TokenUse != "" && e.TokenUse != "id" && e.TokenUse != "access" {
			r.fail(name, "tokenUse %q: want id, access or nothing", e.TokenUse)
		}
		if seen[e.Issuer] {
			r.fail(name, "issuer %s is listed twice: list each issuer once, with all its audiences", e.Issuer)
		}
		seen[e.Issuer] = true
		if c.AuthIssuer != "" && e.Issuer == c.AuthIssuer {
			r.fail(name, "issuer %s is already authIssuer, the authorizer's own issuer: remove it from extraIssuers", e.Issuer)
		}
	}
}
