package pets

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"strings"
	"testing"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/smithy-go"

	"github.com/secure-api-go/apigw-jwt/internal/metrics"
	"github.com/secure-api-go/apigw-jwt/lambdas/internal/emf"
)

func loadEvent(t *testing.T, file string) events.APIGatewayProxyRequest {
	t.Helper()
	raw, err := os.ReadFile("testdata/" + file)
	if err != nil {
		t.Fatal(err)
	}
	var ev events.APIGatewayProxyRequest
	if err := json.Unmarshal(raw, &ev); err != nil {
		t.Fatal(err)
	}
	return ev
}

func newHandler(store Store) (*Handler, *bytes.Buffer) {
	var buf bytes.Buffer
	return &Handler{Store: store, AdminScope: "admin-client123", Log: slog.New(slog.NewJSONHandler(&buf, nil))}, &buf
}

func decodeMessage(t *testing.T, body string) string {
	t.Helper()
	var m map[string]string
	if err := json.Unmarshal([]byte(body), &m); err != nil || m["message"] == "" {
		t.Fatalf("error body %q is not {\"message\": ...}", body)
	}
	return m["message"]
}

func TestCreate(t *testing.T) {
	store := newMemStore()
	h, _ := newHandler(store)
	resp, _ := h.Handle(context.Background(), loadEvent(t, "post-pets.json"))
	if resp.StatusCode != 201 {
		t.Fatalf("status %d: %s", resp.StatusCode, resp.Body)
	}
	var p Pet
	json.Unmarshal([]byte(resp.Body), &p)
	if p.ID != 4 || p.Type != "dog" || p.Price != 249.99 {
		t.Fatalf("pet = %+v", p)
	}
	if resp.Headers["Location"] != "/prod/pets/4" {
		t.Fatalf("Location = %q", resp.Headers["Location"])
	}
	if p.CreatedBy != "sub-admin" {
		t.Fatalf("the creator should see createdBy: %+v", p)
	}
}

func TestCreateRejectsBadInput(t *testing.T) {
	tests := []struct {
		name, body string
		b64        bool
		want       string
	}{
		{"empty", ``, false, "JSON object"},
		{"not json", `dog`, false, "JSON object"},
		{"array", `[]`, false, "JSON object"},
		{"unknown field", `{"type":"dog","price":1,"name":"rex"}`, false, "unknown field"},
		{"missing type", `{"price":1}`, false, "type is required"},
		{"missing price", `{"type":"dog"}`, false, "price is required"},
		{"null price", `{"type":"dog","price":null}`, false, "price is required"},
		{"empty type", `{"type":"","price":1}`, false, "letters"},
		{"type with digits", `{"type":"dog2","price":1}`, false, "letters"},
		{"type too long", `{"type":"` + strings.Repeat("a", 65) + `","price":1}`, false, "letters"},
		{"type not a string", `{"type":7,"price":1}`, false, "wrong type"},
		{"price as string", `{"type":"dog","price":"249.99"}`, false, "price must be"},
		{"negative price", `{"type":"dog","price":-1}`, false, "price must be"},
		{"three decimals", `{"type":"dog","price":1.999}`, false, "price must be"},
		{"exponent", `{"type":"dog","price":1e3}`, false, "price must be"},
		{"too expensive", `{"type":"dog","price":100000.01}`, false, "price must be"},
		{"huge", `{"type":"dog","price":99999999999}`, false, "price must be"},
		{"two objects", `{"type":"dog","price":1}{"type":"cat","price":2}`, false, "exactly one"},
		{"over 16 KB", `{"type":"dog","price":1` + strings.Repeat(" ", 16<<10) + `}`, false, "limit"},
		{"bad base64", `!!!`, true, "base64"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			store := newMemStore()
			h, _ := newHandler(store)
			ev := loadEvent(t, "post-pets.json")
			ev.Body, ev.IsBase64Encoded = tt.body, tt.b64
			resp, err := h.Handle(context.Background(), ev)
			if err != nil {
				t.Fatal(err)
			}
			if resp.StatusCode != 400 {
				t.Fatalf("status %d, want 400: %s", resp.StatusCode, resp.Body)
			}
			if msg := decodeMessage(t, resp.Body); !strings.Contains(msg, tt.want) {
				t.Fatalf("message %q, want it to mention %q", msg, tt.want)
			}
			if store.writes != 0 || len(store.pets) != 3 {
				t.Fatalf("bad input wrote %d pets", store.writes)
			}
		})
	}
}

