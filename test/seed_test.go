package test

import (
	"strconv"
	"strings"
	"testing"

	"github.com/aws/aws-cdk-go/awscdk/v2"

	"github.com/secure-api-go/apigw-jwt/constructs/jwksseed"
	"github.com/secure-api-go/apigw-jwt/infra"
	"github.com/secure-api-go/apigw-jwt/internal/lambdaenv"
	"github.com/secure-api-go/apigw-jwt/internal/seedspec"
)

func logicalID(r *synthResult, c awscdk.CfnElement) string {
	return *r.stack.Stack.GetLogicalId(c)
}

// seedIDs are the logical ids of the seed's resource, function, role and log group.
func seedIDs(t *testing.T, r *synthResult) (res, fn, role, logs string) {
	t.Helper()
	if r.stack.Seed == nil {
		t.Fatal("stack has no JWKS seed")
	}
	s := r.stack.Seed
	return logicalID(r, s.Resource.Node().DefaultChild().(awscdk.CfnElement)), findFunction(t, r, "jwksseed"),
		logicalID(r, s.Lambda.Role.Node().DefaultChild().(awscdk.CfnElement)),
		logicalID(r, s.Lambda.LogGroup.Node().DefaultChild().(awscdk.CfnElement))
}

func TestJWKSSeedFillsJWKSJSON(t *testing.T) {
	r := synth(t, nil)
	resID, fnID, _, _ := seedIDs(t, r)
	id, res := r.only(t, seedspec.ResourceType)
	if id != resID {
		t.Fatalf("seed resource %s, want %s", id, resID)
	}
	p := props(res)
	if asJSON(p["ServiceToken"]) != asJSON(getAtt(fnID, "Arn")) || p[seedspec.PropEnv] != seedspec.EnvJWKS {
		t.Fatalf("seed %s", asJSON(p))
	}
	poolID, _ := r.only(t, "AWS::Cognito::UserPool")
	clientID, machineID := r.clients(t)
	issuers := p[seedspec.PropIssuers].([]any)
	first := issuers[0].(map[string]any)
	if len(issuers) != 1 || asJSON(first["issuer"]) != asJSON(getAtt(poolID, "ProviderURL")) ||
		!strings.Contains(asJSON(first["jwksUri"]), "/.well-known/jwks.json") || asJSON(first["audiences"]) != asJSON([]any{ref(clientID), ref(machineID)}) {
		t.Fatalf("seed issuers %s", asJSON(issuers))
	}
	// The budget leaves room for two 2048-bit keys (about 900 bytes) after the other variables.
	budget, err := strconv.Atoi(p[seedspec.PropMaxBytes].(string))
	if err != nil || budget < 2000 || budget >= lambdaenv.Limit {
		t.Fatalf("MaxBytes %v", p[seedspec.PropMaxBytes])
	}
	env := functionEnv(t, r, "authorizer")
	if asJSON(env[seedspec.EnvJWKS]) != asJSON(getAtt(resID, seedspec.AttrJWKS)) {
		t.Fatalf("authorizer JWKS_JSON %s, want the seed's %s attribute", asJSON(env[seedspec.EnvJWKS]), seedspec.AttrJWKS)
	}
	if _, ok := env[seedspec.EnvIssuers]; ok || env["ISSUER"] == nil {
		t.Fatalf("single issuer: want ISSUER and no ISSUERS, got %s", asJSON(env))
	}
}

