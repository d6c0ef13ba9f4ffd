package template

import (
	"strings"
	"testing"
)

const sample = `{"Resources": {
  "Fn1": {"Type": "AWS::Lambda::Function", "Properties": {"Environment": {"Variables": {
     "ISSUER": {"Fn::GetAtt": ["Pool", "ProviderURL"]},
     "JWKS": {"Fn::Join": ["", [{"Fn::GetAtt": ["Pool", "ProviderURL"]}, "/.well-known/jwks.json"]]},
     "TABLE": {"Ref": "Table"},
     "REGION": {"Fn::Select": [3, {"Fn::Split": [":", "arn:aws:lambda:eu-west-1:1:function:x"]}]},
     "SUB": {"Fn::Sub": "arn:${AWS::Partition}:x:${Table}:${Pool.ProviderURL}"}}}}},
  "Pool": {"Type": "AWS::Cognito::UserPool"},
  "Table": {"Type": "AWS::DynamoDB::Table"},
  "Auth": {"Type": "AWS::ApiGateway::Authorizer", "Properties": {"AuthorizerUri": {"Fn::Join": ["", ["arn:", {"Fn::GetAtt": ["Fn1", "Arn"]}, "/invocations"]]}}}
}}`

func TestResolve(t *testing.T) {
	tpl, err := Parse([]byte(sample))
	if err != nil {
		t.Fatal(err)
	}
	tpl.Refs["Table"] = "pets"
	tpl.Attrs["Pool.ProviderURL"] = "http://127.0.0.1:9229/local_pool"
	env, err := tpl.Resolve(tpl.Resources["Fn1"].Properties["Environment"])
	if err != nil {
		t.Fatal(err)
	}
	vars := env.(map[string]any)["Variables"].(map[string]any)
	want := map[string]string{
		"ISSUER": "http://127.0.0.1:9229/local_pool",
		"JWKS":   "http://127.0.0.1:9229/local_pool/.well-known/jwks.json",
		"TABLE":  "pets",
		"REGION": "eu-west-1",
		"SUB":    "arn:aws:x:pets:http://127.0.0.1:9229/local_pool",
	}
	for k, v := range want {
		if vars[k] != v {
			t.Errorf("%s = %v, want %s", k, vars[k], v)
		}
	}
	if _, err := tpl.Resolve(map[string]any{"Ref": "Nope"}); err == nil || !strings.Contains(err.Error(), "Nope") {
		t.Fatalf("unknown Ref: %v", err)
	}
	if _, err := tpl.Resolve(map[string]any{"Fn::ImportValue": "x"}); err == nil {
		t.Fatal("unsupported intrinsic accepted")
	}
	id, err := tpl.FunctionOf(tpl.Resources["Auth"].Properties["AuthorizerUri"])
	if err != nil || id != "Fn1" {
		t.Fatalf("FunctionOf = %q, %v", id, err)
	}
	if got := tpl.OfType("AWS::DynamoDB::Table"); len(got) != 1 || got[0] != "Table" {
		t.Fatalf("OfType = %v", got)
	}
}
