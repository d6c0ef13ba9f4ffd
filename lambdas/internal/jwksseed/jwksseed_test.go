package jwksseed

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/cfn"

	"github.com/secure-api-go/apigw-jwt/internal/lambdaenv"
	"github.com/secure-api-go/apigw-jwt/internal/seedspec"
)

// idp answers every JWKS request (whatever the host in the URL) from one
// handler and counts the requests; a nil handler refuses the connection.
type idp struct {
	requests atomic.Int64
	handler  http.HandlerFunc
}

func (p *idp) RoundTrip(req *http.Request) (*http.Response, error) {
	p.requests.Add(1)
	if err := req.Context().Err(); err != nil {
		return nil, err
	}
	if p.handler == nil {
		return nil, errors.New("connection refused")
	}
	rec := httptest.NewRecorder()
	p.handler(rec, req)
	if err := req.Context().Err(); err != nil {
		return nil, err
	}
	return rec.Result(), nil
}

func serve(status int, body []byte) http.HandlerFunc {
	return func(w http.ResponseWriter, _ *http.Request) {
		w.WriteHeader(status)
		w.Write(body)
	}
}

func loadEvent(t *testing.T, name string) cfn.Event {
	t.Helper()
	raw, err := os.ReadFile("testdata/" + name)
	if err != nil {
		t.Fatal(err)
	}
	var ev cfn.Event
	if err := json.Unmarshal(raw, &ev); err != nil {
		t.Fatal(err)
	}
	return ev
}

