//lint:file-ignore SA1019 assertions.Annotations returns cxapi.SynthesisMessage; this CDK version offers no other type.

package test

import (
	"strings"
	"testing"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/assertions"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsapigateway"
	"github.com/aws/jsii-runtime-go"

	"github.com/secure-api-go/apigw-jwt/infra"
	"github.com/secure-api-go/apigw-jwt/internal/cors"
	"github.com/secure-api-go/apigw-jwt/internal/metrics"
)

// TestExecutionLogGroupIsTheStacks: API Gateway writes execution logs to
// API-Gateway-Execution-Logs_{rest-api-id}/{stage_name}, creating it itself
// if missing; the stack creates it first so it has a retention and goes with
// cdk destroy.
// https://docs.aws.amazon.com/apigateway/latest/developerguide/rest-api-execution-logging.html
func TestExecutionLogGroupIsTheStacks(t *testing.T) {
	for _, ctx := range []map[string]any{nil, {"removalPolicy": "retain", "logRetentionDays": 7, "restStageName": "v1"}} {
		r := synth(t, ctx)
		apiID, _ := r.only(t, "AWS::ApiGateway::RestApi")
		stageID, stage := r.only(t, "AWS::ApiGateway::Stage")
		want := asJSON(map[string]any{"Fn::Join": []any{"", []any{"API-Gateway-Execution-Logs_", ref(apiID), "/" + r.cfg.RESTStageName}}})
		var found string
		for id, lg := range r.resources("AWS::Logs::LogGroup") {
			if asJSON(props(lg)["LogGroupName"]) == want {
				found = id
				if props(lg)["RetentionInDays"] != float64(r.cfg.LogRetentionDays) {
					t.Errorf("%v: execution log group retention %v, want %d", ctx, props(lg)["RetentionInDays"], r.cfg.LogRetentionDays)
				}
				wantPolicy := map[string]string{"destroy": "Delete", "retain": "Retain"}[r.cfg.RemovalPolicy]
				if lg["DeletionPolicy"] != wantPolicy {
					t.Errorf("%v: execution log group DeletionPolicy %v, want %s", ctx, lg["DeletionPolicy"], wantPolicy)
				}
			}
		}
		if found == "" {
			t.Fatalf("%v: no log group named %s", ctx, want)
		}
		// The stage (which enables execution logging) waits for the group.
		if !strings.Contains(asJSON(stage["DependsOn"]), `"`+found+`"`) {
			t.Errorf("%v: stage %s does not depend on %s: DependsOn %s", ctx, stageID, found, asJSON(stage["DependsOn"]))
		}
		if ls := asJSON(props(stage)["MethodSettings"]); !strings.Contains(ls, `"LoggingLevel":"ERROR"`) {
			t.Errorf("%v: stage method settings %s: execution logging is off, the log group would be unused", ctx, ls)
		}
	}
}

