// Package jwtauth verifies RS256 (and other RSA) JWTs from any OIDC issuer
// against its JWKS. It fails closed: a token is accepted only when every check
// passes, and a JWKS outage is reported as ErrKeySource, never as success.
package jwtauth

import (
	"context"
	"crypto/sha256"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net/http"
	"slices"
	"sync"
	"unsafe"

	"github.com/MicahParks/jwkset"
	"github.com/MicahParks/keyfunc/v3"
	"github.com/golang-jwt/jwt/v5"
	"golang.org/x/time/rate"
)

// Verifier checks tokens. It is safe for concurrent use; keys and verified
// tokens are cached across Lambda invocations.
type Verifier struct {
	cfg    Config
	parser *jwt.Parser
	store  *keyStore
	cache  *tokenCache

	counters *counters

	mu sync.Mutex
	kf keyfunc.Keyfunc // created on first use, so cold start does no network I/O
}

// New validates cfg and returns a Verifier. It does not contact the JWKS yet.
func New(cfg Config) (*Verifier, error) {
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	cfg = cfg.withDefaults()
	if cfg.HTTPClient == nil {
		cfg.HTTPClient = &http.Client{
			Timeout:   cfg.HTTPTimeout,
			Transport: limitedTransport{rt: &lazyRoots{}},
			CheckRedirect: func(req *http.Request, via []*http.Request) error {
				if len(via) >= 3 {
					return errors.New("too many redirects")
				}
				return CheckURL("JWKS redirect", req.URL.String())
			},
		}
	}
	n := &counters{}
	cfg.HTTPClient = n.countFetches(cfg.HTTPClient)
	parser := jwt.NewParser(
		jwt.WithValidMethods(cfg.Algorithms),
		jwt.WithIssuer(cfg.Issuer),
		jwt.WithLeeway(cfg.Leeway),
		jwt.WithExpirationRequired(),
		jwt.WithIssuedAt(),
		jwt.WithTimeFunc(cfg.Now),
	)
	return &Verifier{cfg: cfg, parser: parser, store: newKeyStore(), cache: newTokenCache(cfg.CacheSize), counters: n}, nil
}

// Verify checks the raw JWT (without "Bearer ") and returns its claims. The
// returned Claims may be shared with other callers: treat them as read-only.
func (v *Verifier) Verify(ctx context.Context, token string) (*Claims, error) {
	if len(token) > MaxTokenBytes {
		return nil, fmt.Errorf("%w: %d bytes, limit %d", ErrTooLarge, len(token), MaxTokenBytes)
	}
	now := v.cfg.Now()
	// The cache key hashes the token in place: no copy of a token per call.
	key := sha256.Sum256(unsafe.Slice(unsafe.StringData(token), len(token)))
	if c, ok := v.cache.get(key, now, v.store.generation()); ok {
		v.counters.cacheHits.Add(1)
		return c, nil
	}

	claims := &Claims{}
	var gen uint64
	var genStable bool
	tok, err := v.parser.ParseWithClaims(token, claims, v.keyFor(ctx, &gen, &genStable))
	if err != nil {
		return nil, v.classify(tok, err)
	}
	if err := v.checkAudience(claims); err != nil {
		return nil, err
	}
	if v.cfg.TokenUse != "" && claims.TokenUse != v.cfg.TokenUse {
		return nil, fmt.Errorf("%w: got %q, want %q", ErrTokenUse, claims.TokenUse, v.cfg.TokenUse)
	}
	if claims.Subject == "" {
		return nil, fmt.Errorf("%w: sub is missing", ErrClaims)
	}
	if genStable {
		v.cache.put(key, claims, claims.ExpiresAt.Add(v.cfg.Leeway), now, gen)
	}
	return claims, nil
}

// checkAudience accepts aud (string or array) holding a configured audience;
// a token without aud (Cognito access tokens) must carry an accepted client_id.
func (v *Verifier) checkAudience(c *Claims) error {
	if len(c.Audience) > 0 {
		for _, a := range c.Audience {
			if slices.Contains(v.cfg.Audiences, a) {
				return nil
			}
		}
		return fmt.Errorf("%w: aud %q", ErrAudience, []string(c.Audience))
	}
	if c.ClientID != "" && slices.Contains(v.cfg.Audiences, c.ClientID) {
		return nil
	}
	return fmt.Errorf("%w: no accepted aud or client_id", ErrAudience)
}

