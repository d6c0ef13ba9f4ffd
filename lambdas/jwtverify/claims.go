package jwtverify

import (
	"encoding/json"
	"fmt"
	"math"
	"slices"
	"strconv"
	"time"

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
// which RFC 7519 section 2 does not, and converts any float to int64
// seconds, so 1e19 wraps to a date before year 0 and passes as "long ago".
// timeClaim refuses anything but a JSON number (null included: encoding/json
// calls UnmarshalJSON for null too), and a number outside 0..MaxNumericDate,
// before any conversion.
type timeClaim struct{ date *jwt.NumericDate }

// MaxNumericDate bounds exp, nbf and iat: 10^11 seconds is year 5138, far
// beyond any real token and far inside int64 nanoseconds' range of time.Time.
const MaxNumericDate = 1e11

func (t *timeClaim) UnmarshalJSON(b []byte) error {
	if !isJSONNumber(b) {
		return fmt.Errorf("%w: exp, nbf or iat is %s", ErrClaimType, Clip(string(b)))
	}
	f, err := strconv.ParseFloat(string(b), 64)
	if err != nil || math.IsInf(f, 0) || math.IsNaN(f) || f < 0 || f > MaxNumericDate {
		return fmt.Errorf("%w: exp, nbf or iat is %s: want seconds since 1970 from 0 to %.0f", ErrTimeRange, Clip(string(b)), float64(MaxNumericDate))
	}
	sec, frac := math.Modf(f)
	t.date = jwt.NewNumericDate(time.Unix(int64(sec), int64(frac*1e9)))
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

// UnmarshalJSON reads the claims by their exact names. encoding/json's
// struct decoding matches names case-insensitively, so a custom "Username"
// after "username" would overwrite it; a map keeps every name as written.
// checkPayload has already refused a repeated known claim.
func (c *Claims) UnmarshalJSON(b []byte) error {
	var m map[string]json.RawMessage
	if err := json.Unmarshal(b, &m); err != nil {
		return err
	}
	fields := []struct {
		name string
		dst  any
	}{
		{"iss", &c.Issuer}, {"sub", &c.Subject}, {"aud", &c.Audience}, {"jti", &c.ID},
		{"exp", &c.Exp}, {"nbf", &c.Nbf}, {"iat", &c.Iat},
		{"client_id", &c.ClientID}, {"token_use", &c.TokenUse}, {"scope", &c.Scope}, {"scp", &c.Scp},
		{"username", &c.Username}, {"cognito:username", &c.CognitoUsername},
	}
	for _, f := range fields {
		v, ok := m[f.name]
		if !ok {
			continue
		}
		if err := json.Unmarshal(v, f.dst); err != nil {
			return fmt.Errorf("claim %q: %w", f.name, err)
		}
	}
	return nil
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
