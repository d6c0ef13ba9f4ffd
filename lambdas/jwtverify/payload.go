package jwtverify

import (
	"bytes"
	"encoding/json"
	"fmt"

	"github.com/secure-api-go/apigw-jwt/lambdas/internal/clip"
)

// knownClaims are the claim names the verifier or the policy reads, by
// their exact names (RFC 7519 section 4: names are case-sensitive). A
// payload repeating one of them is refused: a JSON decoder keeps the last,
// an issuer that copies attacker-influenced names into its tokens must not
// be able to smuggle in a second "scope". A case variant ("Username" next
// to "username") is an ordinary custom claim, never read as the known one.
var knownClaims = [...]string{
	"iss", "sub", "aud", "exp", "nbf", "iat", "jti",
	"client_id", "token_use", "scope", "scp", "username", "cognito:username",
}

// Indexes into knownClaims, for tokenClaims.
const (
	claimIss = iota
	claimSub
	claimAud
	claimExp
	claimNbf
	claimIat
	claimJti
	claimClientID
	claimTokenUse
	claimScope
	claimScp
	claimUsername
	claimCognitoUsername
)

// refusedClaims mark a token that is not an ID or access token: RFC 8417
// security event tokens and OIDC back-channel logout tokens carry events.
var refusedClaims = []string{"events"}

// claimSpans are where the value of each known claim lies in the payload
// (end 0: absent).
type claimSpans [len(knownClaims)]struct{ start, end int }

// checkPayload scans the decoded payload before it is parsed, because a
// JSON decoder lets a repeated key overwrite the first and golang-jwt's
// ignores anything after the first object. It refuses a repeated known
// claim, a refused claim, and data after the object.
func checkPayload(raw []byte) error { return scanPayload(raw, nil) }

// scanPayload is checkPayload recording, when spans is not nil, where the
// known claims' values are. It is a scanner, not a parser (no allocation on
// the usual path): malformed JSON is left to the parser, which refuses it
// before the spans are used.
func scanPayload(raw []byte, spans *claimSpans) error {
	var seen uint32 // bit i: knownClaims[i] was read
	depth, expectKey := 0, false
	cur, valStart := -1, -1 // the known claim whose value is being read, and where it starts
	end := func(i int) {
		if spans != nil && cur >= 0 && valStart >= 0 {
			for i > valStart && isSpace(raw[i-1]) {
				i--
			}
			spans[cur].start, spans[cur].end = valStart, i
		}
		cur, valStart = -1, -1
	}
	for i := 0; i < len(raw); i++ {
		c := raw[i]
		if cur >= 0 && valStart < 0 && depth == 1 && c != ':' && !isSpace(c) {
			valStart = i
		}
		switch c {
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
			idx, err := checkClaimName(&seen, key)
			if err != nil {
				return err
			}
			cur, valStart = idx, -1
		case '{':
			depth++
			expectKey = depth == 1
		case '[':
			depth++
		case '}', ']':
			if depth == 1 {
				end(i)
			}
			depth--
			if depth == 0 {
				if len(bytes.TrimSpace(raw[i+1:])) > 0 {
					return fmt.Errorf("%w: data after the payload object", ErrClaims)
				}
				return nil
			}
		case ',':
			if depth == 1 {
				end(i)
				expectKey = true
			}
		}
	}
	return nil
}

func isSpace(c byte) bool { return c == ' ' || c == '\t' || c == '\n' || c == '\r' }

// checkClaimName refuses a second occurrence of a known claim and any
// refused claim, and returns the known claim's index (-1 for another name).
// Other names are not tracked: they are never read as a known claim, so
// their repeats change nothing, and tracking them would cost O(n^2) before
// the signature is checked.
func checkClaimName(seen *uint32, key []byte) (int, error) {
	for _, k := range refusedClaims {
		if string(key) == k {
			return -1, fmt.Errorf("%w: claim %q marks a security event or logout token", ErrTokenType, k)
		}
	}
	for i, k := range knownClaims {
		if string(key) != k {
			continue
		}
		if *seen&(1<<i) != 0 {
			return -1, fmt.Errorf("%w: claim %q appears twice", ErrClaims, clip.String(k))
		}
		*seen |= 1 << i
		return i, nil
	}
	return -1, nil
}
