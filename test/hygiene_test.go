package test

import (
	"slices"
	"strings"
	"testing"

	"github.com/aws/jsii-runtime-go"

	"github.com/secure-api-go/apigw-jwt/infra"
)

// accountLogging returns the logical ids of the AWS::ApiGateway::Account and
// of the role it names, or nil when the template has no account setting.
func accountLogging(t *testing.T, r *synthResult) map[string]bool {
	t.Helper()
	accounts := r.resources("AWS::ApiGateway::Account")
	if len(accounts) == 0 {
		return nil
	}
	id, account := r.only(t, "AWS::ApiGateway::Account")
	att, _ := props(account)["CloudWatchRoleArn"].(map[string]any)["Fn::GetAtt"].([]any)
	if len(att) != 2 {
		t.Fatalf("account setting %s names no role: %s", id, asJSON(account))
	}
	return map[string]bool{id: true, att[0].(string): true}
}

func TestAPIGatewayCloudWatchRole(t *testing.T) {
	for _, ctx := range []map[string]any{nil, {"apiGatewayCloudWatchRole": "create"}, {"removalPolicy": "retain"}} {
		r := synth(t, ctx)
		ids := accountLogging(t, r)
		if len(ids) != 2 {
			t.Fatalf("context %v: want the account setting and its role, got %v", ctx, ids)
		}
		res := r.json["Resources"].(map[string]any)
		for id := range ids {
			m := res[id].(map[string]any)
			if m["DeletionPolicy"] != "Retain" || m["UpdateReplacePolicy"] != "Retain" {
				t.Errorf("context %v: %s (%s) is deleted with the stack; it is account-wide and must be retained", ctx, id, m["Type"])
			}
			if m["Type"] == "AWS::IAM::Role" {
				p := asJSON(props(m))
				if !strings.Contains(p, "apigateway.amazonaws.com") || !strings.Contains(p, "AmazonAPIGatewayPushToCloudWatchLogs") {
					t.Errorf("context %v: CloudWatch role %s: %s", ctx, id, p)
				}
			}
		}
	}

	r := synth(t, map[string]any{"apiGatewayCloudWatchRole": "existing"})
	if ids := accountLogging(t, r); ids != nil {
		t.Fatalf("apiGatewayCloudWatchRole=existing still creates %v", ids)
	}
	for id, role := range r.resources("AWS::IAM::Role") {
		if strings.Contains(asJSON(props(role)), "apigateway.amazonaws.com") {
			t.Errorf("apiGatewayCloudWatchRole=existing still creates the role %s", id)
		}
	}
	// Access logs still go to the stack's log group, through the account's role.
	_, stage := r.only(t, "AWS::ApiGateway::Stage")
	if props(stage)["AccessLogSetting"] == nil {
		t.Errorf("no access logs with apiGatewayCloudWatchRole=existing: %s", asJSON(stage))
	}
	for id, res := range r.json["Resources"].(map[string]any) {
		if m := res.(map[string]any); m["DeletionPolicy"] == "Retain" {
			t.Errorf("%s (%s) is retained with apiGatewayCloudWatchRole=existing", id, m["Type"])
		}
	}

	_, err := infra.LoadContext(map[string]any{"apiGatewayCloudWatchRole": "shared"})
	if err == nil || !strings.Contains(err.Error(), `context key apiGatewayCloudWatchRole: "shared": want one of create, existing`) {
		t.Fatalf("error = %v", err)
	}
}

// TestUserPoolAttributes: a changed email counts only once verified, and the
// app client reads and writes exactly the attributes the app uses.
func TestUserPoolAttributes(t *testing.T) {
	for _, ctx := range []map[string]any{nil, {"featurePlan": "lite"}} {
		r := synth(t, ctx)
		r.template.HasResourceProperties(jsii.String("AWS::Cognito::UserPool"), map[string]any{
			"AutoVerifiedAttributes":      []any{"email"},
			"UserAttributeUpdateSettings": map[string]any{"AttributesRequireVerificationBeforeUpdate": []any{"email"}},
		})
		userID, _ := r.clients(t)
		p := props(r.resources("AWS::Cognito::UserPoolClient")[userID])
		read, write := strs(p["ReadAttributes"]), strs(p["WriteAttributes"])
		slices.Sort(read)
		if asJSON(read) != `["email","email_verified"]` || asJSON(write) != `["email"]` {
			t.Fatalf("context %v: client reads %v and writes %v, want [email email_verified] and [email]", ctx, read, write)
		}
	}
}

func strs(v any) []string {
	var out []string
	for _, e := range list(v) {
		if s, ok := e.(string); ok {
			out = append(out, s)
		}
	}
	return out
}
