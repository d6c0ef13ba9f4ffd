// Package jwtauthorizer protects an API Gateway REST API or HTTP API of any Go
// CDK app with this module's JWT authorizer Lambda.
//
// It makes the authorizer function - built with `go build` of the main
// package github.com/secure-api-go/apigw-jwt/lambdas/authorizer from your
// module's root, so the version your go.mod requires is what runs (no copy of
// the code, no Docker) - with its own least-privilege role and log group, a
// custom resource that fetches the issuers' keys at deploy time (so a cold
// start verifies without a JWKS request), and the API Gateway authorizer
// that calls it.
//
// How to use it:
//
//  1. In your CDK app's module: `go get github.com/secure-api-go/apigw-jwt` and
//     `go get -tool github.com/secure-api-go/apigw-jwt/lambdas/authorizer
//     github.com/secure-api-go/apigw-jwt/lambdas/jwksseed` (the tool lines
//     keep the two Lambdas' dependencies in your go.sum, so the synth can build
//     them offline and `go mod tidy` does not drop them). Until the module
//     is on the public Go proxy, require it through a checkout and a replace
//     directive, as the README section "Use the authorizer in your own stack" shows.
//  2. Make one Authorizer per API: New(stack, "Auth", &Props{Kind: REST, Issuers:
//     ..., Rules: ...}). Issuers are Cognito user pools (with the app clients
//     whose tokens count) or any OIDC issuer URL with its audiences.
//  3. Attach it: MethodOptions{Authorizer: auth.REST} on each REST method, or
//     AddRoutesOptions{Authorizer: auth.HTTP} on each HTTP API route (Kind: HTTP).
//
// The rules are the allow-list: a token may call a method only when a rule for
// that method and resource grants it (a scope, a group, a client, or any
// valid token). The authorizer's IAM policy covers every method of the API the
// token may call, so API Gateway's cached result stays right for other methods.
// At synth, the package checks the rules against the API (an aspect and a
// validation): a method or route that uses the authorizer but that no rule
// could ever allow is an error naming the method, and so is a rule naming no
// method that uses the authorizer. The synth also runs the authorizer's own
// checks of the rules (package policy: formats, overlaps of path parameters)
// and refuses what the authorizer would refuse at cold start.
package jwtauthorizer

import (
	"encoding/json"
	"fmt"
	"net/url"
	"slices"
	"strings"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsapigateway"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsapigatewayv2authorizers"
	"github.com/aws/aws-cdk-go/awscdk/v2/awscognito"
	"github.com/aws/aws-cdk-go/awscdk/v2/awslogs"
	"github.com/aws/constructs-go/constructs/v10"
	"github.com/aws/jsii-runtime-go"

	"github.com/secure-api-go/apigw-jwt/constructs/golambda"
	"github.com/secure-api-go/apigw-jwt/constructs/jwksseed"
	"github.com/secure-api-go/apigw-jwt/internal/metrics"
	"github.com/secure-api-go/apigw-jwt/internal/seedspec"
	"github.com/secure-api-go/apigw-jwt/lambdas/authz"
	"github.com/secure-api-go/apigw-jwt/lambdas/policy"
)

// Package is the import path of the authorizer's main package, which New
// builds from the consumer's module root.
const Package = golambda.ModulePath + "/lambdas/authorizer"

// TokenRegex is what API Gateway checks a REST request's Authorization header
// against before it calls the authorizer: the Bearer scheme, one space and
// three base64url segments; anything else is refused (401) without a Lambda
// call. The scheme is case-insensitive (RFC 6750 section 2.1, RFC 7235
// section 2.1: "bearer" and "BEARER" are the same scheme), spelled with
// character classes because API Gateway documents no regex flags; everything
// else stays strict. (The common "^Bearer [-0-9a-zA-z\.]*$" lets punctuation
// through via A-z.)
// https://docs.aws.amazon.com/apigateway/latest/developerguide/apigateway-use-lambda-authorizer.html
const TokenRegex = `^[Bb][Ee][Aa][Rr][Ee][Rr] [-_0-9A-Za-z]+\.[-_0-9A-Za-z]+\.[-_0-9A-Za-z]+$`

