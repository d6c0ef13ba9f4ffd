package authz

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"os"
	"slices"
	"strings"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-lambda-go/lambdacontext"

	"github.com/secure-api-go/apigw-jwt/internal/scope"
	"github.com/secure-api-go/apigw-jwt/lambdas/internal/clip"
	"github.com/secure-api-go/apigw-jwt/lambdas/jwtverify"
	"github.com/secure-api-go/apigw-jwt/lambdas/policy"
)

// ErrUnauthorized is the one error message API Gateway turns into 401.
var ErrUnauthorized = errors.New("Unauthorized")

// ErrFault makes API Gateway answer 500: the fault is ours (keys
// unavailable, an event we cannot read, a response over the size limit), so
// the caller's token is not blamed, and nothing is allowed.
var ErrFault = errors.New("authorizer fault")

// Verifier is what a Handler needs of a *jwtverify.Verifier.
type Verifier interface {
	Verify(ctx context.Context, token string) (*jwtverify.Claims, error)
}

// Handler verifies the bearer token of an API Gateway Lambda authorizer
// event and answers with the allow-list its Rules give the token. The zero
// values of the optional fields mean what their comments say.
type Handler struct {
	// Verifier checks the token. Required.
	Verifier Verifier
	// Rules say which methods each token may call. None: every valid token
	// gets 403.
	Rules []policy.Rule
	// ContextClaims are claims passed to the backend in the context (under
	// their own names; strings as they are, other values as their JSON),
	// besides the BuiltinContext keys. Each has its own share of the room
	// MaxResponseBytes leaves: a claim over its share is left out (and named
	// in omittedClaims) when they do not all fit, and never pushes another
	// out; so a backend must treat a missing claim as "deny". Names in
	// ReservedContext are a fault on every request (FromEnv and the
	// jwtauthorizer construct refuse them up front). Default: none.
	ContextClaims []string
	// SimpleResponses makes HTTP API (payload 2.0) answers simple responses,
	// {"isAuthorized", "context"}. API Gateway caches one per identity source
	// and reuses it for every route of the authorizer
	// (https://docs.aws.amazon.com/apigateway/latest/developerguide/http-api-lambda-authorizer.html,
	// "Caching"), so enable it only with caching off or with both
	// $context.routeKey and $context.httpMethod in the identity source (an
	// ANY or $default route has one route key for every verb), as the
	// jwtauthorizer construct does. The answer is decided for the route key
	// and verb, not only the path asked (policy.AllowsRoute): under a greedy
	// route (ANY /{proxy+}) or $default it is true only when a rule grants
	// the token every path of the route, so a cached answer never lets one
	// path's grant answer another's. Default: IAM-policy responses, which
	// cover every route and cache safely.
	SimpleResponses bool
	// Log receives one line per decision: reason codes, never the token.
	// Default: discarded.
	Log *slog.Logger
	// OnDecision, when set, is called once per invocation with its outcome,
	// for metrics.
	OnDecision func(Decision)
}

// Decision is the outcome of one invocation.
type Decision struct {
	// Outcome is Allow (a valid token granted something), Deny (a refused
	// token, or a valid one granted nothing) or Fault.
	Outcome Outcome
	// Reason is a stable code for Deny and Fault: no_bearer, no_grant,
	// route_not_covered, bad_audience, a jwtverify.Reason code,
	// bad_method_arn, unknown_event, response_too_large,
	// reserved_context_claim.
	Reason string
}

// Outcome of a Decision.
type Outcome string

// Outcomes.
const (
	Allow Outcome = "Allow"
	Deny  Outcome = "Deny"
	Fault Outcome = "Fault"
)

// MaxResponseBytes is the largest authorizer response API Gateway takes
// ("Lambda authorizer result size", 8 KB:
// https://docs.aws.amazon.com/apigateway/latest/developerguide/limits.html).
// A configured claim over its share of it is left out and named in the
// context's omittedClaims.
const MaxResponseBytes = 8 << 10

// BuiltinContext are the context keys every allowed response carries (when
// the token has them), and omittedClaims. Do not modify.
var BuiltinContext = []string{"iss", "sub", "scope", "client_id", "aud", "token_use", "username", "omittedClaims"}

// ReservedContext are the names ContextClaims may not use: BuiltinContext,
// and the keys API Gateway itself puts beside the context in
// requestContext.authorizer (principalId, integrationLatency; claims for
// its JWT authorizers), which a backend could mistake for them. FromEnv and
// the jwtauthorizer construct refuse them; a Handler given one faults. Do
// not modify.
var ReservedContext = append(slices.Clone(BuiltinContext), "principalId", "integrationLatency", "claims")

