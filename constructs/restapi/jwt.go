package restapi

import (
	"fmt"
	"slices"
	"sort"
	"strings"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsapigateway"
	"github.com/aws/constructs-go/constructs/v10"
	"github.com/aws/jsii-runtime-go"
)

// JWTAuthorizer configures API Gateway's native JWT authorizer for REST APIs
// ("Control access to REST APIs using JWT authorizers",
// https://docs.aws.amazon.com/apigateway/latest/developerguide/rest-api-jwt-authorizer.html).
type JWTAuthorizer struct {
	// Algorithms the authorizer accepts for every issuer (DefaultAlgorithms). Default: RS256.
	Algorithms []string
	// Issuers trusted, each with its audiences. Required.
	Issuers []JWTIssuer
	// Scopes by "<VERB> <resource path>" of each guarded method: a token
	// passes with any one of them (from its scope or scp claim), else 403.
	// A nil or empty list means any valid token. Every guarded method needs
	// an entry: a method without one would be left open.
	Scopes map[string][]string
}

// JWTIssuer is one trusted issuer.
type JWTIssuer struct {
	// Issuer equals the tokens' iss exactly; its discovery document must be public.
	Issuer string
	// Audiences: a token's aud (or, without aud, client_id) must be one of them.
	Audiences []string
	// AdditionalClaims the issuer's tokens must carry. Default: none.
	AdditionalClaims []JWTClaim
}

// JWTClaim is a single-string claim the token must carry with one of Values.
type JWTClaim struct {
	Name     string
	Values   []string
	Required bool
}

// IdentityHeader is the header the authorizer reads the token from.
const IdentityHeader = "Authorization"

// CfnLintUnknown is the one cfn-lint 1.51.0 finding on the JWT authorizer:
// E3002, JwtConfiguration is not a property its (pre-JWT) schema knows. It
// is ignored on the authorizer only, through its cfn-lint Metadata; every
// other check runs there, and the JWT methods raise nothing.
var CfnLintUnknown = []string{"E3002"}

// CDKValidateUnknown is the CDK's CloudFormation-Validate finding for a
// property its schema lacks: JwtConfiguration.
const CDKValidateUnknown = "CloudFormation-Validate::F3002"

// jwtConfiguration is the JwtConfiguration property, as the CloudFormation
// reference spells it: AWS::ApiGateway::Authorizer JwtConfiguration,
// https://docs.aws.amazon.com/AWSCloudFormation/latest/TemplateReference/aws-properties-apigateway-authorizer-jwtconfiguration.html
// (JwtIssuer and JwtAdditionalClaim beside it).
func (j *JWTAuthorizer) jwtConfiguration() map[string]any {
	algs := j.Algorithms
	if len(algs) == 0 {
		algs = []string{"RS256"}
	}
	issuers := make([]any, 0, len(j.Issuers))
	for _, iss := range j.Issuers {
		e := map[string]any{"Issuer": iss.Issuer, "Audiences": iss.Audiences}
		if len(iss.AdditionalClaims) > 0 {
			claims := make([]any, 0, len(iss.AdditionalClaims))
			for _, c := range iss.AdditionalClaims {
				// SINGLE_STRING is the only format the JWT authorizer has
				// (https://docs.aws.amazon.com/apigateway/latest/api/API_JwtAdditionalClaim.html).
				claims = append(claims, map[string]any{"ClaimName": c.Name, "Format": "SINGLE_STRING", "ExpectedValues": c.Values, "Required": c.Required})
			}
			e["AdditionalClaims"] = claims
		}
		issuers = append(issuers, e)
	}
	return map[string]any{"DefaultAlgorithms": algs, "Issuers": issuers}
}

