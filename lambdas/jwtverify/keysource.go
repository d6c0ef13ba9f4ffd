package jwtverify

import (
	"cmp"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/big"
	"net/http"
	"slices"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/MicahParks/jwkset"

	"github.com/secure-api-go/apigw-jwt/lambdas/internal/clip"
)

// Key checks applied to every RSA key when a JWKS is loaded (fetched or seeded).
const (
	minRSABits  = 2048
	rsaExponent = 65537
)

// backoffBase is the first retry delay after a failed JWKS fetch; it doubles
// up to the unknown-kid refresh interval.
const backoffBase = time.Second

// keySource is one issuer's key set. keyfunc reads keys from it (it is a
// jwkset.Storage); it fetches the JWKS itself because jwkset's HTTP client
// cannot express what an authorizer needs:
//   - while the JWKS is unavailable, retries back off from 1 s, doubling up to
//     RefreshMinInterval, so the authorizer recovers within seconds of the IdP;
//   - while it is healthy, an unknown kid refetches at most once per
//     RefreshMinInterval (the two limits are independent);
//   - at most one request is in flight: every caller that needs a fetch joins it;
//   - an optional seed (JWKS_JSON) is the initial set, used with no request.
//
// Every rule reads the injectable clock, so tests need not sleep.
type keySource struct {
	*jwkset.MemoryJWKSet // mirrors the current set for jwkset.Storage's other methods

	issuer      string
	uri         string // the configured JWKS URI; "" for OIDC discovery
	loopbackOK  bool   // the configured URI (or the issuer, for discovery) is loopback: plain http may stay on loopback
	client      *http.Client
	now         func() time.Time
	minInterval time.Duration // unknown-kid refetches; also the backoff cap
	refresh     time.Duration // background refresh of a healthy set
	log         *slog.Logger
	gen         *atomic.Uint64 // shared by all issuers: bumps when any set changes
	fetches     *atomic.Uint64 // shared: HTTP requests made

	set        atomic.Pointer[keySet]
	refreshDue atomic.Int64 // unix nanos; a key hit after it refreshes in the background
	// trustUntil (unix nanos) is when the current set stops being usable
	// unless a fetch confirms it: a seed one RefreshMinInterval and a grace
	// after the cold start, a fetched set two RefreshIntervals after its
	// fetch. While the IdP cannot be reached a set is kept that long, then
	// verification fails closed (ErrKeySource) instead of trusting keys the
	// IdP may have revoked meanwhile.
	trustUntil atomic.Int64

	mu         sync.Mutex
	discovered string        // jwks_uri found through discovery; "" until then, and after a failed fetch
	inflight   chan struct{} // non-nil while a request runs; closed when it ends
	healthy    bool          // the last load (fetch or seed) succeeded
	lastErr    error
	backoff    time.Duration
	retryAt    time.Time // while unhealthy, no request before this
	unknownAt  time.Time // last refetch caused by an unknown kid
}

// keySet is one loaded JWKS: usable keys by kid, the kids refused by the
// key checks with the reason, and the kids of keys not meant for verifying
// signatures (use other than sig, key_ops without verify) with the reason.
type keySet struct {
	byKID   map[string]jwkset.JWK
	refused map[string]string
	notSig  map[string]string
	all     []jwkset.JWK
	print   [32]byte
}

func newKeySource(issuer, uri string, cfg Config, gen, fetches *atomic.Uint64) *keySource {
	return &keySource{
		MemoryJWKSet: jwkset.NewMemoryStorage(),
		issuer:       issuer,
		uri:          uri,
		loopbackOK:   urlIsLoopback(cmp.Or(uri, issuer)),
		client:       cfg.HTTPClient,
		now:          cfg.Now,
		minInterval:  cfg.RefreshMinInterval,
		refresh:      cfg.RefreshInterval,
		log:          cfg.Log,
		gen:          gen,
		fetches:      fetches,
		lastErr:      errors.New("JWKS not fetched yet"),
	}
}

// seed installs a JWKS document as the initial set. It costs no request and
// does not use up the unknown-kid allowance.
func (s *keySource) seed(raw []byte) error {
	set, err := parseKeySet(raw)
	if err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.install(set, "seed")
	s.healthy, s.lastErr = true, nil
	s.trustUntil.Store(s.now().Add(2 * s.minInterval).UnixNano())
	// A seed is as old as the deploy: trust it for the first minute only
	// (RefreshMinInterval), then refresh in the background, so a key the IdP
	// revoked after the deploy does not live for a whole RefreshInterval.
	s.refreshDue.Store(s.now().Add(s.minInterval).UnixNano())
	return nil
}

