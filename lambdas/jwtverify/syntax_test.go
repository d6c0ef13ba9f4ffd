package jwtverify

import (
	"context"
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
	"unicode/utf16"
	"unicode/utf8"
)

// signHeader signs a header and a payload written by hand.
func signHeader(t *testing.T, k testKey, header, payload string) string {
	t.Helper()
	enc := base64.RawURLEncoding
	input := enc.EncodeToString([]byte(header)) + "." + enc.EncodeToString([]byte(payload))
	sum := sha256.Sum256([]byte(input))
	sig, err := rsa.SignPKCS1v15(rand.Reader, k.priv, crypto.SHA256, sum[:])
	if err != nil {
		t.Fatal(err)
	}
	return input + "." + enc.EncodeToString(sig)
}

// respell changes the last character of segment i to carry non-zero spare
// bits: a lenient decoder reads the same bytes, a strict one refuses it.
func respell(t *testing.T, token string, i int) string {
	t.Helper()
	segs := strings.Split(token, ".")
	s := segs[i]
	bits := map[int]int{2: 0x0f, 3: 0x03}[len(s)%4]
	if bits == 0 {
		t.Fatalf("segment %d has length %d: no spare bits to set", i, len(s))
	}
	const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
	v := strings.IndexByte(alphabet, s[len(s)-1])
	segs[i] = s[:len(s)-1] + string(alphabet[v|1])
	lenient, err1 := base64.RawURLEncoding.DecodeString(segs[i])
	orig, err2 := base64.RawURLEncoding.DecodeString(s)
	if err1 != nil || err2 != nil || string(lenient) != string(orig) {
		t.Fatalf("respelling is not a second spelling of the same bytes")
	}
	return strings.Join(segs, ".")
}