// MaxResultTTL is API Gateway's limit for the authorizer result cache, in
// seconds, for REST and HTTP APIs alike.
const MaxResultTTL = 3600

// DefaultResultTTL is API Gateway's own default. A cached result outlives a
// token's revocation or a group change by up to the TTL, so keep it short.
const DefaultResultTTL = 300

// Kind says which kind of API the authorizer serves.
type Kind string

const (
	// REST makes an awsapigateway.TokenAuthorizer (TOKEN type, the
	// Authorization header checked against TokenRegex first).
	REST Kind = "REST"
	// HTTP makes an HTTP API Lambda authorizer (payload format 2.0, IAM
	// policy responses unless Props.SimpleResponses).
	HTTP Kind = "HTTP"
)

// Issuer is one trusted token issuer: a Cognito user pool, or any OIDC issuer
// by URL. A token is verified only with the keys of the issuer its iss names.
type Issuer struct {
	// UserPool is a Cognito user pool: the issuer is its provider URL and its
	// JWKS https://cognito-idp.<region>.amazonaws.com/<poolId>/.well-known/jwks.json.
	// Set UserPool or URL, not both. Default: none.
	UserPool awscognito.IUserPool
	// Clients of UserPool whose tokens are accepted: an ID token's aud, or an
	// access token's client_id, must be one of them. Required with UserPool.
	Clients []awscognito.IUserPoolClient
	// URL is the issuer's iss value exactly, https (http only for a loopback
	// host). Default: none (required without UserPool).
	URL string
	// JWKSURI is where the issuer publishes its keys. Required when the keys
	// are fetched at deploy (the default); otherwise optional: without it the
	// authorizer finds it through OIDC discovery. Default with UserPool: the
	// pool's JWKS.
	JWKSURI string
	// Audiences accepted in aud (or, for a token without aud, client_id):
	// the API identifier or app client ids your IdP issues tokens for.
	// Required with URL; with UserPool, added to the Clients' ids. One
	// audience per element: no comma or whitespace.
	Audiences []string
	// TokenUse requires Cognito's token_use claim: "id" or "access".
	// Default: "" (either).
	TokenUse string
	// Algorithms accepted: RS256, RS384, RS512, PS256, PS384, PS512, ES256,
	// ES384 (never none or HMAC). Each issuer has its own list; issuers
	// whose lists mean the same (in any order) share one ALGORITHMS
	// variable, others carry theirs in ISSUERS. Default: RS256.
	Algorithms []string
}

// Props configure the authorizer.
type Props struct {
	// Kind of API: REST or HTTP. Default: REST.
	Kind Kind
	// Issuers trusted, in order (the first gets the deploy-time keys first
	// when they do not all fit Lambda's 4 KB environment). Required.
	Issuers []Issuer
	// Rules are the allow-list of the API's methods. Required: without a
	// rule for it, a method that uses the authorizer is a synth error.
	Rules []Rule
	// ResultTTLSeconds caches the authorizer's result per token (REST) or
	// per identity source (HTTP): a revoked token or a user removed from a
	// group keeps the cached rights for up to this long. 0 disables the
	// cache, 3600 is the maximum. Default: 300.
	ResultTTLSeconds *float64
	// DisableKeysAtDeploy skips the custom resource that fetches the
	// issuers' keys at deploy time: the authorizer then fetches them on its
	// first token. Default: false (keys fetched at deploy).
	DisableKeysAtDeploy bool
	// ReservedConcurrency caps the authorizer's concurrent executions, so a
	// flood of bad tokens cannot take the account's whole concurrency.
	// Default: 0 (unreserved).
	ReservedConcurrency float64
	// LogRetention of the authorizer's (and the seed's) log group. Default: one month.
	LogRetention awslogs.RetentionDays
	// ContextClaims are claims passed to the backend in the authorizer
	// context ($context.authorizer.<claim>, or
	// requestContext.authorizer.lambda.<claim>), kept under API Gateway's
	// 8 KB authorizer response limit (a claim over its share is left out and
	// named in omittedClaims: a backend treats a missing claim as "deny").
	// authz.ReservedContext names are refused. Default: none besides what
	// the authorizer always passes (authz.BuiltinContext: iss, sub, scope,
	// client, audience, token use, username).
	ContextClaims []string
	// SimpleResponses (HTTP only) answers {"isAuthorized": ...} instead of an
	// IAM policy. A simple response is cached for every route of the API, so
	// the route key and the HTTP method join the identity source and each
	// route and verb (an ANY route has one route key for all) is authorized
	// on its own. Default: false (IAM policy responses).
	SimpleResponses bool
	// MetricsNamespace receives the authorizer's CloudWatch metrics (allows,
	// denies and refusals by reason, in embedded metric format). Default: none (no metrics).
	MetricsNamespace string
}

