package jwtverify

import (
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/secure-api-go/apigw-jwt/internal/seedspec"
)

// Config says which tokens to trust. Zero values mean the defaults below.
//
// One issuer is set by Issuer, JWKSURI, Audiences, TokenUse and JWKS; several
// by Issuers instead (not both).
type Config struct {
	// Issuer must equal the token's iss exactly. Required unless Issuers is set.
	Issuer string
	// JWKSURI is where the issuer publishes its keys: https, or http on a loopback host. Required.
	JWKSURI string
	// Audiences accepted in aud, or in client_id for access tokens without aud. Required.
	Audiences []string
	// TokenUse, when set to "id" or "access", requires Cognito's token_use claim to match. Default: any.
	TokenUse string
	// JWKS is an optional JWKS document used as the initial key set: its kids
	// verify with no request. Default: none (the first token fetches JWKSURI).
	JWKS json.RawMessage
	// Issuers trusts several issuers at once; the token's iss selects one. Default: the single issuer above.
	Issuers []Issuer
	// Algorithms allowed, among RS256/384/512 and PS256/384/512. Default: RS256.
	Algorithms []string
	// Leeway for exp, nbf and iat. Default: 60 s. Negative means none.
	Leeway time.Duration
	// HTTPTimeout bounds one JWKS request. Default: 3 s.
	HTTPTimeout time.Duration
	// RefreshMinInterval is the least time between JWKS refreshes caused by
	// unknown kids, so a flood of made-up kids cannot hammer the IdP; it also
	// caps the retry backoff while the JWKS is unavailable. Default: 1 min.
	RefreshMinInterval time.Duration
	// RefreshInterval is how often a healthy JWKS is refreshed. Default: 1 h.
	RefreshInterval time.Duration
	// CacheSize bounds the cache of verified tokens; negative disables it. Default: 1024.
	CacheSize int
	// HTTPClient for JWKS requests. Default: a client with HTTPTimeout and a 1 MiB body limit.
	HTTPClient *http.Client
	// Now is the clock. Default: time.Now.
	Now func() time.Time
	// Log receives key-set events (refused keys, failed fetches). Default: discarded.
	Log *slog.Logger
}

// Issuer is one trusted issuer, as an element of the ISSUERS variable. The
// shape is seedspec's, which the stack and the seed custom resource write.
type Issuer = seedspec.Issuer

// MaxTokenBytes bounds what is parsed at all; API Gateway's own header limit is 10 KiB.
const MaxTokenBytes = 16 << 10

var allowedAlgs = map[string]bool{"RS256": true, "RS384": true, "RS512": true, "PS256": true, "PS384": true, "PS512": true}

// singleIssuerVars are the variables ISSUERS replaces.
var singleIssuerVars = []string{"ISSUER", "TOKEN_ISSUER", "JWKS_URI", "AUDIENCE", "TOKEN_USE", "JWKS_JSON"}

