package jwtverify

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net/http"
	"slices"
	"sync"
	"sync/atomic"
	"time"
	"unsafe"

	"github.com/MicahParks/jwkset"
	"github.com/MicahParks/keyfunc/v3"
	"github.com/golang-jwt/jwt/v5"

	"github.com/secure-api-go/apigw-jwt/lambdas/internal/clip"
)

// Verifier checks tokens. It is safe for concurrent use; keys and verified
// tokens are cached across calls (across Lambda invocations when it lives in
// a package variable or a handler built once).
type Verifier struct {
	cfg     Config
	parser  *jwt.Parser
	algs    []string // every issuer's algorithms together
	issuers map[string]*issuer
	cache   *tokenCache

	gen       atomic.Uint64 // bumps when any issuer's key set changes
	cacheHits atomic.Uint64
	fetches   atomic.Uint64
}

// issuer is one trusted issuer: its keys, audiences, token use and
// algorithms apply to its tokens alone.
type issuer struct {
	Issuer
	keys *keySource
	kf   keyfunc.Keyfunc
}

// New validates cfg and returns a Verifier. It makes no request: seed key
// sets (Issuer.JWKS) are loaded now, the others on first use. A bad cfg
// gives an error wrapping ErrConfig that lists every problem.
func New(cfg Config) (*Verifier, error) {
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	cfg = cfg.withDefaults()
	cfg.HTTPClient = guardClient(cfg.HTTPClient, cfg.HTTPTimeout)
	v := &Verifier{cfg: cfg, issuers: map[string]*issuer{}, cache: newTokenCache(cfg.CacheSize)}
	for _, is := range cfg.Issuers {
		for _, a := range is.Algorithms {
			if !slices.Contains(v.algs, a) {
				v.algs = append(v.algs, a)
			}
		}
	}
	// No WithIssuer: the token's iss selects the issuer by exact match (keyFor).
	v.parser = jwt.NewParser(
		jwt.WithValidMethods(v.algs),
		jwt.WithLeeway(cfg.Leeway),
		jwt.WithExpirationRequired(),
		jwt.WithIssuedAt(),
		jwt.WithTimeFunc(cfg.Now),
		jwt.WithStrictDecoding(), // checkSyntax has refused what it would; kept as a second line
	)
	for _, is := range cfg.Issuers {
		src := newKeySource(is.Issuer, is.JWKSURI, cfg, &v.gen, &v.fetches)
		if len(is.JWKS) > 0 {
			if err := src.seed(is.JWKS); err != nil {
				return nil, &ConfigError{Issuer: slices.IndexFunc(cfg.Issuers, func(o Issuer) bool { return o.Issuer == is.Issuer }), Field: "JWKS", Detail: ": " + err.Error()}
			}
		}
		kf, err := keyfunc.New(keyfunc.Options{
			Ctx:          context.Background(),
			Storage:      src,
			UseWhitelist: []jwkset.USE{jwkset.UseSig, ""},
		})
		if err != nil {
			return nil, fmt.Errorf("%w: keyfunc for %s: %v", ErrConfig, is.Issuer, err)
		}
		v.issuers[is.Issuer] = &issuer{Issuer: is, keys: src, kf: kf}
	}
	return v, nil
}

