package test

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/assertions"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsapigateway"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsapigatewayv2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsapigatewayv2integrations"
	"github.com/aws/aws-cdk-go/awscdk/v2/awscognito"
	"github.com/aws/jsii-runtime-go"

	"github.com/secure-api-go/apigw-jwt/constructs/jwtauthorizer"
)

// constructStack is a stack of another app, with Lambda bundling skipped.
func constructStack() awscdk.Stack {
	app := awscdk.NewApp(&awscdk.AppProps{Context: &map[string]any{"aws:cdk:bundling-stacks": []any{}}, AnalyticsReporting: jsii.Bool(false)})
	return awscdk.NewStack(app, jsii.String("Other"), nil)
}

const external = "https://login.example.com/"

func externalIssuer() jwtauthorizer.Issuer {
	return jwtauthorizer.Issuer{URL: external, JWKSURI: external + ".well-known/jwks.json", Audiences: []string{"https://api.example.com"}, TokenUse: "access"}
}

// restAPI is a REST API with GET and POST /items and GET /items/{id}, each
// behind auth; methods are "VERB path" pairs.
func restAPI(stack awscdk.Stack, auth awsapigateway.IAuthorizer, methods ...string) awsapigateway.RestApi {
	api := awsapigateway.NewRestApi(stack, jsii.String("Api"), nil)
	mock := awsapigateway.NewMockIntegration(nil)
	for _, m := range methods {
		verb, path, _ := strings.Cut(m, " ")
		res := api.Root().ResourceForPath(jsii.String(path))
		res.AddMethod(jsii.String(verb), mock, &awsapigateway.MethodOptions{Authorizer: auth})
	}
	return api
}

func synthErr(stack awscdk.Stack) (msg string) {
	defer func() {
		if r := recover(); r != nil {
			msg = fmt.Sprint(r)
		}
	}()
	awscdk.Stage_Of(stack).Synth(nil)
	return ""
}

// TestConstructREST: a REST authorizer trusting a Cognito pool and an
// external issuer. The template holds the TOKEN authorizer with the header
// check, the rules as given, both issuers in the seed, and an authorizer
// role that reaches its own log group only.
func TestConstructREST(t *testing.T) {
	stack := constructStack()
	pool := awscognito.NewUserPool(stack, jsii.String("Pool"), nil)
	client := pool.AddClient(jsii.String("Web"), nil)
	rules := []jwtauthorizer.Rule{
		{Method: "GET", Resource: "/items", AnyToken: true},
		{Method: "GET", Resource: "/items/{id}", Groups: []string{"readers"}, Scopes: []string{"items.read"}},
		{Method: "POST", Resource: "/items", Scopes: []string{"items.write"}},
	}
	auth := jwtauthorizer.New(stack, "Auth", &jwtauthorizer.Props{
		Issuers:          []jwtauthorizer.Issuer{{UserPool: pool, Clients: []awscognito.IUserPoolClient{client}}, externalIssuer()},
		Rules:            rules,
		ContextClaims:    []string{"email", "cognito:groups"},
		MetricsNamespace: "Items",
	})
	restAPI(stack, auth.REST, "GET /items", "POST /items", "GET /items/{id}")
	tpl := assertions.Template_FromStack(stack, nil)
	tpl.HasResourceProperties(jsii.String("AWS::ApiGateway::Authorizer"), map[string]any{
		"Type": "TOKEN", "IdentitySource": "method.request.header.Authorization",
		"IdentityValidationExpression": jwtauthorizer.TokenRegex, "AuthorizerResultTtlInSeconds": 300,
	})
	tpl.ResourceCountIs(jsii.String("AWS::ApiGateway::Method"), jsii.Number(3))
	tpl.AllResourcesProperties(jsii.String("AWS::ApiGateway::Method"), map[string]any{"AuthorizationType": "CUSTOM"})

	want, _ := json.Marshal(rules)
	env := templateEnv(t, tpl, *stack.GetLogicalId(auth.Lambda.Function.Node().DefaultChild().(awscdk.CfnElement)))
	if asJSON(env["SCOPE_RULES"]) != asJSON(string(want)) || env["CONTEXT_CLAIMS"] != "email,cognito:groups" || env["METRICS_NAMESPACE"] != "Items" {
		t.Fatalf("environment %s", asJSON(env))
	}
	// Two issuers: the seed writes ISSUERS, the single-issuer variables are gone.
	if _, ok := env["ISSUER"]; ok || !strings.Contains(asJSON(env["ISSUERS"]), "Fn::GetAtt") {
		t.Fatalf("ISSUERS is not the seed's attribute: %s", asJSON(env))
	}
	tpl.HasResourceProperties(jsii.String("Custom::JwksSeed"), map[string]any{
		"Env": "ISSUERS",
		"Issuers": []any{
			map[string]any{"issuer": map[string]any{"Fn::GetAtt": []any{jsii.String(*stack.GetLogicalId(pool.Node().DefaultChild().(awscdk.CfnElement))), "ProviderURL"}}},
			map[string]any{"issuer": external, "jwksUri": external + ".well-known/jwks.json", "audiences": []any{"https://api.example.com"}, "tokenUse": "access"},
		},
	})
	noWildcardGrant(t, tpl)
}

