package apigw

import (
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"

	"github.com/secure-api-go/apigw-jwt/local/template"
)

// httpCORS is an HTTP API's CorsConfiguration, applied as API Gateway
// documents it (https://docs.aws.amazon.com/apigateway/latest/developerguide/http-api-cors.html):
// the gateway answers preflight OPTIONS requests itself (a request with an
// Origin and an Access-Control-Request-Method header), whatever the routes;
// it adds the configured CORS headers to responses to a request with an
// allowed Origin; and it ignores CORS headers the integration returns.
type httpCORS struct {
	origins, methods, headers, expose []string
	maxAge                            int
	credentials                       bool
}

func newHTTPCORS(t *template.Template, v any) (*httpCORS, error) {
	if v == nil {
		return nil, nil
	}
	resolved, err := t.Resolve(v)
	if err != nil {
		return nil, fmt.Errorf("apigw: HTTP API CorsConfiguration: %w", err)
	}
	m, ok := resolved.(map[string]any)
	if !ok {
		return nil, fmt.Errorf("apigw: HTTP API CorsConfiguration %v is not an object", v)
	}
	strs := func(k string) []string {
		var out []string
		for _, e := range list(m[k]) {
			out = append(out, fmt.Sprint(e))
		}
		return out
	}
	c := &httpCORS{origins: strs("AllowOrigins"), methods: strs("AllowMethods"), headers: strs("AllowHeaders"), expose: strs("ExposeHeaders")}
	if n, ok := m["MaxAge"].(float64); ok {
		c.maxAge = int(n)
	}
	c.credentials, _ = m["AllowCredentials"].(bool)
	for _, o := range c.origins {
		if strings.Contains(o, "*") && o != "*" {
			return nil, fmt.Errorf("apigw: HTTP API CorsConfiguration origin %q: wildcard subdomains are not emulated", o)
		}
	}
	return c, nil
}

// allowOrigin is the Access-Control-Allow-Origin for origin, "" when it is not allowed.
func (c *httpCORS) allowOrigin(origin string) string {
	switch {
	case origin == "":
		return ""
	case slices.Contains(c.origins, origin):
		return origin
	case slices.Contains(c.origins, "*"):
		return "*"
	}
	return ""
}

// vary adds Vary: Origin when the answer depends on the request's Origin
// (an origin is echoed, or left out for an origin not listed), so a shared
// cache does not hand one origin's CORS headers to another.
func (c *httpCORS) vary(h http.Header) {
	if !slices.ContainsFunc(c.origins, func(o string) bool { return o != "*" }) {
		return
	}
	for _, v := range h.Values("Vary") {
		for _, f := range strings.Split(v, ",") {
			if f = strings.TrimSpace(f); f == "*" || strings.EqualFold(f, "Origin") {
				return
			}
		}
	}
	h.Add("Vary", "Origin")
}

// preflight answers a CORS preflight (true), with the configured headers
// when the origin is allowed and without any when it is not, so the browser
// blocks the call.
func (c *httpCORS) preflight(w http.ResponseWriter, r *http.Request) bool {
	if r.Method != http.MethodOptions || r.Header.Get("Origin") == "" || r.Header.Get("Access-Control-Request-Method") == "" {
		return false
	}
	c.vary(w.Header())
	if allow := c.allowOrigin(r.Header.Get("Origin")); allow != "" {
		h := w.Header()
		h.Set("Access-Control-Allow-Origin", allow)
		if len(c.methods) > 0 {
			h.Set("Access-Control-Allow-Methods", strings.Join(c.methods, ","))
		}
		if len(c.headers) > 0 {
			h.Set("Access-Control-Allow-Headers", strings.Join(c.headers, ","))
		}
		if c.maxAge > 0 {
			h.Set("Access-Control-Max-Age", strconv.Itoa(c.maxAge))
		}
		if c.credentials {
			h.Set("Access-Control-Allow-Credentials", "true")
		}
	}
	w.WriteHeader(http.StatusNoContent)
	return true
}

// corsWriter drops the integration's CORS headers and adds the configured
// ones for an allowed origin, on every response of the API.
type corsWriter struct {
	http.ResponseWriter
	cors        *httpCORS
	origin      string
	wroteHeader bool
}

func (c *corsWriter) WriteHeader(code int) {
	if !c.wroteHeader {
		c.wroteHeader = true
		h := c.Header()
		for k := range h {
			if strings.HasPrefix(strings.ToLower(k), "access-control-") {
				h.Del(k)
			}
		}
		c.cors.vary(h)
		if allow := c.cors.allowOrigin(c.origin); allow != "" {
			h.Set("Access-Control-Allow-Origin", allow)
			if len(c.cors.expose) > 0 {
				h.Set("Access-Control-Expose-Headers", strings.Join(c.cors.expose, ","))
			}
			if c.cors.credentials {
				h.Set("Access-Control-Allow-Credentials", "true")
			}
		}
	}
	c.ResponseWriter.WriteHeader(code)
}

func (c *corsWriter) Write(b []byte) (int, error) {
	if !c.wroteHeader {
		c.WriteHeader(http.StatusOK)
	}
	return c.ResponseWriter.Write(b)
}
