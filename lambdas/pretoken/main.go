// Command pretoken is the Cognito pre token generation trigger.
package main

import (
	"github.com/aws/aws-lambda-go/lambda"

	"github.com/secure-api-go/apigw-jwt/lambdas/internal/pretoken"
)

func main() { lambda.Start(pretoken.Handle) }
