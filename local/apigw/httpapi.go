// Package apigw emulates API Gateway for the local run: an HTTP API with a
// JWT authorizer and a REST API with a Lambda TOKEN authorizer, built from
// the synthesized template (routes, authorizers, scopes, validation regex,
// cache TTL, validators and models) and calling real Lambda binaries.
package apigw

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/secure-api-go/apigw-jwt/local/template"
)

// Invoker runs a Lambda function by its template logical id.
type Invoker interface {
	Invoke(ctx context.Context, function string, event []byte) ([]byte, error)
}

// Options are shared by both emulators.
type Options struct {
	Invoker Invoker
	// JWKSURI maps an issuer to its JWKS. Default: <issuer>/.well-known/jwks.json, as Cognito publishes it.
	JWKSURI func(issuer string) string
	// Discovery maps an issuer to the URL of its OIDC discovery document, for
	// the REST API's native JWT authorizer (restjwt.go). Default (or ""):
	// <issuer>/.well-known/openid-configuration.
	Discovery func(issuer string) string
	// Now is the clock. Default: time.Now.
	Now func() time.Time
	// Log records one line per request (nil: none).
	Log func(format string, a ...any)
}

func (o *Options) now() time.Time {
	if o.Now != nil {
		return o.Now()
	}
	return time.Now()
}

func (o *Options) logf(format string, a ...any) {
	if o.Log != nil {
		o.Log(format, a...)
	}
}

// HTTPAPI is the HTTP API (payload format 2.0).
type HTTPAPI struct {
	opts   Options
	apiID  string
	routes []httpRoute
}

type httpRoute struct {
	method, path string
	scopes       []string
	auth         *jwtAuthorizer
	function     string
}

// NewHTTPAPI reads the HTTP API's routes, authorizers and integrations from t.
func NewHTTPAPI(t *template.Template, opts Options) (*HTTPAPI, error) {
	apis := t.OfType("AWS::ApiGatewayV2::Api")
	if len(apis) != 1 {
		return nil, fmt.Errorf("apigw: want one HTTP API in the template, found %d", len(apis))
	}
	h := &HTTPAPI{opts: opts, apiID: apis[0]}
	authorizers := map[string]*jwtAuthorizer{}
	for _, id := range t.OfType("AWS::ApiGatewayV2::Authorizer") {
		p := t.Resources[id].Properties
		if p["AuthorizerType"] != "JWT" {
			return nil, fmt.Errorf("apigw: authorizer %s: only JWT authorizers are emulated", id)
		}
		cfg, err := t.Resolve(p["JwtConfiguration"])
		if err != nil {
			return nil, err
		}
		c := cfg.(map[string]any)
		a := &jwtAuthorizer{issuer: fmt.Sprint(c["Issuer"]), header: "authorization"}
		for _, aud := range list(c["Audience"]) {
			a.audiences = append(a.audiences, fmt.Sprint(aud))
		}
		if src := list(p["IdentitySource"]); len(src) == 1 {
			a.header = strings.ToLower(strings.TrimPrefix(fmt.Sprint(src[0]), "$request.header."))
		}
		a.jwksURI = strings.TrimSuffix(a.issuer, "/") + "/.well-known/jwks.json"
		if opts.JWKSURI != nil {
			a.jwksURI = opts.JWKSURI(a.issuer)
		}
		authorizers[id] = a
	}
	for _, id := range t.OfType("AWS::ApiGatewayV2::Route") {
		p := t.Resources[id].Properties
		method, path, ok := strings.Cut(fmt.Sprint(p["RouteKey"]), " ")
		if !ok {
			return nil, fmt.Errorf("apigw: route %s: RouteKey %v not supported", id, p["RouteKey"])
		}
		r := httpRoute{method: method, path: path}
		if p["AuthorizationType"] == "JWT" {
			authID := refID(p["AuthorizerId"])
			if r.auth = authorizers[authID]; r.auth == nil {
				return nil, fmt.Errorf("apigw: route %s: authorizer %q not in the template", id, authID)
			}
		}
		scopes, err := t.Resolve(p["AuthorizationScopes"])
		if err != nil {
			return nil, err
		}
		for _, s := range list(scopes) {
			r.scopes = append(r.scopes, fmt.Sprint(s))
		}
		integID := refOfType(t, p["Target"], "AWS::ApiGatewayV2::Integration")
		if integID == "" {
			return nil, fmt.Errorf("apigw: route %s has no integration", id)
		}
		if r.function, err = t.FunctionOf(t.Resources[integID].Properties["IntegrationUri"]); err != nil {
			return nil, err
		}
		h.routes = append(h.routes, r)
	}
	return h, nil
}