// new makes the authorizer. The CDK (v2.270) has no JWT authorizer for REST
// APIs, so this is the one escape hatch: an L1 AWS::ApiGateway::Authorizer
// of Type JWT with JwtConfiguration added as a raw property override.
func (j *JWTAuthorizer) new(scope constructs.Construct, api awsapigateway.RestApi) awsapigateway.CfnAuthorizer {
	if len(j.Issuers) == 0 {
		panic("restapi: JWT authorizer without issuers")
	}
	for _, iss := range j.Issuers {
		if iss.Issuer == "" || len(iss.Audiences) == 0 {
			panic(fmt.Sprintf("restapi: JWT issuer %q: an issuer and at least one audience are required", iss.Issuer))
		}
	}
	a := awsapigateway.NewCfnAuthorizer(scope, jsii.String("JwtAuthorizer"), &awsapigateway.CfnAuthorizerProps{
		RestApiId:      api.RestApiId(),
		Name:           jsii.String("JwtAuthorizer"),
		Type:           jsii.String("JWT"),
		IdentitySource: jsii.String("method.request.header." + IdentityHeader),
	})
	a.AddPropertyOverride(jsii.String("JwtConfiguration"), j.jwtConfiguration())
	ignoreUnknownToCfnLint(a)
	// The CDK's own template check (@aws-cdk/core:validateAgainstDefaultRules)
	// uses the same pre-JWT schema: acknowledged on this resource only.
	awscdk.Validations_Of(a).Acknowledge(&awscdk.Acknowledgment{
		Id:     jsii.String(CDKValidateUnknown),
		Reason: jsii.String("JwtConfiguration of REST JWT authorizers (API Gateway, 2026-11-17) is not in the CDK's bundled CloudFormation schema yet"),
	})
	// A change of issuers or audiences must reach the stage: a new deployment.
	api.LatestDeployment().AddToLogicalId(j.jwtConfiguration())
	return a
}

// attach puts the methods behind the authorizer with their scopes
// (AWS::ApiGateway::Method AuthorizationType JWT, AuthorizerId,
// AuthorizationScopes:
// https://docs.aws.amazon.com/apigateway/latest/developerguide/rest-api-jwt-authorizer-methods.html).
// These are L1 properties the CDK already has, set on the method's L1 so
// cdk-nag and the tests see what the template holds.
func (j *JWTAuthorizer) attach(id string, api awsapigateway.RestApi, a awsapigateway.CfnAuthorizer, methods []awsapigateway.Method) {
	seen := map[string]bool{}
	for _, m := range methods {
		key := *m.HttpMethod() + " " + *m.Resource().Path()
		scopes, ok := j.Scopes[key]
		if !ok {
			panic(fmt.Sprintf("restapi %s: JWT.Scopes has no entry for %s: give its scopes (or an empty list for any valid token)", id, key))
		}
		seen[key] = true
		cfn := m.Node().DefaultChild().(awsapigateway.CfnMethod)
		cfn.SetAuthorizationType(jsii.String("JWT"))
		cfn.SetAuthorizerId(a.Ref())
		if len(scopes) > 0 {
			cfn.SetAuthorizationScopes(jsii.Strings(scopes...))
		}
		api.LatestDeployment().AddToLogicalId(key + " " + strings.Join(scopes, " "))
	}
	var stale []string
	for k := range j.Scopes {
		if !seen[k] {
			stale = append(stale, k)
		}
	}
	sort.Strings(stale)
	if len(stale) > 0 {
		panic(fmt.Sprintf("restapi %s: JWT.Scopes names methods the API does not have: %s", id, strings.Join(stale, ", ")))
	}
}

// ignoreUnknownToCfnLint adds CfnLintUnknown to the resource's cfn-lint
// ignore_checks (resource-level Metadata, which cfn-lint reads), with the reason.
func ignoreUnknownToCfnLint(r awscdk.CfnResource) {
	checks := slices.Clone(CfnLintUnknown)
	r.AddMetadata(jsii.String("cfn-lint"), map[string]any{"config": map[string]any{"ignore_checks": checks}})
	r.AddMetadata(jsii.String("cfn-lint-reason"), "cfn-lint 1.51.0 does not know JwtConfiguration of REST JWT authorizers (API Gateway, 2026-11-17)")
}
