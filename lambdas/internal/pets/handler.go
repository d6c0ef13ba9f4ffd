package pets

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"log/slog"
	"net/url"
	"slices"
	"strconv"
	"strings"

	"github.com/aws/aws-lambda-go/events"

	"github.com/secure-api-go/apigw-jwt/internal/cors"
	"github.com/secure-api-go/apigw-jwt/internal/metrics"
	"github.com/secure-api-go/apigw-jwt/internal/scope"
	"github.com/secure-api-go/apigw-jwt/lambdas/internal/emf"
)

// Handler serves the REST PetStore's /pets resources (proxy integration).
type Handler struct {
	Store Store
	// AdminScope lets its holders see createdBy on every pet. Default: none.
	AdminScope string
	// ResourceServer names the machine clients' scopes: a machine client sees
	// createdBy on the pets it created only while it holds
	// "<ResourceServer>/pets.write". Default: none, so machine callers never see it.
	ResourceServer string
	Log            *slog.Logger
	// Metrics receives PetsCreated, ClientErrors and ServerErrors per request. Default: none.
	Metrics *emf.Emitter
	// CORS is the allowed origins (env cors.EnvOrigins). With a proxy
	// integration API Gateway adds no CORS headers: the function answers an
	// allowed Origin itself. Default: none, no CORS headers.
	// https://docs.aws.amazon.com/apigateway/latest/developerguide/how-to-cors.html
	CORS cors.Policy
}

// Handle routes one REST API proxy event. Business errors are 4xx responses
// with a nil error; 5xx bodies stay generic and the detail goes to the log.
func (h *Handler) Handle(ctx context.Context, req events.APIGatewayProxyRequest) (events.APIGatewayProxyResponse, error) {
	resp := h.route(ctx, req)
	h.record(resp)
	origin, _ := header(req, "Origin")
	for k, v := range h.CORS.Headers(origin) {
		resp.Headers[k] = v
	}
	return resp, nil
}

// record emits one EMF line per request, zeros included, so the metrics have
// data points (and rates a denominator) even when nothing goes wrong.
func (h *Handler) record(resp events.APIGatewayProxyResponse) {
	b := func(ok bool) float64 {
		if ok {
			return 1
		}
		return 0
	}
	created := resp.StatusCode == 201 && resp.Headers["Idempotent-Replayed"] == ""
	err := h.Metrics.Event().
		Put(metrics.PetsCreated, b(created), emf.Count).
		Put(metrics.ClientErrors, b(resp.StatusCode >= 400 && resp.StatusCode < 500), emf.Count).
		Put(metrics.ServerErrors, b(resp.StatusCode >= 500), emf.Count).
		Flush()
	if err != nil {
		h.Log.Error("metrics", "error", err.Error())
	}
}

func (h *Handler) route(ctx context.Context, req events.APIGatewayProxyRequest) events.APIGatewayProxyResponse {
	if req.Resource == "" {
		req = withResource(req)
	}
	switch {
	case req.Resource == "/pets" && req.HTTPMethod == "GET":
		return h.list(ctx, req)
	case req.Resource == "/pets" && req.HTTPMethod == "POST":
		return h.create(ctx, req)
	case req.Resource == "/pets/{petId}" && req.HTTPMethod == "GET":
		return h.get(ctx, req)
	case req.Resource == "/pets" || req.Resource == "/pets/{petId}":
		return message(405, "method not allowed")
	}
	return message(404, "not found")
}

// withResource fills resource and pathParameters from path, for callers that
// send a bare proxy event (API Gateway itself always sets them).
func withResource(req events.APIGatewayProxyRequest) events.APIGatewayProxyRequest {
	parts := strings.Split(strings.Trim(req.Path, "/"), "/")
	switch {
	case len(parts) == 1 && parts[0] == "pets":
		req.Resource = "/pets"
	case len(parts) == 2 && parts[0] == "pets":
		req.Resource = "/pets/{petId}"
		if req.PathParameters["petId"] == "" {
			req.PathParameters = map[string]string{"petId": parts[1]}
		}
	}
	return req
}