func TestCreateAccepts(t *testing.T) {
	for _, body := range []string{`{"type":"Dog","price":0}`, `{"price":100000,"type":"cat"}`, `{"type":"fish","price":0.5}`} {
		store := newMemStore()
		h, _ := newHandler(store)
		ev := loadEvent(t, "post-pets.json")
		ev.Body = body
		if resp, _ := h.Handle(context.Background(), ev); resp.StatusCode != 201 {
			t.Fatalf("%s: status %d %s", body, resp.StatusCode, resp.Body)
		}
	}
}

func TestIdempotencyKey(t *testing.T) {
	store := newMemStore()
	h, _ := newHandler(store)
	ev := loadEvent(t, "post-pets.json")
	ev.Headers["idempotency-key"] = "order-42"
	first, _ := h.Handle(context.Background(), ev)
	again, _ := h.Handle(context.Background(), ev)
	if first.StatusCode != 201 || again.StatusCode != 201 || first.Body != again.Body {
		t.Fatalf("retry gave %d %s, first %d %s", again.StatusCode, again.Body, first.StatusCode, first.Body)
	}
	if again.Headers["Idempotent-Replayed"] != "true" || store.writes != 1 {
		t.Fatalf("retry wrote again (writes %d)", store.writes)
	}
	ev.Body = `{"type":"cat","price":1}`
	if r, _ := h.Handle(context.Background(), ev); r.StatusCode != 422 {
		t.Fatalf("same key, other body: %d", r.StatusCode)
	}
	ev.Headers["idempotency-key"] = "bad key"
	if r, _ := h.Handle(context.Background(), ev); r.StatusCode != 400 {
		t.Fatalf("bad key: %d", r.StatusCode)
	}
}

func TestGetAndList(t *testing.T) {
	store := newMemStore()
	store.pets[4] = Pet{4, "dog", 10, "sub-admin"}
	h, _ := newHandler(store)
	tests := []struct {
		name       string
		file       string
		petID      string
		query      map[string]string
		wantStatus int
		wantBody   string
		wantLink   string
	}{
		{"get seed pet", "get-pet.json", "1", nil, 200, `{"id":1,"type":"dog","price":249.99}`, ""},
		{"get hides createdBy from others", "get-pet.json", "4", nil, 200, `{"id":4,"type":"dog","price":10}`, ""},
		{"get missing", "get-pet.json", "99", nil, 404, "", ""},
		{"get bad id", "get-pet.json", "abc", nil, 400, "", ""},
		{"get zero id", "get-pet.json", "0", nil, 400, "", ""},
		{"list all", "get-pets.json", "", nil, 200, `[{"id":1,"type":"dog","price":249.99},{"id":2,"type":"cat","price":124.99},{"id":3,"type":"fish","price":0.99},{"id":4,"type":"dog","price":10}]`, ""},
		{"list by type", "get-pets.json", "", map[string]string{"type": "DOG"}, 200, `[{"id":1,"type":"dog","price":249.99},{"id":4,"type":"dog","price":10}]`, ""},
		{"first page", "get-pets.json", "", map[string]string{"limit": "2"}, 200, `[{"id":1,"type":"dog","price":249.99},{"id":2,"type":"cat","price":124.99}]`, `</prod/pets?after=2&limit=2>; rel="next"`},
		{"next page", "get-pets.json", "", map[string]string{"limit": "2", "after": "2"}, 200, `[{"id":3,"type":"fish","price":0.99},{"id":4,"type":"dog","price":10}]`, ""},
		{"empty page is an array", "get-pets.json", "", map[string]string{"after": "99"}, 200, `[]`, ""},
		{"limit too big", "get-pets.json", "", map[string]string{"limit": "101"}, 400, "", ""},
		{"bad type", "get-pets.json", "", map[string]string{"type": "d0g"}, 400, "", ""},
		{"bad after", "get-pets.json", "", map[string]string{"after": "-1"}, 400, "", ""},
		{"unknown param", "get-pets.json", "", map[string]string{"page": "2"}, 400, "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ev := loadEvent(t, tt.file)
			if tt.petID != "" {
				ev.PathParameters = map[string]string{"petId": tt.petID}
			}
			ev.QueryStringParameters = tt.query
			resp, err := h.Handle(context.Background(), ev)
			if err != nil {
				t.Fatal(err)
			}
			if resp.StatusCode != tt.wantStatus {
				t.Fatalf("status %d, want %d: %s", resp.StatusCode, tt.wantStatus, resp.Body)
			}
			if tt.wantStatus >= 400 {
				decodeMessage(t, resp.Body)
				return
			}
			if resp.Body != tt.wantBody {
				t.Fatalf("body %s\nwant %s", resp.Body, tt.wantBody)
			}
			if resp.Headers["Link"] != tt.wantLink {
				t.Fatalf("Link %q, want %q", resp.Headers["Link"], tt.wantLink)
			}
		})
	}
}

