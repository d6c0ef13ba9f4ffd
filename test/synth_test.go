// Package test holds the whole-app tests: synth assertions and the snapshot.
// They synthesize with Lambda bundling skipped (aws:cdk:bundling-stacks = []),
// so they need no Go cross-compilation and no Docker.
package test

import (
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"regexp"
	"sort"
	"strings"
	"sync"
	"testing"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/assertions"
	"github.com/aws/jsii-runtime-go"

	"github.com/secure-api-go/apigw-jwt/infra"
)

var update = flag.Bool("update", false, "rewrite the golden template in testdata/")

type synthResult struct {
	app      awscdk.App
	stack    *infra.Stack
	cfg      *infra.Config
	template assertions.Template
	json     map[string]any
}

var (
	synthMu    sync.Mutex
	synthCache = map[string]*synthResult{}
)

// synth builds the app with context overrides on top of cdk.json's defaults,
// with cdk-nag applied as in the real app. Results are cached per context.
func synth(t *testing.T, ctx map[string]any) *synthResult {
	t.Helper()
	key, _ := json.Marshal(ctx)
	synthMu.Lock()
	defer synthMu.Unlock()
	if r, ok := synthCache[string(key)]; ok {
		return r
	}
	// cdk.json's context first (the feature flags and the defaults), as the CLI passes it.
	full := cdkJSON(t).Context
	full["aws:cdk:bundling-stacks"] = []any{}
	for k, v := range ctx {
		full[k] = v
	}
	app := awscdk.NewApp(&awscdk.AppProps{Context: &full, AnalyticsReporting: jsii.Bool(false)})
	all, _ := app.Node().GetAllContext(nil).(map[string]any)
	cfg, err := infra.LoadContext(all)
	if err != nil {
		t.Fatalf("LoadContext: %v", err)
	}
	s := infra.NewStack(app, cfg, nil)
	infra.ApplyNag(app)
	tpl := assertions.Template_FromStack(s.Stack, nil)
	var m map[string]any
	b, _ := json.Marshal(tpl.ToJSON())
	json.Unmarshal(b, &m)
	r := &synthResult{app: app, stack: s, cfg: cfg, template: tpl, json: m}
	synthCache[string(key)] = r
	return r
}

// resources returns the template's resources of one type, by logical id.
func (r *synthResult) resources(typ string) map[string]map[string]any {
	out := map[string]map[string]any{}
	for id, v := range r.json["Resources"].(map[string]any) {
		res := v.(map[string]any)
		if res["Type"] == typ {
			out[id] = res
		}
	}
	return out
}

// only returns the single resource of a type, failing otherwise.
func (r *synthResult) only(t *testing.T, typ string) (string, map[string]any) {
	t.Helper()
	res := r.resources(typ)
	if len(res) != 1 {
		t.Fatalf("%d resources of type %s, want 1", len(res), typ)
	}
	for id, v := range res {
		return id, v
	}
	return "", nil
}

func props(res map[string]any) map[string]any { return res["Properties"].(map[string]any) }

// clients returns the logical ids of the user app client (no secret) and the
// machine client (client credentials), failing unless there is one of each.
func (r *synthResult) clients(t *testing.T) (user, machine string) {
	t.Helper()
	for id, c := range r.resources("AWS::Cognito::UserPoolClient") {
		if asJSON(props(c)["AllowedOAuthFlows"]) == `["client_credentials"]` {
			if machine != "" {
				t.Fatalf("two machine clients: %s and %s", machine, id)
			}
			machine = id
		} else {
			if user != "" {
				t.Fatalf("two user clients: %s and %s", user, id)
			}
			user = id
		}
	}
	if user == "" || machine == "" {
		t.Fatalf("want a user client and a machine client, got %q and %q", user, machine)
	}
	return user, machine
}

func asJSON(v any) string { b, _ := json.Marshal(v); return string(b) }

func ref(id string) map[string]any { return map[string]any{"Ref": id} }

func getAtt(id, attr string) map[string]any { return map[string]any{"Fn::GetAtt": []any{id, attr}} }

func TestHTTPAPIRouteScopesJoinTheStacksClient(t *testing.T) {
	r := synth(t, nil)
	clientID, _ := r.clients(t)
	want := map[string]any{
		"GET /AdminUser":   []any{map[string]any{"Fn::Join": []any{"", []any{"admin-", ref(clientID)}}}},
		"GET /RegularUser": []any{map[string]any{"Fn::Join": []any{"", []any{"regular-", ref(clientID)}}}},
		"GET /claims":      nil,
	}
	authID, _ := r.only(t, "AWS::ApiGatewayV2::Authorizer")
	routes := r.resources("AWS::ApiGatewayV2::Route")
	if len(routes) != len(want) {
		t.Fatalf("%d routes, want %d", len(routes), len(want))
	}
	for _, route := range routes {
		p := props(route)
		key := p["RouteKey"].(string)
		w, ok := want[key]
		if !ok {
			t.Fatalf("unexpected route %s", key)
		}
		if asJSON(p["AuthorizationScopes"]) != asJSON(w) {
			t.Errorf("%s scopes = %s, want %s", key, asJSON(p["AuthorizationScopes"]), asJSON(w))
		}
		if p["AuthorizationType"] != "JWT" || asJSON(p["AuthorizerId"]) != asJSON(ref(authID)) {
			t.Errorf("%s is not behind the JWT authorizer: %s", key, asJSON(p))
		}
	}
}

