// Package jwksseed is the JWKS seed: a Lambda-backed custom resource that
// fetches the trusted issuers' keys at deploy time, so the authorizer's
// environment carries them and a cold start verifies without a JWKS request.
package jwksseed

import (
	"fmt"
	"regexp"
	"slices"
	"strconv"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awslogs"
	"github.com/aws/constructs-go/constructs/v10"
	"github.com/aws/jsii-runtime-go"

	"github.com/secure-api-go/apigw-jwt/constructs/golambda"
	"github.com/secure-api-go/apigw-jwt/internal/seedspec"
)

// TokenBytes is how many bytes an unresolved token (the pool's issuer URL,
// the client id) is counted for in the environment budget: more than any
// Cognito issuer URL (about 80) or app client id (26), so the budget errs on
// the safe side.
const TokenBytes = 128

// Props configure the seed.
type Props struct {
	// Issuers to seed, in the authorizer's order (the stack's own first). Required.
	Issuers []seedspec.Issuer
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

// EnvBytes is the size Lambda counts for an environment (names plus values),
// with each unresolved token counted as TokenBytes.
func EnvBytes(env map[string]*string) int {
	n := 0
	for k, v := range env {
		n += len(k)
		if v != nil {
			tokens := len(tokenRE.FindAllString(*v, -1))
			n += len(tokenRE.ReplaceAllString(*v, "")) + tokens*TokenBytes
		}
	}
	return n
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
	budget := seedspec.EnvLimit - EnvBytes(props.OtherEnv)
	if budget <= len(env) {
		panic(fmt.Sprintf("jwksseed %s: the authorizer's other variables already take %d of Lambda's %d bytes: nothing is left for %s", id, seedspec.EnvLimit-budget, seedspec.EnvLimit, env))
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
		issuers[i] = m
	}
	res := awscdk.NewCustomResource(c, jsii.String("Resource"), &awscdk.CustomResourceProps{
		ServiceToken: fn.Function.FunctionArn(),
		ResourceType: jsii.String(seedspec.ResourceType),
		Properties: &map[string]any{
			seedspec.PropIssuers:  issuers,
			seedspec.PropEnv:      env,
			seedspec.PropMaxBytes: strconv.Itoa(budget),
		},
		RemovalPolicy: awscdk.RemovalPolicy_DESTROY,
	})
	return &Seed{Construct: c, Lambda: fn, Resource: res, Env: env, Value: res.GetAttString(jsii.String(attr)), MaxBytes: budget}
}