// TestCOG4SuppressionsAreScopedToTheMethods: a method added without an
// authorizer is reported (the suppressions name the existing methods only).
func TestCOG4SuppressionsAreScopedToTheMethods(t *testing.T) {
	full := cdkJSON(t).Context
	full["aws:cdk:bundling-stacks"] = []any{}
	// The finding is the expected result here: report it, do not fail the synth.
	full["@aws-cdk/core:failSynthOnValidationErrors"] = false
	app := awscdk.NewApp(&awscdk.AppProps{Context: &full, AnalyticsReporting: jsii.Bool(false)})
	all, _ := app.Node().GetAllContext(nil).(map[string]any)
	cfg, err := infra.LoadContext(all)
	if err != nil {
		t.Fatal(err)
	}
	s := infra.NewStack(app, cfg, nil)
	open := s.REST.Api.Root().AddResource(jsii.String("open"), nil)
	open.AddMethod(jsii.String("GET"), awsapigateway.NewMockIntegration(nil), &awsapigateway.MethodOptions{
		AuthorizationType: awsapigateway.AuthorizationType_NONE,
	})
	infra.ApplyNag(app)
	ann := assertions.Annotations_FromStack(s.Stack)
	var paths []string
	for _, find := range []func(*string, any) *[]*cxAnnotation{
		func(id *string, m any) *[]*cxAnnotation { return toAnn(ann.FindError(id, m)) },
		func(id *string, m any) *[]*cxAnnotation { return toAnn(ann.FindWarning(id, m)) },
	} {
		for _, a := range *find(jsii.String("*"), assertions.Match_StringLikeRegexp(jsii.String("AwsSolutions-(COG4|APIG4).*"))) {
			paths = append(paths, a.path+" "+a.data[:min(len(a.data), 24)])
		}
	}
	joined := strings.Join(paths, "\n")
	for _, rule := range []string{"AwsSolutions-COG4", "AwsSolutions-APIG4"} {
		if !strings.Contains(joined, "/open/GET/Resource \""+rule) {
			t.Errorf("the unauthenticated GET /open is not reported by %s; findings:\n%s", rule, joined)
		}
	}
	if n := len(paths); n != 2 {
		t.Errorf("%d COG4/APIG4 findings, want exactly the 2 on GET /open:\n%s", n, joined)
	}
}

// TestCORSOnEveryRESTResponse: with a proxy integration the backend returns
// the CORS headers (the PetStore gets the origins in its environment); the
// errors API Gateway answers itself carry them from the gateway responses.
// https://docs.aws.amazon.com/apigateway/latest/developerguide/how-to-cors.html
func TestCORSOnEveryRESTResponse(t *testing.T) {
	const app, admin = "https://app.example.com", "https://admin.example.com"
	gatewayResponses := func(r *synthResult) map[string]map[string]any {
		out := map[string]map[string]any{}
		for _, g := range r.resources("AWS::ApiGateway::GatewayResponse") {
			out[props(g)["ResponseType"].(string)] = props(g)
		}
		return out
	}
	t.Run("closed by default", func(t *testing.T) {
		r := synth(t, nil)
		if _, ok := functionEnv(t, r, "petstore")[cors.EnvOrigins]; ok {
			t.Errorf("petstore has %s without corsOrigins", cors.EnvOrigins)
		}
		for typ, g := range gatewayResponses(r) {
			if strings.Contains(asJSON(g), "Access-Control") {
				t.Errorf("gateway response %s has CORS headers without corsOrigins: %s", typ, asJSON(g))
			}
		}
	})
	t.Run("one origin", func(t *testing.T) {
		r := synth(t, map[string]any{"corsOrigins": app})
		if got := functionEnv(t, r, "petstore")[cors.EnvOrigins]; got != app {
			t.Errorf("petstore %s = %v, want %s", cors.EnvOrigins, got, app)
		}
		g := gatewayResponses(r)
		for _, typ := range []string{"DEFAULT_4XX", "DEFAULT_5XX", "BAD_REQUEST_BODY"} {
			p, ok := g[typ]
			if !ok {
				t.Errorf("no gateway response %s", typ)
				continue
			}
			if h := asJSON(p["ResponseParameters"]); h != asJSON(map[string]any{"gatewayresponse.header.Access-Control-Allow-Origin": "'" + app + "'"}) {
				t.Errorf("%s headers %s", typ, h)
			}
		}
		// The defaults keep API Gateway's own status codes and body.
		for _, typ := range []string{"DEFAULT_4XX", "DEFAULT_5XX"} {
			if g[typ]["StatusCode"] != nil || asJSON(g[typ]["ResponseTemplates"]) != asJSON(map[string]any{"application/json": `{"message":$context.error.messageString}`}) {
				t.Errorf("%s changes the status or body: %s", typ, asJSON(g[typ]))
			}
		}
		// Every customised type carries the header (a customised type does not inherit DEFAULT_4XX).
		for typ, p := range g {
			if !strings.Contains(asJSON(p["ResponseParameters"]), "Access-Control-Allow-Origin") {
				t.Errorf("customised gateway response %s has no Access-Control-Allow-Origin", typ)
			}
		}
		// The preflight is API Gateway's, for the PetStore's methods and request headers.
		var preflight string
		for _, m := range r.resources("AWS::ApiGateway::Method") {
			if props(m)["HttpMethod"] == "OPTIONS" {
				preflight += asJSON(props(m)["Integration"])
			}
		}
		for _, want := range []string{"'" + app + "'", "'Authorization,Content-Type,Idempotency-Key'", "'GET,POST'"} {
			if !strings.Contains(preflight, want) {
				t.Errorf("preflight lacks %s: %s", want, preflight)
			}
		}
	})
	t.Run("several origins", func(t *testing.T) {
		r := synth(t, map[string]any{"corsOrigins": app + "," + admin})
		if got := functionEnv(t, r, "petstore")[cors.EnvOrigins]; got != app+","+admin {
			t.Errorf("petstore %s = %v", cors.EnvOrigins, got)
		}
		// No single value fits every caller, and copying Origin would allow any.
		for typ, g := range gatewayResponses(r) {
			if strings.Contains(asJSON(g), "Access-Control-Allow-Origin") {
				t.Errorf("gateway response %s: %s", typ, asJSON(g))
			}
		}
	})
}

