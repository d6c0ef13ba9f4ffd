package jwtauth

import (
	"context"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"

	"github.com/MicahParks/jwkset"
)

// keyStore is the JWKS storage behind keyfunc. On top of jwkset's memory
// storage it tracks whether the last fetch worked (so a missing key during an
// outage is a fault, not the caller's fault) and a generation that changes
// when the key set does (so cached verifications die with a removed key).
type keyStore struct {
	*jwkset.MemoryJWKSet
	gen atomic.Uint64

	mu      sync.Mutex
	ok      bool
	lastErr error
	print   [32]byte

	// byKID indexes the current set so a lookup costs the same for 2 keys or 200.
	byKID atomic.Pointer[map[string]jwkset.JWK]
}

// KeyRead finds a key by kid in the index.
func (s *keyStore) KeyRead(_ context.Context, kid string) (jwkset.JWK, error) {
	if m := s.byKID.Load(); m != nil {
		if k, ok := (*m)[kid]; ok {
			return k, nil
		}
	}
	return jwkset.JWK{}, fmt.Errorf("%w: kid %q", jwkset.ErrKeyNotFound, kid)
}

func newKeyStore() *keyStore {
	return &keyStore{MemoryJWKSet: jwkset.NewMemoryStorage(), lastErr: errors.New("JWKS not fetched yet")}
}

// KeyReplaceAll is called by jwkset after every successful fetch.
func (s *keyStore) KeyReplaceAll(ctx context.Context, given []jwkset.JWK) error {
	h := sha256.New()
	index := make(map[string]jwkset.JWK, len(given))
	for _, k := range given {
		if kid := k.Marshal().KID; kid != "" {
			if _, dup := index[kid]; !dup {
				index[kid] = k // the first key with a kid wins, as in jwkset's own lookup
			}
		}
		b, _ := json.Marshal(k.Marshal())
		h.Write(b)
	}
	var print [32]byte
	copy(print[:], h.Sum(nil))

	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.MemoryJWKSet.KeyReplaceAll(ctx, given); err != nil {
		return err
	}
	s.byKID.Store(&index)
	if print != s.print {
		s.print = print
		s.gen.Add(1)
	}
	s.ok, s.lastErr = true, nil
	return nil
}

// failed records a fetch or parse failure; jwkset calls it as RefreshErrorHandler.
func (s *keyStore) failed(_ context.Context, err error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.ok, s.lastErr = false, err
}

func (s *keyStore) health() (bool, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.ok, s.lastErr
}

func (s *keyStore) generation() uint64 { return s.gen.Load() }