// noWildcardGrant fails on a wildcard action, and on Resource "*" except
// for X-Ray's trace actions, which take no resource-level permissions
// (https://docs.aws.amazon.com/xray/latest/devguide/security_iam_service-with-iam.html).
func noWildcardGrant(t *testing.T, tpl assertions.Template) {
	t.Helper()
	b, _ := json.Marshal(tpl.FindResources(jsii.String("AWS::IAM::Policy"), nil))
	var policies map[string]struct {
		Properties struct {
			PolicyDocument struct {
				Statement []struct {
					Action, Resource any
				}
			}
		}
	}
	if err := json.Unmarshal(b, &policies); err != nil || len(policies) == 0 {
		t.Fatalf("no IAM policies: %v", err)
	}
	for id, p := range policies {
		for _, s := range p.Properties.PolicyDocument.Statement {
			for _, a := range list(s.Action) {
				if strings.Contains(fmt.Sprint(a), "*") || slices.Contains(list(s.Resource), any("*")) && !strings.HasPrefix(fmt.Sprint(a), "xray:") {
					t.Errorf("%s grants a wildcard: %s on %s", id, asJSON(s.Action), asJSON(s.Resource))
				}
			}
		}
	}
}

func templateEnv(t *testing.T, tpl assertions.Template, id string) map[string]any {
	t.Helper()
	b, _ := json.Marshal(tpl.ToJSON())
	var m struct {
		Resources map[string]struct {
			Properties struct {
				Environment struct{ Variables map[string]any }
			}
		}
	}
	json.Unmarshal(b, &m)
	env := m.Resources[id].Properties.Environment.Variables
	if env == nil {
		t.Fatalf("no function %s with an environment", id)
	}
	return env
}