// TestAlarmsFireOnFaultsNotOnClients: the authorizer refuses every bad token
// with a function error, which Lambda counts in AWS/Lambda Errors
// (https://docs.aws.amazon.com/lambda/latest/dg/monitoring-metrics-types.html):
// no alarm and no graph reads it; the authorizer's own Fault metric does.
// Every other alarm watches something no normal client causes: 5xx answers,
// throttles, denials in bulk.
func TestAlarmsFireOnFaultsNotOnClients(t *testing.T) {
	r := synth(t, nil)
	ns := r.cfg.StackName
	r.template.HasResourceProperties(jsii.String("AWS::CloudWatch::Alarm"), map[string]any{
		"AlarmName": ns + "-Monitoring-AuthorizerFaults", "Namespace": ns, "MetricName": metrics.Fault, "Statistic": "Sum",
		"Period": 300, "Threshold": 1, "ComparisonOperator": "GreaterThanOrEqualToThreshold", "TreatMissingData": "notBreaching",
	})
	watched := map[string]bool{}
	for id, a := range r.resources("AWS::CloudWatch::Alarm") {
		p := props(a)
		if name, _ := p["AlarmName"].(string); !strings.HasPrefix(name, ns+"-Monitoring-") {
			t.Errorf("alarm %s named %v, want the %s-Monitoring- prefix the topic policy scopes to", id, p["AlarmName"], ns)
		}
		all := asJSON(p)
		if strings.Contains(all, `"Errors"`) || strings.Contains(all, "4XXError") || strings.Contains(all, `"4xx"`) || strings.Contains(all, metrics.ClientErrors) {
			t.Errorf("alarm %s fires on something normal clients cause (function errors, 4xx): %s", id, all)
		}
		for _, m := range []string{"5XXError", "5xx", metrics.Fault, metrics.Deny, "ThrottledRequests", "Throttles"} {
			if strings.Contains(all, `"`+m+`"`) {
				watched[m] = true
			}
		}
	}
	for _, m := range []string{"5XXError", "5xx", metrics.Fault, metrics.Deny, "ThrottledRequests", "Throttles"} {
		if !watched[m] {
			t.Errorf("no alarm watches %s", m)
		}
	}
	_, d := r.only(t, "AWS::CloudWatch::Dashboard")
	body := asJSON(props(d)["DashboardBody"])
	if strings.Contains(body, `\"Errors\"`) {
		t.Errorf("the dashboard graphs AWS/Lambda Errors (every refused token): %s", body)
	}
}

