package jwtauth

import (
	"encoding/json"
	"slices"
	"strings"

	"github.com/golang-jwt/jwt/v5"
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

// scopeList accepts a space-separated string (RFC 8693 `scope`) or an array
// of strings (Okta's `scp`).
type scopeList []string

func (s *scopeList) UnmarshalJSON(b []byte) error {
	if len(b) > 0 && b[0] == '"' {
		var str string
		if err := json.Unmarshal(b, &str); err != nil {
			return err
		}
		*s = strings.Fields(str)
		return nil
	}
	var arr []string
	if err := json.Unmarshal(b, &arr); err != nil {
		return err
	}
	*s = arr
	return nil
}
