package test

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/assertions"
	"github.com/aws/jsii-runtime-go"

	"github.com/secure-api-go/apigw-jwt/constructs/monitoring"
	"github.com/secure-api-go/apigw-jwt/constructs/restapi"
	"github.com/secure-api-go/apigw-jwt/infra"
	"github.com/secure-api-go/apigw-jwt/internal/metrics"
)

// TestMetricsNamespaceIsTheStack: both functions that emit EMF get the stack
// name as their namespace, the one the dashboard and alarms read.
func TestMetricsNamespaceIsTheStack(t *testing.T) {
	r := synth(t, map[string]any{"stackName": "PetsOps"})
	for _, fn := range []string{"authorizer", "petstore"} {
		if got := functionEnv(t, r, fn)[metrics.EnvNamespace]; got != "PetsOps" {
			t.Errorf("%s: %s = %v, want the stack name PetsOps", fn, metrics.EnvNamespace, got)
		}
	}
}

// TestDenialSpikeAlarm: a spike of authorizer denials alarms, beside the fault alarms.
func TestDenialSpikeAlarm(t *testing.T) {
	r := synth(t, nil)
	ns := r.cfg.StackName
	r.template.HasResourceProperties(jsii.String("AWS::CloudWatch::Alarm"), map[string]any{
		"Namespace":          ns,
		"MetricName":         metrics.Deny,
		"Statistic":          "Sum",
		"Period":             300,
		"Threshold":          50,
		"EvaluationPeriods":  1,
		"ComparisonOperator": "GreaterThanOrEqualToThreshold",
		"TreatMissingData":   "notBreaching",
	})
	for _, a := range r.resources("AWS::CloudWatch::Alarm") {
		if props(a)["MetricName"] == metrics.Deny {
			if props(a)["Dimensions"] != nil {
				t.Errorf("the denial alarm must watch the total, not one reason: %s", asJSON(props(a)))
			}
			if d := props(a)["AlarmDescription"].(string); !strings.Contains(d, "denied 50 or more tokens in 5 minutes") {
				t.Errorf("description %q", d)
			}
		}
	}
}

// TestDashboardShowsTheFunctionMetrics: every EMF metric has a widget, in the
// stack's namespace, and denials and faults are also drawn by reason.
func TestDashboardShowsTheFunctionMetrics(t *testing.T) {
	r := synth(t, nil)
	_, d := r.only(t, "AWS::CloudWatch::Dashboard")
	body := asJSON(props(d)["DashboardBody"])
	ns := r.cfg.StackName
	for _, m := range []string{metrics.Allow, metrics.Deny, metrics.Fault, metrics.CacheHits, metrics.JWKSFetches,
		metrics.PetsCreated, metrics.ClientErrors, metrics.ServerErrors} {
		if !strings.Contains(body, `[\"`+ns+`\",\"`+m+`\"`) {
			t.Errorf("no dashboard metric %s/%s in %s", ns, m, body)
		}
	}
	for _, m := range []string{metrics.Deny, metrics.Fault} {
		search := `SEARCH('{` + ns + `,` + metrics.Reason + `} MetricName=\\\"` + m + `\\\"', 'Sum', 300)`
		if !strings.Contains(body, search) {
			t.Errorf("no %s by reason (%s) in %s", m, search, body)
		}
	}
}

// TestBadRequestBodyGatewayResponse: model validation failures tell the
// client what was wrong, as valid JSON once API Gateway substitutes the variables.
func TestBadRequestBodyGatewayResponse(t *testing.T) {
	r := synth(t, nil)
	apiID, _ := r.only(t, "AWS::ApiGateway::RestApi")
	_, gr := r.only(t, "AWS::ApiGateway::GatewayResponse")
	p := props(gr)
	if p["ResponseType"] != "BAD_REQUEST_BODY" || p["StatusCode"] != "400" || asJSON(p["RestApiId"]) != asJSON(ref(apiID)) {
		t.Fatalf("gateway response %s", asJSON(p))
	}
	tpl, _ := p["ResponseTemplates"].(map[string]any)["application/json"].(string)
	if tpl != restapi.BadRequestBodyTemplate || !strings.Contains(tpl, `"$context.error.validationErrorString"`) {
		t.Fatalf("template %q", tpl)
	}
	// What API Gateway makes of it: messageString arrives quoted, the
	// validation string escaped inside the quotes.
	got := strings.NewReplacer(
		"$context.error.messageString", `"Invalid request body"`,
		"$context.error.validationErrorString", `[object has missing required properties ([\"price\"])]`,
	).Replace(tpl)
	var m map[string]string
	if err := jsonUnmarshal(got, &m); err != nil || m["validationErrors"] != `[object has missing required properties (["price"])]` || m["message"] != "Invalid request body" {
		t.Fatalf("substituted body %s is not the JSON a client can read: %v", got, err)
	}
}

func jsonUnmarshal(s string, v any) error { return json.Unmarshal([]byte(s), v) }

// TestDenialSpikeProps: the threshold and period props reach the alarm, and
// a threshold under one denial is refused.
func TestDenialSpikeProps(t *testing.T) {
	app := awscdk.NewApp(&awscdk.AppProps{Context: &map[string]any{"aws:cdk:bundling-stacks": []any{}}, AnalyticsReporting: jsii.Bool(false)})
	cfg, err := infra.LoadConfig(func(k string) any { return app.Node().TryGetContext(jsii.String(k)) })
	if err != nil {
		t.Fatal(err)
	}
	s := infra.NewStack(app, cfg, nil)
	props := func(threshold float64) *monitoring.Props {
		return &monitoring.Props{
			DashboardName: "Other", HTTPAPI: s.HTTP.Api, RESTAPI: s.REST.Api, Table: s.Table.Table,
			Authorizer: s.Functions["authorizer"].Function, MetricsNamespace: "OtherNs",
			DenialSpikeThreshold: threshold, DenialSpikePeriod: awscdk.Duration_Minutes(jsii.Number(1)),
		}
	}
	monitoring.New(s.Stack, "Custom", props(10))
	assertions.Template_FromStack(s.Stack, nil).HasResourceProperties(jsii.String("AWS::CloudWatch::Alarm"), map[string]any{
		"Namespace": "OtherNs", "MetricName": metrics.Deny, "Period": 60, "Threshold": 10,
		"AlarmDescription": "TOKEN authorizer denied 10 or more tokens in 1 minute (someone trying tokens?): see Deny by Reason on the dashboard",
	})
	defer func() {
		if r := recover(); r == nil || !strings.Contains(fmt.Sprint(r), "DenialSpikeThreshold 0.5") {
			t.Fatalf("a threshold under 1 was accepted: %v", r)
		}
	}()
	monitoring.New(s.Stack, "Bad", props(0.5))
}