// Verify checks a raw JWT (without "Bearer ") and returns its claims, or an
// error wrapping one of the sentinels (ErrKeySource for a fault, any other
// for a token to refuse). The returned Claims may be shared with other
// callers: treat them as read-only.
func (v *Verifier) Verify(ctx context.Context, token string) (*Claims, error) {
	if len(token) > MaxTokenBytes {
		return nil, fmt.Errorf("%w: %d bytes, limit %d", ErrTooLarge, len(token), MaxTokenBytes)
	}
	now := v.cfg.Now()
	// The cache key hashes the token in place: no copy of a token per call.
	// checkSyntax gives every RS or PS token one spelling, so one key; an ES
	// token has two (ECDSA's (r, s) and (r, n-s)), both valid, each cached
	// on its own, which is harmless.
	key := sha256.Sum256(unsafe.Slice(unsafe.StringData(token), len(token)))
	if c, ok := v.cache.get(key, now, v.gen.Load()); ok {
		v.cacheHits.Add(1)
		return v.check(ctx, c)
	}

	if err := checkSyntax(token); err != nil {
		return nil, err
	}
	tc := &tokenClaims{}
	var is *issuer
	var gen uint64
	var genStable bool
	tok, err := v.parser.ParseWithClaims(token, tc, v.keyFor(ctx, &is, &gen, &genStable))
	if err != nil {
		return nil, v.classify(tok, err)
	}
	claims := tc.public()
	if err := is.checkAudience(claims, tc.audPresent); err != nil {
		return nil, err
	}
	// Cognito's token_use is id or access; anything else (a refresh token's
	// claims, a made-up value) is refused even when no particular use is required.
	if claims.TokenUse != "" && claims.TokenUse != "id" && claims.TokenUse != "access" {
		return nil, fmt.Errorf("%w: got %q, want id or access", ErrTokenUse, clip.String(claims.TokenUse))
	}
	if is.TokenUse != "" && claims.TokenUse != is.TokenUse {
		return nil, fmt.Errorf("%w: got %q, want %q", ErrTokenUse, claims.TokenUse, is.TokenUse)
	}
	if claims.Subject == "" {
		return nil, fmt.Errorf("%w: sub is missing", ErrClaims)
	}
	if claims.Groups, err = groupsOf(claims, is.GroupsClaim); err != nil {
		return nil, err
	}
	if genStable {
		// An entry lives until the token expires, but not past the key set's
		// next refresh: a cached token must not outlive the removal of its key.
		until := claims.ExpiresAt.Add(v.cfg.Leeway)
		if due := is.keys.refreshAt(); due.Before(until) {
			until = due
		}
		v.cache.put(key, claims, until, now, gen)
	}
	return v.check(ctx, claims)
}

// check runs the custom check, on every call: its answer may change
// while the token is cached.
func (v *Verifier) check(ctx context.Context, c *Claims) (*Claims, error) {
	if v.cfg.Check == nil {
		return c, nil
	}
	if err := v.cfg.Check(ctx, c); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrCheck, err)
	}
	return c, nil
}

// checkAudience accepts aud (string or array) holding a configured audience;
// a token without aud (Cognito access tokens) must carry an accepted client_id.
// An aud that is present but null or [] is refused, not read as "no aud":
// it says the token is for no one, and must not let client_id stand in.
// It records in c.Accepted the audiences this issuer vouches for: the aud
// entries it is configured with (another issuer's audience in aud counts for
// nothing), or the client_id.
func (is *issuer) checkAudience(c *Claims, audPresent bool) error {
	c.Accepted = nil
	if audPresent && len(c.Audience) == 0 {
		return fmt.Errorf("%w: aud is null or empty: want one of the accepted audiences, or no aud claim at all", ErrAudience)
	}
	if len(c.Audience) > 0 {
		for _, a := range c.Audience {
			if slices.Contains(is.Audiences, a) && !slices.Contains(c.Accepted, a) {
				c.Accepted = append(c.Accepted, a)
			}
		}
		if len(c.Accepted) > 0 {
			return nil
		}
		return fmt.Errorf("%w: aud %s", ErrAudience, clip.String(fmt.Sprintf("%q", c.Audience)))
	}
	if c.ClientID != "" && slices.Contains(is.Audiences, c.ClientID) {
		c.Accepted = []string{c.ClientID}
		return nil
	}
	return fmt.Errorf("%w: no accepted aud or client_id", ErrAudience)
}

// ours are the sentinels keyFor and tokenClaims return; golang-jwt wraps them.
var ours = []error{ErrKeySource, ErrNoKeyID, ErrUnknownKey, ErrWeakKey, ErrAlgorithm, ErrCrit, ErrTokenType, ErrHeader, ErrIssuer, ErrClaimType, ErrTimeRange, ErrScope, ErrClaims}

