package apigw

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"regexp"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/secure-api-go/apigw-jwt/internal/iampolicy"
	"github.com/secure-api-go/apigw-jwt/local/lambdahost"
	"github.com/secure-api-go/apigw-jwt/local/template"
)

// MaxAuthorizerResponse is the largest Lambda authorizer response the
// emulator takes: 8 KB. AWS documents "AWS Lambda authorizer result size:
// 8 KB" in the WebSocket API quotas
// (https://docs.aws.amazon.com/apigateway/latest/developerguide/apigateway-execution-service-websocket-limits-table.html);
// the REST quotas name none, and a re:Post answer reports larger REST
// results working. The emulator applies the documented figure (the stricter
// reading): a larger result - a token with many scopes copied into the
// context - fails the request with 500, as an invalid authorizer response does.
const MaxAuthorizerResponse = 8 << 10

// isRequestTooLarge: the invoke was refused for Lambda's 6 MB payload quota.
func isRequestTooLarge(err error) bool { return errors.Is(err, lambdahost.ErrRequestTooLarge) }

// RESTAPI is the REST API (proxy integrations, TOKEN authorizers, mocks).
type RESTAPI struct {
	opts    Options
	apiID   string
	stage   string
	methods map[string]*restMethod // "GET /pets/{petId}"

	mu    sync.Mutex
	cache map[string]cachedPolicy // by authorizer id + token

	responses map[string]gatewayResponse // by ResponseType
}

type restMethod struct {
	verb, resource string
	auth           *tokenAuthorizer
	jwt            *restJWTAuthorizer // native JWT authorizer (restjwt.go), with scopes
	scopes         []string
	function       string // AWS_PROXY
	mock           *mockIntegration
	validateBody   bool
	validateParams bool
	requiredParams []string
	models         map[string]map[string]any // content type -> schema
}

type tokenAuthorizer struct {
	id       string
	header   string
	regex    *regexp.Regexp
	ttl      time.Duration
	function string
}

type cachedPolicy struct {
	principal string
	doc       iampolicy.Document
	context   map[string]any
	until     time.Time
}