func TestJWTAuthorizerTrustsThePoolAndItsClient(t *testing.T) {
	r := synth(t, nil)
	poolID, _ := r.only(t, "AWS::Cognito::UserPool")
	clientID, machineID := r.clients(t)
	r.template.HasResourceProperties(jsii.String("AWS::ApiGatewayV2::Authorizer"), map[string]any{
		"AuthorizerType": "JWT",
		"IdentitySource": []any{"$request.header.Authorization"},
		"JwtConfiguration": map[string]any{
			"Issuer":   getAtt(poolID, "ProviderURL"),
			"Audience": []any{ref(clientID), ref(machineID)}, // the app clients - never the pool id
		},
	})
	if n := len(r.resources("AWS::Cognito::UserPoolClient")); n != 2 {
		t.Fatalf("%d app clients, want the user client and the machine client: the authorizer must not make its own", n)
	}
}

func TestTokenAuthorizer(t *testing.T) {
	r := synth(t, nil)
	fnID := findFunction(t, r, "authorizer")
	_, auth := r.only(t, "AWS::ApiGateway::Authorizer")
	p := props(auth)
	if p["Type"] != "TOKEN" || p["IdentitySource"] != "method.request.header.Authorization" || p["AuthorizerResultTtlInSeconds"] != 300.0 {
		t.Fatalf("authorizer %s", asJSON(p))
	}
	if !strings.Contains(asJSON(p["AuthorizerUri"]), fnID) {
		t.Fatalf("authorizer does not invoke the authorizer Lambda: %s", asJSON(p["AuthorizerUri"]))
	}
	re := regexp.MustCompile(p["IdentityValidationExpression"].(string))
	// A real RS256 ID token shape: base64url segments with '-' and '_'.
	real := "Bearer eyJraWQiOiJhYmMtXzEyMyIsImFsZyI6IlJTMjU2In0.eyJzdWIiOiIxMjMtNDU2X3h5eiJ9.dGhpc19pcy1hLXNpZ25hdHVyZV93aXRoLWRhc2hlcw"
	for s, want := range map[string]bool{
		real:             true,
		"Basic x":        false,
		"Bearer a b":     false,
		"Bearer a.b":     false,
		"Bearer a.b.c.d": false,
		// The scheme is case-insensitive (RFC 6750 2.1, RFC 7235 2.1); the rest is strict.
		"bearer a.b.c":         true,
		"BEARER a.b.c":         true,
		"BeArEr a.b.c":         true,
		"Bearer  a.b.c":        false,
		"Bearera.b.c":          false,
		"Bearer\ta.b.c":        false,
		" Bearer a.b.c":        false,
		"Bearers a.b.c":        false,
		"Bearer a.b.c!":        false,
		"Bearer [a.b.c":        false,
		"Bearer a.b.c\nx":      false,
		"Bearer a+b/c=.b.c":    false,
		"Bearer eyJ.e30.sig_-": true,
	} {
		if got := re.MatchString(s); got != want {
			t.Errorf("regex on %q = %v, want %v", s, got, want)
		}
	}
	env := functionEnv(t, r, "authorizer")
	poolID, _ := r.only(t, "AWS::Cognito::UserPool")
	clientID, machineID := r.clients(t)
	// AUDIENCE is the comma-joined list of both clients: user tokens carry
	// aud or client_id of the app client, machine tokens client_id of the machine client.
	wantAudience := map[string]any{"Fn::Join": []any{"", []any{ref(clientID), ",", ref(machineID)}}}
	if asJSON(env["ISSUER"]) != asJSON(getAtt(poolID, "ProviderURL")) || asJSON(env["AUDIENCE"]) != asJSON(wantAudience) {
		t.Fatalf("authorizer env %s", asJSON(env))
	}
	if !strings.Contains(asJSON(env["JWKS_URI"]), "/.well-known/jwks.json") || !strings.Contains(asJSON(env["SCOPE_RULES"]), `admin-`) {
		t.Fatalf("authorizer env %s", asJSON(env))
	}
}

