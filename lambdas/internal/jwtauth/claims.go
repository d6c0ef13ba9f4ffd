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
	// exp, nbf and iat shadow RegisteredClaims' to be read strictly; after
	// Verify, RegisteredClaims holds them too.
	Exp             timeClaim `json:"exp"`
	Nbf             timeClaim `json:"nbf"`
	Iat             timeClaim `json:"iat"`
	ClientID        string    `json:"client_id,omitempty"`
	TokenUse        string    `json:"token_use,omitempty"`
	Scope           scopeList `json:"scope,omitempty"`
	Scp             scopeList `json:"scp,omitempty"`
	Username        string    `json:"username,omitempty"`
	CognitoUsername string    `json:"cognito:username,omitempty"`
	// Accepted are the audiences the token's issuer is configured with that
	// the token carries (its aud entries, or its client_id when it has no
	// aud); set by Verify, never read from the token.
	Accepted []string `json:"-"`
}

// timeClaim is exp, nbf or iat as written in the token. golang-jwt's
// NumericDate also accepts a JSON string holding digits ("exp":"9999999999"),
// which RFC 7519 section 2 does not; timeClaim refuses anything but a JSON
// number, null included (encoding/json calls UnmarshalJSON for null too).
type timeClaim struct{ date *jwt.NumericDate }

func (t *timeClaim) UnmarshalJSON(b []byte) error {
	if !isJSONNumber(b) {
		return fmt.Errorf("%w: exp, nbf or iat is %s", ErrClaimType, Clip(string(b)))
	}
	d := new(jwt.NumericDate)
	if err := d.UnmarshalJSON(b); err != nil {
		return err
	}
	t.date = d
	return nil
}

func (t timeClaim) MarshalJSON() ([]byte, error) {
	if t.date == nil {
		return []byte("null"), nil
	}
	return t.date.MarshalJSON()
}

func isJSONNumber(raw []byte) bool {
	return len(raw) > 0 && (raw[0] == '-' || raw[0] >= '0' && raw[0] <= '9')
}

// GetExpirationTime, GetNotBefore and GetIssuedAt give golang-jwt's
// validator the strictly read times.
func (c *Claims) GetExpirationTime() (*jwt.NumericDate, error) { return c.Exp.date, nil }
func (c *Claims) GetNotBefore() (*jwt.NumericDate, error)      { return c.Nbf.date, nil }
func (c *Claims) GetIssuedAt() (*jwt.NumericDate, error)       { return c.Iat.date, nil }

// fillTimes copies the strictly read times into RegisteredClaims, where
// callers expect them.
func (c *Claims) fillTimes() {
	c.ExpiresAt, c.NotBefore, c.IssuedAt = c.Exp.date, c.Nbf.date, c.Iat.date
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
		parts := scope.Split(str)
		for _, e := range parts {
			if !scope.ValidToken(e) {
				return fmt.Errorf("%w: scope string holds %q, not a scope token (separate scopes with single spaces, printable ASCII)", ErrScope, Clip(e))
			}
		}
		*s = parts
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
