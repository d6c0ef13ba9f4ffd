package authz

import (
	"sync"

	"github.com/secure-api-go/apigw-jwt/internal/metrics"
	"github.com/secure-api-go/apigw-jwt/lambdas/internal/emf"
	"github.com/secure-api-go/apigw-jwt/lambdas/jwtverify"
)

// statsSource is what a Verifier offers for metrics (jwtverify.Verifier does).
type statsSource interface{ Stats() jwtverify.Stats }

// metricsState remembers the verifier's counters at the last line, so each
// line carries the invocation's delta and CloudWatch's Sum is the true total.
type metricsState struct {
	mu   sync.Mutex
	last jwtverify.Stats
}

// record writes the invocation's one EMF line: the decision (Allow, Deny or
// Fault, the last two with their reason) and the verifier's cache hits and
// JWKS fetches since the previous line. Without Metrics it does nothing.
func (h *Handler) record(decision, reason string) {
	if h.Metrics == nil {
		return
	}
	ev := h.Metrics.Event()
	for _, d := range []string{metrics.Allow, metrics.Deny, metrics.Fault} {
		if d == decision && d != metrics.Allow {
			ev.Dimension(metrics.Reason, reason).Put(d, 1, emf.Count, []string{}, []string{metrics.Reason})
		} else if d == decision {
			ev.Put(d, 1, emf.Count)
		} else {
			ev.Put(d, 0, emf.Count)
		}
	}
	if src, ok := h.Verifier.(statsSource); ok {
		s := src.Stats()
		h.metrics.mu.Lock()
		hits, fetches := s.CacheHits-h.metrics.last.CacheHits, s.JWKSFetches-h.metrics.last.JWKSFetches
		h.metrics.last = s
		h.metrics.mu.Unlock()
		ev.Put(metrics.CacheHits, float64(hits), emf.Count).Put(metrics.JWKSFetches, float64(fetches), emf.Count)
	}
	if err := ev.Flush(); err != nil {
		h.Log.Error("metrics", "error", err.Error())
	}
}