// ConfigFromEnv reads the configuration the stack passes to the authorizer:
// ISSUER (or its alias TOKEN_ISSUER, the Auth0 guide's name), JWKS_URI,
// AUDIENCE (comma-separated), optionally TOKEN_USE and JWKS_JSON - or ISSUERS
// instead of all of them - and optionally ALGORITHMS, LEEWAY_SECONDS,
// JWKS_TIMEOUT_MS, JWKS_REFRESH_MIN_INTERVAL_SECONDS,
// JWKS_REFRESH_INTERVAL_SECONDS, TOKEN_CACHE_SIZE. It reports every problem
// at once (errors.Join), each wrapping ErrConfig.
func ConfigFromEnv(getenv func(string) string) (Config, error) {
	var errs []error
	c := Config{
		Issuer:    strings.TrimSpace(getenv("ISSUER")),
		JWKSURI:   strings.TrimSpace(getenv("JWKS_URI")),
		Audiences: splitList(getenv("AUDIENCE")),
		TokenUse:  strings.TrimSpace(getenv("TOKEN_USE")),
	}
	if alias := strings.TrimSpace(getenv("TOKEN_ISSUER")); alias != "" {
		switch c.Issuer {
		case "", alias:
			c.Issuer = alias
		default:
			errs = append(errs, fmt.Errorf("%w: ISSUER=%q and TOKEN_ISSUER=%q differ: TOKEN_ISSUER is an alias of ISSUER, set only one", ErrConfig, c.Issuer, alias))
		}
	}
	if raw := strings.TrimSpace(getenv("JWKS_JSON")); raw != "" {
		c.JWKS = json.RawMessage(raw)
	}
	if raw := strings.TrimSpace(getenv("ISSUERS")); raw != "" {
		var set []string
		for _, k := range singleIssuerVars {
			if strings.TrimSpace(getenv(k)) != "" {
				set = append(set, k)
			}
		}
		if len(set) > 0 {
			errs = append(errs, fmt.Errorf("%w: ISSUERS and %s are both set: ISSUERS replaces them, set one or the other", ErrConfig, strings.Join(set, ", ")))
		}
		dec := json.NewDecoder(strings.NewReader(raw))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&c.Issuers); err != nil {
			errs = append(errs, fmt.Errorf(`%w: ISSUERS is not a JSON list of {"issuer","jwksUri","audiences":[...],"tokenUse"?,"jwks"?}: %v`, ErrConfig, err))
		} else if len(c.Issuers) == 0 {
			errs = append(errs, fmt.Errorf("%w: ISSUERS is an empty list: list at least one issuer, or unset it and use ISSUER, JWKS_URI, AUDIENCE", ErrConfig))
		}
	}
	if a := getenv("ALGORITHMS"); a != "" {
		c.Algorithms = splitList(a)
	}
	var err error
	if c.Leeway, err = envSeconds(getenv, "LEEWAY_SECONDS", 0, 600); err != nil {
		errs = append(errs, err)
	}
	if v := getenv("LEEWAY_SECONDS"); strings.TrimSpace(v) == "0" {
		c.Leeway = -1 // explicit zero: no leeway
	}
	ms, err := envInt(getenv, "JWKS_TIMEOUT_MS", 1, 30000)
	if err != nil {
		errs = append(errs, err)
	}
	c.HTTPTimeout = time.Duration(ms) * time.Millisecond
	if c.RefreshMinInterval, err = envSeconds(getenv, "JWKS_REFRESH_MIN_INTERVAL_SECONDS", 1, 86400); err != nil {
		errs = append(errs, err)
	}
	if c.RefreshInterval, err = envSeconds(getenv, "JWKS_REFRESH_INTERVAL_SECONDS", 60, 7*86400); err != nil {
		errs = append(errs, err)
	}
	size, err := envInt(getenv, "TOKEN_CACHE_SIZE", 0, 1<<20)
	if err != nil {
		errs = append(errs, err)
	}
	switch {
	case getenv("TOKEN_CACHE_SIZE") == "" || err != nil:
	case size == 0:
		c.CacheSize = -1
	default:
		c.CacheSize = size
	}
	if len(errs) > 0 && len(c.Issuers) > 0 {
		// Both styles set: the single-issuer checks would only repeat the conflict.
		return c, errors.Join(errs...)
	}
	return c, errors.Join(append(errs, c.validate())...)
}