// TestConstructHTTP: an HTTP API Lambda authorizer with simple responses:
// payload 2.0, the route key and the HTTP method in the identity source (a
// cached simple answer must not serve another route, nor another verb of an
// ANY or $default route, whose route key is the same for all), the binary told to answer simply, and one
// issuer in the single-issuer variables with its keys seeded.
func TestConstructHTTP(t *testing.T) {
	stack := constructStack()
	ttl := 60.0
	auth := jwtauthorizer.New(stack, "Auth", &jwtauthorizer.Props{
		Kind:             jwtauthorizer.HTTP,
		Issuers:          []jwtauthorizer.Issuer{externalIssuer()},
		Rules:            []jwtauthorizer.Rule{{Method: "GET", Resource: "/orders/{id}", Clients: []string{"reporting"}}},
		SimpleResponses:  true,
		ResultTTLSeconds: &ttl,
	})
	api := awsapigatewayv2.NewHttpApi(stack, jsii.String("Http"), nil)
	api.AddRoutes(&awsapigatewayv2.AddRoutesOptions{
		Path: jsii.String("/orders/{id}"), Methods: &[]awsapigatewayv2.HttpMethod{awsapigatewayv2.HttpMethod_GET},
		Integration: awsapigatewayv2integrations.NewHttpUrlIntegration(jsii.String("Backend"), jsii.String("https://backend.example.com"), nil),
		Authorizer:  auth.HTTP,
	})
	tpl := assertions.Template_FromStack(stack, nil)
	tpl.HasResourceProperties(jsii.String("AWS::ApiGatewayV2::Authorizer"), map[string]any{
		"AuthorizerType": "REQUEST", "AuthorizerPayloadFormatVersion": "2.0", "EnableSimpleResponses": true,
		"IdentitySource": []any{"$request.header.Authorization", "$context.routeKey", "$context.httpMethod"}, "AuthorizerResultTtlInSeconds": 60,
	})
	tpl.HasResourceProperties(jsii.String("AWS::ApiGatewayV2::Route"), map[string]any{"RouteKey": "GET /orders/{id}", "AuthorizationType": "CUSTOM"})
	env := templateEnv(t, tpl, *stack.GetLogicalId(auth.Lambda.Function.Node().DefaultChild().(awscdk.CfnElement)))
	if env["SIMPLE_RESPONSES"] != "true" || env["ISSUER"] != external || env["AUDIENCE"] != "https://api.example.com" || env["TOKEN_USE"] != "access" ||
		!strings.Contains(asJSON(env["JWKS_JSON"]), "Fn::GetAtt") {
		t.Fatalf("environment %s", asJSON(env))
	}
	tpl.ResourceCountIs(jsii.String("Custom::JwksSeed"), jsii.Number(1))
	noWildcardGrant(t, tpl)
}

// TestConstructRulesMatchTheAPI: the synth fails, naming the method or the
// rule, when a method that uses the authorizer has no rule that could allow
// it, or a rule names no such method; parameter names, greedy paths and ANY
// are matched as API Gateway would route them.
func TestConstructRulesMatchTheAPI(t *testing.T) {
	get := func(res string) jwtauthorizer.Rule {
		return jwtauthorizer.Rule{Method: "GET", Resource: res, AnyToken: true}
	}
	for _, tc := range []struct {
		name    string
		methods []string
		rules   []jwtauthorizer.Rule
		want    []string // substrings of the error; none: the synth passes
	}{
		{"every method has its rule", []string{"GET /items", "GET /items/{id}"}, []jwtauthorizer.Rule{get("/items"), get("/items/{id}")}, nil},
		{"parameter names may differ", []string{"GET /items/{itemId}"}, []jwtauthorizer.Rule{get("/items/{id}")}, nil},
		{"a greedy rule covers deeper resources", []string{"GET /files/a", "GET /files/{path+}"}, []jwtauthorizer.Rule{get("/files/{p+}")}, nil},
		{"ANY is covered by a rule for one of its verbs", []string{"ANY /items"}, []jwtauthorizer.Rule{get("/items")}, nil},
		{"a method without a rule", []string{"GET /items", "POST /items"}, []jwtauthorizer.Rule{get("/items")},
			[]string{"POST /items (Other/Api/Default/items/POST) uses this authorizer, but no rule could allow it"}},
		{"a rule for another verb does not count", []string{"DELETE /items/{id}"}, []jwtauthorizer.Rule{get("/items/{id}")},
			[]string{"DELETE /items/{id}", "Rules[0] (GET /items/{id}) names no method"}},
		{"a misspelt rule", []string{"GET /items"}, []jwtauthorizer.Rule{get("/items"), get("/itemz")},
			[]string{"Rules[1] (GET /itemz) names no method of the API that uses this authorizer (the ones that use it are GET /items)"}},
		{"a parameter rule does not reach a deeper resource", []string{"GET /items/{id}/owner"}, []jwtauthorizer.Rule{get("/items/{id}")},
			[]string{"GET /items/{id}/owner", "Rules[0]"}},
		{"a literal rule does not cover a greedy method", []string{"GET /files/{path+}"}, []jwtauthorizer.Rule{get("/files/a")},
			[]string{"GET /files/{path+}", "Rules[0]"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			stack := constructStack()
			auth := jwtauthorizer.New(stack, "Auth", &jwtauthorizer.Props{Issuers: []jwtauthorizer.Issuer{externalIssuer()}, Rules: tc.rules, DisableKeysAtDeploy: true})
			restAPI(stack, auth.REST, tc.methods...)
			msg := synthErr(stack)
			if len(tc.want) == 0 && msg != "" {
				t.Fatalf("synth failed: %s", msg)
			}
			if len(tc.want) > 0 && msg == "" {
				t.Fatal("synth passed, want an error")
			}
			for _, w := range tc.want {
				if !strings.Contains(msg, w) {
					t.Errorf("error lacks %q:\n%s", w, msg)
				}
			}
		})
	}

	t.Run("HTTP routes", func(t *testing.T) {
		stack := constructStack()
		auth := jwtauthorizer.New(stack, "Auth", &jwtauthorizer.Props{Kind: jwtauthorizer.HTTP, Issuers: []jwtauthorizer.Issuer{externalIssuer()},
			Rules: []jwtauthorizer.Rule{get("/a")}, DisableKeysAtDeploy: true})
		api := awsapigatewayv2.NewHttpApi(stack, jsii.String("Http"), nil)
		integration := awsapigatewayv2integrations.NewHttpUrlIntegration(jsii.String("Backend"), jsii.String("https://backend.example.com"), nil)
		for _, path := range []string{"/a", "/b"} {
			api.AddRoutes(&awsapigatewayv2.AddRoutesOptions{Path: jsii.String(path), Methods: &[]awsapigatewayv2.HttpMethod{awsapigatewayv2.HttpMethod_GET},
				Integration: integration, Authorizer: auth.HTTP})
		}
		if msg := synthErr(stack); !strings.Contains(msg, "GET /b (Other/Http/GET--b/Resource) uses this authorizer, but no rule could allow it") || strings.Contains(msg, "GET /a ") {
			t.Fatalf("error %q", msg)
		}
	})
}