func jwksFile(t *testing.T) []byte {
	t.Helper()
	b, err := os.ReadFile("testdata/jwks.json")
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func newHandler(p *idp, logs *bytes.Buffer) *Handler {
	return &Handler{
		Client:  &http.Client{Transport: p, Timeout: time.Second},
		Log:     slog.New(slog.NewJSONHandler(logs, nil)),
		Backoff: time.Millisecond,
	}
}

func TestCreateSeedsTheReducedKeys(t *testing.T) {
	p := &idp{handler: serve(200, jwksFile(t))}
	var logs bytes.Buffer
	id, data, err := newHandler(p, &logs).Handle(context.Background(), loadEvent(t, "create.json"))
	if err != nil {
		t.Fatal(err)
	}
	if id != "jwks-seed-AuthorizerJwksSeed" {
		t.Errorf("physical id %q", id)
	}
	raw, _ := data[seedspec.AttrJWKS].(string)
	var got struct{ Keys []map[string]any }
	if err := json.Unmarshal([]byte(raw), &got); err != nil {
		t.Fatalf("Jwks attribute %q is not JSON: %v", raw, err)
	}
	// Two RSA signing keys with a kid; the EC key, the encryption key and the key without a kid are left out.
	if len(got.Keys) != 2 || got.Keys[0]["kid"] != "cognito-key-1" || got.Keys[1]["kid"] != "cognito-key-2" {
		t.Fatalf("keys %v", got.Keys)
	}
	for _, k := range got.Keys {
		for field := range k {
			if !strings.Contains(" kty kid use alg n e ", " "+field+" ") {
				t.Errorf("key %v kept field %q", k["kid"], field)
			}
		}
		if k["n"] == "" || k["e"] != "AQAB" || k["alg"] != "RS256" || k["use"] != "sig" {
			t.Errorf("key %v lost a field", k)
		}
	}
	if data[seedspec.AttrKeyCount] != "2" || data[seedspec.AttrIssuers] != nil {
		t.Errorf("data %v", data)
	}
	if p.requests.Load() != 1 {
		t.Errorf("%d requests, want 1", p.requests.Load())
	}
}

func TestFetchOutcomes(t *testing.T) {
	good := jwksFile(t)
	flaky := func() http.HandlerFunc {
		var n atomic.Int64
		return func(w http.ResponseWriter, r *http.Request) {
			if n.Add(1) == 1 {
				w.WriteHeader(503)
				return
			}
			w.Write(good)
		}
	}
	for _, tc := range []struct {
		name     string
		handler  http.HandlerFunc
		maxBytes string
		jwksURI  string
		wantErr  error  // the deploy fails
		wantKeys int    // else: keys seeded (0: empty seed)
		wantReqs int64  // requests made
		wantLog  string // reason in the log
	}{
		{name: "healthy", handler: serve(200, good), wantKeys: 2, wantReqs: 1},
		{name: "one 503 then healthy: retried", handler: flaky(), wantKeys: 2, wantReqs: 2},
		{name: "500 throughout: empty seed, deploy goes on", handler: serve(500, nil), wantReqs: 3, wantLog: "jwks_unavailable"},
		{name: "429: empty seed", handler: serve(429, nil), wantReqs: 3, wantLog: "jwks_unavailable"},
		{name: "connection refused: empty seed", handler: nil, wantReqs: 3, wantLog: "jwks_unavailable"},
		{name: "404: wrong URL fails the deploy", handler: serve(404, []byte("not found")), wantErr: ErrRejected, wantReqs: 1},
		{name: "HTML: not a JWKS", handler: serve(200, []byte("<html>login</html>")), wantErr: ErrRejected, wantReqs: 1},
		{name: "openid-configuration: not a JWKS", handler: serve(200, []byte(`{"issuer":"https://x"}`)), wantErr: ErrRejected, wantReqs: 1},
		{name: "huge body", handler: serve(200, bytes.Repeat([]byte(" "), 300<<10)), wantErr: ErrRejected, wantReqs: 1},
		{name: "no usable key: empty seed", handler: serve(200, []byte(`{"keys":[{"kty":"EC","kid":"a"}]}`)), wantReqs: 1, wantLog: "no_usable_keys"},
		{name: "over the env budget: empty seed", handler: serve(200, good), maxBytes: "500", wantReqs: 1, wantLog: "over_env_budget"},
		{name: "plain http elsewhere than loopback", handler: serve(200, good), jwksURI: "http://idp.example.com/jwks.json", wantErr: ErrConfig},
		{name: "http on loopback is allowed", handler: serve(200, good), jwksURI: "http://127.0.0.1:9229/local/.well-known/jwks.json", wantKeys: 2, wantReqs: 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := &idp{handler: tc.handler}
			var logs bytes.Buffer
			ev := loadEvent(t, "create.json")
			if tc.maxBytes != "" {
				ev.ResourceProperties[seedspec.PropMaxBytes] = tc.maxBytes
			}
			if tc.jwksURI != "" {
				ev.ResourceProperties[seedspec.PropIssuers].([]any)[0].(map[string]any)["jwksUri"] = tc.jwksURI
			}
			_, data, err := newHandler(p, &logs).Handle(context.Background(), ev)
			if got := p.requests.Load(); got != tc.wantReqs {
				t.Errorf("%d requests, want %d", got, tc.wantReqs)
			}
			if tc.wantErr != nil {
				if !errors.Is(err, tc.wantErr) {
					t.Fatalf("error %v, want %v", err, tc.wantErr)
				}
				if tc.jwksURI == "" && !strings.Contains(err.Error(), "https://cognito-idp.us-east-1.amazonaws.com/us-east-1_AbCdEfGhI/.well-known/jwks.json") {
					t.Errorf("error does not name the URL: %v", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			jwks := data[seedspec.AttrJWKS].(string)
			if tc.wantKeys == 0 && jwks != "" {
				t.Errorf("seed %q, want empty", jwks)
			}
			if tc.wantKeys > 0 && strings.Count(jwks, `"kid"`) != tc.wantKeys {
				t.Errorf("seed %q, want %d keys", jwks, tc.wantKeys)
			}
			if !strings.Contains(logs.String(), tc.wantLog) {
				t.Errorf("log lacks %q:\n%s", tc.wantLog, logs.String())
			}
		})
	}
}

// TestResponseStaysUnderCloudFormationsLimit: keys that fit the environment
// budget but would make the response body pass 4096 bytes are not seeded
// (CloudFormation would reject the response and fail the deploy).
func TestResponseStaysUnderCloudFormationsLimit(t *testing.T) {
	var doc struct{ Keys []map[string]any }
	json.Unmarshal(jwksFile(t), &doc)
	var keys []map[string]any
	for i := 0; i < 9; i++ {
		k := map[string]any{}
		for f, v := range doc.Keys[i%2] {
			k[f] = v
		}
		k["kid"] = "key-" + strconv.Itoa(i)
		keys = append(keys, k)
	}
	body, _ := json.Marshal(map[string]any{"keys": keys})
	reduced, _, _ := seedspec.Reduce(body, seedspec.DefaultAlgorithms)
	seed, _ := json.Marshal(map[string]any{"keys": reduced})
	if len(seedspec.EnvJWKS)+len(seed) > 4096 {
		t.Fatalf("test JWKS is %d bytes, want one that fits the environment", len(seed))
	}
	p := &idp{handler: serve(200, body)}
	var logs bytes.Buffer
	ev := loadEvent(t, "create.json")
	ev.ResourceProperties[seedspec.PropMaxBytes] = "4096"
	_, data, err := newHandler(p, &logs).Handle(context.Background(), ev)
	if err != nil {
		t.Fatal(err)
	}
	if data[seedspec.AttrJWKS] != "" || !strings.Contains(logs.String(), `"responseBytes"`) {
		t.Fatalf("seeded %d bytes; log:\n%s", len(data[seedspec.AttrJWKS].(string)), logs.String())
	}
	if n := responseSize(ev, "jwks-seed-AuthorizerJwksSeed", map[string]any{seedspec.AttrJWKS: string(seed), seedspec.AttrKeyCount: "9"}); n <= 4096 {
		t.Fatalf("the full seed would make a %d-byte response: the test does not exercise the limit", n)
	}
}

func TestIssuersSeedsInOrderWithinTheBudget(t *testing.T) {
	for _, tc := range []struct {
		name      string
		maxBytes  string
		wantSeeds []bool // per issuer
		wantErr   error
	}{
		{name: "room for both", maxBytes: "3900", wantSeeds: []bool{true, true}},
		{name: "room for the first", maxBytes: "2000", wantSeeds: []bool{true, false}},
		{name: "room for none", maxBytes: "600", wantSeeds: []bool{false, false}},
		{name: "not even the issuers fit", maxBytes: "300", wantErr: ErrConfig},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := &idp{handler: serve(200, jwksFile(t))}
			var logs bytes.Buffer
			ev := loadEvent(t, "update.json")
			ev.ResourceProperties[seedspec.PropMaxBytes] = tc.maxBytes
			id, data, err := newHandler(p, &logs).Handle(context.Background(), ev)
			if tc.wantErr != nil {
				if !errors.Is(err, tc.wantErr) || !strings.Contains(err.Error(), "ISSUERS alone is") {
					t.Fatalf("error %v, want %v", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if id != "jwks-seed-AuthorizerJwksSeed" {
				t.Errorf("update changed the physical id to %q", id)
			}
			value := data[seedspec.AttrIssuers].(string)
			if size := lambdaenv.Added(seedspec.EnvIssuers, value); size > 3900 {
				t.Errorf("ISSUERS is %d bytes", size)
			}
			var got []map[string]any
			if err := json.Unmarshal([]byte(value), &got); err != nil {
				t.Fatalf("ISSUERS %q is not JSON: %v", value, err)
			}
			if len(got) != 2 || got[0]["issuer"] != "https://cognito-idp.us-east-1.amazonaws.com/us-east-1_AbCdEfGhI" || got[1]["tokenUse"] != "access" {
				t.Fatalf("ISSUERS %v", got)
			}
			for i, want := range tc.wantSeeds {
				jwks, has := got[i]["jwks"].(map[string]any)
				if has != want {
					t.Errorf("issuer %d seeded %v, want %v", i, has, want)
				}
				if has && len(jwks["keys"].([]any)) != 2 {
					t.Errorf("issuer %d jwks %v", i, jwks)
				}
			}
			if !tc.wantSeeds[1] && !strings.Contains(logs.String(), "over_env_budget") {
				t.Errorf("log does not say why:\n%s", logs.String())
			}
		})
	}
}

func TestBadProperties(t *testing.T) {
	for _, tc := range []struct {
		name string
		edit func(p map[string]any)
		want string
	}{
		{"duplicate issuer", func(p map[string]any) {
			p[seedspec.PropEnv] = seedspec.EnvIssuers
			l := p[seedspec.PropIssuers].([]any)
			p[seedspec.PropIssuers] = append(l, l[0])
		}, "listed twice"},
		{"no issuers", func(p map[string]any) { delete(p, seedspec.PropIssuers) }, "non-empty list"},
		{"no audiences", func(p map[string]any) {
			delete(p[seedspec.PropIssuers].([]any)[0].(map[string]any), "audiences")
		}, "needs issuer, jwksUri and audiences"},
		{"unknown env", func(p map[string]any) { p[seedspec.PropEnv] = "JWKS" }, `Env is "JWKS"`},
		{"two issuers for JWKS_JSON", func(p map[string]any) {
			l := p[seedspec.PropIssuers].([]any)
			second := map[string]any{"issuer": "https://b.example.com/", "jwksUri": "https://b.example.com/jwks", "audiences": []any{"b"}}
			p[seedspec.PropIssuers] = append(l, second)
		}, "exactly one issuer"},
		{"budget not a number", func(p map[string]any) { p[seedspec.PropMaxBytes] = "lots" }, "MaxBytes"},
		{"budget over 4 KB", func(p map[string]any) { p[seedspec.PropMaxBytes] = "5000" }, "MaxBytes"},
		{"algorithms not a list", func(p map[string]any) { p[seedspec.PropAlgorithms] = "RS256,ES256" }, `Algorithms is "RS256,ES256"`},
		{"an empty algorithm", func(p map[string]any) { p[seedspec.PropAlgorithms] = []any{"ES256", ""} }, "want a list of algorithm names"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := &idp{handler: serve(200, jwksFile(t))}
			ev := loadEvent(t, "create.json")
			tc.edit(ev.ResourceProperties)
			_, _, err := newHandler(p, &bytes.Buffer{}).Handle(context.Background(), ev)
			if !errors.Is(err, ErrConfig) || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error %v, want ErrConfig with %q", err, tc.want)
			}
			if p.requests.Load() != 0 {
				t.Errorf("fetched with bad properties")
			}
		})
	}
}

func TestDeleteDoesNothing(t *testing.T) {
	p := &idp{handler: serve(500, nil)}
	id, data, err := newHandler(p, &bytes.Buffer{}).Handle(context.Background(), loadEvent(t, "delete.json"))
	if err != nil || data != nil || id != "jwks-seed-AuthorizerJwksSeed" || p.requests.Load() != 0 {
		t.Fatalf("delete: id %q data %v err %v requests %d", id, data, err, p.requests.Load())
	}
}

// TestAnswersBeforeTheLambdaDeadline: an IdP that never answers must not
// keep CloudFormation waiting for an hour; the handler stops early enough to respond.
func TestAnswersBeforeTheLambdaDeadline(t *testing.T) {
	p := &idp{handler: func(w http.ResponseWriter, r *http.Request) { <-r.Context().Done() }}
	h := newHandler(p, &bytes.Buffer{})
	h.Client.Timeout = time.Minute
	h.Margin = 500 * time.Millisecond
	ctx, cancel := context.WithTimeout(context.Background(), 1500*time.Millisecond)
	defer cancel()
	start := time.Now()
	_, data, err := h.Handle(ctx, loadEvent(t, "create.json"))
	if err != nil || data[seedspec.AttrJWKS] != "" {
		t.Fatalf("data %v err %v, want an empty seed", data, err)
	}
	if took := time.Since(start); took > 1200*time.Millisecond {
		t.Errorf("took %s, past the margin", took)
	}
}

// TestCloudFormationResponse runs the handler the way main does, behind
// cfn.LambdaWrap, and reads what it PUTs to the pre-signed response URL.
func TestCloudFormationResponse(t *testing.T) {
	for _, tc := range []struct {
		name, event string
		status      int
		wantStatus  cfn.StatusType
		wantData    string
		wantReason  string
	}{
		{"create", "create.json", 200, cfn.StatusSuccess, seedspec.AttrJWKS, ""},
		{"update to ISSUERS", "update.json", 200, cfn.StatusSuccess, seedspec.AttrIssuers, ""},
		{"wrong URL", "create.json", 404, cfn.StatusFailed, "", "404"},
		{"delete", "delete.json", 500, cfn.StatusSuccess, "", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var got cfn.Response
			cf := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				if r.Method != http.MethodPut {
					t.Errorf("method %s", r.Method)
				}
				b, _ := io.ReadAll(r.Body)
				if len(b) > 4096 {
					t.Errorf("response body %d bytes, over CloudFormation's 4096", len(b))
				}
				json.Unmarshal(b, &got)
			}))
			defer cf.Close()
			ev := loadEvent(t, tc.event)
			ev.ResponseURL = cf.URL + "/response"
			p := &idp{handler: serve(tc.status, jwksFile(t))}
			if _, err := cfn.LambdaWrap(newHandler(p, &bytes.Buffer{}).Handle)(context.Background(), ev); err != nil {
				t.Fatal(err)
			}
			if got.Status != tc.wantStatus || got.RequestID != ev.RequestID || got.LogicalResourceID != "AuthorizerJwksSeed" || got.PhysicalResourceID != "jwks-seed-AuthorizerJwksSeed" {
				t.Fatalf("response %+v", got)
			}
			if tc.wantData != "" {
				if s, _ := got.Data[tc.wantData].(string); !json.Valid([]byte(s)) || !strings.Contains(s, "cognito-key-1") {
					t.Errorf("Data[%s] = %q", tc.wantData, s)
				}
			}
			if !strings.Contains(got.Reason, tc.wantReason) || (tc.wantReason != "" && !strings.Contains(got.Reason, "jwksUri")) {
				t.Errorf("reason %q, want one naming %q and the jwksUri", got.Reason, tc.wantReason)
			}
		})
	}
}