func TestRESTMethods(t *testing.T) {
	r := synth(t, nil)
	authID, _ := r.only(t, "AWS::ApiGateway::Authorizer")
	validatorID, validator := r.only(t, "AWS::ApiGateway::RequestValidator")
	if props(validator)["ValidateRequestBody"] != true {
		t.Fatalf("validator %s", asJSON(validator))
	}
	modelID, model := r.only(t, "AWS::ApiGateway::Model")
	schema := asJSON(props(model)["Schema"])
	for _, want := range []string{`"additionalProperties":false`, `"required":["type","price"]`, `"minLength":1`, `"minimum":0`} {
		if !strings.Contains(schema, want) {
			t.Errorf("model schema lacks %s: %s", want, schema)
		}
	}
	resources := map[string]string{} // logical id -> path part
	for id, res := range r.resources("AWS::ApiGateway::Resource") {
		resources[id] = props(res)["PathPart"].(string)
	}
	seen := map[string]bool{}
	for _, m := range r.resources("AWS::ApiGateway::Method") {
		p := props(m)
		path := "/"
		if rid, ok := p["ResourceId"].(map[string]any)["Ref"].(string); ok {
			path = resources[rid]
		}
		key := p["HttpMethod"].(string) + " " + path
		seen[key] = true
		integ := p["Integration"].(map[string]any)
		switch key {
		case "GET /":
			if p["AuthorizationType"] != "NONE" || integ["Type"] != "MOCK" {
				t.Errorf("GET / should be a public mock: %s", asJSON(p))
			}
		case "GET pets", "POST pets", "GET {petId}":
			if p["AuthorizationType"] != "CUSTOM" || asJSON(p["AuthorizerId"]) != asJSON(ref(authID)) || integ["Type"] != "AWS_PROXY" {
				t.Errorf("%s should use the token authorizer and the Lambda proxy: %s", key, asJSON(p))
			}
		default:
			t.Errorf("unexpected method %s", key)
		}
		if key == "POST pets" {
			if asJSON(p["RequestValidatorId"]) != asJSON(ref(validatorID)) || asJSON(p["RequestModels"]) != asJSON(map[string]any{"application/json": ref(modelID)}) {
				t.Errorf("POST /pets is not validated: %s", asJSON(p))
			}
		}
	}
	if len(seen) != 4 {
		t.Fatalf("methods %v", seen)
	}
	_, stage := r.only(t, "AWS::ApiGateway::Stage")
	sp := props(stage)
	if sp["StageName"] != "prod" || sp["AccessLogSetting"] == nil || !strings.Contains(asJSON(sp["MethodSettings"]), `"LoggingLevel":"ERROR"`) ||
		!strings.Contains(asJSON(sp["MethodSettings"]), `"ThrottlingRateLimit":100`) {
		t.Fatalf("stage %s", asJSON(sp))
	}
	_, api := r.only(t, "AWS::ApiGateway::RestApi")
	if props(api)["Name"] != "SecureApiJwt-rest" {
		t.Fatalf("rest api %s", asJSON(api))
	}
}

func TestHTTPStage(t *testing.T) {
	r := synth(t, nil)
	_, stage := r.only(t, "AWS::ApiGatewayV2::Stage")
	p := props(stage)
	if p["StageName"] != "$default" || p["AutoDeploy"] != true || asJSON(p["DefaultRouteSettings"]) != `{"ThrottlingBurstLimit":50,"ThrottlingRateLimit":100}` {
		t.Fatalf("stage %s", asJSON(p))
	}
	if !strings.Contains(asJSON(p["AccessLogSettings"]), `$context.authorizer.error`) {
		t.Fatalf("access logs %s", asJSON(p["AccessLogSettings"]))
	}
	_, api := r.only(t, "AWS::ApiGatewayV2::Api")
	if props(api)["CorsConfiguration"] != nil {
		t.Fatalf("CORS must be closed by default: %s", asJSON(api))
	}
}

func TestUserPool(t *testing.T) {
	r := synth(t, nil)
	fnID := findFunction(t, r, "pretoken")
	r.template.HasResourceProperties(jsii.String("AWS::Cognito::UserPool"), map[string]any{
		"UserPoolTier":           "ESSENTIALS",
		"MfaConfiguration":       "OPTIONAL",
		"EnabledMfas":            []any{"SOFTWARE_TOKEN_MFA"},
		"DeletionProtection":     "INACTIVE",
		"AdminCreateUserConfig":  map[string]any{"AllowAdminCreateUserOnly": true},
		"AliasAttributes":        []any{"email"},
		"UsernameConfiguration":  map[string]any{"CaseSensitive": false},
		"AccountRecoverySetting": map[string]any{"RecoveryMechanisms": []any{map[string]any{"Name": "verified_email", "Priority": 1.0}}},
		"Policies": map[string]any{"PasswordPolicy": map[string]any{
			"MinimumLength": 12.0, "RequireLowercase": true, "RequireUppercase": true, "RequireNumbers": true, "RequireSymbols": true,
		}},
		"LambdaConfig": map[string]any{"PreTokenGenerationConfig": map[string]any{
			"LambdaArn": getAtt(fnID, "Arn"), "LambdaVersion": "V2_0",
		}},
	})
	r.template.HasResourceProperties(jsii.String("AWS::Cognito::UserPoolClient"), map[string]any{
		"GenerateSecret":             false,
		"ExplicitAuthFlows":          []any{"ALLOW_USER_PASSWORD_AUTH", "ALLOW_USER_SRP_AUTH", "ALLOW_REFRESH_TOKEN_AUTH"},
		"AllowedOAuthFlows":          []any{"code"},
		"AllowedOAuthScopes":         []any{"openid", "email", "phone", "profile"},
		"CallbackURLs":               []any{"http://localhost:3000/callback"},
		"LogoutURLs":                 []any{"http://localhost:3000/"},
		"PreventUserExistenceErrors": "ENABLED",
		"EnableTokenRevocation":      true,
		"AccessTokenValidity":        60.0,
		"IdTokenValidity":            60.0,
		"RefreshTokenValidity":       43200.0,
		"TokenValidityUnits":         map[string]any{"AccessToken": "minutes", "IdToken": "minutes", "RefreshToken": "minutes"},
	})
	r.template.HasResourceProperties(jsii.String("AWS::Cognito::UserPoolDomain"), map[string]any{
		"Domain": map[string]any{"Fn::Join": []any{"-", []any{"secureapijwt", ref("AWS::AccountId")}}},
	})
	groups := map[string]float64{}
	for _, g := range r.resources("AWS::Cognito::UserPoolGroup") {
		groups[props(g)["GroupName"].(string)] = props(g)["Precedence"].(float64)
	}
	if asJSON(groups) != `{"admin":0,"regular":1}` {
		t.Fatalf("groups %v", groups)
	}
}