// NewRESTAPI reads resources, methods, authorizers, validators, models and the stage from t.
func NewRESTAPI(t *template.Template, opts Options) (*RESTAPI, error) {
	apis := t.OfType("AWS::ApiGateway::RestApi")
	if len(apis) != 1 {
		return nil, fmt.Errorf("apigw: want one REST API in the template, found %d", len(apis))
	}
	api := &RESTAPI{opts: opts, apiID: apis[0], methods: map[string]*restMethod{}, cache: map[string]cachedPolicy{}}
	stages := t.OfType("AWS::ApiGateway::Stage")
	if len(stages) != 1 {
		return nil, fmt.Errorf("apigw: want one REST stage, found %d", len(stages))
	}
	api.stage = fmt.Sprint(t.Resources[stages[0]].Properties["StageName"])
	var err error
	if api.responses, err = gatewayResponses(t); err != nil {
		return nil, err
	}

	paths := map[string]string{}
	var pathOf func(v any) (string, error)
	pathOf = func(v any) (string, error) {
		if m, ok := v.(map[string]any); ok {
			if ga, ok := m["Fn::GetAtt"].([]any); ok && len(ga) == 2 && ga[1] == "RootResourceId" {
				return "/", nil
			}
		}
		id := refID(v)
		if p, ok := paths[id]; ok {
			return p, nil
		}
		res, ok := t.Resources[id]
		if !ok || res.Type != "AWS::ApiGateway::Resource" {
			return "", fmt.Errorf("apigw: unknown resource %v", v)
		}
		parent, err := pathOf(res.Properties["ParentId"])
		if err != nil {
			return "", err
		}
		p := strings.TrimSuffix(parent, "/") + "/" + fmt.Sprint(res.Properties["PathPart"])
		paths[id] = p
		return p, nil
	}

	authorizers := map[string]*tokenAuthorizer{}
	jwtAuthorizers := map[string]*restJWTAuthorizer{}
	for _, id := range t.OfType("AWS::ApiGateway::Authorizer") {
		p := t.Resources[id].Properties
		if p["Type"] == "JWT" {
			if jwtAuthorizers[id], err = newRESTJWTAuthorizer(t, id, p, opts); err != nil {
				return nil, err
			}
			continue
		}
		if p["Type"] != "TOKEN" {
			return nil, fmt.Errorf("apigw: authorizer %s: only TOKEN and JWT authorizers are emulated", id)
		}
		a := &tokenAuthorizer{id: id, ttl: 300 * time.Second}
		a.header = strings.ToLower(strings.TrimPrefix(fmt.Sprint(p["IdentitySource"]), "method.request.header."))
		if re, ok := p["IdentityValidationExpression"].(string); ok && re != "" {
			compiled, err := regexp.Compile(re)
			if err != nil {
				return nil, fmt.Errorf("apigw: authorizer %s: validation regex %q: %v", id, re, err)
			}
			a.regex = compiled
		}
		if ttl, ok := p["AuthorizerResultTtlInSeconds"].(float64); ok {
			a.ttl = time.Duration(ttl) * time.Second
		}
		fn, err := t.FunctionOf(p["AuthorizerUri"])
		if err != nil {
			return nil, err
		}
		a.function = fn
		authorizers[id] = a
	}
	models := map[string]map[string]any{}
	for _, id := range t.OfType("AWS::ApiGateway::Model") {
		schema, _ := t.Resources[id].Properties["Schema"].(map[string]any)
		models[id] = schema
	}

	for _, id := range t.OfType("AWS::ApiGateway::Method") {
		p := t.Resources[id].Properties
		path, err := pathOf(p["ResourceId"])
		if err != nil {
			return nil, err
		}
		m := &restMethod{verb: fmt.Sprint(p["HttpMethod"]), resource: path, models: map[string]map[string]any{}}
		switch p["AuthorizationType"] {
		case "CUSTOM":
			if m.auth = authorizers[refID(p["AuthorizerId"])]; m.auth == nil {
				return nil, fmt.Errorf("apigw: method %s: authorizer not found", id)
			}
		case "JWT":
			if m.jwt = jwtAuthorizers[refID(p["AuthorizerId"])]; m.jwt == nil {
				return nil, fmt.Errorf("apigw: method %s: JWT authorizer not found", id)
			}
			scopes, err := t.Resolve(p["AuthorizationScopes"])
			if err != nil {
				return nil, err
			}
			for _, s := range list(scopes) {
				m.scopes = append(m.scopes, fmt.Sprint(s))
			}
		case "NONE", nil:
		default:
			// Fail closed: a method behind an authorizer we cannot run is not served open.
			return nil, fmt.Errorf("apigw: method %s: AuthorizationType %v not emulated", id, p["AuthorizationType"])
		}
		integ, _ := p["Integration"].(map[string]any)
		switch integ["Type"] {
		case "AWS_PROXY":
			if m.function, err = t.FunctionOf(integ["Uri"]); err != nil {
				return nil, err
			}
		case "MOCK":
			if m.mock, err = newMock(integ); err != nil {
				return nil, fmt.Errorf("apigw: method %s: %w", id, err)
			}
		default:
			return nil, fmt.Errorf("apigw: method %s: integration %v not emulated", id, integ["Type"])
		}
		if vid := refID(p["RequestValidatorId"]); vid != "" {
			vp := t.Resources[vid].Properties
			m.validateBody = vp["ValidateRequestBody"] == true
			m.validateParams = vp["ValidateRequestParameters"] == true
		}
		if rm, ok := p["RequestModels"].(map[string]any); ok {
			for ct, ref := range rm {
				m.models[ct] = models[refID(ref)]
			}
		}
		if rp, ok := p["RequestParameters"].(map[string]any); ok {
			for k, req := range rp {
				if req == true {
					m.requiredParams = append(m.requiredParams, k)
				}
			}
			sort.Strings(m.requiredParams)
		}
		api.methods[m.verb+" "+m.resource] = m
	}
	return api, nil
}

// Stage is the stage name; the API is served under /<stage>.
func (a *RESTAPI) Stage() string { return a.stage }

func (a *RESTAPI) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	start := a.opts.now()
	rec := &statusRecorder{ResponseWriter: w}
	a.serve(rec, r)
	a.opts.logf("rest %s %s -> %d (%s)", r.Method, r.URL.Path, rec.status, time.Since(start).Round(time.Millisecond))
}