func (v *Verifier) classify(tok *jwt.Token, err error) error {
	for _, o := range ours {
		if errors.Is(err, o) {
			return err
		}
	}
	if errors.Is(err, jwt.ErrTokenSignatureInvalid) || errors.Is(err, jwt.ErrTokenUnverifiable) {
		if tok != nil && tok.Header != nil {
			if alg, _ := tok.Header["alg"].(string); !slices.Contains(v.algs, alg) {
				return fmt.Errorf("%w: %q", ErrAlgorithm, clip.String(alg))
			}
		}
	}
	switch {
	case errors.Is(err, jwt.ErrTokenMalformed):
		return fmt.Errorf("%w: %v", ErrMalformed, err)
	case errors.Is(err, jwt.ErrTokenSignatureInvalid):
		return fmt.Errorf("%w: %v", ErrSignature, err)
	case errors.Is(err, jwt.ErrTokenExpired):
		return fmt.Errorf("%w: %v", ErrExpired, err)
	case errors.Is(err, jwt.ErrTokenNotValidYet), errors.Is(err, jwt.ErrTokenUsedBeforeIssued):
		return fmt.Errorf("%w: %v", ErrNotYetValid, err)
	case errors.Is(err, jwt.ErrTokenRequiredClaimMissing), errors.Is(err, jwt.ErrTokenInvalidClaims):
		return fmt.Errorf("%w: %v", ErrClaims, err)
	case errors.Is(err, jwt.ErrTokenUnverifiable):
		return fmt.Errorf("%w: %v", ErrUnknownKey, err)
	}
	return fmt.Errorf("%w: %v", ErrInvalidToken, err)
}

// keyFor refuses a header checkHeader refuses (a foreign typ, crit, b64),
// then selects the issuer by the unverified iss (exact match; an unknown
// one costs no request), holds the token's alg to that issuer's list, and
// picks that issuer's key by kid only: jwk, jku and x5u headers are never
// used. The key must be of the alg's type (and curve). It reports the
// key-set generation the key came from; stable is false when the set
// changed during the lookup, and then the result is not cached.
func (v *Verifier) keyFor(ctx context.Context, sel **issuer, gen *uint64, stable *bool) jwt.Keyfunc {
	return func(t *jwt.Token) (any, error) {
		if err := checkHeader(t.Header); err != nil {
			return nil, err
		}
		iss := t.Claims.(*tokenClaims).iss
		if iss == "" {
			return nil, fmt.Errorf("%w: iss is missing", ErrClaims)
		}
		is := v.issuers[iss]
		if is == nil {
			return nil, fmt.Errorf("%w: %q", ErrIssuer, clip.String(iss))
		}
		*sel = is
		alg := t.Method.Alg()
		if !slices.Contains(is.Algorithms, alg) {
			return nil, fmt.Errorf("%w: %q is not among %s's %q", ErrAlgorithm, clip.String(alg), clip.String(iss), is.Algorithms)
		}
		kid, _ := t.Header["kid"].(string)
		if kid == "" {
			return nil, ErrNoKeyID
		}
		before := v.gen.Load()
		key, err := is.kf.KeyfuncCtx(ctx)(t)
		if err == nil {
			if why := keyMismatch(alg, key); why != "" {
				return nil, fmt.Errorf("%w %q: %s", ErrUnknownKey, clip.String(kid), why)
			}
			*gen = v.gen.Load()
			*stable = *gen == before || before == 0
			if m, ok := strictPSS[alg]; ok {
				t.Method = m // golang-jwt verifies with t.Method after this returns
			}
			return key, nil
		}
		for _, o := range []error{ErrKeySource, ErrWeakKey, ErrUnknownKey} {
			if errors.Is(err, o) {
				return nil, err
			}
		}
		// keyfunc refused the key: its alg or use does not fit the token.
		return nil, fmt.Errorf("%w %q: %v", ErrUnknownKey, clip.String(kid), err)
	}
}

