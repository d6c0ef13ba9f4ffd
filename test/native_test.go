package test

import (
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/secure-api-go/apigw-jwt/constructs/restapi"
	"github.com/secure-api-go/apigw-jwt/infra"
	"github.com/secure-api-go/apigw-jwt/internal/seedspec"
)

// nativeJWT is restAuthorizer=jwt: API Gateway's native JWT authorizer.
var nativeJWT = map[string]any{"restAuthorizer": "jwt"}

// TestNativeJWTAuthorizerJSON pins the escape hatch's JSON to the
// CloudFormation reference (AWS::ApiGateway::Authorizer JwtConfiguration,
// JwtIssuer, JwtAdditionalClaim): the pool as the one issuer with both
// clients as audiences, RS256, and token_use as a required single-string
// claim when authTokenUse is set; cfn-lint's one unknown-property check ignored on it.
func TestNativeJWTAuthorizerJSON(t *testing.T) {
	for _, tt := range []struct {
		name   string
		ctx    map[string]any
		claims string
	}{
		{"pool", nativeJWT, ""},
		{"pool with authTokenUse=id", map[string]any{"restAuthorizer": "jwt", "authTokenUse": "id"},
			`,"AdditionalClaims":[{"ClaimName":"token_use","ExpectedValues":["id"],"Format":"SINGLE_STRING","Required":true}]`},
	} {
		t.Run(tt.name, func(t *testing.T) {
			r := synth(t, tt.ctx)
			poolID, _ := r.only(t, "AWS::Cognito::UserPool")
			apiID, _ := r.only(t, "AWS::ApiGateway::RestApi")
			clientID, machineID := r.clients(t)
			_, auth := r.only(t, "AWS::ApiGateway::Authorizer")
			want := `{"IdentitySource":"method.request.header.Authorization",` +
				`"JwtConfiguration":{"DefaultAlgorithms":["RS256"],"Issuers":[{` + strings.TrimPrefix(tt.claims, ",") + sep(tt.claims) +
				`"Audiences":[` + asJSON(ref(clientID)) + `,` + asJSON(ref(machineID)) + `],"Issuer":` + asJSON(getAtt(poolID, "ProviderURL")) + `}]},` +
				`"Name":"JwtAuthorizer","RestApiId":` + asJSON(ref(apiID)) + `,"Type":"JWT"}`
			if got := asJSON(props(auth)); got != want {
				t.Fatalf("JWT authorizer\n got %s\nwant %s", got, want)
			}
			if got := asJSON(auth["Metadata"].(map[string]any)["cfn-lint"]); got != `{"config":{"ignore_checks":["E3002"]}}` {
				t.Fatalf("authorizer cfn-lint metadata %s", got)
			}
		})
	}
}

// sep puts a comma after a non-empty claims fragment (JSON keys sort:
// AdditionalClaims comes before Audiences).
func sep(claims string) string {
	if claims == "" {
		return ""
	}
	return ","
}

// TestNativeJWTMethods: the same rules as the TOKEN authorizer's allow-list,
// as method scopes: GET any valid token, POST /pets the admin group's scope
// or pets.write; GET / stays public; no cfn-lint check is ignored on a method.
func TestNativeJWTMethods(t *testing.T) {
	r := synth(t, nativeJWT)
	authID, _ := r.only(t, "AWS::ApiGateway::Authorizer")
	clientID, _ := r.clients(t)
	admin := map[string]any{"Fn::Join": []any{"", []any{"admin-", ref(clientID)}}}
	want := map[string]string{
		"GET /pets":         `null`,
		"GET /pets/{petId}": `null`,
		"POST /pets":        asJSON([]any{admin, "petstore/pets.write"}),
	}
	got := map[string]string{}
	for _, m := range r.resources("AWS::ApiGateway::Method") {
		p := props(m)
		key := p["HttpMethod"].(string) + " " + methodPath(r, p["ResourceId"])
		switch p["AuthorizationType"] {
		case "JWT":
			if asJSON(p["AuthorizerId"]) != asJSON(ref(authID)) {
				t.Errorf("%s: AuthorizerId %s", key, asJSON(p["AuthorizerId"]))
			}
			if md, ok := m["Metadata"].(map[string]any); ok && md["cfn-lint"] != nil {
				t.Errorf("%s: cfn-lint checks ignored on a method: %s", key, asJSON(md["cfn-lint"]))
			}
			got[key] = asJSON(p["AuthorizationScopes"])
		case "NONE":
			if key != "GET /" {
				t.Errorf("%s is open", key)
			}
		default:
			t.Errorf("%s: AuthorizationType %v", key, p["AuthorizationType"])
		}
	}
	if asJSON(got) != asJSON(want) {
		t.Fatalf("method scopes\n got %s\nwant %s", asJSON(got), asJSON(want))
	}
}

