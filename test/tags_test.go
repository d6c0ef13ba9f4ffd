package test

import (
	"strings"
	"testing"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/constructs-go/constructs/v10"

	"github.com/secure-api-go/apigw-jwt/infra"
)

// TestEveryTaggableResourceIsTagged walks the construct tree: every
// CloudFormation resource the CDK can tag carries the project and stack
// tags, except the types CloudFormation refuses Tags on, which carry none.
func TestEveryTaggableResourceIsTagged(t *testing.T) {
	for _, ctx := range []map[string]any{{"stackName": "PetsDemo"}, nil} {
		r := synth(t, ctx)
		want := map[string]string{infra.TagProject: infra.Project, infra.TagStack: r.cfg.StackName}
		resources := r.json["Resources"].(map[string]any)
		tagged := 0
		for _, node := range *r.stack.Stack.Node().FindAll(constructs.ConstructOrder_PREORDER) {
			res, ok := node.(awscdk.CfnResource)
			if !ok {
				continue
			}
			tm := awscdk.TagManager_Of(res)
			if tm == nil {
				continue
			}
			typ := *res.CfnResourceType()
			id := *r.stack.Stack.GetLogicalId(res)
			p, _ := resources[id].(map[string]any)["Properties"].(map[string]any)
			prop := *tm.TagPropertyName() // the L1's property: "tags", "userPoolTags"
			got := tagMap(p[strings.ToUpper(prop[:1])+prop[1:]])
			if reason, excluded := infra.UntaggedTypes[typ]; excluded {
				if len(got) > 0 || reason == "" {
					t.Errorf("%s (%s) is excluded from tagging (%q) but has tags %v", id, typ, reason, got)
				}
				continue
			}
			tagged++
			for k, v := range want {
				if got[k] != v {
					t.Errorf("%s (%s): tag %s = %q, want %q (all tags: %v)", id, typ, k, got[k], v, got)
				}
			}
		}
		if tagged < 20 {
			t.Fatalf("only %d taggable resources found with context %v: is the tree walk broken?", tagged, ctx)
		}
	}
}

// tagMap reads both shapes CloudFormation uses: [{"Key","Value"}] and {"k": "v"}.
func tagMap(v any) map[string]string {
	out := map[string]string{}
	switch tags := v.(type) {
	case []any:
		for _, e := range tags {
			m, _ := e.(map[string]any)
			k, _ := m["Key"].(string)
			val, _ := m["Value"].(string)
			out[k] = val
		}
	case map[string]any:
		for k, e := range tags {
			out[k], _ = e.(string)
		}
	}
	return out
}
