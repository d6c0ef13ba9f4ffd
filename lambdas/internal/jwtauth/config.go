package jwtauth

import (
	"fmt"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// Config says which tokens to trust. Zero values mean the defaults below.
type Config struct {
	// Issuer must equal the token's iss exactly. Required.
	Issuer string
	// JWKSURI is where the issuer publishes its keys: https, or http on a loopback host. Required.
	JWKSURI string
	// Audiences accepted in aud, or in client_id for access tokens without aud. Required.
	Audiences []string
	// TokenUse, when set to "id" or "access", requires Cognito's token_use claim to match. Default: any.
	TokenUse string
	// Algorithms allowed, among RS256/384/512 and PS256/384/512. Default: RS256.
	Algorithms []string
	// Leeway for exp, nbf and iat. Default: 60 s. Negative means none.
	Leeway time.Duration
	// HTTPTimeout bounds one JWKS request. Default: 3 s.
	HTTPTimeout time.Duration
	// RefreshMinInterval is the least time between JWKS refreshes caused by
	// unknown kids, so a flood of made-up kids cannot hammer the IdP. Default: 1 min.
	RefreshMinInterval time.Duration
	// RefreshInterval is how often the JWKS is refreshed in the background. Default: 1 h.
	RefreshInterval time.Duration
	// CacheSize bounds the cache of verified tokens; negative disables it. Default: 1024.
	CacheSize int
	// HTTPClient for JWKS requests. Default: a client with HTTPTimeout and a 1 MiB body limit.
	HTTPClient *http.Client
	// Now is the clock. Default: time.Now.
	Now func() time.Time
}

// MaxTokenBytes bounds what is parsed at all; API Gateway's own header limit is 10 KiB.
const MaxTokenBytes = 16 << 10

var allowedAlgs = map[string]bool{"RS256": true, "RS384": true, "RS512": true, "PS256": true, "PS384": true, "PS512": true}

// ConfigFromEnv reads the configuration the stack passes to the authorizer:
// ISSUER, JWKS_URI, AUDIENCE (comma-separated), and optionally TOKEN_USE,
// ALGORITHMS, LEEWAY_SECONDS, JWKS_TIMEOUT_MS, JWKS_REFRESH_MIN_INTERVAL_SECONDS,
// JWKS_REFRESH_INTERVAL_SECONDS, TOKEN_CACHE_SIZE.
func ConfigFromEnv(getenv func(string) string) (Config, error) {
	c := Config{
		Issuer:    strings.TrimSpace(getenv("ISSUER")),
		JWKSURI:   strings.TrimSpace(getenv("JWKS_URI")),
		Audiences: splitList(getenv("AUDIENCE")),
		TokenUse:  strings.TrimSpace(getenv("TOKEN_USE")),
	}
	if a := getenv("ALGORITHMS"); a != "" {
		c.Algorithms = splitList(a)
	}
	var err error
	if c.Leeway, err = envSeconds(getenv, "LEEWAY_SECONDS", 0, 600); err != nil {
		return c, err
	}
	if v := getenv("LEEWAY_SECONDS"); strings.TrimSpace(v) == "0" {
		c.Leeway = -1 // explicit zero: no leeway
	}
	ms, err := envInt(getenv, "JWKS_TIMEOUT_MS", 1, 30000)
	if err != nil {
		return c, err
	}
	c.HTTPTimeout = time.Duration(ms) * time.Millisecond
	if c.RefreshMinInterval, err = envSeconds(getenv, "JWKS_REFRESH_MIN_INTERVAL_SECONDS", 1, 86400); err != nil {
		return c, err
	}
	if c.RefreshInterval, err = envSeconds(getenv, "JWKS_REFRESH_INTERVAL_SECONDS", 60, 7*86400); err != nil {
		return c, err
	}
	size, err := envInt(getenv, "TOKEN_CACHE_SIZE", 0, 1<<20)
	if err != nil {
		return c, err
	}
	switch {
	case getenv("TOKEN_CACHE_SIZE") == "":
	case size == 0:
		c.CacheSize = -1
	default:
		c.CacheSize = size
	}
	return c, c.validate()
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
	return c
}

func (c Config) validate() error {
	if c.Issuer == "" {
		return fmt.Errorf("%w: ISSUER is empty: set it to the issuer's iss value, e.g. https://cognito-idp.<region>.amazonaws.com/<poolId>", ErrConfig)
	}
	if err := CheckURL("ISSUER", c.Issuer); err != nil {
		return err
	}
	if c.JWKSURI == "" {
		return fmt.Errorf("%w: JWKS_URI is empty: set it to the issuer's jwks_uri, e.g. %s/.well-known/jwks.json", ErrConfig, strings.TrimSuffix(c.Issuer, "/"))
	}
	if err := CheckURL("JWKS_URI", c.JWKSURI); err != nil {
		return err
	}
	if len(c.Audiences) == 0 {
		return fmt.Errorf("%w: AUDIENCE is empty: set it to the app client id (or the API identifier your IdP puts in aud)", ErrConfig)
	}
	switch c.TokenUse {
	case "", "id", "access":
	default:
		return fmt.Errorf("%w: TOKEN_USE=%q: want id, access or empty", ErrConfig, c.TokenUse)
	}
	for _, a := range c.Algorithms {
		if !allowedAlgs[a] {
			return fmt.Errorf("%w: ALGORITHMS holds %q: allowed are RS256, RS384, RS512, PS256, PS384, PS512", ErrConfig, a)
		}
	}
	return nil
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