func (v *Verifier) classify(tok *jwt.Token, err error) error {
	switch {
	case errors.Is(err, ErrKeySource), errors.Is(err, ErrNoKeyID), errors.Is(err, ErrUnknownKey):
		return err
	case errors.Is(err, jwt.ErrTokenMalformed):
		return fmt.Errorf("%w: %v", ErrMalformed, err)
	case errors.Is(err, jwt.ErrTokenSignatureInvalid):
		if tok != nil && tok.Header != nil {
			if alg, _ := tok.Header["alg"].(string); !slices.Contains(v.cfg.Algorithms, alg) {
				return fmt.Errorf("%w: %q", ErrAlgorithm, alg)
			}
		}
		return fmt.Errorf("%w: %v", ErrSignature, err)
	case errors.Is(err, jwt.ErrTokenExpired):
		return fmt.Errorf("%w: %v", ErrExpired, err)
	case errors.Is(err, jwt.ErrTokenNotValidYet), errors.Is(err, jwt.ErrTokenUsedBeforeIssued):
		return fmt.Errorf("%w: %v", ErrNotYetValid, err)
	case errors.Is(err, jwt.ErrTokenInvalidIssuer):
		return fmt.Errorf("%w: %v", ErrIssuer, err)
	case errors.Is(err, jwt.ErrTokenRequiredClaimMissing), errors.Is(err, jwt.ErrTokenInvalidClaims):
		return fmt.Errorf("%w: %v", ErrClaims, err)
	case errors.Is(err, jwt.ErrTokenUnverifiable):
		return fmt.Errorf("%w: %v", ErrUnknownKey, err)
	}
	return fmt.Errorf("%w: %v", ErrInvalidToken, err)
}

// keyFor picks the key by kid only: jwk, jku and x5u headers are never used.
// It reports the key-set generation the key came from; stable is false when
// the set changed during the lookup, and then the result is not cached.
func (v *Verifier) keyFor(ctx context.Context, gen *uint64, stable *bool) jwt.Keyfunc {
	return func(t *jwt.Token) (any, error) {
		kid, _ := t.Header["kid"].(string)
		if kid == "" {
			return nil, ErrNoKeyID
		}
		kf := v.keyfunc()
		before := v.store.generation()
		key, err := kf.KeyfuncCtx(ctx)(t)
		if err == nil {
			*gen = v.store.generation()
			*stable = *gen == before || before == 0
			return key, nil
		}
		if ok, lastErr := v.store.health(); !ok {
			return nil, fmt.Errorf("%w: %v", ErrKeySource, lastErr)
		}
		return nil, fmt.Errorf("%w %q", ErrUnknownKey, kid)
	}
}

func (v *Verifier) keyfunc() keyfunc.Keyfunc {
	v.mu.Lock()
	defer v.mu.Unlock()
	if v.kf != nil {
		return v.kf
	}
	ctx := context.Background()
	remote, err := jwkset.NewStorageFromHTTP(v.cfg.JWKSURI, jwkset.HTTPClientStorageOptions{
		Client:                    v.cfg.HTTPClient,
		Ctx:                       ctx,
		HTTPTimeout:               v.cfg.HTTPTimeout,
		NoErrorReturnFirstHTTPReq: true, // an outage surfaces per token as ErrKeySource
		RefreshErrorHandler:       v.store.failed,
		RefreshInterval:           v.cfg.RefreshInterval,
		Storage:                   v.store,
	})
	if err == nil {
		var client jwkset.Storage
		client, err = jwkset.NewHTTPClient(jwkset.HTTPClientOptions{
			HTTPURLs:       map[string]jwkset.Storage{v.cfg.JWKSURI: remote},
			PrioritizeHTTP: true,
			// jwkset uses this deadline for the wait and the refresh request alike;
			// a wait longer than it is refused at once, so nothing queues.
			RateLimitWaitMax:  v.cfg.HTTPTimeout,
			RefreshUnknownKID: rate.NewLimiter(rate.Every(v.cfg.RefreshMinInterval), 1),
		})
		if err == nil {
			v.kf, err = keyfunc.New(keyfunc.Options{
				Ctx:          ctx,
				Storage:      client,
				UseWhitelist: []jwkset.USE{jwkset.UseSig, ""},
			})
		}
	}
	if err != nil {
		// Only a malformed URL gets here, and validate has ruled that out.
		panic(fmt.Sprintf("jwtauth: JWKS client: %v", err))
	}
	return v.kf
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