func (a *RESTAPI) serve(w http.ResponseWriter, r *http.Request) {
	path, ok := strings.CutPrefix(r.URL.Path, "/"+a.stage)
	if !ok || (path != "" && !strings.HasPrefix(path, "/")) {
		a.gatewayError(w, r, nil, errMissingToken)
		return
	}
	if path == "" {
		path = "/"
	}
	body, tooLarge := readPayload(r)
	if tooLarge {
		a.gatewayError(w, r, nil, errRequestTooLarge)
		return
	}
	routed, ok := routePath(path)
	if !ok {
		a.gatewayError(w, r, nil, errMissingToken)
		return
	}
	m, params := a.match(r.Method, routed)
	if m == nil {
		a.gatewayError(w, r, nil, errMissingToken)
		return
	}
	// The methodArn names the path the router matched, so every spelling
	// that reaches a resource is authorized exactly as that resource.
	methodARN := fmt.Sprintf("arn:aws:execute-api:us-east-1:000000000000:%s/%s/%s/%s", a.apiID, a.stage, r.Method, strings.TrimPrefix(routed, "/"))

	var authContext map[string]any
	if m.jwt != nil {
		var denied *gwError
		if authContext, denied = a.authorizeJWT(r, m.jwt, m.scopes); denied != nil {
			a.gatewayError(w, r, params, *denied)
			return
		}
	}
	if m.auth != nil {
		var denied *gwError
		if authContext, denied = a.authorize(r, m.auth, methodARN); denied != nil {
			a.gatewayError(w, r, params, *denied)
			return
		}
	}
	if msg := m.checkParams(r, params); msg != "" {
		a.opts.logf("rest validation: %s", msg)
		a.gatewayError(w, r, params, gwError{typ: "BAD_REQUEST_PARAMETERS", status: http.StatusBadRequest, message: "Missing required request parameters: [" + msg + "]"})
		return
	}
	if msg := m.checkBody(r, body); msg != "" {
		a.opts.logf("rest validation: %s", msg)
		a.gatewayError(w, r, params, gwError{typ: "BAD_REQUEST_BODY", status: http.StatusBadRequest, message: "Invalid request body", validation: "[" + msg + "]"})
		return
	}
	if m.mock != nil {
		if m.mock.unsupportedMedia(r) {
			a.gatewayError(w, r, params, errUnsupportedMedia)
			return
		}
		m.mock.serve(w, r, params)
		return
	}
	out, err := a.opts.Invoker.Invoke(r.Context(), m.function, a.event(r, m, path, params, body, authContext))
	if err != nil {
		a.opts.logf("rest integration %s: %v", m.function, err)
		if isRequestTooLarge(err) {
			a.gatewayError(w, r, params, errRequestTooLarge)
			return
		}
		a.gatewayError(w, r, params, errIntegration)
		return
	}
	if !writeProxyResponse(w, out, false) {
		a.opts.logf("rest integration %s: malformed Lambda proxy response", m.function)
		a.gatewayError(w, r, params, errIntegration)
	}
}

// routePath is the path the router matches for a request path, which
// net/http has already percent-decoded (so /pets%2F arrives as /pets/:
// API Gateway, too, decodes the path before it matches resources). One
// trailing slash is dropped, as API Gateway routes /pets/ to /pets. A path
// with an empty segment (//pets, /pets//) matches no resource: no resource
// has an empty path part, and AWS documents no merging of slashes, so the
// emulator refuses it (403 Missing Authentication Token) rather than guess.
// Resource paths are case-sensitive: /PETS is not /pets.
func routePath(path string) (string, bool) {
	if path == "/" {
		return path, true
	}
	path = strings.TrimSuffix(path, "/")
	if path == "" || !strings.HasPrefix(path, "/") {
		return "", false
	}
	for _, seg := range strings.Split(path[1:], "/") {
		if seg == "" {
			return "", false
		}
	}
	return path, true
}

func (a *RESTAPI) match(verb, path string) (*restMethod, map[string]string) {
	keys := make([]string, 0, len(a.methods))
	for k := range a.methods {
		keys = append(keys, k)
	}
	sort.Strings(keys) // literal segments sort before "{" so they win
	for _, k := range keys {
		m := a.methods[k]
		if m.verb != verb && m.verb != "ANY" {
			continue
		}
		if params, ok := matchPath(m.resource, path); ok {
			return m, params
		}
	}
	return nil, nil
}

