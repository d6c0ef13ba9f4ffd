package jwtauth

import (
	"encoding/json"
	"fmt"
	"slices"

	"github.com/golang-jwt/jwt/v5"

	"github.com/secure-api-go/apigw-jwt/internal/scope"
)

// Claims are the parts of an ID or access token the authorizer uses. It reads
// Cognito's (client_id, token_use, cognito:username), Auth0's and others'
// (scope as a string, scp as an array) shapes.
type Claims struct {
	jwt.RegisteredClaims
	ClientID        string    `json:"client_id,omitempty"`
	TokenUse        string    `json:"token_use,omitempty"`
	Scope           scopeList `json:"scope,omitempty"`
	Scp             scopeList `json:"scp,omitempty"`
	Username        string    `json:"username,omitempty"`
	CognitoUsername string    `json:"cognito:username,omitempty"`
}

// timeClaims holds exp, nbf and iat as written in the token, before
// golang-jwt reads them: its NumericDate also accepts a JSON string holding
// digits ("exp":"9999999999"), which RFC 7519 section 2 does not.
type timeClaims struct {
	Exp json.RawMessage `json:"exp"`
	Nbf json.RawMessage `json:"nbf"`
	Iat json.RawMessage `json:"iat"`
}

// UnmarshalJSON refuses exp, nbf and iat that are not JSON numbers (null
// included), then decodes the claims as usual.
func (c *Claims) UnmarshalJSON(b []byte) error {
	var t timeClaims
	if err := json.Unmarshal(b, &t); err != nil {
		return err
	}
	for _, f := range []struct {
		name string
		raw  json.RawMessage
	}{{"exp", t.Exp}, {"nbf", t.Nbf}, {"iat", t.Iat}} {
		if f.raw != nil && !isJSONNumber(f.raw) {
			return fmt.Errorf("%w: %s is %s", ErrClaimType, f.name, Clip(string(f.raw)))
		}
	}
	type plain Claims // without this method
	return json.Unmarshal(b, (*plain)(c))
}

func isJSONNumber(raw json.RawMessage) bool {
	return len(raw) > 0 && (raw[0] == '-' || raw[0] >= '0' && raw[0] <= '9')
}

// Scopes returns the token's scopes from `scope` and `scp`, without duplicates.
func (c *Claims) Scopes() []string {
	if len(c.Scp) == 0 {
		return c.Scope
	}
	out := append([]string(nil), c.Scope...)
	for _, s := range c.Scp {
		if !slices.Contains(out, s) {
			out = append(out, s)
		}
	}
	return out
}

// User returns the username claim, Cognito's or the generic one.
func (c *Claims) User() string {
	if c.CognitoUsername != "" {
		return c.CognitoUsername
	}
	return c.Username
}

// scopeList accepts a space-separated string (RFC 8693 `scope`, split by
// scope.Split like everywhere else) or an array of strings (Okta's `scp`).
// An array element must be one scope token: ["pets.read admin-x"] would
// become two scopes once joined for the backend, so it is refused.
type scopeList []string

func (s *scopeList) UnmarshalJSON(b []byte) error {
	if len(b) > 0 && b[0] == '"' {
		var str string
		if err := json.Unmarshal(b, &str); err != nil {
			return err
		}
		*s = scope.Split(str)
		return nil
	}
	var arr []string
	if err := json.Unmarshal(b, &arr); err != nil {
		return err
	}
	for _, e := range arr {
		if !scope.ValidToken(e) {
			return fmt.Errorf("%w: array element %q is not one scope token (no spaces, printable ASCII)", ErrScope, Clip(e))
		}
	}
	*s = arr
	return nil
}
