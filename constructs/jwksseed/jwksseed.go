// Package jwksseed is the JWKS seed: a Lambda-backed custom resource that
// fetches the trusted issuers' keys at deploy time, so the authorizer's
// environment carries them and a cold start verifies without a JWKS request.
package jwksseed

import (
	"fmt"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awslogs"
	"github.com/aws/constructs-go/constructs/v10"
	"github.com/aws/jsii-runtime-go"

	"github.com/secure-api-go/apigw-jwt/constructs/golambda"
	"github.com/secure-api-go/apigw-jwt/internal/lambdaenv"
	"github.com/secure-api-go/apigw-jwt/internal/seedspec"
)

// TokenBytes is how many bytes an unresolved token (the pool's issuer URL,
// the client id, the account, the region) is counted for in the environment
// budget: more than any Cognito issuer URL (about 80) or app client id (26).
// Those values are URLs and identifiers, with no character JSON escapes, so
// TokenBytes plain characters are their worst case.
const TokenBytes = 128

// ServiceTimeoutSeconds bounds each create, update and delete of the seed:
// CloudFormation fails the operation if the function has not answered by
// then, instead of waiting its default hour (allowed 1 to 3600 seconds).
// The function itself gives up and answers within its 30 s timeout; this is
// for the answer that never comes.
// https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/aws-resource-cloudformation-customresource.html
const ServiceTimeoutSeconds = 120

// Props configure the seed.
type Props struct {
	// Issuers to seed, in the authorizer's order (the stack's own first). Required.
	Issuers []seedspec.Issuer
	// Algorithms every issuer allows unless its own list says otherwise (the
	// authorizer's ALGORITHMS): only keys that can verify one of them are
	// seeded. Default: seedspec.DefaultAlgorithms (RS256).
	Algorithms []string
	// OtherEnv is the authorizer's environment without the seeded variable;
	// the budget is what Lambda's 4 KB limit leaves after it. Required.
	OtherEnv map[string]*string
	// LogRetention of the seed function's log group. Default: golambda's.
	LogRetention awslogs.RetentionDays
}

// Seed exposes what New made.
type Seed struct {
	constructs.Construct
	Lambda   *golambda.GoLambda
	Resource awscdk.CustomResource
	// Env is the authorizer variable to set: JWKS_JSON for one issuer, ISSUERS for several.
	Env string
	// Value is that variable's value: the resource's Jwks or Issuers attribute.
	Value *string
	// MaxBytes is the budget the resource was given.
	MaxBytes int
}

var tokenRE = regexp.MustCompile(`\$\{Token\[[^\]]*\]\}`)

// WorstCase is env as the budget measures it: each unresolved token replaced
// by TokenBytes characters.
func WorstCase(env map[string]*string) map[string]string {
	out := make(map[string]string, len(env))
	for k, v := range env {
		if v != nil {
			out[k] = tokenRE.ReplaceAllString(*v, strings.Repeat("x", TokenBytes))
		}
	}
	return out
}

// New makes the seed function (through golambda: its own role and log
// group) and the custom resource it backs.
func New(scope constructs.Construct, id string, props *Props) *Seed {
	if props == nil || len(props.Issuers) == 0 {
		panic(fmt.Sprintf("jwksseed %s: Issuers is empty: give at least the authorizer's issuer", id))
	}
	env := seedspec.EnvJWKS
	attr := seedspec.AttrJWKS
	if len(props.Issuers) > 1 {
		env, attr = seedspec.EnvIssuers, seedspec.AttrIssuers
	}
	if _, ok := props.OtherEnv[env]; ok {
		panic(fmt.Sprintf("jwksseed %s: OtherEnv already holds %s, the variable the seed fills", id, env))
	}
	// Lambda measures the JSON of the whole map (lambdaenv); the seed
	// Lambda checks its value against this budget the same way.
	budget := seedspec.Budget(WorstCase(props.OtherEnv))
	if budget <= lambdaenv.Added(env, "") {
		panic(fmt.Sprintf("jwksseed %s: the authorizer's other variables already take %d of Lambda's %d bytes (%d kept free): nothing is left for %s",
			id, lambdaenv.Size(WorstCase(props.OtherEnv)), lambdaenv.Limit, seedspec.Margin, env))
	}

	c := constructs.NewConstruct(scope, &id)
	fn := golambda.New(c, "Handler", &golambda.Props{
		// By import path: a stack in another module builds the seed its go.mod requires.
		Name:        "jwksseed",
		Package:     golambda.ModulePath + "/lambdas/jwksseed",
		Description: "Custom resource: fetches the trusted issuers' JWKS at deploy time for the authorizer's environment",
		// Three attempts with backoff per issuer, and an answer to CloudFormation before the deadline.
		TimeoutSeconds: 30,
		LogRetention:   props.LogRetention,
	})
	issuers := make([]any, len(props.Issuers))
	for i, iss := range props.Issuers {
		m := map[string]any{"issuer": iss.Issuer, "jwksUri": iss.JWKSURI, "audiences": slices.Clone(iss.Audiences)}
		if iss.TokenUse != "" {
			m["tokenUse"] = iss.TokenUse
		}
		if len(iss.Algorithms) > 0 {
			m["algorithms"] = slices.Clone(iss.Algorithms)
		}
		issuers[i] = m
	}
	properties := map[string]any{
		seedspec.PropIssuers:  issuers,
		seedspec.PropEnv:      env,
		seedspec.PropMaxBytes: strconv.Itoa(budget),
	}
	if len(props.Algorithms) > 0 {
		properties[seedspec.PropAlgorithms] = slices.Clone(props.Algorithms)
	}
	res := awscdk.NewCustomResource(c, jsii.String("Resource"), &awscdk.CustomResourceProps{
		ServiceToken:   fn.Function.FunctionArn(),
		ResourceType:   jsii.String(seedspec.ResourceType),
		Properties:     &properties,
		RemovalPolicy:  awscdk.RemovalPolicy_DESTROY,
		ServiceTimeout: awscdk.Duration_Seconds(jsii.Number(ServiceTimeoutSeconds)),
	})
	return &Seed{Construct: c, Lambda: fn, Resource: res, Env: env, Value: res.GetAttString(jsii.String(attr)), MaxBytes: budget}
}
