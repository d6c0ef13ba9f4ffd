package infra

import (
	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/constructs-go/constructs/v10"
	"github.com/aws/jsii-runtime-go"
)

// RetainedTypes are the resources that hold data or evidence: the removal
// policy from context applies to them all, wherever they were created.
var RetainedTypes = map[string]bool{
	"AWS::Cognito::UserPool": true,
	"AWS::DynamoDB::Table":   true,
	"AWS::Logs::LogGroup":    true,
}

// removalPolicy is an aspect: the one place that decides what `cdk destroy`
// keeps - nothing by default, the data with removalPolicy=retain. It leaves
// alone API Gateway's account-wide CloudWatch role setting and its role, which
// the restapi construct retains whatever the policy: other REST APIs in the
// account log through them.
type removalPolicy struct {
	policy awscdk.RemovalPolicy
}

// NewRemovalPolicy returns the aspect for "destroy" or "retain".
func NewRemovalPolicy(policy string) awscdk.IAspect {
	p := awscdk.RemovalPolicy_DESTROY
	if policy == "retain" {
		p = awscdk.RemovalPolicy_RETAIN
	}
	return &removalPolicy{policy: p}
}

// Visit applies the policy to every data-holding CloudFormation resource.
func (a *removalPolicy) Visit(node constructs.IConstruct) {
	res, ok := node.(awscdk.CfnResource)
	if !ok || !RetainedTypes[*res.CfnResourceType()] {
		return
	}
	res.ApplyRemovalPolicy(a.policy, &awscdk.RemovalPolicyOptions{ApplyToUpdateReplacePolicy: jsii.Bool(true)})
}
