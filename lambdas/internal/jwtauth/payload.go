package jwtauth

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"strings"
)

// knownClaims are the claim names the verifier or the policy reads. A
// payload spelling one of them in another case ("SCOPE", "Iss") is refused:
// encoding/json would match it case-insensitively and read it as the claim.
var knownClaims = []string{
	"iss", "sub", "aud", "exp", "nbf", "iat", "jti",
	"client_id", "token_use", "scope", "scp", "username", "cognito:username",
}

// checkPayload scans the token's payload before it is decoded, because
// encoding/json lets a repeated key overwrite the first, matches keys
// case-insensitively, and golang-jwt's decoder ignores anything after the
// first object: an issuer that copies attacker-influenced names into its
// tokens must not be able to smuggle in a second "scope". It refuses a
// repeated known claim, a case variant of one, and data after the object. It is a scanner, not a parser (no allocation on the usual
// path): malformed JSON is left to the parser, which refuses it.
func checkPayload(token string) error {
	first := strings.IndexByte(token, '.')
	if first < 0 {
		return nil
	}
	seg := token[first+1:]
	if second := strings.IndexByte(seg, '.'); second >= 0 {
		seg = seg[:second]
	} else {
		return nil
	}
	var buf [2048]byte
	raw := buf[:0]
	if n := base64.RawURLEncoding.DecodedLen(len(seg)); n > len(buf) {
		raw = make([]byte, 0, n)
	}
	raw, err := base64.RawURLEncoding.AppendDecode(raw, []byte(seg))
	if err != nil {
		return nil // the parser reports it as malformed
	}
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

// checkClaimName refuses a second occurrence of a known claim and a case
// variant of one. Other names are not tracked: Claims never reads them, so
// their repeats change nothing, and tracking them would cost O(n^2) before
// the signature is checked.
func checkClaimName(seen *uint32, key []byte) error {
	for i, k := range knownClaims {
		if !bytes.EqualFold(key, []byte(k)) {
			continue
		}
		if string(key) != k {
			return fmt.Errorf("%w: claim %q is a case variant of %q", ErrClaims, Clip(string(key)), k)
		}
		if *seen&(1<<i) != 0 {
			return fmt.Errorf("%w: claim %q appears twice", ErrClaims, k)
		}
		*seen |= 1 << i
		return nil
	}
	return nil
}