func TestAdminSeesCreatedBy(t *testing.T) {
	store := newMemStore()
	h, _ := newHandler(store)
	ev := loadEvent(t, "get-pet.json")
	ev.RequestContext.Authorizer = map[string]any{"principalId": "someone", "scope": "admin-client123"}
	resp, _ := h.Handle(context.Background(), ev)
	if !strings.Contains(resp.Body, `"createdBy":"seed"`) {
		t.Fatalf("admin should see createdBy: %s", resp.Body)
	}
}

func TestFaults(t *testing.T) {
	tests := []struct {
		err        error
		wantStatus int
		wantRetry  string
	}{
		{fmt.Errorf("%w: list: capacity", ErrThrottled), 503, "1"},
		{fmt.Errorf("dial tcp: secret-table-name unreachable"), 500, ""},
	}
	for _, tt := range tests {
		store := newMemStore()
		store.fail = tt.err
		h, logs := newHandler(store)
		for _, file := range []string{"get-pets.json", "get-pet.json", "post-pets.json"} {
			resp, err := h.Handle(context.Background(), loadEvent(t, file))
			if err != nil {
				t.Fatal(err)
			}
			if resp.StatusCode != tt.wantStatus || resp.Headers["Retry-After"] != tt.wantRetry {
				t.Fatalf("%s: status %d Retry-After %q", file, resp.StatusCode, resp.Headers["Retry-After"])
			}
			if strings.Contains(resp.Body, "secret-table-name") || strings.Contains(resp.Body, "capacity") {
				t.Fatalf("5xx body leaks detail: %s", resp.Body)
			}
		}
		if !strings.Contains(logs.String(), "requestId") {
			t.Fatalf("fault not logged: %s", logs.String())
		}
	}
}

func TestRouting(t *testing.T) {
	h, _ := newHandler(newMemStore())
	for _, c := range []struct {
		resource, method string
		want             int
	}{{"/pets", "DELETE", 405}, {"/pets/{petId}", "PUT", 405}, {"/owners", "GET", 404}} {
		ev := loadEvent(t, "get-pets.json")
		ev.Resource, ev.HTTPMethod = c.resource, c.method
		if r, _ := h.Handle(context.Background(), ev); r.StatusCode != c.want {
			t.Errorf("%s %s: %d, want %d", c.method, c.resource, r.StatusCode, c.want)
		}
	}
	ev := loadEvent(t, "post-pets.json")
	ev.RequestContext.Authorizer = nil
	if r, _ := h.Handle(context.Background(), ev); r.StatusCode != 401 {
		t.Errorf("POST without a principal: %d", r.StatusCode)
	}
}

