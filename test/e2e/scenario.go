// Package e2e is the walk-through as a program: log in as each user, call
// every route, check every answer. One scenario serves `make e2e` (the local
// stack) and `make smoke` (a deployed stack).
package e2e

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	cip "github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider"
	"github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider/types"
	"golang.org/x/oauth2"
	"golang.org/x/oauth2/clientcredentials"

	"github.com/secure-api-go/apigw-jwt/internal/scope"
)

// Target is what the scenario runs against.
type Target struct {
	HTTPAPIURL, RESTAPIURL string
	// CognitoEndpoint is cognito-local's URL; "" means the real Cognito in Region.
	CognitoEndpoint string
	Region          string
	ClientID        string
	Admin, Regular  Credentials
	// ExpiredToken turns a fresh ID token into an expired one the issuer
	// signed; nil skips the step (on AWS no token is old enough).
	ExpiredToken func(fresh string) (string, error)
	// Invocations counts a Lambda's invocations ("authorizer", "petstore");
	// nil skips the "without calling the Lambda" checks.
	Invocations func(function string) int
	// AccessTokens also runs the matrix with access tokens (scopes added by
	// the V2 trigger). cognito-local cannot add scopes to access tokens, so
	// only a deployed stack sets it.
	AccessTokens bool
	// Machine is the client-credentials client; nil skips the machine matrix.
	Machine *Machine
	// RESTForbidden is a fragment of the REST API's 403 body when a valid
	// token lacks the method's rights. Default: the TOKEN authorizer's
	// "not authorized to access this resource"; "Forbidden" with
	// restAuthorizer=jwt (the native JWT authorizer).
	RESTForbidden string
	// UntrustedToken re-signs a fresh token with a key of another issuer
	// and that issuer's iss; nil skips the step.
	UntrustedToken func(fresh string) (string, error)
}

// forbidden is the REST 403 body fragment of the target's authorizer.
func (r *runner) forbidden() string {
	if r.t.RESTForbidden != "" {
		return r.t.RESTForbidden
	}
	return "not authorized to access this resource"
}

// Machine is a machine-to-machine client and where it gets tokens.
type Machine struct {
	TokenURL, ClientID, ClientSecret string
	// ResourceServer is the identifier its scopes start with ("petstore").
	ResourceServer string
}

// Credentials of a user.
type Credentials struct{ Username, Password string }

// Result of one step.
type Result struct {
	Step, Expect, Got string
	Took              time.Duration
	Pass, Skipped     bool
}

// Run executes the scenario, writing the table of results to out; ok is
// false on any mismatch.
func Run(ctx context.Context, t Target, out io.Writer) (results []Result, ok bool) {
	r := &runner{t: t, client: &http.Client{Timeout: 15 * time.Second}}
	r.run(ctx)
	ok = true
	fmt.Fprintf(out, "\n%-58s %-10s %-10s %8s  %s\n", "STEP", "EXPECT", "GOT", "TIME", "RESULT")
	for _, res := range r.results {
		verdict := "PASS"
		switch {
		case res.Skipped:
			verdict = "SKIP"
		case !res.Pass:
			verdict = "FAIL"
			ok = false
		}
		fmt.Fprintf(out, "%-58s %-10s %-10s %8s  %s\n", res.Step, res.Expect, res.Got, res.Took.Round(time.Millisecond), verdict)
	}
	passed, skipped := 0, 0
	for _, res := range r.results {
		if res.Skipped {
			skipped++
		} else if res.Pass {
			passed++
		}
	}
	fmt.Fprintf(out, "\n%d passed, %d failed, %d skipped\n", passed, len(r.results)-passed-skipped, skipped)
	return r.results, ok
}

type runner struct {
	t       Target
	client  *http.Client
	results []Result
}

func (r *runner) record(step, expect, got string, start time.Time, pass bool) {
	r.results = append(r.results, Result{Step: step, Expect: expect, Got: got, Took: time.Since(start), Pass: pass})
}