// Authorizer exposes what New made.
type Authorizer struct {
	constructs.Construct
	// Lambda is the authorizer function with its role and log group.
	Lambda *golambda.GoLambda
	// Seed fetches the keys at deploy time; nil with DisableKeysAtDeploy.
	Seed *jwksseed.Seed
	// REST is the authorizer for REST API methods; nil for Kind HTTP.
	REST awsapigateway.TokenAuthorizer
	// HTTP is the authorizer for HTTP API routes; nil for Kind REST.
	HTTP awsapigatewayv2authorizers.HttpLambdaAuthorizer
	// Rules as given, in the authorizer's SCOPE_RULES.
	Rules []Rule
	// Env is the authorizer function's environment.
	Env map[string]*string

	kind     Kind
	coverage *coverage
}

// Environment variables of the authorizer binary (its interface).
const (
	envRules         = "SCOPE_RULES"
	envAlgorithms    = "ALGORITHMS"
	envContextClaims = "CONTEXT_CLAIMS"
	envSimple        = "SIMPLE_RESPONSES"
)

// New makes the authorizer. It panics with a message naming the prop, the
// value and the fix when the props cannot work.
func New(scope constructs.Construct, id string, props *Props) *Authorizer {
	if props == nil {
		panic(fmt.Sprintf("jwtauthorizer %s: props are required: give Issuers and Rules", id))
	}
	p := *props
	if p.Kind == "" {
		p.Kind = REST
	}
	if p.Kind != REST && p.Kind != HTTP {
		panic(fmt.Sprintf("jwtauthorizer %s: Kind %q: want jwtauthorizer.REST or jwtauthorizer.HTTP", id, p.Kind))
	}
	if p.SimpleResponses && p.Kind != HTTP {
		panic(fmt.Sprintf("jwtauthorizer %s: SimpleResponses is for HTTP APIs only: a REST authorizer answers with an IAM policy", id))
	}
	ttl := float64(DefaultResultTTL)
	if p.ResultTTLSeconds != nil {
		ttl = *p.ResultTTLSeconds
	}
	if ttl < 0 || ttl > MaxResultTTL || ttl != float64(int(ttl)) {
		panic(fmt.Sprintf("jwtauthorizer %s: ResultTTLSeconds %v: want whole seconds from 0 (no cache) to %d (API Gateway's limit)", id, ttl, MaxResultTTL))
	}
	if p.ReservedConcurrency < 0 {
		panic(fmt.Sprintf("jwtauthorizer %s: ReservedConcurrency %v: want 0 (unreserved) or more", id, p.ReservedConcurrency))
	}
	issuers, err := resolveIssuers(p.Issuers, !p.DisableKeysAtDeploy)
	if err != nil {
		panic(fmt.Sprintf("jwtauthorizer %s: %v", id, err))
	}
	if err := validateRules(p.Rules); err != nil {
		panic(fmt.Sprintf("jwtauthorizer %s: %v", id, err))
	}
	for i, cl := range p.ContextClaims {
		switch {
		case cl == "" || strings.ContainsAny(cl, ", "):
			panic(fmt.Sprintf("jwtauthorizer %s: ContextClaims holds %q: want claim names without commas or spaces", id, cl))
		case slices.Contains(authz.ReservedContext, cl):
			panic(fmt.Sprintf("jwtauthorizer %s: ContextClaims holds %q, which the context always carries or reserves (%s): leave it out", id, cl, strings.Join(authz.ReservedContext, ", ")))
		case slices.Contains(p.ContextClaims[:i], cl):
			panic(fmt.Sprintf("jwtauthorizer %s: ContextClaims holds %q twice: name each claim once", id, cl))
		}
	}

	// The seed's shared list is ALGORITHMS, set when the issuers' lists all
	// mean the same; otherwise environment leaves each issuer its own.
	algorithms := slices.Clone(issuers[0].Algorithms)
	env, err := environment(p, issuers)
	if err != nil {
		panic(fmt.Sprintf("jwtauthorizer %s: %v", id, err))
	}
	if env[envAlgorithms] == nil {
		algorithms = nil
	}
	c := constructs.NewConstruct(scope, &id)
	// A policy over API Gateway's 8 KB response is a fault (500) for the
	// broadly granted tokens, never an Allow; the bound assumes the longest
	// stage name, so it is a warning (cdk synth --strict makes it an error).
	if !p.SimpleResponses {
		if err := policy.CheckSize(p.Rules, 0); err != nil {
			awscdk.Annotations_Of(c).AddWarningV2(jsii.String("jwtauthorizer:PolicySize"), jsii.String(err.Error()))
		}
	}
	a := &Authorizer{Construct: c, Rules: slices.Clone(p.Rules), Env: env, kind: p.Kind}
	if !p.DisableKeysAtDeploy {
		a.Seed = jwksseed.New(c, "JwksSeed", &jwksseed.Props{Issuers: seedIssuers(issuers), Algorithms: algorithms, OtherEnv: env, LogRetention: p.LogRetention})
		env[a.Seed.Env] = a.Seed.Value
	}
	desc := "REST TOKEN authorizer: verifies JWTs against the issuer's JWKS"
	if p.Kind == HTTP {
		desc = "HTTP API Lambda authorizer: verifies JWTs against the issuer's JWKS"
	}
	a.Lambda = golambda.New(c, "Fn", &golambda.Props{
		Name:                "authorizer",
		Package:             Package,
		Description:         desc,
		Environment:         env,
		LogRetention:        p.LogRetention,
		ReservedConcurrency: p.ReservedConcurrency,
	})

	if p.Kind == REST {
		a.REST = awsapigateway.NewTokenAuthorizer(c, jsii.String("TokenAuthorizer"), &awsapigateway.TokenAuthorizerProps{
			Handler:         a.Lambda.Function,
			IdentitySource:  awsapigateway.IdentitySource_Header(jsii.String("Authorization")),
			ValidationRegex: jsii.String(TokenRegex),
			ResultsCacheTtl: awscdk.Duration_Seconds(&ttl),
		})
	} else {
		// API Gateway HTTP API Lambda authorizers:
		// https://docs.aws.amazon.com/apigateway/latest/developerguide/http-api-lambda-authorizer.html
		identity := []string{"$request.header.Authorization"}
		responses := []awsapigatewayv2authorizers.HttpLambdaResponseType{awsapigatewayv2authorizers.HttpLambdaResponseType_IAM}
		if p.SimpleResponses {
			// A cached simple response would answer for every route: with the
			// route key in the identity source, each route has its own entry;
			// and an ANY or $default route has one route key for every verb,
			// so the method is part of the cache key too. Identity sources may
			// be context variables
			// (https://docs.aws.amazon.com/apigatewayv2/latest/api-reference/apis-apiid-authorizers-authorizerid.html),
			// $context.httpMethod is one of an HTTP API's
			// (https://docs.aws.amazon.com/apigateway/latest/developerguide/http-api-logging-variables.html).
			identity = append(identity, "$context.routeKey", "$context.httpMethod")
			responses = []awsapigatewayv2authorizers.HttpLambdaResponseType{awsapigatewayv2authorizers.HttpLambdaResponseType_SIMPLE}
		}
		a.HTTP = awsapigatewayv2authorizers.NewHttpLambdaAuthorizer(jsii.String(id), a.Lambda.Function, &awsapigatewayv2authorizers.HttpLambdaAuthorizerProps{
			AuthorizerName:  jsii.String(id),
			IdentitySource:  jsii.Strings(identity...),
			ResponseTypes:   &responses,
			ResultsCacheTtl: awscdk.Duration_Seconds(&ttl),
		})
	}
	a.coverage = &coverage{a: a}
	awscdk.Aspects_Of(awscdk.Stage_Of(c)).Add(a.coverage, nil)
	c.Node().AddValidation(a.coverage)
	return a
}