func TestLambdaDefaults(t *testing.T) {
	r := synth(t, nil)
	fns := r.resources("AWS::Lambda::Function")
	seedID := findFunction(t, r, "jwksseed")
	ours := 0
	for id, fn := range fns {
		p := props(fn)
		if p["Runtime"] != "provided.al2023" {
			continue // CDK's own custom-resource function
		}
		ours++
		maxTimeout := 5.0
		if id == seedID {
			maxTimeout = 30 // deploy time only: retries a JWKS that blips, then answers CloudFormation
		}
		if p["Handler"] != "bootstrap" || asJSON(p["Architectures"]) != `["arm64"]` || asJSON(p["TracingConfig"]) != `{"Mode":"Active"}` ||
			!strings.Contains(asJSON(p["LoggingConfig"]), `"LogFormat":"JSON"`) || p["Timeout"].(float64) > maxTimeout {
			t.Errorf("%s does not follow the Go Lambda defaults: %s", id, asJSON(p))
		}
	}
	if ours != 7 {
		t.Fatalf("%d Go functions, want 7", ours)
	}
	env := functionEnv(t, r, "petstore")
	tableID, _ := r.only(t, "AWS::DynamoDB::Table")
	if asJSON(env["TABLE_NAME"]) != asJSON(ref(tableID)) {
		t.Fatalf("petstore TABLE_NAME %s", asJSON(env["TABLE_NAME"]))
	}
}

func TestPetTable(t *testing.T) {
	r := synth(t, nil)
	r.template.HasResourceProperties(jsii.String("AWS::DynamoDB::Table"), map[string]any{
		"BillingMode":                      "PAY_PER_REQUEST",
		"PointInTimeRecoverySpecification": map[string]any{"PointInTimeRecoveryEnabled": true},
		"SSESpecification":                 map[string]any{"SSEEnabled": true},
		"TimeToLiveSpecification":          map[string]any{"AttributeName": "expiresAt", "Enabled": true},
		"KeySchema":                        []any{map[string]any{"AttributeName": "pk", "KeyType": "HASH"}},
	})
	_, table := r.only(t, "AWS::DynamoDB::Table")
	gsis := asJSON(props(table)["GlobalSecondaryIndexes"])
	for _, ix := range []string{`"IndexName":"byType"`, `"IndexName":"byKind"`} {
		if !strings.Contains(gsis, ix) {
			t.Errorf("missing GSI %s: %s", ix, gsis)
		}
	}
	_, seed := r.only(t, "Custom::AWS")
	create := asJSON(props(seed)["Create"])
	for _, want := range []string{`BatchWriteItem`, `PET#1`, `249.99`, `PET#2`, `124.99`, `PET#3`, `0.99`, `COUNTER`} {
		if !strings.Contains(create, want) {
			t.Errorf("seed lacks %s", want)
		}
	}
	if props(seed)["Update"] != nil {
		t.Errorf("seed must run on create only, not on updates")
	}
}

func TestOutputs(t *testing.T) {
	r := synth(t, nil)
	outs := r.json["Outputs"].(map[string]any)
	// Exactly these outputs: the README lists them, make smoke and make token read them.
	want := []string{infra.OutHTTPAPIURL, infra.OutRESTAPIURL, infra.OutUserPoolID, infra.OutClientID, infra.OutMachineClientID,
		infra.OutIssuer, infra.OutJWKSURI, infra.OutAuthorizerIssuer, infra.OutHostedUILogin, infra.OutTokenEndpoint, infra.OutRegion, infra.OutTableName, infra.OutRESTAuthorizer}
	got := make([]string, 0, len(outs))
	for k := range outs {
		got = append(got, k)
	}
	sort.Strings(want)
	sort.Strings(got)
	if asJSON(got) != asJSON(want) {
		t.Errorf("outputs %v, want %v", got, want)
	}
	if strings.HasSuffix(asJSON(outs[infra.OutRESTAPIURL]), `/"]]}}`) {
		t.Errorf("REST URL ends with a slash: %s", asJSON(outs[infra.OutRESTAPIURL]))
	}
}

func TestNothingRetainedByDefault(t *testing.T) {
	r := synth(t, nil)
	// The one exception: API Gateway's account-wide CloudWatch role setting
	// and its role, which other REST APIs in the account share (README, Deploying).
	shared := accountLogging(t, r)
	for id, res := range r.json["Resources"].(map[string]any) {
		m := res.(map[string]any)
		if (m["DeletionPolicy"] == "Retain" || m["UpdateReplacePolicy"] == "Retain") && !shared[id] {
			t.Errorf("%s (%s) is retained", id, m["Type"])
		}
	}
}