// TestConstructPropsErrors: props that cannot work stop the synth with the
// prop, the value and the fix.
func TestConstructPropsErrors(t *testing.T) {
	rules := []jwtauthorizer.Rule{{Method: "GET", Resource: "/items", AnyToken: true}}
	ttl := 7200.0
	for _, tc := range []struct {
		name  string
		props func(pool awscognito.UserPool) *jwtauthorizer.Props
		want  string
	}{
		{"no issuers", func(awscognito.UserPool) *jwtauthorizer.Props { return &jwtauthorizer.Props{Rules: rules} }, "Issuers is empty"},
		{"pool without clients", func(p awscognito.UserPool) *jwtauthorizer.Props {
			return &jwtauthorizer.Props{Issuers: []jwtauthorizer.Issuer{{UserPool: p}}, Rules: rules}
		}, "UserPool without Clients"},
		{"plain http issuer", func(awscognito.UserPool) *jwtauthorizer.Props {
			return &jwtauthorizer.Props{Issuers: []jwtauthorizer.Issuer{{URL: "http://idp.example.com", JWKSURI: "https://idp.example.com/jwks", Audiences: []string{"a"}}}, Rules: rules}
		}, `Issuers[0].URL "http://idp.example.com" must use https`},
		{"no audiences", func(awscognito.UserPool) *jwtauthorizer.Props {
			return &jwtauthorizer.Props{Issuers: []jwtauthorizer.Issuer{{URL: external, JWKSURI: external + "jwks"}}, Rules: rules}
		}, "Audiences is empty"},
		{"keys at deploy without a JWKS URI", func(awscognito.UserPool) *jwtauthorizer.Props {
			return &jwtauthorizer.Props{Issuers: []jwtauthorizer.Issuer{{URL: external, Audiences: []string{"a"}}}, Rules: rules}
		}, "JWKSURI is empty, and the keys are fetched at deploy"},
		{"HMAC", func(awscognito.UserPool) *jwtauthorizer.Props {
			is := externalIssuer()
			is.Algorithms = []string{"HS256"}
			return &jwtauthorizer.Props{Issuers: []jwtauthorizer.Issuer{is}, Rules: rules}
		}, `Algorithms holds "HS256"`},
		{"no rules", func(awscognito.UserPool) *jwtauthorizer.Props {
			return &jwtauthorizer.Props{Issuers: []jwtauthorizer.Issuer{externalIssuer()}}
		}, "Rules is empty"},
		{"a rule granting nothing", func(awscognito.UserPool) *jwtauthorizer.Props {
			return &jwtauthorizer.Props{Issuers: []jwtauthorizer.Issuer{externalIssuer()}, Rules: []jwtauthorizer.Rule{{Method: "GET", Resource: "/items"}}}
		}, "Rules[0] (GET /items) grants nothing"},
		{"a wildcard method", func(awscognito.UserPool) *jwtauthorizer.Props {
			return &jwtauthorizer.Props{Issuers: []jwtauthorizer.Issuer{externalIssuer()}, Rules: []jwtauthorizer.Rule{{Method: "*", Resource: "/items", AnyToken: true}}}
		}, `Method "*"`},
		{"a parameter's IAM pattern reaches a stricter resource", func(awscognito.UserPool) *jwtauthorizer.Props {
			return &jwtauthorizer.Props{Issuers: []jwtauthorizer.Issuer{externalIssuer()}, Rules: []jwtauthorizer.Rule{
				{Method: "GET", Resource: "/pets/{petId}", AnyToken: true},
				{Method: "GET", Resource: "/pets/{petId}/owner", Scopes: []string{"pets.owner"}},
			}}
		}, "would refuse these Rules at cold start: scope rules: the ARN pattern of GET /pets/{petId} (GET/pets/*) also matches requests to GET /pets/{petId}/owner"},
		{"a parameter's IAM pattern reaches the trailing-slash spelling of its parent", func(awscognito.UserPool) *jwtauthorizer.Props {
			return &jwtauthorizer.Props{Issuers: []jwtauthorizer.Issuer{externalIssuer()}, Rules: []jwtauthorizer.Rule{
				{Method: "GET", Resource: "/pets", Scopes: []string{"pets.list"}},
				{Method: "GET", Resource: "/pets/{petId}", Scopes: []string{"pets.read"}},
			}}
		}, "the ARN pattern of GET /pets/{petId} (GET/pets/*) also matches requests to GET /pets, which grants less"},
		{"a non-ASCII scope", func(awscognito.UserPool) *jwtauthorizer.Props {
			return &jwtauthorizer.Props{Issuers: []jwtauthorizer.Issuer{externalIssuer()}, Rules: []jwtauthorizer.Rule{{Method: "GET", Resource: "/items", Scopes: []string{"pets.réad"}}}}
		}, `rule 0 (GET /items): scope "pets.réad" is not a valid scope token`},
		{"a non-ASCII client", func(awscognito.UserPool) *jwtauthorizer.Props {
			return &jwtauthorizer.Props{Issuers: []jwtauthorizer.Issuer{externalIssuer()}, Rules: []jwtauthorizer.Rule{{Method: "GET", Resource: "/items", Clients: []string{"clïent"}}}}
		}, `rule 0 (GET /items): client "clïent" is not a valid audience`},
		{"a comma in an audience", func(awscognito.UserPool) *jwtauthorizer.Props {
			is := externalIssuer()
			is.Audiences = []string{"a,b"}
			return &jwtauthorizer.Props{Issuers: []jwtauthorizer.Issuer{is}, Rules: rules}
		}, `Issuers[0] (https://login.example.com/): Audiences holds "a,b": an audience has no comma or whitespace`},
		{"whitespace in an audience", func(awscognito.UserPool) *jwtauthorizer.Props {
			is := externalIssuer()
			is.Audiences = []string{"https://api.example.com", " b"}
			return &jwtauthorizer.Props{Issuers: []jwtauthorizer.Issuer{is}, Rules: rules}
		}, `Issuers[0] (https://login.example.com/): Audiences holds " b"`},
		{"a comma in a user pool's extra audience", func(p awscognito.UserPool) *jwtauthorizer.Props {
			return &jwtauthorizer.Props{Issuers: []jwtauthorizer.Issuer{{UserPool: p, Clients: []awscognito.IUserPoolClient{p.AddClient(jsii.String("C"), nil)}, Audiences: []string{"x,y"}}}, Rules: rules}
		}, `Audiences holds "x,y"`},
		{"TTL over API Gateway's limit", func(awscognito.UserPool) *jwtauthorizer.Props {
			return &jwtauthorizer.Props{Issuers: []jwtauthorizer.Issuer{externalIssuer()}, Rules: rules, ResultTTLSeconds: &ttl}
		}, "ResultTTLSeconds 7200"},
		{"simple responses on REST", func(awscognito.UserPool) *jwtauthorizer.Props {
			return &jwtauthorizer.Props{Issuers: []jwtauthorizer.Issuer{externalIssuer()}, Rules: rules, SimpleResponses: true}
		}, "SimpleResponses is for HTTP APIs only"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			stack := constructStack()
			pool := awscognito.NewUserPool(stack, jsii.String("Pool"), nil)
			defer func() {
				if r := recover(); r == nil || !strings.Contains(fmt.Sprint(r), tc.want) {
					t.Fatalf("panic %v, want %q", r, tc.want)
				}
			}()
			jwtauthorizer.New(stack, "Auth", tc.props(pool))
		})
	}
}