// resolved is one issuer as the authorizer's environment names it.
type resolved struct {
	Issuer     string   `json:"issuer"`
	JWKSURI    string   `json:"jwksUri,omitempty"`
	Audiences  []string `json:"audiences"`
	TokenUse   string   `json:"tokenUse,omitempty"`
	Algorithms []string `json:"algorithms,omitempty"`
}

func resolveIssuers(in []Issuer, keysAtDeploy bool) ([]resolved, error) {
	if len(in) == 0 {
		return nil, fmt.Errorf("no issuers: Issuers is empty: give a Cognito user pool (Issuer{UserPool, Clients}) or an issuer URL with its Audiences")
	}
	var out []resolved
	seen := map[string]bool{}
	for i, is := range in {
		name := fmt.Sprintf("Issuers[%d]", i)
		r := resolved{Issuer: is.URL, JWKSURI: is.JWKSURI, Audiences: slices.Clone(is.Audiences), TokenUse: is.TokenUse, Algorithms: slices.Clone(is.Algorithms)}
		switch {
		case is.UserPool != nil && is.URL != "":
			return nil, fmt.Errorf("%s sets both UserPool and URL (%s): set one", name, is.URL)
		case is.UserPool != nil:
			if len(is.Clients) == 0 {
				return nil, fmt.Errorf("%s: UserPool without Clients: list the app clients whose tokens are accepted (their ids are the audiences)", name)
			}
			r.Issuer = providerURL(is.UserPool)
			if r.JWKSURI == "" {
				r.JWKSURI = r.Issuer + "/.well-known/jwks.json"
			}
			ids := make([]string, len(is.Clients))
			for j, cl := range is.Clients {
				ids[j] = *cl.UserPoolClientId()
			}
			r.Audiences = append(ids, r.Audiences...)
		case is.URL == "":
			return nil, fmt.Errorf("%s: give UserPool (a Cognito user pool) or URL (the issuer's iss value)", name)
		default:
			if err := checkURL(name+".URL", is.URL); err != nil {
				return nil, err
			}
			if len(is.Audiences) == 0 {
				return nil, fmt.Errorf("%s (%s): Audiences is empty: give the API identifier or client ids your IdP puts in aud", name, is.URL)
			}
		}
		if r.JWKSURI != "" {
			if err := checkURL(name+".JWKSURI", r.JWKSURI); err != nil {
				return nil, err
			}
		} else if keysAtDeploy {
			return nil, fmt.Errorf("%s (%s): JWKSURI is empty, and the keys are fetched at deploy from it: give the issuer's jwks_uri, or set DisableKeysAtDeploy to let the authorizer find it by OIDC discovery", name, r.Issuer)
		}
		for _, aud := range r.Audiences {
			// The authorizer reads one issuer's audiences as a comma-separated
			// AUDIENCE and trims each: a comma or blank would change the list.
			if aud == "" || strings.ContainsAny(aud, ", \t\r\n") {
				return nil, fmt.Errorf("%s (%s): Audiences holds %q: an audience has no comma or whitespace and is not empty; give each audience as its own element", name, r.Issuer, aud)
			}
		}
		switch r.TokenUse {
		case "", "id", "access":
		default:
			return nil, fmt.Errorf("%s (%s): TokenUse %q: want \"id\", \"access\" or \"\" (either)", name, r.Issuer, r.TokenUse)
		}
		for _, alg := range r.Algorithms {
			if !slices.Contains(Algorithms, alg) {
				return nil, fmt.Errorf("%s (%s): Algorithms holds %q: want some of %s (never none or HMAC)", name, r.Issuer, alg, strings.Join(Algorithms, ", "))
			}
		}
		if seen[r.Issuer] {
			return nil, fmt.Errorf("%s: issuer %s is listed twice: list each issuer once, with all its audiences", name, r.Issuer)
		}
		seen[r.Issuer] = true
		out = append(out, r)
	}
	return out, nil
}