// TestAlarmTopicLetsThisStacksAlarmsPublish: with alarmEmail the TLS-only
// policy replaces SNS's default access policy, so CloudWatch is granted
// sns:Publish, scoped to this stack's alarms in this account.
// https://repost.aws/knowledge-center/cloudwatch-receive-sns-for-alarm-trigger
func TestAlarmTopicLetsThisStacksAlarmsPublish(t *testing.T) {
	r := synth(t, map[string]any{"alarmEmail": "ops@example.com"})
	topicID, _ := r.only(t, "AWS::SNS::Topic")
	_, pol := r.only(t, "AWS::SNS::TopicPolicy")
	var allow, deny map[string]any
	for _, s := range props(pol)["PolicyDocument"].(map[string]any)["Statement"].([]any) {
		st := s.(map[string]any)
		switch st["Effect"] {
		case "Allow":
			if allow != nil {
				t.Fatalf("two Allow statements: %s", asJSON(props(pol)))
			}
			allow = st
		case "Deny":
			deny = st
		}
	}
	if deny == nil || asJSON(deny["Condition"]) != `{"Bool":{"aws:SecureTransport":"false"}}` {
		t.Errorf("TLS-only deny lost: %s", asJSON(deny))
	}
	if allow == nil {
		t.Fatal("no statement lets CloudWatch publish")
	}
	wantArn := map[string]any{"Fn::Join": []any{"", []any{"arn:", ref("AWS::Partition"), ":cloudwatch:", ref("AWS::Region"), ":", ref("AWS::AccountId"), ":alarm:" + r.cfg.StackName + "-Monitoring-*"}}}
	want := map[string]any{
		"Action": "sns:Publish", "Effect": "Allow", "Principal": map[string]any{"Service": "cloudwatch.amazonaws.com"},
		"Resource": ref(topicID), "Sid": "AllowThisStacksAlarmsToPublish",
		"Condition": map[string]any{"ArnLike": map[string]any{"aws:SourceArn": wantArn}, "StringEquals": map[string]any{"aws:SourceAccount": ref("AWS::AccountId")}},
	}
	if asJSON(allow) != asJSON(want) {
		t.Errorf("publish grant\n got %s\nwant %s", asJSON(allow), asJSON(want))
	}
}

// TestBothAuthorizersTrustTheIssuerTheTokensCarry: the pool's issuer form is
// pinned (ORIGINAL: iss is https://cognito-idp.<region>.amazonaws.com/<poolId>,
// the pool's ProviderURL), and the HTTP API's JWT authorizer, the REST
// authorizer and its key seed all trust exactly that value.
// https://docs.aws.amazon.com/cognito-user-identity-pools/latest/APIReference/API_IssuerConfigurationType.html
func TestBothAuthorizersTrustTheIssuerTheTokensCarry(t *testing.T) {
	r := synth(t, nil)
	poolID, pool := r.only(t, "AWS::Cognito::UserPool")
	if got := asJSON(props(pool)["IssuerConfiguration"]); got != `{"Type":"ORIGINAL"}` {
		t.Fatalf("IssuerConfiguration %s, want the ORIGINAL form pinned", got)
	}
	iss := asJSON(getAtt(poolID, "ProviderURL"))
	_, jwt := r.only(t, "AWS::ApiGatewayV2::Authorizer")
	if got := asJSON(props(jwt)["JwtConfiguration"].(map[string]any)["Issuer"]); got != iss {
		t.Errorf("HTTP API JWT authorizer issuer %s, want %s", got, iss)
	}
	env := functionEnv(t, r, "authorizer")
	if got := asJSON(env["ISSUER"]); got != iss {
		t.Errorf("REST authorizer ISSUER %s, want %s", got, iss)
	}
	if got := asJSON(env["JWKS_URI"]); got != asJSON(map[string]any{"Fn::Join": []any{"", []any{getAtt(poolID, "ProviderURL"), "/.well-known/jwks.json"}}}) {
		t.Errorf("REST authorizer JWKS_URI %s", got)
	}
	_, seed := r.only(t, "Custom::JwksSeed")
	if got := asJSON(props(seed)["Issuers"].([]any)[0].(map[string]any)["issuer"]); got != iss {
		t.Errorf("seed issuer %s, want %s", got, iss)
	}
}