func TestThrottlingErrorsBecome503(t *testing.T) {
	for _, code := range []string{"ProvisionedThroughputExceededException", "ThrottlingException", "RequestLimitExceeded"} {
		err := wrap("op", &smithy.GenericAPIError{Code: code, Message: "slow down"})
		if !errors.Is(err, ErrThrottled) {
			t.Errorf("%s not mapped to ErrThrottled: %v", code, err)
		}
	}
	if err := wrap("op", &smithy.GenericAPIError{Code: "ValidationException"}); errors.Is(err, ErrThrottled) {
		t.Errorf("ValidationException mapped to ErrThrottled")
	}
}

func TestBareProxyEventWithoutResource(t *testing.T) {
	h, _ := newHandler(newMemStore())
	for path, want := range map[string]string{"/pets/2": `"type":"cat"`, "/pets": `[{"id":1`, "/owners": "not found"} {
		resp, _ := h.Handle(context.Background(), events.APIGatewayProxyRequest{HTTPMethod: "GET", Path: path})
		if !strings.Contains(resp.Body, want) {
			t.Errorf("GET %s: %d %s", path, resp.StatusCode, resp.Body)
		}
	}
}

// TestMachineCreatedByVisibility: a machine client (client-credentials access
// token, sub = client_id) sees createdBy on its own pets only while it holds
// the write scope; users keep seeing their own; nobody sees another's.
func TestMachineCreatedByVisibility(t *testing.T) {
	store := newMemStore()
	store.pets[4] = Pet{ID: 4, Type: "dog", Price: 10, CreatedBy: "machine1"}
	store.pets[5] = Pet{ID: 5, Type: "cat", Price: 10, CreatedBy: "user-sub"}
	h, _ := newHandler(store)
	h.ResourceServer = "petstore"
	machine := func(scopes string) map[string]any {
		return map[string]any{"principalId": "machine1", "sub": "machine1", "client_id": "machine1", "token_use": "access", "scope": scopes}
	}
	tests := []struct {
		name, petID string
		auth        map[string]any
		want        string
	}{
		{"machine with pets.write sees its own", "4", machine("petstore/pets.write"), "machine1"},
		{"machine with both scopes sees its own", "4", machine("petstore/pets.read petstore/pets.write"), "machine1"},
		{"machine with pets.read only does not", "4", machine("petstore/pets.read"), ""},
		{"another resource server's write scope does not count", "4", machine("other/pets.write"), ""},
		{"machine with pets.write does not see a user's", "5", machine("petstore/pets.write"), ""},
		{"another machine client does not", "4", map[string]any{"principalId": "machine2", "client_id": "machine2", "token_use": "access", "scope": "petstore/pets.write"}, ""},
		{"a user sees their own (access token)", "5", map[string]any{"principalId": "user-sub", "client_id": "userapp", "token_use": "access", "scope": "aws.cognito.signin.user.admin"}, "user-sub"},
		{"a user sees their own (ID token)", "5", map[string]any{"principalId": "user-sub", "aud": "userapp", "token_use": "id", "scope": "regular-userapp"}, "user-sub"},
		{"admin sees a machine's", "4", map[string]any{"principalId": "admin-sub", "scope": "admin-client123"}, "machine1"},
		// restAuthorizer=jwt: the native JWT authorizer passes the claims, sub as the principal.
		{"native JWT: machine with pets.write sees its own", "4", map[string]any{"claims": map[string]any{"sub": "machine1", "client_id": "machine1", "token_use": "access", "scope": "petstore/pets.write", "exp": 1.9e9}}, "machine1"},
		{"native JWT: machine with pets.read only does not", "4", map[string]any{"claims": map[string]any{"sub": "machine1", "client_id": "machine1", "token_use": "access", "scope": "petstore/pets.read"}}, ""},
		{"native JWT: a user sees their own (ID token)", "5", map[string]any{"claims": map[string]any{"sub": "user-sub", "aud": "userapp", "token_use": "id", "scope": "regular-userapp"}}, "user-sub"},
		{"native JWT: admin sees a machine's", "4", map[string]any{"claims": map[string]any{"sub": "admin-sub", "scope": "admin-client123"}}, "machine1"},
		{"native JWT: claims without sub see nothing", "5", map[string]any{"claims": map[string]any{"scope": "regular-userapp"}}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ev := loadEvent(t, "get-pet.json")
			ev.Path, ev.PathParameters = "/pets/"+tt.petID, map[string]string{"petId": tt.petID}
			ev.RequestContext.Authorizer = tt.auth
			resp, _ := h.Handle(context.Background(), ev)
			var p Pet
			if err := json.Unmarshal([]byte(resp.Body), &p); err != nil || resp.StatusCode != 200 {
				t.Fatalf("status %d: %s", resp.StatusCode, resp.Body)
			}
			if p.CreatedBy != tt.want {
				t.Fatalf("createdBy %q, want %q", p.CreatedBy, tt.want)
			}
		})
	}
	// Without ResourceServer configured, a machine caller never sees createdBy.
	h.ResourceServer = ""
	ev := loadEvent(t, "get-pet.json")
	ev.Path, ev.PathParameters = "/pets/4", map[string]string{"petId": "4"}
	ev.RequestContext.Authorizer = machine("petstore/pets.write")
	if resp, _ := h.Handle(context.Background(), ev); strings.Contains(resp.Body, "createdBy") {
		t.Fatalf("no resource server configured, yet: %s", resp.Body)
	}
}

