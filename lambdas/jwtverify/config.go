package jwtverify

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"
)

// Config says which tokens to trust. Zero values mean the defaults given.
type Config struct {
	// Issuers are the trusted issuers; the token's iss selects one by exact
	// match, and only that issuer's keys, audiences and rules apply. Required.
	Issuers []Issuer
	// Leeway for exp, nbf and iat. Default: 60 s. Negative means none.
	Leeway time.Duration
	// HTTPTimeout bounds one JWKS or discovery request (also with an
	// HTTPClient whose Timeout is zero). Default: 3 s. Must not be negative.
	HTTPTimeout time.Duration
	// RefreshMinInterval is the least time between JWKS refreshes caused by
	// unknown kids, so a flood of made-up kids cannot hammer the IdP; it also
	// caps the retry backoff while the JWKS is unavailable. Default: 1 min.
	// Must not be negative.
	RefreshMinInterval time.Duration
	// RefreshInterval is how often a healthy JWKS is refreshed. Default: 1 h.
	// Must not be negative.
	RefreshInterval time.Duration
	// CacheSize bounds the cache of verified tokens; negative disables it. Default: 1024.
	CacheSize int
	// HTTPClient for JWKS and discovery requests. Default: a client with
	// HTTPTimeout, a 1 MiB body limit and redirects held to the https rule.
	// A client given here is used through a copy that keeps the same rules:
	// its Transport (default http.DefaultTransport) under the 1 MiB limit, at
	// most 3 redirects, each held to the https rule before its own
	// CheckRedirect runs, and HTTPTimeout when its Timeout is zero.
	HTTPClient *http.Client
	// Now is the clock. Default: time.Now.
	Now func() time.Time
	// Log receives key-set events (refused keys, failed fetches). Default: discarded.
	Log *slog.Logger
	// Check, when set, runs on every token that passed every other check
	// (also on tokens served from the cache); an error refuses the token
	// with ErrCheck. Default: none.
	Check func(ctx context.Context, c *Claims) error
}

// Issuer is one trusted issuer.
type Issuer struct {
	// Issuer must equal the token's iss exactly: https, or http on a loopback host. Required.
	Issuer string
	// JWKSURI is where the issuer publishes its keys (https, or http on a
	// loopback host). Default: the jwks_uri of the issuer's OIDC discovery
	// document, <Issuer>/.well-known/openid-configuration.
	JWKSURI string
	// Audiences accepted in aud, or in client_id for access tokens without
	// aud (Cognito's). Required.
	Audiences []string
	// TokenUse, when "id" or "access", requires Cognito's token_use claim to
	// match. Default: any (a token_use other than id or access is always refused).
	TokenUse string
	// Algorithms this issuer's tokens may use: RS256, RS384, RS512, PS256,
	// PS384, PS512, ES256, ES384. Never none or HMAC. Default: RS256.
	Algorithms []string
	// GroupsClaim names the claim read into Claims.Groups: an array of
	// strings, or one string. Default: cognito:groups.
	GroupsClaim string
	// JWKS is an optional JWKS document used as the initial key set: its kids
	// verify with no request (for about RefreshMinInterval, then it is
	// refreshed). Default: none (the first token fetches the keys).
	JWKS []byte
}

// MaxTokenBytes bounds what is parsed at all; API Gateway's own header limit is 10 KiB.
const MaxTokenBytes = 16 << 10

// DefaultGroupsClaim is where Cognito puts a user's groups.
const DefaultGroupsClaim = "cognito:groups"

// algorithms lists every algorithm an issuer may allow.
var algorithms = []string{"RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384"}

// withDefaults fills zero values.
func (c Config) withDefaults() Config {
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
	c.Issuers = slices.Clone(c.Issuers)
	for i := range c.Issuers {
		if len(c.Issuers[i].Algorithms) == 0 {
			c.Issuers[i].Algorithms = []string{"RS256"}
		}
		if c.Issuers[i].GroupsClaim == "" {
			c.Issuers[i].GroupsClaim = DefaultGroupsClaim
		}
	}
	return c
}