func TestRetainKeepsTheData(t *testing.T) {
	r := synth(t, map[string]any{"removalPolicy": "retain"})
	for typ := range infra.RetainedTypes {
		res := r.resources(typ)
		if len(res) == 0 {
			t.Fatalf("no %s", typ)
		}
		for id, m := range res {
			if m["DeletionPolicy"] != "Retain" {
				t.Errorf("%s (%s) not retained with removalPolicy=retain", id, typ)
			}
		}
	}
}

func TestContextOverrides(t *testing.T) {
	tests := []struct {
		name  string
		ctx   map[string]any
		check func(t *testing.T, r *synthResult)
	}{
		{"authorizer cache off", map[string]any{"restAuthorizerTtl": "0"}, func(t *testing.T, r *synthResult) {
			r.template.HasResourceProperties(jsii.String("AWS::ApiGateway::Authorizer"), map[string]any{"AuthorizerResultTtlInSeconds": 0})
		}},
		{"authorizer cache at API Gateway's maximum", map[string]any{"restAuthorizerTtl": 3600}, func(t *testing.T, r *synthResult) {
			r.template.HasResourceProperties(jsii.String("AWS::ApiGateway::Authorizer"), map[string]any{"AuthorizerResultTtlInSeconds": 3600})
		}},
		{"lite plan uses trigger V1_0", map[string]any{"featurePlan": "lite"}, func(t *testing.T, r *synthResult) {
			r.template.HasResourceProperties(jsii.String("AWS::Cognito::UserPool"), map[string]any{
				"UserPoolTier": "LITE",
				"LambdaConfig": map[string]any{"PreTokenGenerationConfig": map[string]any{"LambdaVersion": "V1_0"}},
			})
		}},
		{"plus plan audits threats", map[string]any{"featurePlan": "plus"}, func(t *testing.T, r *synthResult) {
			r.template.HasResourceProperties(jsii.String("AWS::Cognito::UserPool"), map[string]any{
				"UserPoolTier": "PLUS", "UserPoolAddOns": map[string]any{"AdvancedSecurityMode": "AUDIT"},
			})
		}},
		{"production flags", map[string]any{"deletionProtection": true, "removalPolicy": "retain", "selfSignUp": "true", "mfa": "required"}, func(t *testing.T, r *synthResult) {
			r.template.HasResourceProperties(jsii.String("AWS::Cognito::UserPool"), map[string]any{
				"DeletionProtection": "ACTIVE", "MfaConfiguration": "ON", "AdminCreateUserConfig": map[string]any{"AllowAdminCreateUserOnly": false},
			})
		}},
		{"callbacks, stage, domain, throttling", map[string]any{
			"callbackUrls": "https://app.example.com/cb,http://localhost:3000/callback", "restStageName": "v1",
			"domainPrefix": "pets-demo-42", "httpThrottleRate": 7, "restThrottleBurst": 9,
		}, func(t *testing.T, r *synthResult) {
			r.template.HasResourceProperties(jsii.String("AWS::Cognito::UserPoolClient"), map[string]any{
				"CallbackURLs": []any{"https://app.example.com/cb", "http://localhost:3000/callback"},
			})
			r.template.HasResourceProperties(jsii.String("AWS::Cognito::UserPoolDomain"), map[string]any{"Domain": "pets-demo-42"})
			r.template.HasResourceProperties(jsii.String("AWS::ApiGateway::Stage"), map[string]any{"StageName": "v1"})
			r.template.HasResourceProperties(jsii.String("AWS::ApiGatewayV2::Stage"), map[string]any{
				"DefaultRouteSettings": map[string]any{"ThrottlingRateLimit": 7},
			})
			r.template.HasResourceProperties(jsii.String("AWS::ApiGateway::Stage"), map[string]any{
				"MethodSettings": assertions.Match_ArrayWith(&[]any{assertions.Match_ObjectLike(&map[string]any{"ThrottlingBurstLimit": 9})}),
			})
		}},
		{"external IdP for both APIs", externalIdP, func(t *testing.T, r *synthResult) {
			r.template.HasResourceProperties(jsii.String("AWS::ApiGatewayV2::Authorizer"), map[string]any{
				"JwtConfiguration": map[string]any{"Issuer": "https://example.us.auth0.com/", "Audience": []any{"https://pets.example.com"}},
			})
			r.template.HasResourceProperties(jsii.String("AWS::ApiGatewayV2::Route"), map[string]any{
				"RouteKey": "GET /AdminUser", "AuthorizationScopes": []any{"admin-pets"},
			})
			env := functionEnv(t, r, "authorizer")
			if env["ISSUER"] != "https://login.example.com/api/oidc" || env["JWKS_URI"] != "https://login.example.com/api/oidc/jwks" ||
				env["AUDIENCE"] != "https://pets.example.com" || env["TOKEN_USE"] != "access" || !strings.Contains(asJSON(env["SCOPE_RULES"]), "admin-pets") {
				t.Fatalf("authorizer env %s", asJSON(env))
			}
		}},
		{"CORS origins", map[string]any{"corsOrigins": `["https://app.example.com"]`}, func(t *testing.T, r *synthResult) {
			r.template.HasResourceProperties(jsii.String("AWS::ApiGatewayV2::Api"), map[string]any{
				"CorsConfiguration": map[string]any{"AllowOrigins": []any{"https://app.example.com"}},
			})
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) { tt.check(t, synth(t, tt.ctx)) })
	}
}

