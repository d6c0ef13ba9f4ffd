package jwtverify

import (
	"bytes"
	"encoding/json"
	"fmt"
)

// knownClaims are the claim names the verifier or the policy reads, by
// their exact names (RFC 7519 section 4: names are case-sensitive). A
// payload repeating one of them is refused: a JSON decoder keeps the last,
// an issuer that copies attacker-influenced names into its tokens must not
// be able to smuggle in a second "scope". A case variant ("Username" next
// to "username") is an ordinary custom claim, never read as the known one.
var knownClaims = []string{
	"iss", "sub", "aud", "exp", "nbf", "iat", "jti",
	"client_id", "token_use", "scope", "scp", "username", "cognito:username",
}

// refusedClaims mark a token that is not an ID or access token: RFC 8417
// security event tokens and OIDC back-channel logout tokens carry events.
var refusedClaims = []string{"events"}

// checkPayload scans the decoded payload before it is parsed, because a
// JSON decoder lets a repeated key overwrite the first and golang-jwt's
// ignores anything after the first object. It refuses a repeated known
// claim, a refused claim, and data after the object. It is a scanner, not a
// parser (no allocation on the usual path): malformed JSON is left to the
// parser, which refuses it.
func checkPayload(raw []byte) error {
	var seen uint32 // bit i: knownClaims[i] was read
	depth, expectKey := 0, false
	for i := 0; i < len(raw); i++ {
		switch raw[i] {
		case '"':
			start, escaped := i, false
			for i++; i < len(raw) && raw[i] != '"'; i++ {
				if raw[i] == '\\' {
					i++
					escaped = true
				}
			}
			if i >= len(raw) {
				return nil
			}
			if depth != 1 || !expectKey {
				continue
			}
			expectKey = false
			key := raw[start+1 : i]
			if escaped {
				var s string
				if json.Unmarshal(raw[start:i+1], &s) != nil {
					return nil
				}
				key = []byte(s)
			}
			if err := checkClaimName(&seen, key); err != nil {
				return err
			}
		case '{':
			depth++
			expectKey = depth == 1
		case '[':
			depth++
		case '}', ']':
			depth--
			if depth == 0 {
				if len(bytes.TrimSpace(raw[i+1:])) > 0 {
					return fmt.Errorf("%w: data after the payload object", ErrClaims)
				}
				return nil
			}
		case ',':
			expectKey = depth == 1
		}
	}
	return nil
}

// checkClaimName refuses a second occurrence of a known claim and any
// refused claim. Other names are not tracked: Claims never reads them, so
// their repeats change nothing, and tracking them would cost O(n^2) before
// the signature is checked.
func checkClaimName(seen *uint32, key []byte) error {
	for _, k := range refusedClaims {
		if string(key) == k {
			return fmt.Errorf("%w: claim %q marks a security event or logout token", ErrTokenType, k)
		}
	}
	for i, k := range knownClaims {
		if string(key) != k {
			continue
		}
		if *seen&(1<<i) != 0 {
			return fmt.Errorf("%w: claim %q appears twice", ErrClaims, k)
		}
		*seen |= 1 << i
		return nil
	}
	return nil
}