type caller struct {
	principal string
	admin     bool
	// machine: a client-credentials token, whose sub is its own client_id;
	// writer: it holds the resource server's write scope.
	machine, writer bool
}

func (h *Handler) caller(req events.APIGatewayProxyRequest) caller {
	a := authorizerContext(req.RequestContext.Authorizer)
	c := caller{}
	c.principal, _ = a["principalId"].(string)
	scopes, _ := a["scope"].(string)
	if h.AdminScope != "" {
		for _, s := range scope.Split(scopes) {
			if s == h.AdminScope {
				c.admin = true
			}
		}
	}
	clientID, _ := a["client_id"].(string)
	tokenUse, _ := a["token_use"].(string)
	c.machine = tokenUse == "access" && clientID != "" && clientID == c.principal
	if h.ResourceServer != "" {
		c.writer = slices.Contains(scope.Split(scopes), scope.Resource(h.ResourceServer, scope.PetsWrite))
	}
	return c
}

// authorizerContext is the caller as our TOKEN authorizer describes it
// (principalId and the claims as flat strings). API Gateway's native JWT
// authorizer (restAuthorizer=jwt) passes the token's claims under "claims"
// instead, with their JSON types
// (https://docs.aws.amazon.com/apigateway/latest/developerguide/rest-api-jwt-authorizer-claims.html):
// its principal is sub.
func authorizerContext(a map[string]any) map[string]any {
	claims, ok := a["claims"].(map[string]any)
	if !ok {
		return a
	}
	out := map[string]any{"principalId": claims["sub"]}
	for _, k := range []string{"scope", "client_id", "token_use"} {
		out[k] = claims[k]
	}
	return out
}

// public hides createdBy unless the caller is an admin or created the pet
// (a machine client only while it holds the write scope).
func (c caller) public(p Pet) Pet {
	owner := c.principal != "" && p.CreatedBy == c.principal && (!c.machine || c.writer)
	if !c.admin && !owner {
		p.CreatedBy = ""
	}
	return p
}

func (h *Handler) list(ctx context.Context, req events.APIGatewayProxyRequest) events.APIGatewayProxyResponse {
	q := ListQuery{Limit: DefaultPageSize}
	params := req.QueryStringParameters
	if t, ok := params["type"]; ok {
		if !typeRE.MatchString(t) {
			return message(400, "type must be 1 to 64 letters, e.g. dog")
		}
		q.Type = strings.ToLower(t)
	}
	if l, ok := params["limit"]; ok {
		n, err := strconv.Atoi(l)
		if err != nil || n < 1 || n > MaxPageSize {
			return message(400, "limit must be an integer from 1 to 100")
		}
		q.Limit = n
	}
	if a, ok := params["after"]; ok {
		n, err := strconv.ParseInt(a, 10, 64)
		if err != nil || n < 1 {
			return message(400, "after must be a pet id (a positive integer)")
		}
		q.After = n
	}
	for k := range params {
		if k != "type" && k != "limit" && k != "after" {
			return message(400, "unknown query parameter "+strconv.Quote(k)+"; use type, limit, after")
		}
	}
	pets, next, err := h.Store.List(ctx, q)
	if err != nil {
		return h.fault(req, "list", err)
	}
	c := h.caller(req)
	out := make([]Pet, len(pets))
	for i, p := range pets {
		out[i] = c.public(p)
	}
	resp := jsonResponse(200, out)
	if next > 0 {
		v := url.Values{"limit": {strconv.Itoa(q.Limit)}, "after": {strconv.FormatInt(next, 10)}}
		if q.Type != "" {
			v.Set("type", q.Type)
		}
		resp.Headers["Link"] = "<" + basePath(req) + "?" + v.Encode() + `>; rel="next"`
	}
	return resp
}