// refreshAt is when the current set is next refreshed (or retried).
func (s *keySource) refreshAt() time.Time { return time.Unix(0, s.refreshDue.Load()) }

// KeyRead finds a key by kid, fetching the JWKS when the kid is unknown and
// the limits allow it. Errors wrap ErrWeakKey, ErrUnknownKey or ErrKeySource.
func (s *keySource) KeyRead(ctx context.Context, kid string) (jwkset.JWK, error) {
	if until := s.trustUntil.Load(); until != 0 && s.now().UnixNano() > until {
		// Not confirmed by the IdP for too long (an idle instance, or an
		// outage): fetch now and wait, within the backoff; fail closed if
		// the set cannot be confirmed.
		if done := s.staleFetch(); done != nil {
			select {
			case <-done:
			case <-ctx.Done():
			}
		}
		if until := s.trustUntil.Load(); s.now().UnixNano() > until {
			s.mu.Lock()
			lastErr := s.lastErr
			s.mu.Unlock()
			return jwkset.JWK{}, fmt.Errorf("%w: %s: key set not confirmed since %s: %v", ErrKeySource, s.where(),
				time.Unix(0, until).UTC().Format(time.RFC3339), lastErr)
		}
	}
	if k, ok, err := s.lookup(kid); ok {
		if err == nil && s.now().UnixNano() >= s.refreshDue.Load() {
			s.refreshInBackground()
		}
		return k, err
	}
	if done := s.admit(); done != nil {
		select {
		case <-done:
		case <-ctx.Done():
			return jwkset.JWK{}, fmt.Errorf("%w: waiting for %s: %v", ErrKeySource, s.where(), ctx.Err())
		}
		if k, ok, err := s.lookup(kid); ok {
			return k, err
		}
	}
	s.mu.Lock()
	healthy, lastErr := s.healthy, s.lastErr
	s.mu.Unlock()
	if !healthy {
		return jwkset.JWK{}, fmt.Errorf("%w: %s: %v", ErrKeySource, s.where(), lastErr)
	}
	return jwkset.JWK{}, fmt.Errorf("%w %q", ErrUnknownKey, clip.String(kid))
}

func (s *keySource) lookup(kid string) (jwkset.JWK, bool, error) {
	set := s.set.Load()
	if set == nil {
		return jwkset.JWK{}, false, nil
	}
	if k, ok := set.byKID[kid]; ok {
		return k, true, nil
	}
	if why, ok := set.refused[kid]; ok {
		return jwkset.JWK{}, true, fmt.Errorf("%w: kid %q: %s", ErrWeakKey, clip.String(kid), why)
	}
	if why, ok := set.notSig[kid]; ok {
		// Found, so no refetch: the IdP publishes the key, just not for this.
		return jwkset.JWK{}, true, fmt.Errorf("%w %q: %s", ErrUnknownKey, clip.String(kid), why)
	}
	return jwkset.JWK{}, false, nil
}

// admit decides whether a missing kid may cause a request, and returns the
// channel of the request to wait for (a running one is joined), or nil.
func (s *keySource) admit() chan struct{} {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.inflight != nil {
		return s.inflight
	}
	now := s.now()
	if !s.healthy {
		if now.Before(s.retryAt) {
			return nil
		}
	} else {
		if !s.unknownAt.IsZero() && now.Sub(s.unknownAt) < s.minInterval {
			return nil
		}
		s.unknownAt = now
	}
	return s.startLocked()
}

// staleFetch starts (or joins) a fetch for a set past its trust, keeping to
// the backoff while the IdP is failing; nil when no request may run now.
func (s *keySource) staleFetch() chan struct{} {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.inflight != nil {
		return s.inflight
	}
	if !s.healthy && s.now().Before(s.retryAt) {
		return nil
	}
	return s.startLocked()
}

// refreshInBackground refetches a set that is due, without making the
// caller wait; while unhealthy it keeps to the backoff.
func (s *keySource) refreshInBackground() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.inflight == nil && !s.now().Before(s.retryAt) {
		s.startLocked()
	}
}