// TestOneSpellingAndOnlyAccessOrIDTokens covers what a differential test
// against aws-jwt-verify found getting through: out-of-range dates, lenient
// base64url, invalid UTF-8, foreign token types, events, b64. Every case is
// signed with the trusted key, so only the check under test can refuse it.
func TestOneSpellingAndOnlyAccessOrIDTokens(t *testing.T) {
	k := testKey{kid: "k1", priv: rsaKey(t, 0), alg: "RS256", use: "sig"}
	v := newVerifier(t, newJWKS(t, k), nil)
	hdr := func(extra string) string { return `{"alg":"RS256","kid":"k1"` + extra + `}` }
	iat, exp := testNow.Add(-time.Minute).Unix(), testNow.Add(time.Hour).Unix()
	base := `"iss":"` + testIssuer + `","sub":"u1","aud":"` + testClientID + `","token_use":"id","scope":"regular-x"`
	payload := func(times string) string { return `{` + base + `,` + times + `}` }
	good := payload(fmt.Sprintf(`"iat":%d,"exp":%d`, iat, exp))
	valid := signHeader(t, k, hdr(`,"typ":"JWT"`), good)
	segs := strings.Split(valid, ".")

	tests := []struct {
		name   string
		token  string
		want   error // nil: accepted
		reason string
	}{
		{"valid", valid, nil, ""},
		// NumericDate: a finite JSON number from 0 to 1e11, checked before any conversion.
		{"nbf too large for int64 seconds", signHeader(t, k, hdr(""), payload(fmt.Sprintf(`"iat":%d,"exp":%d,"nbf":1e19`, iat, exp))), ErrTimeRange, "time_range"},
		{"iat near int64's limit", signHeader(t, k, hdr(""), payload(fmt.Sprintf(`"iat":9223372036854775807,"exp":%d`, exp))), ErrTimeRange, "time_range"},
		{"exp far beyond 1e11 is not a long-lived token", signHeader(t, k, hdr(""), payload(fmt.Sprintf(`"iat":%d,"exp":100000000001`, iat))), ErrTimeRange, "time_range"},
		{"exp overflowing float64", signHeader(t, k, hdr(""), payload(fmt.Sprintf(`"iat":%d,"exp":1e400`, iat))), ErrTimeRange, "time_range"},
		{"negative exp", signHeader(t, k, hdr(""), payload(fmt.Sprintf(`"iat":%d,"exp":-1`, iat))), ErrTimeRange, "time_range"},
		{"negative nbf", signHeader(t, k, hdr(""), payload(fmt.Sprintf(`"iat":%d,"exp":%d,"nbf":-9e18`, iat, exp))), ErrTimeRange, "time_range"},
		{"fractional times", signHeader(t, k, hdr(""), payload(fmt.Sprintf(`"iat":%d.5,"exp":%d.25,"nbf":0`, iat, exp))), nil, ""},
		{"exp 1e11 exactly", signHeader(t, k, hdr(""), payload(fmt.Sprintf(`"iat":%d,"exp":1e11`, iat))), nil, ""},
		{"exp in range but past", signHeader(t, k, hdr(""), payload(fmt.Sprintf(`"iat":0,"exp":%d`, testNow.Add(-time.Hour).Unix()))), ErrExpired, "expired"},
		// base64url: one spelling.
		{"CR LF inside the payload", segs[0] + "." + segs[1][:10] + "\r\n" + segs[1][10:] + "." + segs[2], ErrMalformed, "malformed"},
		{"LF inside the signature", segs[0] + "." + segs[1] + "." + segs[2][:20] + "\n" + segs[2][20:], ErrMalformed, "malformed"},
		{"padding", segs[0] + "." + segs[1] + "." + segs[2] + "==", ErrMalformed, "malformed"},
		{"space", segs[0] + " ." + segs[1] + "." + segs[2], ErrMalformed, "malformed"},
		{"standard base64 alphabet", segs[0] + "." + segs[1] + "." + strings.NewReplacer("-", "+", "_", "/").Replace(segs[2]), ErrMalformed, "malformed"},
		{"spare bits in the signature", respell(t, valid, 2), ErrMalformed, "malformed"},
		{"empty header", "." + segs[1] + "." + segs[2], ErrMalformed, "malformed"},
		// UTF-8.
		{"invalid UTF-8 in the payload", signHeader(t, k, hdr(""), `{`+base+fmt.Sprintf(`,"iat":%d,"exp":%d,"name":"a`, iat, exp)+"\xff"+`"}`), ErrMalformed, "malformed"},
		{"invalid UTF-8 in the header", signHeader(t, k, `{"alg":"RS256","kid":"k1","x":"`+"\xc3\x28"+`"}`, good), ErrMalformed, "malformed"},
		{"valid UTF-8 in a custom claim", signHeader(t, k, hdr(""), `{`+base+fmt.Sprintf(`,"iat":%d,"exp":%d,"name":"Zoë 名前"`, iat, exp)+`}`), nil, ""},
		// UTF-16 surrogate escapes: a lone one decodes to U+FFFD, a second spelling.
		{"lone high surrogate in the payload", signHeader(t, k, hdr(""), payload(fmt.Sprintf(`"iat":%d,"exp":%d,"name":"a\ud800"`, iat, exp))), ErrMalformed, "malformed"},
		{"high surrogate then a plain character", signHeader(t, k, hdr(""), payload(fmt.Sprintf(`"iat":%d,"exp":%d,"name":"\uD83Dx"`, iat, exp))), ErrMalformed, "malformed"},
		{"high surrogate then a non-surrogate escape", signHeader(t, k, hdr(""), payload(fmt.Sprintf(`"iat":%d,"exp":%d,"name":"\ud83d\u0041"`, iat, exp))), ErrMalformed, "malformed"},
		{"two high surrogates", signHeader(t, k, hdr(""), payload(fmt.Sprintf(`"iat":%d,"exp":%d,"name":"\ud83d\ud83d"`, iat, exp))), ErrMalformed, "malformed"},
		{"lone low surrogate in the payload", signHeader(t, k, hdr(""), payload(fmt.Sprintf(`"iat":%d,"exp":%d,"name":"\udc00"`, iat, exp))), ErrMalformed, "malformed"},
		{"lone surrogate in a claim name", signHeader(t, k, hdr(""), payload(fmt.Sprintf(`"iat":%d,"exp":%d,"x\udfff":1`, iat, exp))), ErrMalformed, "malformed"},
		{"lone surrogate in a known claim", signHeader(t, k, hdr(""), `{"iss":"`+testIssuer+`","sub":"u1\ud800","aud":"`+testClientID+`","token_use":"id","scope":"regular-x",`+fmt.Sprintf(`"iat":%d,"exp":%d}`, iat, exp)), ErrMalformed, "malformed"},
		{"lone surrogate at the end of the payload", signHeader(t, k, hdr(""), payload(fmt.Sprintf(`"iat":%d,"exp":%d,"name":"\ud800`, iat, exp))), ErrMalformed, "malformed"},
		{"lone surrogate in the header", signHeader(t, k, hdr(`,"x":"\ud800"`), good), ErrMalformed, "malformed"},
		{"surrogate pair (an emoji)", signHeader(t, k, hdr(""), payload(fmt.Sprintf(`"iat":%d,"exp":%d,"name":"\ud83d\ude00 \uD83D\uDE00"`, iat, exp))), nil, ""},
		{"escaped backslash before u is no escape", signHeader(t, k, hdr(""), payload(fmt.Sprintf(`"iat":%d,"exp":%d,"name":"\\ud800"`, iat, exp))), nil, ""},
		{"U+FFFD escaped is itself", signHeader(t, k, hdr(""), payload(fmt.Sprintf(`"iat":%d,"exp":%d,"name":"\ufffd\u00e9"`, iat, exp))), nil, ""},
		// typ (RFC 8725 section 3.11).
		{"typ jwt in lower case", signHeader(t, k, hdr(`,"typ":"jwt"`), good), nil, ""},
		{"typ at+jwt", signHeader(t, k, hdr(`,"typ":"at+jwt"`), good), nil, ""},
		{"typ application/at+JWT", signHeader(t, k, hdr(`,"typ":"application/at+JWT"`), good), nil, ""},
		{"typ application/jwt", signHeader(t, k, hdr(`,"typ":"application/jwt"`), good), nil, ""},
		{"typ logout+jwt", signHeader(t, k, hdr(`,"typ":"logout+jwt"`), good), ErrTokenType, "token_type"},
		{"typ dpop+jwt", signHeader(t, k, hdr(`,"typ":"dpop+jwt"`), good), ErrTokenType, "token_type"},
		{"typ secevent+jwt", signHeader(t, k, hdr(`,"typ":"secevent+jwt"`), good), ErrTokenType, "token_type"},
		{"typ with a space", signHeader(t, k, hdr(`,"typ":"JWT "`), good), ErrTokenType, "token_type"},
		{"typ empty", signHeader(t, k, hdr(`,"typ":""`), good), ErrTokenType, "token_type"},
		{"typ not a string", signHeader(t, k, hdr(`,"typ":1`), good), ErrTokenType, "token_type"},
		{"typ null", signHeader(t, k, hdr(`,"typ":null`), good), ErrTokenType, "token_type"},
		{"typ with a Kelvin sign is not folded", signHeader(t, k, hdr(`,"typ":"at+jw\u212a"`), good), ErrTokenType, "token_type"},
		{"TYP is another header, not typ", signHeader(t, k, hdr(`,"TYP":"logout+jwt"`), good), nil, ""},
		// events, b64.
		{"events claim", signHeader(t, k, hdr(""), `{`+base+fmt.Sprintf(`,"iat":%d,"exp":%d,"events":{}`, iat, exp)+`}`), ErrTokenType, "token_type"},
		{"b64 false", signHeader(t, k, hdr(`,"b64":false`), good), ErrHeader, "header"},
		{"b64 as a string", signHeader(t, k, hdr(`,"b64":"false"`), good), ErrHeader, "header"},
		{"b64 true (the default)", signHeader(t, k, hdr(`,"b64":true`), good), nil, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := v.Verify(context.Background(), tt.token)
			if tt.want == nil {
				if err != nil {
					t.Fatalf("Verify: %v, want success", err)
				}
				return
			}
			if err == nil {
				t.Fatalf("Verify accepted the token (sub %q), want %v", c.Subject, tt.want)
			}
			if !errors.Is(err, tt.want) {
				t.Fatalf("Verify: %v, want %v", err, tt.want)
			}
			if got := Reason(err); got != tt.reason {
				t.Errorf("Reason = %q, want %q", got, tt.reason)
			}
		})
	}
}