// Handle answers any of the three events API Gateway sends a Lambda
// authorizer, told apart by their type and version: a REST TOKEN event, a
// REST REQUEST event (or an HTTP API payload 1.0 one) and an HTTP API
// payload 2.0 event. Pass it to lambda.Start.
func (h *Handler) Handle(ctx context.Context, event json.RawMessage) (any, error) {
	var kind struct {
		Type    string `json:"type"`
		Version string `json:"version"`
	}
	if err := json.Unmarshal(event, &kind); err == nil {
		switch {
		case kind.Type == "TOKEN":
			var ev events.APIGatewayCustomAuthorizerRequest
			if err = json.Unmarshal(event, &ev); err == nil {
				return h.HandleToken(ctx, ev)
			}
		case kind.Type == "REQUEST" && kind.Version == "2.0":
			var ev events.APIGatewayV2CustomAuthorizerV2Request
			if err = json.Unmarshal(event, &ev); err == nil {
				return h.HandleHTTP(ctx, ev)
			}
		case kind.Type == "REQUEST" && (kind.Version == "" || kind.Version == "1.0"):
			var ev events.APIGatewayCustomAuthorizerRequestTypeRequest
			if err = json.Unmarshal(event, &ev); err == nil {
				return h.HandleRequest(ctx, ev)
			}
		}
	}
	h.log(ctx).Error("fault", "reason", "unknown_event", "type", clip.String(kind.Type), "version", clip.String(kind.Version))
	h.decide(Fault, "unknown_event")
	return nil, ErrFault
}

// HandleToken answers a REST API TOKEN authorizer event.
func (h *Handler) HandleToken(ctx context.Context, ev events.APIGatewayCustomAuthorizerRequest) (events.APIGatewayCustomAuthorizerResponse, error) {
	return h.policyResponse(ctx, ev.AuthorizationToken, true, ev.MethodArn)
}

// HandleRequest answers a REST API REQUEST authorizer event (and an HTTP
// API payload 1.0 one): the token is the Authorization header's.
func (h *Handler) HandleRequest(ctx context.Context, ev events.APIGatewayCustomAuthorizerRequestTypeRequest) (events.APIGatewayCustomAuthorizerResponse, error) {
	auth, ok := authorizationHeader(ev.Headers, ev.MultiValueHeaders)
	return h.policyResponse(ctx, auth, ok, ev.MethodArn)
}

// HandleHTTP answers an HTTP API payload 2.0 event: the token is the
// Authorization header's, the answer an
// events.APIGatewayV2CustomAuthorizerIAMPolicyResponse or, with
// SimpleResponses, an events.APIGatewayV2CustomAuthorizerSimpleResponse.
func (h *Handler) HandleHTTP(ctx context.Context, ev events.APIGatewayV2CustomAuthorizerV2Request) (any, error) {
	auth, ok := authorizationHeader(ev.Headers, nil)
	if !h.SimpleResponses {
		resp, err := h.policyResponse(ctx, auth, ok, ev.RouteArn)
		if err != nil {
			return nil, err
		}
		return events.APIGatewayV2CustomAuthorizerIAMPolicyResponse{PrincipalID: resp.PrincipalID, PolicyDocument: resp.PolicyDocument, Context: resp.Context}, nil
	}
	arn, claims, err := h.verify(ctx, auth, ok, ev.RouteArn)
	if err != nil {
		return nil, err
	}
	tok := token(claims)
	resp := events.APIGatewayV2CustomAuthorizerSimpleResponse{IsAuthorized: policy.AllowsRoute(ev.RouteKey, arn, tok, h.Rules)}
	if !resp.IsAuthorized {
		// A valid token not granted this route: API Gateway answers 403.
		// route_not_covered: the path asked is granted, but not every path
		// (or verb) the cached answer would also serve.
		reason := "no_grant"
		if policy.Allows(arn, tok, h.Rules) {
			reason = "route_not_covered"
		}
		h.log(ctx).Info("denied", "reason", reason, "iss", clip.String(claims.Issuer), "sub", clip.String(claims.Subject),
			"method", clip.String(arn.Verb+" /"+arn.Path), "routeKey", clip.String(ev.RouteKey))
		h.decide(Deny, reason)
		return resp, nil
	}
	var fits bool
	resp.Context, fits = h.fitContext(ctx, claims, func(c map[string]any) any { resp.Context = c; return resp })
	if !fits {
		return nil, ErrFault
	}
	h.log(ctx).Info("allowed", "iss", clip.String(claims.Issuer), "sub", clip.String(claims.Subject), "jti", clip.String(claims.ID), "method", clip.String(arn.Verb+" /"+arn.Path))
	h.decide(Allow, "")
	return resp, nil
}