func TestBadContextFailsWithClearMessages(t *testing.T) {
	tests := []struct {
		ctx  map[string]any
		want string
	}{
		{map[string]any{"restAuthorizerTtl": 7200}, "context key restAuthorizerTtl: 7200 is above the limit of 3600 seconds (API Gateway's limit)"},
		{map[string]any{"stackName": "A" + strings.Repeat("b", 50)}, "above Cognito's 63: set domainPrefix, or use a stack name of at most 50 characters"},
		{map[string]any{"restAuthorizerTtl": "soon"}, `context key restAuthorizerTtl: "soon" is not a number`},
		{map[string]any{"jwtIssuer": "http://idp.example.com", "jwtAudience": "a"}, `context key jwtIssuer: "http://idp.example.com" must use https`},
		{map[string]any{"authIssuer": "http://idp.example.com", "authAudience": "a"}, `context key authIssuer: "http://idp.example.com" must use https`},
		{map[string]any{"jwtIssuer": "https://idp.example.com"}, "context key jwtAudience: is empty but jwtIssuer is set"},
		{map[string]any{"callbackUrls": "not a url"}, `context key callbackUrls: "not a url" is not an absolute URL`},
		{map[string]any{"callbackUrls": "http://app.example.com/cb"}, "must use https (http only for localhost)"},
		{map[string]any{"callbackUrls": []any{}}, "context key callbackUrls: is empty"},
		{map[string]any{"featurePlan": "gold"}, `context key featurePlan: "gold": want one of essentials, lite, plus`},
		{map[string]any{"threatProtection": "enforced"}, `context key threatProtection: "enforced" needs featurePlan plus`},
		{map[string]any{"domainPrefix": "My_Prefix"}, `context key domainPrefix: "My_Prefix": want 1-63 lower-case letters`},
		{map[string]any{"domainPrefix": "my-cognito-app"}, `contains "cognito"`},
		{map[string]any{"stackName": "AwsDemo"}, `context key stackName: "awsdemo" contains "aws"`},
		{map[string]any{"logRetentionDays": 10}, "context key logRetentionDays: 10 is not a period CloudWatch Logs accepts"},
		{map[string]any{"selfSignUp": "maybe"}, `context key selfSignUp: "maybe" is not true or false`},
		{map[string]any{"httpThrottleRate": 0}, "context key httpThrottleRate: 0 is below the minimum of 1"},
		{map[string]any{"removalPolicy": "snapshot"}, `context key removalPolicy: "snapshot": want one of destroy, retain`},
		{map[string]any{"resourceServerId": "pet store"}, `context key resourceServerId: "pet store": want 1-256 printable ASCII characters`},
		{map[string]any{"restStageName": "my stage"}, `context key restStageName: "my stage"`},
		{map[string]any{"alarmEmail": "ops"}, `context key alarmEmail: "ops" is not an email address`},
		{map[string]any{"corsOrigins": "app.example.com"}, `context key corsOrigins: "app.example.com" is not an origin`},
		// https://docs.aws.amazon.com/cognito/latest/developerguide/user-pool-settings-deletion-protection.html
		{map[string]any{"deletionProtection": true}, "context key deletionProtection: true with removalPolicy destroy: Cognito refuses to delete a protected user pool, so cdk destroy would fail; set removalPolicy retain"},
		// https://docs.aws.amazon.com/lambda/latest/dg/configuration-concurrency.html
		{map[string]any{"authorizerReservedConcurrency": 901}, "context key authorizerReservedConcurrency: 901 is above the limit of 900 (Lambda's default account quota of 1000 concurrent executions minus the 100 it keeps unreserved"},
	}
	for _, tt := range tests {
		t.Run(tt.want, func(t *testing.T) {
			_, err := infra.LoadConfig(func(k string) any { return tt.ctx[k] })
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("error = %v\nwant it to contain %q", err, tt.want)
			}
		})
	}
	// A long stack name is fine once domainPrefix is set.
	if _, err := infra.LoadConfig(func(k string) any {
		return map[string]any{"stackName": "A" + strings.Repeat("b", 50), "domainPrefix": "short-prefix"}[k]
	}); err != nil {
		t.Fatalf("long stack name with domainPrefix: %v", err)
	}
	// Protection with retain, and the largest reservation, are fine.
	if _, err := infra.LoadConfig(func(k string) any {
		return map[string]any{"deletionProtection": true, "removalPolicy": "retain", "authorizerReservedConcurrency": 900}[k]
	}); err != nil {
		t.Fatalf("deletionProtection with retain, 900 reserved: %v", err)
	}
	// Several problems are reported together.
	_, err := infra.LoadConfig(func(k string) any {
		return map[string]any{"restAuthorizerTtl": 7200, "mfa": "sometimes"}[k]
	})
	if err == nil || strings.Count(err.Error(), "context key") != 2 {
		t.Fatalf("want both problems reported, got %v", err)
	}
}

// cdkJSONFile is the part of cdk.json the tests read.
type cdkJSONFile struct {
	App     string         `json:"app"`
	Context map[string]any `json:"context"`
}

