package jwtverify

import (
	"errors"
	"fmt"
)

// Token errors: the caller's token is not acceptable (an authorizer answers
// 401). Each has a stable reason code (Reason) for logs and metrics; the
// text after the sentinel's own says which claim, kid or value, never the token.
var (
	ErrMalformed    = errors.New("malformed token")
	ErrTooLarge     = errors.New("token too large")
	ErrAlgorithm    = errors.New("algorithm not allowed")
	ErrNoKeyID      = errors.New("token has no kid header")
	ErrUnknownKey   = errors.New("no key for kid")
	ErrWeakKey      = errors.New("key for kid refused when the JWKS was loaded")
	ErrCrit         = errors.New("crit header names extensions this verifier does not understand")
	ErrHeader       = errors.New("header parameter not accepted")
	ErrTokenType    = errors.New("not an ID or access token")
	ErrSignature    = errors.New("signature invalid")
	ErrExpired      = errors.New("token expired")
	ErrNotYetValid  = errors.New("token not valid yet")
	ErrClaimType    = errors.New("claim has the wrong type")
	ErrTimeRange    = errors.New("time claim out of range")
	ErrIssuer       = errors.New("issuer not trusted")
	ErrAudience     = errors.New("audience not accepted")
	ErrTokenUse     = errors.New("token_use not accepted")
	ErrScope        = errors.New("scope claim invalid")
	ErrClaims       = errors.New("claims invalid")
	ErrCheck        = errors.New("refused by the custom check")
	ErrInvalidToken = errors.New("invalid token")
)

// ErrKeySource is a fault, not the caller's: the JWKS (or the OIDC discovery
// document) could not be fetched or parsed. Verification fails closed; an
// authorizer answers 500, not 401.
var ErrKeySource = errors.New("JWKS unavailable")

// ErrConfig reports a bad Config, found by New. Every problem is a
// *ConfigError wrapping it.
var ErrConfig = errors.New("verifier configuration")

// ConfigError is one problem of a Config. New reports every problem at once
// (errors.Join); a caller that reads its settings from elsewhere (environment
// variables, a file) can name the setting the user wrote from Issuer and Field.
type ConfigError struct {
	// Issuer is the index in Config.Issuers, or -1 for a Config-wide setting.
	Issuer int
	// Field is the Go name of the field: "Issuer", "JWKSURI", "Audiences",
	// "TokenUse", "Algorithms", "GroupsClaim", "JWKS", "Issuers", or (with
	// Issuer -1) "HTTPTimeout", "RefreshMinInterval", "RefreshInterval".
	Field string
	// Detail follows the field's name: `="http://x" must use https (...)`,
	// ` is empty: set it to ...`.
	Detail string
}

func (e *ConfigError) Error() string {
	name := e.Field
	if e.Issuer >= 0 {
		name = fmt.Sprintf("Issuers[%d].%s", e.Issuer, e.Field)
	}
	return ErrConfig.Error() + ": " + name + e.Detail
}

// Unwrap makes errors.Is(err, ErrConfig) true.
func (e *ConfigError) Unwrap() error { return ErrConfig }

// Reason maps an error from Verify to a short, stable code for logs and
// metrics: one of the codes listed here, or "invalid_token".
func Reason(err error) string {
	for _, r := range reasons {
		if errors.Is(err, r.err) {
			return r.code
		}
	}
	return "invalid_token"
}

var reasons = []struct {
	err  error
	code string
}{
	{ErrKeySource, "jwks_unavailable"},
	{ErrTooLarge, "token_too_large"},
	{ErrCrit, "crit"},
	{ErrClaimType, "claim_type"},
	{ErrTimeRange, "time_range"},
	{ErrTokenType, "token_type"},
	{ErrHeader, "header"},
	{ErrScope, "scope"},
	{ErrWeakKey, "weak_key"},
	{ErrMalformed, "malformed"},
	{ErrAlgorithm, "algorithm"},
	{ErrNoKeyID, "no_kid"},
	{ErrUnknownKey, "unknown_kid"},
	{ErrSignature, "bad_signature"},
	{ErrExpired, "expired"},
	{ErrNotYetValid, "not_yet_valid"},
	{ErrIssuer, "issuer"},
	{ErrAudience, "audience"},
	{ErrTokenUse, "token_use"},
	{ErrClaims, "claims"},
	{ErrCheck, "check"},
}