// providerURL is a user pool's issuer: its ProviderURL attribute for a pool
// of this app, the documented form for an imported one
// (https://docs.aws.amazon.com/cognito/latest/developerguide/amazon-cognito-user-pools-using-the-id-token.html).
func providerURL(pool awscognito.IUserPool) string {
	if p, ok := pool.(awscognito.UserPool); ok {
		return *p.UserPoolProviderUrl()
	}
	return *awscdk.Fn_Join(jsii.String(""), &[]*string{
		jsii.String("https://cognito-idp."), pool.Env().Region, jsii.String("."), awscdk.Aws_URL_SUFFIX(), jsii.String("/"), pool.UserPoolId(),
	})
}

// Algorithms the authorizer may accept.
var Algorithms = []string{"RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384"}

// checkURL is the authorizer's transport rule, checked at synth: https, or
// http for a loopback host. Unresolved values (a pool's URL) pass.
func checkURL(name, raw string) error {
	if strings.Contains(raw, "${Token[") {
		return nil
	}
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" {
		return fmt.Errorf("%s %q is not an absolute URL", name, raw)
	}
	host := u.Hostname()
	if u.Scheme == "https" || u.Scheme == "http" && (host == "localhost" || host == "127.0.0.1" || host == "::1") {
		return nil
	}
	return fmt.Errorf("%s %q must use https (http only for localhost, 127.0.0.1 or ::1)", name, raw)
}