func (s *keySource) startLocked() chan struct{} {
	done := make(chan struct{})
	s.inflight = done
	s.fetches.Add(1)
	go func() {
		set, err := s.fetch()
		s.mu.Lock()
		now := s.now()
		if err != nil {
			s.backoff = min(max(2*s.backoff, backoffBase), max(s.minInterval, backoffBase))
			s.healthy, s.lastErr, s.retryAt = false, err, now.Add(s.backoff)
			s.refreshDue.Store(s.retryAt.UnixNano())
			s.discovered = "" // discover again: the document may have moved the keys
			s.log.Warn("jwks fetch failed", "issuer", s.issuer, "jwksUri", s.uri, "error", clip.String(err.Error()), "retryIn", s.backoff.String())
		} else {
			s.install(set, "fetch")
			s.healthy, s.lastErr, s.backoff, s.retryAt = true, nil, 0, time.Time{}
			s.trustUntil.Store(now.Add(2 * s.refresh).UnixNano())
			s.refreshDue.Store(now.Add(s.refresh).UnixNano())
		}
		s.inflight = nil
		s.mu.Unlock()
		close(done)
	}()
	return done
}

// where names the key set in errors: its JWKS URI, or the issuer's
// discovery when it has none.
func (s *keySource) where() string {
	if s.uri != "" {
		return s.uri
	}
	return "JWKS of " + s.issuer + " (OIDC discovery)"
}

// fetch loads the JWKS, finding its URI through OIDC discovery first when
// none is configured (and again after a failed fetch). Only the fetching
// goroutine (at most one: inflight) runs it.
func (s *keySource) fetch() (*keySet, error) {
	uri := s.uri
	if uri == "" {
		s.mu.Lock()
		uri = s.discovered
		s.mu.Unlock()
		if uri == "" {
			var err error
			if uri, err = s.discover(); err != nil {
				return nil, err
			}
			s.mu.Lock()
			s.discovered = uri
			s.mu.Unlock()
		}
	}
	body, err := s.get(uri)
	if err != nil {
		return nil, fmt.Errorf("%s: %v", uri, err)
	}
	return parseKeySet(body)
}

// discover reads jwks_uri from the issuer's OpenID Provider Configuration
// (OpenID Connect Discovery 1.0 section 4): the document's issuer must equal
// the configured one exactly (section 4.3), and jwks_uri must keep the https
// rule. Any failure is a fault: the keys stay unknown, nothing is accepted.
func (s *keySource) discover() (string, error) {
	doc := strings.TrimSuffix(s.issuer, "/") + "/.well-known/openid-configuration"
	body, err := s.get(doc)
	if err != nil {
		return "", fmt.Errorf("OIDC discovery %s: %v", doc, err)
	}
	var meta struct {
		Issuer  *string `json:"issuer"`
		JWKSURI *string `json:"jwks_uri"`
	}
	if err := json.Unmarshal(body, &meta); err != nil {
		return "", fmt.Errorf("OIDC discovery %s: not a JSON object: %v", doc, err)
	}
	switch {
	case meta.Issuer == nil || *meta.Issuer != s.issuer:
		got := "none"
		if meta.Issuer != nil {
			got = fmt.Sprintf("%q", clip.String(*meta.Issuer))
		}
		return "", fmt.Errorf("OIDC discovery %s: issuer is %s, want %q exactly", doc, got, s.issuer)
	case meta.JWKSURI == nil || *meta.JWKSURI == "":
		return "", fmt.Errorf("OIDC discovery %s: no jwks_uri", doc)
	}
	if d := urlProblem(*meta.JWKSURI, s.loopbackOK); d != "" {
		return "", fmt.Errorf("OIDC discovery %s: jwks_uri%s", doc, d)
	}
	return *meta.JWKSURI, nil
}

// get fetches a JSON document: status 200 or an error.
func (s *keySource) get(uri string) ([]byte, error) {
	ctx := context.WithValue(context.Background(), loopbackKey{}, s.loopbackOK)
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, uri, nil)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Accept", "application/json")
	resp, err := s.client.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		io.Copy(io.Discard, resp.Body)
		return nil, fmt.Errorf("HTTP status %d, want 200", resp.StatusCode)
	}
	return io.ReadAll(resp.Body)
}

// install makes set current (s.mu held). The generation changes, and refused
// keys are logged, only when the set differs from the current one: once per
// key set, not per token or per refresh.
func (s *keySource) install(set *keySet, from string) {
	old := s.set.Load()
	// The set is stored before the generation moves: a verification that
	// read the old generation and found a key in the new set is simply not
	// cached; the reverse order would cache an old key under the new generation.
	s.set.Store(set)
	s.MemoryJWKSet.KeyReplaceAll(context.Background(), set.all)
	if old == nil || old.print != set.print {
		s.gen.Add(1)
		if len(set.refused) > 0 {
			kids := make([]string, 0, len(set.refused))
			for kid, why := range set.refused {
				kids = append(kids, clip.String(kid)+": "+why)
			}
			sort.Strings(kids)
			s.log.Warn("jwks keys refused", "issuer", s.issuer, "from", from, "refused", kids)
		}
		if len(set.notSig) > 0 {
			kids := make([]string, 0, len(set.notSig))
			for kid, why := range set.notSig {
				kids = append(kids, clip.String(kid)+": "+why)
			}
			sort.Strings(kids)
			s.log.Info("jwks keys left out: not for verifying signatures", "issuer", s.issuer, "from", from, "keys", kids)
		}
	}
}

