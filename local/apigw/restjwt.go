package apigw

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/MicahParks/keyfunc/v3"
	"github.com/golang-jwt/jwt/v5"

	"github.com/secure-api-go/apigw-jwt/local/template"
)

// restJWTAuthorizer emulates API Gateway's native JWT authorizer for REST
// APIs (AWS::ApiGateway::Authorizer Type JWT), as documented:
// https://docs.aws.amazon.com/apigateway/latest/developerguide/rest-api-jwt-authorizer.html
// The token comes from the configured header, alone or after "Bearer ";
// the token's iss picks one configured issuer (exact match); its keys come
// through OIDC discovery (<issuer>/.well-known/openid-configuration, whose
// issuer must be the same string, then its jwks_uri); the signature
// algorithm must be one of DefaultAlgorithms; exp is required, nbf and iat
// are checked; aud (or, without aud, client_id) must be one of the issuer's
// audiences; every additional claim must hold. Any failure is 401. Then the
// method's scopes: any one of them in scope or scp passes, none is 403.
type restJWTAuthorizer struct {
	id         string
	header     string
	algorithms []string
	issuers    map[string]*restJWTIssuer
}

type restJWTIssuer struct {
	issuer    string
	audiences []string
	claims    []additionalClaim

	mu sync.Mutex
	kf keyfunc.Keyfunc
}

// additionalClaim is a JwtAdditionalClaim: a SINGLE_STRING claim
// (https://docs.aws.amazon.com/apigateway/latest/api/API_JwtAdditionalClaim.html).
type additionalClaim struct {
	name     string
	values   []string // empty: any value
	required bool
}

// errNativeJWT: the token is refused (401); errKeys: the issuer's keys could not be found (500).
var (
	errNativeJWT = errors.New("invalid JWT")
	errKeys      = errors.New("issuer keys unavailable")
)

// newRESTJWTAuthorizer reads a JWT authorizer's properties from the template.
func newRESTJWTAuthorizer(t *template.Template, id string, p map[string]any, opts Options) (*restJWTAuthorizer, error) {
	a := &restJWTAuthorizer{id: id, issuers: map[string]*restJWTIssuer{}}
	a.header = strings.ToLower(strings.TrimPrefix(fmt.Sprint(p["IdentitySource"]), "method.request.header."))
	if a.header == "" || a.header == "<nil>" {
		return nil, fmt.Errorf("apigw: JWT authorizer %s: no IdentitySource header", id)
	}
	raw, err := t.Resolve(p["JwtConfiguration"])
	if err != nil {
		return nil, fmt.Errorf("apigw: JWT authorizer %s: %w", id, err)
	}
	cfg, _ := raw.(map[string]any)
	for _, alg := range list(cfg["DefaultAlgorithms"]) {
		a.algorithms = append(a.algorithms, fmt.Sprint(alg))
	}
	if len(a.algorithms) == 0 {
		return nil, fmt.Errorf("apigw: JWT authorizer %s: JwtConfiguration.DefaultAlgorithms is empty", id)
	}
	for _, e := range list(cfg["Issuers"]) {
		m, _ := e.(map[string]any)
		iss := &restJWTIssuer{issuer: fmt.Sprint(m["Issuer"])}
		for _, aud := range list(m["Audiences"]) {
			iss.audiences = append(iss.audiences, fmt.Sprint(aud))
		}
		for _, c := range list(m["AdditionalClaims"]) {
			cm, _ := c.(map[string]any)
			if f := fmt.Sprint(cm["Format"]); f != "SINGLE_STRING" {
				return nil, fmt.Errorf("apigw: JWT authorizer %s: claim %v has format %s, want SINGLE_STRING (the only one AWS offers)", id, cm["ClaimName"], f)
			}
			ac := additionalClaim{name: fmt.Sprint(cm["ClaimName"]), required: cm["Required"] == true}
			for _, v := range list(cm["ExpectedValues"]) {
				ac.values = append(ac.values, fmt.Sprint(v))
			}
			iss.claims = append(iss.claims, ac)
		}
		if iss.issuer == "" || len(iss.audiences) == 0 {
			return nil, fmt.Errorf("apigw: JWT authorizer %s: issuer %q needs at least one audience", id, iss.issuer)
		}
		a.issuers[iss.issuer] = iss
	}
	if len(a.issuers) == 0 {
		return nil, fmt.Errorf("apigw: JWT authorizer %s: no issuers", id)
	}
	return a, nil
}

// token reads the token from the header value: alone, or after the Bearer
// scheme (matched case-insensitively, RFC 7235).
func (a *restJWTAuthorizer) token(r *http.Request) string {
	v := strings.TrimSpace(r.Header.Get(a.header))
	if len(v) > 7 && strings.EqualFold(v[:7], "bearer ") {
		v = strings.TrimSpace(v[7:])
	}
	return v
}

