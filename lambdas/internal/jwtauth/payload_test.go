package jwtauth

import (
	"context"
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"testing"
	"time"
)

// signRaw signs a payload written by hand (duplicate keys, odd spellings),
// which no JSON encoder would produce.
func signRaw(t *testing.T, k testKey, payload string) string {
	t.Helper()
	enc := base64.RawURLEncoding
	input := enc.EncodeToString([]byte(`{"alg":"RS256","typ":"JWT","kid":"`+k.kid+`"}`)) + "." + enc.EncodeToString([]byte(payload))
	sum := sha256.Sum256([]byte(input))
	sig, err := rsa.SignPKCS1v15(rand.Reader, k.priv, crypto.SHA256, sum[:])
	if err != nil {
		t.Fatal(err)
	}
	return input + "." + enc.EncodeToString(sig)
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
		{"scope twice", `{` + base + `,"scope":"regular-x","scope":"admin-x"}`, ErrClaims},
		{"escaped repeat", `{` + base + `,"scope":"regular-x","\u0073cope":"admin-x"}`, ErrClaims},
		{"SCOPE for scope", `{` + base + `,"SCOPE":"admin-x"}`, ErrClaims},
		{"Iss beside iss", `{` + base + `,"Iss":"https://evil.example.com"}`, ErrClaims},
		{"Client_Id", `{` + base + `,"Client_Id":"other"}`, ErrClaims},
		{"repeat in a nested object", `{` + base + `,"ext":{"a":1,"a":2}}`, ErrClaims},
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