// TestJWKSSeedBudgetCountsTheOtherVariables: the budget is what Lambda's
// 4 KB, measured on the JSON of the whole map, leaves after the authorizer's
// other variables and the margin (seedspec.Budget). With an external issuer
// every value is a literal, so the measure is exact; with the pool's, each
// unresolved value counts jwksseed.TokenBytes.
// https://docs.aws.amazon.com/lambda/latest/dg/gettingstarted-limits.html
func TestJWKSSeedBudgetCountsTheOtherVariables(t *testing.T) {
	for _, tc := range []struct {
		name string
		ctx  map[string]any
	}{
		{"literal", map[string]any{"authIssuer": "https://example.eu.auth0.com/", "authAudience": "https://petstore.example.com", "scopeClientId": "abc123"}},
		{"extraIssuers", map[string]any{"extraIssuers": `[{"issuer":"https://login.example.org/oidc","audiences":["petstore"]}]`}},
		{"tokens", nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := synth(t, tc.ctx)
			other := map[string]string{}
			for k, v := range functionEnv(t, r, "authorizer") {
				if k == r.stack.Seed.Env {
					continue
				}
				other[k] = worstCase(t, v)
				if _, literal := v.(string); !literal && tc.name == "literal" {
					t.Fatalf("%s is not a literal: %s", k, asJSON(v))
				}
			}
			_, res := r.only(t, seedspec.ResourceType)
			budget, _ := strconv.Atoi(props(res)[seedspec.PropMaxBytes].(string))
			if want := lambdaenv.Limit - seedspec.Margin - lambdaenv.Size(other); budget != want || budget != seedspec.Budget(other) {
				t.Fatalf("MaxBytes %d, want %d: %d of Lambda's measure taken by %s", budget, want, lambdaenv.Size(other), asJSON(other))
			}
		})
	}
}

// worstCase renders an environment value as the budget counts it: literals
// as they are, each Ref or Fn::GetAtt as jwksseed.TokenBytes characters.
func worstCase(t *testing.T, v any) string {
	t.Helper()
	switch x := v.(type) {
	case string:
		return x
	case map[string]any:
		if _, ok := x["Ref"]; ok {
			return strings.Repeat("x", jwksseed.TokenBytes)
		}
		if _, ok := x["Fn::GetAtt"]; ok {
			return strings.Repeat("x", jwksseed.TokenBytes)
		}
		if j, ok := x["Fn::Join"].([]any); ok {
			var parts []string
			for _, p := range j[1].([]any) {
				parts = append(parts, worstCase(t, p))
			}
			return strings.Join(parts, j[0].(string))
		}
	}
	t.Fatalf("cannot measure %s", asJSON(v))
	return ""
}

// TestJWKSSeedServiceTimeout: CloudFormation waits ServiceTimeout seconds
// (1-3600, default 3600) for the seed's answer, not an hour.
// https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/aws-resource-cloudformation-customresource.html
func TestJWKSSeedServiceTimeout(t *testing.T) {
	r := synth(t, nil)
	_, res := r.only(t, seedspec.ResourceType)
	if got := asJSON(props(res)["ServiceTimeout"]); got != "120" && got != `"120"` {
		t.Fatalf("ServiceTimeout %s, want 120", got)
	}
}

