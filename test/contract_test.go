package test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"net/http"
	"net/http/httptest"
	"regexp"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/assertions"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsapigatewayv2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsapigatewayv2integrations"
	"github.com/aws/aws-cdk-go/awscdk/v2/awscognito"
	"github.com/aws/constructs-go/constructs/v10"
	"github.com/aws/jsii-runtime-go"
	"github.com/golang-jwt/jwt/v5"

	"github.com/secure-api-go/apigw-jwt/constructs/jwtauthorizer"
	"github.com/secure-api-go/apigw-jwt/internal/seedspec"
	"github.com/secure-api-go/apigw-jwt/internal/testjwt"
	"github.com/secure-api-go/apigw-jwt/lambdas/authz"
	"github.com/secure-api-go/apigw-jwt/lambdas/policy"
)

// contractIdP is an issuer on 127.0.0.1 with an RSA key (for RS and PS
// tokens; its JWK names no alg, as issuers signing with both publish it)
// and a P-256 key, both under fixed kids, so two IdPs share kids and only
// the binding of keys to issuers tells them apart. It serves OIDC discovery
// for any issuer path and the JWKS at every other path.
type contractIdP struct {
	srv  *httptest.Server
	rsa  *rsa.PrivateKey
	ec   *ecdsa.PrivateKey
	jwks atomic.Int64 // JWKS requests
}

func newContractIdP(t *testing.T) *contractIdP {
	t.Helper()
	p := &contractIdP{}
	var err error
	if p.rsa, err = rsa.GenerateKey(rand.Reader, 2048); err != nil {
		t.Fatal(err)
	}
	if p.ec, err = ecdsa.GenerateKey(elliptic.P256(), rand.Reader); err != nil {
		t.Fatal(err)
	}
	rsaJWK := testjwt.JWK("rsa-1", &p.rsa.PublicKey)
	delete(rsaJWK, "alg")
	b64 := base64.RawURLEncoding.EncodeToString
	point, err := p.ec.PublicKey.Bytes() // 0x04, X, Y
	if err != nil {
		t.Fatal(err)
	}
	ecJWK := map[string]string{"kty": "EC", "crv": "P-256", "alg": "ES256", "use": "sig", "kid": "ec-1",
		"x": b64(point[1:33]), "y": b64(point[33:65])}
	body, _ := json.Marshal(map[string]any{"keys": []any{rsaJWK, ecJWK}})
	p.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		if prefix, ok := strings.CutSuffix(r.URL.Path, "/.well-known/openid-configuration"); ok {
			json.NewEncoder(w).Encode(map[string]any{"issuer": p.srv.URL + prefix, "jwks_uri": p.srv.URL + "/keys"})
			return
		}
		p.jwks.Add(1)
		w.Write(body)
	}))
	t.Cleanup(p.srv.Close)
	return p
}