func envInt(getenv func(string) string, key string, lo, hi int) (int, error) {
	v := strings.TrimSpace(getenv(key))
	if v == "" {
		return 0, nil
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < lo || n > hi {
		return 0, fmt.Errorf("%w: %s=%q: want an integer from %d to %d", ErrConfig, key, v, lo, hi)
	}
	return n, nil
}

func envSeconds(getenv func(string) string, key string, lo, hi int) (time.Duration, error) {
	n, err := envInt(getenv, key, lo, hi)
	return time.Duration(n) * time.Second, err
}

func splitList(s string) []string {
	var out []string
	for _, p := range strings.Split(s, ",") {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}

// withDefaults fills zero values.
func (c Config) withDefaults() Config {
	if len(c.Algorithms) == 0 {
		c.Algorithms = []string{"RS256"}
	}
	if c.Leeway == 0 {
		c.Leeway = 60 * time.Second
	} else if c.Leeway < 0 {
		c.Leeway = 0
	}
	if c.HTTPTimeout == 0 {
		c.HTTPTimeout = 3 * time.Second
	}
	if c.RefreshMinInterval == 0 {
		c.RefreshMinInterval = time.Minute
	}
	if c.RefreshInterval == 0 {
		c.RefreshInterval = time.Hour
	}
	if c.CacheSize == 0 {
		c.CacheSize = 1024
	}
	if c.Now == nil {
		c.Now = time.Now
	}
	if c.Log == nil {
		c.Log = slog.New(slog.DiscardHandler)
	}
	return c
}

func (c Config) validate() error {
	var errs []error
	if len(c.Issuers) > 0 {
		if c.Issuer != "" || c.JWKSURI != "" || len(c.Audiences) > 0 || c.TokenUse != "" || len(c.JWKS) > 0 {
			errs = append(errs, fmt.Errorf("%w: ISSUERS and the single-issuer settings (ISSUER, JWKS_URI, AUDIENCE, TOKEN_USE, JWKS_JSON) are both set: use one or the other", ErrConfig))
		}
		seen := map[string]bool{}
		for i, is := range c.Issuers {
			errs = append(errs, validateIssuer(is, fmt.Sprintf("ISSUERS[%d].", i), map[string]string{
				"issuer": "issuer", "jwks": "jwksUri", "aud": "audiences", "use": "tokenUse", "seed": "jwks"}))
			if seen[is.Issuer] {
				errs = append(errs, fmt.Errorf("%w: ISSUERS[%d].issuer %q is listed twice: list each issuer once", ErrConfig, i, is.Issuer))
			}
			seen[is.Issuer] = true
		}
	} else {
		single := Issuer{Issuer: c.Issuer, JWKSURI: c.JWKSURI, Audiences: c.Audiences, TokenUse: c.TokenUse, JWKS: c.JWKS}
		errs = append(errs, validateIssuer(single, "", map[string]string{
			"issuer": "ISSUER", "jwks": "JWKS_URI", "aud": "AUDIENCE", "use": "TOKEN_USE", "seed": "JWKS_JSON"}))
	}
	for _, a := range c.Algorithms {
		if !allowedAlgs[a] {
			errs = append(errs, fmt.Errorf("%w: ALGORITHMS holds %q: allowed are RS256, RS384, RS512, PS256, PS384, PS512", ErrConfig, a))
		}
	}
	return errors.Join(errs...)
}

// validateIssuer checks one issuer; names maps its fields to the variable names
// the user wrote (ISSUER or ISSUERS[i].issuer, ...).
func validateIssuer(is Issuer, prefix string, names map[string]string) error {
	var errs []error
	name := func(k string) string { return prefix + names[k] }
	if is.Issuer == "" {
		errs = append(errs, fmt.Errorf("%w: %s is empty: set it to the issuer's iss value, e.g. https://cognito-idp.<region>.amazonaws.com/<poolId>", ErrConfig, name("issuer")))
	} else if err := CheckURL(name("issuer"), is.Issuer); err != nil {
		errs = append(errs, err)
	}
	if is.JWKSURI == "" {
		base := strings.TrimSuffix(is.Issuer, "/")
		if base == "" {
			base = "<issuer>"
		}
		errs = append(errs, fmt.Errorf("%w: %s is empty: set it to the issuer's jwks_uri, e.g. %s/.well-known/jwks.json", ErrConfig, name("jwks"), base))
	} else if err := CheckURL(name("jwks"), is.JWKSURI); err != nil {
		errs = append(errs, err)
	}
	if len(is.Audiences) == 0 || slices.Contains(is.Audiences, "") {
		errs = append(errs, fmt.Errorf("%w: %s is empty: set it to the app client id (or the API identifier your IdP puts in aud)", ErrConfig, name("aud")))
	}
	switch is.TokenUse {
	case "", "id", "access":
	default:
		errs = append(errs, fmt.Errorf("%w: %s=%q: want id, access or empty", ErrConfig, name("use"), is.TokenUse))
	}
	if len(is.JWKS) > 0 {
		if _, err := parseKeySet(is.JWKS); err != nil {
			errs = append(errs, fmt.Errorf(`%w: %s is not a usable JWKS document ({"keys":[...]}): %v; fix it or unset it (the keys are then fetched from %s)`, ErrConfig, name("seed"), err, name("jwks")))
		}
	}
	return errors.Join(errs...)
}

// issuers lists the trusted issuers, one or several.
func (c Config) issuers() []Issuer {
	if len(c.Issuers) > 0 {
		return c.Issuers
	}
	return []Issuer{{Issuer: c.Issuer, JWKSURI: c.JWKSURI, Audiences: c.Audiences, TokenUse: c.TokenUse, JWKS: c.JWKS}}
}

// CheckURL enforces the transport rule for the issuer and JWKS: https, or
// http only on a loopback host (local runs and tests), never plain http elsewhere.
func CheckURL(name, raw string) error {
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" {
		return fmt.Errorf("%w: %s=%q is not an absolute URL", ErrConfig, name, raw)
	}
	switch u.Scheme {
	case "https":
		return nil
	case "http":
		if isLoopback(u.Hostname()) {
			return nil
		}
	}
	return fmt.Errorf("%w: %s=%q must use https (http is allowed only for 127.0.0.1, ::1 or localhost)", ErrConfig, name, raw)
}

func isLoopback(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}