// cdkJSON reads ../cdk.json afresh (callers may change the returned maps).
func cdkJSON(t *testing.T) cdkJSONFile {
	t.Helper()
	raw, err := os.ReadFile("../cdk.json")
	if err != nil {
		t.Fatal(err)
	}
	var cdk cdkJSONFile
	if err := json.Unmarshal(raw, &cdk); err != nil {
		t.Fatalf("cdk.json: %v", err)
	}
	return cdk
}

// TestCDKJSONHoldsTheDefaults keeps cdk.json and the code's defaults in step.
func TestCDKJSONHoldsTheDefaults(t *testing.T) {
	cdk := cdkJSON(t)
	defaults := infra.Defaults()
	var missing []string
	for _, k := range infra.ContextKeys() {
		v, ok := cdk.Context[k]
		if !ok {
			missing = append(missing, k)
			continue
		}
		if asJSON(v) != asJSON(defaults[k]) {
			t.Errorf("cdk.json %s = %s, code default %s", k, asJSON(v), asJSON(defaults[k]))
		}
	}
	sort.Strings(missing)
	if len(missing) > 0 {
		t.Fatalf("cdk.json lacks %v", missing)
	}
	if _, err := infra.LoadConfig(func(k string) any { return cdk.Context[k] }); err != nil {
		t.Fatalf("cdk.json defaults do not validate: %v", err)
	}
}

func findFunction(t *testing.T, r *synthResult, name string) string {
	t.Helper()
	f, ok := r.stack.Functions[name]
	if !ok {
		t.Fatalf("no function %s", name)
	}
	id := r.stack.Stack.GetLogicalId(f.Function.Node().DefaultChild().(awscdk.CfnElement))
	return *id
}

func functionEnv(t *testing.T, r *synthResult, name string) map[string]any {
	t.Helper()
	id := findFunction(t, r, name)
	fn := r.json["Resources"].(map[string]any)[id].(map[string]any)
	return props(fn)["Environment"].(map[string]any)["Variables"].(map[string]any)
}

var _ = fmt.Sprint

// scopeRules decodes the authorizer's SCOPE_RULES from the template: a plain
// string, or (the app client id being known only at deploy time) an
// Fn::Join whose Ref to the client becomes "<clientId>".
func scopeRules(t *testing.T, r *synthResult) []map[string]any {
	t.Helper()
	raw := functionEnv(t, r, "authorizer")["SCOPE_RULES"]
	s, ok := raw.(string)
	if !ok {
		clientID, _ := r.clients(t)
		join, _ := raw.(map[string]any)["Fn::Join"].([]any)
		if len(join) != 2 || join[0] != "" {
			t.Fatalf("SCOPE_RULES %s", asJSON(raw))
		}
		for _, part := range join[1].([]any) {
			switch p := part.(type) {
			case string:
				s += p
			default:
				if asJSON(p) != asJSON(ref(clientID)) {
					t.Fatalf("SCOPE_RULES refers to %s, want only the app client", asJSON(p))
				}
				s += "<clientId>"
			}
		}
	}
	var rules []map[string]any
	if err := json.Unmarshal([]byte(s), &rules); err != nil {
		t.Fatalf("SCOPE_RULES %q: %v", s, err)
	}
	return rules
}

// TestAuthorizerRulesAreTheAllowList: the authorizer grants exactly these
// methods, to exactly these audiences and scopes; nothing else.
func TestAuthorizerRulesAreTheAllowList(t *testing.T) {
	read := []any{"petstore/pets.read", "petstore/pets.write"}
	tests := []struct {
		name     string
		ctx      map[string]any
		audience []any
		admin    string
	}{
		{"the stack's pool", nil, []any{"<clientId>"}, "admin-<clientId>"},
		{"external IdP", map[string]any{"authIssuer": "https://login.example.com/api/oidc", "authJwksUri": "https://login.example.com/api/oidc/jwks",
			"authAudience": "https://pets.example.com,pets-spa", "scopeClientId": "pets"}, []any{"https://pets.example.com", "pets-spa"}, "admin-pets"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			want := []map[string]any{
				{"method": "GET", "resource": "/pets", "clients": tt.audience, "scopes": read},
				{"method": "GET", "resource": "/pets/{petId}", "clients": tt.audience, "scopes": read},
				{"method": "POST", "resource": "/pets", "scopes": []any{tt.admin, "petstore/pets.write"}},
			}
			r := synth(t, tt.ctx)
			got := scopeRules(t, r)
			if asJSON(got) != asJSON(want) {
				t.Fatalf("SCOPE_RULES\n got %s\nwant %s", asJSON(got), asJSON(want))
			}
			// The rules name exactly the methods behind the authorizer: one
			// without a rule would be refused to everyone, a rule without a
			// method would be stale (and the policy's overlap check assumes
			// the rules list every method).
			ruled := map[string]bool{}
			for _, rule := range got {
				ruled[rule["method"].(string)+" "+rule["resource"].(string)] = true
			}
			if guarded := customMethods(t, r); asJSON(guarded) != asJSON(ruled) {
				t.Fatalf("methods behind the authorizer %v, methods with rules %v", guarded, ruled)
			}
		})
	}
}