func TestJWKSSeedLeastPrivilegeAndNothingRetained(t *testing.T) {
	r := synth(t, nil)
	resID, fnID, roleID, logsID := seedIDs(t, r)
	resources := r.json["Resources"].(map[string]any)
	fn := props(resources[fnID].(map[string]any))
	if asJSON(fn["Role"]) != asJSON(getAtt(roleID, "Arn")) || !strings.Contains(asJSON(fn["LoggingConfig"]), asJSON(ref(logsID))) {
		t.Fatalf("seed function %s", asJSON(fn))
	}
	if days, _ := props(resources[logsID].(map[string]any))["RetentionInDays"].(float64); days != 30 {
		t.Errorf("seed log group retention %v, want the stack's 30 days", days)
	}
	role := props(resources[roleID].(map[string]any))
	if role["ManagedPolicyArns"] != nil || role["Policies"] != nil {
		t.Errorf("seed role has policies of its own: %s", asJSON(role))
	}
	statements := 0
	for _, pol := range r.resources("AWS::IAM::Policy") {
		p := props(pol)
		if asJSON(p["Roles"]) != asJSON([]any{ref(roleID)}) {
			continue
		}
		for _, s := range p["PolicyDocument"].(map[string]any)["Statement"].([]any) {
			st := s.(map[string]any)
			statements++
			actions := asJSON(list(st["Action"]))
			switch actions {
			case `["logs:CreateLogStream","logs:PutLogEvents"]`:
				if asJSON(st["Resource"]) != asJSON(getAtt(logsID, "Arn")) {
					t.Errorf("seed may write logs to %s, want only its own group", asJSON(st["Resource"]))
				}
			case `["xray:PutTelemetryRecords","xray:PutTraceSegments"]`: // X-Ray tracing, as every function (golambda); sorted by minimizePolicies
			default:
				t.Errorf("seed role may %s on %s: want only its own logs", actions, asJSON(st["Resource"]))
			}
		}
	}
	if statements == 0 {
		t.Fatal("no policy for the seed role")
	}
	for _, id := range []string{resID, fnID, roleID, logsID} {
		m := resources[id].(map[string]any)
		if m["DeletionPolicy"] == "Retain" || m["UpdateReplacePolicy"] == "Retain" {
			t.Errorf("%s is retained", id)
		}
	}
	if dp := resources[resID].(map[string]any)["DeletionPolicy"]; dp != "Delete" {
		t.Errorf("seed resource DeletionPolicy %v, want Delete", dp)
	}
}

func TestJWKSSeedForAnExternalIssuer(t *testing.T) {
	r := synth(t, map[string]any{"authIssuer": "https://example.eu.auth0.com/", "authAudience": "https://petstore.example.com", "authTokenUse": "access"})
	_, res := r.only(t, seedspec.ResourceType)
	got := asJSON(props(res)[seedspec.PropIssuers])
	want := `[{"audiences":["https://petstore.example.com"],"issuer":"https://example.eu.auth0.com/","jwksUri":"https://example.eu.auth0.com/.well-known/jwks.json","tokenUse":"access"}]`
	if got != want {
		t.Fatalf("seed issuers %s\nwant %s", got, want)
	}
}

func TestExtraIssuersBuildISSUERS(t *testing.T) {
	extra := `[{"issuer":"https://example.eu.auth0.com/","audiences":["https://petstore.example.com"],"tokenUse":"access"},
		{"issuer":"https://auth.example.com","jwksUri":"https://auth.example.com/.well-known/jwks.json","audiences":["85a03867-dccf-4882-adde-1a79aeec50df"]}]`
	r := synth(t, map[string]any{"extraIssuers": extra})
	resID, _, _, _ := seedIDs(t, r)
	env := functionEnv(t, r, "authorizer")
	if asJSON(env[seedspec.EnvIssuers]) != asJSON(getAtt(resID, seedspec.AttrIssuers)) {
		t.Fatalf("authorizer ISSUERS %s, want the seed's %s attribute", asJSON(env[seedspec.EnvIssuers]), seedspec.AttrIssuers)
	}
	for _, k := range []string{"ISSUER", "JWKS_URI", "AUDIENCE", "TOKEN_USE", seedspec.EnvJWKS} {
		if _, ok := env[k]; ok {
			t.Errorf("with ISSUERS the authorizer must not get %s (both set is a configuration error)", k)
		}
	}
	if env["SCOPE_RULES"] == nil {
		t.Error("SCOPE_RULES lost")
	}
	_, res := r.only(t, seedspec.ResourceType)
	p := props(res)
	issuers := p[seedspec.PropIssuers].([]any)
	poolID, _ := r.only(t, "AWS::Cognito::UserPool")
	if p[seedspec.PropEnv] != seedspec.EnvIssuers || len(issuers) != 3 || asJSON(issuers[0].(map[string]any)["issuer"]) != asJSON(getAtt(poolID, "ProviderURL")) {
		t.Fatalf("seed %s", asJSON(p))
	}
	if got := asJSON(issuers[1:]); got != `[{"audiences":["https://petstore.example.com"],"issuer":"https://example.eu.auth0.com/","jwksUri":"https://example.eu.auth0.com/.well-known/jwks.json","tokenUse":"access"},{"audiences":["85a03867-dccf-4882-adde-1a79aeec50df"],"issuer":"https://auth.example.com","jwksUri":"https://auth.example.com/.well-known/jwks.json"}]` {
		t.Fatalf("extra issuers %s", got)
	}
	// The ISSUERS budget leaves the room the other variables do not take.
	if budget, _ := strconv.Atoi(p[seedspec.PropMaxBytes].(string)); budget < 3000 {
		t.Fatalf("MaxBytes %d", budget)
	}
	// The Cognito pool is still there: extra issuers add to it.
	if len(r.resources("AWS::Cognito::UserPool")) != 1 {
		t.Fatal("no user pool")
	}
}

