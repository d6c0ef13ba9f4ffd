package jwtverify

import (
	"errors"
	"unicode/utf8"
)

// Token errors: the caller's token is not acceptable. The authorizer answers
// them all with "Unauthorized" (401); the distinct sentinels feed reason codes.
var (
	ErrMalformed    = errors.New("malformed token")
	ErrTooLarge     = errors.New("token too large")
	ErrAlgorithm    = errors.New("algorithm not allowed")
	ErrNoKeyID      = errors.New("token has no kid header")
	ErrUnknownKey   = errors.New("no key for kid")
	ErrWeakKey      = errors.New("key for kid refused when the JWKS was loaded")
	ErrCrit         = errors.New("crit header names extensions this verifier does not understand")
	ErrSignature    = errors.New("signature invalid")
	ErrExpired      = errors.New("token expired")
	ErrNotYetValid  = errors.New("token not valid yet")
	ErrClaimType    = errors.New("time claim is not a JSON number")
	ErrTimeRange    = errors.New("time claim out of range")
	ErrTokenType    = errors.New("not an ID or access token")
	ErrHeader       = errors.New("header parameter not accepted")
	ErrIssuer       = errors.New("issuer not trusted")
	ErrAudience     = errors.New("audience not accepted")
	ErrTokenUse     = errors.New("token_use not accepted")
	ErrScope        = errors.New("scope claim invalid")
	ErrClaims       = errors.New("claims invalid")
	ErrInvalidToken = errors.New("invalid token")
)

// ErrKeySource is a fault, not the caller's: the JWKS could not be fetched or
// parsed. Verification fails closed and the authorizer answers 500, not 401.
var ErrKeySource = errors.New("JWKS unavailable")

// ErrConfig reports a bad configuration, found at cold start.
var ErrConfig = errors.New("authorizer configuration")

// Reason maps an error from Verify to a short, stable code for logs and metrics.
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
}

// MaxLogValue bounds every attacker-chosen value (kid, iss, aud, error
// details) written to a log, so one denial never writes more than a few KB.
const MaxLogValue = 256

// Clip cuts s to at most MaxLogValue bytes, on a UTF-8 boundary, marking the cut.
func Clip(s string) string {
	if len(s) <= MaxLogValue {
		return s
	}
	const mark = "...(cut)"
	n := MaxLogValue - len(mark)
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n] + mark
}
