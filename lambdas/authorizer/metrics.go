package main

import (
	"sync"

	"github.com/secure-api-go/apigw-jwt/internal/metrics"
	"github.com/secure-api-go/apigw-jwt/lambdas/authz"
	"github.com/secure-api-go/apigw-jwt/lambdas/internal/emf"
	"github.com/secure-api-go/apigw-jwt/lambdas/jwtverify"
)

// statsSource is what a verifier offers for metrics (*jwtverify.Verifier does).
type statsSource interface{ Stats() jwtverify.Stats }

// recorder writes one EMF line per invocation: the decision (Allow, Deny or
// Fault, the last two with their reason) and the verifier's cache hits and
// JWKS fetches since the previous line, so CloudWatch's Sum is the true total.
type recorder struct {
	em *emf.Emitter
	h  *authz.Handler

	mu   sync.Mutex
	last jwtverify.Stats
}

func newRecorder(em *emf.Emitter, h *authz.Handler) *recorder { return &recorder{em: em, h: h} }

// record is an authz.Handler's OnDecision.
func (r *recorder) record(d authz.Decision) {
	ev := r.em.Event()
	for _, o := range []authz.Outcome{authz.Allow, authz.Deny, authz.Fault} {
		name := metricName[o]
		switch {
		case o == d.Outcome && o != authz.Allow:
			ev.Dimension(metrics.Reason, d.Reason).Put(name, 1, emf.Count, []string{}, []string{metrics.Reason})
		case o == d.Outcome:
			ev.Put(name, 1, emf.Count)
		default:
			ev.Put(name, 0, emf.Count)
		}
	}
	if src, ok := r.h.Verifier.(statsSource); ok {
		s := src.Stats()
		r.mu.Lock()
		hits, fetches := s.CacheHits-r.last.CacheHits, s.JWKSFetches-r.last.JWKSFetches
		r.last = s
		r.mu.Unlock()
		ev.Put(metrics.CacheHits, float64(hits), emf.Count).Put(metrics.JWKSFetches, float64(fetches), emf.Count)
	}
	if err := ev.Flush(); err != nil && r.h.Log != nil {
		r.h.Log.Error("metrics", "error", err.Error())
	}
}

// metricName maps an outcome to its metric.
var metricName = map[authz.Outcome]string{authz.Allow: metrics.Allow, authz.Deny: metrics.Deny, authz.Fault: metrics.Fault}
