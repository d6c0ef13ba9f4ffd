package jwtverify

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"testing"
	"time"
	"unicode/utf8"
)

// signRaw signs a payload written by hand (duplicate keys, odd spellings),
// which no JSON encoder would produce.
func signRaw(t *testing.T, k testKey, payload string) string {
	t.Helper()
	return signHeader(t, k, `{"alg":"RS256","typ":"JWT","kid":"`+k.kid+`"}`, payload)
}

// TestPayloadIsStrict: a payload that a lenient decoder would read as
// something else than it says is refused, even when the signature is good.
func TestPayloadIsStrict(t *testing.T) {
	k := testKey{kid: "k1", priv: rsaKey(t, 0), alg: "RS256", use: "sig"}
	v := newVerifier(t, newJWKS(t, k), nil)
	times := fmt.Sprintf(`"iat":%d,"exp":%d`, testNow.Add(-time.Minute).Unix(), testNow.Add(time.Hour).Unix())
	base := `"iss":"` + testIssuer + `","sub":"u1","aud":"` + testClientID + `","token_use":"id",` + times
	tests := []struct {
		name, payload string
		want          error // nil: accepted
	}{
		{"plain", `{` + base + `,"scope":"regular-x"}`, nil},
		{"unknown claims in any case", `{` + base + `,"Custom":1,"custom":2}`, nil},
		{"a repeated custom claim (a caller may read it)", `{` + base + `,"x":1,"x":2}`, ErrClaims},
		{"a repeated custom claim, escaped spelling", `{` + base + `,"email":"a@x","em\u0061il":"b@x"}`, ErrClaims},
		{"groups twice", `{` + base + `,"cognito:groups":["regular"],"cognito:groups":["admin"]}`, ErrClaims},
		{"groups twice, \\u003a spelling", `{` + base + `,"cognito:groups":["regular"],"cognito\u003agroups":["admin"]}`, ErrClaims},
		{"a custom groups claim twice", `{` + base + `,"groups":["regular"],"groups":["admin"]}`, ErrClaims},
		{"one name in two cases (two claims)", `{` + base + `,"groups":["regular"],"Groups":["admin"]}`, nil},
		{"40 distinct custom claims (past the stack array)", `{` + base + manyClaims(40, false) + `}`, nil},
		{"40 custom claims, the last a repeat", `{` + base + manyClaims(40, true) + `}`, ErrClaims},
		{"scope twice", `{` + base + `,"scope":"regular-x","scope":"admin-x"}`, ErrClaims},
		{"escaped repeat", `{` + base + `,"scope":"regular-x","\u0073cope":"admin-x"}`, ErrClaims},
		{"events (a logout or security event token)", `{` + base + `,"events":{"http://schemas.openid.net/event/backchannel-logout":{}}}`, ErrTokenType},
		{"repeat in a nested object (not read)", `{` + base + `,"ext":{"a":1,"a":2}}`, nil},
		{"comma inside strings and arrays", `{` + base + `,"x":"a,\"scope\":1","y":[1,{"scope":2}],"scope":"regular-x"}`, nil},
		{"escaped scope, then scope", `{` + base + `,"sc\u006fpe":"regular-x","scope":"admin-x"}`, ErrClaims},
		{"data after the object", `{` + base + `}{"scope":"admin-x"}`, ErrClaims},
		{"scope string with a tab", `{` + base + `,"scope":"regular-x\tadmin-x"}`, ErrScope},
		{"scope string with a no-break space", `{` + base + `,"scope":"regular-x\u00a0admin-x"}`, ErrScope},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := v.Verify(context.Background(), signRaw(t, k, tt.payload))
			if tt.want == nil && err != nil {
				t.Fatalf("Verify: %v, want success", err)
			}
			if tt.want != nil && !errors.Is(err, tt.want) {
				t.Fatalf("Verify: %v, want %v", err, tt.want)
			}
		})
	}
}

