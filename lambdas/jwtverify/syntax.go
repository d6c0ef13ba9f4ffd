package jwtverify

import (
	"bytes"
	"encoding/base64"
	"fmt"
	"strings"
	"unicode/utf8"

	"github.com/secure-api-go/apigw-jwt/lambdas/internal/clip"
)

// strictB64 decodes base64url without padding and, unlike the default
// decoder, refuses non-zero spare bits in the last character. It still
// skips CR and LF, which checkSegment refuses first.
var strictB64 = base64.RawURLEncoding.Strict()

// checkSyntax refuses, before any key is looked up, a token that has more
// than one spelling or that is not an ID or access token (RFC 8725):
//   - three base64url segments of the alphabet only (no CR, LF, padding or
//     other byte Go's decoder would skip), with zero spare bits, so an RS or
//     PS token has exactly one spelling and one cache key (an ES signature
//     has two: ECDSA's (r, s) and (r, n-s));
//   - header and payload of valid UTF-8 (RFC 8259 section 8.1: invalid bytes
//     would be replaced by U+FFFD, a second reading of the same bytes), and
//     no lone UTF-16 surrogate escape (checkEscapes), which Go decodes to
//     U+FFFD too: a second spelling of the same claim value;
//   - a header that checkHeaderNames accepts (no parameter repeated) and a
//     payload that checkPayload accepts (no name repeated, no events claim:
//     RFC 8417 security event tokens and OIDC logout tokens carry one).
func checkSyntax(token string) error {
	var segs [3]string
	rest := token
	for i := range segs {
		if i < 2 {
			var ok bool
			segs[i], rest, ok = strings.Cut(rest, ".")
			if !ok {
				return fmt.Errorf("%w: want three dot-separated segments", ErrMalformed)
			}
			continue
		}
		segs[i] = rest
	}
	if strings.IndexByte(segs[2], '.') >= 0 {
		return fmt.Errorf("%w: want three dot-separated segments", ErrMalformed)
	}
	names := [3]string{"header", "payload", "signature"}
	for i, s := range segs {
		if i == 2 && s == "" {
			continue // no signature: the algorithm check names the problem (alg none)
		}
		if err := checkSegment(s); err != nil {
			return fmt.Errorf("%w: %s: %v", ErrMalformed, names[i], err)
		}
	}
	var hbuf [512]byte
	header := hbuf[:0]
	if n := strictB64.DecodedLen(len(segs[0])); n > len(hbuf) {
		header = make([]byte, 0, n)
	}
	header, err := strictB64.AppendDecode(header, []byte(segs[0]))
	if err != nil {
		return fmt.Errorf("%w: header: %v", ErrMalformed, err)
	}
	var buf [2048]byte
	payload := buf[:0]
	if n := strictB64.DecodedLen(len(segs[1])); n > len(buf) {
		payload = make([]byte, 0, n)
	}
	payload, err = strictB64.AppendDecode(payload, []byte(segs[1]))
	if err != nil {
		return fmt.Errorf("%w: payload: %v", ErrMalformed, err)
	}
	if !utf8.Valid(header) {
		return fmt.Errorf("%w: header is not valid UTF-8", ErrMalformed)
	}
	if !utf8.Valid(payload) {
		return fmt.Errorf("%w: payload is not valid UTF-8", ErrMalformed)
	}
	if err := checkEscapes(header); err != nil {
		return fmt.Errorf("%w: header: %v", ErrMalformed, err)
	}
	if err := checkEscapes(payload); err != nil {
		return fmt.Errorf("%w: payload: %v", ErrMalformed, err)
	}
	if err := checkHeaderNames(header); err != nil {
		return err
	}
	return checkPayload(payload)
}

// checkEscapes refuses a \u escape of a lone UTF-16 surrogate: a high one
// (D800-DBFF) not followed by a \u escape of a low one (DC00-DFFF), or a low
// one on its own. RFC 8259 section 8.2 leaves such strings' behaviour
// unpredictable; encoding/json turns them into U+FFFD, so "\ud800" and
// "\ufffd" would be one claim value with two spellings. A backslash is only
// valid JSON inside a string, so every one starts an escape; what is not
// valid JSON is left to the parser. No allocation.
func checkEscapes(b []byte) error {
	for i := 0; ; {
		j := bytes.IndexByte(b[i:], '\\')
		if j < 0 {
			return nil
		}
		i += j
		if i+1 >= len(b) || b[i+1] != 'u' {
			i += 2 // \" \\ \/ \b ...: one escaped character
			if i >= len(b) {
				return nil
			}
			continue
		}
		r, ok := hex4(b, i+2)
		switch {
		case !ok: // not JSON, which the parser refuses; scan on all the same
			i += 2
		case r >= 0xdc00 && r <= 0xdfff:
			return fmt.Errorf("lone UTF-16 low surrogate escape \\u%04x at byte %d", r, i)
		case r >= 0xd800 && r <= 0xdbff:
			if lo, ok := hex4(b, i+8); !ok || b[i+6] != '\\' || b[i+7] != 'u' || lo < 0xdc00 || lo > 0xdfff {
				return fmt.Errorf("lone UTF-16 high surrogate escape \\u%04x at byte %d (no low surrogate escape after it)", r, i)
			}
			i += 12
		default:
			i += 6
		}
	}
}