// TestClaimNamesMatchExactly: a custom claim whose name differs from a
// known one only in case is an ordinary claim; it never replaces the known one.
func TestClaimNamesMatchExactly(t *testing.T) {
	k := testKey{kid: "k1", priv: rsaKey(t, 0), alg: "RS256", use: "sig"}
	v := newVerifier(t, newJWKS(t, k), nil)
	times := fmt.Sprintf(`"iat":%d,"exp":%d`, testNow.Add(-time.Minute).Unix(), testNow.Add(time.Hour).Unix())
	base := `"iss":"` + testIssuer + `","sub":"u1","aud":"` + testClientID + `","token_use":"id",` + times
	tests := []struct {
		name, payload       string
		wantUser, wantScope string
	}{
		{"Username after username", `{` + base + `,"username":"alice","Username":"Mallory","scope":"regular-x"}`, "alice", "regular-x"},
		{"Username before username", `{` + base + `,"Username":"Mallory","username":"alice","scope":"regular-x"}`, "alice", "regular-x"},
		{"SCOPE beside scope", `{` + base + `,"scope":"regular-x","SCOPE":"admin-x"}`, "", "regular-x"},
		{"SCOPE alone", `{` + base + `,"SCOPE":"admin-x"}`, "", ""},
		{"long s is not an s", `{` + base + `,"\u017fcope":"admin-x"}`, "", ""},
		{"Iss beside iss", `{` + base + `,"Iss":"https://evil.example.com","scope":"regular-x"}`, "", "regular-x"},
		{"Client_Id beside aud", `{` + base + `,"Client_Id":"other"}`, "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := v.Verify(context.Background(), signRaw(t, k, tt.payload))
			if err != nil {
				t.Fatalf("Verify: %v, want success", err)
			}
			if c.Username != tt.wantUser || strings.Join(c.Scopes, " ") != tt.wantScope || c.Issuer != testIssuer || c.ClientID != "" {
				t.Fatalf("read user %q, scopes %q, iss %q, client_id %q; want %q, %q, the trusted iss, none",
					c.Username, c.Scopes, c.Issuer, c.ClientID, tt.wantUser, tt.wantScope)
			}
		})
	}
}