// methodPath is the resource path of a method's ResourceId ("/" for the root).
func methodPath(r *synthResult, v any) string {
	resources := r.resources("AWS::ApiGateway::Resource")
	var pathOf func(v any) string
	pathOf = func(v any) string {
		id, ok := v.(map[string]any)["Ref"].(string)
		if !ok {
			return ""
		}
		p := props(resources[id])
		return pathOf(p["ParentId"]) + "/" + p["PathPart"].(string)
	}
	if p := pathOf(v); p != "" {
		return p
	}
	return "/"
}

// TestNativeJWTHasNoAuthorizerLambda: no authorizer function, no JWKS seed,
// none of their alarms or widgets; the 401/403 gateway responses unchanged.
func TestNativeJWTHasNoAuthorizerLambda(t *testing.T) {
	lambda, native := synth(t, nil), synth(t, nativeJWT)
	for _, name := range []string{"authorizer", "jwksseed"} {
		if _, ok := native.stack.Functions[name]; ok {
			t.Errorf("function %s made in jwt mode", name)
		}
		if _, ok := lambda.stack.Functions[name]; !ok {
			t.Errorf("function %s missing in lambda mode: the comparison proves nothing", name)
		}
	}
	if n := len(native.resources(seedspec.ResourceType)); n != 0 || native.stack.Seed != nil {
		t.Errorf("%d JWKS seed resources in jwt mode", n)
	}
	if n := len(native.resources("AWS::Lambda::Function")); n >= len(lambda.resources("AWS::Lambda::Function")) {
		t.Errorf("%d functions in jwt mode, %d in lambda mode", n, len(lambda.resources("AWS::Lambda::Function")))
	}
	alarmText := func(r *synthResult) string {
		var b strings.Builder
		for _, a := range r.resources("AWS::CloudWatch::Alarm") {
			b.WriteString(asJSON(props(a)["AlarmDescription"]))
		}
		return b.String()
	}
	if a := alarmText(native); strings.Contains(a, "authorizer") {
		t.Errorf("authorizer alarms in jwt mode: %s", a)
	}
	if a := alarmText(lambda); !strings.Contains(a, "TOKEN authorizer faults") || !strings.Contains(a, "TOKEN authorizer denied") {
		t.Errorf("lambda mode lacks the authorizer alarms: %s", a)
	}
	_, dash := native.only(t, "AWS::CloudWatch::Dashboard")
	if body := asJSON(props(dash)["DashboardBody"]); strings.Contains(body, "Authorizer") || strings.Contains(body, "JWKS") || !strings.Contains(body, "4XXError") {
		t.Errorf("jwt dashboard: %.400s", body)
	}
	responses := func(r *synthResult) string {
		out := map[string]any{}
		for _, g := range r.resources("AWS::ApiGateway::GatewayResponse") {
			p := map[string]any{}
			for k, v := range props(g) {
				if k != "RestApiId" { // the cached template is shared: copy, do not delete
					p[k] = v
				}
			}
			out[p["ResponseType"].(string)] = p
		}
		return asJSON(out)
	}
	if responses(native) != responses(lambda) {
		t.Errorf("gateway responses differ:\n jwt    %s\n lambda %s", responses(native), responses(lambda))
	}
}