// strictBodyCases are POST /pets requests API Gateway's model validation may
// let through (it checks only the content types the method lists, and its
// JSON parser is not ours): each must be refused with nothing written. The
// same table runs against the in-memory store and against dynalite.
var strictBodyCases = []struct {
	name, contentType, body string
	wantStatus              int
	want                    string
}{
	{"text/plain", "text/plain", `{"type":"dog","price":1}`, 415, "application/json"},
	{"form", "application/x-www-form-urlencoded", `type=dog&price=1`, 415, "application/json"},
	{"missing content type", "", `{"type":"dog","price":1}`, 415, "missing"},
	{"json suffix type", "application/problem+json", `{"type":"dog","price":1}`, 415, "not accepted"},
	{"utf-16 charset", "application/json; charset=utf-16", `{"type":"dog","price":1}`, 415, "charset=utf-8"},
	{"other parameter", "application/json; profile=x", `{"type":"dog","price":1}`, 415, "charset=utf-8"},
	{"garbled content type", "application/json; ;;", `{"type":"dog","price":1}`, 415, "not a media type"},
	{"upper-case keys", "application/json", `{"TYPE":"cat","PRICE":2}`, 400, `unknown field "TYPE"; keys are case-sensitive: use "type"`},
	{"mixed-case key", "application/json", `{"type":"cat","Price":2}`, 400, `use "price"`},
	{"duplicated key", "application/json", `{"type":"dog","price":1,"type":"emu"}`, 400, `key "type" appears twice`},
	{"duplicated price", "application/json", `{"price":1,"type":"dog","price":2}`, 400, `key "price" appears twice`},
	{"trailing data", "application/json", `{"type":"dog","price":1} x`, 400, "nothing after it"},
	{"trailing object", "application/json", `{"type":"dog","price":1}{}`, 400, "nothing after it"},
	{"unterminated", "application/json", `{"type":"dog","price":1`, 400, "invalid JSON"},
}