func TestBadExtraIssuers(t *testing.T) {
	for _, tt := range []struct {
		ctx  map[string]any
		want string
	}{
		{map[string]any{"extraIssuers": `{"issuer":"https://a.example.com"}`}, "context key extraIssuers: "},
		{map[string]any{"extraIssuers": `[{"issuer":"https://a.example.com","audience":["x"]}]`}, `unknown field "audience"`},
		{map[string]any{"extraIssuers": `[{"issuer":"http://a.example.com","audiences":["x"]}]`}, `context key extraIssuers[0].issuer: "http://a.example.com" must use https`},
		{map[string]any{"extraIssuers": `[{"issuer":"https://a.example.com","jwksUri":"http://a.example.com/k","audiences":["x"]}]`}, `context key extraIssuers[0].jwksUri: "http://a.example.com/k" must use https`},
		{map[string]any{"extraIssuers": `[{"issuer":"https://a.example.com","audiences":[]}]`}, "context key extraIssuers[0]: audiences is empty for issuer https://a.example.com"},
		{map[string]any{"extraIssuers": `[{"issuer":"https://a.example.com","audiences":["x"],"tokenUse":"refresh"}]`}, `tokenUse "refresh": want id, access or nothing`},
		{map[string]any{"extraIssuers": `[{"issuer":"https://a.example.com","audiences":["x"],"groupsClaim":"groups"}]`}, `context key extraIssuers[0]: has groupsClaim "groups": the PetStore's rules use no groups`},
		{map[string]any{"extraIssuers": `[{"issuer":"https://a.example.com","audiences":["x"]},{"issuer":"https://a.example.com","audiences":["y"]}]`}, "context key extraIssuers[1]: issuer https://a.example.com is listed twice"},
		{map[string]any{"authIssuer": "https://a.example.com", "authAudience": "x", "extraIssuers": `[{"issuer":"https://a.example.com","audiences":["y"]}]`}, "is already authIssuer"},
		{map[string]any{"extraIssuers": `[{"issuer":"","audiences":["y"]}]`}, "context key extraIssuers[0]: issuer is empty"},
		{map[string]any{"extraIssuers": `[{"issuer":"https://a.example.com","audiences":["y"],"jwks":{"keys":[]}}]`}, "has jwks: leave it out"},
	} {
		t.Run(tt.want, func(t *testing.T) {
			_, err := infra.LoadConfig(func(k string) any { return tt.ctx[k] })
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("error = %v\nwant it to contain %q", err, tt.want)
			}
		})
	}
	// cdk.json's list form (not a string) reads the same.
	cfg, err := infra.LoadConfig(func(k string) any {
		if k == "extraIssuers" {
			return []any{map[string]any{"issuer": "https://a.example.com/", "audiences": []any{"x"}}}
		}
		return nil
	})
	if err != nil || len(cfg.ExtraIssuers) != 1 || cfg.ExtraIssuers[0].JWKSURI != "https://a.example.com/.well-known/jwks.json" {
		t.Fatalf("list form: %v %+v", err, cfg)
	}
}