func (h *HTTPAPI) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	start := h.opts.now()
	rec := &statusRecorder{ResponseWriter: w}
	h.serve(rec, r)
	h.opts.logf("http %s %s -> %d (%s)", r.Method, r.URL.Path, rec.status, time.Since(start).Round(time.Millisecond))
}

func (h *HTTPAPI) serve(w http.ResponseWriter, r *http.Request) {
	route, params := h.match(r.Method, r.URL.Path)
	if route == nil {
		writeJSON(w, http.StatusNotFound, map[string]any{"message": "Not Found"})
		return
	}
	var authorizer map[string]any
	if route.auth != nil {
		raw := r.Header.Get(route.auth.header)
		if raw == "" {
			writeJSON(w, http.StatusUnauthorized, map[string]any{"message": "Unauthorized"})
			return
		}
		claims, err := route.auth.verify(r.Context(), raw, h.opts.now())
		if err != nil {
			h.opts.logf("http jwt: %v", err)
			writeJSON(w, http.StatusUnauthorized, map[string]any{"message": "Unauthorized"})
			return
		}
		scopes := tokenScopes(claims)
		if len(route.scopes) > 0 && !slices.ContainsFunc(route.scopes, func(s string) bool { return slices.Contains(scopes, s) }) {
			writeJSON(w, http.StatusForbidden, map[string]any{"message": "Forbidden"})
			return
		}
		authorizer = map[string]any{"jwt": map[string]any{"claims": claimStrings(claims), "scopes": scopes}}
	}
	body, _ := io.ReadAll(io.LimitReader(r.Body, 10<<20))
	event := h.event(r, route, params, body, authorizer)
	out, err := h.opts.Invoker.Invoke(r.Context(), route.function, event)
	if err != nil {
		h.opts.logf("http integration %s: %v", route.function, err)
		writeJSON(w, http.StatusInternalServerError, map[string]any{"message": "Internal Server Error"})
		return
	}
	writeProxyResponse(w, out, true)
}

func (h *HTTPAPI) match(method, path string) (*httpRoute, map[string]string) {
	for i := range h.routes {
		r := &h.routes[i]
		if r.method != method && r.method != "ANY" {
			continue
		}
		if params, ok := matchPath(r.path, path); ok {
			return r, params
		}
	}
	return nil, nil
}

func (h *HTTPAPI) event(r *http.Request, route *httpRoute, params map[string]string, body []byte, authorizer map[string]any) []byte {
	headers := map[string]string{}
	for k, v := range r.Header {
		headers[strings.ToLower(k)] = strings.Join(v, ",")
	}
	query := map[string]string{}
	for k, v := range r.URL.Query() {
		query[k] = strings.Join(v, ",")
	}
	now := h.opts.now()
	ctx := map[string]any{
		"accountId": "000000000000", "apiId": h.apiID, "domainName": r.Host, "domainPrefix": "local",
		"http":      map[string]any{"method": r.Method, "path": r.URL.Path, "protocol": r.Proto, "sourceIp": sourceIP(r), "userAgent": r.UserAgent()},
		"requestId": requestID(), "routeKey": route.method + " " + route.path, "stage": "$default",
		"time": now.UTC().Format("02/Jan/2006:15:04:05 -0700"), "timeEpoch": now.UnixMilli(),
	}
	if authorizer != nil {
		ctx["authorizer"] = authorizer
	}
	ev := map[string]any{
		"version": "2.0", "routeKey": route.method + " " + route.path, "rawPath": r.URL.Path, "rawQueryString": r.URL.RawQuery,
		"headers": headers, "requestContext": ctx, "isBase64Encoded": false,
	}
	if len(query) > 0 {
		ev["queryStringParameters"] = query
	}
	if len(params) > 0 {
		ev["pathParameters"] = params
	}
	if len(body) > 0 {
		ev["body"] = string(body)
	}
	b, _ := json.Marshal(ev)
	return b
}

