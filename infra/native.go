package infra

import (
	"fmt"
	"slices"
	"strings"

	"github.com/secure-api-go/apigw-jwt/constructs/restapi"
	"github.com/secure-api-go/apigw-jwt/constructs/userpool"
	"github.com/secure-api-go/apigw-jwt/internal/seedspec"
)

// NativeIssuer is one issuer the REST API trusts, as the native JWT
// authorizer would be told of it.
type NativeIssuer struct {
	seedspec.Issuer
	// Algorithms the issuer signs with. Default: RS256 (as our authorizer's).
	Algorithms []string
	// ScopedClients are audiences whose every token carries at least one of
	// these scopes (a client-credentials client allowed only them): a rule
	// naming other clients still holds for them when its scopes cover these.
	ScopedClients map[string][]string
}

// nativeAlgorithms are the algorithms a REST JWT authorizer accepts
// (DefaultAlgorithms): https://docs.aws.amazon.com/apigateway/latest/api/API_JwtConfigurationInput.html
var nativeAlgorithms = []string{"RS256", "RS384", "RS512", "ES256", "ES384", "ES512"}

// useLambda ends every refusal: the one way to keep the rule.
const useLambda = "use restAuthorizer=lambda (our TOKEN authorizer) for it"

// NativeJWT translates the trusted issuers and the allow-list rules into the
// native JWT authorizer's configuration: the issuers with their audiences
// and a required token_use claim, one algorithm list, and per method the
// scopes of which any one passes (none listed: any valid token), from all
// the rules naming that method (mergeRules). What the
// native authorizer cannot express is an error naming the rule or issuer,
// never a weaker API:
//   - a rule that lets some clients in without a scope, when the issuers
//     trust other audiences too (the native authorizer has no per-method
//     audience: the method would open to all of them);
//   - a rule with neither clients nor scopes (it would open to any token;
//     say anyToken for that), or one that requires groups (an array claim);
//   - an issuer whose keys are not found by OIDC discovery (a jwksUri other
//     than the discovery default, or a pinned jwks): API Gateway reads only
//     <issuer>/.well-known/openid-configuration, and it must be public
//     (https://docs.aws.amazon.com/apigateway/latest/developerguide/rest-api-jwt-authorizer-keys.html);
//   - an algorithm the native authorizer does not offer (PS256 and the
//     other RSASSA-PSS ones), or issuers that sign with different ones
//     (DefaultAlgorithms applies to every issuer).
func NativeJWT(rules []Rule, issuers []NativeIssuer) (*restapi.JWTAuthorizer, error) {
	var errs []string
	fail := func(format string, a ...any) { errs = append(errs, fmt.Sprintf(format, a...)+": "+useLambda) }
	out := &restapi.JWTAuthorizer{Scopes: map[string][]string{}}

	for i, iss := range issuers {
		algs := iss.Algorithms
		if len(algs) == 0 {
			algs = []string{"RS256"}
		}
		for _, a := range algs {
			if !slices.Contains(nativeAlgorithms, a) {
				fail("restAuthorizer=jwt: issuer %s signs with %s, which API Gateway's JWT authorizer does not accept (only %s)", iss.Issuer.Issuer, a, strings.Join(nativeAlgorithms, ", "))
			}
		}
		if i == 0 {
			out.Algorithms = algs
		} else if !slices.Equal(algs, out.Algorithms) {
			fail("restAuthorizer=jwt: issuer %s signs with %v but issuer %s with %v, and the JWT authorizer has one algorithm list for all issuers (a weaker check for one of them)", iss.Issuer.Issuer, algs, issuers[0].Issuer.Issuer, out.Algorithms)
		}
		if len(iss.JWKS) > 0 {
			fail("restAuthorizer=jwt: issuer %s has pinned keys (jwks), and the JWT authorizer fetches keys only through OIDC discovery", iss.Issuer.Issuer)
		}
		if def := strings.TrimSuffix(iss.Issuer.Issuer, "/") + "/.well-known/jwks.json"; iss.JWKSURI != "" && iss.JWKSURI != def {
			fail("restAuthorizer=jwt: issuer %s has jwksUri %s, and the JWT authorizer finds keys only through the public discovery document %s/.well-known/openid-configuration; if that document names this jwks_uri, leave jwksUri (authJwksUri) unset", iss.Issuer.Issuer, iss.JWKSURI, strings.TrimSuffix(iss.Issuer.Issuer, "/"))
		}
		ni := restapi.JWTIssuer{Issuer: iss.Issuer.Issuer, Audiences: iss.Audiences}
		if iss.TokenUse != "" {
			// The AdditionalClaims of the JWT authorizer: token_use, that exact value, required.
			ni.AdditionalClaims = []restapi.JWTClaim{{Name: "token_use", Values: []string{iss.TokenUse}, Required: true}}
		}
		out.Issuers = append(out.Issuers, ni)
	}

	for _, r := range mergeRules(rules) {
		key := r.Method + " " + r.Resource
		switch {
		case r.AnyToken:
			out.Scopes[key] = nil // any valid token
		case len(r.Groups) > 0:
			// The JWT authorizer's additional claims are single strings, and a
			// method's scopes come from scope or scp only: a group list
			// (cognito:groups) cannot be required per method.
			fail("restAuthorizer=jwt: rule %s requires groups %v, and the JWT authorizer cannot check an array claim per method", key, r.Groups)
		case len(r.Clients) == 0 && len(r.Scopes) == 0:
			fail("restAuthorizer=jwt: rule %s names neither clients nor scopes", key)
		case len(r.Clients) == 0:
			out.Scopes[key] = r.Scopes
		default:
			// The rule lets r.Clients in with any token, others with a scope.
			// "Any valid token" says the same only when every audience the
			// issuers trust is one of r.Clients, or a client whose every
			// token carries one of the rule's scopes.
			for _, iss := range issuers {
				for _, aud := range iss.Audiences {
					if slices.Contains(r.Clients, aud) {
						continue
					}
					if sc, ok := iss.ScopedClients[aud]; ok && len(sc) > 0 && !slices.ContainsFunc(sc, func(s string) bool { return !slices.Contains(r.Scopes, s) }) {
						continue
					}
					fail("restAuthorizer=jwt: rule %s lets clients %v in without a scope, but issuer %s also trusts audience %s, which the rule admits only with one of %v; the JWT authorizer has no per-method audience, so the method would open to it", key, r.Clients, iss.Issuer.Issuer, aud, r.Scopes)
				}
			}
			out.Scopes[key] = nil // any valid token
		}
	}
	if len(errs) > 0 {
		return nil, fmt.Errorf("%s", strings.Join(errs, "\n"))
	}
	return out, nil
}

