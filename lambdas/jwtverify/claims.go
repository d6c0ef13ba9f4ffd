package jwtverify

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"slices"
	"sort"
	"strconv"
	"sync"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/secure-api-go/apigw-jwt/internal/scope"
	"github.com/secure-api-go/apigw-jwt/lambdas/internal/clip"
)

// Claims are a verified token's claims: the standard ones typed, any other
// by name (Claim). Verify may return the same *Claims to several callers
// (verified tokens are cached): treat it as read-only.
type Claims struct {
	Issuer  string // iss
	Subject string // sub
	ID      string // jti
	// Audience is aud, a string or an array in the token; empty when absent
	// (Cognito access tokens, which carry client_id instead).
	Audience []string
	// ExpiresAt is exp; NotBefore and IssuedAt are nbf and iat, zero when absent.
	ExpiresAt, NotBefore, IssuedAt time.Time
	ClientID                       string // client_id
	TokenUse                       string // Cognito's token_use: id or access
	// Username is cognito:username, or else username.
	Username string
	// Scopes are the scope (a space-separated string) and scp (an array)
	// claims together, without duplicates.
	Scopes []string
	// Groups are the issuer's groups claim (Issuer.GroupsClaim, default
	// cognito:groups).
	Groups []string
	// Accepted are the audiences of the token's own issuer that the token
	// carries (its aud entries, or its client_id when it has no aud): the
	// audiences rules may count. Another issuer's audience in aud is not here.
	Accepted []string

	raw *rawClaims
}

// rawClaims is the payload, decoded into a map on first use: most tokens
// are verified without any claim but the known ones being read.
type rawClaims struct {
	once    sync.Once
	payload []byte
	m       map[string]json.RawMessage
}

func (r *rawClaims) claims() map[string]json.RawMessage {
	if r == nil {
		return nil
	}
	r.once.Do(func() { json.Unmarshal(r.payload, &r.m) }) // valid JSON: verified before
	return r.m
}

// Claim returns the JSON of the claim named exactly name, and whether the
// token has it.
func (c *Claims) Claim(name string) (json.RawMessage, bool) {
	v, ok := c.raw.claims()[name]
	return v, ok
}

// ClaimNames lists every claim of the token, sorted.
func (c *Claims) ClaimNames() []string {
	m := c.raw.claims()
	names := make([]string, 0, len(m))
	for k := range m {
		names = append(names, k)
	}
	sort.Strings(names)
	return names
}

// tokenClaims is what golang-jwt decodes the payload into: claims read by
// their exact names, times read strictly. It never leaves the package.
type tokenClaims struct {
	iss, sub, jti, clientID, tokenUse string
	username, cognitoUsername         string
	aud                               jwt.ClaimStrings
	audPresent                        bool // aud is in the payload, even as null or []
	exp, nbf, iat                     timeClaim
	scope, scp                        scopeList
	payload                           []byte
}

// UnmarshalJSON reads the known claims by their exact names, from where the
// payload scanner found them. encoding/json's struct decoding matches names
// case-insensitively, so a custom "Username" after "username" would
// overwrite it; the scanner compares names byte for byte (escapes decoded)
// and has refused a repeated known claim. Other claims stay in the payload,
// decoded only when asked for (Claims.Claim).
func (c *tokenClaims) UnmarshalJSON(b []byte) error {
	var spans claimSpans
	if err := scanPayload(b, &spans); err != nil {
		return err
	}
	c.payload = bytes.Clone(b) // the decoder's buffer is not ours to keep
	// A fixed order, so a token with two bad claims always gets the same reason.
	for i, sp := range spans {
		if sp.end == 0 {
			continue
		}
		v := c.payload[sp.start:sp.end]
		var err error
		switch i {
		case claimIss:
			err = decodeString(v, &c.iss)
		case claimSub:
			err = decodeString(v, &c.sub)
		case claimAud:
			c.audPresent = true
			err = c.aud.UnmarshalJSON(v)
		case claimExp:
			err = c.exp.UnmarshalJSON(v)
		case claimNbf:
			err = c.nbf.UnmarshalJSON(v)
		case claimIat:
			err = c.iat.UnmarshalJSON(v)
		case claimJti:
			err = decodeString(v, &c.jti)
		case claimClientID:
			err = decodeString(v, &c.clientID)
		case claimTokenUse:
			err = decodeString(v, &c.tokenUse)
		case claimScope:
			err = c.scope.UnmarshalJSON(v)
		case claimScp:
			err = c.scp.UnmarshalJSON(v)
		case claimUsername:
			err = decodeString(v, &c.username)
		case claimCognitoUsername:
			err = decodeString(v, &c.cognitoUsername)
		}
		if err != nil {
			return fmt.Errorf("claim %q: %w", knownClaims[i], err)
		}
	}
	return nil
}

