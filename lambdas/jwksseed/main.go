// Command jwksseed is the JWKS seed custom resource's Lambda: CloudFormation
// asks it, on create and update, for the trusted issuers' keys, which the
// stack writes into the authorizer's environment.
package main

import (
	"github.com/aws/aws-lambda-go/cfn"
	"github.com/aws/aws-lambda-go/lambda"

	"github.com/secure-api-go/apigw-jwt/lambdas/internal/jwksseed"
)

func main() {
	h := &jwksseed.Handler{Log: jwksseed.NewLogger()}
	lambda.Start(cfn.LambdaWrap(h.Handle))
}