// FuzzCheckSyntax: whatever checkSyntax accepts has exactly one spelling
// (re-encoding the decoded segments gives the token back byte for byte),
// a header and payload of valid UTF-8, no lone surrogate escape, and no
// top-level name of either repeated.
func FuzzCheckSyntax(f *testing.F) {
	enc := base64.RawURLEncoding
	h, p := enc.EncodeToString([]byte(`{"alg":"RS256","typ":"JWT"}`)), enc.EncodeToString([]byte(`{"sub":"x","exp":1}`))
	for _, seed := range []string{
		h + "." + p + ".c2ln", h + "." + p + ".c2lo", h + ".\r\n" + p + ".c2ln", h + "." + p + ".c2ln==",
		h + "." + p + ".c2l", h + "." + p + ".c2", h + "." + p + ".c", h + "." + p, "..", "a.b.c.d",
		enc.EncodeToString([]byte(`{"typ":"logout+jwt"}`)) + "." + p + ".c2ln",
		enc.EncodeToString([]byte(`{"b64":false}`)) + "." + p + ".c2ln",
		h + "." + enc.EncodeToString([]byte("{\"n\":\"\xff\"}")) + ".c2ln",
		h + "." + enc.EncodeToString([]byte(`{"events":{}}`)) + ".c2ln",
		h + "." + enc.EncodeToString([]byte(`{"n":"\ud800"}`)) + ".c2ln",
		h + "." + enc.EncodeToString([]byte(`{"n":"\udc00\ud800"}`)) + ".c2ln",
		h + "." + enc.EncodeToString([]byte(`{"n":"\ud83d\ude00","m":"\\ud800"}`)) + ".c2ln",
		enc.EncodeToString([]byte(`{"alg":"RS256","x":"\uDBFF"}`)) + "." + p + ".c2ln",
		enc.EncodeToString([]byte(`{"alg":"RS256","kid":"a","kid":"b"}`)) + "." + p + ".c2ln",
		enc.EncodeToString([]byte(`{"alg":"RS256","kid":"a","\u006bid":"b"}`)) + "." + p + ".c2ln",
		enc.EncodeToString([]byte(`{"alg":"RS256","kid":"a","x":{"kid":"b"}}`)) + "." + p + ".c2ln",
	} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, token string) {
		if checkSyntax(token) != nil {
			return
		}
		segs := strings.Split(token, ".")
		if len(segs) != 3 {
			t.Fatalf("accepted %q with %d segments", token, len(segs))
		}
		for i, s := range segs {
			raw, err := base64.RawURLEncoding.DecodeString(s)
			if err != nil {
				t.Fatalf("accepted segment %d of %q: %v", i, token, err)
			}
			if again := enc.EncodeToString(raw); again != s {
				t.Fatalf("accepted a second spelling: segment %d %q re-encodes as %q", i, s, again)
			}
			if i < 2 && !utf8.Valid(raw) {
				t.Fatalf("accepted invalid UTF-8 in segment %d of %q", i, token)
			}
			if i < 2 && loneSurrogate(raw) {
				t.Fatalf("accepted a lone surrogate escape in segment %d of %q", i, token)
			}
			if keys, ok := topLevelKeys(raw); i < 2 && ok {
				for j, k := range keys {
					if slices.Contains(keys[:j], k) {
						t.Fatalf("accepted segment %d of %q with %q twice", i, token, k)
					}
				}
			}
		}
	})
}

// loneSurrogate is the fuzz oracle, written apart from checkEscapes: it
// decodes every JSON string in raw with strconv.Unquote's rules for \u
// escapes and reports a surrogate half that does not form a pair.
func loneSurrogate(raw []byte) bool {
	s := string(raw)
	for i := 0; i < len(s); i++ {
		if s[i] != '\\' || i+1 >= len(s) {
			continue
		}
		if s[i+1] != 'u' || i+6 > len(s) {
			i++
			continue
		}
		r, err := strconv.ParseUint(s[i+2:i+6], 16, 32)
		if err != nil {
			i++
			continue
		}
		if utf16.IsSurrogate(rune(r)) {
			if i+12 > len(s) || s[i+6:i+8] != `\u` {
				return true
			}
			lo, err := strconv.ParseUint(s[i+8:i+12], 16, 32)
			if err != nil || utf16.DecodeRune(rune(r), rune(lo)) == utf8.RuneError {
				return true
			}
			i += 11
			continue
		}
		i += 5
	}
	return false
}