// environment is the authorizer's configuration, without the seeded keys.
func environment(p Props, issuers []resolved) (map[string]*string, error) {
	rules, err := json.Marshal(p.Rules)
	if err != nil {
		return nil, err
	}
	env := map[string]*string{envRules: jsii.String(string(rules))}
	if p.MetricsNamespace != "" {
		env[metrics.EnvNamespace] = jsii.String(p.MetricsNamespace)
	}
	if len(p.ContextClaims) > 0 {
		env[envContextClaims] = jsii.String(strings.Join(p.ContextClaims, ","))
	}
	if p.SimpleResponses {
		env[envSimple] = jsii.String("true")
	}
	// One ALGORITHMS list for all issuers when they mean the same (no list
	// is RS256, order does not matter), always for a single issuer;
	// otherwise each issuer's own list in its ISSUERS element, whether this
	// construct writes ISSUERS or the seed does (it copies them through).
	same := true
	for _, is := range issuers[1:] {
		same = same && slices.Equal(seedspec.Algorithms(is.Algorithms), seedspec.Algorithms(issuers[0].Algorithms))
	}
	if same {
		if len(issuers[0].Algorithms) > 0 {
			env[envAlgorithms] = jsii.String(strings.Join(issuers[0].Algorithms, ","))
		}
		for i := range issuers {
			issuers[i].Algorithms = nil
		}
	}
	switch {
	case len(issuers) == 1:
		is := issuers[0]
		env["ISSUER"] = jsii.String(is.Issuer)
		if is.JWKSURI != "" {
			env["JWKS_URI"] = jsii.String(is.JWKSURI)
		}
		env["AUDIENCE"] = jsii.String(strings.Join(is.Audiences, ","))
		if is.TokenUse != "" {
			env["TOKEN_USE"] = jsii.String(is.TokenUse)
		}
	case p.DisableKeysAtDeploy:
		b, err := json.Marshal(issuers)
		if err != nil {
			return nil, err
		}
		env[seedspec.EnvIssuers] = jsii.String(string(b))
	}
	// Several issuers with the seed: the seed writes ISSUERS.
	return env, nil
}

func seedIssuers(in []resolved) []seedspec.Issuer {
	out := make([]seedspec.Issuer, len(in))
	for i, is := range in {
		out[i] = seedspec.Issuer{Issuer: is.Issuer, JWKSURI: is.JWKSURI, Audiences: is.Audiences, TokenUse: is.TokenUse, Algorithms: is.Algorithms}
	}
	return out
}

// httpAuthorizerID is the HTTP authorizer's id once a route has bound it,
// or "" before (the CDK refuses to tell it earlier).
func (a *Authorizer) httpAuthorizerID() (id string) {
	defer func() {
		if recover() != nil {
			id = ""
		}
	}()
	return *a.HTTP.AuthorizerId()
}

// The jsii interfaces coverage implements.
var (
	_ awscdk.IAspect         = (*coverage)(nil)
	_ constructs.IValidation = (*coverage)(nil)
)
