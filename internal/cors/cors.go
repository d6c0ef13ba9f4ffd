// Package cors is the one place for the REST PetStore's CORS rule: which
// origins get the CORS headers and which headers they are. The restapi
// construct writes them into the template (the preflight, the gateway
// responses, the PetStore's environment) and the PetStore Lambda answers with
// them, so the local emulator can read all of it from the template.
//
// With a Lambda proxy integration API Gateway adds no CORS headers to the
// function's responses: the backend must return them.
// https://docs.aws.amazon.com/apigateway/latest/developerguide/how-to-cors.html
package cors

import "strings"

// EnvOrigins is the PetStore Lambda's variable holding the allowed origins,
// comma-separated; empty or unset: CORS stays closed.
const EnvOrigins = "CORS_ORIGINS"

// Any is the origin that allows every origin.
const Any = "*"

// Header names.
const (
	AllowOrigin   = "Access-Control-Allow-Origin"
	ExposeHeaders = "Access-Control-Expose-Headers"
	Vary          = "Vary"
)

// AllowMethods and AllowHeaders are what the preflight allows: the PetStore's
// methods, and the request headers it reads.
var (
	AllowMethods = []string{"GET", "POST"}
	AllowHeaders = []string{"Authorization", "Content-Type", "Idempotency-Key"}
)

// Exposed are the response headers a browser script may read besides the
// CORS-safelisted ones (Content-Type, ...): where a created pet is, the next
// page, whether a POST was a replay, and when to retry.
var Exposed = []string{"Location", "Link", "Idempotent-Replayed", "Retry-After"}

// Policy is a list of allowed origins. The zero value allows none.
type Policy struct{ origins []string }

// New returns the policy for origins (exact matches; "*" allows any).
func New(origins []string) Policy {
	var out []string
	for _, o := range origins {
		if o = strings.TrimSuffix(strings.TrimSpace(o), "/"); o != "" {
			out = append(out, o)
		}
	}
	return Policy{origins: out}
}

// Parse reads EnvOrigins' comma-separated value.
func Parse(env string) Policy { return New(strings.Split(env, ",")) }

// Join is the EnvOrigins value for origins.
func Join(origins []string) string { return strings.Join(origins, ",") }

// Enabled reports whether any origin is allowed.
func (p Policy) Enabled() bool { return len(p.origins) > 0 }

func (p Policy) wildcard() bool {
	for _, o := range p.origins {
		if o == Any {
			return true
		}
	}
	return false
}

// Headers returns the CORS headers of a response to a request carrying
// origin (its Origin header, "" when absent). An allowed origin gets
// Access-Control-Allow-Origin with that origin and the exposed headers; an
// origin not in the list gets none. Vary: Origin is on every response of a
// list without "*", so a cache never serves one origin's answer to another.
// No Access-Control-Allow-Credentials: the API reads a bearer token from the
// Authorization header, never a cookie.
func (p Policy) Headers(origin string) map[string]string {
	if !p.Enabled() {
		return nil
	}
	h := map[string]string{}
	if p.wildcard() {
		h[AllowOrigin] = Any
		h[ExposeHeaders] = strings.Join(Exposed, ",")
		return h
	}
	h[Vary] = "Origin"
	for _, o := range p.origins {
		if origin != "" && o == origin {
			h[AllowOrigin] = origin
			h[ExposeHeaders] = strings.Join(Exposed, ",")
		}
	}
	return h
}

// Static is the one Access-Control-Allow-Origin value a response that cannot
// see the request's Origin may carry (API Gateway's gateway responses map
// static values, or request values copied unchecked): "*" or the single
// allowed origin. With several origins there is none, ok is false: copying
// the request's Origin would allow every origin.
func (p Policy) Static() (value string, ok bool) {
	if p.wildcard() {
		return Any, true
	}
	if len(p.origins) == 1 {
		return p.origins[0], true
	}
	return "", false
}