// TestNativeJWTRefusesWhatItCannotExpress: each case is a configuration
// the native authorizer would make weaker; the error names the rule or the
// issuer and the way out.
func TestNativeJWTRefusesWhatItCannotExpress(t *testing.T) {
	extra := `[{"issuer":"https://idp.example.com/","audiences":["pets-api"]}]`
	for _, tt := range []struct {
		name string
		ctx  map[string]any
		want []string
	}{
		{"an extra issuer's audience would open the GET rules", map[string]any{"extraIssuers": extra},
			[]string{"context key restAuthorizer: rule GET /pets lets clients [<app client>] in without a scope, but issuer https://idp.example.com/ also trusts audience pets-api",
				"rule GET /pets/{petId}", "use restAuthorizer=lambda"}},
		{"a reserved concurrency for a function jwt mode does not make", map[string]any{"authorizerReservedConcurrency": 10},
			[]string{"context key authorizerReservedConcurrency: 10, but restAuthorizer=jwt makes no authorizer function", "use restAuthorizer=lambda"}},
		{"a result TTL only our Lambda authorizer has", map[string]any{"restAuthorizerTtl": 600},
			[]string{"context key restAuthorizerTtl: 600, but it caches our Lambda authorizer's policy and restAuthorizer=jwt has none", "use restAuthorizer=lambda"}},
		{"a jwksUri discovery does not give", map[string]any{"authIssuer": "https://login.example.com/api/oidc", "authJwksUri": "https://login.example.com/api/oidc/jwks", "authAudience": "pets"},
			[]string{"context key restAuthorizer: issuer https://login.example.com/api/oidc has jwksUri https://login.example.com/api/oidc/jwks", "openid-configuration", "use restAuthorizer=lambda"}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			ctx := map[string]any{"restAuthorizer": "jwt"}
			for k, v := range tt.ctx {
				ctx[k] = v
			}
			_, err := infra.LoadConfig(func(k string) any { return ctx[k] })
			for _, w := range tt.want {
				if err == nil || !strings.Contains(err.Error(), w) {
					t.Fatalf("error = %v\nwant it to contain %q", err, w)
				}
			}
			// The same configuration is fine with our TOKEN authorizer.
			ctx["restAuthorizer"] = "lambda"
			if _, err := infra.LoadConfig(func(k string) any { return ctx[k] }); err != nil {
				t.Fatalf("lambda mode: %v", err)
			}
		})
	}
	if _, err := infra.LoadConfig(func(k string) any { return map[string]any{"restAuthorizer": "native"}[k] }); err == nil ||
		!strings.Contains(err.Error(), `context key restAuthorizer: "native": want one of lambda, jwt`) {
		t.Fatalf("bad value: %v", err)
	}
	// An external IdP with the discovery default, and its audiences all
	// user-facing, is expressible: every audience may read pets anyway.
	if _, err := infra.LoadConfig(func(k string) any {
		return map[string]any{"restAuthorizer": "jwt", "authIssuer": "https://login.example.com/", "authAudience": "a,b", "authTokenUse": "access"}[k]
	}); err != nil {
		t.Fatalf("external IdP in jwt mode: %v", err)
	}
}

// TestNativeJWTTranslation covers NativeJWT's refusals no context key can
// reach today (issuers with their own algorithms, pinned keys, a rule
// without clients or scopes) and the scoped-client reasoning.
func TestNativeJWTTranslation(t *testing.T) {
	iss := func(name string, algs ...string) infra.NativeIssuer {
		return infra.NativeIssuer{Issuer: seedspec.Issuer{Issuer: name, Audiences: []string{"app", "m2m"}}, Algorithms: algs,
			ScopedClients: map[string][]string{"m2m": {"rs/read"}}}
	}
	get := infra.Rule{Method: "GET", Resource: "/pets", Clients: []string{"app"}, Scopes: []string{"rs/read", "rs/write"}}
	for _, tt := range []struct {
		name    string
		rules   []infra.Rule
		issuers []infra.NativeIssuer
		want    string // "" = no error
	}{
		{"scoped machine client: any valid token", []infra.Rule{get}, []infra.NativeIssuer{iss("https://a/")}, ""},
		{"PS256", []infra.Rule{get}, []infra.NativeIssuer{iss("https://a/", "PS256")}, "issuer https://a/ signs with PS256, which API Gateway's JWT authorizer does not accept"},
		{"ES256 is accepted", []infra.Rule{get}, []infra.NativeIssuer{iss("https://a/", "ES256")}, ""},
		{"different algorithms", []infra.Rule{get}, []infra.NativeIssuer{iss("https://a/"), iss("https://b/", "ES256")}, "one algorithm list for all issuers"},
		{"pinned keys", []infra.Rule{get}, []infra.NativeIssuer{{Issuer: seedspec.Issuer{Issuer: "https://a/", Audiences: []string{"app"}, JWKS: []byte(`{"keys":[]}`)}}}, "has pinned keys"},
		{"machine client with a scope the rule lacks", []infra.Rule{{Method: "GET", Resource: "/pets", Clients: []string{"app"}, Scopes: []string{"rs/write"}}},
			[]infra.NativeIssuer{iss("https://a/")}, "also trusts audience m2m"},
		{"rule with neither", []infra.Rule{{Method: "GET", Resource: "/pets"}}, []infra.NativeIssuer{iss("https://a/")}, "rule GET /pets names neither clients nor scopes"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			j, err := infra.NativeJWT(tt.rules, tt.issuers)
			if tt.want == "" {
				if err != nil || j == nil {
					t.Fatalf("error %v", err)
				}
				if s, ok := j.Scopes["GET /pets"]; !ok || s != nil {
					t.Fatalf("GET /pets scopes %v (present %v), want any valid token", s, ok)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.want) || !strings.Contains(err.Error(), "use restAuthorizer=lambda") {
				t.Fatalf("error = %v\nwant it to contain %q", err, tt.want)
			}
		})
	}
}

