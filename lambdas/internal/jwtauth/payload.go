package jwtauth

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"strings"
)

// knownClaims are the claim names the verifier or the policy reads. A
// payload spelling one of them in another case ("SCOPE", "Iss") is refused:
// encoding/json would match it case-insensitively and read it as the claim.
var knownClaims = []string{
	"iss", "sub", "aud", "exp", "nbf", "iat", "jti",
	"client_id", "token_use", "scope", "scp", "username", "cognito:username",
}

// checkPayload walks the token's payload before it is decoded, because
// encoding/json lets a repeated key overwrite the first and matches keys
// case-insensitively: an issuer that copies attacker-influenced names into
// its tokens must not be able to smuggle a second "scope". It requires one
// JSON object, no key repeated in any object, no case variant of a known
// claim, and nothing after the object. A malformed token is left to the parser.
func checkPayload(token string) error {
	first := strings.IndexByte(token, '.')
	if first < 0 {
		return nil
	}
	rest := token[first+1:]
	second := strings.IndexByte(rest, '.')
	if second < 0 {
		return nil
	}
	raw, err := base64.RawURLEncoding.DecodeString(rest[:second])
	if err != nil {
		return nil // the parser reports it as malformed
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	if tok, err := dec.Token(); err != nil || tok != json.Delim('{') {
		return nil
	}
	if err := walkMembers(dec, true); err != nil {
		return err
	}
	if _, err := dec.Token(); err != io.EOF {
		return fmt.Errorf("%w: data after the payload object", ErrClaims)
	}
	return nil
}

// walkMembers reads an object's members after its '{'; top says whether
// this is the payload itself, where known claim names are checked.
func walkMembers(dec *json.Decoder, top bool) error {
	seen := map[string]bool{}
	for {
		tok, err := dec.Token()
		if err != nil {
			return fmt.Errorf("%w: payload is not valid JSON", ErrMalformed)
		}
		if tok == json.Delim('}') {
			return nil
		}
		key, _ := tok.(string)
		if seen[key] {
			return fmt.Errorf("%w: claim %q appears twice", ErrClaims, Clip(key))
		}
		seen[key] = true
		if top {
			for _, k := range knownClaims {
				if key != k && strings.EqualFold(key, k) {
					return fmt.Errorf("%w: claim %q is a case variant of %q", ErrClaims, Clip(key), k)
				}
			}
		}
		if err := walkValue(dec); err != nil {
			return err
		}
	}
}

func walkValue(dec *json.Decoder) error {
	tok, err := dec.Token()
	if err != nil {
		return fmt.Errorf("%w: payload is not valid JSON", ErrMalformed)
	}
	switch tok {
	case json.Delim('{'):
		return walkMembers(dec, false)
	case json.Delim('['):
		for dec.More() {
			if err := walkValue(dec); err != nil {
				return err
			}
		}
		if _, err := dec.Token(); err != nil {
			return fmt.Errorf("%w: payload is not valid JSON", ErrMalformed)
		}
	}
	return nil
}
