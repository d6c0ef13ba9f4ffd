package infra

import (
	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/constructs-go/constructs/v10"
	"github.com/aws/jsii-runtime-go"
	"github.com/cdklabs/cdk-nag-go/cdknag/v2"
)

// ApplyNag runs cdk-nag's AwsSolutions pack on scope. Findings are errors
// and warnings in the synth output; every accepted one is in Suppressions
// with its reason, and the tests fail on anything else.
func ApplyNag(scope constructs.Construct) {
	awscdk.Aspects_Of(scope).Add(cdknag.NewAwsSolutionsChecks(&cdknag.NagPackProps{Verbose: jsii.Bool(true)}), nil)
}

// Suppression is one accepted cdk-nag finding: the rule, where, and why.
type Suppression struct {
	Rule string
	// Target is the construct (and its children) the suppression covers.
	Target constructs.IConstruct
	// Where names the target for people (the README's security section).
	Where string
	// AppliesTo narrows a granular rule to these findings. Default: all.
	AppliesTo []string
	Reason    string
}

// Suppressions lists every accepted finding for this stack and configuration.
func (s *Stack) Suppressions(cfg *Config) []Suppression {
	var out []Suppression
	for name, f := range s.Functions {
		out = append(out, Suppression{
			Rule: "AwsSolutions-IAM5", Target: f.Role, Where: "lambda " + name + " role", AppliesTo: []string{"Resource::*"},
			Reason: "X-Ray tracing: xray:PutTraceSegments and PutTelemetryRecords support no resource-level scoping.",
		})
	}
	if cfg.APIGatewayCloudWatchRole == "create" {
		out = append(out, Suppression{
			Rule: "AwsSolutions-IAM4", Target: s.REST.Api, Where: "PetStoreApi CloudWatch role",
			AppliesTo: []string{"Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AmazonAPIGatewayPushToCloudWatchLogs"},
			Reason:    "API Gateway's account-level logging role; AWS documents this managed policy for it and access logs need it.",
		})
	}
	out = append(out,
		Suppression{
			Rule: "AwsSolutions-APIG4", Target: s.REST.Api.Root().Node().FindChild(jsii.String("GET")), Where: "PetStoreApi GET /",
			Reason: "Public landing page by design: a mock integration with static HTML, no data and no Lambda.",
		},
		Suppression{
			Rule: "AwsSolutions-COG4", Target: s.REST.Landing, Where: "PetStoreApi GET /",
			Reason: "Public landing page by design: static HTML from a mock integration, no authorizer of any kind.",
		},
		Suppression{
			Rule: "AwsSolutions-APIG3", Target: s.REST.Api, Where: "PetStoreApi stage",
			Reason: "WAF is billed per web ACL and rule; stage throttling and the authorizer guard the demo. Attach a web ACL in production.",
		},
	)
	// COG4 on each guarded method alone, so a method added later without
	// an authorizer is still reported.
	for _, m := range s.REST.Guarded {
		out = append(out, Suppression{
			Rule: "AwsSolutions-COG4", Target: m, Where: "PetStoreApi " + *m.HttpMethod() + " " + *m.Resource().Path(),
			Reason: cog4Reason(cfg),
		})
	}
	if s.Monitoring.Topic != nil {
		out = append(out, Suppression{
			Rule: "AwsSolutions-SNS2", Target: s.Monitoring.Topic, Where: "alarm topic",
			Reason: "CloudWatch cannot publish to a topic under the AWS-managed SNS key; alarm messages carry no data, TLS is enforced.",
		})
	}
	if cfg.ThreatProtection != "enforced" {
		out = append(out, Suppression{
			Rule: "AwsSolutions-COG3", Target: s.UserPool.Pool, Where: "user pool",
			Reason: "Threat protection needs the Plus plan (featurePlan=plus, audit mode by default; threatProtection=enforced to block).",
		})
	}
	if cfg.MFA != "required" {
		out = append(out, Suppression{
			Rule: "AwsSolutions-COG2", Target: s.UserPool.Pool, Where: "user pool",
			Reason: "MFA (TOTP) is optional so the walk-through works with passwords; set mfa=required to enforce it.",
		})
	}
	return out
}

// ApplySuppressions records the accepted findings on their constructs.
func (s *Stack) ApplySuppressions(cfg *Config) {
	for _, sup := range s.Suppressions(cfg) {
		n := cdknag.NagPackSuppression{Id: jsii.String(sup.Rule), Reason: jsii.String(sup.Reason)}
		if len(sup.AppliesTo) > 0 {
			applies := make([]any, len(sup.AppliesTo))
			for i, a := range sup.AppliesTo {
				applies[i] = a
			}
			n.AppliesTo = &applies
		}
		cdknag.NagSuppressions_AddResourceSuppressions(sup.Target, &[]*cdknag.NagPackSuppression{&n}, jsii.Bool(true))
	}
}