func (h *Handler) get(ctx context.Context, req events.APIGatewayProxyRequest) events.APIGatewayProxyResponse {
	id, err := strconv.ParseInt(req.PathParameters["petId"], 10, 64)
	if err != nil || id < 1 {
		return message(400, "petId must be a positive integer")
	}
	p, err := h.Store.Get(ctx, id)
	if errors.Is(err, ErrNotFound) {
		return message(404, "pet "+strconv.FormatInt(id, 10)+" not found")
	}
	if err != nil {
		return h.fault(req, "get", err)
	}
	return jsonResponse(200, h.caller(req).public(p))
}

func (h *Handler) create(ctx context.Context, req events.APIGatewayProxyRequest) events.APIGatewayProxyResponse {
	c := h.caller(req)
	if c.principal == "" {
		// Only reachable if the method lost its authorizer: refuse rather than store anonymous pets.
		return message(401, "Unauthorized")
	}
	ct, _ := header(req, "Content-Type")
	if err := CheckContentType(ct); err != nil {
		return message(415, err.Error())
	}
	body := []byte(req.Body)
	if req.IsBase64Encoded {
		var err error
		if body, err = base64.StdEncoding.DecodeString(req.Body); err != nil {
			return message(400, "body is not valid base64")
		}
	}
	in, err := ParseNewPet(body)
	if err != nil {
		return message(400, err.Error())
	}
	var idem *Idempotency
	if key, ok := header(req, "Idempotency-Key"); ok {
		if key == "" || len(key) > 255 || strings.IndexFunc(key, func(r rune) bool { return r < 0x21 || r > 0x7e }) >= 0 {
			return message(400, "Idempotency-Key must be 1 to 255 visible ASCII characters")
		}
		sum := sha256.Sum256([]byte(in.Type + "\x00" + in.PriceText))
		idem = &Idempotency{Key: key, BodyHash: hex.EncodeToString(sum[:])}
	}
	p, replayed, err := h.Store.Create(ctx, in, c.principal, idem)
	switch {
	case errors.Is(err, ErrKeyReused):
		return message(422, "Idempotency-Key was already used with a different body")
	case errors.Is(err, ErrInProgress):
		return message(409, "a request with this Idempotency-Key is still in progress; retry shortly")
	case err != nil:
		return h.fault(req, "create", err)
	}
	resp := jsonResponse(201, c.public(p))
	resp.Headers["Location"] = basePath(req) + "/" + strconv.FormatInt(p.ID, 10)
	if replayed {
		resp.Headers["Idempotent-Replayed"] = "true"
	}
	return resp
}

// fault logs the detail and answers generically: 503 with Retry-After when
// DynamoDB throttles, 500 otherwise.
func (h *Handler) fault(req events.APIGatewayProxyRequest, op string, err error) events.APIGatewayProxyResponse {
	if errors.Is(err, ErrThrottled) {
		h.Log.Warn("throttled", "op", op, "requestId", req.RequestContext.RequestID, "error", err.Error())
		r := message(503, "service busy; retry shortly")
		r.Headers["Retry-After"] = "1"
		return r
	}
	h.Log.Error("store failure", "op", op, "requestId", req.RequestContext.RequestID, "error", err.Error())
	return message(500, "Internal server error")
}

// basePath is the public path of /pets, with the stage prefix API Gateway adds.
func basePath(req events.APIGatewayProxyRequest) string {
	if p := req.RequestContext.Path; p != "" {
		if i := strings.Index(p, "/pets"); i >= 0 {
			return p[:i] + "/pets"
		}
	}
	return "/pets"
}

func header(req events.APIGatewayProxyRequest, name string) (string, bool) {
	for k, v := range req.Headers {
		if strings.EqualFold(k, name) {
			return v, true
		}
	}
	return "", false
}

func message(status int, msg string) events.APIGatewayProxyResponse {
	return jsonResponse(status, map[string]string{"message": msg})
}

func jsonResponse(status int, v any) events.APIGatewayProxyResponse {
	b, _ := json.Marshal(v)
	return events.APIGatewayProxyResponse{
		StatusCode: status,
		Headers:    map[string]string{"Content-Type": "application/json"},
		Body:       string(b),
	}
}