// hex4 reads the four hex digits at b[i:], as a \u escape holds them.
func hex4(b []byte, i int) (rune, bool) {
	if i < 0 || i+4 > len(b) {
		return 0, false
	}
	var r rune
	for _, c := range b[i : i+4] {
		switch {
		case c >= '0' && c <= '9':
			r = r<<4 | rune(c-'0')
		case c >= 'a' && c <= 'f':
			r = r<<4 | rune(c-'a'+10)
		case c >= 'A' && c <= 'F':
			r = r<<4 | rune(c-'A'+10)
		default:
			return 0, false
		}
	}
	return r, true
}

// checkSegment accepts only the base64url alphabet, a length a
// base64url string can have, and zero spare bits in the last character.
func checkSegment(s string) error {
	if s == "" {
		return fmt.Errorf("empty")
	}
	for i := 0; i < len(s); i++ {
		if b64Value(s[i]) < 0 {
			return fmt.Errorf("byte %#x at %d is not base64url (A-Z a-z 0-9 - _, no padding)", s[i], i)
		}
	}
	last := b64Value(s[len(s)-1])
	switch len(s) % 4 {
	case 1:
		return fmt.Errorf("length %d is not a base64url length", len(s))
	case 2:
		if last&0x0f != 0 {
			return fmt.Errorf("last character has non-zero spare bits")
		}
	case 3:
		if last&0x03 != 0 {
			return fmt.Errorf("last character has non-zero spare bits")
		}
	}
	return nil
}

// b64Value is c's value in the base64url alphabet, or -1.
func b64Value(c byte) int {
	switch {
	case c >= 'A' && c <= 'Z':
		return int(c - 'A')
	case c >= 'a' && c <= 'z':
		return int(c-'a') + 26
	case c >= '0' && c <= '9':
		return int(c-'0') + 52
	case c == '-':
		return 62
	case c == '_':
		return 63
	}
	return -1
}

// checkHeader checks crit, typ and b64 in the header as golang-jwt decoded
// it (a map: names match exactly, "TYP" is not typ). A crit header is
// refused (RFC 7515 section 4.1.11: this verifier understands no extension,
// and golang-jwt ignores crit); typ must be absent, JWT or at+jwt; b64
// absent or true.
func checkHeader(h map[string]any) error {
	if crit, ok := h["crit"]; ok {
		return fmt.Errorf("%w: %s", ErrCrit, clip.String(fmt.Sprint(crit)))
	}
	if v, ok := h["typ"]; ok {
		typ, isString := v.(string)
		if !isString {
			return fmt.Errorf("%w: typ is %s, not a string", ErrTokenType, clip.String(fmt.Sprintf("%#v", v)))
		}
		if !acceptedType(typ) {
			return fmt.Errorf("%w: typ %q: want JWT or at+jwt (or no typ)", ErrTokenType, clip.String(typ))
		}
	}
	if v, ok := h["b64"]; ok && v != true {
		return fmt.Errorf("%w: b64 is %s: unencoded payloads (RFC 7797) are not accepted", ErrHeader, clip.String(fmt.Sprintf("%#v", v)))
	}
	return nil
}

// acceptedType reports whether typ names a plain JWT (RFC 7519 section 5.1)
// or an OAuth access token (RFC 9068 section 2.1), case-insensitively and
// with or without the "application/" prefix (RFC 7515 section 4.1.9).
func acceptedType(typ string) bool {
	for i := 0; i < len(typ); i++ {
		if typ[i] >= 0x80 {
			return false // ASCII only: no Unicode case folding (U+017F is not an s)
		}
	}
	t := strings.TrimPrefix(strings.ToLower(typ), "application/")
	return t == "jwt" || t == "at+jwt"
}
