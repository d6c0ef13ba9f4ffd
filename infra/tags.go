package infra

import (
	"slices"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/jsii-runtime-go"
)

// Project is the value of the Project tag on every taggable resource.
const Project = "apigw-jwt"

// Tag keys every taggable resource carries: cost allocation and "what is
// this?" in a shared account.
const (
	TagProject = "Project"
	TagStack   = "Stack"
)

// UntaggedTypes are resource types the CDK would tag but CloudFormation's
// published schema does not accept Tags on, with the reason. A property the
// schema lacks fails the deploy ("extraneous key"), a missing tag does not.
var UntaggedTypes = map[string]string{
	"AWS::CloudWatch::Dashboard": "CDK 2.270's CfnDashboard is taggable, but the CloudFormation schema cfn-lint 1.51.0 ships has no Tags on AWS::CloudWatch::Dashboard (E3002)",
}

// applyTags is the one place that tags the stack's resources.
func applyTags(stack awscdk.Stack, stackName string) {
	excluded := make([]string, 0, len(UntaggedTypes))
	for typ := range UntaggedTypes {
		excluded = append(excluded, typ)
	}
	slices.Sort(excluded)
	props := &awscdk.TagProps{ExcludeResourceTypes: jsii.Strings(excluded...)}
	awscdk.Tags_Of(stack).Add(jsii.String(TagProject), jsii.String(Project), props)
	awscdk.Tags_Of(stack).Add(jsii.String(TagStack), jsii.String(stackName), props)
}