// TestConstructAlgorithmsByMeaning: issuers' Algorithms are compared by
// what they allow (no list is RS256, order and repeats do not matter), so
// lists that mean the same share one ALGORITHMS, which the seed is told;
// lists that differ go per issuer into ISSUERS - the seed's Issuers
// property, which it copies through, when the keys are fetched at deploy -
// with no shared list, so an issuer without one keeps RS256.
func TestConstructAlgorithmsByMeaning(t *testing.T) {
	for _, tc := range []struct {
		name      string
		pool, url []string // Algorithms of the pool issuer and of the URL issuer
		urlFirst  bool
		noSeed    bool   // DisableKeysAtDeploy
		wantEnv   string // ALGORITHMS ("" unset)
		wantSeed  any    // the seed's Algorithms property (nil: absent)
		wantPer   string // the algorithms of each ISSUERS element, in order (JSON; "": none carries any)
	}{
		{name: "pool default next to RS256", url: []string{"RS256"}},
		{name: "RS256 first, pool default", url: []string{"RS256"}, urlFirst: true, wantEnv: "RS256", wantSeed: []any{"RS256"}},
		{name: "same algorithms in another order, one repeated", pool: []string{"ES256", "RS256"}, url: []string{"RS256", "ES256", "ES256"},
			wantEnv: "ES256,RS256", wantSeed: []any{"ES256", "RS256"}},
		{name: "same ES256 for both", pool: []string{"ES256"}, url: []string{"ES256"}, wantEnv: "ES256", wantSeed: []any{"ES256"}},
		{name: "pool default next to RS256, keys not at deploy: one list, none in ISSUERS", url: []string{"RS256"}, noSeed: true},
		{name: "pool default next to ES256: per issuer in the seed's ISSUERS", url: []string{"ES256"}, wantPer: `[null,["ES256"]]`},
		{name: "ES256 first, pool default: no shared list, the pool keeps RS256", url: []string{"ES256"}, urlFirst: true, wantPer: `[["ES256"],null]`},
		{name: "RS256 next to RS256 and PS256", pool: []string{"RS256"}, url: []string{"PS256", "RS256"}, wantPer: `[["RS256"],["PS256","RS256"]]`},
		{name: "pool default next to ES256, keys not at deploy", url: []string{"ES256"}, noSeed: true, wantPer: `[null,["ES256"]]`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			stack := constructStack()
			pool := awscognito.NewUserPool(stack, jsii.String("Pool"), nil)
			client := pool.AddClient(jsii.String("Web"), nil)
			ext := externalIssuer()
			ext.Algorithms = tc.url
			issuers := []jwtauthorizer.Issuer{{UserPool: pool, Clients: []awscognito.IUserPoolClient{client}, Algorithms: tc.pool}, ext}
			if tc.urlFirst {
				issuers[0], issuers[1] = issuers[1], issuers[0]
			}
			rules := []jwtauthorizer.Rule{{Method: "GET", Resource: "/items", AnyToken: true}}
			auth := jwtauthorizer.New(stack, "Auth", &jwtauthorizer.Props{Issuers: issuers, Rules: rules, DisableKeysAtDeploy: tc.noSeed})
			if got := auth.Env["ALGORITHMS"]; (got == nil) != (tc.wantEnv == "") || got != nil && *got != tc.wantEnv {
				t.Errorf("ALGORITHMS %v, want %q", asJSON(got), tc.wantEnv)
			}
			restAPI(stack, auth.REST, "GET /items")
			tpl := assertions.Template_FromStack(stack, nil)
			// perIssuer is the algorithms of each element of an ISSUERS list.
			perIssuer := func(list any) string {
				var out []any
				for _, is := range list.([]any) {
					out = append(out, is.(map[string]any)["algorithms"])
				}
				if s := asJSON(out); s != "[null,null]" {
					return s
				}
				return ""
			}
			if tc.noSeed {
				tpl.ResourceCountIs(jsii.String("Custom::JwksSeed"), jsii.Number(0))
				env := templateEnv(t, tpl, *stack.GetLogicalId(auth.Lambda.Function.Node().DefaultChild().(awscdk.CfnElement)))
				// ISSUERS is a Fn::Join around the pool's URL: its JSON is escaped in the join's strings.
				got := asJSON(env["ISSUERS"])
				want := map[string]string{"": "", `[null,["ES256"]]`: `\"algorithms\":[\"ES256\"]`}[tc.wantPer]
				if got == "null" || strings.Count(got, "algorithms") != min(len(want), 1) || !strings.Contains(got, want) {
					t.Errorf("ISSUERS %s, want per-issuer algorithms %s", got, tc.wantPer)
				}
				return
			}
			tpl.ResourceCountIs(jsii.String("Custom::JwksSeed"), jsii.Number(1))
			for _, r := range *tpl.FindResources(jsii.String("Custom::JwksSeed"), nil) {
				props := (*r)["Properties"].(map[string]any)
				if got := props["Algorithms"]; asJSON(got) != asJSON(tc.wantSeed) {
					t.Errorf("seed Algorithms %s, want %s", asJSON(got), asJSON(tc.wantSeed))
				}
				if got := perIssuer(props["Issuers"]); got != tc.wantPer {
					t.Errorf("seed Issuers algorithms %s, want %s", got, tc.wantPer)
				}
			}
		})
	}
}