// decodeString reads a JSON string claim as encoding/json would (null
// leaves dst alone; another type is an error), without reflection when the
// string holds no escape: the common case, on the path of every fresh token.
func decodeString(raw []byte, dst *string) error {
	if n := len(raw); n >= 2 && raw[0] == '"' && raw[n-1] == '"' && bytes.IndexByte(raw, '\\') < 0 {
		*dst = string(raw[1 : n-1]) // valid JSON (the map decode checked it) and valid UTF-8 (checkSyntax)
		return nil
	}
	return json.Unmarshal(raw, dst)
}

// The jwt.Claims methods give golang-jwt's validator the strictly read times.
func (c *tokenClaims) GetExpirationTime() (*jwt.NumericDate, error) { return c.exp.date, nil }
func (c *tokenClaims) GetNotBefore() (*jwt.NumericDate, error)      { return c.nbf.date, nil }
func (c *tokenClaims) GetIssuedAt() (*jwt.NumericDate, error)       { return c.iat.date, nil }
func (c *tokenClaims) GetIssuer() (string, error)                   { return c.iss, nil }
func (c *tokenClaims) GetSubject() (string, error)                  { return c.sub, nil }
func (c *tokenClaims) GetAudience() (jwt.ClaimStrings, error)       { return c.aud, nil }

// public returns the typed Claims of a verified token.
func (c *tokenClaims) public() *Claims {
	out := &Claims{
		Issuer: c.iss, Subject: c.sub, ID: c.jti, Audience: c.aud,
		ExpiresAt: c.exp.time(), NotBefore: c.nbf.time(), IssuedAt: c.iat.time(),
		ClientID: c.clientID, TokenUse: c.tokenUse, Username: c.cognitoUsername,
		Scopes: c.scope, raw: &rawClaims{payload: c.payload},
	}
	if out.Username == "" {
		out.Username = c.username
	}
	for _, s := range c.scp {
		if !slices.Contains(out.Scopes, s) {
			out.Scopes = append(slices.Clip(out.Scopes), s)
		}
	}
	return out
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
// beyond any real token and far inside the range time.Time converts exactly.
const MaxNumericDate = 1e11

func (t *timeClaim) UnmarshalJSON(b []byte) error {
	if !isJSONNumber(b) {
		return fmt.Errorf("%w: exp, nbf or iat is %s, not a JSON number", ErrClaimType, clip.String(string(b)))
	}
	f, err := strconv.ParseFloat(string(b), 64)
	if err != nil || math.IsInf(f, 0) || math.IsNaN(f) || f < 0 || f > MaxNumericDate {
		return fmt.Errorf("%w: exp, nbf or iat is %s: want seconds since 1970 from 0 to %.0f", ErrTimeRange, clip.String(string(b)), float64(MaxNumericDate))
	}
	sec, frac := math.Modf(f)
	t.date = jwt.NewNumericDate(time.Unix(int64(sec), int64(frac*1e9)))
	return nil
}

func (t timeClaim) time() time.Time {
	if t.date == nil {
		return time.Time{}
	}
	return t.date.Time
}

func isJSONNumber(raw []byte) bool {
	return len(raw) > 0 && (raw[0] == '-' || raw[0] >= '0' && raw[0] <= '9')
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
				return fmt.Errorf("%w: scope string holds %q, not a scope token (separate scopes with single spaces, printable ASCII)", ErrScope, clip.String(e))
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
			return fmt.Errorf("%w: array element %q is not one scope token (no spaces, printable ASCII)", ErrScope, clip.String(e))
		}
	}
	*s = arr
	return nil
}

// groupsOf reads the groups claim: an array of non-empty strings, or one
// string (a single group). null or absent: no groups. A payload without
// the name in quotes (and no escape that could spell it) has no such claim,
// which spares decoding the whole payload for most tokens.
func groupsOf(c *Claims, name string) ([]string, error) {
	if p := c.raw.payload; !bytes.Contains(p, []byte(`"`+name+`"`)) && bytes.IndexByte(p, '\\') < 0 {
		return nil, nil
	}
	v, ok := c.Claim(name)
	if !ok || string(v) == "null" {
		return nil, nil
	}
	var one string
	if json.Unmarshal(v, &one) == nil {
		if one == "" {
			return nil, nil
		}
		return []string{one}, nil
	}
	var arr []string
	if err := json.Unmarshal(v, &arr); err != nil {
		return nil, fmt.Errorf("%w: %s is %s: want an array of strings", ErrClaimType, clip.String(name), clip.String(string(v)))
	}
	for _, g := range arr {
		if g == "" {
			return nil, fmt.Errorf("%w: %s holds an empty group name", ErrClaimType, clip.String(name))
		}
	}
	return arr, nil
}