// TestHeaderNamesAreUnique: a header that repeats a parameter - which a
// decoded map reads as its last value - is refused with reason header,
// even when the signature is good, as a repeated claim is.
func TestHeaderNamesAreUnique(t *testing.T) {
	k := testKey{kid: "k1", priv: rsaKey(t, 0), alg: "RS256", use: "sig"}
	v := newVerifier(t, newJWKS(t, k), nil)
	payload := fmt.Sprintf(`{"iss":"%s","sub":"u1","aud":"%s","token_use":"id","iat":%d,"exp":%d}`,
		testIssuer, testClientID, testNow.Add(-time.Minute).Unix(), testNow.Add(time.Hour).Unix())
	tests := []struct {
		name, header string
		want         error // nil: accepted
	}{
		{"plain", `{"alg":"RS256","typ":"JWT","kid":"k1"}`, nil},
		{"one name in two cases (two parameters)", `{"alg":"RS256","kid":"k1","KID":"other"}`, nil},
		{"repeat in a nested object (not read)", `{"alg":"RS256","kid":"k1","ext":{"a":1,"a":2}}`, nil},
		{"40 distinct parameters (past the stack array)", `{"alg":"RS256","kid":"k1"` + manyClaims(40, false) + `}`, nil},
		{"kid twice, the last one the key's", `{"alg":"RS256","kid":"other","kid":"k1"}`, ErrHeader},
		{"kid twice, same value", `{"alg":"RS256","kid":"k1","kid":"k1"}`, ErrHeader},
		{"kid twice, escaped spelling", `{"alg":"RS256","kid":"k1","\u006bid":"k1"}`, ErrHeader},
		{"alg twice", `{"alg":"none","alg":"RS256","kid":"k1"}`, ErrHeader},
		{"typ twice", `{"alg":"RS256","typ":"logout+jwt","typ":"JWT","kid":"k1"}`, ErrHeader},
		{"40 parameters, the last a repeat", `{"alg":"RS256","kid":"k1"` + manyClaims(40, true) + `}`, ErrHeader},
		{"data after the object", `{"alg":"RS256","kid":"k1"}{"kid":"other"}`, ErrHeader},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := v.Verify(context.Background(), signHeader(t, k, tt.header, payload))
			if tt.want == nil && err != nil {
				t.Fatalf("Verify: %v, want success", err)
			}
			if tt.want != nil && (!errors.Is(err, tt.want) || Reason(err) != "header") {
				t.Fatalf("Verify: %v (reason %s), want %v (reason header)", err, Reason(err), tt.want)
			}
		})
	}
}

// topLevelKeys is the reference for the scanner: the payload's top-level
// keys as encoding/json's tokenizer reads them, or ok false when the
// payload is not exactly one JSON object.
func topLevelKeys(raw []byte) (keys []string, ok bool) {
	dec := json.NewDecoder(bytes.NewReader(raw))
	if tok, err := dec.Token(); err != nil || tok != json.Delim('{') {
		return nil, false
	}
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return nil, false
		}
		keys = append(keys, tok.(string))
		var skip json.RawMessage
		if err := dec.Decode(&skip); err != nil {
			return nil, false
		}
	}
	if _, err := dec.Token(); err != nil {
		return nil, false
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, false
	}
	return keys, true
}

// manyClaims is n custom claims ",c0":0,...; with repeat, the last repeats c0.
func manyClaims(n int, repeat bool) string {
	var b strings.Builder
	for i := range n {
		if repeat && i == n-1 {
			i = 0
		}
		fmt.Fprintf(&b, `,"c%d":%d`, i, i)
	}
	return b.String()
}

// FuzzCheckPayload: the scanner never panics, and whenever it accepts a
// payload that is one JSON object, that object repeats no name and
// holds no refused one - checked against encoding/json's tokenizer - and
// the value it finds for each known claim is the one encoding/json reads.
func FuzzCheckPayload(f *testing.F) {
	for _, seed := range []string{
		`{"iss":"x","scope":"a b"}`, `{"scope":"a","scope":"b"}`, `{"SCOPE":"a"}`, `{"a":{"a":1,"a":2}}`,
		`{"x":"a,\"scope\":1","y":[1,{"scope":2}],"scope":"r"}`, `{"\u017fcope":"x"}`, `{"a":1}{"b":2}`, `{"a":"\\"}`, `[]`, `{`,
		`{"events":{}}`, `{"ev\u0065nts":1}`, `{"Events":1,"Scope":"a","scope":"b"}`,
		`{ "iss" : "a" , "aud" : [ "x" , {"iss":"y"} ] , "exp" : 1e3 }`, "{\"\x8e\":1,\"\x88\":2}", `{"a":1,"\u0061":2}`, `{"sub":{"a":[1,2,"}"]},"jti":"\"}"}`, `{"scope":"a"  }`,
	} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, payload string) {
		var spans claimSpans
		err := scanPayload([]byte(payload), &spans)
		if !utf8.ValidString(payload) {
			return // checkSyntax refuses it first; encoding/json would read every invalid byte as U+FFFD
		}
		keys, ok := topLevelKeys([]byte(payload))
		if err != nil || !ok {
			return
		}
		var m map[string]json.RawMessage
		if json.Unmarshal([]byte(payload), &m) != nil {
			return
		}
		for i, name := range knownClaims {
			want, present := m[name]
			got := payload[spans[i].start:spans[i].end]
			if present != (spans[i].end != 0) || present && got != string(want) {
				t.Fatalf("%q: scanner read %s as %q (found %v), encoding/json %q (found %v)", payload, name, got, spans[i].end != 0, want, present)
			}
		}
		for i, k := range keys {
			for _, other := range keys[:i] {
				if k == other {
					t.Fatalf("accepted %q with %q twice", payload, k)
				}
			}
			if slices.Contains(refusedClaims, k) {
				t.Fatalf("accepted %q with the refused claim %q", payload, k)
			}
		}
	})
}