// policyResponse verifies the token and builds the allow-list policy for
// the API and stage of arn.
func (h *Handler) policyResponse(ctx context.Context, auth string, present bool, methodARN string) (events.APIGatewayCustomAuthorizerResponse, error) {
	var none events.APIGatewayCustomAuthorizerResponse
	arn, claims, err := h.verify(ctx, auth, present, methodARN)
	if err != nil {
		return none, err
	}
	resp, granted := policy.Build(claims.Subject, arn, token(claims), h.Rules, nil)
	var fits bool
	resp.Context, fits = h.fitContext(ctx, claims, func(c map[string]any) any { resp.Context = c; return resp })
	if !fits {
		return none, ErrFault
	}
	if granted == 0 {
		// A valid token the rules grant nothing: a Deny policy, API Gateway answers 403.
		h.log(ctx).Info("denied", "reason", "no_grant", "iss", clip.String(claims.Issuer), "sub", clip.String(claims.Subject), "jti", clip.String(claims.ID), "method", clip.String(arn.Verb+" /"+arn.Path))
		h.decide(Deny, "no_grant")
		return resp, nil
	}
	h.log(ctx).Info("allowed", "iss", clip.String(claims.Issuer), "sub", clip.String(claims.Subject), "jti", clip.String(claims.ID), "method", clip.String(arn.Verb+" /"+arn.Path), "grantedMethods", granted)
	h.decide(Allow, "")
	return resp, nil
}

// verify reads the Authorization value and the method (or route) ARN and
// verifies the token. Its errors are the ones to return to API Gateway,
// already logged and counted.
func (h *Handler) verify(ctx context.Context, auth string, present bool, methodARN string) (policy.MethodARN, *jwtverify.Claims, error) {
	log := h.log(ctx)
	tok, ok := BearerToken(auth)
	if !present || !ok {
		log.Info("denied", "reason", "no_bearer")
		h.decide(Deny, "no_bearer")
		return policy.MethodARN{}, nil, ErrUnauthorized
	}
	arn, err := policy.ParseMethodARN(methodARN)
	if err != nil {
		log.Error("fault", "reason", "bad_method_arn", "error", clip.String(err.Error()))
		h.decide(Fault, "bad_method_arn")
		return arn, nil, ErrFault
	}
	claims, err := h.Verifier.Verify(ctx, tok)
	if err != nil {
		reason := jwtverify.Reason(err)
		// The error text names claims and kids, never the token itself, and is
		// cut to a few hundred bytes: a denial never writes more than a few KB.
		if errors.Is(err, jwtverify.ErrKeySource) {
			log.Error("fault", "reason", reason, "error", clip.String(err.Error()))
			h.decide(Fault, reason)
			return arn, nil, ErrFault
		}
		log.Info("denied", "reason", reason, "error", clip.String(err.Error()))
		h.decide(Deny, reason)
		return arn, nil, ErrUnauthorized
	}
	// The context's aud joins the accepted audiences with spaces, as scope
	// joins scopes: an entry holding a space would read as two audiences.
	for _, a := range claims.Accepted {
		if !scope.ValidToken(a) {
			log.Info("denied", "reason", "bad_audience", "iss", clip.String(claims.Issuer), "aud", clip.String(a))
			h.decide(Deny, "bad_audience")
			return arn, nil, ErrUnauthorized
		}
	}
	return arn, claims, nil
}

// token is what the rules see of verified claims. Only the audiences the
// token's own issuer vouches for count: an extra issuer cannot qualify its
// token for the pool's client by naming it in aud.
func token(c *jwtverify.Claims) policy.Token {
	return policy.Token{Scopes: c.Scopes, Groups: c.Groups, Audience: c.Accepted}
}

// BearerToken returns the token of an Authorization value "Bearer <token>".
// The scheme is matched case-insensitively (RFC 7235 section 2.1, RFC 6750
// section 2.1: "bearer" and "BEARER" are the same scheme); everything else
// is strict: one space, then a non-empty token, which the verifier checks.
func BearerToken(header string) (string, bool) {
	const scheme = "Bearer "
	if len(header) <= len(scheme) || !strings.EqualFold(header[:len(scheme)], scheme) {
		return "", false
	}
	return header[len(scheme):], true
}

// authorizationHeader finds the Authorization header, whatever the case of
// its name (HTTP header names are case-insensitive). Two spellings of the
// name, or two values, are ambiguous: no header.
func authorizationHeader(headers map[string]string, multi map[string][]string) (string, bool) {
	var value string
	found := 0
	for k, v := range headers {
		if strings.EqualFold(k, "Authorization") {
			value = v
			found++
		}
	}
	for k, vs := range multi {
		if strings.EqualFold(k, "Authorization") && (len(vs) != 1 || found == 0 || vs[0] != value) {
			return "", false
		}
	}
	if found != 1 {
		return "", false
	}
	return value, true
}