// TestCfnLintIgnoresExactlyTheJWTProperty: without the authorizer's
// cfn-lint Metadata, cfn-lint 1.51.0 reports exactly the E3002 findings the
// Metadata ignores (only the authorizer carries such Metadata: see
// TestNativeJWTMethods) - the ignore hides nothing else.
func TestCfnLintIgnoresExactlyTheJWTProperty(t *testing.T) {
	if _, err := exec.LookPath("cfn-lint"); err != nil {
		t.Fatalf("cfn-lint is not installed: pip install cfn-lint==%s", cfnLintVersion)
	}
	r := synth(t, nativeJWT)
	var tpl map[string]any
	if err := json.Unmarshal([]byte(asJSON(r.json)), &tpl); err != nil {
		t.Fatal(err)
	}
	for _, res := range tpl["Resources"].(map[string]any) {
		// Only the authorizer's ignore: other resources have their own
		// (the user pool's IssuerConfiguration, also unknown to cfn-lint 1.51.0).
		if res.(map[string]any)["Type"] != "AWS::ApiGateway::Authorizer" {
			continue
		}
		if md, ok := res.(map[string]any)["Metadata"].(map[string]any); ok {
			delete(md, "cfn-lint")
		}
	}
	file := filepath.Join(t.TempDir(), "jwt.template.json")
	if err := os.WriteFile(file, []byte(asJSON(tpl)), 0o644); err != nil {
		t.Fatal(err)
	}
	out, _ := exec.Command("cfn-lint", "--config-file", "../.cfnlintrc", "--format", "parseable", "--", file).Output()
	lines := strings.Split(strings.TrimSpace(string(out)), "\n")
	want := fmt.Sprintf(":%s:Additional properties are not allowed ('JwtConfiguration' was unexpected)", restapi.CfnLintUnknown[0])
	if len(lines) != 1 || !strings.HasSuffix(lines[0], want) {
		t.Fatalf("cfn-lint without the ignore: %q, want one line ending %q", lines, want)
	}
}

// TestNativeJWTMergesRulesOfOneMethod: several rules for one method add up
// (a token any of them grants is granted), so the method's native scopes are
// their union, "any valid token" when one of them grants every valid token
// (in any order), and a client rule that alone would open the method too wide
// is judged with the scopes the other rules add - never weaker than the rules.
func TestNativeJWTMergesRulesOfOneMethod(t *testing.T) {
	issuers := []infra.NativeIssuer{{Issuer: seedspec.Issuer{Issuer: "https://a/", Audiences: []string{"app", "m2m"}},
		ScopedClients: map[string][]string{"m2m": {"rs/read"}}}}
	rule := func(mod func(*infra.Rule)) infra.Rule {
		r := infra.Rule{Method: "GET", Resource: "/pets"}
		mod(&r)
		return r
	}
	scopes := func(s ...string) infra.Rule { return rule(func(r *infra.Rule) { r.Scopes = s }) }
	anyToken := rule(func(r *infra.Rule) { r.AnyToken = true })
	appClient := rule(func(r *infra.Rule) { r.Clients = []string{"app"} })
	for _, tt := range []struct {
		name    string
		rules   []infra.Rule
		want    []string // the native scopes of GET /pets; nil: any valid token
		wantErr string
	}{
		{"two scope rules: either scope", []infra.Rule{scopes("rs/read"), scopes("rs/write")}, []string{"rs/read", "rs/write"}, ""},
		{"a scope repeated once", []infra.Rule{scopes("rs/read"), scopes("rs/read", "rs/write")}, []string{"rs/read", "rs/write"}, ""},
		{"any token after a scope rule", []infra.Rule{scopes("rs/write"), anyToken}, nil, ""},
		{"any token before a scope rule", []infra.Rule{anyToken, scopes("rs/write")}, nil, ""},
		{"a client rule completed by the machine client's scope", []infra.Rule{appClient, scopes("rs/read")}, nil, ""},
		{"the same, the other way round", []infra.Rule{scopes("rs/read"), appClient}, nil, ""},
		{"a client rule the other rules do not complete", []infra.Rule{appClient, scopes("rs/write")}, nil, "also trusts audience m2m"},
		{"a group rule beside a scope rule", []infra.Rule{rule(func(r *infra.Rule) { r.Groups = []string{"admin"} }), scopes("rs/read")}, nil, "requires groups [admin]"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			j, err := infra.NativeJWT(tt.rules, issuers)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("error = %v, want it to contain %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			got, ok := j.Scopes["GET /pets"]
			if !ok || (got == nil) != (tt.want == nil) || !slices.Equal(got, tt.want) {
				t.Fatalf("GET /pets scopes %v (present %v), want %v (nil: any valid token)", got, ok, tt.want)
			}
			if len(j.Scopes) != 1 {
				t.Fatalf("scopes %v, want one method", j.Scopes)
			}
		})
	}
}
