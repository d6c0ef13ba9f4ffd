// Package authz is an API Gateway Lambda authorizer for JWTs: it verifies
// the bearer token with jwtverify and answers with the allow-list policy
// the rules of package policy give it. One Handler answers all three events
// API Gateway sends, told apart by the event:
//
//   - REST API TOKEN authorizers (authorizationToken "Bearer <jwt>", methodArn);
//   - REST API REQUEST authorizers (the Authorization header; also HTTP API
//     payload format 1.0);
//   - HTTP API Lambda authorizers, payload format 2.0 ("version":"2.0",
//     routeArn, headers): an IAM-policy response, or with SimpleResponses
//     {"isAuthorized", "context"}.
//
// # How to use it
//
// In a Lambda main of your own, build the verifier and the rules once and
// hand Handle to lambda.Start:
//
//	v, err := jwtverify.New(jwtverify.Config{Issuers: []jwtverify.Issuer{{Issuer: iss, Audiences: []string{clientID}}}})
//	rules, err := policy.ParseRules(`[{"method":"GET","resource":"/pets","anyToken":true}]`)
//	h := &authz.Handler{Verifier: v, Rules: rules, Log: authz.NewLogger()}
//	lambda.Start(h.Handle)
//
// or let FromEnv read the whole configuration from the environment, as the
// ready-made binary github.com/secure-api-go/apigw-jwt/lambdas/authorizer does.
//
// # Answers
//
// A missing, malformed, expired or untrusted token: the error "Unauthorized"
// (API Gateway answers 401). A fault (keys unavailable, an event or ARN
// that cannot be read, a response over MaxResponseBytes): another error
// (500); nothing is ever allowed on a fault. A valid token: an Allow policy
// listing every method and resource its rules grant, in the whole API and
// stage (API Gateway caches the policy per token and reuses it for other
// methods), or a Deny of the stage when they grant nothing (403). The
// context carries iss, sub, scope, client_id, aud (the audiences the
// token's issuer vouches for), token_use, username and the ContextClaims,
// strings only. When the ContextClaims do not all fit MaxResponseBytes,
// each has an equal share and one over its share is left out (named in
// omittedClaims), never another: a backend must treat a missing claim as
// "deny".
//
// Simple responses are cached by API Gateway per identity source for the
// authorizer's TTL and reused for every route: use them with caching off,
// or with $context.routeKey and $context.httpMethod in the identity
// source (an ANY or $default route has one route key for every verb), as
// the jwtauthorizer construct does. The answer is decided for the route
// key, not only the path asked: under a greedy route (ANY /{proxy+}) or
// $default, isAuthorized is true only when a rule grants the token every
// path of the route (reason route_not_covered otherwise).
//
// # Several issuers
//
// Rules on groups and scopes match whatever configured issuer signed the
// token: configure only issuers you trust for every group and scope your
// rules name (clients count only the audiences the token's own issuer
// vouches for). sub is unique only within an issuer: a backend keys users
// by iss and sub together.
//
// # Environment of the authorizer binary (FromEnv)
//
// Issuers, either one:
//
//	ISSUER         the issuer, equal to the tokens' iss (TOKEN_ISSUER is an alias)
//	JWKS_URI       its JWKS (https, or http on a loopback host); unset: OIDC discovery
//	AUDIENCE       comma-separated audiences (aud, or client_id of tokens without aud)
//	TOKEN_USE      id or access to require Cognito's token_use; unset: either
//	JWKS_JSON      a JWKS document used as the initial key set (no request at cold start)
//
// or several, replacing all of the above:
//
//	ISSUERS        a JSON list of {"issuer", "jwksUri"?, "audiences": [...], "tokenUse"?,
//	               "algorithms"?: [...], "groupsClaim"?, "jwks"?}; the token's iss selects one
//
// For every issuer (an ISSUERS element's own field wins):
//
//	ALGORITHMS     comma-separated, among RS256 RS384 RS512 PS256 PS384 PS512 ES256 ES384 (default RS256)
//	GROUPS_CLAIM   the claim holding the user's groups (default cognito:groups)
//
// Rules and answers:
//
//	SCOPE_RULES       JSON list of {"method", "resource", "scopes"?, "groups"?, "clients"?, "anyToken"?}
//	                  (package policy); unset: DefaultRules (any valid token may GET, with a
//	                  warning); [] allows nothing; a set whose policy could exceed 8 KB is refused
//	CONTEXT_CLAIMS    comma-separated claims passed to the backend in the context
//	SIMPLE_RESPONSES  true: simple responses to HTTP API 2.0 events (default false)
//
// Tuning (defaults in brackets):
//
//	LEEWAY_SECONDS                     clock skew for exp, nbf, iat, 0-600 [60]
//	JWKS_TIMEOUT_MS                    one JWKS or discovery request, 1-30000 [3000]
//	JWKS_REFRESH_MIN_INTERVAL_SECONDS  least time between refetches for unknown kids [60]
//	JWKS_REFRESH_INTERVAL_SECONDS      refresh of a healthy key set [3600]
//	TOKEN_CACHE_SIZE                   verified tokens kept, 0 disables [1024]
//
// The binary also reads METRICS_NAMESPACE (CloudWatch embedded metrics:
// Allow, Deny and Fault with their reason, cache hits, JWKS fetches).
package authz
