// Package authz is the REST API's TOKEN authorizer: it turns
// "Bearer <jwt>" into an IAM policy, or into the error API Gateway expects.
package authz

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"strings"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-lambda-go/lambdacontext"

	"github.com/secure-api-go/apigw-jwt/internal/metrics"
	"github.com/secure-api-go/apigw-jwt/lambdas/internal/emf"
	"github.com/secure-api-go/apigw-jwt/lambdas/jwtverify"
	"github.com/secure-api-go/apigw-jwt/lambdas/policy"
)

// ErrUnauthorized is the one error message API Gateway turns into 401.
var ErrUnauthorized = errors.New("Unauthorized")

// ErrFault makes API Gateway answer 500: the fault is ours (JWKS down, bad
// methodArn), so the caller's token is not blamed, and nothing is allowed.
var ErrFault = errors.New("authorizer fault")

// Verifier is what the handler needs of jwtverify.Verifier.
type Verifier interface {
	Verify(ctx context.Context, token string) (*jwtverify.Claims, error)
}

// Handler verifies the token and builds the policy.
type Handler struct {
	Verifier Verifier
	Rules    []policy.Rule
	Log      *slog.Logger
	// Metrics receives one EMF line per invocation (see record). Default: none.
	Metrics *emf.Emitter
	metrics metricsState
}

// DefaultRules apply when SCOPE_RULES is unset or empty (the stack always
// sets it; a standalone run such as make invoke-authorizer may not): any
// valid token may GET, and nothing else is allowed - reads open to every
// verified caller, every write and every other method closed. "[]" allows
// nothing; a value of blanks is a configuration error, since it reads as
// "nothing" but would mean the defaults.
var DefaultRules = []policy.Rule{{Method: "GET", Resource: "/{proxy+}", AnyToken: true}}

// Config reads the authorizer's whole configuration from the environment:
// jwtverify.ConfigFromEnv's variables plus SCOPE_RULES (DefaultRules when unset).
func Config(getenv func(string) string) (jwtverify.Config, []policy.Rule, error) {
	// Every problem is reported at once, so one deploy fixes them all.
	cfg, err := jwtverify.ConfigFromEnv(getenv)
	raw := getenv("SCOPE_RULES")
	if raw == "" {
		return cfg, DefaultRules, err
	}
	if strings.TrimSpace(raw) == "" {
		return cfg, nil, errors.Join(err, fmt.Errorf("%w: SCOPE_RULES is blank: give a JSON array of rules ([] allows nothing), or leave it unset for the defaults (any valid token may GET)", policy.ErrRules))
	}
	rules, rerr := policy.ParseRules(raw)
	return cfg, rules, errors.Join(err, rerr)
}

// NewFromEnv builds a Handler from the environment, failing on bad configuration.
func NewFromEnv(getenv func(string) string, log *slog.Logger) (*Handler, error) {
	cfg, rules, err := Config(getenv)
	if err != nil {
		return nil, err
	}
	cfg.Log = log
	if getenv("SCOPE_RULES") == "" {
		log.Warn("configuration", "scopeRules", "SCOPE_RULES is unset: any valid token may GET, nothing else is allowed")
	}
	v, err := jwtverify.New(cfg)
	if err != nil {
		return nil, err
	}
	return &Handler{Verifier: v, Rules: rules, Log: log}, nil
}

// NewLogger is the JSON logger every authorizer log line goes through.
func NewLogger() *slog.Logger { return slog.New(slog.NewJSONHandler(os.Stdout, nil)) }

// Handle is the Lambda handler.
func (h *Handler) Handle(ctx context.Context, ev events.APIGatewayCustomAuthorizerRequest) (events.APIGatewayCustomAuthorizerResponse, error) {
	var none events.APIGatewayCustomAuthorizerResponse
	log := h.Log.With("requestId", requestID(ctx))
	token, ok := BearerToken(ev.AuthorizationToken)
	if !ok {
		log.Info("denied", "reason", "no_bearer")
		h.record(metrics.Deny, "no_bearer")
		return none, ErrUnauthorized
	}
	arn, err := policy.ParseMethodARN(ev.MethodArn)
	if err != nil {
		log.Error("fault", "reason", "bad_method_arn", "error", jwtverify.Clip(err.Error()))
		h.record(metrics.Fault, "bad_method_arn")
		return none, ErrFault
	}
	claims, err := h.Verifier.Verify(ctx, token)
	if err != nil {
		reason := jwtverify.Reason(err)
		// The error text names claims and kids, never the token itself, and is
		// cut to jwtverify.MaxLogValue bytes: a denial never writes more than a few KB.
		if errors.Is(err, jwtverify.ErrKeySource) {
			log.Error("fault", "reason", reason, "error", jwtverify.Clip(err.Error()))
			h.record(metrics.Fault, reason)
			return none, ErrFault
		}
		log.Info("denied", "reason", reason, "error", jwtverify.Clip(err.Error()))
		h.record(metrics.Deny, reason)
		return none, ErrUnauthorized
	}
	scopes := claims.Scopes()
	// Only the audiences the token's own issuer vouches for count: an extra
	// issuer cannot qualify its token for the pool's client by naming it in aud.
	tok := policy.Token{Scopes: scopes, Audience: claims.Accepted}
	resp, granted := policy.Build(claims.Subject, arn, tok, h.Rules, Context(claims, scopes))
	if granted == 0 {
		// A valid token the rules grant nothing: API Gateway answers 403.
		h.record(metrics.Deny, "no_grant")
	} else {
		h.record(metrics.Allow, "")
	}
	log.Info("allowed", "sub", jwtverify.Clip(claims.Subject), "jti", jwtverify.Clip(claims.ID), "method", jwtverify.Clip(arn.Verb+" /"+arn.Path), "grantedMethods", granted)
	return resp, nil
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

// Context is what the backend sees in requestContext.authorizer: strings only.
func Context(c *jwtverify.Claims, scopes []string) map[string]any {
	ctx := map[string]any{"sub": c.Subject, "scope": strings.Join(scopes, " ")}
	if c.ClientID != "" {
		ctx["client_id"] = c.ClientID
	}
	if len(c.Audience) > 0 {
		ctx["aud"] = strings.Join(c.Audience, " ")
	}
	if c.TokenUse != "" {
		ctx["token_use"] = c.TokenUse
	}
	if u := c.User(); u != "" {
		ctx["username"] = u
	}
	return ctx
}

func requestID(ctx context.Context) string {
	if lc, ok := lambdacontext.FromContext(ctx); ok {
		return lc.AwsRequestID
	}
	return ""
}
