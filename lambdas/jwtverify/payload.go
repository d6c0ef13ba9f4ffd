package jwtverify

import (
	"bytes"
	"encoding/json"
	"fmt"

	"github.com/secure-api-go/apigw-jwt/lambdas/internal/clip"
)

// knownClaims are the claim names the verifier decodes itself, by their
// exact names (RFC 7519 section 4: names are case-sensitive). A case
// variant ("Username" next to "username") is an ordinary custom claim,
// never read as the known one.
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
// ignores anything after the first object. It refuses any repeated
// top-level name (escapes decoded: "\u0073cope" is scope), a refused claim,
// and data after the object. Every name is checked, not only the ones this
// package decodes: the groups claim (any Issuer.GroupsClaim) and the claims
// a caller reads (Claims.Claim) must have one value too, or an issuer that
// copies attacker-influenced names into its tokens could smuggle in a second
// one that a first-key-wins reader elsewhere would not see.
func checkPayload(raw []byte) error { return scanObject(raw, payloadPart, nil) }

// checkHeaderNames refuses a header that repeats a parameter name (escapes
// decoded: "\u006bid" is kid) or has data after its object: a decoded map
// keeps the last value, so {"kid":"a","kid":"b"} would be a second spelling
// of the token whose meaning depends on the reader (RFC 7515 section 4
// asks for unique names, RFC 8725 for rejecting what is ambiguous).
func checkHeaderNames(raw []byte) error { return scanObject(raw, headerPart, nil) }

// scanPayload is checkPayload recording, when spans is not nil, where the
// known claims' values are.
func scanPayload(raw []byte, spans *claimSpans) error { return scanObject(raw, payloadPart, spans) }

// part is a JSON object of a token that scanObject checks: what its
// top-level names are called and the sentinel its refusals wrap.
type part struct {
	name, member string
	err          error
}

var (
	headerPart  = &part{"header", "header parameter", ErrHeader}
	payloadPart = &part{"payload", "claim", ErrClaims}
)

// scanObject refuses a repeated top-level name of the object raw and data
// after it; in a payload also a refused claim, and it records, when spans
// is not nil, where the known claims' values are. It is a scanner, not a
// parser (no allocation on the usual path): malformed JSON is left to the
// parser, which refuses it before the spans are used.
func scanObject(raw []byte, p *part, spans *claimSpans) error {
	var names nameSet
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
			key, decoded := raw[start+1:i], []byte(nil)
			if escaped {
				// A copy: raw must not escape to the heap (see nameSet).
				var s string
				if json.Unmarshal(bytes.Clone(raw[start:i+1]), &s) != nil {
					return nil
				}
				decoded = []byte(s)
				key = decoded
			}
			if !names.add(raw, start+1, i, decoded) {
				return fmt.Errorf("%w: %s %q appears twice", p.err, p.member, clip.String(string(key)))
			}
			if p != payloadPart {
				continue
			}
			idx, err := checkClaimName(key)
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
					return fmt.Errorf("%w: data after the %s object", p.err, p.name)
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

// checkClaimName refuses a refused claim and returns the known claim's
// index (-1 for another name).
func checkClaimName(key []byte) (int, error) {
	for _, k := range refusedClaims {
		if string(key) == k {
			return -1, fmt.Errorf("%w: claim %q marks a security event or logout token", ErrTokenType, k)
		}
	}
	for i, k := range knownClaims {
		if string(key) == k {
			return i, nil
		}
	}
	return -1, nil
}

// nameSet holds the top-level names of one object. A real token has a few
// dozen names at most: they are kept as spans of the object's bytes in a
// fixed array on the stack and compared there (no allocation, and the
// object's buffer, a stack array in checkSyntax, stays on the stack); beyond
// that, or for a name spelled with escapes, a map takes over, so a 16 KiB
// payload of tiny names costs O(n), not O(n^2), before its signature is
// checked.
type nameSet struct {
	small [32]struct{ start, end int }
	n     int
	big   map[string]struct{}
}

// add records the name raw[start:end], or decoded when the name there is
// spelled with escapes, and reports whether it was new.
func (s *nameSet) add(raw []byte, start, end int, decoded []byte) bool {
	name := raw[start:end]
	if decoded != nil {
		name = decoded
		s.spill(raw)
	}
	if s.big != nil {
		if _, dup := s.big[string(name)]; dup {
			return false
		}
		s.big[string(name)] = struct{}{}
		return true
	}
	for _, sp := range s.small[:s.n] {
		if bytes.Equal(raw[sp.start:sp.end], name) {
			return false
		}
	}
	if s.n < len(s.small) {
		s.small[s.n].start, s.small[s.n].end = start, end
		s.n++
		return true
	}
	s.spill(raw)
	s.big[string(name)] = struct{}{}
	return true
}

// spill moves the names recorded so far into the map.
func (s *nameSet) spill(raw []byte) {
	if s.big != nil {
		return
	}
	s.big = make(map[string]struct{}, 2*len(s.small))
	for _, sp := range s.small[:s.n] {
		s.big[string(raw[sp.start:sp.end])] = struct{}{}
	}
}