// TestConstructWarnsOfPolicySize: rules whose policy could pass API
// Gateway's 8 KB response on the longest stage name synthesize with a
// warning (such a request faults, never allows); few rules, or simple
// responses (no policy), give none.
func TestConstructWarnsOfPolicySize(t *testing.T) {
	for _, tc := range []struct {
		name string
		n    int
		warn bool
	}{{"3 rules", 3, false}, {"40 rules", 40, true}} {
		t.Run(tc.name, func(t *testing.T) {
			stack := constructStack()
			var rules []jwtauthorizer.Rule
			var methods []string
			for i := range tc.n {
				path := fmt.Sprintf("/customers/{customerId}/orders%02d", i)
				rules = append(rules, jwtauthorizer.Rule{Method: "GET", Resource: path, AnyToken: true})
				methods = append(methods, "GET "+path)
			}
			auth := jwtauthorizer.New(stack, "Auth", &jwtauthorizer.Props{Issuers: []jwtauthorizer.Issuer{externalIssuer()}, Rules: rules, DisableKeysAtDeploy: true})
			restAPI(stack, auth.REST, methods...)
			if msg := synthErr(stack); msg != "" {
				t.Fatalf("synth: %s", msg)
			}
			warnings := assertions.Annotations_FromStack(stack).FindWarning(jsii.String("*"), assertions.Match_StringLikeRegexp(jsii.String("policy of up to [0-9]+ bytes")))
			if got := len(*warnings) > 0; got != tc.warn {
				t.Fatalf("policy size warning = %v, want %v", got, tc.warn)
			}
		})
	}
}