// customMethods lists "<VERB> <resource path>" of the REST methods behind a custom authorizer.
func customMethods(t *testing.T, r *synthResult) map[string]bool {
	t.Helper()
	resources := r.resources("AWS::ApiGateway::Resource")
	var pathOf func(v any) string
	pathOf = func(v any) string {
		id, ok := v.(map[string]any)["Ref"].(string)
		if !ok {
			return "" // Fn::GetAtt RootResourceId
		}
		p := props(resources[id])
		return pathOf(p["ParentId"]) + "/" + p["PathPart"].(string)
	}
	out := map[string]bool{}
	for _, m := range r.resources("AWS::ApiGateway::Method") {
		p := props(m)
		if p["AuthorizationType"] != "CUSTOM" {
			continue
		}
		path := pathOf(p["ResourceId"])
		if path == "" {
			path = "/"
		}
		out[p["HttpMethod"].(string)+" "+path] = true
	}
	return out
}

// TestMachineClient: the resource server, the client-credentials client with
// exactly its scopes and no sign-in flow, both authorizers trusting it, its
// id as an output, and its secret nowhere in the template.
func TestMachineClient(t *testing.T) {
	r := synth(t, nil)
	rsID, rs := r.only(t, "AWS::Cognito::UserPoolResourceServer")
	poolID, _ := r.only(t, "AWS::Cognito::UserPool")
	if asJSON(props(rs)) != asJSON(map[string]any{
		"Identifier": "petstore", "Name": "PetStore", "UserPoolId": ref(poolID),
		"Scopes": []any{
			map[string]any{"ScopeDescription": "Read pets", "ScopeName": "pets.read"},
			map[string]any{"ScopeDescription": "Read and create pets", "ScopeName": "pets.write"},
		},
	}) {
		t.Fatalf("resource server %s", asJSON(props(rs)))
	}
	_, machineID := r.clients(t)
	machine := r.resources("AWS::Cognito::UserPoolClient")[machineID]
	p := props(machine)
	want := map[string]any{
		"GenerateSecret":                  true,
		"AllowedOAuthFlows":               []any{"client_credentials"},
		"AllowedOAuthFlowsUserPoolClient": true,
		"AllowedOAuthScopes":              []any{"petstore/pets.read", "petstore/pets.write"},
		// Refresh only: no password, SRP, custom or admin sign-in.
		"ExplicitAuthFlows":   []any{"ALLOW_REFRESH_TOKEN_AUTH"},
		"AccessTokenValidity": 60.0,
		"TokenValidityUnits":  map[string]any{"AccessToken": "minutes"},
	}
	for k, v := range want {
		if asJSON(p[k]) != asJSON(v) {
			t.Errorf("machine client %s = %s, want %s", k, asJSON(p[k]), asJSON(v))
		}
	}
	for _, k := range []string{"CallbackURLs", "LogoutURLs", "IdTokenValidity", "RefreshTokenValidity"} {
		if p[k] != nil {
			t.Errorf("machine client has %s: %s", k, asJSON(p[k]))
		}
	}
	if !strings.Contains(asJSON(machine["DependsOn"]), rsID) {
		t.Errorf("machine client does not depend on the resource server (its scopes must exist first): %s", asJSON(machine["DependsOn"]))
	}
	if strings.Contains(asJSON(r.json), "ClientSecret") {
		t.Fatalf("the template references the client secret")
	}
	outs := r.json["Outputs"].(map[string]any)
	if out := asJSON(outs[infra.OutMachineClientID]); !strings.Contains(out, asJSON(ref(machineID))) {
		t.Fatalf("output %s = %s", infra.OutMachineClientID, out)
	}
	// POST /pets: the admin group scope or the write scope; the PetStore learns the resource server.
	if rules := asJSON(functionEnv(t, r, "authorizer")["SCOPE_RULES"]); !strings.Contains(rules, `petstore/pets.write`) {
		t.Errorf("SCOPE_RULES lacks the write scope: %s", rules)
	}
	if rs := functionEnv(t, r, "petstore")["RESOURCE_SERVER"]; rs != "petstore" {
		t.Errorf("petstore RESOURCE_SERVER = %v", rs)
	}
	// /claims takes any valid token of either client; the group routes keep their scopes.
	for _, route := range r.resources("AWS::ApiGatewayV2::Route") {
		rp := props(route)
		if rp["RouteKey"] != "GET /claims" && strings.Contains(asJSON(rp["AuthorizationScopes"]), "pets.") {
			t.Errorf("%s accepts a machine scope: %s", rp["RouteKey"], asJSON(rp["AuthorizationScopes"]))
		}
	}
}

func TestResourceServerIDFromContext(t *testing.T) {
	r := synth(t, map[string]any{"resourceServerId": "https://api.example.com"})
	r.template.HasResourceProperties(jsii.String("AWS::Cognito::UserPoolResourceServer"), map[string]any{"Identifier": "https://api.example.com"})
	r.template.HasResourceProperties(jsii.String("AWS::Cognito::UserPoolClient"), map[string]any{
		"AllowedOAuthScopes": []any{"https://api.example.com/pets.read", "https://api.example.com/pets.write"},
	})
	if rules := asJSON(functionEnv(t, r, "authorizer")["SCOPE_RULES"]); !strings.Contains(rules, `https://api.example.com/pets.write`) {
		t.Errorf("SCOPE_RULES %s", rules)
	}
}