// strictPSS verify PS256/384/512 with the salt length RFC 7518 section 3.5
// requires: the hash's length. golang-jwt's own methods accept any salt
// length (rsa.PSSSaltLengthAuto, kept for old signers): one more way to
// spell a signature, and looser than the standard.
var strictPSS = map[string]jwt.SigningMethod{
	"PS256": exactSalt(jwt.SigningMethodPS256),
	"PS384": exactSalt(jwt.SigningMethodPS384),
	"PS512": exactSalt(jwt.SigningMethodPS512),
}

func exactSalt(m *jwt.SigningMethodRSAPSS) *jwt.SigningMethodRSAPSS {
	return &jwt.SigningMethodRSAPSS{
		SigningMethodRSA: m.SigningMethodRSA,
		Options:          &rsa.PSSOptions{SaltLength: rsa.PSSSaltLengthEqualsHash},
	}
}

// keyMismatch says why key cannot verify alg ("" when it can): RS and PS
// need an RSA key, ES256 a P-256 key and ES384 a P-384 key, whatever the
// JWK claims.
func keyMismatch(alg string, key any) string {
	switch alg[:2] {
	case "RS", "PS":
		if _, ok := key.(*rsa.PublicKey); ok {
			return ""
		}
	case "ES":
		want := map[string]elliptic.Curve{"ES256": elliptic.P256(), "ES384": elliptic.P384()}[alg]
		if k, ok := key.(*ecdsa.PublicKey); ok && want != nil && k.Curve == want {
			return ""
		}
	}
	return fmt.Sprintf("the key (%T) does not fit %s", key, alg)
}

// lazyRoots is the default transport with the CA pool loaded on first use
// (by rootCAs), so a cold start that never reaches an https JWKS pays nothing.
type lazyRoots struct {
	once sync.Once
	rt   http.RoundTripper
}

func (l *lazyRoots) RoundTrip(r *http.Request) (*http.Response, error) {
	l.once.Do(func() {
		t := http.DefaultTransport.(*http.Transport).Clone()
		if pool := rootCAs(); pool != nil {
			t.TLSClientConfig = &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}
		}
		l.rt = t
	})
	return l.rt.RoundTrip(r)
}

// maxRedirects bounds the redirects of one JWKS or discovery request.
const maxRedirects = 3

// guardClient returns the client for JWKS and discovery requests: a copy of
// c (nil: a default one, its CA pool loaded lazily) whose transport caps
// bodies at 1 MiB and whose redirects keep the transport rule before c's
// own CheckRedirect runs, so a caller's client cannot drop either. Plain
// http on loopback is allowed after a redirect only when the request's key
// source allows it (withLoopback: its configured URL is loopback).
func guardClient(c *http.Client, timeout time.Duration) *http.Client {
	var out http.Client
	if c != nil {
		out = *c
	} else {
		out.Transport = &lazyRoots{}
	}
	if out.Timeout == 0 {
		out.Timeout = timeout
	}
	rt := out.Transport
	if rt == nil {
		rt = http.DefaultTransport
	}
	out.Transport = limitedTransport{rt: rt}
	next := out.CheckRedirect
	out.CheckRedirect = func(req *http.Request, via []*http.Request) error {
		if len(via) >= maxRedirects {
			return fmt.Errorf("more than %d redirects", maxRedirects)
		}
		loopbackOK, _ := req.Context().Value(loopbackKey{}).(bool)
		if d := urlProblem(req.URL.String(), loopbackOK); d != "" {
			return fmt.Errorf("%w: redirect%s", ErrConfig, d)
		}
		if next != nil {
			return next(req, via)
		}
		return nil
	}
	return &out
}

// loopbackKey marks, in a request's context, that plain http on a loopback
// host may be followed (guardClient).
type loopbackKey struct{}

// limitedTransport caps JWKS response bodies at 1 MiB.
type limitedTransport struct{ rt http.RoundTripper }

func (t limitedTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	resp, err := t.rt.RoundTrip(r)
	if err != nil {
		return nil, err
	}
	resp.Body = limitedBody{io.LimitReader(resp.Body, 1<<20), resp.Body}
	return resp, nil
}

type limitedBody struct {
	io.Reader
	io.Closer
}
