//lint:file-ignore SA1019 assertions.Annotations returns cxapi.SynthesisMessage; this CDK version offers no other type.

package test

import (
	"strings"
	"testing"

	"github.com/aws/aws-cdk-go/awscdk/v2/cxapi"
	"github.com/aws/jsii-runtime-go"
)

type cxAnnotation struct{ path, data string }

func toAnn(msgs *[]*cxapi.SynthesisMessage) *[]*cxAnnotation {
	out := []*cxAnnotation{}
	for _, m := range *msgs {
		out = append(out, &cxAnnotation{path: *m.Id, data: asJSON(m.Entry.Data)})
	}
	return &out
}

func statements(r *synthResult) []map[string]any {
	var out []map[string]any
	for _, typ := range []string{"AWS::IAM::Policy", "AWS::IAM::Role"} {
		for _, res := range r.resources(typ) {
			p := props(res)
			var docs []any
			if d, ok := p["PolicyDocument"]; ok {
				docs = append(docs, d)
			}
			if ps, ok := p["Policies"].([]any); ok {
				for _, pol := range ps {
					docs = append(docs, pol.(map[string]any)["PolicyDocument"])
				}
			}
			for _, d := range docs {
				for _, s := range d.(map[string]any)["Statement"].([]any) {
					out = append(out, s.(map[string]any))
				}
			}
		}
	}
	return out
}

func list(v any) []any {
	if l, ok := v.([]any); ok {
		return l
	}
	return []any{v}
}

func TestNoWildcardActions(t *testing.T) {
	r := synth(t, nil)
	for _, s := range statements(r) {
		for _, a := range list(s["Action"]) {
			if str, ok := a.(string); ok && strings.Contains(str, "*") {
				t.Errorf("wildcard action %s in %s", str, asJSON(s))
			}
		}
		// Resource "*" only where the service has no resource-level permissions (X-Ray).
		for _, res := range list(s["Resource"]) {
			if res == "*" {
				for _, a := range list(s["Action"]) {
					if !strings.HasPrefix(a.(string), "xray:") {
						t.Errorf("action %s on Resource * in %s", a, asJSON(s))
					}
				}
			}
		}
	}
}

func TestNoManagedPoliciesOnOurRoles(t *testing.T) {
	r := synth(t, nil)
	for id, role := range r.resources("AWS::IAM::Role") {
		if arns, ok := props(role)["ManagedPolicyArns"]; ok {
			// Only API Gateway's account logging role keeps its documented managed policy.
			if !strings.Contains(asJSON(arns), "AmazonAPIGatewayPushToCloudWatchLogs") {
				t.Errorf("role %s uses managed policies %s", id, asJSON(arns))
			}
		}
	}
}

func TestPetStoreMayTouchOnlyItsTable(t *testing.T) {
	r := synth(t, nil)
	tableID, _ := r.only(t, "AWS::DynamoDB::Table")
	var dynamo []map[string]any
	for _, s := range statements(r) {
		if strings.Contains(asJSON(s["Action"]), "dynamodb:") {
			dynamo = append(dynamo, s)
		}
	}
	for _, s := range dynamo {
		res := asJSON(s["Resource"])
		if !strings.Contains(res, tableID) {
			t.Errorf("DynamoDB statement on something other than the table: %s", asJSON(s))
		}
		if strings.Contains(res, "index/*") {
			t.Errorf("wildcard index grant: %s", res)
		}
	}
	want := map[string]bool{"dynamodb:GetItem": true, "dynamodb:PutItem": true, "dynamodb:UpdateItem": true, "dynamodb:DeleteItem": true, "dynamodb:Query": true, "dynamodb:BatchWriteItem": true}
	for _, s := range dynamo {
		for _, a := range list(s["Action"]) {
			if !want[a.(string)] {
				t.Errorf("unexpected DynamoDB action %s", a)
			}
		}
	}
}

func TestLambdaPermissionsAreScoped(t *testing.T) {
	r := synth(t, nil)
	perms := r.resources("AWS::Lambda::Permission")
	if len(perms) == 0 {
		t.Fatal("no Lambda permissions")
	}
	for id, p := range perms {
		pp := props(p)
		switch pp["Principal"] {
		case "apigateway.amazonaws.com":
			src := asJSON(pp["SourceArn"])
			if src == "null" || strings.Contains(src, `":*/*/*"`) {
				t.Errorf("%s: API Gateway may invoke from anywhere: %s", id, src)
			}
		case "cognito-idp.amazonaws.com":
			if pp["SourceArn"] == nil {
				t.Errorf("%s: Cognito permission without SourceArn", id)
			}
		default:
			t.Errorf("%s: unexpected principal %v", id, pp["Principal"])
		}
	}
}

func TestLogGroupsHaveRetention(t *testing.T) {
	r := synth(t, nil)
	for id, lg := range r.resources("AWS::Logs::LogGroup") {
		if props(lg)["RetentionInDays"] != 30.0 {
			t.Errorf("log group %s retention %v, want 30 days", id, props(lg)["RetentionInDays"])
		}
	}
}

func TestAlarmsAndDashboard(t *testing.T) {
	r := synth(t, nil)
	alarms := r.resources("AWS::CloudWatch::Alarm")
	var descs []string
	for _, a := range alarms {
		descs = append(descs, props(a)["AlarmDescription"].(string))
		if props(a)["AlarmActions"] != nil {
			t.Errorf("alarm actions without alarmEmail: %s", asJSON(a))
		}
	}
	all := strings.Join(descs, "\n")
	for _, want := range []string{"HTTP API: 5%", "REST PetStore: 5%", "TOKEN authorizer faults", "PetStore table throttled", "Lambda throttles"} {
		if !strings.Contains(all, want) {
			t.Errorf("no alarm for %q in:\n%s", want, all)
		}
	}
	if len(r.resources("AWS::CloudWatch::Dashboard")) != 1 || len(r.resources("AWS::SNS::Topic")) != 0 {
		t.Fatal("want one dashboard and no topic by default")
	}

	r = synth(t, map[string]any{"alarmEmail": "ops@example.com"})
	r.template.HasResourceProperties(jsii.String("AWS::SNS::Subscription"), map[string]any{"Protocol": "email", "Endpoint": "ops@example.com"})
	for id, a := range r.resources("AWS::CloudWatch::Alarm") {
		if props(a)["AlarmActions"] == nil {
			t.Errorf("alarm %s does not notify", id)
		}
	}
}

func TestAuthorizerReservedConcurrency(t *testing.T) {
	r := synth(t, map[string]any{"authorizerReservedConcurrency": 25})
	id := findFunction(t, r, "authorizer")
	fn := r.json["Resources"].(map[string]any)[id].(map[string]any)
	if props(fn)["ReservedConcurrentExecutions"] != 25.0 || props(fn)["Timeout"].(float64) > 5 {
		t.Fatalf("authorizer %s", asJSON(props(fn)))
	}
}