// Context is what the backend sees in requestContext.authorizer: strings
// only. sub is unique only within its issuer: with several issuers, a
// backend keys users by iss and sub together. aud lists only the audiences
// the token's issuer vouches for (jwtverify.Claims.Accepted), space-separated.
func Context(c *jwtverify.Claims) map[string]any {
	ctx := map[string]any{"iss": c.Issuer, "sub": c.Subject, "scope": strings.Join(c.Scopes, " ")}
	if c.ClientID != "" {
		ctx["client_id"] = c.ClientID
	}
	if len(c.Audience) > 0 && len(c.Accepted) > 0 {
		ctx["aud"] = strings.Join(c.Accepted, " ")
	}
	if c.TokenUse != "" {
		ctx["token_use"] = c.TokenUse
	}
	if c.Username != "" {
		ctx["username"] = c.Username
	}
	return ctx
}

// fitContext builds the context: Context's keys, then each ContextClaims
// claim the token has, within MaxResponseBytes (render gives the response
// for a context). When they do not all fit, each configured claim gets an
// equal share of the room the response without them leaves (less room for
// omittedClaims naming every one of them), and a claim over its share is
// left out: a big claim, perhaps one the user chose, never pushes another
// out. fits is false (a fault, logged and counted) when even the response
// without the extra claims is too large, or ContextClaims names a
// ReservedContext key.
func (h *Handler) fitContext(ctx context.Context, c *jwtverify.Claims, render func(map[string]any) any) (map[string]any, bool) {
	for _, name := range h.ContextClaims {
		if slices.Contains(ReservedContext, name) {
			h.log(ctx).Error("fault", "reason", "reserved_context_claim", "claim", clip.String(name),
				"error", "ContextClaims names a key the context reserves ("+strings.Join(ReservedContext, ", ")+"): leave it out")
			h.decide(Fault, "reserved_context_claim")
			return nil, false
		}
	}
	out := Context(c)
	size := func() int {
		b, _ := json.Marshal(render(out))
		return len(b)
	}
	base := size()
	if base > MaxResponseBytes {
		h.log(ctx).Error("fault", "reason", "response_too_large", "bytes", base, "limit", MaxResponseBytes)
		h.decide(Fault, "response_too_large")
		return nil, false
	}
	type entry struct {
		name, value string
		bytes       int // what the entry adds to the response: "name":"value",
	}
	var extra []entry
	total := 0
	for _, name := range h.ContextClaims {
		raw, ok := c.Claim(name)
		if !ok {
			continue
		}
		var s string
		if json.Unmarshal(raw, &s) != nil {
			s = string(raw)
		}
		k, _ := json.Marshal(name)
		v, _ := json.Marshal(s)
		e := entry{name, s, len(k) + len(v) + 2}
		extra = append(extra, e)
		total += e.bytes
	}
	var omitted []string
	if base+total > MaxResponseBytes {
		reserve, _ := json.Marshal(map[string]string{"omittedClaims": strings.Join(h.ContextClaims, " ")})
		share := (MaxResponseBytes - base - len(reserve)) / len(h.ContextClaims)
		kept := extra[:0]
		for _, e := range extra {
			if e.bytes > share {
				omitted = append(omitted, e.name)
			} else {
				kept = append(kept, e)
			}
		}
		extra = kept
	}
	for _, e := range extra {
		out[e.name] = e.value
	}
	if len(omitted) > 0 {
		out["omittedClaims"] = strings.Join(omitted, " ")
		if len(extra) == 0 && size() > MaxResponseBytes { // the policy alone takes nearly all: name nothing
			delete(out, "omittedClaims")
		}
		h.log(ctx).Warn("context", "reason", "claims_omitted", "omittedClaims", clip.String(strings.Join(omitted, " ")), "limit", MaxResponseBytes)
	}
	if n := size(); n > MaxResponseBytes { // the shares add up to the room left: not expected
		h.log(ctx).Error("fault", "reason", "response_too_large", "bytes", n, "limit", MaxResponseBytes)
		h.decide(Fault, "response_too_large")
		return nil, false
	}
	return out, true
}

func (h *Handler) decide(o Outcome, reason string) {
	if h.OnDecision != nil {
		h.OnDecision(Decision{Outcome: o, Reason: reason})
	}
}

func (h *Handler) log(ctx context.Context) *slog.Logger {
	l := h.Log
	if l == nil {
		l = slog.New(slog.DiscardHandler)
	}
	if lc, ok := lambdacontext.FromContext(ctx); ok {
		return l.With("requestId", lc.AwsRequestID)
	}
	return l.With("requestId", "")
}

// NewLogger is the JSON logger every authorizer log line goes through.
func NewLogger() *slog.Logger { return slog.New(slog.NewJSONHandler(os.Stdout, nil)) }
