package jwtverify

import (
	"sync"
	"time"
)

// tokenCache remembers verified tokens by the SHA-256 of the whole token, so
// a repeated token skips the RSA verification. An entry lives until the
// token's exp (plus leeway) and only for the key-set generation it was
// verified under. The size is bounded: when full, expired entries go first,
// then everything.
type tokenCache struct {
	max int
	mu  sync.RWMutex
	m   map[[32]byte]cacheEntry
}

type cacheEntry struct {
	claims *Claims
	until  time.Time
	gen    uint64
}

func newTokenCache(max int) *tokenCache {
	if max < 0 {
		max = 0
	}
	return &tokenCache{max: max, m: make(map[[32]byte]cacheEntry)}
}

func (c *tokenCache) get(key [32]byte, now time.Time, gen uint64) (*Claims, bool) {
	if c.max == 0 {
		return nil, false
	}
	c.mu.RLock()
	e, ok := c.m[key]
	c.mu.RUnlock()
	if !ok || e.gen != gen || !now.Before(e.until) {
		return nil, false
	}
	return e.claims, true
}

func (c *tokenCache) put(key [32]byte, claims *Claims, until, now time.Time, gen uint64) {
	if c.max == 0 {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.m) >= c.max {
		for k, e := range c.m {
			if e.gen != gen || !now.Before(e.until) {
				delete(c.m, k)
			}
		}
		if len(c.m) >= c.max {
			clear(c.m)
		}
	}
	c.m[key] = cacheEntry{claims: claims, until: until, gen: gen}
}

func (c *tokenCache) len() int {
	c.mu.RLock()
	defer c.mu.RUnlock()
	return len(c.m)
}