func (r *runner) skip(step, why string) {
	r.results = append(r.results, Result{Step: step, Expect: "-", Got: why, Skipped: true})
}

type tokens struct{ id, access string }

func (r *runner) login(ctx context.Context, c Credentials) (tokens, error) {
	opts := cip.Options{Region: r.t.Region}
	if r.t.CognitoEndpoint != "" {
		opts.BaseEndpoint = aws.String(r.t.CognitoEndpoint)
		opts.Credentials = credentials.NewStaticCredentialsProvider("local", "local", "")
	}
	api := cip.New(opts)
	out, err := api.InitiateAuth(ctx, &cip.InitiateAuthInput{
		AuthFlow: types.AuthFlowTypeUserPasswordAuth, ClientId: &r.t.ClientID,
		AuthParameters: map[string]string{"USERNAME": c.Username, "PASSWORD": c.Password},
	})
	if err != nil {
		return tokens{}, err
	}
	if out.AuthenticationResult == nil || out.AuthenticationResult.IdToken == nil {
		return tokens{}, fmt.Errorf("no tokens (challenge %s)", out.ChallengeName)
	}
	return tokens{id: *out.AuthenticationResult.IdToken, access: aws.ToString(out.AuthenticationResult.AccessToken)}, nil
}

// call sends a request and checks the status and, when set, a body fragment.
func (r *runner) call(ctx context.Context, step, method, url, token, body string, wantStatus int, wantBody string) string {
	start := time.Now()
	req, _ := http.NewRequestWithContext(ctx, method, url, strings.NewReader(body))
	if token != "" {
		req.Header.Set("Authorization", token)
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := r.client.Do(req)
	if err != nil {
		r.record(step, fmt.Sprint(wantStatus), "error", start, false)
		return ""
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	pass := resp.StatusCode == wantStatus && strings.Contains(string(b), wantBody)
	got := fmt.Sprint(resp.StatusCode)
	if resp.StatusCode == wantStatus && !pass {
		got += " (body)"
	}
	r.record(step, fmt.Sprint(wantStatus), got, start, pass)
	return string(b)
}

// counter snapshots a function's invocations; nil when they cannot be
// counted (no counter, or no such function in this stack, as the authorizer
// with restAuthorizer=jwt: Invocations answers -1).
func (r *runner) counter(fn string) func() bool {
	if r.t.Invocations == nil || r.t.Invocations(fn) < 0 {
		return nil
	}
	before := r.t.Invocations(fn)
	return func() bool { return r.t.Invocations(fn) == before }
}

func (r *runner) run(ctx context.Context) {
	h, rest := r.t.HTTPAPIURL, r.t.RESTAPIURL
	start := time.Now()
	adminT, err := r.login(ctx, r.t.Admin)
	r.record("log in as "+r.t.Admin.Username+" (USER_PASSWORD_AUTH)", "token", errOr(err, "token"), start, err == nil)
	start = time.Now()
	regularT, err2 := r.login(ctx, r.t.Regular)
	r.record("log in as "+r.t.Regular.Username+" (USER_PASSWORD_AUTH)", "token", errOr(err2, "token"), start, err2 == nil)
	if err != nil || err2 != nil {
		return
	}
	admin, regular := adminT.id, regularT.id
	bearerA, bearerR := "Bearer "+admin, "Bearer "+regular

	// HTTP API: the AWS blog's matrix.
	r.call(ctx, "HTTP GET /RegularUser without a token", "GET", h+"/RegularUser", "", "", 401, "Unauthorized")
	r.call(ctx, "HTTP GET /RegularUser as regularuser", "GET", h+"/RegularUser", bearerR, "", 200, "Hello from Regular User")
	r.call(ctx, "HTTP GET /AdminUser as regularuser", "GET", h+"/AdminUser", bearerR, "", 403, "Forbidden")
	r.call(ctx, "HTTP GET /AdminUser as adminuser", "GET", h+"/AdminUser", bearerA, "", 200, "Hello from Admin User")
	r.call(ctx, "HTTP GET /RegularUser as adminuser", "GET", h+"/RegularUser", bearerA, "", 200, "Hello from Regular User")
	claims := r.call(ctx, "HTTP GET /claims as adminuser", "GET", h+"/claims", bearerA, "", 200, `"sub"`)
	start = time.Now()
	var c map[string]string
	json.Unmarshal([]byte(claims), &c)
	wantScope := "admin-" + r.t.ClientID
	subOK := c["sub"] != "" && c["sub"] == claimOf(admin, "sub")
	r.record("  /claims shows the caller's sub and admin scope", "match", yes(subOK && strings.Contains(c["scope"], wantScope)), start, subOK && strings.Contains(c["scope"], wantScope))

	// REST PetStore.
	r.call(ctx, "REST GET / (public landing page)", "GET", rest+"/", "", "", 200, "PetStore")
	r.call(ctx, "REST GET /pets without a token", "GET", rest+"/pets", "", "", 401, "Unauthorized")
	unchanged := r.counter("authorizer")
	r.call(ctx, "REST GET /pets with a garbage token", "GET", rest+"/pets", "Bearer not-a-jwt", "", 401, "Unauthorized")
	if unchanged != nil {
		start = time.Now()
		r.record("  ...rejected by the regex, authorizer not called", "0 calls", yes(unchanged()), start, unchanged())
	}
	r.call(ctx, "REST GET /pets as regularuser", "GET", rest+"/pets", bearerR, "", 200, `"type":"dog"`)
	r.call(ctx, "REST GET /pets/1 as regularuser", "GET", rest+"/pets/1", bearerR, "", 200, `"price":249.99`)
	r.call(ctx, "REST POST /pets as regularuser (admin scope needed)", "POST", rest+"/pets", bearerR, `{"type":"cat","price":12.5}`, 403, r.forbidden())
	r.otherSpellings(ctx, rest, bearerR)
	created := r.call(ctx, "REST POST /pets as adminuser", "POST", rest+"/pets", bearerA, `{"type":"cat","price":12.5}`, 201, `"type":"cat"`)
	var pet struct {
		ID int64 `json:"id"`
	}
	json.Unmarshal([]byte(created), &pet)
	if pet.ID > 0 {
		r.call(ctx, fmt.Sprintf("REST GET /pets/%d reads the new pet back", pet.ID), "GET", fmt.Sprintf("%s/pets/%d", rest, pet.ID), bearerR, "", 200, `"price":12.5`)
	}
	// The admin's policy was cached on a POST: within the TTL it must cover GET too.
	r.call(ctx, "REST GET /pets as adminuser after its POST (cached policy)", "GET", rest+"/pets", bearerA, "", 200, `"type":"cat"`)
	unchanged = r.counter("petstore")
	r.call(ctx, "REST POST /pets with a bad body", "POST", rest+"/pets", bearerA, `{"type":"cat","price":-1,"x":1}`, 400, `"validationErrors":"[`)
	if unchanged != nil {
		start = time.Now()
		r.record("  ...rejected by API Gateway, Lambda not run", "0 calls", yes(unchanged()), start, unchanged())
	}

	// Access tokens carry client_id instead of aud: both authorizers accept them.
	accA, accR := "Bearer "+adminT.access, "Bearer "+regularT.access
	r.call(ctx, "HTTP GET /claims with an access token (client_id)", "GET", h+"/claims", accR, "", 200, `"client_id"`)
	r.call(ctx, "REST GET /pets/1 with an access token (client_id)", "GET", rest+"/pets/1", accR, "", 200, `"type":"dog"`)
	if r.t.AccessTokens {
		r.call(ctx, "HTTP GET /RegularUser with regularuser's access token", "GET", h+"/RegularUser", accR, "", 200, "Hello from Regular User")
		r.call(ctx, "HTTP GET /AdminUser with regularuser's access token", "GET", h+"/AdminUser", accR, "", 403, "Forbidden")
		r.call(ctx, "HTTP GET /AdminUser with adminuser's access token", "GET", h+"/AdminUser", accA, "", 200, "Hello from Admin User")
		r.call(ctx, "REST GET /pets with regularuser's access token", "GET", rest+"/pets", accR, "", 200, `"type":"dog"`)
		r.call(ctx, "REST POST /pets with regularuser's access token", "POST", rest+"/pets", accR, `{"type":"cat","price":1}`, 403, r.forbidden())
	} else {
		r.skip("scoped access-token matrix", "local Cognito cannot scope them")
	}

	r.machineMatrix(ctx)

	if r.t.UntrustedToken == nil {
		r.skip("token of an untrusted issuer (REST)", "needs a key of another issuer")
	} else if untrusted, err := r.t.UntrustedToken(regular); err != nil {
		start = time.Now()
		r.record("make a token of an untrusted issuer", "token", err.Error(), start, false)
	} else {
		r.call(ctx, "REST GET /pets with a token of an untrusted issuer", "GET", rest+"/pets", "Bearer "+untrusted, "", 401, "Unauthorized")
	}
	if r.t.ExpiredToken == nil {
		r.skip("expired token (HTTP and REST)", "needs a token older than its validity")
		return
	}
	expired, err := r.t.ExpiredToken(regular)
	if err != nil {
		start = time.Now()
		r.record("make an expired token", "token", err.Error(), start, false)
		return
	}
	r.call(ctx, "HTTP GET /RegularUser with an expired token", "GET", h+"/RegularUser", "Bearer "+expired, "", 401, "Unauthorized")
	r.call(ctx, "REST GET /pets with an expired token", "GET", rest+"/pets", "Bearer "+expired, "", 401, "Unauthorized")
}

// otherSpellings: the regular user POSTs to other spellings of /pets. Under
// the old Allow-stage-minus-Deny policy each one created a pet; with the
// allow-list each is refused (403: not authorized, or no such resource) and
// no pet of the probe type exists afterwards.
func (r *runner) otherSpellings(ctx context.Context, rest, bearer string) {
	const probe = "spellingprobe"
	list := rest + "/pets?type=" + probe + "&limit=100"
	r.call(ctx, "REST GET /pets?type="+probe+" before", "GET", list, bearer, "", 200, "[]")
	for _, p := range []string{"/pets/", "//pets", "/pets%2F", "/PETS"} {
		start := time.Now()
		req, _ := http.NewRequestWithContext(ctx, "POST", rest+p, strings.NewReader(`{"type":"`+probe+`","price":1}`))
		req.Header.Set("Authorization", bearer)
		req.Header.Set("Content-Type", "application/json")
		got := "error"
		pass := false
		if resp, err := r.client.Do(req); err == nil {
			io.Copy(io.Discard, io.LimitReader(resp.Body, 1<<20))
			resp.Body.Close()
			got = fmt.Sprint(resp.StatusCode)
			pass = resp.StatusCode == http.StatusForbidden || resp.StatusCode == http.StatusNotFound
		}
		r.record("REST POST "+p+" as regularuser (another spelling)", "403/404", got, start, pass)
	}
	r.call(ctx, "  ...no pet created by any spelling", "GET", list, bearer, "", 200, "[]")
}

func errOr(err error, ok string) string {
	if err != nil {
		return "error"
	}
	return ok
}

func yes(b bool) string {
	if b {
		return "match"
	}
	return "mismatch"
}

// claimOf reads a claim from a token without verifying it (the APIs did).
func claimOf(token, claim string) string {
	parts := strings.Split(token, ".")
	if len(parts) != 3 {
		return ""
	}
	b, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		return ""
	}
	var m map[string]any
	json.Unmarshal(b, &m)
	s, _ := m[claim].(string)
	return s
}

// machineMatrix: client-credentials tokens from the token endpoint against
// both APIs - the read scope reads, only the write scope creates, a wrong
// secret gets no token, and the group routes stay closed to machines.
func (r *runner) machineMatrix(ctx context.Context) {
	m := r.t.Machine
	if m == nil {
		r.skip("machine-to-machine matrix", "no machine client")
		return
	}
	h, rest := r.t.HTTPAPIURL, r.t.RESTAPIURL
	readScope, writeScope := scope.Resource(m.ResourceServer, scope.PetsRead), scope.Resource(m.ResourceServer, scope.PetsWrite)
	token := func(step, sc string) string {
		start := time.Now()
		cc := clientcredentials.Config{ClientID: m.ClientID, ClientSecret: m.ClientSecret, TokenURL: m.TokenURL, Scopes: []string{sc}, AuthStyle: oauth2.AuthStyleInHeader}
		tok, err := cc.Token(ctx)
		ok := err == nil && claimOf(tok.AccessToken, "scope") == sc && claimOf(tok.AccessToken, "client_id") == m.ClientID
		r.record(step, "token", errOr(err, yes(ok)), start, ok)
		if !ok {
			return ""
		}
		return "Bearer " + tok.AccessToken
	}
	read := token("client credentials: token with "+readScope, readScope)
	write := token("client credentials: token with "+writeScope, writeScope)

	start := time.Now()
	status, code := r.tokenError(ctx, m.TokenURL, m.ClientID, "not-"+m.ClientSecret)
	got := fmt.Sprint(status)
	if code != "invalid_client" {
		got += " (" + code + ")"
	}
	r.record("client credentials with a wrong secret: invalid_client", "401", got, start, got == "401")

	if read != "" {
		r.call(ctx, "REST GET /pets with the read token", "GET", rest+"/pets", read, "", 200, `"type":"dog"`)
		r.call(ctx, "REST POST /pets with the read token (write scope needed)", "POST", rest+"/pets", read, `{"type":"cat","price":3}`, 403, r.forbidden())
		r.call(ctx, "HTTP GET /AdminUser with the read token", "GET", h+"/AdminUser", read, "", 403, "Forbidden")
		r.call(ctx, "HTTP GET /claims with the read token", "GET", h+"/claims", read, "", 200, `"client_id":"`+m.ClientID+`"`)
	}
	if write == "" {
		return
	}
	created := r.call(ctx, "REST POST /pets with the write token", "POST", rest+"/pets", write, `{"type":"bird","price":7.5}`, 201, `"createdBy":"`+m.ClientID+`"`)
	var pet struct {
		ID int64 `json:"id"`
	}
	json.Unmarshal([]byte(created), &pet)
	if pet.ID > 0 && read != "" {
		body := r.call(ctx, fmt.Sprintf("REST GET /pets/%d with the read token", pet.ID), "GET", fmt.Sprintf("%s/pets/%d", rest, pet.ID), read, "", 200, `"type":"bird"`)
		start = time.Now()
		hidden := body != "" && !strings.Contains(body, "createdBy")
		r.record("  ...createdBy shown only with the write scope", "hidden", map[bool]string{true: "hidden", false: "shown"}[hidden], start, hidden)
	}
}

// tokenError asks the token endpoint for a token it should refuse and
// returns the status and the OAuth2 error code.
func (r *runner) tokenError(ctx context.Context, tokenURL, id, secret string) (int, string) {
	req, _ := http.NewRequestWithContext(ctx, "POST", tokenURL, strings.NewReader(url.Values{"grant_type": {"client_credentials"}}.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.SetBasicAuth(id, secret)
	resp, err := r.client.Do(req)
	if err != nil {
		return 0, "error"
	}
	defer resp.Body.Close()
	var e struct {
		Error string `json:"error"`
	}
	json.NewDecoder(io.LimitReader(resp.Body, 1<<16)).Decode(&e)
	return resp.StatusCode, e.Error
}