// sign makes a token with alg (RS256, PS256 or ES256) of claims, which get
// an iat and an exp of an hour unless they have them.
func (p *contractIdP) sign(t *testing.T, alg string, claims jwt.MapClaims) string {
	t.Helper()
	c := jwt.MapClaims{"iat": time.Now().Unix(), "exp": time.Now().Add(time.Hour).Unix(), "sub": "user-1"}
	for k, v := range claims {
		c[k] = v
	}
	tok := jwt.NewWithClaims(jwt.GetSigningMethod(alg), c)
	var key any = p.rsa
	tok.Header["kid"] = "rsa-1"
	if alg == "ES256" {
		key, tok.Header["kid"] = p.ec, "ec-1"
	}
	s, err := tok.SignedString(key)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// seedKeys is what the JWKS seed Lambda returns for one issuer allowing
// algs: its JWKS fetched and reduced by seedspec.Reduce, as the Lambda
// does, or nil when no key is left.
func seedKeys(t *testing.T, uri string, algs []string) json.RawMessage {
	t.Helper()
	resp, err := http.Get(uri)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	keys, private, err := seedspec.Reduce(body, algs)
	if err != nil || len(private) > 0 {
		t.Fatalf("JWKS at %s: %v, private keys %v", uri, err, private)
	}
	if len(keys) == 0 {
		return nil
	}
	b, _ := json.Marshal(map[string]any{"keys": keys})
	return b
}

// resolveCfn replaces Ref, Fn::GetAtt and Fn::Join in a template value with
// values["<id>"] and values["<id>.<attr>"]; any other intrinsic, or an id
// without a value, fails the test, so no token reaches the authorizer.
func resolveCfn(t *testing.T, v any, values map[string]string) any {
	t.Helper()
	switch x := v.(type) {
	case []any:
		out := make([]any, len(x))
		for i, e := range x {
			out[i] = resolveCfn(t, e, values)
		}
		return out
	case map[string]any:
		look := func(key string) string {
			s, ok := values[key]
			if !ok {
				t.Fatalf("no value for %s in %s", key, asJSON(x))
			}
			return s
		}
		if id, ok := x["Ref"].(string); ok && len(x) == 1 {
			return look(id)
		}
		if ga, ok := x["Fn::GetAtt"].([]any); ok && len(x) == 1 {
			return look(fmt.Sprint(ga[0]) + "." + fmt.Sprint(ga[1]))
		}
		if j, ok := x["Fn::Join"].([]any); ok && len(x) == 1 {
			var parts []string
			for _, p := range resolveCfn(t, j[1], values).([]any) {
				parts = append(parts, p.(string))
			}
			return strings.Join(parts, j[0].(string))
		}
		if len(x) == 1 {
			for k := range x {
				if strings.HasPrefix(k, "Fn::") || k == "Ref" {
					t.Fatalf("unresolved intrinsic %s", asJSON(x))
				}
			}
		}
		out := map[string]any{}
		for k, e := range x {
			out[k] = resolveCfn(t, e, values)
		}
		return out
	}
	return v
}

// contractCase is one synthesized authorizer and what its tokens may do.
type contractCase struct {
	name string
	kind jwtauthorizer.Kind
	// props given the pool and its clients (web, machine) and the IdPs.
	props func(pool awscognito.UserPool, web, machine awscognito.UserPoolClient, a, b *contractIdP) *jwtauthorizer.Props
	// wantVars are variables the construct must have written (others must be absent).
	wantVars []string
	tokens   func(t *testing.T, pool string, a, b *contractIdP) []contractToken
	// noFetch: every token verifies with the deploy-time keys, no JWKS request.
	noFetch bool
}

type contractToken struct {
	name, token, method, path string
	want                      string // allow, deny or unauthorized
}

// The app client ids and the pool's issuer as CloudFormation resolves them
// at deploy; the pool's issuer is served by IdP a on loopback, so its JWKS
// (the construct's <ProviderURL>/.well-known/jwks.json) is reachable here.
const (
	webClientID     = "4tq8ou3hg8ep7k3gbr0cm1ibb7"
	machineClientID = "6a2kvpm8f0aqd0l1m7co0pd3te"
	poolID          = "eu-west-1_Ab12Cd34E"
)

var contractCases = []contractCase{
	{
		name: "REST: Cognito pool and a URL issuer, keys at deploy (ISSUERS), groups, scopes, clients, context claims",
		kind: jwtauthorizer.REST,
		props: func(pool awscognito.UserPool, web, machine awscognito.UserPoolClient, a, b *contractIdP) *jwtauthorizer.Props {
			return &jwtauthorizer.Props{
				Issuers: []jwtauthorizer.Issuer{
					{UserPool: pool, Clients: []awscognito.IUserPoolClient{web, machine}},
					{URL: b.srv.URL + "/", JWKSURI: b.srv.URL + "/jwks", Audiences: []string{"https://api.example.com"}, TokenUse: "access"},
				},
				Rules: []jwtauthorizer.Rule{
					{Method: "GET", Resource: "/items", AnyToken: true},
					{Method: "POST", Resource: "/items", Groups: []string{"admins"}, Scopes: []string{"items.write"}},
					// A client id resolved only at deploy: SCOPE_RULES becomes a Fn::Join.
					{Method: "DELETE", Resource: "/items/{id}", Clients: []string{*machine.UserPoolClientId()}},
				},
				ContextClaims:    []string{"email"},
				MetricsNamespace: "Items",
			}
		},
		wantVars: []string{"ISSUERS", "SCOPE_RULES", "CONTEXT_CLAIMS", "METRICS_NAMESPACE"},
		noFetch:  true,
		tokens: func(t *testing.T, pool string, a, b *contractIdP) []contractToken {
			id := func(extra jwt.MapClaims) string {
				c := jwt.MapClaims{"iss": pool, "aud": webClientID, "token_use": "id", "email": "a@example.com"}
				for k, v := range extra {
					c[k] = v
				}
				return a.sign(t, "RS256", c)
			}
			machineAccess := a.sign(t, "RS256", jwt.MapClaims{"iss": pool, "client_id": machineClientID, "token_use": "access", "scope": "x"})
			ext := b.sign(t, "RS256", jwt.MapClaims{"iss": b.srv.URL + "/", "aud": "https://api.example.com", "token_use": "access", "scope": "items.write"})
			return []contractToken{
				{"pool ID token reads", id(nil), "GET", "/items", "allow"},
				{"pool ID token without the group cannot write", id(nil), "POST", "/items", "deny"},
				{"pool ID token in the group writes", id(jwt.MapClaims{"cognito:groups": []string{"admins"}}), "POST", "/items", "allow"},
				{"the machine client deletes", machineAccess, "DELETE", "/items/42", "allow"},
				{"the web client does not delete", id(nil), "DELETE", "/items/42", "deny"},
				{"another client of the pool", a.sign(t, "RS256", jwt.MapClaims{"iss": pool, "aud": "other-client", "token_use": "id"}), "GET", "/items", "unauthorized"},
				{"URL issuer access token writes by scope", ext, "POST", "/items", "allow"},
				{"URL issuer ID token refused (TokenUse access)", b.sign(t, "RS256", jwt.MapClaims{"iss": b.srv.URL + "/", "aud": "https://api.example.com", "token_use": "id"}), "GET", "/items", "unauthorized"},
				{"the pool's iss signed with the URL issuer's key (same kid)", b.sign(t, "RS256", jwt.MapClaims{"iss": pool, "aud": webClientID, "token_use": "id"}), "GET", "/items", "unauthorized"},
				{"PS256 not allowed by default", a.sign(t, "PS256", jwt.MapClaims{"iss": pool, "aud": webClientID, "token_use": "id"}), "GET", "/items", "unauthorized"},
			}
		},
	},
	{
		name: "REST: one Cognito pool, keys at deploy (JWKS_JSON), PS256, TokenUse id, pool audiences",
		kind: jwtauthorizer.REST,
		props: func(pool awscognito.UserPool, web, _ awscognito.UserPoolClient, _, _ *contractIdP) *jwtauthorizer.Props {
			return &jwtauthorizer.Props{
				Issuers: []jwtauthorizer.Issuer{{UserPool: pool, Clients: []awscognito.IUserPoolClient{web}, Audiences: []string{"extra-aud"},
					TokenUse: "id", Algorithms: []string{"PS256", "RS256"}}},
				Rules: []jwtauthorizer.Rule{{Method: "GET", Resource: "/", Scopes: []string{"read"}}, {Method: "GET", Resource: "/files/{path+}", AnyToken: true}},
			}
		},
		wantVars: []string{"ISSUER", "JWKS_URI", "AUDIENCE", "TOKEN_USE", "ALGORITHMS", "JWKS_JSON", "SCOPE_RULES"},
		noFetch:  true,
		tokens: func(t *testing.T, pool string, a, _ *contractIdP) []contractToken {
			tok := func(alg, aud, use, scope string) string {
				return a.sign(t, alg, jwt.MapClaims{"iss": pool, "aud": aud, "token_use": use, "scope": scope})
			}
			return []contractToken{
				{"PS256 ID token with the scope", tok("PS256", webClientID, "id", "read"), "GET", "/", "allow"},
				{"RS256 ID token for the extra audience", tok("RS256", "extra-aud", "id", "read"), "GET", "/", "allow"},
				{"without the scope", tok("PS256", webClientID, "id", "other"), "GET", "/", "deny"},
				{"greedy path, any token", tok("PS256", webClientID, "id", ""), "GET", "/files/a/b.txt", "allow"},
				{"access token refused (TokenUse id)", tok("PS256", webClientID, "access", "read"), "GET", "/", "unauthorized"},
				{"ES256 not allowed", tok("ES256", webClientID, "id", "read"), "GET", "/", "unauthorized"},
			}
		},
	},
	{
		name: "HTTP simple responses: two URL issuers, keys at deploy (ISSUERS), PS256 and ES256, clients, context claims",
		kind: jwtauthorizer.HTTP,
		props: func(_ awscognito.UserPool, _, _ awscognito.UserPoolClient, a, b *contractIdP) *jwtauthorizer.Props {
			algs := []string{"PS256", "ES256"}
			return &jwtauthorizer.Props{
				Kind: jwtauthorizer.HTTP,
				Issuers: []jwtauthorizer.Issuer{
					{URL: a.srv.URL + "/a", JWKSURI: a.srv.URL + "/jwks", Audiences: []string{"orders-api"}, Algorithms: algs},
					{URL: b.srv.URL + "/b", JWKSURI: b.srv.URL + "/jwks", Audiences: []string{"orders-api", "reporting"}, Algorithms: algs},
				},
				Rules: []jwtauthorizer.Rule{
					{Method: "GET", Resource: "/orders", AnyToken: true},
					{Method: "GET", Resource: "/orders/{id}", Clients: []string{"reporting"}},
				},
				SimpleResponses: true,
				ContextClaims:   []string{"tenant"},
			}
		},
		wantVars: []string{"ISSUERS", "ALGORITHMS", "SIMPLE_RESPONSES", "SCOPE_RULES", "CONTEXT_CLAIMS"},
		noFetch:  true, // the EC keys are seeded too
		tokens: func(t *testing.T, _ string, a, b *contractIdP) []contractToken {
			ta := func(alg, aud string) string {
				return a.sign(t, alg, jwt.MapClaims{"iss": a.srv.URL + "/a", "aud": aud, "tenant": "t1"})
			}
			tb := func(alg, aud string) string {
				return b.sign(t, alg, jwt.MapClaims{"iss": b.srv.URL + "/b", "aud": aud})
			}
			return []contractToken{
				{"PS256 lists orders", ta("PS256", "orders-api"), "GET", "/orders", "allow"},
				{"ES256 (seeded) lists orders", ta("ES256", "orders-api"), "GET", "/orders", "allow"},
				{"RS256 not allowed", ta("RS256", "orders-api"), "GET", "/orders", "unauthorized"},
				{"not the reporting client", ta("PS256", "orders-api"), "GET", "/orders/7", "deny"},
				{"the reporting client of issuer b", tb("ES256", "reporting"), "GET", "/orders/7", "allow"},
				{"reporting is not an audience of issuer a", ta("PS256", "reporting"), "GET", "/orders/7", "unauthorized"},
			}
		},
	},
	{
		name: "REST: URL issuer (ES256) before a Cognito pool (default RS256), keys at deploy: per-issuer algorithms in the seed's ISSUERS",
		kind: jwtauthorizer.REST,
		props: func(pool awscognito.UserPool, web, _ awscognito.UserPoolClient, _, b *contractIdP) *jwtauthorizer.Props {
			return &jwtauthorizer.Props{
				Issuers: []jwtauthorizer.Issuer{
					{URL: b.srv.URL + "/", JWKSURI: b.srv.URL + "/jwks", Audiences: []string{"api"}, Algorithms: []string{"ES256"}},
					{UserPool: pool, Clients: []awscognito.IUserPoolClient{web}},
				},
				Rules: []jwtauthorizer.Rule{{Method: "GET", Resource: "/items", AnyToken: true}},
			}
		},
		wantVars: []string{"ISSUERS", "SCOPE_RULES"},
		noFetch:  true, // each issuer's keys for its own algorithms are seeded
		tokens: func(t *testing.T, pool string, a, b *contractIdP) []contractToken {
			tp := func(alg string) string { return a.sign(t, alg, jwt.MapClaims{"iss": pool, "aud": webClientID}) }
			tb := func(alg string) string { return b.sign(t, alg, jwt.MapClaims{"iss": b.srv.URL + "/", "aud": "api"}) }
			return []contractToken{
				{"pool RS256", tp("RS256"), "GET", "/items", "allow"},
				{"URL issuer ES256", tb("ES256"), "GET", "/items", "allow"},
				{"pool token with the URL issuer's ES256", tp("ES256"), "GET", "/items", "unauthorized"},
				{"URL issuer token with the pool's RS256", tb("RS256"), "GET", "/items", "unauthorized"},
				{"pool PS256 (neither allows it)", tp("PS256"), "GET", "/items", "unauthorized"},
			}
		},
	},
	{
		name: "REST: DisableKeysAtDeploy, URL issuer without JWKSURI (OIDC discovery), ES256, TokenUse access",
		kind: jwtauthorizer.REST,
		props: func(_ awscognito.UserPool, _, _ awscognito.UserPoolClient, a, _ *contractIdP) *jwtauthorizer.Props {
			return &jwtauthorizer.Props{
				Issuers:             []jwtauthorizer.Issuer{{URL: a.srv.URL + "/tenant", Audiences: []string{"api"}, TokenUse: "access", Algorithms: []string{"ES256"}}},
				Rules:               []jwtauthorizer.Rule{{Method: "GET", Resource: "/items", Scopes: []string{"items.read"}}},
				DisableKeysAtDeploy: true,
			}
		},
		wantVars: []string{"ISSUER", "AUDIENCE", "TOKEN_USE", "ALGORITHMS", "SCOPE_RULES"},
		tokens: func(t *testing.T, _ string, a, _ *contractIdP) []contractToken {
			tok := func(use, scope string) string {
				return a.sign(t, "ES256", jwt.MapClaims{"iss": a.srv.URL + "/tenant", "aud": "api", "token_use": use, "scope": scope})
			}
			return []contractToken{
				{"access token with the scope", tok("access", "items.read"), "GET", "/items", "allow"},
				{"without the scope", tok("access", "items.write"), "GET", "/items", "deny"},
				{"ID token refused", tok("id", "items.read"), "GET", "/items", "unauthorized"},
			}
		},
	},
	{
		name: "HTTP IAM policy: DisableKeysAtDeploy, pool and URL issuer with different algorithms (ISSUERS by the construct), groups",
		kind: jwtauthorizer.HTTP,
		props: func(pool awscognito.UserPool, web, _ awscognito.UserPoolClient, _, b *contractIdP) *jwtauthorizer.Props {
			return &jwtauthorizer.Props{
				Kind: jwtauthorizer.HTTP,
				Issuers: []jwtauthorizer.Issuer{
					{UserPool: pool, Clients: []awscognito.IUserPoolClient{web}},
					{URL: b.srv.URL + "/", JWKSURI: b.srv.URL + "/jwks", Audiences: []string{"api"}, Algorithms: []string{"PS256"}},
				},
				Rules:               []jwtauthorizer.Rule{{Method: "GET", Resource: "/items", Groups: []string{"readers"}}},
				DisableKeysAtDeploy: true,
			}
		},
		wantVars: []string{"ISSUERS", "SCOPE_RULES"},
		tokens: func(t *testing.T, pool string, a, b *contractIdP) []contractToken {
			readers := []string{"readers"}
			return []contractToken{
				{"pool RS256 reader", a.sign(t, "RS256", jwt.MapClaims{"iss": pool, "aud": webClientID, "cognito:groups": readers}), "GET", "/items", "allow"},
				{"pool token without the group", a.sign(t, "RS256", jwt.MapClaims{"iss": pool, "aud": webClientID}), "GET", "/items", "deny"},
				{"pool PS256 (the pool allows RS256 only)", a.sign(t, "PS256", jwt.MapClaims{"iss": pool, "aud": webClientID, "cognito:groups": readers}), "GET", "/items", "unauthorized"},
				{"URL issuer PS256 reader", b.sign(t, "PS256", jwt.MapClaims{"iss": b.srv.URL + "/", "aud": "api", "cognito:groups": readers}), "GET", "/items", "allow"},
				{"URL issuer RS256 (it allows PS256 only)", b.sign(t, "RS256", jwt.MapClaims{"iss": b.srv.URL + "/", "aud": "api", "cognito:groups": readers}), "GET", "/items", "unauthorized"},
			}
		},
	},
}

// TestConstructEnvironmentRunsTheBinary is the contract between the
// construct and the authorizer binary: for each combination of props, the
// environment the construct writes - with the deploy-time values filled in
// as CloudFormation and the seed Lambda would fill them - is accepted by
// authz.FromEnv (what the binary runs at cold start), and the handler it
// makes allows, denies and refuses the tokens as the props say.
func TestConstructEnvironmentRunsTheBinary(t *testing.T) {
	for _, tc := range contractCases {
		t.Run(tc.name, func(t *testing.T) {
			a, b := newContractIdP(t), newContractIdP(t)
			stack := constructStack()
			pool := awscognito.NewUserPool(stack, jsii.String("Pool"), nil)
			web := pool.AddClient(jsii.String("Web"), nil)
			machine := pool.AddClient(jsii.String("Machine"), nil)
			props := tc.props(pool, web, machine, a, b)
			auth := jwtauthorizer.New(stack, "Auth", props)
			attach(stack, auth, props.Rules)

			id := func(c constructs.IConstruct) string {
				return *stack.GetLogicalId(c.Node().DefaultChild().(awscdk.CfnElement))
			}
			poolURL := a.srv.URL + "/" + poolID
			values := map[string]string{
				id(pool) + ".ProviderURL": poolURL,
				id(web):                   webClientID,
				id(machine):               machineClientID,
			}
			tpl := assertions.Template_FromStack(stack, nil)
			if auth.Seed != nil {
				// The seed Lambda's answer: its Issuers property resolved, each
				// issuer's keys fetched and reduced, as JWKS_JSON or ISSUERS.
				var res map[string]any
				for _, r := range *tpl.FindResources(jsii.String(seedspec.ResourceType), nil) {
					res = (*r)["Properties"].(map[string]any)
				}
				raw, _ := json.Marshal(resolveCfn(t, res[seedspec.PropIssuers], values))
				var issuers []seedspec.Issuer
				if err := json.Unmarshal(raw, &issuers); err != nil {
					t.Fatalf("seed issuers %s: %v", raw, err)
				}
				var shared []string
				if v, ok := res[seedspec.PropAlgorithms]; ok {
					b, _ := json.Marshal(v)
					json.Unmarshal(b, &shared)
				}
				seedID := id(auth.Seed.Resource)
				switch res[seedspec.PropEnv] {
				case seedspec.EnvJWKS:
					values[seedID+"."+seedspec.AttrJWKS] = string(seedKeys(t, issuers[0].JWKSURI, issuers[0].AlgorithmsOr(shared)))
				case seedspec.EnvIssuers:
					for i := range issuers {
						issuers[i].JWKS = seedKeys(t, issuers[i].JWKSURI, issuers[i].AlgorithmsOr(shared))
					}
					b, _ := json.Marshal(issuers)
					values[seedID+"."+seedspec.AttrIssuers] = string(b)
				default:
					t.Fatalf("seed Env %v", res[seedspec.PropEnv])
				}
			}
			env := map[string]string{}
			for k, v := range templateEnv(t, tpl, id(auth.Lambda.Function)) {
				s, ok := resolveCfn(t, v, values).(string)
				if !ok {
					t.Fatalf("%s is not a string: %s", k, asJSON(v))
				}
				env[k] = s
			}
			var names []string
			for k := range env {
				names = append(names, k)
			}
			slices.Sort(names)
			want := slices.Sorted(slices.Values(tc.wantVars))
			if !slices.Equal(names, want) {
				t.Fatalf("variables %v, want %v", names, want)
			}
			h, err := authz.FromEnv(func(k string) string { return env[k] }, nil)
			if err != nil {
				t.Fatalf("the authorizer refuses the construct's environment:\n%v\nenvironment: %s", err, asJSON(env))
			}

			fetchesBefore := a.jwks.Load() + b.jwks.Load()
			for _, tok := range tc.tokens(t, poolURL, a, b) {
				got, ctx := decide(t, h, tc.kind, tok.method, tok.path, tok.token)
				if got != tok.want {
					t.Errorf("%s: %s %s: %s, want %s", tok.name, tok.method, tok.path, got, tok.want)
				}
				if got != "allow" {
					continue
				}
				claims := jwt.MapClaims{}
				if _, _, err := jwt.NewParser().ParseUnverified(tok.token, claims); err != nil {
					t.Fatal(err)
				}
				for _, cl := range props.ContextClaims {
					if v, ok := claims[cl]; ok && ctx[cl] != v {
						t.Errorf("%s: context %v, want %s %q", tok.name, ctx, cl, v)
					}
				}
			}
			if tc.noFetch && a.jwks.Load()+b.jwks.Load() != fetchesBefore {
				t.Errorf("RSA tokens caused %d JWKS requests despite the deploy-time keys", a.jwks.Load()+b.jwks.Load()-fetchesBefore)
			}
		})
	}
}

// attach puts every rule's method on a REST API or HTTP API behind auth, so
// the construct's coverage check passes.
func attach(stack awscdk.Stack, auth *jwtauthorizer.Authorizer, rules []jwtauthorizer.Rule) {
	seen := map[string]bool{}
	var methods []string
	for _, r := range rules {
		if m := r.Method + " " + r.Resource; !seen[m] {
			seen[m] = true
			methods = append(methods, m)
		}
	}
	if auth.REST != nil {
		restAPI(stack, auth.REST, methods...)
		return
	}
	api := awsapigatewayv2.NewHttpApi(stack, jsii.String("Http"), nil)
	integration := awsapigatewayv2integrations.NewHttpUrlIntegration(jsii.String("Backend"), jsii.String("https://backend.example.com"), nil)
	for _, m := range methods {
		verb, path, _ := strings.Cut(m, " ")
		api.AddRoutes(&awsapigatewayv2.AddRoutesOptions{Path: jsii.String(path), Methods: &[]awsapigatewayv2.HttpMethod{awsapigatewayv2.HttpMethod(verb)},
			Integration: integration, Authorizer: auth.HTTP})
	}
}

// routeKey is the route key API Gateway sends for verb and path: attach
// makes one route per rule, and the most specific matching route wins (a
// literal segment before a {param}); no route: "$default".
func routeKey(rules []policy.Rule, verb, path string) string {
	best, score := "$default", -1
	for _, r := range rules {
		want, got := strings.Split(strings.Trim(r.Resource, "/"), "/"), strings.Split(strings.Trim(path, "/"), "/")
		if r.Method != verb || len(want) != len(got) {
			continue
		}
		n := 0
		for i := range want {
			switch {
			case want[i] == got[i]:
				n++
			case strings.HasPrefix(want[i], "{") && got[i] != "":
			default:
				n = -1
			}
			if n < 0 {
				break
			}
		}
		if n > score {
			best, score = r.Method+" "+r.Resource, n
		}
	}
	return best
}

// decide runs the handler on a TOKEN event (REST) or an HTTP API payload
// 2.0 event (HTTP) for verb and path and says allow, deny or unauthorized,
// with the context of an allow.
func decide(t *testing.T, h *authz.Handler, kind jwtauthorizer.Kind, verb, path, token string) (string, map[string]any) {
	t.Helper()
	const api = "arn:aws:execute-api:eu-west-1:123456789012:a1b2c3d4e5/"
	var arn string
	var event map[string]any
	if kind == jwtauthorizer.REST {
		arn = api + "prod/" + verb + path
		event = map[string]any{"type": "TOKEN", "authorizationToken": "Bearer " + token, "methodArn": arn}
	} else {
		arn = api + "$default/" + verb + path
		event = map[string]any{"version": "2.0", "type": "REQUEST", "routeArn": arn, "identitySource": []string{"Bearer " + token},
			"routeKey": routeKey(h.Rules, verb, path), "rawPath": path, "headers": map[string]string{"authorization": "Bearer " + token}}
	}
	raw, _ := json.Marshal(event)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	resp, err := h.Handle(ctx, raw)
	if errors.Is(err, authz.ErrUnauthorized) {
		if err.Error() != "Unauthorized" {
			t.Fatalf("refusal %q, want Unauthorized exactly", err)
		}
		return "unauthorized", nil
	}
	if err != nil {
		t.Fatalf("%s %s: fault %v", verb, path, err)
	}
	var out struct {
		IsAuthorized   *bool          `json:"isAuthorized"`
		Context        map[string]any `json:"context"`
		PolicyDocument struct {
			Statement []struct {
				Effect   string
				Resource []string
			}
		} `json:"policyDocument"`
	}
	b, _ := json.Marshal(resp)
	if err := json.Unmarshal(b, &out); err != nil {
		t.Fatal(err)
	}
	if out.IsAuthorized != nil {
		if *out.IsAuthorized {
			return "allow", out.Context
		}
		return "deny", nil
	}
	allowed := false
	for _, s := range out.PolicyDocument.Statement {
		for _, r := range s.Resource {
			if iamMatch(r, arn) {
				if s.Effect == "Deny" {
					return "deny", nil
				}
				allowed = allowed || s.Effect == "Allow"
			}
		}
	}
	if allowed {
		return "allow", out.Context
	}
	return "deny", nil
}

// iamMatch is IAM's matching of a resource pattern: '*' any run of
// characters, '?' one.
func iamMatch(pattern, s string) bool {
	re := "^" + strings.NewReplacer(`\*`, ".*", `\?`, ".").Replace(regexp.QuoteMeta(pattern)) + "$"
	return regexp.MustCompile(re).MatchString(s)
}

// TestConstructRefusesWhatTheBinaryCannotHonour: a prop the authorizer
// would refuse at cold start (or read otherwise than meant) stops the synth
// instead of a deploy whose authorizer never starts. Each case shows the
// binary's side too: FromEnv refuses the variable the prop would become.
func TestConstructRefusesWhatTheBinaryCannotHonour(t *testing.T) {
	base := map[string]string{"ISSUER": external, "JWKS_URI": external + ".well-known/jwks.json", "AUDIENCE": "api",
		"SCOPE_RULES": `[{"method":"GET","resource":"/items","anyToken":true}]`}
	rules := []jwtauthorizer.Rule{{Method: "GET", Resource: "/items", AnyToken: true}}
	issuer := func(mod func(*jwtauthorizer.Issuer)) []jwtauthorizer.Issuer {
		is := jwtauthorizer.Issuer{URL: external, JWKSURI: external + ".well-known/jwks.json", Audiences: []string{"api"}}
		if mod != nil {
			mod(&is)
		}
		return []jwtauthorizer.Issuer{is}
	}
	for _, tc := range []struct {
		name  string
		props jwtauthorizer.Props
		env   map[string]string // what the binary would get instead of base's; nil: it would misread, not refuse
		want  string            // in the synth error
	}{
		{"a context claim the context always carries", jwtauthorizer.Props{Issuers: issuer(nil), Rules: rules, ContextClaims: []string{"email", "sub"}},
			map[string]string{"CONTEXT_CLAIMS": "email,sub"}, `ContextClaims holds "sub", which the context always carries`},
		{"a context claim API Gateway puts beside the context", jwtauthorizer.Props{Issuers: issuer(nil), Rules: rules, ContextClaims: []string{"principalId"}},
			map[string]string{"CONTEXT_CLAIMS": "principalId"}, `ContextClaims holds "principalId", which the context always carries or reserves`},
		{"a context claim twice", jwtauthorizer.Props{Issuers: issuer(nil), Rules: rules, ContextClaims: []string{"email", "email"}},
			map[string]string{"CONTEXT_CLAIMS": "email,email"}, `ContextClaims holds "email" twice`},
		{"rules whose path parameter reaches a resource granting less", jwtauthorizer.Props{Issuers: issuer(nil), Rules: []jwtauthorizer.Rule{
			{Method: "GET", Resource: "/items", Scopes: []string{"admin"}}, {Method: "GET", Resource: "/items/{id}", AnyToken: true}}},
			map[string]string{"SCOPE_RULES": `[{"method":"GET","resource":"/items","scopes":["admin"]},{"method":"GET","resource":"/items/{id}","anyToken":true}]`},
			"the authorizer would refuse these Rules at cold start"},
		{"a scope that is not a scope token", jwtauthorizer.Props{Issuers: issuer(nil), Rules: []jwtauthorizer.Rule{{Method: "GET", Resource: "/items", Scopes: []string{"lire-é"}}}},
			map[string]string{"SCOPE_RULES": `[{"method":"GET","resource":"/items","scopes":["lire-é"]}]`}, `scope "lire-é" is not a valid scope token`},
		{"an HMAC algorithm", jwtauthorizer.Props{Issuers: issuer(func(is *jwtauthorizer.Issuer) { is.Algorithms = []string{"HS256"} }), Rules: rules},
			map[string]string{"ALGORITHMS": "HS256"}, `Algorithms holds "HS256"`},
		{"a token use Cognito has not", jwtauthorizer.Props{Issuers: issuer(func(is *jwtauthorizer.Issuer) { is.TokenUse = "refresh" }), Rules: rules},
			map[string]string{"TOKEN_USE": "refresh"}, `TokenUse "refresh"`},
		{"a plain http JWKS URI", jwtauthorizer.Props{Issuers: issuer(func(is *jwtauthorizer.Issuer) { is.JWKSURI = "http://idp.example.com/jwks" }), Rules: rules},
			map[string]string{"JWKS_URI": "http://idp.example.com/jwks"}, "must use https"},
		{"an audience with a comma (AUDIENCE would split it)", jwtauthorizer.Props{Issuers: issuer(func(is *jwtauthorizer.Issuer) { is.Audiences = []string{"a,b"} }), Rules: rules},
			nil, `Audiences holds "a,b"`},
		{"an audience with a blank (AUDIENCE would trim it)", jwtauthorizer.Props{Issuers: issuer(func(is *jwtauthorizer.Issuer) { is.Audiences = []string{"api "} }), Rules: rules},
			nil, `Audiences holds "api "`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if tc.env != nil {
				env := maps.Clone(base)
				maps.Copy(env, tc.env)
				if _, err := authz.FromEnv(func(k string) string { return env[k] }, nil); err == nil {
					t.Fatalf("the binary accepts %v: the construct need not refuse it", tc.env)
				}
			}
			stack := constructStack()
			defer func() {
				if r := recover(); r == nil || !strings.Contains(fmt.Sprint(r), tc.want) {
					t.Fatalf("panic %v, want %q", r, tc.want)
				}
			}()
			props := tc.props
			jwtauthorizer.New(stack, "Auth", &props)
		})
	}
}