// mergeRules folds the rules of each method and resource into one, in the
// order they first appear. Rules add up (a token any of them grants is
// granted) and each grants on a scope OR a group OR a client OR any token,
// so their union is exactly the rule with the scopes, groups and clients of
// all and AnyToken if any has it: translated once, it is neither weaker nor
// stricter than the rules, where translating each and keeping the last would
// drop what the others grant - or, for "any valid token", grant more than
// they do.
func mergeRules(rules []Rule) []Rule {
	var out []Rule
	at := map[string]int{}
	add := func(to []string, from []string) []string {
		for _, v := range from {
			if !slices.Contains(to, v) {
				to = append(to, v)
			}
		}
		return to
	}
	for _, r := range rules {
		key := r.Method + " " + r.Resource
		i, seen := at[key]
		if !seen {
			at[key] = len(out)
			out = append(out, Rule{Method: r.Method, Resource: r.Resource})
			i = len(out) - 1
		}
		m := &out[i]
		m.AnyToken = m.AnyToken || r.AnyToken
		m.Scopes = add(m.Scopes, r.Scopes)
		m.Groups = add(m.Groups, r.Groups)
		m.Clients = add(m.Clients, r.Clients)
	}
	return out
}

// restIssuer is the REST API's own trusted issuer - the stack's pool, with
// its app client and machine client as audiences, or authIssuer with
// authAudience - and the audiences that may read pets without a scope (the
// app client, or every authAudience). The pool's values are given, as
// tokens at synth time or as placeholders when only the shape is checked.
func restIssuer(cfg *Config, poolIssuer, appClient, machineClient string) (own seedspec.Issuer, userAudiences []string) {
	if cfg.AuthIssuer != "" {
		return seedspec.Issuer{Issuer: cfg.AuthIssuer, JWKSURI: cfg.AuthJWKSURI, Audiences: cfg.AuthAudience, TokenUse: cfg.AuthTokenUse}, cfg.AuthAudience
	}
	return seedspec.Issuer{Issuer: poolIssuer, JWKSURI: poolIssuer + "/.well-known/jwks.json", Audiences: []string{appClient, machineClient}, TokenUse: cfg.AuthTokenUse}, []string{appClient}
}