// verify checks the token and returns its claims.
func (a *restJWTAuthorizer) verify(ctx context.Context, raw string, now time.Time) (jwt.MapClaims, error) {
	unverified := jwt.MapClaims{}
	if _, _, err := jwt.NewParser().ParseUnverified(raw, unverified); err != nil {
		return nil, fmt.Errorf("%w: %v", errNativeJWT, err)
	}
	issClaim, _ := unverified["iss"].(string)
	iss, ok := a.issuers[issClaim]
	if !ok {
		return nil, fmt.Errorf("%w: issuer %q not trusted", errNativeJWT, issClaim)
	}
	kf, err := iss.keys(ctx)
	if err != nil {
		return nil, err
	}
	claims := jwt.MapClaims{}
	if _, err := jwt.NewParser(
		jwt.WithValidMethods(a.algorithms),
		jwt.WithIssuer(iss.issuer),
		jwt.WithExpirationRequired(),
		jwt.WithIssuedAt(),
		jwt.WithTimeFunc(func() time.Time { return now }),
	).ParseWithClaims(raw, claims, kf.KeyfuncCtx(ctx)); err != nil {
		return nil, fmt.Errorf("%w: %v", errNativeJWT, err)
	}
	if err := audienceOK(claims, iss.audiences); err != nil {
		return nil, fmt.Errorf("%w: %v", errNativeJWT, err)
	}
	for _, c := range iss.claims {
		v, present := claims[c.name]
		if !present {
			if c.required {
				return nil, fmt.Errorf("%w: claim %s missing", errNativeJWT, c.name)
			}
			continue
		}
		s, isString := v.(string)
		if !isString {
			return nil, fmt.Errorf("%w: claim %s is not a single string", errNativeJWT, c.name)
		}
		if len(c.values) > 0 && !slices.Contains(c.values, s) {
			return nil, fmt.Errorf("%w: claim %s = %q, want one of %v", errNativeJWT, c.name, s, c.values)
		}
	}
	return claims, nil
}

// keys finds the issuer's key set through its discovery document, once
// (discoverJWKS, shared with the HTTP API's JWT authorizer: the document
// must name this exact issuer,
// https://docs.aws.amazon.com/apigateway/latest/api/API_JwtIssuerInput.html);
// the key set refreshes itself and refetches on an unknown kid, as AWS documents
// (https://docs.aws.amazon.com/apigateway/latest/developerguide/rest-api-jwt-authorizer-keys.html).
func (i *restJWTIssuer) keys(ctx context.Context) (keyfunc.Keyfunc, error) {
	i.mu.Lock()
	defer i.mu.Unlock()
	if i.kf != nil {
		return i.kf, nil
	}
	jwksURI, err := discoverJWKS(ctx, i.issuer)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", errKeys, err)
	}
	kf, err := keyfunc.NewDefaultCtx(context.Background(), []string{jwksURI})
	if err != nil {
		return nil, fmt.Errorf("%w: %s: %v", errKeys, jwksURI, err)
	}
	i.kf = kf
	return kf, nil
}

// authorizeJWT runs the native JWT authorizer for a method with scopes. A
// non-nil gwError is the answer, which goes through the API's gateway
// responses as AWS sends it (UNAUTHORIZED, ACCESS_DENIED,
// AUTHORIZER_CONFIGURATION_ERROR with their headers, CORS ones for a start:
// https://docs.aws.amazon.com/apigateway/latest/developerguide/supported-gateway-response-types.html);
// otherwise the integration's requestContext.authorizer, which carries the
// claims with their JSON types
// (https://docs.aws.amazon.com/apigateway/latest/developerguide/rest-api-jwt-authorizer-claims.html).
func (a *RESTAPI) authorizeJWT(r *http.Request, auth *restJWTAuthorizer, scopes []string) (map[string]any, *gwError) {
	raw := auth.token(r)
	if raw == "" {
		return nil, &errUnauthorized
	}
	claims, err := auth.verify(r.Context(), raw, a.opts.now())
	switch {
	case errors.Is(err, errKeys):
		a.opts.logf("rest jwt authorizer %s: %v", auth.id, err)
		return nil, &errAuthorizerConfig
	case err != nil:
		a.opts.logf("rest jwt authorizer %s: %v", auth.id, err)
		return nil, &errUnauthorized
	}
	if len(scopes) > 0 {
		held := tokenScopes(claims)
		if !slices.ContainsFunc(scopes, func(s string) bool { return slices.Contains(held, s) }) {
			// "A valid token that carries none of the method's scopes receives a 403 Forbidden response":
			// https://docs.aws.amazon.com/apigateway/latest/developerguide/rest-api-jwt-authorizer-methods.html
			return nil, &errScopeForbidden
		}
	}
	return map[string]any{"claims": map[string]any(claims)}, nil
}

// errScopeForbidden is the native JWT authorizer's answer to a valid token
// without the method's scopes: 403 {"message":"Forbidden"}, type ACCESS_DENIED.
var errScopeForbidden = gwError{typ: "ACCESS_DENIED", status: http.StatusForbidden, message: "Forbidden"}