// validate reports every problem at once, each a *ConfigError.
func (c Config) validate() error {
	var errs []error
	if len(c.Issuers) == 0 {
		errs = append(errs, &ConfigError{Issuer: -1, Field: "Issuers", Detail: " is empty: list at least one trusted issuer"})
	}
	// A negative duration would switch a protection off: no timeout, no
	// limit on unknown-kid refetches, a key set never trusted for long.
	// (A negative Leeway or CacheSize only means none: stricter, or slower.)
	for _, d := range []struct {
		field string
		v     time.Duration
		def   string
	}{
		{"HTTPTimeout", c.HTTPTimeout, "3s"},
		{"RefreshMinInterval", c.RefreshMinInterval, "1m"},
		{"RefreshInterval", c.RefreshInterval, "1h"},
	} {
		if d.v < 0 {
			errs = append(errs, &ConfigError{Issuer: -1, Field: d.field, Detail: fmt.Sprintf("=%s is negative: set a positive duration, or 0 for the default (%s)", d.v, d.def)})
		}
	}
	seen := map[string]bool{}
	for i, is := range c.Issuers {
		bad := func(field, detail string) { errs = append(errs, &ConfigError{Issuer: i, Field: field, Detail: detail}) }
		if is.Issuer == "" {
			bad("Issuer", " is empty: set it to the issuer's iss value, e.g. https://cognito-idp.<region>.amazonaws.com/<poolId>")
		} else if d := urlProblem(is.Issuer, true); d != "" {
			bad("Issuer", d)
		} else if seen[is.Issuer] {
			bad("Issuer", fmt.Sprintf(" %q is listed twice: list each issuer once", is.Issuer))
		}
		seen[is.Issuer] = true
		if is.JWKSURI != "" {
			if d := urlProblem(is.JWKSURI, true); d != "" {
				bad("JWKSURI", d)
			}
		}
		if len(is.Audiences) == 0 || slices.Contains(is.Audiences, "") {
			bad("Audiences", " is empty: set it to the app client id (or the API identifier your IdP puts in aud)")
		}
		switch is.TokenUse {
		case "", "id", "access":
		default:
			bad("TokenUse", fmt.Sprintf("=%q: want id, access or empty", is.TokenUse))
		}
		for _, a := range is.Algorithms {
			if !slices.Contains(algorithms, a) {
				bad("Algorithms", fmt.Sprintf(" holds %q: allowed are %s (never none or HMAC)", a, strings.Join(algorithms, ", ")))
			}
		}
		if len(is.JWKS) > 0 {
			if _, err := parseKeySet(is.JWKS); err != nil {
				bad("JWKS", fmt.Sprintf(` is not a usable JWKS document ({"keys":[...]}): %v; fix it or leave it out (the keys are then fetched)`, err))
			}
		}
	}
	return errors.Join(errs...)
}

// CheckURL enforces the transport rule for configured issuer and JWKS
// URLs: https, or http only on a loopback host (local runs and tests), never
// plain http elsewhere. name is what the error calls the URL.
func CheckURL(name, raw string) error {
	if d := urlProblem(raw, true); d != "" {
		return fmt.Errorf("%w: %s%s", ErrConfig, name, d)
	}
	return nil
}

// urlProblem is what follows a URL setting's name when the URL breaks the
// transport rule, or "". loopbackHTTP allows plain http on a loopback host:
// true for a configured URL; for a URL the network supplied (a discovered
// jwks_uri, a redirect) only when the configured URL is itself loopback, so
// an https issuer's document or redirect cannot move a request to plain
// http on the machine (another local service, a sidecar).
func urlProblem(raw string, loopbackHTTP bool) string {
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" {
		return fmt.Sprintf("=%q is not an absolute URL", raw)
	}
	switch u.Scheme {
	case "https":
		return ""
	case "http":
		if !isLoopback(u.Hostname()) {
			break
		}
		if loopbackHTTP {
			return ""
		}
		return fmt.Sprintf("=%q must use https: http on a loopback host is allowed only when the configured issuer or JWKS URI is loopback too", raw)
	}
	return fmt.Sprintf("=%q must use https (http is allowed only for 127.0.0.1, ::1 or localhost)", raw)
}

// urlIsLoopback reports whether a configured URL names a loopback host.
func urlIsLoopback(raw string) bool {
	u, err := url.Parse(raw)
	return err == nil && isLoopback(u.Hostname())
}

func isLoopback(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}