// nativeIssuers are own and extraIssuers for NativeJWT; the pool's machine
// client is scoped (Cognito issues client-credentials tokens only with
// scopes the client is allowed, and it is allowed exactly machineScopes).
func nativeIssuers(cfg *Config, own seedspec.Issuer, machineClient string, machineScopes []string) []NativeIssuer {
	first := NativeIssuer{Issuer: own}
	if cfg.AuthIssuer == "" {
		first.ScopedClients = map[string][]string{machineClient: machineScopes}
	}
	out := []NativeIssuer{first}
	for _, e := range cfg.ExtraIssuers {
		out = append(out, NativeIssuer{Issuer: e})
	}
	return out
}

// Placeholders for the pool's values when LoadConfig checks that
// restAuthorizer=jwt can express the configuration (before the pool exists).
const (
	poolIssuerName    = "<the stack's user pool>"
	appClientName     = "<app client>"
	machineClientName = "<machine client>"
)

// checkNative reports, as configuration errors, what restAuthorizer=jwt
// cannot express for this configuration; NewStack translates the same
// configuration with the pool's real values.
func checkNative(r *reader, c *Config) {
	if c.RESTAuthorizer != RESTAuthorizerJWT {
		return
	}
	if c.AuthorizerReservedConcurrency > 0 {
		r.fail("authorizerReservedConcurrency", "%v, but restAuthorizer=jwt makes no authorizer function: leave it 0, or use restAuthorizer=lambda", c.AuthorizerReservedConcurrency)
	}
	// The TTL caches our Lambda authorizer's policy; the native authorizer's
	// configuration (JwtConfiguration) has no such setting, so a changed
	// value would be silently ignored.
	if def := defaults["restAuthorizerTtl"].(float64); c.RESTAuthorizerTTL != def {
		r.fail("restAuthorizerTtl", "%v, but it caches our Lambda authorizer's policy and restAuthorizer=jwt has none: leave it %v, or use restAuthorizer=lambda", c.RESTAuthorizerTTL, def)
	}
	admin, machineScopes := "admin-"+appClientName, userpool.MachineScopesOf(c.ResourceServerID)
	own, users := restIssuer(c, poolIssuerName, appClientName, machineClientName)
	if _, err := NativeJWT(AuthorizerRules(admin, users, c.ResourceServerID), nativeIssuers(c, own, machineClientName, machineScopes)); err != nil {
		for _, line := range strings.Split(err.Error(), "\n") {
			r.fail("restAuthorizer", "%s", strings.TrimPrefix(line, "restAuthorizer=jwt: "))
		}
	}
}

// mustNativeJWT translates for NewStack; LoadConfig has already refused
// what cannot be translated, so an error here is a bug.
func mustNativeJWT(cfg *Config, rules []Rule, own seedspec.Issuer, machineClient string, machineScopes []string) *restapi.JWTAuthorizer {
	j, err := NativeJWT(rules, nativeIssuers(cfg, own, machineClient, machineScopes))
	if err != nil {
		panic(fmt.Sprintf("restAuthorizer=jwt: %v", err))
	}
	return j
}

// cog4Reason is why a guarded /pets method uses no COGNITO_USER_POOLS
// authorizer (cdk-nag 2.35's COG4 accepts no other type, the native JWT one
// included).
func cog4Reason(cfg *Config) string {
	if cfg.RESTAuthorizer == RESTAuthorizerJWT {
		return "API Gateway's native JWT authorizer (AuthorizationType JWT) verifies the Cognito (or any OIDC) JWT and the method's scopes; COG4 knows only COGNITO_USER_POOLS."
	}
	return "A Lambda TOKEN authorizer verifies the Cognito (or any OIDC) JWT against its JWKS and applies the scope allow-list."
}