func TestCreateStrictBodies(t *testing.T) {
	for _, tt := range strictBodyCases {
		t.Run(tt.name, func(t *testing.T) {
			store := newMemStore()
			h, _ := newHandler(store)
			resp, err := h.Handle(context.Background(), strictEvent(t, tt.contentType, tt.body))
			if err != nil {
				t.Fatal(err)
			}
			if resp.StatusCode != tt.wantStatus {
				t.Fatalf("status %d, want %d: %s", resp.StatusCode, tt.wantStatus, resp.Body)
			}
			if msg := decodeMessage(t, resp.Body); !strings.Contains(msg, tt.want) {
				t.Fatalf("message %q, want it to mention %q", msg, tt.want)
			}
			if store.writes != 0 || len(store.pets) != 3 {
				t.Fatalf("refused body wrote %d pets", store.writes)
			}
		})
	}
}

func TestCreateAcceptsJSONContentTypes(t *testing.T) {
	for _, ct := range []string{"application/json", "Application/JSON", "application/json; charset=utf-8", "application/json;charset=UTF-8"} {
		store := newMemStore()
		h, _ := newHandler(store)
		if resp, _ := h.Handle(context.Background(), strictEvent(t, ct, `{"type":"dog","price":1}`)); resp.StatusCode != 201 {
			t.Errorf("Content-Type %q: status %d %s", ct, resp.StatusCode, resp.Body)
		}
	}
}

// strictEvent is post-pets.json with the given Content-Type ("" removes it) and body.
func strictEvent(t *testing.T, contentType, body string) events.APIGatewayProxyRequest {
	ev := loadEvent(t, "post-pets.json")
	delete(ev.Headers, "Content-Type")
	if contentType != "" {
		ev.Headers["content-type"] = contentType
	}
	ev.Body = body
	return ev
}

func TestMetrics(t *testing.T) {
	store := newMemStore()
	h, _ := newHandler(store)
	var out bytes.Buffer
	h.Metrics = &emf.Emitter{Namespace: "SecureApiJwt", Out: &out}
	idem := loadEvent(t, "post-pets.json")
	idem.Headers["Idempotency-Key"] = "m-1"
	failing := newMemStore()
	failing.fail = errors.New("dial tcp: unreachable")
	hf, _ := newHandler(failing)
	hf.Metrics = h.Metrics
	tests := []struct {
		name    string
		h       *Handler
		ev      events.APIGatewayProxyRequest
		want    [3]float64 // PetsCreated, ClientErrors, ServerErrors
		wantSts int
	}{
		{"created", h, loadEvent(t, "post-pets.json"), [3]float64{1, 0, 0}, 201},
		{"idempotent first", h, idem, [3]float64{1, 0, 0}, 201},
		{"idempotent replay is not a new pet", h, idem, [3]float64{0, 0, 0}, 201},
		{"read", h, loadEvent(t, "get-pets.json"), [3]float64{0, 0, 0}, 200},
		{"415", h, strictEvent(t, "text/plain", `{"type":"dog","price":1}`), [3]float64{0, 1, 0}, 415},
		{"400", h, strictEvent(t, "application/json", `{"TYPE":"cat","PRICE":2}`), [3]float64{0, 1, 0}, 400},
		{"500", hf, loadEvent(t, "get-pets.json"), [3]float64{0, 0, 1}, 500},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out.Reset()
			resp, _ := tt.h.Handle(context.Background(), tt.ev)
			if resp.StatusCode != tt.wantSts {
				t.Fatalf("status %d, want %d", resp.StatusCode, tt.wantSts)
			}
			line := out.Bytes()
			if bytes.Count(line, []byte("\n")) != 1 {
				t.Fatalf("want one EMF line per request, got %q", line)
			}
			if err := emf.Validate(line); err != nil {
				t.Fatalf("%v: %s", err, line)
			}
			var m map[string]any
			json.Unmarshal(line, &m)
			got := [3]float64{m[metrics.PetsCreated].(float64), m[metrics.ClientErrors].(float64), m[metrics.ServerErrors].(float64)}
			if got != tt.want {
				t.Fatalf("PetsCreated, ClientErrors, ServerErrors = %v, want %v", got, tt.want)
			}
		})
	}
}