// matchPath matches "/pets/{petId}" and greedy "{proxy+}" against a path.
func matchPath(pattern, path string) (map[string]string, bool) {
	ps := strings.Split(strings.Trim(pattern, "/"), "/")
	xs := strings.Split(strings.Trim(path, "/"), "/")
	params := map[string]string{}
	for i, p := range ps {
		if strings.HasPrefix(p, "{") && strings.HasSuffix(p, "+}") {
			if i >= len(xs) {
				return nil, false
			}
			params[p[1:len(p)-2]] = strings.Join(xs[i:], "/")
			return params, true
		}
		if i >= len(xs) {
			return nil, false
		}
		if strings.HasPrefix(p, "{") && strings.HasSuffix(p, "}") {
			if xs[i] == "" {
				return nil, false
			}
			params[p[1:len(p)-1]] = xs[i]
			continue
		}
		if p != xs[i] {
			return nil, false
		}
	}
	return params, len(ps) == len(xs)
}

// writeProxyResponse maps a Lambda proxy response. Payload 2.0 also accepts
// a bare value, answered as 200 JSON.
func writeProxyResponse(w http.ResponseWriter, out []byte, v2 bool) {
	var resp struct {
		StatusCode        int                 `json:"statusCode"`
		Headers           map[string]string   `json:"headers"`
		MultiValueHeaders map[string][]string `json:"multiValueHeaders"`
		Body              string              `json:"body"`
		IsBase64Encoded   bool                `json:"isBase64Encoded"`
	}
	if err := json.Unmarshal(out, &resp); err != nil || resp.StatusCode == 0 {
		if v2 && err == nil {
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusOK)
			w.Write(out)
			return
		}
		writeJSON(w, http.StatusBadGateway, map[string]any{"message": "Internal server error"})
		return
	}
	for k, vs := range resp.MultiValueHeaders {
		for _, v := range vs {
			w.Header().Add(k, v)
		}
	}
	for k, v := range resp.Headers {
		w.Header().Set(k, v)
	}
	body := []byte(resp.Body)
	if resp.IsBase64Encoded {
		body, _ = base64.StdEncoding.DecodeString(resp.Body)
	}
	w.WriteHeader(resp.StatusCode)
	w.Write(body)
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	b, _ := json.Marshal(v)
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	w.Write(b)
}

// refID returns the logical id of {"Ref": id}.
func refID(v any) string {
	m, _ := v.(map[string]any)
	s, _ := m["Ref"].(string)
	return s
}

// refOfType finds a Ref to a resource of typ anywhere inside v.
func refOfType(t *template.Template, v any, typ string) string {
	switch x := v.(type) {
	case map[string]any:
		if id, ok := x["Ref"].(string); ok && t.Resources[id].Type == typ {
			return id
		}
		for _, e := range x {
			if id := refOfType(t, e, typ); id != "" {
				return id
			}
		}
	case []any:
		for _, e := range x {
			if id := refOfType(t, e, typ); id != "" {
				return id
			}
		}
	}
	return ""
}

func requestID() string {
	b := make([]byte, 16)
	rand.Read(b)
	return hex.EncodeToString(b)
}

func sourceIP(r *http.Request) string {
	host := r.RemoteAddr
	if i := strings.LastIndex(host, ":"); i > 0 {
		host = host[:i]
	}
	return strings.Trim(host, "[]")
}

type statusRecorder struct {
	http.ResponseWriter
	status int
}

func (s *statusRecorder) WriteHeader(code int) {
	s.status = code
	s.ResponseWriter.WriteHeader(code)
}