// authorize runs the TOKEN authorizer flow: the authorizer context, or the
// gateway's answer.
func (a *RESTAPI) authorize(r *http.Request, auth *tokenAuthorizer, methodARN string) (map[string]any, *gwError) {
	token := r.Header.Get(auth.header)
	if token == "" {
		return nil, &errUnauthorized
	}
	if auth.regex != nil && !auth.regex.MatchString(token) {
		a.opts.logf("rest authorizer: token fails the validation regex; authorizer not called")
		return nil, &errUnauthorized
	}
	key := auth.id + "\x00" + token
	now := a.opts.now()
	a.mu.Lock()
	cached, hit := a.cache[key]
	a.mu.Unlock()
	if !hit || !now.Before(cached.until) {
		ev, _ := json.Marshal(map[string]string{"type": "TOKEN", "authorizationToken": token, "methodArn": methodARN})
		out, err := a.opts.Invoker.Invoke(r.Context(), auth.function, ev)
		if err != nil {
			if errorMessageOf(out) == "Unauthorized" {
				return nil, &errUnauthorized
			}
			a.opts.logf("rest authorizer error: %v", err)
			return nil, &errAuthorizerFailure
		}
		if len(out) > MaxAuthorizerResponse {
			a.opts.logf("rest authorizer response is %d bytes, over API Gateway's %d", len(out), MaxAuthorizerResponse)
			return nil, &errAuthorizerConfig
		}
		var resp struct {
			PrincipalID    string             `json:"principalId"`
			PolicyDocument iampolicy.Document `json:"policyDocument"`
			Context        map[string]any     `json:"context"`
		}
		if err := json.Unmarshal(out, &resp); err != nil || resp.PrincipalID == "" {
			a.opts.logf("rest authorizer returned an invalid response: %s", out)
			return nil, &errAuthorizerConfig
		}
		cached = cachedPolicy{principal: resp.PrincipalID, doc: resp.PolicyDocument, context: resp.Context, until: now.Add(auth.ttl)}
		if auth.ttl > 0 {
			a.mu.Lock()
			a.cache[key] = cached
			a.mu.Unlock()
		}
	}
	switch iampolicy.Evaluate(cached.doc, "execute-api:Invoke", methodARN) {
	case iampolicy.ExplicitDeny:
		denied := accessDenied(true)
		return nil, &denied
	case iampolicy.ImplicitDeny:
		denied := accessDenied(false)
		return nil, &denied
	}
	ctx := map[string]any{"principalId": cached.principal}
	for k, v := range cached.context {
		ctx[k] = v
	}
	return ctx, nil
}

func errorMessageOf(payload []byte) string {
	var e struct {
		ErrorMessage string `json:"errorMessage"`
	}
	json.Unmarshal(payload, &e)
	return e.ErrorMessage
}

// checkParams applies the method's request validator to required
// parameters; it names the missing ones, comma-separated, as API Gateway does.
func (m *restMethod) checkParams(r *http.Request, params map[string]string) string {
	if !m.validateParams {
		return ""
	}
	var missing []string
	for _, p := range m.requiredParams {
		name := p[strings.LastIndex(p, ".")+1:]
		switch {
		case strings.HasPrefix(p, "method.request.path.") && params[name] == "",
			strings.HasPrefix(p, "method.request.querystring.") && !r.URL.Query().Has(name),
			strings.HasPrefix(p, "method.request.header.") && r.Header.Get(name) == "":
			missing = append(missing, name)
		}
	}
	return strings.Join(missing, ", ")
}

// checkBody applies the method's body model, for the request's content type.
func (m *restMethod) checkBody(r *http.Request, body []byte) string {
	if !m.validateBody || len(m.models) == 0 {
		return ""
	}
	ct := strings.TrimSpace(strings.Split(r.Header.Get("Content-Type"), ";")[0])
	if ct == "" {
		ct = "application/json" // API Gateway's default content type
	}
	schema, ok := m.models[ct]
	if !ok || schema == nil {
		return ""
	}
	v, err := parseJSON(body)
	if err != nil {
		return "body is not JSON"
	}
	if err := validateSchema(schema, v, "body"); err != nil {
		return err.Error()
	}
	return ""
}

func (a *RESTAPI) event(r *http.Request, m *restMethod, path string, params map[string]string, body []byte, authorizer map[string]any) []byte {
	headers, multi := map[string]string{}, map[string][]string{}
	for k, v := range r.Header {
		headers[k] = v[len(v)-1]
		multi[k] = v
	}
	var query map[string]string
	var multiQuery map[string][]string
	if q := r.URL.Query(); len(q) > 0 {
		query, multiQuery = map[string]string{}, map[string][]string{}
		for k, v := range q {
			query[k] = v[len(v)-1]
			multiQuery[k] = v
		}
	}
	now := a.opts.now()
	ev := map[string]any{
		"resource": m.resource, "path": path, "httpMethod": r.Method,
		"headers": headers, "multiValueHeaders": multi,
		"queryStringParameters": query, "multiValueQueryStringParameters": multiQuery,
		"pathParameters": nilIfEmpty(params), "stageVariables": nil, "isBase64Encoded": false,
		"requestContext": map[string]any{
			"resourcePath": m.resource, "httpMethod": r.Method, "path": "/" + a.stage + path,
			"accountId": "000000000000", "apiId": a.apiID, "stage": a.stage, "protocol": r.Proto,
			"requestId": requestID(), "requestTimeEpoch": now.UnixMilli(),
			"requestTime": now.UTC().Format("02/Jan/2006:15:04:05 -0700"),
			"identity":    map[string]any{"sourceIp": sourceIP(r), "userAgent": r.UserAgent()},
			"authorizer":  authorizer,
		},
	}
	if len(body) > 0 {
		ev["body"] = string(body)
	} else {
		ev["body"] = nil
	}
	b, _ := json.Marshal(ev)
	return b
}

func nilIfEmpty(m map[string]string) any {
	if len(m) == 0 {
		return nil
	}
	return m
}