// parseKeySet reads a JWKS document. A key that cannot be parsed makes the
// whole set unusable (a fault: the IdP publishes garbage); a key of an
// unsupported type is skipped; a key not meant for verifying signatures is
// left out by kid; an RSA key that is too weak is refused by kid.
func parseKeySet(raw []byte) (*keySet, error) {
	var doc struct {
		Keys *[]json.RawMessage `json:"keys"`
	}
	if err := json.Unmarshal(raw, &doc); err != nil {
		return nil, fmt.Errorf("not a JSON key set: %v", err)
	}
	if doc.Keys == nil {
		return nil, errors.New(`not a JSON key set: no "keys" array`)
	}
	set := &keySet{byKID: map[string]jwkset.JWK{}, refused: map[string]string{}, notSig: map[string]string{}}
	h := sha256.New()
	for i, rawKey := range *doc.Keys {
		h.Write(rawKey)
		var m jwkset.JWKMarshal
		if err := json.Unmarshal(rawKey, &m); err != nil {
			return nil, fmt.Errorf("key %d: %v", i, err)
		}
		if why := notForSignatures(m); why != "" {
			if _, dup := set.notSig[m.KID]; !dup && m.KID != "" {
				set.notSig[m.KID] = why
			}
			continue
		}
		if m.KTY == jwkset.KtyRSA {
			why, err := weakRSA(m)
			if err != nil {
				return nil, fmt.Errorf("key %d (kid %q): %v", i, clip.String(m.KID), err)
			}
			if why != "" {
				if _, dup := set.byKID[m.KID]; !dup {
					set.refused[m.KID] = why
				}
				continue
			}
		}
		jwk, err := jwkset.NewJWKFromMarshal(m, jwkset.JWKMarshalOptions{}, jwkset.JWKValidateOptions{})
		switch {
		case errors.Is(err, jwkset.ErrUnsupportedKey):
			continue
		case err != nil:
			return nil, fmt.Errorf("key %d (kid %q): %v", i, clip.String(m.KID), err)
		}
		set.all = append(set.all, jwk)
		if _, dup := set.byKID[m.KID]; !dup && m.KID != "" {
			if _, refused := set.refused[m.KID]; !refused {
				set.byKID[m.KID] = jwk // the first key with a kid wins, as in jwkset's own lookup
			}
		}
	}
	copy(set.print[:], h.Sum(nil))
	return set, nil
}

// notForSignatures says why a JWK may not verify a token's signature ("" when
// it may): a use other than sig (RFC 7517 section 4.2), or a key_ops that is
// present without verify (section 4.3: ["encrypt","wrapKey"] is an
// encryption key). Such keys are left out of the set; keyfunc's use check
// stays as a second line.
func notForSignatures(m jwkset.JWKMarshal) string {
	if m.USE != "" && m.USE != jwkset.UseSig {
		return fmt.Sprintf("use %q, not sig", clip.String(string(m.USE)))
	}
	if m.KEYOPS != nil && !slices.Contains(m.KEYOPS, jwkset.KeyOpsVerify) {
		return clip.String(fmt.Sprintf("key_ops %q without verify", m.KEYOPS))
	}
	return ""
}

// weakRSA returns why an RSA JWK is refused ("" when it is fine), or an
// error when n or e is not base64url.
func weakRSA(m jwkset.JWKMarshal) (string, error) {
	n, err := base64.RawURLEncoding.DecodeString(m.N)
	if err != nil {
		return "", fmt.Errorf("n is not base64url: %v", err)
	}
	e, err := base64.RawURLEncoding.DecodeString(m.E)
	if err != nil {
		return "", fmt.Errorf("e is not base64url: %v", err)
	}
	if bits := new(big.Int).SetBytes(n).BitLen(); bits < minRSABits {
		return fmt.Sprintf("RSA modulus of %d bits, minimum %d", bits, minRSABits), nil
	}
	if ev := new(big.Int).SetBytes(e); !ev.IsInt64() || ev.Int64() != rsaExponent {
		return fmt.Sprintf("RSA exponent %s, want %d", clip.String(ev.String()), rsaExponent), nil
	}
	return "", nil
}
